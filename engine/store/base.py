"""The store interface every backend implements, and opening a store by its location.

A store is two things: an **index** that orders scans into a hash chain and finds them (SQLite in the
embedded directory store, PostgreSQL in the shared store), and a **locker** of content-addressed objects
(evidence items and scan manifests, named by their SHA-256) plus a ``HEAD`` witness of the newest scan
(files in the directory store; files or S3 objects in the shared store). The commands use only the
public methods of :class:`Store`; :mod:`annexa.store.verification` uses the primitives below it, so
``annexa verify`` checks every backend the same way.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from annexa.model.evidence import Evidence, EvidenceFormatError, canonical_json, sha256_hex
from annexa.model.findings import WAIVABLE, Finding, IndexedPair, Status
from annexa.store.locker import Area
from annexa.store.manifest import (
    FindingsObject,
    ScanRecord,
    ScanSummary,
    StoredScan,
    StoreError,
    build_manifest,
    findings_chunks,
    findings_object_of,
    parse_findings,
    record_from_manifest,
)

if TYPE_CHECKING:
    from annexa.store.locker import Locker

DEFAULT_STORE: Final = ".annexa"
# A finding's row in the index: id, rule, control, status, severity, subject, waived.
FindingRow = tuple[str, str, str, str, str, str | None, int]
_STAGED_AT_ONCE: Final = 10_000  # index rows staged per round trip
# A finding's effective status in SQL over the index's columns (table alias ``t``), as
# annexa.model.findings.effective_status gives it: a waived failure, error or inconclusive passes.
_EFFECTIVE: Final = (
    "(CASE WHEN {t}.waived = 1 AND {t}.status IN ("
    + ", ".join(f"'{status.value}'" for status in WAIVABLE)
    + ") THEN 'pass' ELSE {t}.status END)"
)
# Signs a manifest about to be recorded: (manifest digest, manifest, its findings as manifest dicts) -> the
# attestation's bytes.
Attest = Callable[[str, dict[str, Any], Iterable[Mapping[str, Any]]], bytes]
SHARED_SCHEMES: Final = ("postgresql://", "postgres://")


class Store(abc.ABC):
    """A tamper-evident evidence store and scan history; safe for several writers at once."""

    #: Where the store is, as ``--store`` and the configuration name it (a folder or a URL).
    location: str
    #: How verify names the index in its problems (``index.sqlite`` for a directory store).
    index_name: str
    #: The items this store object stored unchanged (see :meth:`hold_stored`).
    _known: KnownItems

    # -- the interface the commands use ---------------------------------------------------------------

    @abc.abstractmethod
    def put_evidence(self, items: Iterable[Evidence]) -> tuple[Evidence, ...]:
        """Store items (idempotent) after redacting secrets; returns the items exactly as stored.

        Evaluate over the returned items so that findings cite the ids of stored evidence.
        """

    def hold_stored(self, hold: bool) -> None:
        """Whether this store object remembers the items it stored unchanged, so that storing the same
        objects again costs nothing (:class:`KnownItems`; on by default)."""
        self._known.holding = hold

    @abc.abstractmethod
    def record_scan(self, record: ScanRecord, *, attest: Attest | None = None) -> str:
        """Append a scan to the chain; returns its manifest digest. Concurrent writers queue up.

        The findings go first to an object of their own, written a finding at a time, which the manifest
        names by digest (:mod:`annexa.store.manifest`).
        ``attest(digest, manifest, findings)`` returns the bytes that sign the manifest (a DSSE envelope, see
        :mod:`annexa.trust`); they are stored under ``attestations/`` before the scan's index row commits,
        so a recorded scan is never left unsigned by a crash.
        """

    def scans(self) -> tuple[ScanSummary, ...]:
        """The history, oldest first."""
        rows = self.query(
            "SELECT seq, scan_id, manifest, previous, started_at, finished_at FROM scans ORDER BY seq"
        )
        counts: dict[int, dict[str, int]] = {row[0]: {s.value: 0 for s in Status} for row in rows}
        for seq, status, number in self.query(
            "SELECT scan_seq, status, COUNT(*) FROM findings GROUP BY scan_seq, status"
        ):
            counts.setdefault(seq, {})[status] = int(number)
        return tuple(
            ScanSummary(seq=r[0], scan_id=r[1], digest=r[2], previous=r[3], started_at=r[4], finished_at=r[5],
                        counts=counts.get(r[0], {}))
            for r in rows
        )  # fmt: skip

    def resolve(self, reference: str = "latest") -> tuple[int, str]:
        """``latest``, ``latest~N`` (N scans before latest), a scan id, a manifest digest, or a prefix."""
        if reference == "latest" or reference.startswith("latest~"):
            back_text = reference.removeprefix("latest").removeprefix("~") or "0"
            if not back_text.isdigit():
                raise StoreError(f"bad scan reference {reference!r}: write latest or latest~N (N >= 0)")
            rows = self.query(
                "SELECT seq, manifest FROM scans ORDER BY seq DESC LIMIT 1 OFFSET ?", (int(back_text),)
            )
            if not rows:
                raise StoreError(f"no scan {reference!r}: the store has fewer scans")
            return int(rows[0][0]), str(rows[0][1])
        prefix = like_prefix(reference)
        rows = self.query(
            "SELECT seq, manifest FROM scans WHERE scan_id = ? OR manifest = ?"
            " OR scan_id LIKE ? ESCAPE '\\' OR manifest LIKE ? ESCAPE '\\'",
            (reference, reference, prefix, prefix),
        )
        if not rows:
            raise StoreError(f"no scan matches {reference!r} (see `annexa history`)")
        if len(rows) > 1:
            raise StoreError(f"{reference!r} matches {len(rows)} scans; give more characters")
        return int(rows[0][0]), str(rows[0][1])

    @abc.abstractmethod
    def close(self) -> None: ...

    def load_evidence(self, digest: str) -> Evidence:
        # The object's label only for an error: finding it is a second lookup of a packed object.
        payload = self._verified_object("evidence", digest, "evidence {digest} is not in the store ({label})")
        try:
            return Evidence.from_dict(json.loads(payload))
        except (ValueError, EvidenceFormatError) as exc:
            raise StoreError(f"{self.object_label('evidence', digest)}: not an evidence item: {exc}") from exc

    def evidence_of(self, scan: StoredScan) -> tuple[Evidence, ...]:
        """The evidence a scan rested on, to re-evaluate it offline."""
        return tuple(self.load_evidence(digest) for digest in scan.record.evidence_ids)

    def load_scan(self, reference: str = "latest", *, findings: bool = True) -> StoredScan:
        """A recorded scan; without ``findings`` its record holds none (an empty tuple), for what reads
        only the rest (its evidence, collection, controls), which a scan of millions of findings spares
        reading them."""
        seq, digest = self.resolve(reference)
        raw = self.read_manifest(digest)
        record = record_from_manifest(raw, self.manifest_findings(raw) if findings else ())
        return StoredScan(seq=seq, digest=digest, previous=raw["previous"], record=record)

    def manifest_findings(self, raw: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """A manifest's findings as dicts, one at a time: inline in a version-1 manifest, else read from its
        findings object without holding it. The object is checked as it is read: after its last finding
        comes a :class:`StoreError` unless its bytes hash to the digest the manifest names and it holds as
        many findings as the manifest says (so act on what comes only once the iteration has ended)."""
        named = findings_object_of(raw)
        if named is None:
            yield from raw["findings"]
            return
        label = self.object_label("findings", named.sha256)
        handle = self.locker.open_stream("findings", named.sha256)
        if handle is None:
            raise StoreError(f"findings of scan {raw.get('scan_id')} are missing ({label})")
        digest, count = hashlib.sha256(), 0

        def read(size: int) -> bytes:
            try:
                chunk = handle.read(size)
            except OSError as exc:
                raise StoreError(f"cannot read {label}: {exc}") from exc
            digest.update(chunk)
            return chunk

        with contextlib.closing(handle):
            for finding in parse_findings(read, label):
                count += 1
                yield finding
        if digest.hexdigest() != named.sha256:
            raise StoreError(f"{label}: content digest is {digest.hexdigest()}, expected {named.sha256} "
                             "(tampered?)")  # fmt: skip
        if count != named.count:
            raise StoreError(f"{label}: holds {count} findings, the manifest says {named.count}")

    def read_manifest(self, digest: str) -> dict[str, Any]:
        payload = self._verified_object("manifests", digest, "manifest {label} is missing")
        raw: dict[str, Any] = json.loads(payload)
        return raw

    def _verified_object(self, area: Area, digest: str, missing: str) -> bytes:
        """The object's bytes, refused unless they hash to ``digest``; ``missing`` (a format string of
        ``digest`` and ``label``) when there are none."""
        payload = self.read_object(area, digest)
        if payload is None:
            raise StoreError(missing.format(digest=digest, label=self.object_label(area, digest)))
        actual = sha256_hex(payload)
        if actual != digest:
            label = self.object_label(area, digest)
            raise StoreError(f"{label}: content digest is {actual}, expected {digest} (tampered?)")
        return payload

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- recording a scan: the parts every backend shares -------------------------------------------

    def _write_findings(self, record: ScanRecord) -> tuple[FindingsObject, set[str]]:
        """Write the findings object and stage the findings' index rows (:meth:`_stage_findings`), in one
        pass over them, never holding their text; returns the object and every evidence digest the scan
        cites (its evidence and what its findings cite). Refuses a record citing evidence not in the store.
        """
        evidence = frozenset(record.evidence_ids)
        beyond: set[str] = set()  # cited by a finding, not among the scan's evidence (not expected)
        rows: list[FindingRow] = []
        count = 0

        def seen(finding: Finding) -> None:
            nonlocal count
            count += 1
            rows.append((finding.id, finding.rule_id, finding.control_id, finding.status.value,
                         finding.severity.value, finding.subject, int(finding.waived)))  # fmt: skip
            if len(rows) == _STAGED_AT_ONCE:
                self._stage_findings(rows)
                rows.clear()
            beyond.update(ref.id for ref in finding.evidence if ref.id not in evidence)

        self._stage_findings(None)
        findings_digest, _ = self.locker.put_stream("findings", findings_chunks(record.findings, seen))
        self._stage_findings(rows)
        referenced = set(evidence) | beyond
        missing = sorted(d for d in referenced if not self.has_object("evidence", d))
        if missing:
            raise StoreError(
                f"scan {record.scan_id} cites {len(missing)} evidence item(s) not in the store, "
                f"first {missing[0]}; call put_evidence first"
            )
        return FindingsObject(sha256=findings_digest, count=count), referenced

    @abc.abstractmethod
    def _stage_findings(self, rows: list[FindingRow] | None) -> None:
        """Add rows to this connection's private table of findings to index (None: empty it first), from
        which the scan's transaction copies them (:meth:`_duplicate_finding` when two share an id)."""

    def _duplicate_finding(self, scan_id: str) -> StoreError:
        """The error for a record with two findings of one id among the staged rows."""
        rows = self.query(
            "SELECT rule_id, subject FROM staged_findings GROUP BY finding_id, rule_id, subject"
            " HAVING COUNT(*) > 1 LIMIT 1"
        )
        rule, subject = rows[0] if rows else ("?", "?")
        # Drift and the index key findings by id (rule + subject); two verdicts on one subject by one rule
        # would make both ambiguous.
        return StoreError(f"scan {scan_id} has two findings for rule {rule} and subject {subject!r}")

    def _put_scan_objects(
        self, record: ScanRecord, findings: FindingsObject, *, sequence: int, previous: str | None,
        attest: Attest | None,
    ) -> str:  # fmt: skip
        """Write a scan's manifest and attestation (after its findings object, so that whatever names an
        object comes after it); returns the manifest's digest. The caller indexes the scan."""
        manifest = build_manifest(record, sequence=sequence, previous=previous, findings=findings)
        payload = canonical_json(manifest)
        digest = sha256_hex(payload)
        self.locker.put("manifests", digest, payload)
        if attest is not None:  # signs the findings as stored, read back
            self.locker.put(
                "attestations", digest, attest(digest, manifest, self.manifest_findings(manifest))
            )
        return digest

    # -- primitives for verification ----------------------------------------------------------------

    @abc.abstractmethod
    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read from the index; ``sql`` marks parameters with ``?`` whatever the database."""

    def chain_rows(self) -> list[tuple[int, str, str, str | None]]:
        """Every indexed scan as (seq, scan_id, manifest digest, previous digest), by seq."""
        rows = self.query("SELECT seq, scan_id, manifest, previous FROM scans ORDER BY seq")
        return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]

    def indexed_findings(self, seq: int) -> set[tuple[str, str]]:
        """(finding id, status) of every finding the index holds for scan ``seq``."""
        rows = self.query("SELECT finding_id, status FROM findings WHERE scan_seq = ?", (seq,))
        return {(str(r[0]), str(r[1])) for r in rows}

    def drift_pairs(self, old_seq: int, new_seq: int) -> tuple[list[IndexedPair], int]:
        """The index's rows of the findings of scans ``old_seq`` and ``new_seq`` that may have changed
        between them, paired by finding id (what :func:`annexa.audit.drift.compare_indexed` takes), and the
        number of those that cannot have: in both scans with one effective status that is not a failure.
        Only the changes leave the database, so two scans of millions of findings compare in little memory.
        """
        old, new = _EFFECTIVE.format(t="o"), _EFFECTIVE.format(t="n")
        same = f"{old} = {new} AND {new} <> 'fail'"
        unchanged = self.query(
            "SELECT COUNT(*) FROM findings n JOIN findings o"
            f" ON o.scan_seq = ? AND o.finding_id = n.finding_id WHERE n.scan_seq = ? AND {same}",
            (old_seq, new_seq),
        )[0][0]
        present = self.query(
            "SELECT n.finding_id, n.rule_id, n.control_id, n.subject, o.status, o.waived, n.status, n.waived"
            " FROM findings n LEFT JOIN findings o ON o.scan_seq = ? AND o.finding_id = n.finding_id"
            f" WHERE n.scan_seq = ? AND NOT (o.finding_id IS NOT NULL AND {same})",
            (old_seq, new_seq),
        )
        vanished = self.query(
            "SELECT o.finding_id, o.rule_id, o.control_id, o.subject, o.status, o.waived FROM findings o"
            " WHERE o.scan_seq = ? AND NOT EXISTS"
            " (SELECT 1 FROM findings n WHERE n.scan_seq = ? AND n.finding_id = o.finding_id)",
            (old_seq, new_seq),
        )
        pairs: list[IndexedPair] = [tuple(row) for row in present]
        pairs.extend((*row, None, None) for row in vanished)
        return pairs, int(unchanged)

    def indexed_evidence(self) -> set[str]:
        """Digests of every evidence item the index knows."""
        return {str(row[0]) for row in self.query("SELECT id FROM evidence")}

    # The locker holds the content-addressed objects and HEAD; each backend sets it when it opens.
    locker: Locker

    def read_object(self, area: Area, digest: str) -> bytes | None:
        """The stored bytes of one object, or None when there is none."""
        return self.locker.get(area, digest)

    def has_object(self, area: Area, digest: str) -> bool:
        return self.locker.exists(area, digest)

    def object_label(self, area: Area, digest: str) -> str:
        """How problems name one object (a path relative to the store, or a URL)."""
        return self.locker.label(area, digest)

    def object_digests(self, area: Area) -> set[str]:
        """Digests of every object in one area of the locker, indexed or not."""
        return self.locker.digests(area)

    def read_attestation(self, digest: str) -> bytes | None:
        """The attestation (DSSE envelope) signing manifest ``digest``, or None: an unsigned scan."""
        return self.locker.get("attestations", digest)

    def read_head(self) -> str | None:
        """The manifest digest ``HEAD`` names, or None when there is no HEAD."""
        return self.locker.get_head()

    def leftover_notes(self) -> list[str]:
        """Notes on the locker itself: debris of interrupted writes, retention."""
        return self.locker.notes()

    def locker_damage(self) -> list[tuple[str, str]]:
        """(label, what is wrong) for each damaged container of objects in the locker (a pack)."""
        return self.locker.damage()


class KnownItems:
    """The evidence items one store object has stored unchanged (nothing to redact), by identity.

    A scan stores each task's items as they arrive and then the whole collection again, the same objects:
    the second call need not serialise, hash and look for secrets in each again. Holding the item keeps
    its ``id()`` from being reused; a store object lives as long as its command.
    """

    def __init__(self) -> None:
        self._items: dict[int, Evidence] = {}
        # Off for a scan that stores each item once and holds none (annexa scan --stream): remembering them
        # would hold every item here.
        self.holding = True

    def new(self, items: Iterable[Evidence]) -> tuple[tuple[Evidence, ...], list[Evidence]]:
        """All of ``items``, and those of them not stored unchanged before (the ones to store)."""
        given = tuple(items)
        return given, [item for item in given if self._items.get(id(item)) is not item]

    def stored(
        self, given: tuple[Evidence, ...], todo: list[Evidence], kept: list[Evidence]
    ) -> tuple[Evidence, ...]:
        """Remember the ``todo`` items stored as ``kept`` (after their barrier and index commit); returns
        ``given`` as stored, in order."""
        as_stored: dict[int, Evidence] = {}
        for item, stored in zip(todo, kept, strict=True):
            as_stored[id(item)] = stored
            if stored is item and self.holding:
                self._items[id(item)] = item
        return tuple(as_stored.get(id(item), item) for item in given)


def like_prefix(text: str) -> str:
    """A LIKE pattern for "starts with ``text``" (escape character ``\\``), for scan references."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
