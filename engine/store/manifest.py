"""Scan records and their manifests: the canonical JSON that the hash chain is built from.

A scan's findings are ``Finding.to_dict()`` each plus its full rule span (``location`` alone loses the end
position), so :func:`record_from_manifest` gives back real :class:`Finding` objects and an old scan can be
compared, reported or re-evaluated from the store alone. A version-2 manifest names them by digest: they
are an object of their own in the locker's ``findings`` area, the canonical JSON of their list written one
finding at a time (:func:`findings_chunks`) and read back the same way (:func:`parse_findings`), so that
neither recording nor verifying a scan of millions of findings builds them into one document. The
manifest holds that object's SHA-256 and count, so the hash chain and a signature cover every finding as
they did when a version-1 manifest held them inline (still read).
"""

from __future__ import annotations

import codecs
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from annexa import __version__
from annexa.model.diagnostics import Position, Span
from annexa.model.errors import EngineError
from annexa.model.evidence import EvidenceRef, canonical_json, format_timestamp, parse_timestamp
from annexa.model.findings import ControlResult, ControlStatus, Finding, Severity, Status, Waiver

# The version of the store's JSON outputs (history, diff, verify), which did not change with the manifests.
SCHEMA_VERSION: Final = 1
MANIFEST_VERSION: Final = 2  # the findings in an object of their own (version 1: inline, still read)
_READABLE: Final = (1, MANIFEST_VERSION)
_READ_SIZE: Final = 1 << 20


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


@dataclass(frozen=True, slots=True)
class FindingsObject:
    """Where a version-2 manifest's findings are: the SHA-256 of the object holding them, and how many."""

    sha256: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "count": self.count}


def findings_object_of(raw: Mapping[str, Any]) -> FindingsObject | None:
    """The findings object a manifest names, or None for a version-1 manifest (findings inline)."""
    named = raw.get("findings_object")
    if raw.get("schema_version") == 1 and named is None:
        return None
    if not isinstance(named, Mapping) or not isinstance(named.get("sha256"), str) \
            or not isinstance(named.get("count"), int):  # fmt: skip
        raise StoreError(f"manifest of scan {raw.get('scan_id')!r} names no findings object")
    return FindingsObject(sha256=named["sha256"], count=named["count"])


def findings_chunks(findings: Iterable[Finding], seen: Callable[[Finding], object] = id) -> Iterator[bytes]:
    """The bytes of a findings object, a finding at a time: the canonical JSON of the list of
    :func:`finding_to_manifest` dicts, so its SHA-256 is the statement's ``findings_digest`` of them, as
    it is of a version-1 manifest's inline list. ``seen(finding)`` is called on each as it is written."""
    separator = b"["
    for finding in findings:
        seen(finding)
        yield separator
        yield canonical_json(finding_to_manifest(finding))
        separator = b","
    yield b"]" if separator == b"," else b"[]"


def parse_findings(read: Callable[[int], bytes], where: str) -> Iterator[dict[str, Any]]:
    """The findings of an object (a JSON list of objects), one at a time, from ``read(size)`` (a file's
    ``read``), never the whole list in memory. :class:`StoreError` naming ``where`` when it is not one."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    text, state, at_end = "", "open", False  # state: open, first (an item or "]"), next ("," or "]"), closed
    while True:
        chunk = b"" if at_end else read(_READ_SIZE)
        at_end = not chunk
        try:
            text += utf8.decode(chunk, final=at_end)
        except UnicodeDecodeError as exc:
            raise StoreError(f"{where}: findings are not UTF-8: {exc}") from exc
        position = 0
        while position < len(text) and state != "closed":
            if state == "open":
                if text[position] != "[":
                    raise StoreError(f"{where}: findings are not a JSON list")
                position, state = position + 1, "first"
                continue
            if text[position] == "]":
                position, state = position + 1, "closed"
                continue
            start = position
            if state == "next":
                if text[position] != ",":
                    raise StoreError(f"{where}: findings list broken at character {position}")
                start += 1
            try:
                value, end = decoder.raw_decode(text, start)
            except json.JSONDecodeError as exc:
                if at_end:
                    raise StoreError(f"{where}: findings are not JSON: {exc}") from exc
                break  # the rest of this finding is in the next chunk
            if not isinstance(value, dict):
                raise StoreError(f"{where}: a finding is not a JSON object")
            yield value
            position, state = end, "next"
        text = text[position:]
        if state == "closed" and text:
            raise StoreError(f"{where}: bytes after the findings list")
        if at_end:
            if state != "closed":
                raise StoreError(f"{where}: findings list is cut short")
            return


def build_manifest(
    record: ScanRecord, *, sequence: int, previous: str | None, findings: FindingsObject
) -> dict[str, Any]:
    """The manifest of ``record``, whose findings are stored as ``findings`` (see :func:`findings_chunks`)."""
    return {
        "schema_version": MANIFEST_VERSION,
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
        "findings_object": findings.to_dict(),
        "controls": [control.to_dict() for control in record.controls],
    }


def record_from_manifest(
    raw: Mapping[str, Any], findings: Iterable[Mapping[str, Any]] | None = None
) -> ScanRecord:
    """The record a manifest holds, with ``findings`` (raw, as :func:`parse_findings` gives them) for a
    version-2 manifest, whose findings are not inline; without them its record has none."""
    if raw.get("schema_version") not in _READABLE:
        raise StoreError(f"manifest schema_version {raw.get('schema_version')!r} is not one of {_READABLE} "
                         "(written by a later annexa?)")  # fmt: skip
    if findings is None:
        findings = raw["findings"] if raw["schema_version"] == 1 else ()
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
        findings=tuple(finding_from_manifest(f) for f in findings),
        controls=tuple(_control_from_manifest(c) for c in raw["controls"]),
    )
