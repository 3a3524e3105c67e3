"""Scan records and their manifests: the canonical JSON that the hash chain is built from.

A manifest holds ``Finding.to_dict()`` for every finding plus its full rule span (``location`` alone
loses the end position), so :func:`record_from_manifest` gives back real :class:`Finding` objects and an
old scan can be compared, reported or re-evaluated from the store alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from annexa import __version__
from annexa.model.diagnostics import Position, Span
from annexa.model.errors import EngineError
from annexa.model.evidence import EvidenceRef, format_timestamp, parse_timestamp
from annexa.model.findings import ControlResult, ControlStatus, Finding, Severity, Status, Waiver

SCHEMA_VERSION: Final = 1


class StoreError(EngineError):
    """The store cannot be opened, a reference does not resolve, or a file fails its digest."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionStatus:
    """Whether one collector delivered one evidence kind for one scope (``error`` None: collected).

    A ``gap`` is a part of a kind that could not be collected while the rest was: the kind counts as
    collected, and the gap keeps rules over it from passing.
    """

    collector: str
    scope: Mapping[str, str]
    kind: str
    error: str | None = None
    gap: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "collector": self.collector,
            "scope": dict(self.scope),
            "kind": self.kind,
            "status": "collected" if self.error is None else "gap" if self.gap else "error",
            "error": self.error,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanRecord:
    """Everything one scan produced, as handed to :meth:`Store.record_scan`."""

    scan_id: str
    started_at: datetime
    finished_at: datetime
    rule_pack_digest: str
    config_digest: str
    evidence_ids: tuple[str, ...]
    findings: tuple[Finding, ...]
    controls: tuple[ControlResult, ...] = ()
    collection: tuple[CollectionStatus, ...] = ()
    collector_versions: Mapping[str, str] = field(default_factory=dict)
    annexa_version: str = __version__

    def collected_by_kind(self) -> dict[str, str | None]:
        """The ``collected`` argument of ``evaluate``: kind -> None, or the first error for that kind.

        A gap leaves its kind collected (see :meth:`gaps_by_kind`).
        """
        result: dict[str, str | None] = {}
        for status in self.collection:
            if status.gap:
                result.setdefault(status.kind, None)
            elif status.error is not None and result.get(status.kind) is None:
                result[status.kind] = f"{status.collector} {dict(status.scope)}: {status.error}"
            else:
                result.setdefault(status.kind, None)
        return result

    def gaps_by_kind(self) -> dict[str, tuple[str, ...]]:
        """The ``gaps`` argument of ``evaluate``: kind -> the parts that could not be collected, and why
        (worded as :attr:`annexa.app.scan.Collection.gaps` words them, so a re-evaluation matches the
        scan)."""
        gaps: dict[str, list[str]] = {}
        for status in self.collection:
            if status.gap and status.error is not None:
                part = status.scope.get("part", "")
                gaps.setdefault(status.kind, []).append(f"{status.collector} {part}: {status.error}")
        return {kind: tuple(sorted(reasons)) for kind, reasons in sorted(gaps.items())}


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredScan:
    """A recorded scan: its place in the chain and the record read back from its manifest."""

    seq: int
    digest: str
    previous: str | None
    record: ScanRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanSummary:
    """One row of ``annexa history``: counts come from the index, per finding status."""

    seq: int
    scan_id: str
    digest: str
    previous: str | None
    started_at: str
    finished_at: str
    counts: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "scan_id": self.scan_id,
            "manifest": self.digest,
            "previous": self.previous,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "counts": dict(self.counts),
        }


def new_scan_id(started_at: datetime) -> str:
    """A sortable, unique scan id: ``20261123T121338Z-3f9a1c2b``."""
    return started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def _span_to_list(span: Span) -> list[Any]:
    return [span.path, span.start.line, span.start.column, span.end.line, span.end.column]


def finding_to_manifest(finding: Finding) -> dict[str, Any]:
    """``Finding.to_dict()`` plus the full span (``location`` alone loses the end position)."""
    return {**finding.to_dict(), "span": _span_to_list(finding.rule_span)}


def finding_from_manifest(raw: Mapping[str, Any]) -> Finding:
    path, start_line, start_col, end_line, end_col = raw["span"]
    waiver = raw.get("waiver")
    return Finding(
        rule_id=raw["rule"],
        control_id=raw["control"],
        status=Status(raw["status"]),
        severity=Severity(raw["severity"]),
        message=raw["message"],
        subject=raw["subject"],
        rule_span=Span(path, Position(start_line, start_col), Position(end_line, end_col)),
        evidence=tuple(EvidenceRef(**ref) for ref in raw["evidence"]),
        witness=raw["witness"],
        missing=tuple(raw["missing"]),
        remediation=raw["remediation"],
        waiver=None if waiver is None else Waiver(**waiver),
        note=raw["note"],
        weight=raw.get("weight", "primary"),  # manifests written before weights held primary findings
    )


def _control_from_manifest(raw: Mapping[str, Any]) -> ControlResult:
    return ControlResult(
        id=raw["id"],
        title=raw["title"],
        group=raw["group"],
        status=ControlStatus(raw["status"]),
        rules=tuple(raw["rules"]),
        counts=dict(raw["counts"]),
    )


def build_manifest(record: ScanRecord, *, sequence: int, previous: str | None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "sequence": sequence,
        "previous": previous,
        "scan_id": record.scan_id,
        "started_at": format_timestamp(record.started_at),
        "finished_at": format_timestamp(record.finished_at),
        "annexa_version": record.annexa_version,
        "collectors": dict(sorted(record.collector_versions.items())),
        "rule_pack_digest": record.rule_pack_digest,
        "config_digest": record.config_digest,
        "evidence": sorted(set(record.evidence_ids)),
        "collection": [status.to_dict() for status in record.collection],
        "findings": [finding_to_manifest(finding) for finding in record.findings],
        "controls": [control.to_dict() for control in record.controls],
    }


def record_from_manifest(raw: Mapping[str, Any]) -> ScanRecord:
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise StoreError(f"manifest schema_version {raw.get('schema_version')!r} is not {SCHEMA_VERSION}")
    return ScanRecord(
        scan_id=raw["scan_id"],
        started_at=parse_timestamp(raw["started_at"]),
        finished_at=parse_timestamp(raw["finished_at"]),
        annexa_version=raw["annexa_version"],
        collector_versions=dict(raw["collectors"]),
        rule_pack_digest=raw["rule_pack_digest"],
        config_digest=raw["config_digest"],
        evidence_ids=tuple(raw["evidence"]),
        collection=tuple(
            CollectionStatus(
                collector=c["collector"],
                scope=c["scope"],
                kind=c["kind"],
                error=c["error"],
                gap=c.get("status") == "gap",
            )
            for c in raw["collection"]
        ),
        findings=tuple(finding_from_manifest(f) for f in raw["findings"]),
        controls=tuple(_control_from_manifest(c) for c in raw["controls"]),
    )
