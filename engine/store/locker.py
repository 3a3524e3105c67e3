"""Evidence lockers: where a store keeps its content-addressed objects and ``HEAD``.

A locker holds evidence items and scan manifests, each named by the SHA-256 of its bytes, plus ``HEAD``
(the newest manifest's digest, a witness outside the index). Objects are written once and never
rewritten: two writers of one digest write the same bytes. :func:`open_locker` picks the backend from a
location: ``s3://bucket/prefix`` (:mod:`annexa.store.s3locker`) or a folder (:class:`DirectoryLocker`,
which is also the embedded directory store's own locker).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final, Protocol

from annexa.atomic import atomic_write_bytes
from annexa.store.base import Area

DIGEST: Final = re.compile(r"^[0-9a-f]{64}$")


class Locker(Protocol):
    location: str

    def put(self, area: Area, digest: str, payload: bytes) -> None:
        """Store one object under its digest, unless it is there already (idempotent, never overwrites)."""
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


def open_locker(location: str) -> Locker:
    """The locker at ``s3://bucket/prefix`` or in a folder (created if missing)."""
    if location.startswith("s3://"):
        from annexa.store.s3locker import S3Locker

        return S3Locker.open(location)
    root = Path(location)
    root.mkdir(parents=True, exist_ok=True)
    return DirectoryLocker(root)
