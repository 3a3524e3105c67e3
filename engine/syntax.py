"""Syntax tree of the rule language: frozen dataclasses that carry their source span."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from annexa.diagnostics import Span

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
class RuleFile:
    path: str
    params: tuple[ParamDecl, ...]
    controls: tuple[ControlDecl, ...]


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
