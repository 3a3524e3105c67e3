"""The store directory: content-addressed files plus the SQLite index, and the writes into them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from annexa.atomic import atomic_write_bytes
from annexa.evidence import Evidence, EvidenceFormatError, canonical_json, format_timestamp, sha256_hex
from annexa.findings import Status
from annexa.redaction import redact_evidence
from annexa.store.manifest import (
    ScanRecord,
    ScanSummary,
    StoredScan,
    StoreError,
    build_manifest,
    record_from_manifest,
)

if TYPE_CHECKING:
    from annexa.store.verification import VerifyReport

DEFAULT_STORE: Final = ".annexa"
_BUSY_TIMEOUT_S: Final = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    seq INTEGER PRIMARY KEY,            -- position in the chain, 1-based, set by record_scan
    scan_id TEXT NOT NULL UNIQUE,
    manifest TEXT NOT NULL UNIQUE,      -- SHA-256 of the manifest file
    previous TEXT,                      -- manifest digest of seq - 1 (NULL for the first scan)
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    rule_pack_digest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    scan_seq INTEGER NOT NULL REFERENCES scans(seq),
    finding_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    control_id TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    subject TEXT,
    waived INTEGER NOT NULL,
    PRIMARY KEY (scan_seq, finding_id)
);
CREATE INDEX IF NOT EXISTS findings_by_id ON findings(finding_id);
CREATE TABLE IF NOT EXISTS evidence (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    collected_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scan_evidence (
    scan_seq INTEGER NOT NULL REFERENCES scans(seq),
    evidence_id TEXT NOT NULL,
    PRIMARY KEY (scan_seq, evidence_id)
);
"""


