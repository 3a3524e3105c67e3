"""The nonconformity register (ISO/IEC 42001 clauses 9.3 and 10.2), rebuilt from the scan history.

Each failing finding that is not waived and rests on primary evidence opens a nonconformity. Its id comes
from the finding's stable id (same rule, same subject: same nonconformity), so the register is the same
however often it is rebuilt.

A nonconformity closes only on something an auditor would accept as closure, and each closed episode
records which (:class:`ClosedBy`):

- ``passed``: a later scan ran the rule and the finding for the same subject passed;
- ``declared_not_applicable``: the finding became not applicable because the configuration declares
  the control not applicable, with its justification (``applicability``);
- ``closure_record``: the matching ``nonconformities`` entry of the configuration carries
  ``closed: {date, by, justification}``; it closes the episode open at the first scan on or after ``date``.

Taking the evidence away closes nothing. When a scan ran the rule but produced no finding for the
subject (the endpoint, document or system is no longer collected), or the finding became not
applicable without a declared decision, the nonconformity is *evidence withdrawn*: still open, counted
and shown as open, with the scan in which the evidence went away and a note saying so. If the subject
comes back failing it is plainly open again (the same episode: it never closed); if it comes back
passing, it closes. A failure after any closure reopens it under the same id, as a new episode. A scan
in which the rule did not run, or in which the finding is inconclusive, errored or waived, changes
nothing: lack of evidence proves neither a fix nor a regression.

All ages are measured at the latest scan's clock, never the wall clock, so the register is reproducible.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from annexa.contract.catalog import CLAUSE_GROUP, Catalog, group_summary, roll_up_clauses
from annexa.files.tablecell import csv_cell, markdown_cell
from annexa.model.evidence import format_timestamp
from annexa.model.findings import ControlResult, ControlStatus, Finding, Status, control_sort_key

if TYPE_CHECKING:
    from annexa.store import ScanRecord

# 2: states "evidence_withdrawn"; how each episode closed (closed_by, closure, closure_record).
REGISTER_SCHEMA_VERSION = 2
# Upper bounds (days, inclusive) of the age bands a management review looks at; the last band is open.
AGE_BANDS = ((30, "0-30 days"), (90, "31-90 days"), (180, "91-180 days"))
OLDEST_BAND = "over 180 days"
# How annexa.app.scan.apply_policy begins the note of a finding whose control is declared not applicable.
DECLARED_NOT_APPLICABLE = "control declared not applicable"
# Why an open nonconformity's evidence counts as withdrawn (the rule ran in both cases), and what follows.
SUBJECT_GONE = "the evidence this finding rested on is no longer collected"
UNDECLARED_NOT_APPLICABLE = "the finding became not applicable without a declared applicability decision"
STAYS_OPEN = "the nonconformity stays open until a passing finding or a closure record"


class ClosedBy(enum.Enum):
    """What closed an episode: the only three things that may."""

    PASSED = "passed"
    DECLARED_NOT_APPLICABLE = "declared_not_applicable"
    CLOSURE_RECORD = "closure_record"


# As the Markdown figures name them.
_CLOSED_BY_TEXT = {
    ClosedBy.PASSED.value: "passed",
    ClosedBy.DECLARED_NOT_APPLICABLE.value: "declared not applicable",
    ClosedBy.CLOSURE_RECORD.value: "closure record",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanView:
    """What the register needs of one recorded scan."""

    scan_id: str
    at: datetime  # the scan's clock
    findings: tuple[Finding, ...]
    rules_run: frozenset[str]  # rule ids the scan evaluated (from its control results)
    controls: tuple[ControlResult, ...] = ()
    clauses: tuple[ControlResult, ...] = ()  # main-body clauses, when the scan ran builtin:clauses


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosureRecord:
    """An explicit closure from the configuration (``nonconformities[].closed``)."""

    on: date  # the configuration's `date` key
    by: str
    justification: str

    def to_dict(self) -> dict[str, str]:
        return {"date": self.on.isoformat(), "by": self.by, "justification": self.justification}


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """Owner, corrective action and due date from the configuration (``nonconformities``)."""

    rule: str | None
    control: str | None
    subject: str | None
    owner: str
    action: str
    due: date
    closed: ClosureRecord | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Episode:
    opened_at: datetime
    opened_in: str  # scan id
    closed_at: datetime | None = None
    closed_in: str | None = None
    closed_by: ClosedBy | None = None
    closure: str | None = None  # why it closed, in the user's words
    closure_record: ClosureRecord | None = None  # when closed_by is CLOSURE_RECORD
    # Set while the episode is open and its evidence is withdrawn: the first scan without it, and why.
    withdrawn_at: datetime | None = None
    withdrawn_in: str | None = None
    withdrawn_because: str | None = None

    @property
    def is_withdrawn(self) -> bool:
        return self.closed_at is None and self.withdrawn_in is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "opened_at": format_timestamp(self.opened_at),
            "opened_in": self.opened_in,
            "closed_at": None if self.closed_at is None else format_timestamp(self.closed_at),
            "closed_in": self.closed_in,
            "closed_by": None if self.closed_by is None else self.closed_by.value,
            "closure": self.closure,
            "closure_record": None if self.closure_record is None else self.closure_record.to_dict(),
            "evidence_withdrawn_at": None
            if self.withdrawn_at is None
            else format_timestamp(self.withdrawn_at),
            "evidence_withdrawn_in": self.withdrawn_in,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Nonconformity:
    id: str  # "NC-" + the finding's stable id
    rule: str
    control: str
    subject: str | None
    severity: str
    message: str  # from the latest failing scan
    first_seen: datetime
    last_seen: datetime  # the last scan in which it failed
    episodes: tuple[Episode, ...]
    action: Action | None
    as_of: datetime  # the latest scan's clock: ages and overdue are measured here

    @property
    def is_open(self) -> bool:
        return self.episodes[-1].closed_at is None

    @property
    def is_withdrawn(self) -> bool:
        """Open, but the evidence it rested on is no longer collected."""
        return self.episodes[-1].is_withdrawn

    @property
    def state(self) -> str:
        if not self.is_open:
            return "closed"
        if self.is_withdrawn:
            return "evidence_withdrawn"
        return "reopened" if len(self.episodes) > 1 else "open"

    @property
    def note(self) -> str | None:
        """What a reader of an open nonconformity must know: withdrawn evidence, an idle closure record."""
        if not self.is_open:
            return None
        episode = self.episodes[-1]
        notes = []
        if episode.is_withdrawn:
            notes.append(f"{episode.withdrawn_because}; {STAYS_OPEN} (since scan {episode.withdrawn_in})")
        record = None if self.action is None else self.action.closed
        if record is not None:
            if record.on > self.as_of.date():
                notes.append(
                    f"closure record of {record.on.isoformat()} by {record.by} takes effect at the first "
                    f"scan on or after that date"
                )
            else:
                notes.append(
                    f"closure record of {record.on.isoformat()} by {record.by} predates this episode "
                    f"(opened in scan {episode.opened_in}); it does not close it"
                )
        return "; ".join(notes) or None

    @property
    def age_days(self) -> int:
        """Open: days since the current episode opened. Closed: how long the last episode lasted."""
        episode = self.episodes[-1]
        end = episode.closed_at or self.as_of
        return (end - episode.opened_at).days

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.action is not None and self.action.due < self.as_of.date()

    def to_dict(self) -> dict[str, Any]:
        last = self.episodes[-1]
        return {
            "id": self.id,
            "state": self.state,
            "rule": self.rule,
            "control": self.control,
            "subject": self.subject,
            "severity": self.severity,
            "message": self.message,
            "first_seen": format_timestamp(self.first_seen),
            "last_seen": format_timestamp(self.last_seen),
            "closed_at": None if self.is_open else format_timestamp(_closed(last)),
            "closed_in": last.closed_in,
            "closed_by": None if last.closed_by is None else last.closed_by.value,
            "closure": last.closure,
            "evidence_withdrawn_in": last.withdrawn_in if last.is_withdrawn else None,
            "note": self.note,
            "age_days": self.age_days,
            "reopened": len(self.episodes) - 1,
            "owner": None if self.action is None else self.action.owner,
            "corrective_action": None if self.action is None else self.action.action,
            "due": None if self.action is None else self.action.due.isoformat(),
            "overdue": self.is_overdue,
            "episodes": [episode.to_dict() for episode in self.episodes],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Register:
    as_of: datetime | None  # the latest scan's clock; None for an empty history
    latest_scan: str | None
    scans: int
    nonconformities: tuple[Nonconformity, ...]
    groups: tuple[Mapping[str, Any], ...] = ()  # readiness per Annex A group in the latest scan
    clauses: Mapping[str, Any] | None = None  # the same figure for the main-body clauses, if checked
    figures: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": REGISTER_SCHEMA_VERSION,
            "as_of": None if self.as_of is None else format_timestamp(self.as_of),
            "latest_scan": self.latest_scan,
            "scans": self.scans,
            "figures": dict(self.figures),
            "groups": [dict(group) for group in self.groups],
            "clauses": None if self.clauses is None else dict(self.clauses),
            "nonconformities": [nc.to_dict() for nc in self.nonconformities],
        }


def build_register(
    scans: Iterable[ScanView], actions: Iterable[Action] = (), catalog: Catalog | None = None
) -> Register:
    """Replay the scan history (oldest first) into a register (open first, then oldest) with figures.

    ``scans`` is read once, a scan at a time: given as a generator, a long history of large scans is never
    held whole (the failing findings and the last scan are)."""
    action_list = tuple(actions)
    last: ScanView | None = None
    count = 0
    episodes: dict[str, list[Episode]] = {}
    latest: dict[str, Finding] = {}
    matched: dict[str, Action | None] = {}
    first_seen: dict[str, datetime] = {}
    last_seen: dict[str, datetime] = {}
    previous: date | None = None  # the date of the scan before this one
    for scan in scans:
        last, count = scan, count + 1
        present = {finding.id: finding for finding in scan.findings}
        # A closure record takes effect before the scan's findings: if the scan fails, it reopens.
        for key, history in episodes.items():
            record = _closure_due(matched[key], previous, scan.at.date())
            if record is not None and history[-1].closed_at is None:
                history[-1] = _close(
                    history[-1],
                    scan,
                    ClosedBy.CLOSURE_RECORD,
                    f"closure record by {record.by} on {record.on.isoformat()}: {record.justification}",
                    record,
                )
        for key, finding in sorted(present.items()):
            # An observation (supporting evidence) is no nonconformity: it never fails its control.
            if finding.status is Status.FAIL and finding.waiver is None and not finding.observation:
                history = episodes.setdefault(key, [])
                if not history or history[-1].closed_at is not None:
                    history.append(Episode(opened_at=scan.at, opened_in=scan.scan_id))
                elif history[-1].withdrawn_in is not None:  # the subject is back, still failing
                    history[-1] = replace(
                        history[-1], withdrawn_at=None, withdrawn_in=None, withdrawn_because=None
                    )
                first_seen.setdefault(key, scan.at)
                last_seen[key] = scan.at
                latest[key] = finding
                matched.setdefault(key, match_action(finding, action_list))
        for key, history in episodes.items():
            if history[-1].closed_at is not None or latest[key].rule_id not in scan.rules_run:
                continue
            history[-1] = _advance(history[-1], present.get(key), scan)
        previous = scan.at.date()
    as_of = last.at if last else None
    register = (
        ()
        if as_of is None
        else tuple(  # no scan, no finding
            sorted(
                (
                    Nonconformity(
                        id=f"NC-{key}",
                        rule=finding.rule_id,
                        control=finding.control_id,
                        subject=finding.subject,
                        severity=finding.severity.value,
                        message=finding.message,
                        first_seen=first_seen[key],
                        last_seen=last_seen[key],
                        episodes=tuple(episodes[key]),
                        action=matched[key],
                        as_of=as_of,
                    )
                    for key, finding in latest.items()
                ),
                key=lambda nc: (
                    not nc.is_open,
                    nc.first_seen,
                    control_sort_key(nc.control),
                    nc.rule,
                    nc.subject or "",
                ),
            )
        )
    )
    groups = tuple(group_summary(last.controls, catalog)) if last and last.controls else ()
    return Register(
        as_of=as_of,
        latest_scan=last.scan_id if last else None,
        scans=count,
        nonconformities=register,
        groups=groups,
        clauses=_clause_readiness(last.clauses) if last and last.clauses else None,
        figures=figures(register),
    )


def _advance(episode: Episode, seen: Finding | None, scan: ScanView) -> Episode:
    """An open episode after a scan that ran its rule: closed, withdrawn, or as it was."""
    if seen is None:
        return _withdraw(episode, scan, SUBJECT_GONE)
    if seen.status is Status.PASS:
        return _close(episode, scan, ClosedBy.PASSED, f"passed in scan {scan.scan_id}")
    if seen.status is Status.NOT_APPLICABLE:
        if seen.note is not None and seen.note.startswith(DECLARED_NOT_APPLICABLE):
            return _close(episode, scan, ClosedBy.DECLARED_NOT_APPLICABLE, seen.note)
        return _withdraw(episode, scan, UNDECLARED_NOT_APPLICABLE)
    return episode  # failing (waived or not), inconclusive, error: nothing proven either way


def _withdraw(episode: Episode, scan: ScanView, because: str) -> Episode:
    if episode.withdrawn_in is not None:
        return episode  # withdrawn since an earlier scan
    return replace(episode, withdrawn_at=scan.at, withdrawn_in=scan.scan_id, withdrawn_because=because)


def _close(
    episode: Episode,
    scan: ScanView,
    by: ClosedBy,
    closure: str,
    record: ClosureRecord | None = None,
) -> Episode:
    return replace(
        episode,
        closed_at=scan.at,
        closed_in=scan.scan_id,
        closed_by=by,
        closure=closure,
        closure_record=record,
    )


def _closure_due(action: Action | None, previous: date | None, today: date) -> ClosureRecord | None:
    """The closure record that takes effect in a scan of ``today``: the first scan on or after its date."""
    record = None if action is None else action.closed
    if record is None or record.on > today or (previous is not None and record.on <= previous):
        return None
    return record


def _clause_readiness(clauses: Sequence[ControlResult]) -> dict[str, Any]:
    counts = {status.value: 0 for status in ControlStatus}
    for clause in clauses:
        counts[clause.status.value] += 1
    assessed = len(clauses) - counts["not_applicable"] - counts["not_assessed"]
    return {
        "id": CLAUSE_GROUP,
        "title": "Main-body clauses 4 to 10",
        "controls": len(clauses),
        "counts": counts,
        "readiness": round(counts["pass"] / assessed, 3) if assessed else None,
    }


def match_action(finding: Finding, actions: Sequence[Action]) -> Action | None:
    """The most specific configured action: rule and subject, then rule, then control."""
    ranked = []
    for action in actions:
        if action.rule is not None and action.rule == finding.rule_id:
            if action.subject is None:
                ranked.append((1, action))
            elif action.subject == finding.subject:
                ranked.append((0, action))
        elif action.control == finding.control_id and action.subject in (None, finding.subject):
            ranked.append((2, action))
    return min(ranked, key=lambda pair: pair[0])[1] if ranked else None


def age_band(days: int) -> str:
    for upper, label in AGE_BANDS:
        if days <= upper:
            return label
    return OLDEST_BAND


def figures(register: Sequence[Nonconformity]) -> dict[str, Any]:
    """What a management review asks for: open by age and severity, overdue, mean time to close."""
    open_ncs = [nc for nc in register if nc.is_open]
    by_band = {label: 0 for _, label in AGE_BANDS} | {OLDEST_BAND: 0}
    for nc in open_ncs:
        by_band[age_band(nc.age_days)] += 1
    by_severity: dict[str, int] = {}
    for nc in open_ncs:
        by_severity[nc.severity] = by_severity.get(nc.severity, 0) + 1
    closed_episodes = [episode for nc in register for episode in nc.episodes if episode.closed_at is not None]
    durations = [
        (_closed(episode) - episode.opened_at).total_seconds() / 86400 for episode in closed_episodes
    ]
    closed_by = {way.value: 0 for way in ClosedBy}
    for episode in closed_episodes:
        if episode.closed_by is not None:
            closed_by[episode.closed_by.value] += 1
    return {
        "total": len(register),
        "open": len(open_ncs),
        "evidence_withdrawn": sum(1 for nc in open_ncs if nc.is_withdrawn),  # counted in "open" too
        "closed": len(register) - len(open_ncs),
        "reopened": sum(1 for nc in register if len(nc.episodes) > 1),
        "overdue": sum(1 for nc in register if nc.is_overdue),
        "without_owner": sum(1 for nc in open_ncs if nc.action is None),
        "open_by_age": by_band,
        "open_by_severity": dict(sorted(by_severity.items())),
        "closed_episodes": len(durations),
        "closed_episodes_by": closed_by,
        "mean_days_to_close": round(sum(durations) / len(durations), 1) if durations else None,
    }


def _closed(episode: Episode) -> datetime:
    assert episode.closed_at is not None  # only called on closed episodes
    return episode.closed_at


def scan_view(record: ScanRecord) -> ScanView:
    """A :class:`ScanView` of a store ``ScanRecord``."""
    return ScanView(
        scan_id=record.scan_id,
        at=record.started_at,
        findings=tuple(record.findings),
        rules_run=frozenset(rule for control in record.controls for rule in control.rules)
        | frozenset(finding.rule_id for finding in record.findings),
        controls=tuple(record.controls),
        clauses=roll_up_clauses(record.findings, _rules_of(record.findings)),
    )


def _rules_of(findings: Iterable[Finding]) -> dict[str, tuple[str, ...]]:
    rules: dict[str, set[str]] = {}
    for finding in findings:
        rules.setdefault(finding.control_id, set()).add(finding.rule_id)
    return {control: tuple(sorted(ids)) for control, ids in rules.items()}


# --- rendering -----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "state",
    "control",
    "rule",
    "subject",
    "severity",
    "first_seen",
    "last_seen",
    "closed_at",
    "closed_by",
    "closure",
    "evidence_withdrawn_in",
    "note",
    "age_days",
    "reopened",
    "owner",
    "corrective_action",
    "due",
    "overdue",
    "message",
)


def render_json(register: Register) -> str:
    return json.dumps(register.to_dict(), indent=2, sort_keys=True) + "\n"


def render_csv(register: Register) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for nc in register.nonconformities:
        row = nc.to_dict()
        writer.writerow([csv_cell(_text(row[column])) for column in CSV_COLUMNS])
    return buffer.getvalue()


def render_markdown(register: Register) -> str:
    numbers = register.figures
    lines = ["# Nonconformities and corrective actions (ISO/IEC 42001 clauses 9.3, 10.2)", ""]
    if register.as_of is None:
        return "\n".join([*lines, "No scan recorded yet.", ""])
    lines += [
        f"As of scan `{register.latest_scan}` at {format_timestamp(register.as_of)} "
        f"({register.scans} scan(s) in the history).",
        "",
        "## Management review figures",
        "",
        f"- Nonconformities: {numbers['total']} ({numbers['open']} open, of which "
        f"{numbers['evidence_withdrawn']} with evidence withdrawn; {numbers['closed']} closed; "
        f"{numbers['reopened']} reopened at least once)",
        f"- Overdue corrective actions: {numbers['overdue']}; "
        f"open without an owner: {numbers['without_owner']}",
        "- Mean time to close: "
        + ("n/a" if numbers["mean_days_to_close"] is None else f"{numbers['mean_days_to_close']} days")
        + f" over {numbers['closed_episodes']} closed episode(s)"
        + _closed_by_text(numbers["closed_episodes_by"]),
        "- Open by age: " + ", ".join(f"{band}: {count}" for band, count in numbers["open_by_age"].items()),
        "",
    ]
    if register.groups:
        lines += ["| Group | Title | Controls | Pass | Fail | Readiness |", "|---|---|---|---|---|---|"]
        for group in (*register.groups, *([register.clauses] if register.clauses else [])):
            readiness = "n/a" if group["readiness"] is None else f"{round(group['readiness'] * 100)}%"
            lines.append(
                f"| {group['id']} | {markdown_cell(str(group['title']))} | {group['controls']} | "
                f"{group['counts']['pass']} | {group['counts']['fail']} | {readiness} |"
            )
        lines.append("")
    lines += [
        "## Register",
        "",
        "| Id | State | Control | Rule | Subject | Severity | First seen | Last seen | Age (days) "
        "| Owner | Action | Due | Closed by / note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for nc in register.nonconformities:
        row = nc.to_dict()
        due = "-" if row["due"] is None else row["due"] + (" (overdue)" if row["overdue"] else "")
        lines.append(
            f"| {nc.id} | {nc.state.replace('_', ' ')} | {nc.control} | `{nc.rule}` "
            f"| {markdown_cell(nc.subject or '-')} | {nc.severity} "
            f"| {row['first_seen'][:10]} | {row['last_seen'][:10]} | {nc.age_days} "
            f"| {markdown_cell(row['owner'] or '-')} "
            f"| {markdown_cell(row['corrective_action'] or '-')} | {due} "
            f"| {markdown_cell(row['closure'] or row['note'] or '-')} |"
        )
    return "\n".join(lines) + "\n"


def _closed_by_text(counts: Mapping[str, int]) -> str:
    """`` (passed: 2, closure record: 1)``: how the closed episodes closed; empty when none did."""
    ways = ", ".join(f"{_CLOSED_BY_TEXT[way]}: {count}" for way, count in counts.items() if count)
    return f" ({ways})" if ways else ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
