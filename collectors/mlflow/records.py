"""Registry answers -> evidence ``data``: snake_case fields, tag lists as maps, times as ISO strings.

Only the fields named in schema.py leave this module, so an MLflow release that adds or renames a field in
its answers changes no rule.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from annexa.model.evidence import JSONValue

# The registry's placeholder for "no stage"; normalised to null.
NO_STAGE = "None"
PRODUCTION_STAGE = "Production"
DATASET_CONTEXT_TAG = "mlflow.data.context"


def registered_model(raw: Mapping[str, Any], owner_tag: str) -> dict[str, JSONValue]:
    tags = tag_map(raw.get("tags"))
    latest = [
        version_number(v.get("version")) for v in raw.get("latest_versions") or () if isinstance(v, dict)
    ]
    return {
        "name": str(raw["name"]),
        "description": _text(raw.get("description")),
        "tags": dict(tags),
        "aliases": dict(alias_map(raw.get("aliases"))),
        "owner": _text(tags.get(owner_tag)),
        "user_id": _text(raw.get("user_id")),
        "latest_version": max((n for n in latest if n is not None), default=None),
        "created_at": _timestamp(raw.get("creation_timestamp")),
        "updated_at": _timestamp(raw.get("last_updated_timestamp")),
    }


def model_version(
    raw: Mapping[str, Any], version: int, aliases: Iterable[str], production_aliases: frozenset[str]
) -> dict[str, JSONValue]:
    stage = _text(raw.get("current_stage"))
    stage = None if stage == NO_STAGE else stage
    names = sorted(aliases)
    return {
        "model_name": str(raw["name"]),
        "version": version,
        "status": str(raw.get("status") or "READY"),
        "status_message": _text(raw.get("status_message")),
        "description": _text(raw.get("description")),
        "tags": dict(tag_map(raw.get("tags"))),
        "source": str(raw.get("source") or ""),
        "run_id": _text(raw.get("run_id")),
        "run_link": _text(raw.get("run_link")),
        "aliases": list(names),
        "stage": stage,
        "production": stage == PRODUCTION_STAGE or any(name in production_aliases for name in names),
        "user_id": _text(raw.get("user_id")),
        "created_at": _timestamp(raw.get("creation_timestamp")),
        "updated_at": _timestamp(raw.get("last_updated_timestamp")),
    }


def run(raw: Mapping[str, Any], behind: Iterable[str]) -> dict[str, JSONValue]:
    info = raw.get("info") or {}
    data = raw.get("data") or {}
    inputs = raw.get("inputs") or {}
    run_id = str(info.get("run_id") or info.get("run_uuid") or "")
    return {
        "run_id": run_id,
        "run_name": _text(info.get("run_name")),
        "experiment_id": str(info.get("experiment_id") or ""),
        "status": str(info.get("status") or ""),
        "lifecycle_stage": str(info.get("lifecycle_stage") or "active"),
        "user_id": _text(info.get("user_id")),
        "started_at": _timestamp(info.get("start_time")),
        "ended_at": _timestamp(info.get("end_time")),
        "artifact_uri": _text(info.get("artifact_uri")),
        "params": dict(tag_map(data.get("params"))),
        "metrics": _metrics(data.get("metrics")),
        "tags": dict(tag_map(data.get("tags"))),
        "datasets": [
            _dataset(entry) for entry in inputs.get("dataset_inputs") or () if isinstance(entry, dict)
        ],
        "model_versions": list[JSONValue](sorted(set(behind))),
    }


def tag_map(entries: Any) -> dict[str, str]:
    """``[{key, value}]`` (tags, params) -> ``{key: value}``; entries without a key are dropped."""
    found: dict[str, str] = {}
    for entry in entries or ():
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            found[entry["key"]] = "" if entry.get("value") is None else str(entry["value"])
    return found


def alias_map(entries: Any) -> dict[str, int]:
    """``[{alias, version}]`` -> ``{alias: version}``; an alias on an unparsable version is dropped."""
    found: dict[str, int] = {}
    for entry in entries or ():
        if isinstance(entry, dict) and isinstance(entry.get("alias"), str):
            number = version_number(entry.get("version"))
            if number is not None:
                found[entry["alias"]] = number
    return found


def version_number(value: Any) -> int | None:
    """The registry sends versions as strings ("3"); null when it is not a positive integer."""
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if number >= 1 else None


def _metrics(entries: Any) -> dict[str, JSONValue]:
    """Latest value per key (the highest step, then the latest timestamp), as get-run returns them."""
    chosen: dict[str, tuple[int, int, float | None]] = {}
    for entry in entries or ():
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            continue
        order = (_int(entry.get("step")), _int(entry.get("timestamp")))
        key = entry["key"]
        if key not in chosen or order >= chosen[key][:2]:
            chosen[key] = (*order, _number(entry.get("value")))
    return {key: value for key, (_, _, value) in sorted(chosen.items())}


def _number(value: Any) -> float | None:
    """JSON has no NaN or infinity (MLflow sends them as the strings "NaN", "Infinity"): those are null."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _dataset(entry: Mapping[str, Any]) -> dict[str, JSONValue]:
    dataset = entry.get("dataset") or {}
    tags = tag_map(entry.get("tags"))
    source = _text(dataset.get("source"))
    profile = _json_object(dataset.get("profile"))
    return {
        "name": str(dataset.get("name") or ""),
        "digest": _text(dataset.get("digest")),
        "source_type": _text(dataset.get("source_type")),
        "source": source,
        "source_uri": _source_uri(source),
        "context": _text(tags.get(DATASET_CONTEXT_TAG)),
        "has_schema": _text(dataset.get("schema")) is not None,
        "profile": profile,
        "tags": dict(tags),
    }


def _source_uri(source: str | None) -> str | None:
    parsed = _json_object(source)
    if parsed is None:
        return None
    for key in ("uri", "url", "path", "table_name"):
        value = parsed.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _json_object(text: Any) -> dict[str, JSONValue] | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        parsed = json.loads(text, parse_constant=lambda _: None)  # NaN in a profile is not JSON either
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _text(value: Any) -> str | None:
    """Strings as given, except that empty or blank ones are null (MLflow sends "" for "not set")."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _timestamp(value: Any) -> str | None:
    """Milliseconds since the epoch -> ISO 8601 UTC; 0 and missing values are null."""
    millis = _int(value)
    if millis <= 0:
        return None
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