class Store:
    """One store directory. Safe for several processes at once (SQLite locking, atomic renames)."""

    def __init__(self, root: Path, connection: sqlite3.Connection) -> None:
        self.root = root
        self._db = connection

    @classmethod
    def open(cls, path: str | Path = DEFAULT_STORE, *, create: bool = True) -> Store:
        root = Path(path)
        if not create and not (root / "index.sqlite").is_file():
            raise StoreError(f"no annexa store at {root} (run `annexa scan` first, or pass --store)")
        try:
            root.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so each transaction takes the
            # write lock up front and two writers can never both read the same chain head.
            connection = sqlite3.connect(root / "index.sqlite", timeout=_BUSY_TIMEOUT_S, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            store = cls(root, connection)
            if create:
                with store._transaction():
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            connection.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open store {root}: {exc}") from exc
        return store

    @property
    def connection(self) -> sqlite3.Connection:
        return self._db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- paths ---------------------------------------------------------------------------------------

    def evidence_path(self, digest: str) -> Path:
        return self.root / "evidence" / digest[:2] / f"{digest}.json"

    def manifest_path(self, digest: str) -> Path:
        return self.root / "manifests" / digest[:2] / f"{digest}.json"

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    # -- evidence ------------------------------------------------------------------------------------

    def put_evidence(self, items: Iterable[Evidence]) -> tuple[Evidence, ...]:
        """Store items (idempotent) after redacting secrets; returns the items exactly as stored.

        Evaluate over the returned items so that findings cite the ids of stored evidence; for items
        without secrets they are the inputs themselves.
        """
        stored = tuple(redact_evidence(item).evidence for item in items)
        for item in stored:
            path = self.evidence_path(item.id)
            if not path.exists():  # content-addressed: an existing file already holds these bytes
                atomic_write_bytes(path, item.canonical())
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO evidence(id, kind, source, collected_at) VALUES (?, ?, ?, ?)",
                [(i.id, i.kind, i.source, format_timestamp(i.collected_at)) for i in stored],
            )
        return stored

    def load_evidence(self, digest: str) -> Evidence:
        path = self.evidence_path(digest)
        try:
            payload = path.read_bytes()
        except OSError as exc:
            raise StoreError(f"evidence {digest} is not in the store ({self.relative(path)})") from exc
        actual = sha256_hex(payload)
        if actual != digest:
            raise StoreError(
                f"{self.relative(path)}: content digest is {actual}, expected {digest} (tampered?)"
            )
        try:
            return Evidence.from_dict(json.loads(payload))
        except (ValueError, EvidenceFormatError) as exc:
            raise StoreError(f"{self.relative(path)}: not an evidence item: {exc}") from exc

    def evidence_of(self, scan: StoredScan) -> tuple[Evidence, ...]:
        """The evidence a scan rested on, to re-evaluate it offline."""
        return tuple(self.load_evidence(digest) for digest in scan.record.evidence_ids)

    # -- scans ---------------------------------------------------------------------------------------

    def record_scan(self, record: ScanRecord) -> str:
        """Append a scan to the chain; returns its manifest digest.

        Read head, write manifest, insert rows: all under one ``BEGIN IMMEDIATE`` so concurrent writers
        queue up and the chain stays linear. The commit is the last step; a crash before it leaves an
        orphan manifest file and no trace in the history.
        """
        ids = [finding.id for finding in record.findings]
        if len(set(ids)) != len(ids):
            twice = next(f for f in record.findings if ids.count(f.id) > 1)
            # Drift and the index key findings by id (rule + subject); two verdicts on one subject by one
            # rule would make both ambiguous.
            raise StoreError(f"scan {record.scan_id} has two findings for rule {twice.rule_id} and subject "
                             f"{twice.subject!r}")  # fmt: skip
        referenced = set(record.evidence_ids)
        for finding in record.findings:
            referenced.update(ref.id for ref in finding.evidence)
        missing = sorted(d for d in referenced if not self.evidence_path(d).is_file())
        if missing:
            raise StoreError(
                f"scan {record.scan_id} cites {len(missing)} evidence item(s) not in the store, "
                f"first {missing[0]}; call put_evidence first"
            )
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM scans WHERE scan_id = ?", (record.scan_id,)).fetchone():
                raise StoreError(f"scan {record.scan_id} is already recorded")
            head = db.execute("SELECT seq, manifest FROM scans ORDER BY seq DESC LIMIT 1").fetchone()
            seq, previous = (1, None) if head is None else (head[0] + 1, head[1])
            payload = canonical_json(build_manifest(record, sequence=seq, previous=previous))
            digest = sha256_hex(payload)
            atomic_write_bytes(self.manifest_path(digest), payload)
            db.execute(
                "INSERT INTO scans(seq, scan_id, manifest, previous, started_at, finished_at,"
                " rule_pack_digest) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, record.scan_id, digest, previous, format_timestamp(record.started_at),
                 format_timestamp(record.finished_at), record.rule_pack_digest),
            )  # fmt: skip
            db.executemany(
                "INSERT OR REPLACE INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(seq, f.id, f.rule_id, f.control_id, f.status.value, f.severity.value, f.subject,
                  int(f.waived)) for f in record.findings],
            )  # fmt: skip
            db.executemany(
                "INSERT OR IGNORE INTO scan_evidence VALUES (?, ?)", [(seq, d) for d in sorted(referenced)]
            )
        self._write_head()
        return digest

    def _write_head(self) -> None:
        # Under the write lock, so concurrent writers cannot leave HEAD pointing at an older scan.
        with self._transaction() as db:
            row = db.execute("SELECT manifest FROM scans ORDER BY seq DESC LIMIT 1").fetchone()
            if row is not None:
                atomic_write_bytes(self.root / "HEAD", f"{row[0]}\n".encode())

    def scans(self) -> tuple[ScanSummary, ...]:
        """The history, oldest first."""
        rows = self._db.execute(
            "SELECT seq, scan_id, manifest, previous, started_at, finished_at FROM scans ORDER BY seq"
        ).fetchall()
        counts: dict[int, dict[str, int]] = {row[0]: {s.value: 0 for s in Status} for row in rows}
        for seq, status, number in self._db.execute(
            "SELECT scan_seq, status, COUNT(*) FROM findings GROUP BY scan_seq, status"
        ):
            counts.setdefault(seq, {})[status] = number
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
            back = int(back_text)
            row = self._db.execute(
                "SELECT seq, manifest FROM scans ORDER BY seq DESC LIMIT 1 OFFSET ?", (back,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no scan {reference!r}: the store has fewer scans")
            return int(row[0]), str(row[1])
        rows = self._db.execute(
            "SELECT seq, manifest FROM scans WHERE scan_id = ? OR manifest = ?"
            " OR scan_id LIKE ? ESCAPE '\\' OR manifest LIKE ? ESCAPE '\\'",
            (reference, reference, _like_prefix(reference), _like_prefix(reference)),
        ).fetchall()
        if not rows:
            raise StoreError(f"no scan matches {reference!r} (see `annexa history`)")
        if len(rows) > 1:
            raise StoreError(f"{reference!r} matches {len(rows)} scans; give more characters")
        return int(rows[0][0]), str(rows[0][1])

    def load_scan(self, reference: str = "latest") -> StoredScan:
        seq, digest = self.resolve(reference)
        raw = self._read_manifest(digest)
        return StoredScan(seq=seq, digest=digest, previous=raw["previous"], record=record_from_manifest(raw))

    def _read_manifest(self, digest: str) -> dict[str, Any]:
        path = self.manifest_path(digest)
        try:
            payload = path.read_bytes()
        except OSError as exc:
            raise StoreError(f"manifest {self.relative(path)} is missing") from exc
        actual = sha256_hex(payload)
        if actual != digest:
            raise StoreError(
                f"{self.relative(path)}: content digest is {actual}, expected {digest} (tampered?)"
            )
        raw: dict[str, Any] = json.loads(payload)
        return raw

    def verify(self, scan: str | None = None) -> VerifyReport:
        """Recompute every manifest digest, the chain, and the digest of every evidence file.

        With ``scan`` the chain is checked up to that scan and only its evidence is rehashed. Orphans
        left by interrupted writes are notes, not problems.
        """
        from annexa.store.verification import verify_store

        return verify_store(self, scan)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
