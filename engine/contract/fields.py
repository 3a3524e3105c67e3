"""The evidence contract: which fields each evidence kind carries, and which of them rules may read.

``data/evidence_contract.yaml`` declares what no schema says: the common metadata of a ``document`` and,
per document type, the type-specific metadata the collector keeps in the document's ``metadata`` object
(:func:`metadata_schema` is that object's JSON Schema; ``extra`` holds only keys the contract does not
declare for the type). Every other kind's fields are derived from its JSON Schema when asked
(:func:`schema_fields`), so nothing is written twice.

The rule check (``annexa.lang.reads``) refuses a rule that reads ``d.metadata.key`` on a document when
the contract declares no such field for the document type the rule selects (``d.type == "..."``), with a
"did you mean", and a built-in rule that reads ``extra`` at all; rules outside the built-in pack get a
warning instead.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from annexa.contract.catalog import load_catalog, read_data
from annexa.model.errors import EngineError

__all__ = [
    "METADATA",
    "Contract",
    "ContractField",
    "DocumentType",
    "Section",
    "field_schema",
    "load_contract",
    "metadata_schema",
    "schema_fields",
]

DOCUMENT_KIND = "document"
BUILTIN_PREFIX = "builtin:"
FIELD_TYPES = (
    "string", "date", "boolean", "integer", "number", "list of strings", "list of objects", "object",
    "text, list or mapping",  # free-form: a rule asks only whether it is given
)  # fmt: skip
ITEM = "[]"  # a path step into each element of a list


class ContractError(EngineError):
    """The contract file is malformed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractField:
    name: str
    type: str  # one of FIELD_TYPES, or a label derived from a JSON Schema ("string or null", ...)
    required: bool
    required_when: str | None = None
    allowed: tuple[str, ...] = ()
    description: str = ""
    catalog: tuple[str, ...] = ()  # the catalog evidence signals whose call names the field
    catalog_note: str | None = None  # where the catalog comes closest, when it names no signal
    fields: tuple[ContractField, ...] = ()  # members of an object, or of each object of a list

    def member(self, name: str) -> ContractField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """A section a document of a type must have, filled: a heading naming ``topic`` with text under it."""

    topic: str
    catalog: tuple[str, ...] = ()  # the catalog evidence signals whose sections_filled names it


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentType:
    name: str
    fields: tuple[ContractField, ...]
    sections: tuple[Section, ...] = ()

    def field(self, name: str) -> ContractField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Contract:
    common: tuple[ContractField, ...]  # a document's common metadata (types filled from its schema)
    document_types: tuple[DocumentType, ...]  # type-specific metadata, kept under ``metadata``
    kind_notes: Mapping[str, Mapping[str, str]]  # kind -> field -> what its schema cannot say
    # Every document type the rules know: the catalog's expected documents and the types above.
    type_names: tuple[str, ...] = ()
    # An old document type name -> the reference catalog's name it was renamed to.
    renamed_types: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def document_type(self, name: str) -> DocumentType | None:
        return next((t for t in self.document_types if t.name == name), None)

    def common_field(self, name: str) -> ContractField | None:
        return next((f for f in self.common if f.name == name), None)

    def metadata_fields(self, doc_type: str) -> tuple[ContractField, ...]:
        """The common fields and those of ``doc_type``: what a document of that type carries."""
        found = self.document_type(doc_type)
        return (*self.common, *(found.fields if found else ()))


