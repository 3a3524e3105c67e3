"""Evidence lockers: where a store keeps its content-addressed objects and ``HEAD``.

A locker holds evidence items and scan manifests, each named by the SHA-256 of its bytes, plus ``HEAD``
(the newest manifest's digest, a witness outside the index). Objects are written once and never
rewritten: two writers of one digest write the same bytes. A folder locker keeps an object as a file of
its own (``evidence/ab/abcd....json``) or, when one batch brings many new objects, in a pack
(``evidence/packs/<sha256>.pack``, see :class:`DirectoryLocker`); either way each object is read back by
its digest and verify rehashes it. :func:`annexa.store.postgres.open_locker`
picks the backend from a location: ``s3://bucket/prefix`` (:mod:`annexa.store.s3locker`) or a folder
(:class:`DirectoryLocker`, which is also the embedded directory store's own locker).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO, Final, Literal, Protocol

from annexa.files.atomic import atomic_write_bytes
from annexa.store.packtable import PackTable

DIGEST: Final = re.compile(r"^[0-9a-f]{64}$")
_BATCH: Final = 10_000  # objects made durable together; bounds the temporary files of one barrier
# A batch of at least this many new objects goes into one pack file instead of one file each: on this
# kind of machine creating a file costs 100-300 us of kernel time, 100,000 objects 10-30 s.
_PACK_MIN: Final = 256
_PACK_MAGIC: Final = b"annexa-pack 1\n"
_STREAM_BUFFER: Final = 1 << 20  # put_stream's pieces are small (one finding each): write them in bulk
_BINARY: Final = getattr(os, "O_BINARY", 0)  # Windows would translate line ends without it

# attestations: the DSSE envelope signing a manifest, named by the manifest's digest (annexa.trust).
# findings: a scan's findings, one object per scan, named in its manifest (annexa.store.manifest).
Area = Literal["evidence", "manifests", "attestations", "findings"]
_INCOMING: Final = "incoming"  # where put_stream writes an object whose digest is not known yet


class Locker(Protocol):
    location: str

    def put(self, area: Area, digest: str, payload: bytes) -> None:
        """Store one object under its digest, unless it is there already (idempotent, never overwrites)."""
        ...

    def put_many(self, area: Area, objects: Iterable[tuple[str, bytes]]) -> None:
        """Store many objects (digest, bytes) as :meth:`put` does each; durable together when it returns."""
        ...

    def put_stream(self, area: Area, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store one object given in pieces, never whole in memory; returns its digest and size.
        Idempotent as :meth:`put`; durable when it returns."""
        ...

    def get(self, area: Area, digest: str) -> bytes | None: ...

    def open_stream(self, area: Area, digest: str) -> BinaryIO | None:
        """One object to read in pieces (a file to close), or None when there is none. Not checked
        against its digest: the reader hashes what it reads."""
        ...

    def exists(self, area: Area, digest: str) -> bool: ...

    def digests(self, area: Area) -> set[str]: ...

    def label(self, area: Area, digest: str) -> str: ...

    def put_head(self, digest: str) -> None: ...

    def get_head(self) -> str | None: ...

    def notes(self) -> list[str]:
        """What verify should mention about the locker itself (debris, retention)."""
        ...

    def damage(self) -> list[tuple[str, str]]:
        """(label, what is wrong) for each container of objects that is damaged (a folder locker's packs);
        verify reports each as a problem, besides rehashing every object."""
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
    """Objects as files in a folder (atomic writes): the directory store's, or a shared file system's.

    An object is either a file of its own, ``<area>/ab/<digest>.json``, or one entry of a pack,
    ``<area>/packs/<sha256 of the pack>.pack``: :meth:`put_many` packs a batch of at least ``_PACK_MIN``
    new objects, since a file a piece is what writing 100,000 items cost most (kernel time). A pack is::

        annexa-pack 1\\n
        <count>\\n
        <digest> <length>\\n        (count lines: the objects, in the order of their bytes below)
        <the objects' bytes, one after the other>

    It is written once under a temporary name, made durable, then renamed into place, so a pack is whole
    under its name or absent, as a single object's file is. Each entry is read back by its digest and
    verify rehashes it as it does a file; the pack's name is the SHA-256 of all its bytes, which verify
    checks too (:meth:`damage`), so no byte of a pack can change unnoticed.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)
        # Where each packed object is (a temporary database, see PackTable), and per area the packs read
        # so far (new packs appear when another writer adds them: a lookup that misses reads the folder
        # again).
        self._packed = PackTable()
        self._packs_read: dict[str, set[str]] = {}
        self._unreadable: dict[str, str] = {}  # pack path -> why its table of contents cannot be read
        self._lock = threading.Lock()

    def _path(self, area: Area, digest: str) -> Path:
        return self.root / object_key(area, digest)

    def put(self, area: Area, digest: str, payload: bytes) -> None:
        path = self._path(area, digest)
        if not path.exists() and self._entry(area, digest) is None:
            atomic_write_bytes(path, payload)

    def put_stream(self, area: Area, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Write the pieces to a temporary file (``<area>/incoming/.<tag>.tmp``) while hashing them, make it
        durable, then rename it to its digest's name (or drop it when that object is there already)."""
        folder = f"{self.root}/{area}/{_INCOMING}"
        Path(folder).mkdir(parents=True, exist_ok=True)
        temporary = f"{folder}/.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        digest, size = hashlib.sha256(), 0
        try:
            with open(temporary, "xb", buffering=_STREAM_BUFFER) as handle:  # noqa: PTH123  # str paths
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            final = self._path(area, digest.hexdigest())
            if final.exists():
                os.remove(temporary)  # noqa: PTH107  # content-addressed: the same bytes are there
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temporary, final)  # noqa: PTH105
                _sync_filesystem(self.root)  # the rename durable before a manifest names the object
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)  # noqa: PTH107  # an error before the rename: no debris
        return digest.hexdigest(), size

    def open_stream(self, area: Area, digest: str) -> BinaryIO | None:
        try:
            return open(self._path(area, digest), "rb")  # noqa: PTH123  # the caller closes it
        except FileNotFoundError:
            return None

    def put_many(self, area: Area, objects: Iterable[tuple[str, bytes]]) -> None:
        """Write a batch of objects with one durability barrier, not one fsync each.

        Each new object, or each pack of new objects, is written to a temporary file beside its final name
        (``.<name>.<tag>.tmp``, the debris ``notes`` reports), then a ``sync`` makes all of them durable at
        once, then each is renamed into place (atomic: an object or a pack is whole under its name or
        absent), then a second ``sync`` makes the renames durable (both a ``syncfs`` of the store's file
        system where there is one, see :func:`_sync_filesystem`), all before this returns and so before any
        index row or manifest names them. A SIGKILL at any point leaves whole objects and temporary files,
        never a torn object. Folders are created once per batch and existing objects found with one
        listing per folder; objects already in a pack are not written again.
        """
        pending: dict[str, bytes] = {}
        for digest, payload in objects:
            pending.setdefault(digest, payload)
        self._read_packs(area)
        packed = self._packed.present(area, list(pending))
        new = [(digest, payload) for digest, payload in pending.items() if digest not in packed]
        for start in range(0, len(new), _BATCH):
            self._put_batch(area, new[start : start + _BATCH])

    def _put_batch(self, area: Area, batch: list[tuple[str, bytes]]) -> None:
        # Paths as strings and os calls: at 100,000 objects a Path per object cost more than the writes.
        present: dict[str, set[str]] = {}  # folder (the digest's first two characters) -> its names
        new: list[tuple[str, bytes]] = []
        for digest, payload in batch:
            names = present.get(digest[:2])
            if names is None:
                try:
                    names = set(os.listdir(f"{self.root}/{area}/{digest[:2]}"))  # noqa: PTH208  # names only
                except FileNotFoundError:
                    names = set()
                present[digest[:2]] = names
            if digest + ".json" not in names:
                new.append((digest, payload))
        if not new:
            return
        tag = f"{os.getpid()}-{secrets.token_hex(4)}"
        new.sort()  # folder by folder: creating files across 256 folders in turn costs several times more
        written: list[tuple[str, str]] = []
        pack: tuple[str, list[tuple[str, int, int]]] | None = None
        try:
            if len(new) >= _PACK_MIN:
                temporary, final, entries = self._write_pack(area, new, tag)
                written.append((temporary, final))
                pack = (final, entries)
            else:
                made: set[str] = set()
                for digest, payload in new:
                    folder = f"{self.root}/{area}/{digest[:2]}"
                    if folder not in made:
                        if not present[digest[:2]]:
                            Path(folder).mkdir(parents=True, exist_ok=True)
                        made.add(folder)
                    temporary, final = f"{folder}/.{digest}.json.{tag}.tmp", f"{folder}/{digest}.json"
                    _write_new_file(temporary, payload)
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
        if pack is not None:
            with self._lock:  # this process's readers find the objects without reading the pack again
                self._add_pack(area, *pack)

    def _write_pack(
        self, area: Area, objects: list[tuple[str, bytes]], tag: str
    ) -> tuple[str, str, list[tuple[str, int, int]]]:
        """The pack of ``objects`` under a temporary name; returns its temporary and final paths and its
        entries."""
        header, entries = _pack_header(objects)
        digest = hashlib.sha256(header)
        for _, payload in objects:
            digest.update(payload)
        folder = f"{self.root}/{area}/packs"
        Path(folder).mkdir(parents=True, exist_ok=True)
        temporary = f"{folder}/.{digest.hexdigest()}.pack.{tag}.tmp"
        _write_new_file(temporary, b"".join([header, *(payload for _, payload in objects)]))
        return temporary, f"{folder}/{digest.hexdigest()}.pack", entries

    # -- reading packs --------------------------------------------------------------------------------

    def _read_packs(self, area: Area, *, again: bool = True) -> None:
        """Add to the pack table the packs of ``area`` not read yet (``again``: also those other writers
        added since the first reading; without, only on the first call). A pack is read once."""
        with self._lock:
            if self._packed.fresh():  # a new table (or a forked child's): every pack to read again
                self._packs_read.clear()
            if not again and area in self._packs_read:
                return
            read = self._packs_read.setdefault(area, set())
            try:
                names = os.listdir(f"{self.root}/{area}/packs")  # noqa: PTH208  # names only
            except FileNotFoundError:
                return
            for name in sorted(names):
                if name.endswith(".pack") and not name.startswith(".") and name not in read:
                    path = f"{self.root}/{area}/packs/{name}"
                    try:
                        with open(path, "rb") as handle:  # noqa: PTH123  # str paths, as put_many's
                            entries = _read_pack_header(handle)
                    except (OSError, ValueError) as exc:
                        self._unreadable[path] = str(exc)
                        continue
                    self._add_pack(area, path, entries)

    def _add_pack(self, area: Area, path: str, entries: list[tuple[str, int, int]]) -> None:
        self._packed.add(area, path, entries)
        self._packs_read.setdefault(area, set()).add(path.rsplit("/", 1)[1])
        self._unreadable.pop(path, None)

    def _entry(self, area: Area, digest: str) -> tuple[str, int, int] | None:
        self._read_packs(area, again=False)
        entry = self._packed.get(area, digest)
        if entry is None:  # perhaps in a pack another writer added since
            self._read_packs(area)
            entry = self._packed.get(area, digest)
        return entry

    def get(self, area: Area, digest: str) -> bytes | None:
        # Paths as strings and os calls, as in put_many: verify reads every object of the store.
        try:
            with open(f"{self.root}/{object_key(area, digest)}", "rb") as handle:  # noqa: PTH123
                return handle.read()
        except OSError:
            pass
        entry = self._entry(area, digest)
        if entry is None:
            return None
        path, offset, length = entry
        try:
            descriptor = os.open(path, os.O_RDONLY | _BINARY)
        except OSError:
            return None
        try:
            os.lseek(descriptor, offset, os.SEEK_SET)  # not pread: Windows has none
            chunks: list[bytes] = []
            while length > 0 and (chunk := os.read(descriptor, length)):
                chunks.append(chunk)
                length -= len(chunk)
            return b"".join(chunks)
        except OSError:
            return None
        finally:
            os.close(descriptor)

    def exists(self, area: Area, digest: str) -> bool:
        loose = f"{self.root}/{object_key(area, digest)}"
        return os.path.isfile(loose) or self._entry(area, digest) is not None  # noqa: PTH113  # str paths

    def digests(self, area: Area) -> set[str]:
        loose = {
            path.stem
            for path in (self.root / area).glob("*/*")
            if DIGEST.match(path.stem) and path.suffix == ".json"
        }
        self._read_packs(area)
        return loose | set(self._packed.digests(area))

    def label(self, area: Area, digest: str) -> str:
        """The object's file (``evidence/ab/abcd....json``), or its pack and digest when it is packed."""
        key = object_key(area, digest)
        self._read_packs(area, again=False)
        entry = self._packed.get(area, digest)
        loose = os.path.exists(f"{self.root}/{key}")  # noqa: PTH110  # str paths, as above
        if entry is None and not loose:
            entry = self._entry(area, digest)  # in a pack another writer added since?
        if entry is None or loose:  # get() reads a loose file first
            return key
        return f"{entry[0][len(self.location) + 1 :]}:{digest}"

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

    def damage(self) -> list[tuple[str, str]]:
        """Packs whose bytes do not hash to their name, or whose table of contents cannot be read."""
        found: list[tuple[str, str]] = []
        for path in sorted(self.root.glob("*/packs/*.pack")):
            if path.name.startswith("."):
                continue
            label = path.relative_to(self.root).as_posix()
            digest = hashlib.sha256()
            try:
                with path.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
                    handle.seek(0)
                    _read_pack_header(handle)
            except (OSError, ValueError) as exc:
                found.append((label, f"pack is not readable: {exc}"))
                continue
            if digest.hexdigest() != path.stem:
                found.append((label, f"pack content does not match its name (modified after writing): "
                                     f"its SHA-256 is {digest.hexdigest()}"))  # fmt: skip
        return found


