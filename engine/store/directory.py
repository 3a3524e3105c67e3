"""The embedded store: content-addressed files in a directory plus the SQLite index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from annexa.model.evidence import Evidence, format_timestamp
from annexa.store.base import DEFAULT_STORE, Attest, FindingRow, KnownItems, Store
from annexa.store.locker import DirectoryLocker
from annexa.store.manifest import ScanRecord, StoreError
from annexa.store.redaction import redact_for_storage

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


# The findings of the scan being recorded, before its sequence number is known (Store._write_findings).
_STAGING: Final = """CREATE TEMP TABLE IF NOT EXISTS staged_findings (finding_id TEXT NOT NULL,
    rule_id TEXT NOT NULL, control_id TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL,
    subject TEXT, waived INTEGER NOT NULL)"""


class DirectoryStore(Store):
    """One store directory. Safe for several processes at once (SQLite locking, atomic renames)."""

    index_name = "index.sqlite"

    def __init__(self, root: Path, connection: sqlite3.Connection) -> None:
        self.root = root
        self.location = str(root)
        self.locker = DirectoryLocker(root)
        self._db = connection
        self._known = KnownItems()  # stored by this object already: a scan stores its items twice

    @classmethod
    def open(  # a folder only: annexa.store.open_store is the one that dispatches on URLs
        cls, path: str | Path = DEFAULT_STORE, *, create: bool = True
    ) -> DirectoryStore:
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

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- evidence ------------------------------------------------------------------------------------

    def put_evidence(self, items: Iterable[Evidence]) -> tuple[Evidence, ...]:
        """Store items (idempotent) after redacting secrets; returns the items exactly as stored.

        Evaluate over the returned items so that findings cite the ids of stored evidence; for items
        without secrets they are the inputs themselves.
        """
        given, todo = self._known.new(items)
        kept = [redact_for_storage(item) for item in todo]
        # Content-addressed, written once, in batches made durable together before the index names them.
        self.locker.put_many("evidence", ((digest, payload) for _, digest, payload in kept))
        # In id order: inserting into the primary key's B-tree in order took half the time (100,000 rows).
        rows = sorted((digest, i.kind, i.source, format_timestamp(i.collected_at)) for i, digest, _ in kept)
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO evidence(id, kind, source, collected_at) VALUES (?, ?, ?, ?)", rows
            )
        return self._known.stored(given, todo, [item for item, _, _ in kept])

    # -- scans ---------------------------------------------------------------------------------------

    def record_scan(self, record: ScanRecord, *, attest: Attest | None = None) -> str:
        """Append a scan to the chain; returns its manifest digest.

        The findings object is written first, its index rows staged (:meth:`Store._write_findings`); then
        read head, write manifest, insert rows: all under one ``BEGIN IMMEDIATE`` so concurrent writers
        queue up and the chain stays linear. The commit is the last step; a crash before it leaves an
        orphan findings object or manifest file and no trace in the history.
        """
        findings, referenced = self._write_findings(record)
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM scans WHERE scan_id = ?", (record.scan_id,)).fetchone():
                raise StoreError(f"scan {record.scan_id} is already recorded")
            head = db.execute("SELECT seq, manifest FROM scans ORDER BY seq DESC LIMIT 1").fetchone()
            seq, previous = (1, None) if head is None else (head[0] + 1, head[1])
            digest = self._put_scan_objects(record, findings, sequence=seq, previous=previous, attest=attest)
            db.execute(
                "INSERT INTO scans(seq, scan_id, manifest, previous, started_at, finished_at,"
                " rule_pack_digest) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, record.scan_id, digest, previous, format_timestamp(record.started_at),
                 format_timestamp(record.finished_at), record.rule_pack_digest),
            )  # fmt: skip
            try:
                db.execute("INSERT INTO findings SELECT ?, * FROM staged_findings", (seq,))
            except sqlite3.IntegrityError:
                raise self._duplicate_finding(record.scan_id) from None
            db.executemany(
                "INSERT OR IGNORE INTO scan_evidence VALUES (?, ?)", [(seq, d) for d in sorted(referenced)]
            )
        self._write_head()
        return digest

    def _stage_findings(self, rows: list[FindingRow] | None) -> None:
        # A temporary table: private to this connection, written without the database's write lock.
        if rows is None:
            self._db.execute(_STAGING)
            self._db.execute("DELETE FROM staged_findings")
        elif rows:
            self._db.execute("BEGIN")  # the batch in one transaction (it locks only the temporary database)
            self._db.executemany("INSERT INTO staged_findings VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def _write_head(self) -> None:
        # Under the write lock, so concurrent writers cannot leave HEAD pointing at an older scan.
        with self._transaction() as db:
            row = db.execute("SELECT manifest FROM scans ORDER BY seq DESC LIMIT 1").fetchone()
            if row is not None:
                self.locker.put_head(str(row[0]))

    # -- primitives for verification ------------------------------------------------------------------

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        return list(self._db.execute(sql, params).fetchall())
