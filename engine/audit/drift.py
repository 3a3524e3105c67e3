"""Drift between two scans: which findings newly fail, were fixed, still fail, appeared or vanished.

Findings are matched by :attr:`Finding.id` (rule id + subject), which is stable across scans. A finding
"fails" when its *effective* status is ``fail``: a waived failure does not count as one, so granting a
waiver shows up as a fix and an expired waiver as a new failure, which is what a reviewer wants to see.
Pure functions: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from annexa.model.findings import (
    ControlResult,
    ControlStatus,
    Finding,
    IndexedPair,
    Status,
    control_sort_key,
    effective,
)


class Change(enum.Enum):
    NEW_FAILURE = "new_failure"  # fails now; passed, was something else, or did not exist before
    FIXED = "fixed"  # failed before, present now and not failing
    STILL_FAILING = "still_failing"
    CHANGED = "changed"  # another status change, e.g. pass -> inconclusive
    UNCHANGED = "unchanged"
    NEW_SUBJECT = "new_subject"  # not in the old scan, and not failing now
    VANISHED = "vanished"  # in the old scan only (the subject or the rule is gone)


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingChange:
    id: str
    rule_id: str
    control_id: str
    subject: str | None
    before: Status | None  # effective status; None: not in the old scan
    after: Status | None  # effective status; None: not in the new scan
    change: Change

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule_id,
            "control": self.control_id,
            "subject": self.subject,
            "before": None if self.before is None else self.before.value,
            "after": None if self.after is None else self.after.value,
            "change": self.change.value,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlChange:
    id: str
    before: ControlStatus | None
    after: ControlStatus | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "before": None if self.before is None else self.before.value,
            "after": None if self.after is None else self.after.value,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    findings: tuple[FindingChange, ...]  # every finding of either scan, sorted by control, rule, subject
    controls: tuple[ControlChange, ...]  # only controls whose status changed

    def of(self, change: Change) -> tuple[FindingChange, ...]:
        return tuple(item for item in self.findings if item.change is change)

    @property
    def new_failures(self) -> tuple[FindingChange, ...]:
        return self.of(Change.NEW_FAILURE)

    @property
    def fixed(self) -> tuple[FindingChange, ...]:
        return self.of(Change.FIXED)

    @property
    def new_subjects(self) -> tuple[FindingChange, ...]:
        """Findings absent from the old scan, whatever their status now (failing ones included)."""
        return tuple(item for item in self.findings if item.before is None)

    @property
    def vanished(self) -> tuple[FindingChange, ...]:
        return self.of(Change.VANISHED)

    def counts(self) -> dict[str, int]:
        result = {change.value: 0 for change in Change}
        for item in self.findings:
            result[item.change.value] += 1
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts(),
            "findings": [item.to_dict() for item in self.findings if item.change is not Change.UNCHANGED],
            "controls": [item.to_dict() for item in self.controls],
        }


def compare_indexed(
    pairs: Iterable[IndexedPair],
    unchanged: int,
    *,
    old_controls: Iterable[ControlResult] = (),
    new_controls: Iterable[ControlResult] = (),
) -> dict[str, Any]:
    """What ``compare(...).to_dict()`` gives, from the index's rows of the two scans' findings instead of
    the findings themselves (:meth:`annexa.store.base.Store.drift_pairs`): ``pairs``, every finding that
    may have changed (all but those in both scans with one effective status that is not a failure), and
    the number of those left out (``unchanged``). Holds the changes only, so two scans of millions of
    findings are compared in the memory of what changed."""
    counts = {change.value: 0 for change in Change}
    counts[Change.UNCHANGED.value] = unchanged
    changes = []
    for item in _finding_changes(pairs):
        counts[item.change.value] += 1
        if item.change is not Change.UNCHANGED:
            changes.append(item)
    changes.sort(key=_change_order)
    return {
        "counts": counts,
        "findings": [item.to_dict() for item in changes],
        "controls": [item.to_dict() for item in _control_changes(old_controls, new_controls)],
    }


def _finding_changes(pairs: Iterable[IndexedPair]) -> Iterator[FindingChange]:
    """Each pair's change, from its statuses made effective (a waived failure passes)."""
    for finding_id, rule_id, control_id, subject, old_status, old_waived, new_status, new_waived in pairs:
        before = None if old_status is None else effective(Status(old_status), waived=bool(old_waived))
        after = None if new_status is None else effective(Status(new_status), waived=bool(new_waived))
        yield FindingChange(id=finding_id, rule_id=rule_id, control_id=control_id, subject=subject,
                            before=before, after=after, change=_classify(before, after))  # fmt: skip


def _pair(old: Finding | None, new: Finding | None, shown: Finding) -> IndexedPair:
    """One finding of two scans as the index pairs it, named by ``shown`` (the newer where it is in both)."""
    return (shown.id, shown.rule_id, shown.control_id, shown.subject,
            None if old is None else old.status.value, None if old is None else int(old.waived),
            None if new is None else new.status.value, None if new is None else int(new.waived))  # fmt: skip


def _classify(before: Status | None, after: Status | None) -> Change:
    failed, fails = before is Status.FAIL, after is Status.FAIL
    if after is None:
        return Change.VANISHED
    if fails:
        return Change.STILL_FAILING if failed else Change.NEW_FAILURE
    if before is None:
        return Change.NEW_SUBJECT
    if failed:
        return Change.FIXED
    return Change.UNCHANGED if before is after else Change.CHANGED


def compare(
    old: Iterable[Finding],
    new: Iterable[Finding],
    *,
    old_controls: Iterable[ControlResult] = (),
    new_controls: Iterable[ControlResult] = (),
) -> Drift:
    """Compare the findings (and control results) of an older scan with a newer one."""
    before: Mapping[str, Finding] = {finding.id: finding for finding in old}
    after: Mapping[str, Finding] = {finding.id: finding for finding in new}
    pairs = (
        _pair(before.get(key), after.get(key), after.get(key) or before[key])
        for key in before.keys() | after.keys()
    )
    changes = list(_finding_changes(pairs))
    changes.sort(key=_change_order)
    return Drift(findings=tuple(changes), controls=_control_changes(old_controls, new_controls))


def _change_order(change: FindingChange) -> tuple[str, str, str, str]:
    return (control_sort_key(change.control_id), change.rule_id, change.subject or "", change.id)


def _control_changes(
    old_controls: Iterable[ControlResult], new_controls: Iterable[ControlResult]
) -> tuple[ControlChange, ...]:
    control_before = {control.id: control.status for control in old_controls}
    control_after = {control.id: control.status for control in new_controls}
    return tuple(
        ControlChange(id=cid, before=control_before.get(cid), after=control_after.get(cid))
        for cid in sorted(control_before.keys() | control_after.keys(), key=control_sort_key)
        if control_before.get(cid) is not control_after.get(cid)
    )
