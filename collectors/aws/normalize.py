"""Small conversions from boto3 shapes to evidence values: times, tags, environments, S3 URIs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from annexa.model.evidence import JSONValue

# Environment variables of models and training containers routinely hold credentials (DB_PASSWORD,
# HF_TOKEN, an API key under an innocent name). Only the names are evidence; no rule needs a value.
ENV_MARK: Final = "[REDACTED:environment]"


def timestamp(value: Any) -> str | None:
    """An ISO 8601 UTC string for a datetime (or epoch milliseconds, as CloudWatch Logs sends)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def tags(
    entries: Iterable[Mapping[str, Any]] | None, key: str = "Key", value: str = "Value"
) -> dict[str, JSONValue]:
    """``[{"Key": k, "Value": v}]`` -> ``{k: v}``."""
    return {str(entry[key]): str(entry.get(value, "")) for entry in entries or ()}


def environment(variables: Mapping[str, Any] | None) -> dict[str, JSONValue]:
    """Variable names with every value replaced by :data:`ENV_MARK`."""
    return {str(name): ENV_MARK for name in sorted(variables or {})}


def bucket_of(uri: str | None) -> str | None:
    """``s3://bucket/key`` -> ``bucket``; None for other URIs."""
    if not uri or not uri.startswith("s3://"):
        return None
    return uri[len("s3://") :].split("/", 1)[0] or None


def sorted_strings(values: Iterable[object]) -> list[JSONValue]:
    """The distinct values as sorted strings, typed as evidence (to mypy a ``list[str]`` is no JSON list)."""
    found: list[JSONValue] = []
    found.extend(sorted({str(v) for v in values}))
    return found