def _write_new_file(path: str, payload: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)  # umask applies
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(descriptor, view) :]
    finally:
        os.close(descriptor)


def _pack_header(objects: list[tuple[str, bytes]]) -> tuple[bytes, list[tuple[str, int, int]]]:
    """A pack's header for ``objects`` and its entries: (digest, offset from the pack's start, length)."""
    lines = [_PACK_MAGIC, f"{len(objects)}\n".encode()]
    lines.extend(f"{digest} {len(payload)}\n".encode() for digest, payload in objects)
    header = b"".join(lines)
    entries: list[tuple[str, int, int]] = []
    offset = len(header)
    for digest, payload in objects:
        entries.append((digest, offset, len(payload)))
        offset += len(payload)
    return header, entries


def _read_pack_header(handle: BinaryIO) -> list[tuple[str, int, int]]:
    """The entries of a pack (see :class:`DirectoryLocker`) from its header; ValueError when it is not one."""
    if handle.readline() != _PACK_MAGIC:
        raise ValueError("not an annexa pack (first line)")
    count_line = handle.readline()
    if not count_line.endswith(b"\n") or not count_line[:-1].isdigit():
        raise ValueError("bad object count")
    listed: list[tuple[str, int]] = []
    for _ in range(int(count_line)):
        name, _, size = handle.readline().decode("ascii", "replace").rstrip("\n").partition(" ")
        if not DIGEST.match(name) or not size.isdigit():
            raise ValueError(f"bad entry {len(listed) + 1} in the table of contents")
        listed.append((name, int(size)))
    offset = handle.tell()
    entries: list[tuple[str, int, int]] = []
    for digest, length in listed:
        entries.append((digest, offset, length))
        offset += length
    return entries
