"""Findings (one verdict on one subject by one rule) and their roll-up into control statuses."""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from operator import attrgetter, itemgetter
from typing import Any, Final

from annexa.model.diagnostics import Span
from annexa.model.evidence import EvidenceRef, JSONValue

# A million findings are counted, rolled up and written by status: the enums' ``value`` is read from the
# member's own attribute and their hash is the object's (each member is a singleton, equal only to itself),
# both in C instead of the Python-level ``enum.property`` and ``hash(self._name_)``: 3 times faster each.
_VALUE: Any = property(attrgetter("_value_"))


class Status(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"  # evidence missing or insufficient
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"  # the rule itself failed to evaluate

    value = _VALUE
    __hash__ = object.__hash__


class ControlStatus(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"
    NOT_ASSESSED = "not_assessed"  # no selected rule covers the control

    value = _VALUE
    __hash__ = object.__hash__


class Severity(enum.Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    value = _VALUE
    __hash__ = object.__hash__


# Worst first: the order in which one status outranks another when findings roll up.
ROLLUP_ORDER = (Status.FAIL, Status.ERROR, Status.INCONCLUSIVE, Status.PASS, Status.NOT_APPLICABLE)
_RANK = {status: rank for rank, status in enumerate(ROLLUP_ORDER)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiver:
    """An accepted risk in force for a finding: the finding keeps its real status and shows this."""

    justification: str
    approved_by: str
    expires: str  # ISO date


@dataclass(init=False, repr=True, eq=False, frozen=True)
class Finding(tuple):  # type: ignore[type-arg]  # a record: its fields are named below
    """One verdict on one subject by one rule: a frozen dataclass whose values live in a tuple.

    Evaluation makes one per subject and rule (a million over 100,000 items and ten rules), so a finding
    costs what a tuple costs: built in one step (:func:`new_finding`, what the evaluator calls) instead of
    a frozen dataclass's ``object.__setattr__`` per field (2-4 µs each, most of evaluating a predicate),
    immutable by construction, each field read through a C ``itemgetter``. It stays a dataclass to every
    user: keyword construction with the same defaults, ``dataclasses.replace``/``fields``/``asdict``,
    equality field by field, repr, pickling (Dask workers send findings back).
    """

    __slots__ = ()

    rule_id: str  # "A.6.2.8/endpoint_data_capture"
    control_id: str  # "A.6.2.8"
    status: Status
    severity: Severity
    message: str
    subject: str | None
    rule_span: Span
    evidence: tuple[EvidenceRef, ...] = ()
    witness: Mapping[str, JSONValue] = field(default_factory=dict)
    missing: tuple[str, ...] = ()  # field paths that were read but absent (null)
    remediation: str | None = None
    waiver: Waiver | None = None
    note: str | None = None  # e.g. why a rule is inconclusive or not applicable
    # "supporting": the rule checks supporting evidence only (catalog weight), so a finding that does not
    # pass is an observation: shown and counted, never what fails its control.
    weight: str = "primary"

    def __new__(
        cls,
        *,
        rule_id: str,
        control_id: str,
        status: Status,
        severity: Severity,
        message: str,
        subject: str | None,
        rule_span: Span,
        evidence: tuple[EvidenceRef, ...] = (),
        witness: Mapping[str, JSONValue] | None = None,
        missing: tuple[str, ...] = (),
        remediation: str | None = None,
        waiver: Waiver | None = None,
        note: str | None = None,
        weight: str = "primary",
    ) -> Finding:
        return _new(
            cls,
            (
                rule_id,
                control_id,
                status,
                severity,
                message,
                subject,
                rule_span,
                evidence,
                {} if witness is None else witness,
                missing,
                remediation,
                waiver,
                note,
                weight,
            ),
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (tuple(self),))

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__ and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    # Tuples are ordered; findings are not (sort them by sort_key). Nor hashable: the witness is a dict.
    __lt__ = __le__ = __gt__ = __ge__ = None  # type: ignore[assignment]
    __hash__ = None  # type: ignore[assignment]

    @property
    def id(self) -> str:
        """Stable across scans: the same rule and subject always give the same id."""
        return finding_id(self[0], self[5])

    @property
    def waived(self) -> bool:
        return self[11] is not None

    @property
    def observation(self) -> bool:
        """A supporting-evidence finding that does not pass: reported, but no verdict on its control."""
        return self[13] == "supporting" and self[2] is not Status.PASS

    def sort_key(self) -> tuple[str, str, str]:
        return (control_sort_key(self[1]), self[0], self[5] or "")

    def control_id_key(self) -> str:
        return control_sort_key(self[1])

    def to_dict(self) -> dict[str, Any]:
        (rule_id, control_id, status, severity, message, subject, span, evidence, witness, missing,
         remediation, waiver, note, weight) = self  # fmt: skip
        return {
            "id": finding_id(rule_id, subject),
            "rule": rule_id,
            "control": control_id,
            "status": status.value,
            "severity": severity.value,
            "subject": subject,
            "message": message,
            "evidence": [ref.to_dict() for ref in evidence],
            "witness": dict(witness),
            "missing": list(missing),
            "remediation": remediation,
            "waiver": None
            if waiver is None
            else {
                "justification": waiver.justification,
                "approved_by": waiver.approved_by,
                "expires": waiver.expires,
            },
            "note": note,
            "location": str(span),
            "weight": weight,
        }

    def to_encodable(self) -> dict[str, Any]:
        """:meth:`to_dict` as orjson writes it, cheaper: the enums, the evidence references and the waiver
        are left for the encoder, which writes each as ``to_dict`` would (a value, then each record's
        fields in order). Only for orjson; the standard library's encoder takes :meth:`to_dict`."""
        (rule_id, control_id, status, severity, message, subject, span, evidence, witness, missing,
         remediation, waiver, note, weight) = self  # fmt: skip
        return {
            "id": finding_id(rule_id, subject),
            "rule": rule_id,
            "control": control_id,
            "status": status,
            "severity": severity,
            "subject": subject,
            "message": message,
            "evidence": evidence,
            "witness": witness,
            "missing": missing,
            "remediation": remediation,
            "waiver": waiver,
            "note": note,
            "location": str(span),
            "weight": weight,
        }


_new = tuple.__new__
for _number, _field in enumerate(fields(Finding)):
    setattr(Finding, _field.name, property(itemgetter(_number), doc=f"The finding's {_field.name}."))
del _number, _field


new_finding: Callable[[tuple[Any, ...]], Finding] = functools.partial(_new, Finding)
"""A finding from its fields' values in declaration order, unchecked: the evaluator's fast path (a call
in C, no Python frame)."""


def _rebuild(values: tuple[Any, ...]) -> Finding:
    return _new(Finding, values)


def finding_id(rule_id: str, subject: str | None) -> str:
    """:attr:`Finding.id` of the finding of ``rule_id`` on ``subject``."""
    key = f"{rule_id}\x00{subject or ''}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def is_observation(finding: Mapping[str, Any]) -> bool:
    """:attr:`Finding.observation` for a finding in its dictionary form (reports work on those)."""
    return finding.get("weight") == "supporting" and finding["status"] != "pass"


@functools.lru_cache(maxsize=4096)
def control_sort_key(control_id: str) -> str:
    """Sort A.10.2 after A.9.4: zero-pad every numeric part."""
    parts = control_id.split(".")
    return ".".join(part.zfill(3) if part.isdigit() else part for part in parts)


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=Finding.sort_key))


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlResult:
    id: str
    title: str
    group: str
    status: ControlStatus
    rules: tuple[str, ...]
    counts: Mapping[str, int]  # per finding status, plus "waived"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "group": self.group,
            "status": self.status.value,
            "rules": list(self.rules),
            "counts": dict(self.counts),
        }


def rollup_status(statuses: Iterable[Status]) -> ControlStatus:
    """fail > error > inconclusive > pass > not_applicable; no findings at all is not_assessed."""
    ranked = [_RANK[status] for status in statuses]
    if not ranked:
        return ControlStatus.NOT_ASSESSED
    return ControlStatus(ROLLUP_ORDER[min(ranked)].value)


# A finding of two scans as the store's index holds it (annexa.audit.drift.compare_indexed): id, rule,
# control, subject, then its status and whether it is waived in the older scan and in the newer (None,
# None where it is not in that scan).
IndexedPair = tuple[str, str, str, str | None, str | None, int | None, str | None, int | None]

# What a waiver turns into a pass; any other status stands, waived or not.
WAIVABLE: Final = (Status.FAIL, Status.ERROR, Status.INCONCLUSIVE)


def effective_status(finding: Finding) -> Status:
    """A waived failure does not fail its control; it is counted apart as waived."""
    return effective(finding.status, waived=finding.waiver is not None)


def effective(status: Status, *, waived: bool) -> Status:
    """:func:`effective_status` of a finding with ``status``, waived or not."""
    return Status.PASS if waived and status in WAIVABLE else status
