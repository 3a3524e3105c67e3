"""annexa collector for an AI system inventory kept as a CSV or YAML file.

One evidence item of kind ``inventory.ai_system`` per system; the rules decide whether the inventory is
good enough (an owner for every system, a risk level, ...), the collector only reports what it reads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from annexa.plugins import CollectorError, CollectorSpec, CollectRequest, Evidence, hookimpl

__version__ = "0.1.0"

KIND = "inventory.ai_system"

CONFIG_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {"path": {"type": "string", "minLength": 1, "description": "CSV or YAML inventory file"}},
}

LIFECYCLE_STAGES = ("design", "development", "verification", "deployment", "operation", "retired")
RISK_LEVELS = ("low", "medium", "high", "unacceptable")

AI_SYSTEM_SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": [
        "system_id",
        "name",
        "owner",
        "purpose",
        "lifecycle_stage",
        "risk_level",
        "data_sources",
        "suppliers",
    ],
    "properties": {
        "system_id": {"type": "string", "minLength": 1},
        "name": {"type": "string"},
        "owner": {"type": ["string", "null"]},
        "purpose": {"type": ["string", "null"]},
        "lifecycle_stage": {"enum": [*LIFECYCLE_STAGES, None]},
        "risk_level": {"enum": [*RISK_LEVELS, None]},
        "data_sources": {"type": "array", "items": {"type": "string"}},
        "suppliers": {"type": "array", "items": {"type": "string"}},
    },
}

# Accepted spellings of each field in a CSV header or YAML key, normalised to snake_case.
_ALIASES = {
    "id": "system_id",
    "system": "system_id",
    "stage": "lifecycle_stage",
    "lifecycle": "lifecycle_stage",
    "risk": "risk_level",
}
_LIST_FIELDS = ("data_sources", "suppliers")


class InventoryCollector:
    """Reads the inventory file named in ``collectors.inventory.path``."""

    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        if KIND not in request.kinds:
            return
        path = Path(request.base_path) / str(request.config["path"])
        shown = str(request.config["path"])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CollectorError(
                f"cannot read inventory {shown}: {exc.strerror or exc}",
                hint="check collectors.inventory.path (relative to the folder of annexa.yaml)",
            ) from exc
        rows = _read_rows(text, suffix=path.suffix.lower(), shown=shown)
        seen: set[str] = set()
        for number, raw in rows:
            where = f"{shown} row {number}"
            record = _normalise(raw)
            problem = _row_problem(record)
            if problem:
                request.report_problem(where, problem)
                continue
            system_id = str(record["system_id"])
            if system_id in seen:
                request.report_problem(
                    where, f"system id {system_id!r} appears more than once; kept the first"
                )
                continue
            seen.add(system_id)
            yield Evidence(
                kind=KIND,
                source=f"inventory:{system_id}",
                scope={"inventory": shown},
                collector=f"inventory {__version__}",
                collected_at=request.now,
                data=record,
            )


def _read_rows(text: str, *, suffix: str, shown: str) -> list[tuple[int, Mapping[str, Any]]]:
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        # Row numbers as a spreadsheet shows them: the header is row 1.
        return [(index + 2, row) for index, row in enumerate(reader)]
    if suffix in (".yaml", ".yml"):
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CollectorError(f"inventory {shown} is not valid YAML: {exc}") from exc
        systems = value.get("systems") if isinstance(value, dict) else value
        if not isinstance(systems, list):
            raise CollectorError(f"inventory {shown}: expected a list of systems (or a `systems:` list)")
        return [(index + 1, item if isinstance(item, dict) else {}) for index, item in enumerate(systems)]
    raise CollectorError(
        f"inventory {shown}: unsupported file type {suffix!r}", hint="use .csv, .yaml or .yml"
    )


def _normalise(raw: Mapping[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in raw.items():
        if key is None:
            continue  # csv puts surplus cells under None
        name = str(key).strip().lower().replace(" ", "_").replace("-", "_")
        name = _ALIASES.get(name, name)
        if name in AI_SYSTEM_SCHEMA["properties"]:
            record[name] = value
    for name in ("system_id", "name", "owner", "purpose", "lifecycle_stage", "risk_level"):
        value = record.get(name)
        text = str(value).strip() if value is not None else ""
        record[name] = text.lower() if name in ("lifecycle_stage", "risk_level") and text else (text or None)
    for name in _LIST_FIELDS:
        record[name] = _as_list(record.get(name))
    if record["name"] is None:
        record["name"] = record["system_id"]
    return record


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    # CSV cells hold several values separated by semicolons.
    return [part.strip() for part in str(value).split(";") if part.strip()]


def _row_problem(record: Mapping[str, Any]) -> str | None:
    if not record.get("system_id"):
        return "no system id"
    stage = record.get("lifecycle_stage")
    if stage is not None and stage not in LIFECYCLE_STAGES:
        return f"unknown lifecycle stage {stage!r} (expected one of {', '.join(LIFECYCLE_STAGES)})"
    risk = record.get("risk_level")
    if risk is not None and risk not in RISK_LEVELS:
        return f"unknown risk level {risk!r} (expected one of {', '.join(RISK_LEVELS)})"
    return None


@hookimpl
def annexa_collectors() -> Iterable[CollectorSpec]:
    yield CollectorSpec(
        name="inventory",
        version=__version__,
        kinds={KIND: AI_SYSTEM_SCHEMA},
        config_schema=CONFIG_SCHEMA,
        factory=InventoryCollector,
        description="AI system inventory from a CSV or YAML file",
    )
