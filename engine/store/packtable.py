"""Where each packed object of a folder locker is: digest -> (pack file, offset, length), for the packs
this process has read or written.

A dictionary of them held 275 MB per million objects, small objects that lived as long as the command
(and, allocated among the short-lived ones of collecting, kept the allocator from giving memory back);
and a scan reads the table of contents of every pack in the store, so that dictionary grew with the
store's whole history, not with the scan. The table lives in a private temporary SQLite database instead
(a file SQLite deletes when it is closed), whose own cache is a few MB: looked up in C, a few microseconds
each. A forked child starts a table of its own (a SQLite connection must not cross a fork).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from typing import Final

_CACHE_KB: Final = 64 * 1024
_LOOKUP_BATCH: Final = 500  # digests asked for in one statement (SQLite's limit on parameters is 999+)


class PackTable:
    """digest -> (pack path, offset, length) per area; the first pack to list a digest keeps it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._packs: list[str] = []  # pack paths, by the number the table stores
        self._numbers: dict[str, int] = {}

    def fresh(self) -> bool:
        """Whether the table is empty because this process has not filled it (a new one, or the first use
        in a forked child): the caller then reads the packs again."""
        return self._db is None or self._pid != os.getpid()

    def _connection(self) -> sqlite3.Connection:
        if self._db is not None and self._pid == os.getpid():
            return self._db
        # "" opens a private temporary database on disk, deleted when closed.
        db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        # Cached up to 64 MB (about a million objects' entries), allocated as it fills; beyond, looked up
        # through the OS's file cache.
        db.execute(f"PRAGMA cache_size = -{_CACHE_KB}")
        db.execute(
            "CREATE TABLE entries (area TEXT NOT NULL, digest BLOB NOT NULL, pack INTEGER NOT NULL,"
            " offset INTEGER NOT NULL, length INTEGER NOT NULL, PRIMARY KEY (area, digest)) WITHOUT ROWID"
        )
        self._db, self._pid = db, os.getpid()
        self._packs, self._numbers = [], {}
        return db

    def add(self, area: str, path: str, entries: Iterable[tuple[str, int, int]]) -> None:
        """The entries (digest, offset, length) of the pack at ``path``."""
        with self._lock:
            db = self._connection()
            number = self._numbers.setdefault(path, len(self._packs))
            if number == len(self._packs):
                self._packs.append(path)
            rows = (
                (area, bytes.fromhex(digest), number, offset, length) for digest, offset, length in entries
            )
            db.execute("BEGIN")
            db.executemany("INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")

    def get(self, area: str, digest: str) -> tuple[str, int, int] | None:
        with self._lock:
            row = (
                self._connection()
                .execute(
                    "SELECT pack, offset, length FROM entries WHERE area = ? AND digest = ?",
                    (area, bytes.fromhex(digest)),
                )
                .fetchone()
            )
        return None if row is None else (self._packs[row[0]], int(row[1]), int(row[2]))

    def present(self, area: str, digests: list[str]) -> set[str]:
        """Those of ``digests`` the table holds."""
        found: set[str] = set()
        with self._lock:
            db = self._connection()
            for start in range(0, len(digests), _LOOKUP_BATCH):
                batch = [bytes.fromhex(digest) for digest in digests[start : start + _LOOKUP_BATCH]]
                marks = ", ".join("?" * len(batch))
                found.update(
                    row[0].hex()
                    for row in db.execute(
                        f"SELECT digest FROM entries WHERE area = ? AND digest IN ({marks})", (area, *batch)
                    )
                )
        return found

    def digests(self, area: str) -> Iterator[str]:
        with self._lock:
            rows = self._connection().execute("SELECT digest FROM entries WHERE area = ?", (area,)).fetchall()
        return (row[0].hex() for row in rows)
