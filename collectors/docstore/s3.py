"""Governance documents under an S3 prefix: one ``document`` item per object.

Document fields come from the file itself (front matter, PDF and DOCX properties), overlaid by the
object's user metadata ``x-amz-meta-annexa-<field>``, overlaid by its tags ``annexa:<field>``: tags
can change without rewriting the object, so they are the most likely to be current. Field names
are spelt as in front matter, with ``-`` for ``_`` (``annexa-last-reviewed``). Tag values cannot hold
commas, so list fields in tags are separated by spaces or ``+``. Other metadata and tags are kept
in ``extra`` (``s3_metadata``, ``s3_tags``).

Bucket versioning is the store's retained history: ``revisions.retained`` is true when it is
Enabled, and ``revisions.count`` is the number of versions the bucket holds of the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from annexa.collectors.docstore.document import document_data, format_of, parse_payload
from annexa.collectors.docstore.fields import Naming, RawField, UnreadableFile, add_field
from annexa.collectors.docstore.schema import KIND, LIST_FIELDS
from annexa.model.evidence import Evidence, JSONValue
from annexa.plugins import CollectorError, CollectRequest

METADATA_PREFIX = "annexa-"
TAG_PREFIX = "annexa:"
SIDECAR_SUFFIX = ".meta.yaml"
COLLECTOR = "documents 0.1.0"  # name and version of the collector these items come from


def collect_s3(entry: Mapping[str, Any], request: CollectRequest) -> Iterator[Evidence]:
    """Documents of one ``{s3: "s3://bucket/prefix"}`` source; raises ``CollectorError`` when the
    bucket cannot be listed, and reports a gap for each object that cannot be read."""
    given = str(entry["s3"])
    bucket, _, prefix = given.removeprefix("s3://").partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"  # a prefix names a folder: s3://b/gov must not take in s3://b/governance/
    client = _client(entry)
    versioning = _call(given, "read the versioning of", lambda: client.get_bucket_versioning(Bucket=bucket))
    status = str(versioning.get("Status") or "Disabled")
    objects = _list(given, client, bucket, prefix)
    counts = _version_counts(given, client, bucket, prefix) if status != "Disabled" else {}
    limit = int(entry.get("max_object_bytes", 26214400))
    readable: list[str] = []
    for key, size in objects:
        rel = key[len(prefix) :]
        if rel.endswith(SIDECAR_SUFFIX):
            request.report_problem(
                f"s3://{bucket}/{key}", f"{rel}: sidecars are not read from S3; use object metadata or tags"
            )
        elif size > limit:
            request.report_gap(
                KIND, given, f"s3://{bucket}/{key}: {size} bytes, over max_object_bytes ({limit})"
            )
        else:
            readable.append(key)

    def fetch(key: str) -> _Fetched | str:
        try:
            return _fetch(client, bucket, key)
        except CollectorError as exc:
            return exc.message

    workers = int(entry.get("max_workers", 8))
    # Objects are read a few batches ahead of parsing, never all at once: payloads can be large.
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3-documents") as pool:
        for start in range(0, len(readable), workers * 4):
            batch = readable[start : start + workers * 4]
            for key, fetched in zip(batch, pool.map(fetch, batch), strict=True):
                if isinstance(fetched, str):
                    request.report_gap(KIND, given, fetched)  # a document left unread is a gap
                    continue
                item = _document(
                    fetched, bucket, key, key[len(prefix) :], status, counts.get(key), given, request
                )
                if item is not None:
                    yield item


@dataclass(frozen=True, slots=True)
class _Fetched:
    payload: bytes
    metadata: Mapping[str, str]
    tags: tuple[Mapping[str, str], ...]
    version_id: str | None
    last_modified: datetime | None


def _fetch(client: Any, bucket: str, key: str) -> _Fetched:
    uri = f"s3://{bucket}/{key}"
    got = _call(uri, "read", lambda: client.get_object(Bucket=bucket, Key=key))
    payload = _call(uri, "read", lambda: got["Body"].read())
    tagging = _call(uri, "read the tags of", lambda: client.get_object_tagging(Bucket=bucket, Key=key))
    modified = got.get("LastModified")
    version_id = got.get("VersionId")
    return _Fetched(
        payload=payload,
        metadata=dict(got.get("Metadata") or {}),
        tags=tuple(tagging.get("TagSet") or ()),
        version_id=None if version_id in (None, "null") else str(version_id),
        last_modified=modified if isinstance(modified, datetime) else None,
    )


def _client(entry: Mapping[str, Any]) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:  # pragma: no cover - boto3 is a dependency; kept for slim installs
        raise CollectorError(
            "boto3 is not installed", hint="pip install boto3 (an annexa dependency)"
        ) from exc
    timeout = float(entry.get("timeout_seconds", 30))
    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": int(entry.get("retries", 4)) + 1, "mode": "standard"},
    )
    return boto3.client("s3", region_name=entry.get("region"), config=config)


def _call(given: str, what: str, call: Callable[[], Any]) -> Any:
    """Run one S3 call, turning its failures into a ``CollectorError`` that names the source."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        hint = {
            "NoSuchBucket": "check the bucket name in documents.sources",
            "AccessDenied": "the scanning role needs s3:ListBucket, s3:ListBucketVersions, s3:GetObject, "
            "s3:GetObjectTagging and s3:GetBucketVersioning",
        }.get(code)
        message = f"{given}: cannot {what} it: {code}: {error.get('Message', '')}".rstrip(": ")
        raise CollectorError(message, hint=hint) from exc
    except BotoCoreError as exc:
        raise CollectorError(f"{given}: cannot {what} it: {exc}") from exc