def _field(name: str, raw: Mapping[str, Any], where: str) -> ContractField:
    known = {
        "type",
        "required",
        "required_when",
        "allowed",
        "description",
        "catalog",
        "catalog_note",
        "fields",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ContractError(f"evidence contract: {where}.{name}: unknown key(s) {', '.join(unknown)}")
    type_ = str(raw.get("type", ""))
    if "type" in raw and type_ not in FIELD_TYPES:
        raise ContractError(f"evidence contract: {where}.{name}: type {type_!r} is not one of {FIELD_TYPES}")
    members = raw.get("fields") or {}
    return ContractField(
        name=name,
        type=type_,
        required=bool(raw.get("required", False)),
        required_when=raw.get("required_when"),
        allowed=tuple(str(v) for v in raw.get("allowed") or ()),
        description=str(raw.get("description", "")),
        catalog=tuple(str(v) for v in raw.get("catalog") or ()),
        catalog_note=raw.get("catalog_note"),
        fields=tuple(_field(k, v or {}, f"{where}.{name}") for k, v in members.items()),
    )


def parse_contract(raw: Mapping[str, Any]) -> Contract:
    if raw.get("schema_version") != 1:
        raise ContractError("evidence contract: schema_version must be 1")
    document = raw.get("document") or {}
    common = tuple(_field(k, v or {}, "document.common") for k, v in (document.get("common") or {}).items())
    sections = {
        name: tuple(
            Section(topic=str(topic), catalog=tuple(map(str, ids or ()))) for topic, ids in topics.items()
        )
        for name, topics in (document.get("sections") or {}).items()
    }
    types = tuple(
        DocumentType(
            name=name,
            fields=tuple(_field(k, v or {}, f"document.types.{name}") for k, v in (fields or {}).items()),
            sections=sections.pop(name, ()),
        )
        for name, fields in (document.get("types") or {}).items()
    )
    # A type with sections but no type-specific fields.
    types += tuple(DocumentType(name=name, fields=(), sections=found) for name, found in sections.items())
    notes = {
        kind: {name: str(note) for name, note in (fields or {}).items()}
        for kind, fields in (raw.get("kinds") or {}).items()
    }
    renamed = {str(old): str(new) for old, new in (raw.get("renamed_types") or {}).items()}
    return Contract(common=common, document_types=types, kind_notes=notes, renamed_types=renamed)


@functools.cache
def load_contract() -> Contract:
    """The contract shipped with annexa (``data/evidence_contract.yaml``)."""
    contract = parse_contract(read_data("evidence_contract.yaml"))  # every compile reads this: cached
    names = {*load_catalog().expected_document_types(), *(t.name for t in contract.document_types)}
    return dataclasses.replace(contract, type_names=tuple(sorted(names)))


# --- fields derived from JSON Schemas -----------------------------------------------------------------


def schema_type(schema: Mapping[str, Any] | bool) -> str:
    """A reader's label for a JSON Schema: ``date``, ``list of strings``, ``string or null``."""
    if not isinstance(schema, Mapping):
        return "any"
    if "enum" in schema:
        values = list(schema["enum"])
        return "one of the allowed values" + (" or null" if None in values else "")
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [schema_type(option) for option in schema[key]]
            return " or ".join(dict.fromkeys(options))
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else list(declared or [])
    labels = []
    for name in names:
        if name == "string" and schema.get("format") in ("date", "date-time"):
            labels.append(str(schema["format"]))
        elif name == "array":
            item = schema_type(schema.get("items", {}))
            labels.append("list" if item == "any" else f"list of {_plural(item)}")
        else:
            labels.append(str(name))
    return " or ".join(labels) if labels else "any"


def _plural(label: str) -> str:
    return {"string": "strings", "object": "objects", "integer": "integers", "number": "numbers"}.get(
        label, label
    )


def schema_fields(
    schema: Mapping[str, Any], notes: Mapping[str, str] | None = None
) -> tuple[ContractField, ...]:
    """The top-level fields of a kind's schema, with the contract's notes on them."""
    required = set(schema.get("required") or ())
    fields = []
    for name, sub in sorted((schema.get("properties") or {}).items()):
        sub = sub if isinstance(sub, Mapping) else {}
        type_ = schema_type(sub)
        allowed = tuple(str(v) for v in sub.get("enum", ()) if v is not None)
        description = str(sub.get("description", ""))
        if notes and name in notes:
            description = f"{description} {notes[name]}".strip()
        fields.append(
            ContractField(
                name=name,
                type=type_,
                required=name in required and not type_.endswith("or null"),
                allowed=allowed,
                description=description,
            )
        )
    return tuple(fields)


def common_fields(contract: Contract, document_schema: Mapping[str, Any] | None) -> tuple[ContractField, ...]:
    """The contract's common document fields, typed from the ``document`` kind's schema."""
    properties = (document_schema or {}).get("properties") or {}
    typed = []
    for field_ in contract.common:
        sub = properties.get(field_.name)
        if sub is None:
            typed.append(field_)
            continue
        allowed = tuple(str(v) for v in sub.get("enum", ()) if v is not None)
        typed.append(
            ContractField(
                name=field_.name,
                type=_present(schema_type(sub)),
                required=field_.required,
                required_when=field_.required_when,
                allowed=allowed or field_.allowed,
                description=field_.description,
                catalog=field_.catalog,
                catalog_note=field_.catalog_note,
            )
        )
    return tuple(typed)


def _present(label: str) -> str:
    """A metadata field's type as its writer sees it: null only means absent, an enum is a string."""
    label = label.removesuffix(" or null").replace("date-time", "date")
    return "string" if label == "one of the allowed values" else label


# --- the ``metadata`` object of a document ------------------------------------------------------------

METADATA = "metadata"  # the document data field holding the contract's type-specific fields

_SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
}


