"""Evidence kinds and their JSON Schemas: what the checker resolves field paths against.

The registry is filled by the application layer (from collector specs, or from an evidence bundle's
header); the language core only reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from annexa.contract.validation import DRAFT_2020_12, DataValidator, data_validator, schema_problem
from annexa.model.errors import EngineError
from annexa.model.evidence import Evidence


@dataclass(frozen=True, slots=True)
class Type:
    """A static type of the rule language."""

    name: str  # any, null, bool, number, string, datetime, duration, list, map, record
    element: Type | None = None  # list element, map value
    fields: tuple[tuple[str, Type], ...] = ()  # record fields
    open: bool = True  # record: unknown fields allowed (the schema did not close the object)

    def field(self, name: str) -> Type | None:
        return next((t for n, t in self.fields if n == name), None)

    def __str__(self) -> str:
        if self.name == "list" and self.element is not None and self.element.name != "any":
            return f"list of {self.element}"
        return {"record": "object", "map": "object"}.get(self.name, self.name)


ANY = Type("any")
NULL = Type("null")
BOOL = Type("bool")
NUMBER = Type("number")
STRING = Type("string")
DATETIME = Type("datetime")
DURATION = Type("duration")


def list_of(element: Type) -> Type:
    return Type("list", element=element)


def type_from_schema(schema: Mapping[str, Any] | bool, depth: int = 0) -> Type:
    """Map a JSON Schema to a language type; unions of one type with null keep that type."""
    if not isinstance(schema, Mapping) or depth > 20:
        return ANY
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else list(declared or [])
    names = [n for n in names if n != "null"]
    if len(names) != 1:
        for key in ("anyOf", "oneOf"):
            options = [
                o for o in schema.get(key, ()) if not (isinstance(o, Mapping) and o.get("type") == "null")
            ]
            if len(options) == 1:
                return type_from_schema(options[0], depth + 1)
        return ANY
    name = names[0]
    if name == "string":
        return DATETIME if schema.get("format") in ("date", "date-time") else STRING
    if name in ("number", "integer"):
        return NUMBER
    if name == "boolean":
        return BOOL
    if name == "array":
        return list_of(type_from_schema(schema.get("items", {}), depth + 1))
    if name == "object":
        properties = schema.get("properties")
        extra = schema.get("additionalProperties", None)
        if isinstance(properties, Mapping) and properties:
            fields = tuple(sorted((k, type_from_schema(v, depth + 1)) for k, v in properties.items()))
            return Type("record", fields=fields, open=bool(extra) or isinstance(extra, Mapping))
        if isinstance(extra, Mapping):
            return Type("map", element=type_from_schema(extra, depth + 1))
        return Type("map", element=ANY)
    return ANY


class KindRegistry:
    """Evidence kind name -> JSON Schema of the item's ``data``."""

    def __init__(self, schemas: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._schemas: dict[str, Mapping[str, Any]] = {}
        self._validators: dict[str, DataValidator] = {}
        for kind, schema in (schemas or {}).items():
            self.add(kind, schema)

    def add(self, kind: str, schema: Mapping[str, Any]) -> None:
        problem = schema_problem(schema, DRAFT_2020_12)  # once per distinct schema and process
        if problem is not None:
            raise EngineError(f"evidence kind {kind}: invalid JSON Schema: {problem.message}") from problem
        self._schemas[kind] = schema
        self._validators.pop(kind, None)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._schemas))

    def __contains__(self, kind: object) -> bool:
        return kind in self._schemas

    def schema(self, kind: str) -> Mapping[str, Any]:
        return self._schemas[kind]

    def type_of(self, kind: str) -> Type:
        return type_from_schema(self._schemas[kind])

    def validate(self, item: Evidence) -> list[str]:
        """Schema violations of the item's data, each with its field path; empty when valid."""
        if item.kind not in self._schemas:
            return [f"evidence kind {item.kind!r} is not declared by any collector"]
        validator = self._validators.get(item.kind)
        if validator is None:
            validator = self._validators[item.kind] = data_validator(self._schemas[item.kind], DRAFT_2020_12)
        problems = []
        for error in sorted(validator.iter_errors(dict(item.data)), key=lambda e: list(map(str, e.path))):
            where = ".".join(str(p) for p in error.absolute_path) or "(data)"
            problems.append(f"{where}: {error.message}")
        return problems
