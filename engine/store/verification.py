"""``annexa verify``: recompute every digest and the chain, and name the first broken item."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from annexa.model.errors import EngineError
from annexa.model.evidence import Evidence, EvidenceFormatError, sha256_hex
from annexa.store.manifest import SCHEMA_VERSION, StoreError, findings_object_of, record_from_manifest

if TYPE_CHECKING:
    from annexa.store.base import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyProblem:
    """One broken item: the file (relative to the store), what was expected and what was found."""

    path: str
    message: str
    expected: str | None = None
    actual: str | None = None

    def __str__(self) -> str:
        detail = "" if self.expected is None else f" (expected {self.expected}, found {self.actual})"
        return f"{self.path}: {self.message}{detail}"


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    scans_checked: int
    evidence_checked: int
    problems: tuple[VerifyProblem, ...]
    notes: tuple[str, ...]  # orphans left by interrupted writes: harmless, reported for the record

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> VerifyProblem | None:
        return self.problems[0] if self.problems else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "ok": self.ok,
            "scans_checked": self.scans_checked,
            "evidence_checked": self.evidence_checked,
            "problems": [
                {"path": p.path, "message": p.message, "expected": p.expected, "actual": p.actual}
                for p in self.problems
            ],
            "notes": list(self.notes),
        }


def verify_store(store: Store, scan: str | None = None) -> VerifyReport:
    """Recompute every manifest digest, the chain, and the digest of every evidence object.

    With ``scan`` the chain is checked up to that scan and only its evidence is rehashed. Works through
    the primitives of :class:`~annexa.store.base.Store`, so every backend is checked the same way.
    """
    problems: list[VerifyProblem] = []
    notes: list[str] = []
    rows = store.chain_rows()
    if scan is not None:
        last_seq, _ = store.resolve(scan)
        rows = [row for row in rows if row[0] <= last_seq]
    referenced: set[str] = set()
    findings_objects: set[str] = set()  # named by the manifests checked
    expected_previous: str | None = None
    for position, (seq, scan_id, digest, previous) in enumerate(rows, start=1):
        where = f"scan #{seq} {scan_id}"
        if seq != position:
            problems.append(VerifyProblem(path=store.index_name, message=f"{where}: gap in the sequence "
                                          "(an index row was deleted?)", expected=str(position),
                                          actual=str(seq)))  # fmt: skip
        if previous != expected_previous:
            problems.append(VerifyProblem(path=store.index_name, message=f"{where}: index link to the "
                                          "previous manifest is wrong", expected=expected_previous,
                                          actual=previous))  # fmt: skip
        raw = _verify_manifest(store, digest, where, problems)
        if raw is not None:
            _verify_links(store, raw, where, digest, seq, scan_id, expected_previous, problems)
            referenced.update(raw.get("evidence") or ())
            named = findings_object_of(raw)
            label = store.object_label("manifests", digest)
            if named is not None:
                findings_objects.add(named.sha256)
                label = store.object_label("findings", named.sha256)
            recorded = _verify_findings(store, raw, where, label, referenced, problems)
            if recorded is not None:
                _verify_index_findings(store, seq, recorded, where, digest, problems)
        expected_previous = digest
    if scan is None:
        _verify_head(store, rows, problems, notes)
        evidence_files = store.object_digests("evidence")
        notes.extend(_orphan_notes(store, rows, evidence_files, findings_objects))
        problems.extend(VerifyProblem(path=where, message=what) for where, what in store.locker_damage())
        to_check = sorted(set(evidence_files) | referenced)
    else:
        to_check = sorted(referenced)
    for digest in to_check:
        _verify_evidence(store, digest, digest in referenced, problems)
    return VerifyReport(scans_checked=len(rows), evidence_checked=len(to_check),
                        problems=tuple(problems), notes=tuple(notes))  # fmt: skip


def _verify_manifest(
    store: Store, digest: str, where: str, problems: list[VerifyProblem]
) -> dict[str, Any] | None:
    rel = store.object_label("manifests", digest)
    payload = store.read_object("manifests", digest)
    if payload is None:
        problems.append(VerifyProblem(path=rel, message=f"{where}: manifest file is missing"))
        return None
    actual = sha256_hex(payload)
    if actual != digest:
        problems.append(VerifyProblem(path=rel, message=f"{where}: manifest content does not match its "
                                      "digest (modified after recording)", expected=digest,
                                      actual=actual))  # fmt: skip
        return None
    try:
        raw: dict[str, Any] = json.loads(payload)
        record_from_manifest(raw)
        findings_object_of(raw)
    except (ValueError, KeyError, TypeError, EngineError) as exc:
        problems.append(VerifyProblem(path=rel, message=f"{where}: manifest is not readable: {exc}"))
        return None
    return raw


def _verify_links(store: Store, raw: Mapping[str, Any], where: str, digest: str, seq: int, scan_id: str,
                  expected_previous: str | None, problems: list[VerifyProblem]) -> None:  # fmt: skip
    rel = store.object_label("manifests", digest)
    if raw.get("previous") != expected_previous:
        problems.append(VerifyProblem(path=rel, message=f"{where}: chain broken: the manifest's previous "
                                      "link does not name the scan before it in the history",
                                      expected=expected_previous, actual=raw.get("previous")))  # fmt: skip
    if raw.get("sequence") != seq:
        problems.append(VerifyProblem(path=rel, message=f"{where}: manifest sequence differs from its "
                                      "place in the history (reordered?)", expected=str(seq),
                                      actual=str(raw.get("sequence"))))  # fmt: skip
    if raw.get("scan_id") != scan_id:
        problems.append(VerifyProblem(path=rel, message=f"{where}: manifest belongs to another scan",
                                      expected=scan_id, actual=str(raw.get("scan_id"))))  # fmt: skip


def _verify_findings(store: Store, raw: Mapping[str, Any], where: str, label: str, referenced: set[str],
                     problems: list[VerifyProblem]) -> set[tuple[str, str]] | None:  # fmt: skip
    """(id, status) of each finding a manifest records, read inline or from its findings object (``label``)
    a finding at a time, adding the evidence they cite to ``referenced``; None after noting why they cannot
    be read."""
    recorded: set[tuple[str, str]] = set()
    cited: set[str] = set()
    try:
        for finding in store.manifest_findings(raw):
            recorded.add((finding["id"], finding["status"]))
            cited.update(ref["id"] for ref in finding.get("evidence") or ())
    except (StoreError, KeyError, TypeError) as exc:
        problems.append(VerifyProblem(path=label, message=f"{where}: findings are not as recorded: {exc}"))
        return None
    referenced.update(cited)
    return recorded


def _verify_index_findings(store: Store, seq: int, recorded: set[tuple[str, str]], where: str, digest: str,
                           problems: list[VerifyProblem]) -> None:  # fmt: skip
    indexed = store.indexed_findings(seq)
    if indexed != recorded:
        changed = sorted(indexed ^ recorded)[0]
        problems.append(VerifyProblem(path=store.index_name, message=f"{where}: indexed findings differ from "
                                      f"manifest {digest[:12]} (first: finding {changed[0]})",
                                      expected=f"{len(recorded)} findings as recorded",
                                      actual=f"{len(indexed)} in the index"))  # fmt: skip


def _verify_head(store: Store, rows: list[Any], problems: list[VerifyProblem], notes: list[str]) -> None:
    head = store.read_head()
    if head is None:
        if rows:
            notes.append("HEAD file is missing (a writer was interrupted after its commit)")
        return
    chain = [row[2] for row in rows]
    if head not in chain:
        problems.append(VerifyProblem(path="HEAD", message="HEAD names a scan that is not in the index "
                                      "(history truncated?)", expected=head,
                                      actual=chain[-1] if chain else None))  # fmt: skip
    elif head != chain[-1]:
        notes.append(f"HEAD lags the index ({head[:12]}): a writer was interrupted after its commit")


def _orphan_notes(
    store: Store, rows: list[Any], evidence_files: set[str], findings_objects: set[str]
) -> list[str]:
    notes: list[str] = []
    chained = {row[2] for row in rows}
    stray_findings = sorted(store.object_digests("findings") - findings_objects)
    if stray_findings:
        notes.append(f"{len(stray_findings)} findings object(s) no scan in the history names (interrupted "
                     f"scans), e.g. {store.object_label('findings', stray_findings[0])}")  # fmt: skip
    orphans = sorted(store.object_digests("manifests") - chained)
    if orphans:
        notes.append(f"{len(orphans)} manifest file(s) without an index row (interrupted scans, not part "
                     f"of the history), e.g. {store.object_label('manifests', orphans[0])}")  # fmt: skip
    stray_signatures = sorted(store.object_digests("attestations") - chained)
    if stray_signatures:
        notes.append(f"{len(stray_signatures)} signature(s) of manifests not in the history (interrupted "
                     f"scans), e.g. {store.object_label('attestations', stray_signatures[0])}")  # fmt: skip
    unindexed = sorted(evidence_files - store.indexed_evidence())
    if unindexed:
        notes.append(f"{len(unindexed)} evidence file(s) not in the index (interrupted writes)")
    notes.extend(store.leftover_notes())
    return notes


def _verify_evidence(store: Store, digest: str, referenced: bool, problems: list[VerifyProblem]) -> None:
    found = _evidence_problem(store.read_object("evidence", digest), digest, referenced)
    if found is not None:  # labelled only then: the label is a second lookup of a packed object
        message, expected, actual = found
        problems.append(VerifyProblem(path=store.object_label("evidence", digest), message=message,
                                      expected=expected, actual=actual))  # fmt: skip


def _evidence_problem(
    payload: bytes | None, digest: str, referenced: bool
) -> tuple[str, str | None, str | None] | None:
    """What is wrong with one evidence object (message, expected, actual), or None."""
    if payload is None:
        return ("evidence file cited by a scan is missing", None, None) if referenced else None
    actual = sha256_hex(payload)
    if actual != digest:
        return "evidence content does not match its digest (modified after recording)", digest, actual
    try:
        item = Evidence.from_dict(json.loads(payload))
    except (ValueError, EvidenceFormatError) as exc:
        return f"not an evidence item: {exc}", None, None
    if item.id != digest:
        return "evidence file is not in canonical form", digest, item.id
    return None
