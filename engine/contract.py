"""The evidence contract: which fields each evidence kind carries, and which of them rules may read.

``data/evidence_contract.yaml`` declares what no schema says: the common metadata of a ``document`` and,
per document type, the type-specific metadata the collector keeps under ``extra``. Every other kind's
fields are derived from its JSON Schema when asked (:func:`schema_fields`), so nothing is written twice.

The rule check (:func:`check_extra_reads`) refuses a rule that reads ``d.extra["key"]`` on a document
when the contract declares no such field for the document type the rule selects (``d.type == "..."``),
with a "did you mean"; rules outside the built-in pack get a warning instead.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from annexa import syntax as s
from annexa.diagnostics import Diagnostic, Level, Span, did_you_mean
from annexa.errors import EngineError

__all__ = [
    "Contract",
    "ContractField",
    "DocumentType",
    "ExtraRead",
    "check_extra_reads",
    "extra_reads",
    "load_contract",
    "schema_fields",
]

DOCUMENT_KIND = "document"
BUILTIN_PREFIX = "builtin:"
FIELD_TYPES = (
    "string", "date", "boolean", "integer", "number", "list of strings", "list of objects", "object",
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
class DocumentType:
    name: str
    fields: tuple[ContractField, ...]

    def field(self, name: str) -> ContractField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Contract:
    common: tuple[ContractField, ...]  # a document's common metadata (types filled from its schema)
    document_types: tuple[DocumentType, ...]  # type-specific metadata, kept under ``extra``
    kind_notes: Mapping[str, Mapping[str, str]]  # kind -> field -> what its schema cannot say

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
    types = tuple(
        DocumentType(
            name=name,
            fields=tuple(_field(k, v or {}, f"document.types.{name}") for k, v in (fields or {}).items()),
        )
        for name, fields in (document.get("types") or {}).items()
    )
    notes = {
        kind: {name: str(note) for name, note in (fields or {}).items()}
        for kind, fields in (raw.get("kinds") or {}).items()
    }
    return Contract(common=common, document_types=types, kind_notes=notes)


@functools.cache
def load_contract() -> Contract:
    """The contract shipped with annexa (``data/evidence_contract.yaml``)."""
    text = resources.files("annexa").joinpath("data/evidence_contract.yaml").read_text(encoding="utf-8")
    if hasattr(yaml, "CSafeLoader"):  # libyaml's safe loader, as for the catalogue: every compile reads this
        return parse_contract(yaml.load(text, Loader=yaml.CSafeLoader))
    return parse_contract(yaml.safe_load(text))


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


# --- what rules read under `extra` ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtraRead:
    """``d.extra["key"]...`` read on a document-bound variable."""

    path: tuple[str, ...]  # ("impacts", "individuals"); ITEM steps into each element of a list
    types: tuple[str, ...]  # the document types the binding selects; () when the rule does not say
    span: Span

    @property
    def key(self) -> str:
        return self.path[0]

    @property
    def dotted(self) -> str:
        return ".".join(self.path).replace(f".{ITEM}", "[]")


@dataclass(frozen=True, slots=True)
class _Bound:
    types: tuple[str, ...]
    prefix: tuple[str, ...] = ()  # () for a document; the extra path for an element of an extra list


def extra_reads(rule: s.RuleDecl, kind_sources: Mapping[int, str]) -> tuple[ExtraRead, ...]:
    """Every ``extra`` path the rule reads on a document, with the document types its bindings select.

    ``kind_sources`` maps the ``id()`` of each source expression that ranges over an evidence kind to
    that kind (the checker's resolution).
    """
    found: list[ExtraRead] = []
    scope: dict[str, _Bound | None] = {}
    if rule.for_each is not None:
        loop = rule.for_each
        scope[loop.var] = _binding(loop.var, loop.source, loop.where, scope, kind_sources)
        _walk(loop.source, {}, kind_sources, found)
        if loop.where is not None:
            _walk(loop.where, scope, kind_sources, found)
    for expr in (rule.require, rule.allow_empty):
        if expr is not None:
            _walk(expr, scope, kind_sources, found)
    if rule.message is not None:
        for part in rule.message.parts:
            if not isinstance(part, str):
                _walk(part, scope, kind_sources, found)
    return tuple(found)


def _binding(
    var: str,
    source: s.Expr,
    where: s.Expr | None,
    scope: Mapping[str, _Bound | None],
    kind_sources: Mapping[int, str],
) -> _Bound | None:
    if kind_sources.get(id(source)) == DOCUMENT_KIND:
        return _Bound(_selected_types(var, where))
    outer = _extra_path(source, scope)
    if outer is not None:
        bound, path = outer
        return _Bound(bound.types, (*path, ITEM))
    return None


def _walk(
    expr: s.Expr,
    scope: Mapping[str, _Bound | None],
    kind_sources: Mapping[int, str],
    found: list[ExtraRead],
) -> None:
    if isinstance(expr, s.Attr | s.Index):
        resolved = _extra_path(expr, scope)
        if resolved is not None:
            bound, path = resolved
            if path:
                found.append(ExtraRead(path=path, types=bound.types, span=expr.span))
            return
    if isinstance(expr, s.Quantifier):
        _walk(expr.source, scope, kind_sources, found)
        inner = {**scope, expr.var: _binding(expr.var, expr.source, expr.where, scope, kind_sources)}
        for part in (expr.where, expr.predicate):
            if part is not None:
                _walk(part, inner, kind_sources, found)
        return
    for child in s.children(expr):
        _walk(child, scope, kind_sources, found)


def _extra_path(expr: s.Expr, scope: Mapping[str, _Bound | None]) -> tuple[_Bound, tuple[str, ...]] | None:
    """``d.extra["a"]["b"]`` -> (d's binding, ("a", "b")); an element var ``e["c"]`` -> its prefix + ("c",).

    None when the expression is not a literal path under ``extra`` of a document-bound variable (or under
    an element of such a list).
    """
    steps: list[str] = []
    node = expr
    while True:
        if isinstance(node, s.Attr):
            steps.append(node.name)
            node = node.target
        elif (
            isinstance(node, s.Index) and isinstance(node.key, s.Literal) and isinstance(node.key.value, str)
        ):
            steps.append(node.key.value)
            node = node.target
        else:
            break
    if not isinstance(node, s.Name):
        return None
    bound = scope.get(node.name)
    if bound is None:
        return None
    steps.reverse()
    if bound.prefix:
        return bound, (*bound.prefix, *steps)
    if not steps or steps[0] != "extra":
        return None
    return bound, tuple(steps[1:])


def _selected_types(var: str, where: s.Expr | None) -> tuple[str, ...]:
    """The document types a ``where`` pins ``var.type`` to (``==`` or ``in [...]`` conjuncts); () if none."""
    if where is None:
        return ()
    if isinstance(where, s.Binary) and where.op == "and":
        return _selected_types(var, where.left) or _selected_types(var, where.right)
    if not isinstance(where, s.Binary):
        return ()

    def is_type(expr: s.Expr) -> bool:
        return (
            isinstance(expr, s.Attr)
            and expr.name == "type"
            and isinstance(expr.target, s.Name)
            and (expr.target.name == var)
        )

    if where.op == "==":
        for side, other in ((where.left, where.right), (where.right, where.left)):
            if is_type(side) and isinstance(other, s.Literal) and isinstance(other.value, str):
                return (other.value,)
    if where.op == "in" and is_type(where.left) and isinstance(where.right, s.ListExpr):
        values = [i.value for i in where.right.items if isinstance(i, s.Literal) and isinstance(i.value, str)]
        if len(values) == len(where.right.items):
            return tuple(values)
    return ()


def check_extra_reads(reads: Iterable[ExtraRead], contract: Contract) -> list[Diagnostic]:
    """E309 for each ``extra`` path the contract does not declare (W403 for rules outside the built-in
    pack, which may read their own metadata)."""
    problems = []
    for read in reads:
        problem = _undeclared(read, contract)
        if problem is None:
            continue
        message, hint = problem
        builtin = read.span.path.startswith(BUILTIN_PREFIX)
        problems.append(
            Diagnostic(
                code="E309" if builtin else "W403",
                level=Level.ERROR if builtin else Level.WARNING,
                message=message,
                span=read.span,
                help=hint,
            )
        )
    return problems


def _undeclared(read: ExtraRead, contract: Contract) -> tuple[str, str] | None:
    where = " or ".join(read.types) if read.types else "any document type"
    types = [contract.document_type(t) for t in read.types] if read.types else list(contract.document_types)
    declared = [t for t in types if t is not None]
    candidates = [f for t in declared for f in t.fields if f.name == read.key]
    if not candidates:
        names = sorted({f.name for t in declared for f in t.fields})
        if contract.common_field(read.key) is not None:
            return (
                f"`{read.key}` is a common document field, never kept under `extra`",
                f"read it as `.{read.key}`",
            )
        listed = f"declared for {where}: {', '.join(names)}" if names else f"nothing is declared for {where}"
        hint = did_you_mean(read.key, names) or (
            f"{listed}; declare new metadata in engine/data/evidence_contract.yaml"
        )
        return (f'`extra["{read.key}"]` is not metadata the evidence contract declares for {where}', hint)
    # Nested steps: into an object's members, or into each object of a list.
    for field_ in candidates:
        if _nested_declared(field_, read.path[1:]):
            return None
    field_ = candidates[0]
    members = sorted(m.name for m in field_.fields)
    last = next((step for step in reversed(read.path) if step != ITEM), read.key)
    hint = did_you_mean(last, members) or f"`{read.key}` has: {', '.join(members)}"
    return (f"`{read.dotted}` is not metadata the evidence contract declares for {where}", hint)


def _nested_declared(field_: ContractField, rest: tuple[str, ...]) -> bool:
    if not rest or not field_.fields:
        return True  # the field itself, or an object/list whose members the contract leaves open
    step, *tail = rest
    if step == ITEM:
        return _nested_declared(field_, tuple(tail)) if field_.type == "list of objects" else not tail
    member = field_.member(step)
    return member is not None and _nested_declared(member, tuple(tail))
