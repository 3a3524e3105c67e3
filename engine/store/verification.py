"""``annexa verify``: recompute every digest and the chain, and name the first broken item."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from annexa.errors import EngineError
from annexa.evidence import Evidence, EvidenceFormatError, sha256_hex
from annexa.store.manifest import SCHEMA_VERSION, record_from_manifest

if TYPE_CHECKING:
    from annexa.store.directory import Store

_DIGEST: Final = re.compile(r"^[0-9a-f]{64}$")


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
    """Recompute every manifest digest, the chain, and the digest of every evidence file.

    With ``scan`` the chain is checked up to that scan and only its evidence is rehashed.
    """
    problems: list[VerifyProblem] = []
    notes: list[str] = []
    rows = store.connection.execute(
        "SELECT seq, scan_id, manifest, previous FROM scans ORDER BY seq"
    ).fetchall()
    if scan is not None:
        last_seq, _ = store.resolve(scan)
        rows = [row for row in rows if row[0] <= last_seq]
    referenced: set[str] = set()
    expected_previous: str | None = None
    for position, (seq, scan_id, digest, previous) in enumerate(rows, start=1):
        where = f"scan #{seq} {scan_id}"
        if seq != position:
            problems.append(VerifyProblem(path="index.sqlite", message=f"{where}: gap in the sequence "
                                          "(an index row was deleted?)", expected=str(position),
                                          actual=str(seq)))  # fmt: skip
        if previous != expected_previous:
            problems.append(VerifyProblem(path="index.sqlite", message=f"{where}: index link to the "
                                          "previous manifest is wrong", expected=expected_previous,
                                          actual=previous))  # fmt: skip
        raw = _verify_manifest(store, digest, where, problems)
        if raw is not None:
            _verify_links(store, raw, where, digest, seq, scan_id, expected_previous, problems)
            referenced.update(raw.get("evidence") or ())
            for finding in raw.get("findings") or ():
                referenced.update(ref["id"] for ref in finding.get("evidence") or ())
            _verify_index_findings(store, seq, raw, where, digest, problems)
        expected_previous = digest
    if scan is None:
        _verify_head(store, rows, problems, notes)
        evidence_files = _files(store, "evidence")
        notes.extend(_orphan_notes(store, rows, evidence_files))
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
    path = store.manifest_path(digest)
    rel = store.relative(path)
    try:
        payload = path.read_bytes()
    except OSError:
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
    except (ValueError, KeyError, TypeError, EngineError) as exc:
        problems.append(VerifyProblem(path=rel, message=f"{where}: manifest is not readable: {exc}"))
        return None
    return raw


def _verify_links(store: Store, raw: Mapping[str, Any], where: str, digest: str, seq: int, scan_id: str,
                  expected_previous: str | None, problems: list[VerifyProblem]) -> None:  # fmt: skip
    rel = store.relative(store.manifest_path(digest))
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


def _verify_index_findings(store: Store, seq: int, raw: Mapping[str, Any], where: str, digest: str,
                           problems: list[VerifyProblem]) -> None:  # fmt: skip
    indexed = {(r[0], r[1]) for r in store.connection.execute(
        "SELECT finding_id, status FROM findings WHERE scan_seq = ?", (seq,))}  # fmt: skip
    recorded = {(f["id"], f["status"]) for f in raw["findings"]}
    if indexed != recorded:
        changed = sorted(indexed ^ recorded)[0]
        problems.append(VerifyProblem(path="index.sqlite", message=f"{where}: indexed findings differ from "
                                      f"manifest {digest[:12]} (first: finding {changed[0]})",
                                      expected=f"{len(recorded)} findings as recorded",
                                      actual=f"{len(indexed)} in the index"))  # fmt: skip


def _verify_head(store: Store, rows: list[Any], problems: list[VerifyProblem], notes: list[str]) -> None:
    try:
        head = (store.root / "HEAD").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
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


def _files(store: Store, folder: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((store.root / folder).glob("*/*")):
        if _DIGEST.match(path.stem) and path.suffix == ".json":
            found[path.stem] = path
    return found


def _orphan_notes(store: Store, rows: list[Any], evidence_files: Mapping[str, Path]) -> list[str]:
    notes: list[str] = []
    chained = {row[2] for row in rows}
    orphans = sorted(set(_files(store, "manifests")) - chained)
    if orphans:
        notes.append(f"{len(orphans)} manifest file(s) without an index row (interrupted scans, not part "
                     f"of the history), e.g. {store.relative(store.manifest_path(orphans[0]))}")  # fmt: skip
    indexed = {row[0] for row in store.connection.execute("SELECT id FROM evidence")}
    unindexed = sorted(set(evidence_files) - indexed)
    if unindexed:
        notes.append(f"{len(unindexed)} evidence file(s) not in the index (interrupted writes)")
    temporary = sorted(p for p in store.root.glob("*/*/.*.tmp"))
    if temporary:
        notes.append(f"{len(temporary)} temporary file(s) left by interrupted writes, "
                     f"e.g. {store.relative(temporary[0])}")  # fmt: skip
    return notes


def _verify_evidence(store: Store, digest: str, referenced: bool, problems: list[VerifyProblem]) -> None:
    path = store.evidence_path(digest)
    rel = store.relative(path)
    try:
        payload = path.read_bytes()
    except OSError:
        if referenced:
            problems.append(VerifyProblem(path=rel, message="evidence file cited by a scan is missing"))
        return
    actual = sha256_hex(payload)
    if actual != digest:
        problems.append(VerifyProblem(path=rel, message="evidence content does not match its digest "
                                      "(modified after recording)", expected=digest,
                                      actual=actual))  # fmt: skip
        return
    try:
        item = Evidence.from_dict(json.loads(payload))
    except (ValueError, EvidenceFormatError) as exc:
        problems.append(VerifyProblem(path=rel, message=f"not an evidence item: {exc}"))
        return
    if item.id != digest:
        problems.append(VerifyProblem(path=rel, message="evidence file is not in canonical form",
                                      expected=digest, actual=item.id))  # fmt: skip