def _list(given: str, client: Any, bucket: str, prefix: str) -> list[tuple[str, int]]:
    def run() -> list[tuple[str, int]]:
        found = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", ()):
                key = str(obj["Key"])
                # Folder markers and hidden or Office lock files are not documents (as in folders).
                if key.endswith("/") or any(
                    part.startswith((".", "~$")) for part in key[len(prefix) :].split("/")
                ):
                    continue
                found.append((key, int(obj.get("Size", 0))))
        return sorted(found)

    return list(_call(given, "list", run))


def _version_counts(given: str, client: Any, bucket: str, prefix: str) -> dict[str, int]:
    def run() -> dict[str, int]:
        counts: dict[str, int] = {}
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for version in page.get("Versions", ()):  # delete markers are listed apart and not counted
                counts[version["Key"]] = counts.get(version["Key"], 0) + 1
        return counts

    return dict(_call(given, "list the object versions of", run))


def _document(
    fetched: _Fetched,
    bucket: str,
    key: str,
    rel: str,
    versioning: str,
    count: int | None,
    given: str,
    request: CollectRequest,
) -> Evidence | None:
    uri = f"s3://{bucket}/{key}"
    fmt = format_of(rel)
    naming = Naming.from_config(request.config)
    try:
        parsed = parse_payload(fetched.payload, rel, fmt, naming)
    except UnreadableFile as exc:
        # The object is there but garbled: a defective document, never a silent absence.
        request.report_defect(KIND, uri, exc.message)
        request.report_problem(uri, exc.message)
        return None
    fields = {
        **parsed.fields,
        **_metadata_fields(fetched.metadata, naming),
        **_tag_fields(fetched.tags, naming),
    }

    def report(message: str) -> None:
        request.report_problem(uri, f"{rel}: {message}")

    data = document_data(
        parsed=parsed, fields=fields, rel=rel, fmt=fmt, payload=fetched.payload, store="s3",
        fallback_title=rel.rsplit("/", 1)[-1].rsplit(".", 1)[0], report=report, naming=naming,
    )  # fmt: skip
    revisions: dict[str, JSONValue] = {
        "retained": versioning == "Enabled",
        "count": count if count else 1,
        "current_version": fetched.version_id,
        "last_changed_at": _timestamp(fetched.last_modified) if fetched.last_modified else None,
        "last_changed_by": None,  # S3 does not record who wrote an object
    }
    data.update(uri=uri, revisions=revisions)
    return Evidence(
        kind=KIND,
        source=uri,
        scope={"store": given},
        collector=COLLECTOR,
        collected_at=request.now,
        data=data,
    )


def _metadata_fields(metadata: Mapping[str, str], naming: Naming) -> dict[str, RawField]:
    fields: dict[str, RawField] = {}
    other: dict[str, str] = {}
    for name, value in sorted(metadata.items()):
        if name.lower().startswith(METADATA_PREFIX):
            field = naming.key(name[len(METADATA_PREFIX) :], "property")
            origin = f"S3 metadata x-amz-meta-{name}"
            add_field(fields, field, RawField(value=value, origin=origin, text=value, name=name))
        else:
            other[name] = value
    if other:
        fields["s3_metadata"] = RawField(value=other, origin="S3 metadata")
    return fields


def _tag_fields(tag_set: Any, naming: Naming) -> dict[str, RawField]:
    fields: dict[str, RawField] = {}
    other: dict[str, str] = {}
    for tag in sorted(tag_set, key=lambda tag: str(tag["Key"])):
        name, value = str(tag["Key"]), str(tag["Value"])
        if name.lower().startswith(TAG_PREFIX):
            field = naming.key(name[len(TAG_PREFIX) :], "property")
            raw: Any = (
                [part for part in re.split(r"[\s+,]+", value) if part] if field in LIST_FIELDS else value
            )
            add_field(fields, field, RawField(value=raw, origin=f"S3 tag {name}", text=value, name=name))
        else:
            other[name] = value
    if other:
        fields["s3_tags"] = RawField(value=other, origin="S3 tags")
    return fields


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
