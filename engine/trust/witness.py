"""Witnesses: copies of the newest signed head kept outside the store, so truncation shows.

After each signed scan, its envelope (which names the scan's sequence number, manifest and previous
manifest) is written to every witness the user names: a file (``PATH``, e.g. on another machine's mount
or a backup volume) or an S3 object (``s3://BUCKET/KEY``). In a bucket with Object Lock every version is
kept under the bucket's retention, and verify reads them all, so overwriting the witness with an older
head does not hide a newer one. Someone who can rewrite the store but not the witness can no longer delete
the last scans or roll HEAD back unseen.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from annexa.files.atomic import atomic_write_bytes
from annexa.trust.keys import TrustError


class Witness(Protocol):
    location: str

    def heads(self) -> list[bytes]:
        """Every head the witness holds (an S3 witness: every version), newest write first."""
        ...

    def put(self, envelope: bytes) -> None: ...

    def lock(self) -> AbstractContextManager[object]:
        """Held while a head is compared and written, so two scans finishing together cannot move the
        witness back."""
        ...


class FileWitness:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)

    def heads(self) -> list[bytes]:
        try:
            return [self.path.read_bytes()]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise TrustError(f"cannot read witness {self.path}: {exc.strerror or exc}") from exc

    def put(self, envelope: bytes) -> None:
        try:
            atomic_write_bytes(self.path, envelope)
        except OSError as exc:
            raise TrustError(f"cannot write witness {self.path}: {exc.strerror or exc}") from exc

    @contextlib.contextmanager
    def lock(self) -> Iterator[object]:
        """An exclusive ``flock`` on ``<witness>.lock`` beside it (the witness is replaced by a rename)."""
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.with_name(self.path.name + ".lock").open("a")
        except OSError as exc:
            raise TrustError(f"cannot lock witness {self.path}: {exc.strerror or exc}") from exc
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield handle


class S3Witness:
    """An object in S3; under Object Lock when the bucket has a default retention."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._s3 = client
        self.bucket = bucket
        self.key = key
        self.location = f"s3://{bucket}/{key}"

    @classmethod
    def open(cls, location: str) -> S3Witness:
        import boto3

        bucket, _, key = location.removeprefix("s3://").partition("/")
        if not bucket or not key.strip("/"):
            raise TrustError(f"bad witness {location!r}: write s3://BUCKET/KEY")
        return cls(boto3.client("s3"), bucket, key.strip("/"))

    def heads(self) -> list[bytes]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            listing = self._s3.list_object_versions(Bucket=self.bucket, Prefix=self.key)
            versions = [v for v in listing.get("Versions", ()) if v["Key"] == self.key]
            versions.sort(key=lambda v: v["LastModified"], reverse=True)
            return [
                bytes(self._s3.get_object(Bucket=self.bucket, Key=self.key, VersionId=v["VersionId"])["Body"]
                      .read())
                for v in versions
            ]  # fmt: skip
        except (ClientError, BotoCoreError) as exc:
            raise TrustError(f"cannot read witness {self.location}: {exc}") from exc

    def put(self, envelope: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from annexa.store.s3locker import _bucket_retention

        try:
            retention = _bucket_retention(self._s3, self.bucket)
            extra: dict[str, Any] = {}
            if retention is not None:
                extra = {"ObjectLockMode": retention.mode,
                         "ObjectLockRetainUntilDate": retention.until(datetime.now(UTC))}  # fmt: skip
            self._s3.put_object(Bucket=self.bucket, Key=self.key, Body=envelope, **extra)
        except (ClientError, BotoCoreError) as exc:
            raise TrustError(f"cannot write witness {self.location}: {exc}") from exc

    def lock(self) -> AbstractContextManager[object]:
        # No lock in S3; none needed: every version is kept and verify reads the highest head of them all.
        return contextlib.nullcontext()


def open_witness(location: str, *, base: Path | None = None) -> Witness:
    if location.startswith("s3://"):
        return S3Witness.open(location)
    path = Path(location).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    return FileWitness(path)


def claimed_sequence(envelope: bytes) -> int | None:
    """The sequence number an envelope's payload claims, unverified (to keep a witness from going back)."""
    try:
        statement = json.loads(base64.b64decode(json.loads(envelope)["payload"]))
        return int(statement["predicate"]["sequence"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def publish(witness: Witness, envelope: bytes) -> bool:
    """Write ``envelope`` as the witness's head unless it holds a later one already (a concurrent scan
    that finished first); returns whether it was written."""
    mine = claimed_sequence(envelope)
    with witness.lock():
        held = [claimed_sequence(head) for head in witness.heads()[:1]]
        if mine is not None and held and held[0] is not None and held[0] >= mine:
            return False
        witness.put(envelope)
    return True
