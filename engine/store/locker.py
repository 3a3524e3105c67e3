"""Evidence lockers: where a store keeps its content-addressed objects and ``HEAD``.

A locker holds evidence items and scan manifests, each named by the SHA-256 of its bytes, plus ``HEAD``
(the newest manifest's digest, a witness outside the index). Objects are written once and never
rewritten: two writers of one digest write the same bytes. :func:`annexa.store.postgres.open_locker`
picks the backend from a location: ``s3://bucket/prefix`` (:mod:`annexa.store.s3locker`) or a folder
(:class:`DirectoryLocker`, which is also the embedded directory store's own locker).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final, Literal, Protocol

from annexa.files.atomic import atomic_write_bytes

DIGEST: Final = re.compile(r"^[0-9a-f]{64}$")
_BATCH: Final = 10_000  # objects made durable together; bounds the temporary files of one barrier

# attestations: the DSSE envelope signing a manifest, named by the manifest's digest (annexa.trust).
Area = Literal["evidence", "manifests", "attestations"]


class Locker(Protocol):
    location: str

    def put(self, area: Area, digest: str, payload: bytes) -> None:
        """Store one object under its digest, unless it is there already (idempotent, never overwrites)."""
        ...

    def put_many(self, area: Area, objects: Iterable[tuple[str, bytes]]) -> None:
        """Store many objects (digest, bytes) as :meth:`put` does each; durable together when it returns."""
        ...

    def get(self, area: Area, digest: str) -> bytes | None: ...

    def exists(self, area: Area, digest: str) -> bool: ...

    def digests(self, area: Area) -> set[str]: ...

    def label(self, area: Area, digest: str) -> str: ...

    def put_head(self, digest: str) -> None: ...

    def get_head(self) -> str | None: ...

    def notes(self) -> list[str]:
        """What verify should mention about the locker itself (debris, retention)."""
        ...


def object_key(area: Area, digest: str) -> str:
    """The same layout as the directory store: ``evidence/ab/abcdef....json``."""
    return f"{area}/{digest[:2]}/{digest}.json"


# libc's syncfs, looked up on first use (ctypes is slow to import, and most commands never write).
_SYNCFS: list[Callable[[int], int] | None] = []


def _sync_filesystem(root: Path) -> None:
    """Make every write so far to the file system holding ``root`` durable: ``syncfs(2)`` on Linux, which
    flushes that file system only (``sync(2)`` would wait for every other mount's dirty pages too, a CI
    runner's build caches, another job's files), and ``os.sync()`` where there is no ``syncfs``. Either
    returns only once the data and the metadata (the renames) are on stable storage."""
    if not _SYNCFS:
        try:
            import ctypes

            function = ctypes.CDLL(None, use_errno=True).syncfs
            function.argtypes = [ctypes.c_int]
            _SYNCFS.append(function)
        except (AttributeError, OSError):  # not Linux / no glibc: no syncfs
            _SYNCFS.append(None)
    syncfs = _SYNCFS[0]
    if syncfs is not None:
        descriptor = os.open(root, os.O_RDONLY)
        try:
            if syncfs(descriptor) == 0:
                return
        finally:
            os.close(descriptor)
    os.sync()


class DirectoryLocker:
    """Objects as files in a folder (atomic writes): the directory store's, or a shared file system's."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def _path(self, area: Area, digest: str) -> Path:
        return self.root / object_key(area, digest)

    def put(self, area: Area, digest: str, payload: bytes) -> None:
        path = self._path(area, digest)
        if not path.exists():
            atomic_write_bytes(path, payload)

    def put_many(self, area: Area, objects: Iterable[tuple[str, bytes]]) -> None:
        """Write a batch of objects with one durability barrier, not one fsync each.

        Each new object is written to a temporary file beside its final name (``.<name>.<tag>.tmp``, the
        debris ``notes`` reports), then a ``sync`` makes all of them durable at once, then each is renamed
        into place (atomic: an object is whole under its name or absent), then a second ``sync`` makes the
        renames durable (both a ``syncfs`` of the store's file system where there is one, see
        :func:`_sync_filesystem`), all before this returns and so before any index row or manifest names
        them. A SIGKILL at any point leaves whole objects and temporary files, never a torn object.
        Folders are created once per batch and existing objects found with one listing per folder.
        """
        pending: dict[str, bytes] = {}
        for digest, payload in objects:
            pending.setdefault(digest, payload)
        unique = list(pending.items())
        for start in range(0, len(unique), _BATCH):
            self._put_batch(area, unique[start : start + _BATCH])

    def _put_batch(self, area: Area, batch: list[tuple[str, bytes]]) -> None:
        # Paths as strings and os calls: at 100,000 objects a Path per object cost more than the writes.
        present: dict[str, set[str]] = {}
        new: list[tuple[str, bytes]] = []
        for digest, payload in batch:
            folder = f"{self.root}/{area}/{digest[:2]}"
            if folder not in present:
                try:
                    present[folder] = set(os.listdir(folder))  # noqa: PTH208  # names only, once per folder
                except FileNotFoundError:
                    Path(folder).mkdir(parents=True, exist_ok=True)
                    present[folder] = set()
            if f"{digest}.json" not in present[folder]:
                new.append((digest, payload))
        if not new:
            return
        tag = f"{os.getpid()}-{secrets.token_hex(4)}"
        written: list[tuple[str, str]] = []
        new.sort()  # folder by folder: creating files across 256 folders in turn costs several times more
        try:
            for digest, payload in new:
                folder = f"{self.root}/{area}/{digest[:2]}"
                temporary, final = f"{folder}/.{digest}.json.{tag}.tmp", f"{folder}/{digest}.json"
                descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
                try:
                    view = memoryview(payload)
                    while view:
                        view = view[os.write(descriptor, view) :]
                finally:
                    os.close(descriptor)
                written.append((temporary, final))
            _sync_filesystem(self.root)  # every object's bytes durable, in one barrier
            for temporary, final in written:
                os.replace(temporary, final)  # noqa: PTH105  # see above: str paths
            written = []
            _sync_filesystem(self.root)  # and their names
        finally:
            for temporary, _ in written:  # an error before the renames: leave no debris behind
                with contextlib.suppress(FileNotFoundError):
                    os.remove(temporary)  # noqa: PTH107  # see above: str paths

    def get(self, area: Area, digest: str) -> bytes | None:
        try:
            return self._path(area, digest).read_bytes()
        except OSError:
            return None

    def exists(self, area: Area, digest: str) -> bool:
        return self._path(area, digest).is_file()

    def digests(self, area: Area) -> set[str]:
        return {
            path.stem
            for path in (self.root / area).glob("*/*")
            if DIGEST.match(path.stem) and path.suffix == ".json"
        }

    def label(self, area: Area, digest: str) -> str:
        return object_key(area, digest)

    def put_head(self, digest: str) -> None:
        atomic_write_bytes(self.root / "HEAD", f"{digest}\n".encode())

    def get_head(self) -> str | None:
        try:
            return (self.root / "HEAD").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def notes(self) -> list[str]:
        temporary = sorted(self.root.glob("*/*/.*.tmp"))
        if not temporary:
            return []
        example = temporary[0].relative_to(self.root).as_posix()
        return [f"{len(temporary)} temporary file(s) left by interrupted writes, e.g. {example}"]
