"""Findings (one verdict on one subject by one rule) and their roll-up into control statuses."""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from annexa.model.diagnostics import Span
from annexa.model.evidence import EvidenceRef, JSONValue


class Status(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"  # evidence missing or insufficient
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"  # the rule itself failed to evaluate


class ControlStatus(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"
    NOT_ASSESSED = "not_assessed"  # no selected rule covers the control


class Severity(enum.Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


# Worst first: the order in which one status outranks another when findings roll up.
ROLLUP_ORDER = (Status.FAIL, Status.ERROR, Status.INCONCLUSIVE, Status.PASS, Status.NOT_APPLICABLE)
_RANK = {status: rank for rank, status in enumerate(ROLLUP_ORDER)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiver:
    """An accepted risk in force for a finding: the finding keeps its real status and shows this."""

    justification: str
    approved_by: str
    expires: str  # ISO date


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
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

    @property
    def id(self) -> str:
        """Stable across scans: the same rule and subject always give the same id."""
        key = f"{self.rule_id}\x00{self.subject or ''}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    @property
    def waived(self) -> bool:
        return self.waiver is not None

    @property
    def observation(self) -> bool:
        """A supporting-evidence finding that does not pass: reported, but no verdict on its control."""
        return self.weight == "supporting" and self.status is not Status.PASS

    def sort_key(self) -> tuple[str, str, str]:
        return (self.control_id_key(), self.rule_id, self.subject or "")

    def control_id_key(self) -> str:
        return control_sort_key(self.control_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule_id,
            "control": self.control_id,
            "status": self.status.value,
            "severity": self.severity.value,
            "subject": self.subject,
            "message": self.message,
            "evidence": [ref.to_dict() for ref in self.evidence],
            "witness": dict(self.witness),
            "missing": list(self.missing),
            "remediation": self.remediation,
            "waiver": None
            if self.waiver is None
            else {
                "justification": self.waiver.justification,
                "approved_by": self.waiver.approved_by,
                "expires": self.waiver.expires,
            },
            "note": self.note,
            "location": str(self.rule_span),
            "weight": self.weight,
        }


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


def effective_status(finding: Finding) -> Status:
    """A waived failure does not fail its control; it is counted apart as waived."""
    if finding.waiver is not None and finding.status in (Status.FAIL, Status.ERROR, Status.INCONCLUSIVE):
        return Status.PASS
    return finding.status
