"""The built-in ``scope`` collector: the AI systems the management system covers (clause 4.3), as declared.

Per-system rules iterate over these declared systems, never over "systems that happen to have a record",
so that deleting a record leaves a system without its record (a finding), not a smaller scope. The scope
is configured in the top-level ``scope`` section of annexa.yaml, either inline::

    scope:
      ai_systems:
        - {id: fraud-scoring, name: Card fraud scoring, owner: Head of Risk, lifecycle_stage: operation}

or by naming an inventory file as authoritative (YAML: a list, or a mapping with ``ai_systems``; CSV
with a header row)::

    scope:
      inventory: ./governance/ai-systems.csv

A scope that is missing, empty or broken (an unreadable file, a row without an id, an unknown lifecycle
stage, a duplicate id) is never a smaller scope: the collector fails as a whole, so every per-system
rule is inconclusive, with the reason.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from annexa.model.evidence import Evidence
from annexa.plugins import CollectorError, CollectorSpec, CollectRequest, hookimpl

NAME = "scope"
VERSION = "0.1.0"
KIND = "ai_system"

# ISO/IEC 22989 life-cycle stages, as the inventory and the system records name them.
LIFECYCLE_STAGES = ("design", "development", "verification", "deployment", "operation", "retired")
# Words organisations use for a stage, so that the error can say which stage is meant.
STAGE_HINTS = {
    "production": "operation",
    "prod": "operation",
    "live": "operation",
    "in-production": "operation",
    "validation": "verification",
    "testing": "verification",
    "build": "development",
    "decommissioned": "retired",
    "inception": "design",
}
_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]*$"

_SYSTEM_ENTRY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": _ID_PATTERN, "description": "The AI system id documents cite."},
        "name": {"type": "string", "minLength": 1},
        "owner": {"type": "string", "minLength": 1},
        "lifecycle_stage": {"enum": list(LIFECYCLE_STAGES)},
    },
    "required": ["id", "owner", "lifecycle_stage"],
    "additionalProperties": False,
}

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "scope",
    "description": "The AI systems in the management system's scope (clause 4.3): listed here, or read "
    "from an inventory file named as authoritative.",
    "type": "object",
    "properties": {
        "ai_systems": {"type": "array", "minItems": 1, "items": _SYSTEM_ENTRY},
        "inventory": {
            "type": "string",
            "minLength": 1,
            "description": "A CSV or YAML inventory of the AI systems in scope, relative to annexa.yaml.",
        },
    },
    "oneOf": [{"required": ["ai_systems"]}, {"required": ["inventory"]}],
    "additionalProperties": False,
}

AI_SYSTEM_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ai_system",
    "description": "One AI system in the declared scope of the AI management system (clause 4.3).",
    "type": "object",
    "properties": {
        "id": {
            "type": "string",
            "pattern": _ID_PATTERN,
            "description": "As documents cite it in ai_systems.",
        },
        "name": {"type": ["string", "null"]},
        "owner": {"type": "string", "description": "Who is accountable for the system."},
        "lifecycle_stage": {"enum": list(LIFECYCLE_STAGES)},
        "declared_in": {"type": "string", "description": "annexa.yaml, or the inventory file's path."},
    },
    "required": ["id", "name", "owner", "lifecycle_stage", "declared_in"],
    "additionalProperties": False,
}

# Other spellings of a field in an inventory's header or keys.
_ALIASES = {"system_id": "id", "system": "id", "stage": "lifecycle_stage", "lifecycle": "lifecycle_stage"}


class ScopeCollector:
    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        config = request.config
        if "inventory" in config:
            path = Path(request.base_path) / str(config["inventory"])
            where = str(config["inventory"])
            rows = _read_inventory(path, where)
        else:
            where = "annexa.yaml"
            rows = [(f"scope.ai_systems[{n}]", dict(entry)) for n, entry in enumerate(config["ai_systems"])]
        systems = [_system(label, row) for label, row in rows]
        if not systems:
            raise CollectorError(f"the scope source {where} declares no AI system", kinds=(KIND,))
        seen: set[str] = set()
        for system in systems:
            if system["id"] in seen:
                raise CollectorError(f"the scope source {where} declares {system['id']} twice", kinds=(KIND,))
            seen.add(system["id"])
        for system in systems:
            yield Evidence(
                kind=KIND,
                source=f"scope:{system['id']}",
                scope={},
                collector=f"{NAME} {VERSION}",
                collected_at=request.now,
                data={**system, "declared_in": where},
            )


def _read_inventory(path: Path, where: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CollectorError(f"the scope inventory {where} does not exist", kinds=(KIND,)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CollectorError(f"the scope inventory {where} cannot be read: {exc}", kinds=(KIND,)) from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        return [(f"{where} row {number}", dict(row)) for number, row in enumerate(reader, start=2)]
    import yaml  # only for a YAML inventory: registering the collector does not need it

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CollectorError(f"the scope inventory {where} is not valid YAML: {exc}", kinds=(KIND,)) from None
    if isinstance(value, Mapping):
        value = value.get("ai_systems", value.get("systems"))
    if not isinstance(value, list):
        raise CollectorError(
            f"the scope inventory {where} must be a list of AI systems, or hold one under ai_systems",
            kinds=(KIND,),
        )
    return [(f"{where} entry {number}", entry) for number, entry in enumerate(value, start=1)]


def _system(label: str, row: Any) -> dict[str, Any]:
    """One declared system, normalised; any defect fails the whole scope (a smaller scope is no answer)."""
    if not isinstance(row, Mapping):
        raise CollectorError(f"{label} is not a mapping of id, name, owner, lifecycle_stage", kinds=(KIND,))
    fields: dict[str, Any] = {}
    for key, value in row.items():
        field_name = str(key).strip().lower().replace(" ", "_")
        fields[_ALIASES.get(field_name, field_name)] = value.strip() if isinstance(value, str) else value
    system_id, owner = fields.get("id"), fields.get("owner")
    if not isinstance(system_id, str) or not system_id:
        raise CollectorError(f"{label} names no AI system id", kinds=(KIND,))
    if not isinstance(owner, str) or not owner:
        raise CollectorError(f"{label} ({system_id}) names no owner", kinds=(KIND,))
    stage = fields.get("lifecycle_stage")
    stage = stage.lower() if isinstance(stage, str) else stage
    if stage not in LIFECYCLE_STAGES:
        meant = STAGE_HINTS.get(str(stage))
        meant = meant or next(iter(difflib.get_close_matches(str(stage), LIFECYCLE_STAGES, n=1)), None)
        hint = f"did you mean `{meant}`?" if meant else None
        raise CollectorError(
            f"{label} ({system_id}): unknown lifecycle stage {stage!r} "
            f"(expected one of {', '.join(LIFECYCLE_STAGES)})" + (f"; {hint}" if hint else ""),
            kinds=(KIND,),
        )
    title = fields.get("name")
    return {
        "id": system_id,
        "name": title if isinstance(title, str) and title else None,
        "owner": owner,
        "lifecycle_stage": stage,
    }


@hookimpl
def annexa_collectors() -> Iterator[CollectorSpec]:
    yield CollectorSpec(
        name=NAME,
        version=VERSION,
        kinds={KIND: AI_SYSTEM_SCHEMA},
        config_schema=CONFIG_SCHEMA,
        factory=ScopeCollector,
        description="The AI systems in scope (clause 4.3), from annexa.yaml's `scope` or an inventory file.",
    )
