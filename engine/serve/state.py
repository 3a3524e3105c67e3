"""What the dashboard itself keeps beside the store: tokens, sessions, the audit log and the few writes.

Scans never read any of it, and nothing here can change a finding or an evidence item: those stay in the
store's hash chain. The tables live where the store is: ``serve.sqlite`` in a directory store's folder,
or tables named ``serve_*`` in a PostgreSQL store's database, so several dashboard processes behind one
PostgreSQL store share them.

Secrets are kept only as SHA-256 digests: an API token is 256 random bits (so a plain, fast digest is
enough; a slow password hash protects low-entropy secrets), and so is a session id. The audit log is
append-only and chained: each entry's digest covers the one before it, like the scan manifests.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from annexa.model.evidence import canonical_json, format_timestamp, parse_timestamp, sha256_hex
from annexa.serve.roles import Role
from annexa.store import StoreError

TOKEN_PREFIX: Final = "annexa_"
SESSION_LIFETIME: Final = timedelta(hours=8)
STATE_FILE: Final = "serve.sqlite"

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS serve_tokens (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, digest TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL, revoked_at TEXT)""",
    """CREATE TABLE IF NOT EXISTS serve_sessions (
        digest TEXT PRIMARY KEY, token_id TEXT NOT NULL, created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS serve_audit (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL, previous TEXT,
        digest TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS serve_actions (
        nc_id TEXT PRIMARY KEY, rule TEXT NOT NULL, subject TEXT, owner TEXT NOT NULL, due TEXT NOT NULL,
        notes TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS serve_exceptions (
        id TEXT PRIMARY KEY, rule TEXT NOT NULL, subject TEXT, justification TEXT NOT NULL,
        approver TEXT NOT NULL, expires TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at TEXT NOT NULL,
        state TEXT NOT NULL, decided_by TEXT, decided_at TEXT)""",
)
# One advisory lock key serialises appends to the audit chain in PostgreSQL (any constant).
_AUDIT_LOCK: Final = 4242020


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who is asking: the token's name is the person or system in the audit log."""

    name: str
    role: Role
    token_id: str | None  # None: --no-auth


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectiveAction:
    nc_id: str
    rule: str
    subject: str | None
    owner: str
    due: date
    notes: str
    updated_at: str
    updated_by: str

    def to_dict(self) -> dict[str, Any]:
        return {"owner": self.owner, "due": self.due.isoformat(), "notes": self.notes,
                "updated_at": self.updated_at, "updated_by": self.updated_by}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class ExceptionRequest:
    id: str
    rule: str
    subject: str | None
    justification: str
    approver: str
    expires: date
    requested_by: str
    requested_at: str
    state: str  # requested, approved, rejected
    decided_by: str | None
    decided_at: str | None

    @property
    def control(self) -> str:
        return self.rule.split("/", 1)[0]

    def in_force(self, on: date) -> bool:
        return self.state == "approved" and on <= self.expires

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "rule": self.rule, "control": self.control, "subject": self.subject,
            "justification": self.justification, "approver": self.approver,
            "expires": self.expires.isoformat(), "requested_by": self.requested_by,
            "requested_at": self.requested_at, "state": self.state, "decided_by": self.decided_by,
            "decided_at": self.decided_at,
        }  # fmt: skip


def now_utc() -> datetime:
    return datetime.now(UTC)


def digest_secret(secret: str) -> str:
    return sha256_hex(secret.encode("utf-8"))


