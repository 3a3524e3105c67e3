"""An S3 evidence locker (``store.evidence: s3://bucket/prefix``), under Object Lock where the bucket has it.

When the bucket has Object Lock with a default retention rule, each evidence item and manifest is put
with that retention stated explicitly (mode and retain-until date), so no one, annexa included, can
delete or replace a version before it expires. A bucket without Object Lock still works: verify then
notes that the objects are protected by their digests only. ``HEAD`` is rewritten at every scan and
so is put without retention. The endpoint and credentials come from boto3's usual sources
(``AWS_ENDPOINT_URL``, profiles, roles); none of them is ever logged.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, cast

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from annexa.store.locker import DIGEST, Area, object_key
from annexa.store.manifest import StoreError

_MISSING = ("404", "NoSuchKey", "NotFound")


@dataclass(frozen=True, slots=True)
class Retention:
    """A bucket's default Object Lock retention."""

    mode: str  # GOVERNANCE or COMPLIANCE
    days: int

    def until(self, now: datetime) -> datetime:
        return now + timedelta(days=self.days)


class S3Locker:
    def __init__(self, client: Any, bucket: str, prefix: str, retention: Retention | None) -> None:
        self._s3 = client
        self.bucket = bucket
        self.prefix = prefix
        self.retention = retention
        self.location = f"s3://{bucket}/{prefix}".rstrip("/")

    @classmethod
    def open(cls, location: str) -> S3Locker:
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        if not bucket:
            raise StoreError(f"bad evidence locker {location!r}: write s3://BUCKET/PREFIX")
        client = boto3.client("s3")
        return cls(client, bucket, prefix.strip("/"), _bucket_retention(client, bucket))

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, area: Area, digest: str, payload: bytes | BinaryIO) -> None:
        key = self._key(object_key(area, digest))
        if self._exists(key):  # content-addressed: the object there already holds these bytes
            return
        extra: dict[str, Any] = {}
        if self.retention is not None:
            extra = {
                "ObjectLockMode": self.retention.mode,
                "ObjectLockRetainUntilDate": self.retention.until(datetime.now(UTC)),
            }
        self._call("put", key, lambda: self._s3.put_object(Bucket=self.bucket, Key=key, Body=payload,
                                                           **extra))  # fmt: skip

    def put_stream(self, area: Area, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Spool the pieces to a local temporary file while hashing them (S3 names an object before its
        bytes), then put that file as one object (up to S3's 5 GB for one PUT)."""
        digest, size = hashlib.sha256(), 0
        with tempfile.TemporaryFile(prefix="annexa-object-") as spool:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                spool.write(chunk)
            spool.seek(0)
            self.put(area, digest.hexdigest(), spool)
        return digest.hexdigest(), size

    def open_stream(self, area: Area, digest: str) -> BinaryIO | None:
        key = self._key(object_key(area, digest))
        answer = self._call("read", key, lambda: self._s3.get_object(Bucket=self.bucket, Key=key),
                            missing_ok=True)  # fmt: skip
        return (
            None if answer is None else cast("BinaryIO", _Body(answer["Body"], f"s3://{self.bucket}/{key}"))
        )

    def put_many(self, area: Area, objects: Iterable[tuple[str, bytes]]) -> None:
        for digest, payload in objects:  # each PUT is durable when S3 answers it
            self.put(area, digest, payload)

    def get(self, area: Area, digest: str) -> bytes | None:
        return self._get(self._key(object_key(area, digest)))

    def exists(self, area: Area, digest: str) -> bool:
        return self._exists(self._key(object_key(area, digest)))

    def digests(self, area: Area) -> set[str]:
        found: set[str] = set()
        paginator = self._s3.get_paginator("list_objects_v2")
        pages = self._call("list", self._key(area), lambda: list(
            paginator.paginate(Bucket=self.bucket, Prefix=self._key(f"{area}/"))))  # fmt: skip
        for page in pages:
            for item in page.get("Contents", ()):
                name = str(item["Key"]).rsplit("/", 1)[-1]
                if name.endswith(".json") and DIGEST.match(name.removesuffix(".json")):
                    found.add(name.removesuffix(".json"))
        return found

    def label(self, area: Area, digest: str) -> str:
        return f"s3://{self.bucket}/{self._key(object_key(area, digest))}"

    def put_head(self, digest: str) -> None:
        key = self._key("HEAD")
        body = f"{digest}\n".encode()
        self._call("put", key, lambda: self._s3.put_object(Bucket=self.bucket, Key=key, Body=body))

    def get_head(self) -> str | None:
        payload = self._get(self._key("HEAD"))
        return None if payload is None else payload.decode("utf-8").strip()

    def notes(self) -> list[str]:
        if self.retention is None:
            return [f"bucket {self.bucket} has no Object Lock retention: its objects are protected by their "
                    "digests only"]  # fmt: skip
        return [f"objects in bucket {self.bucket} are under Object Lock ({self.retention.mode}, "
                f"{self.retention.days} days)"]  # fmt: skip

    def damage(self) -> list[tuple[str, str]]:
        return []  # one S3 object per object: nothing holds several, each is rehashed on its own

    def object_lock(self, area: Area, digest: str) -> tuple[str | None, datetime | None]:
        """The Object Lock mode and retain-until date of one object (read from its head: moto, unlike
        S3, does not answer get_object_retention)."""
        key = self._key(object_key(area, digest))
        head = self._call("head", key, lambda: self._s3.head_object(Bucket=self.bucket, Key=key))
        return head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")

    def _get(self, key: str) -> bytes | None:
        def read() -> bytes:
            return bytes(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

        payload: bytes | None = self._call("read", key, read, missing_ok=True)
        return payload

    def _exists(self, key: str) -> bool:
        head = self._call(
            "check", key, lambda: self._s3.head_object(Bucket=self.bucket, Key=key), missing_ok=True
        )
        return head is not None

    def _call(self, verb: str, key: str, call: Any, *, missing_ok: bool = False) -> Any:
        """``call()``, with S3's failures as a StoreError naming the object; None for a missing object
        when ``missing_ok``."""
        try:
            return call()
        except ClientError as exc:
            if missing_ok and _code(exc) in _MISSING:
                return None
            raise StoreError(f"cannot {verb} s3://{self.bucket}/{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"cannot {verb} s3://{self.bucket}/{key}: {exc}") from exc


class _Body:
    """An object's body read in pieces, a broken connection an ``OSError`` naming the object (as a file's
    read would fail), not botocore's exceptions, which the store's readers do not expect."""

    def __init__(self, body: Any, where: str) -> None:
        self._body = body
        self._where = where

    def read(self, size: int = -1) -> bytes:
        try:
            return bytes(self._body.read(size if size >= 0 else None))
        except (BotoCoreError, ClientError) as exc:
            raise OSError(f"{self._where}: {exc}") from exc

    def close(self) -> None:
        self._body.close()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _bucket_retention(client: Any, bucket: str) -> Retention | None:
    try:
        config = client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError as exc:
        if _code(exc) in ("ObjectLockConfigurationNotFoundError", "404"):
            return None
        raise StoreError(f"cannot read the Object Lock configuration of bucket {bucket}: {exc}") from exc
    except BotoCoreError as exc:
        raise StoreError(f"cannot reach bucket {bucket}: {exc}") from exc
    default = (config.get("Rule") or {}).get("DefaultRetention")
    if config.get("ObjectLockEnabled") != "Enabled" or not default:
        return None
    days = int(default.get("Days") or 0) + 365 * int(default.get("Years") or 0)
    return Retention(mode=str(default["Mode"]), days=days)