def field_schema(field_: ContractField) -> dict[str, Any]:
    """The JSON Schema of a declared field's value; null (not given) is always allowed."""
    members = {m.name: field_schema(m) for m in field_.fields}
    if field_.type in _SCALAR_SCHEMAS:
        schema = dict(_SCALAR_SCHEMAS[field_.type])
        if field_.allowed:
            schema["enum"] = list(field_.allowed)
    elif field_.type == "list of strings":
        item: dict[str, Any] = {"type": "string"}
        if field_.allowed:
            item["enum"] = list(field_.allowed)
        schema = {"type": "array", "items": item}
    elif field_.type == "list of objects":
        schema = {"type": "array", "items": {"type": "object", "properties": members}}
    elif field_.type == "object":
        schema = {"type": "object", "properties": members}
    else:  # a member whose type the contract leaves open
        return {"description": field_.description} if field_.description else {}
    if field_.description:
        schema["description"] = field_.description
    # null means "not given"; an enum lists it among its values, a type among its types.
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    schema["type"] = [schema["type"], "null"]
    return schema


def metadata_schema(contract: Contract | None = None) -> dict[str, Any]:
    """The JSON Schema of a document's ``metadata``: every type-specific field of the contract, typed.

    Which of them a document carries depends on its type (:meth:`Contract.metadata_fields`); a field
    declared by two types must be declared alike.
    """
    contract = contract or load_contract()
    properties: dict[str, dict[str, Any]] = {}
    owners: dict[str, list[str]] = {}
    for doc_type in contract.document_types:
        for field_ in doc_type.fields:
            schema = field_schema(field_)
            schema.pop("description", None)
            held = properties.get(field_.name)
            if held is not None and held != schema:
                raise ContractError(
                    f"evidence contract: {field_.name} is declared differently by "
                    f"{', '.join(owners[field_.name])} and {doc_type.name}"
                )
            properties[field_.name] = schema
            owners.setdefault(field_.name, []).append(doc_type.name)
    for name, types in owners.items():
        properties[name] = {**properties[name], "description": f"Metadata of {', '.join(types)}."}
    return {
        "type": "object",
        "description": "The type-specific metadata the evidence contract declares for the document's "
        "type (docs/evidence.md): each of its fields, null when not given or not readable as declared.",
        "properties": dict(sorted(properties.items())),
        "additionalProperties": False,
    }
