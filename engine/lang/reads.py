"""What rules read of a document's type-specific metadata, checked against the evidence contract (E309,
W403).

A rule that reads ``d.metadata.key`` on a document is refused when the contract declares no such field
for the document type the rule selects (``d.type == "..."``), with a "did you mean"; a rule of the
built-in pack that reads ``d.extra`` at all (keys the contract does not declare) is refused too. Rules
outside the built-in pack get a warning instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from annexa.contract.fields import BUILTIN_PREFIX, DOCUMENT_KIND, ITEM, METADATA, Contract, ContractField
from annexa.lang import syntax as s
from annexa.model.diagnostics import Diagnostic, Level, Span, did_you_mean

EXTRA = "extra"  # a document's undeclared metadata keys
_ROOTS = (METADATA, EXTRA)


@dataclass(frozen=True, slots=True, kw_only=True)
class MetadataRead:
    """``d.metadata.key...`` (or ``d.extra["key"]...``) read on a document-bound variable."""

    root: str  # METADATA or EXTRA
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
    # () for a document; for an element of a metadata list, its root and path: ("metadata", "entries", ITEM)
    prefix: tuple[str, ...] = ()


def metadata_reads(rule: s.RuleDecl, kind_sources: Mapping[int, str]) -> tuple[MetadataRead, ...]:
    """Every ``metadata`` and ``extra`` path the rule reads on a document, with the document types its
    bindings select.

    ``kind_sources`` maps the ``id()`` of each source expression that ranges over an evidence kind to
    that kind (the checker's resolution).
    """
    found: list[MetadataRead] = []
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
    outer = _metadata_path(source, scope)
    if outer is not None:
        bound, path = outer
        return _Bound(bound.types, (*path, ITEM))
    return None


def _walk(
    expr: s.Expr,
    scope: Mapping[str, _Bound | None],
    kind_sources: Mapping[int, str],
    found: list[MetadataRead],
) -> None:
    if isinstance(expr, s.Attr | s.Index):
        resolved = _metadata_path(expr, scope)
        if resolved is not None:
            bound, (root, *path) = resolved
            if path:
                found.append(MetadataRead(root=root, path=tuple(path), types=bound.types, span=expr.span))
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


def _metadata_path(expr: s.Expr, scope: Mapping[str, _Bound | None]) -> tuple[_Bound, tuple[str, ...]] | None:
    """``d.metadata.a.b`` -> (d's binding, ("metadata", "a", "b")); an element var ``e.c`` -> its prefix +
    ("c",).

    None when the expression is not a literal path under ``metadata`` or ``extra`` of a document-bound
    variable (or under an element of such a list).
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
    if not steps or steps[0] not in _ROOTS:
        return None
    return bound, tuple(steps)


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


def check_metadata_reads(reads: Iterable[MetadataRead], contract: Contract) -> list[Diagnostic]:
    """E309 for each ``metadata`` path the contract does not declare for the selected types, and for each
    ``extra`` read in the built-in pack (W403 for rules outside it, which may read their own metadata)."""
    problems = []
    for read in reads:
        problem = _undeclared(read, contract) if read.root == METADATA else _extra(read, contract)
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


def _extra(read: MetadataRead, contract: Contract) -> tuple[str, str]:
    """A read of ``extra``: keys the contract does not declare, which the built-in pack never reads."""
    where = " or ".join(read.types) if read.types else "any document type"
    types = [contract.document_type(t) for t in read.types] if read.types else list(contract.document_types)
    if any(t is not None and t.field(read.key) is not None for t in types):
        return (
            f'`extra["{read.key}"]` is declared metadata of {where}, which is never kept under `extra`',
            f"read it as `.{METADATA}.{read.key}`",
        )
    if contract.common_field(read.key) is not None:
        return (
            f"`{read.key}` is a common document field, never kept under `extra`",
            f"read it as `.{read.key}`",
        )
    declared = sorted({f.name for t in types if t is not None for f in t.fields})
    hint = did_you_mean(read.key, declared)
    return (
        f'`extra["{read.key}"]` is not metadata the evidence contract declares for {where}: `extra` holds '
        "what a document says beyond the contract, which the built-in pack never reads",
        hint.replace("`", f"`.{METADATA}.", 1)
        if hint
        else "declare the field in "
        f"engine/data/evidence_contract.yaml and read it as `.{METADATA}.{read.key}`",
    )


def _undeclared(read: MetadataRead, contract: Contract) -> tuple[str, str] | None:
    where = " or ".join(read.types) if read.types else "any document type"
    types = [contract.document_type(t) for t in read.types] if read.types else list(contract.document_types)
    declared = [t for t in types if t is not None]
    candidates = [f for t in declared for f in t.fields if f.name == read.key]
    if not candidates:
        names = sorted({f.name for t in declared for f in t.fields})
        if contract.common_field(read.key) is not None:
            return (
                f"`{read.key}` is a common document field, never kept under `{METADATA}`",
                f"read it as `.{read.key}`",
            )
        listed = f"declared for {where}: {', '.join(names)}" if names else f"nothing is declared for {where}"
        hint = did_you_mean(read.key, names) or (
            f"{listed}; declare new metadata in engine/data/evidence_contract.yaml"
        )
        return (f"`{METADATA}.{read.key}` is not metadata the evidence contract declares for {where}", hint)
    # Nested steps: into an object's members, or into each object of a list.
    for field_ in candidates:
        if _nested_declared(field_, read.path[1:]):
            return None
    field_ = candidates[0]
    members = sorted(m.name for m in field_.fields)
    last = next((step for step in reversed(read.path) if step != ITEM), read.key)
    hint = did_you_mean(last, members) or f"`{read.key}` has: {', '.join(members)}"
    return (f"`{METADATA}.{read.dotted}` is not metadata the evidence contract declares for {where}", hint)


def _nested_declared(field_: ContractField, rest: tuple[str, ...]) -> bool:
    if not rest or not field_.fields:
        return True  # the field itself, or an object/list whose members the contract leaves open
    step, *tail = rest
    if step == ITEM:
        return _nested_declared(field_, tuple(tail)) if field_.type == "list of objects" else not tail
    member = field_.member(step)
    return member is not None and _nested_declared(member, tuple(tail))
