"""Syntax tree of the rule language: frozen dataclasses that carry their source span."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from annexa.model.diagnostics import Span

LiteralValue = None | bool | int | float | str | timedelta


@dataclass(frozen=True, slots=True)
class Literal:
    value: LiteralValue
    span: Span


@dataclass(frozen=True, slots=True)
class Now:
    span: Span


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Attr:
    target: Expr
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Index:
    target: Expr
    key: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    args: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "not" | "-"
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    # "and" "or" "==" "!=" "<" "<=" ">" ">=" "in" "not in" "matches" "startswith" "contains" "+" "-"
    op: str
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Quantifier:
    quantifier: str  # "exists" | "count" | "all"
    var: str
    var_span: Span
    source: Expr
    where: Expr | None
    predicate: Expr | None  # only for "all"
    span: Span


Expr = Literal | Now | Name | Attr | Index | Call | ListExpr | Unary | Binary | Quantifier


@dataclass(frozen=True, slots=True)
class Interpolated:
    """A message: literal text pieces and ``{expression}`` holes, in order."""

    parts: tuple[str | Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class ForEach:
    var: str
    var_span: Span
    source: Expr
    where: Expr | None
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleDecl:
    name: str
    title: str | None
    severity: tuple[str, Span] | None
    for_each: ForEach | None
    require: Expr | None
    expect_at_least: tuple[int, Span] | None
    allow_empty: Expr | None  # `allow empty when COND`: COND must rest on evidence (checker)
    # `evidence "A.2.2-E1", ...`: the catalog's evidence signals the rule checks, which give its weight
    evidence: tuple[tuple[str, Span], ...] = ()
    message: Interpolated | None
    remediation: str | None
    duplicate_clauses: tuple[tuple[str, Span], ...]
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlDecl:
    id: str
    title: str | None
    rules: tuple[RuleDecl, ...]
    span: Span
    id_span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamDecl:
    name: str
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class DefineDecl:
    """``define current(d) = d.status == "approved" and ...``: a named predicate, expanded where called."""

    name: str
    params: tuple[str, ...]
    body: Expr
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleFile:
    path: str
    params: tuple[ParamDecl, ...]
    controls: tuple[ControlDecl, ...]
    defines: tuple[DefineDecl, ...] = ()


def path_text(expr: Expr) -> str | None:
    """``ep.tags["environment"]`` for a field path rooted at a name, else None."""
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, Attr):
        base = path_text(expr.target)
        return None if base is None else f"{base}.{expr.name}"
    if isinstance(expr, Index) and isinstance(expr.key, Literal) and isinstance(expr.key.value, str | int):
        base = path_text(expr.target)
        key = expr.key.value
        return None if base is None else f'{base}["{key}"]' if isinstance(key, str) else f"{base}[{key}]"
    return None


def children(expr: Expr) -> tuple[Expr, ...]:
    match expr:
        case Attr(target=target):
            return (target,)
        case Index(target=target, key=key):
            return (target, key)
        case Call(args=args) | ListExpr(items=args):
            return args
        case Unary(operand=operand):
            return (operand,)
        case Binary(left=left, right=right):
            return (left, right)
        case Quantifier(source=source, where=where, predicate=predicate):
            return tuple(e for e in (source, where, predicate) if e is not None)
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    """``expr`` and every expression below it, parents first."""
    yield expr
    for child in children(expr):
        yield from walk(child)


def render(expr: Expr) -> str:
    """Rule-language text of ``expr``, for messages that say what was sought (``d.type == "ai-policy"``)."""
    match expr:
        case Literal(value=value):
            return _render_literal(value)
        case Now():
            return "now"
        case Name(name=name):
            return name
        case Attr() | Index():
            path = path_text(expr)
            if path is not None:
                return path
            if isinstance(expr, Attr):
                return f"{render(expr.target)}.{expr.name}"
            return f"{render(expr.target)}[{render(expr.key)}]"
        case Call(function=function, args=args):
            return f"{function}({', '.join(render(arg) for arg in args)})"
        case ListExpr(items=items):
            return f"[{', '.join(render(item) for item in items)}]"
        case Unary(op=op, operand=operand):
            return f"not {_operand(operand)}" if op == "not" else f"-{_operand(operand)}"
        case Binary(op=op, left=left, right=right):
            return f"{_operand(left, op)} {op} {_operand(right, op)}"
        case Quantifier(quantifier=quantifier, var=var, source=source, where=where, predicate=predicate):
            where_text = f" where {render(where)}" if where is not None else ""
            head = f"{var} in {render(source)}{where_text}"
            if quantifier == "count":
                return f"count({head})"
            if quantifier == "all":
                assert predicate is not None
                return f"all {head} satisfy {render(predicate)}"
            return f"exists {head}"
    raise AssertionError(f"expression without text: {expr!r}")


def _operand(expr: Expr, parent: str | None = None) -> str:
    text = render(expr)
    if isinstance(expr, Binary) and expr.op in ("and", "or") and expr.op != parent:
        return f"({text})"
    if isinstance(expr, Quantifier) and expr.quantifier != "count":
        return f"({text})"
    return text


def _render_literal(value: LiteralValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
            if seconds and seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"
    return repr(value)
