"""The shared store: a PostgreSQL index and an evidence locker (S3 or a shared folder).

For several scanners writing one history (CI jobs, Dask clients, teams). The index has the tables of
the embedded store's SQLite index plus ``settings``, which remembers the locker the store was created
with, so every later client (``annexa verify --store postgresql://...``) finds the evidence from the
URL alone. ``record_scan`` takes a table lock that queues writers, so the chain stays linear; objects go
to the locker before the index row that makes them part of the history commits, so a writer killed at
any moment leaves orphans that verify notes, never a broken chain. Needs ``annexa[postgres]`` (psycopg 3).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

from annexa.model.evidence import Evidence, format_timestamp
from annexa.store.base import Attest, FindingRow, KnownItems, Store
from annexa.store.locker import DirectoryLocker
from annexa.store.manifest import ScanRecord, StoreError
from annexa.store.redaction import redact_for_storage

if TYPE_CHECKING:
    import psycopg

    from annexa.store.locker import Locker

# One advisory lock key (any constant) serialises creating the schema: CREATE TABLE IF NOT EXISTS
# races between two first clients in PostgreSQL.
_SCHEMA_LOCK: Final = 4242001
_CONNECT_TIMEOUT_S: Final = 10

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS scans (
        seq INTEGER PRIMARY KEY,
        scan_id TEXT NOT NULL UNIQUE,
        manifest TEXT NOT NULL UNIQUE,
        previous TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        rule_pack_digest TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS findings (
        scan_seq INTEGER NOT NULL REFERENCES scans(seq),
        finding_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        control_id TEXT NOT NULL,
        status TEXT NOT NULL,
        severity TEXT NOT NULL,
        subject TEXT,
        waived INTEGER NOT NULL,
        PRIMARY KEY (scan_seq, finding_id))""",
    """CREATE INDEX IF NOT EXISTS findings_by_id ON findings(finding_id)""",
    """CREATE TABLE IF NOT EXISTS evidence (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL, collected_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS scan_evidence (
        scan_seq INTEGER NOT NULL REFERENCES scans(seq),
        evidence_id TEXT NOT NULL,
        PRIMARY KEY (scan_seq, evidence_id))""",
)


# Where put_evidence stages its index rows: private to the session, emptied at each commit.
_EVIDENCE_STAGING: Final = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS evidence_staging (id TEXT NOT NULL, kind TEXT NOT NULL,"
    " source TEXT NOT NULL, collected_at TEXT NOT NULL) ON COMMIT DELETE ROWS"
)


# The findings of the scan being recorded, before its sequence number is known (Store._write_findings).
_FINDINGS_STAGING: Final = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS staged_findings (finding_id TEXT NOT NULL, rule_id TEXT NOT NULL,"
    " control_id TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL, subject TEXT,"
    " waived INTEGER NOT NULL)"
)


