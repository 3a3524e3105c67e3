"""annexa collector for an AI system inventory kept as a CSV or YAML file.

One evidence item of kind ``inventory.ai_system`` per system; the rules decide whether the inventory is
good enough (an owner for every system, a risk level, ...), the collector only reports what it reads.

A row that cannot be read as a system (no id, an unknown lifecycle stage or risk level, an id used
twice), and an inventory file that cannot be parsed, are reported as *defective* items
(``request.report_defect``): every rule over the inventory fails on them, so a broken row can never make
the inventory look better than a complete one.
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


class InvalidInventory(ValueError):
    """The inventory file cannot be parsed; the message names it."""


class InventoryCollector:
    """Reads the inventory file named in ``collectors.inventory.path``."""

    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        if KIND not in request.kinds:
            return
        path = Path(request.base_path) / str(request.config["path"])
        shown = str(request.config["path"])
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".yaml", ".yml"):
            raise CollectorError(
                f"inventory {shown}: unsupported file type {suffix!r}", hint="use .csv, .yaml or .yml"
            )
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            raise CollectorError(
                f"cannot read inventory {shown}: it {what}",
                hint="check collectors.inventory.path (relative to the folder of annexa.yaml)",
            )
        try:
            rows = _read_rows(path.read_text(encoding="utf-8"), suffix=suffix, shown=shown)
        except (OSError, UnicodeDecodeError, InvalidInventory) as exc:
            # The inventory is there but cannot be read: one defective item stands for all it holds.
            message = str(exc) if isinstance(exc, InvalidInventory) else f"{shown}: cannot be read ({exc})"
            request.report_defect(KIND, f"inventory:{shown}", message)
            request.report_problem(shown, message)
            return
        seen: set[str] = set()
        for number, raw in rows:
            where = f"{shown} row {number}"
            record = _normalise(raw)
            problem = _row_problem(record)
            system_id = str(record["system_id"] or "")
            if not problem and system_id in seen:
                problem = f"system id {system_id!r} appears more than once; kept the first"
            if problem:
                # Never dropped in silence: the row is a defective item of the system it names (of the
                # row itself when it names none, or names one already read).
                named = bool(system_id) and system_id not in seen
                source = f"inventory:{system_id}" if named else f"inventory:{where}"
                request.report_defect(KIND, source, f"{where}: {problem}")
                request.report_problem(where, problem)
                seen.add(system_id)
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
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
            # Row numbers as a spreadsheet shows them: the header is row 1.
            return [(index + 2, row) for index, row in enumerate(reader)]
        except csv.Error as exc:
            raise InvalidInventory(f"{shown}: not valid CSV: {exc}") from exc
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInventory(f"{shown}: not valid YAML: {' '.join(str(exc).split())}") from exc
    systems = value.get("ai_systems", value.get("systems")) if isinstance(value, dict) else value
    if not isinstance(systems, list):
        raise InvalidInventory(f"{shown}: expected a list of systems (or an `ai_systems:` / `systems:` list)")
    return [(index + 1, item if isinstance(item, dict) else {}) for index, item in enumerate(systems)]


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


# Words organisations use for a stage, so that the problem says which stage is meant (never mapped
# silently: the inventory is the organisation's record and should say what it means).
_STAGE_HINTS = {
    "production": "operation",
    "prod": "operation",
    "live": "operation",
    "testing": "verification",
}


def _row_problem(record: Mapping[str, Any]) -> str | None:
    if not record.get("system_id"):
        return "no system id"
    stage = record.get("lifecycle_stage")
    if stage is not None and stage not in LIFECYCLE_STAGES:
        meant = _STAGE_HINTS.get(stage)
        hint = f"; did you mean `{meant}`?" if meant else ""
        return f"unknown lifecycle stage {stage!r} (expected one of {', '.join(LIFECYCLE_STAGES)}){hint}"
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