class ServeState:
    """The dashboard's tables, in SQLite (directory store) or PostgreSQL (shared store)."""

    def __init__(self, connection: Any, *, postgres: bool) -> None:
        self._db = connection
        self._postgres = postgres
        self._lock = threading.Lock()
        self._ensure_schema()

    @classmethod
    def open(cls, location: str) -> ServeState:
        """The state beside the store at ``location`` (a folder, or the store's postgresql:// URL)."""
        if location.startswith(("postgresql://", "postgres://")):
            import psycopg

            try:
                connection = psycopg.connect(location, autocommit=True, connect_timeout=10)
            except psycopg.Error as exc:
                raise StoreError(f"cannot open the dashboard's tables: {str(exc).strip()[:200]}") from exc
            return cls(connection, postgres=True)
        root = Path(location)
        if not (root / "index.sqlite").is_file():
            raise StoreError(f"no annexa store at {root} (run `annexa scan` first, or pass --store)")
        lite = sqlite3.connect(root / STATE_FILE, timeout=30, isolation_level=None, check_same_thread=False)
        lite.execute("PRAGMA journal_mode=WAL")
        return cls(lite, postgres=False)

    def close(self) -> None:
        self._db.close()

    # -- plumbing ------------------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        if self._postgres:
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_AUDIT_LOCK,))
                for statement in _SCHEMA:
                    self._db.execute(statement)
        else:
            for statement in _SCHEMA:
                self._db.execute(statement)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._postgres:
                return list(self._db.execute(sql.replace("?", "%s"), params).fetchall())
            return list(self._db.execute(sql, params).fetchall())

    def _write(self, statements: list[tuple[str, tuple[Any, ...]]], audit: Mapping[str, Any] | None) -> None:
        """Run the statements and append ``audit`` to the log, in one transaction."""
        with self._lock:
            if self._postgres:
                with self._db.transaction():
                    self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_AUDIT_LOCK,))
                    for sql, params in statements:
                        self._db.execute(sql.replace("?", "%s"), params)
                    if audit is not None:
                        self._append_audit(audit)
            else:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params in statements:
                        self._db.execute(sql, params)
                    if audit is not None:
                        self._append_audit(audit)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")

    def _execute(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        cursor = self._db.execute(sql.replace("?", "%s") if self._postgres else sql, params)
        return list(cursor.fetchall()) if cursor.description else []

    def _append_audit(self, entry: Mapping[str, Any]) -> None:
        head = self._execute("SELECT seq, digest FROM serve_audit ORDER BY seq DESC LIMIT 1", ())
        seq, previous = (1, None) if not head else (int(head[0][0]) + 1, str(head[0][1]))
        body = {**entry, "seq": seq, "previous": previous}
        digest = sha256_hex(canonical_json(body))
        self._execute(
            "INSERT INTO serve_audit(seq, at, actor, role, action, target, detail, previous, digest)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, entry["at"], entry["actor"], entry["role"], entry["action"], entry["target"],
             json.dumps(entry["detail"], sort_keys=True), previous, digest),
        )  # fmt: skip

    @staticmethod
    def _audit(who: Principal, action: str, target: str, detail: Mapping[str, Any]) -> dict[str, Any]:
        return {"at": format_timestamp(now_utc()), "actor": who.name, "role": who.role.value,
                "action": action, "target": target, "detail": dict(detail)}  # fmt: skip

    def log(self, who: Principal, action: str, target: str, detail: Mapping[str, Any]) -> None:
        """Append a read worth recording (an export) to the audit log."""
        self._write([], self._audit(who, action, target, detail))

    def version(self) -> int:
        """Grows with every write: what caches of derived pages key on."""
        rows = self._rows("SELECT MAX(seq) FROM serve_audit")
        return int(rows[0][0] or 0)

    # -- tokens and sessions -------------------------------------------------------------------------

    def create_token(self, name: str, role: Role, *, by: str = "annexa serve token create") -> str:
        """A new API token for ``name``; the token is returned once and only its digest is kept."""
        if self._rows("SELECT 1 FROM serve_tokens WHERE name = ?", (name,)):
            raise StoreError(f"a token named {name!r} exists already (names are who the audit log names)")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(8)
        who = Principal(name=by, role=Role.ADMIN, token_id=None)
        self._write(
            [("INSERT INTO serve_tokens(id, name, role, digest, created_at) VALUES (?, ?, ?, ?, ?)",
              (token_id, name, role.value, digest_secret(token), format_timestamp(now_utc())))],
            self._audit(who, "token.create", f"token:{name}", {"role": role.value}),
        )  # fmt: skip
        return token

    def tokens(self) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT id, name, role, created_at, revoked_at FROM serve_tokens ORDER BY created_at"
        )
        return [
            dict(zip(("id", "name", "role", "created_at", "revoked_at"), row, strict=True)) for row in rows
        ]

    def revoke_token(self, name: str, who: Principal) -> None:
        if not self._rows("SELECT 1 FROM serve_tokens WHERE name = ? AND revoked_at IS NULL", (name,)):
            raise KeyError(name)
        self._write(
            [("UPDATE serve_tokens SET revoked_at = ? WHERE name = ?", (format_timestamp(now_utc()), name)),
             ("DELETE FROM serve_sessions WHERE token_id IN (SELECT id FROM serve_tokens WHERE name = ?)",
              (name,))],
            self._audit(who, "token.revoke", f"token:{name}", {}),
        )  # fmt: skip

    def principal_of_token(self, token: str) -> Principal | None:
        rows = self._rows(
            "SELECT id, name, role FROM serve_tokens WHERE digest = ? AND revoked_at IS NULL",
            (digest_secret(token),),
        )
        if not rows:
            return None
        token_id, name, role = rows[0]
        return Principal(name=str(name), role=Role(role), token_id=str(token_id))

    def open_session(self, principal: Principal) -> str:
        """A new session id for a logged-in token (kept as a digest); login is audited."""
        assert principal.token_id is not None
        session = secrets.token_urlsafe(32)
        moment = now_utc()
        self._write(
            [("DELETE FROM serve_sessions WHERE expires_at < ?", (format_timestamp(moment),)),
             ("INSERT INTO serve_sessions(digest, token_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
              (digest_secret(session), principal.token_id, format_timestamp(moment),
               format_timestamp(moment + SESSION_LIFETIME)))],
            self._audit(principal, "session.login", f"token:{principal.name}", {}),
        )  # fmt: skip
        return session

    def principal_of_session(self, session: str) -> Principal | None:
        rows = self._rows(
            "SELECT t.id, t.name, t.role, s.expires_at FROM serve_sessions s JOIN serve_tokens t"
            " ON t.id = s.token_id WHERE s.digest = ? AND t.revoked_at IS NULL",
            (digest_secret(session),),
        )
        if not rows or parse_timestamp(str(rows[0][3])) <= now_utc():
            return None
        token_id, name, role, _ = rows[0]
        return Principal(name=str(name), role=Role(role), token_id=str(token_id))

    def close_session(self, session: str) -> None:
        self._write([("DELETE FROM serve_sessions WHERE digest = ?", (digest_secret(session),))], None)

    # -- the writes ----------------------------------------------------------------------------------

    def set_action(
        self, nc_id: str, *, rule: str, subject: str | None, owner: str, due: date, notes: str, who: Principal
    ) -> None:
        moment = format_timestamp(now_utc())
        self._write(
            [("DELETE FROM serve_actions WHERE nc_id = ?", (nc_id,)),
             ("INSERT INTO serve_actions(nc_id, rule, subject, owner, due, notes, updated_at, updated_by)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              (nc_id, rule, subject, owner, due.isoformat(), notes, moment, who.name))],
            self._audit(who, "nonconformity.update", nc_id,
                        {"owner": owner, "due": due.isoformat(), "notes": notes}),
        )  # fmt: skip

    def actions(self) -> dict[str, CorrectiveAction]:
        rows = self._rows(
            "SELECT nc_id, rule, subject, owner, due, notes, updated_at, updated_by FROM serve_actions"
        )
        return {
            str(r[0]): CorrectiveAction(nc_id=r[0], rule=r[1], subject=r[2], owner=r[3],
                                        due=date.fromisoformat(r[4]), notes=r[5], updated_at=r[6],
                                        updated_by=r[7])
            for r in rows
        }  # fmt: skip

    def request_exception(
        self, *, rule: str, subject: str | None, justification: str, approver: str, expires: date,
        who: Principal,
    ) -> str:  # fmt: skip
        exception_id = "EX-" + secrets.token_hex(6)
        self._write(
            [("INSERT INTO serve_exceptions(id, rule, subject, justification, approver, expires,"
              " requested_by, requested_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'requested')",
              (exception_id, rule, subject, justification, approver, expires.isoformat(), who.name,
               format_timestamp(now_utc())))],
            self._audit(who, "exception.request", exception_id,
                        {"rule": rule, "subject": subject, "justification": justification,
                         "approver": approver, "expires": expires.isoformat()}),
        )  # fmt: skip
        return exception_id

    def decide_exception(self, exception_id: str, *, approve: bool, who: Principal) -> None:
        if not self._rows(
            "SELECT 1 FROM serve_exceptions WHERE id = ? AND state = 'requested'", (exception_id,)
        ):
            raise KeyError(exception_id)
        state = "approved" if approve else "rejected"
        self._write(
            [("UPDATE serve_exceptions SET state = ?, decided_by = ?, decided_at = ? WHERE id = ?",
              (state, who.name, format_timestamp(now_utc()), exception_id))],
            self._audit(who, f"exception.{'approve' if approve else 'reject'}", exception_id, {}),
        )  # fmt: skip

    def exceptions(self) -> list[ExceptionRequest]:
        rows = self._rows(
            "SELECT id, rule, subject, justification, approver, expires, requested_by, requested_at, state,"
            " decided_by, decided_at FROM serve_exceptions ORDER BY requested_at, id"
        )
        return [
            ExceptionRequest(id=r[0], rule=r[1], subject=r[2], justification=r[3], approver=r[4],
                             expires=date.fromisoformat(r[5]), requested_by=r[6], requested_at=r[7],
                             state=r[8], decided_by=r[9], decided_at=r[10])
            for r in rows
        ]  # fmt: skip

    def audit_log(self, limit: int = 500) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT seq, at, actor, role, action, target, detail, previous, digest FROM serve_audit"
            " ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        keys = ("seq", "at", "actor", "role", "action", "target", "detail", "previous", "digest")
        entries = [dict(zip(keys, row, strict=True)) for row in rows]
        for entry in entries:
            entry["detail"] = json.loads(entry["detail"])
        return entries

    def verify_audit(self) -> list[str]:
        """Problems in the audit chain (empty when every entry's digest and link hold)."""
        rows = self._rows(
            "SELECT seq, at, actor, role, action, target, detail, previous, digest FROM serve_audit"
            " ORDER BY seq"
        )
        problems, previous = [], None
        for seq, at, actor, role, action, target, detail, prev, digest in rows:
            body = {"at": at, "actor": actor, "role": role, "action": action, "target": target,
                    "detail": json.loads(detail), "seq": seq, "previous": prev}  # fmt: skip
            if prev != previous:
                problems.append(f"audit entry {seq}: links to {prev}, expected {previous}")
            if sha256_hex(canonical_json(body)) != digest:
                problems.append(f"audit entry {seq}: content does not match its digest (edited?)")
            previous = digest
        return problems