def redact_url(url: str) -> str:
    """The URL without its password: the location is printed, and credentials never are."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresStore(Store):
    """A store whose index is a PostgreSQL database and whose objects are in a locker."""

    index_name = "postgresql index"

    def __init__(self, url: str, connection: psycopg.Connection[Any], locker: Locker) -> None:
        self.location = redact_url(url)
        self.locker = locker
        self._db = connection
        self._known = KnownItems()  # stored by this object already: a scan stores its items twice

    @classmethod
    def open_url(cls, url: str, *, create: bool = True, evidence: str | None = None) -> PostgresStore:
        """Connect to the index at ``url``; ``evidence`` names the locker when the store is created.

        :raises StoreError: the server is unreachable, there is no store (``create=False``), or
            ``evidence`` differs from the locker the store was created with.
        """
        try:
            import psycopg
        except ImportError as exc:
            raise StoreError(
                f"a PostgreSQL store needs psycopg: pip install 'annexa[postgres]' ({exc})"
            ) from exc
        where = redact_url(url)
        try:
            connection = psycopg.connect(url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open store {where}: {_first_line(exc)}") from exc
        try:
            locker_location = _prepare(connection, where, create=create, evidence=evidence)
        except psycopg.Error as exc:
            connection.close()
            raise StoreError(f"cannot open store {where}: {_first_line(exc)}") from exc
        except StoreError:
            connection.close()
            raise
        return cls(url, connection, open_locker(locker_location))

    def close(self) -> None:
        self._db.close()

    # -- writes --------------------------------------------------------------------------------------

    def put_evidence(self, items: Iterable[Evidence]) -> tuple[Evidence, ...]:
        given, todo = self._known.new(items)
        kept = [redact_for_storage(item) for item in todo]
        stored = [item for item, _, _ in kept]
        self.locker.put_many("evidence", ((digest, payload) for _, digest, payload in kept))
        # One COPY into a session-private staging table, then one INSERT ... ON CONFLICT DO NOTHING: COPY
        # cannot skip the rows already indexed (an earlier scan's, or a concurrent writer's), the INSERT
        # can, and it takes the rows in one statement instead of one round of the protocol per row.
        with self._db.transaction(), self._db.cursor() as cursor:
            cursor.execute(_EVIDENCE_STAGING)
            with cursor.copy("COPY evidence_staging (id, kind, source, collected_at) FROM STDIN") as copy:
                for item in stored:
                    copy.write_row((item.id, item.kind, item.source, format_timestamp(item.collected_at)))
            cursor.execute(
                "INSERT INTO evidence(id, kind, source, collected_at)"
                " SELECT id, kind, source, collected_at FROM evidence_staging ON CONFLICT (id) DO NOTHING"
            )
        return self._known.stored(given, todo, stored)

    def record_scan(self, record: ScanRecord, *, attest: Attest | None = None) -> str:
        """Append a scan to the chain under a table lock that queues concurrent writers."""
        findings, referenced = self._write_findings(record)
        with self._db.transaction(), self._db.cursor() as db:
            # SHARE ROW EXCLUSIVE conflicts with itself, not with readers: writers queue, reads go on.
            db.execute("LOCK TABLE scans IN SHARE ROW EXCLUSIVE MODE")
            if db.execute("SELECT 1 FROM scans WHERE scan_id = %s", (record.scan_id,)).fetchone():
                raise StoreError(f"scan {record.scan_id} is already recorded")
            head = db.execute("SELECT seq, manifest FROM scans ORDER BY seq DESC LIMIT 1").fetchone()
            seq, previous = (1, None) if head is None else (head[0] + 1, head[1])
            digest = self._put_scan_objects(record, findings, sequence=seq, previous=previous, attest=attest)
            db.execute(
                "INSERT INTO scans(seq, scan_id, manifest, previous, started_at, finished_at,"
                " rule_pack_digest) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (seq, record.scan_id, digest, previous, format_timestamp(record.started_at),
                 format_timestamp(record.finished_at), record.rule_pack_digest),
            )  # fmt: skip
            duplicate = db.execute(
                "SELECT 1 FROM staged_findings GROUP BY finding_id HAVING COUNT(*) > 1 LIMIT 1"
            ).fetchone()
            if duplicate is not None:  # before the insert: a failed statement would abort the transaction
                raise self._duplicate_finding(record.scan_id)
            db.execute("INSERT INTO findings SELECT %s, * FROM staged_findings", (seq,))
            # COPY straight into the table: the scan row above took a new seq under the lock.
            with db.copy("COPY scan_evidence (scan_seq, evidence_id) FROM STDIN") as copy:
                for evidence_id in sorted(referenced):
                    copy.write_row((seq, evidence_id))
        self._write_head()
        return digest

    def _stage_findings(self, rows: list[FindingRow] | None) -> None:
        # A temporary table: private to this session, written outside the writers' lock.
        with self._db.transaction(), self._db.cursor() as cursor:
            if rows is None:
                cursor.execute(_FINDINGS_STAGING)
                cursor.execute("TRUNCATE staged_findings")
                return
            with cursor.copy("COPY staged_findings FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def _write_head(self) -> None:
        # Under the writers' lock, so concurrent writers cannot leave HEAD naming an older scan.
        with self._db.transaction(), self._db.cursor() as db:
            db.execute("LOCK TABLE scans IN SHARE ROW EXCLUSIVE MODE")
            row = db.execute("SELECT manifest FROM scans ORDER BY seq DESC LIMIT 1").fetchone()
            if row is not None:
                self.locker.put_head(str(row[0]))

    # -- primitives for verification ------------------------------------------------------------------

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql.replace("?", "%s"), params).fetchall())


def _prepare(connection: psycopg.Connection[Any], where: str, *, create: bool, evidence: str | None) -> str:
    """Create the schema if asked, check the locker setting, and return the locker's location."""
    with connection.transaction():
        exists = connection.execute("SELECT to_regclass('settings') IS NOT NULL").fetchone()
        if not (exists and exists[0]):
            if not create:
                raise StoreError(f"no annexa store at {where} (run `annexa scan` first, or pass --store)")
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            for statement in _SCHEMA:
                connection.execute(statement)
        row = connection.execute("SELECT value FROM settings WHERE key = 'evidence'").fetchone()
        if row is None:
            if evidence is None:
                raise StoreError(f"store {where} has no evidence locker yet: set store.evidence "
                                 "(s3://BUCKET/PREFIX or a folder) in the configuration")  # fmt: skip
            connection.execute(
                "INSERT INTO settings VALUES ('evidence', %s) ON CONFLICT (key) DO NOTHING", (evidence,)
            )
            row = connection.execute("SELECT value FROM settings WHERE key = 'evidence'").fetchone()
        if row is None:
            raise StoreError(f"store {where}: the evidence locker setting vanished while opening")
        recorded = str(row[0])
        if evidence is not None and evidence != recorded:
            raise StoreError(f"store {where} keeps its evidence in {recorded}, not {evidence}: one history "
                             "has one locker")  # fmt: skip
        return recorded


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def open_locker(location: str) -> Locker:
    """The locker at ``s3://bucket/prefix`` or in a folder (created if missing)."""
    if location.startswith("s3://"):
        from annexa.store.s3locker import S3Locker

        return S3Locker.open(location)
    root = Path(location)
    root.mkdir(parents=True, exist_ok=True)
    return DirectoryLocker(root)
