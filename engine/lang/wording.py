"""Rule conditions in human terms, for the messages a user reads (issue 16: no internal names).

A failing or inconclusive finding says what came closest and what kept it out. The evaluator knows that
as a conjunct of the rule's ``where`` in rule-language text (``r.metadata.out_of_scope_use matches
"\\S"``); :func:`reason` words it as a statement about the item ("its `out_of_scope_use` metadata is not
given"), and :func:`sought` words what a ``for each`` selects ("a document whose type is ai-policy").
Field names are kept (in backticks: they are what the user writes in the document), but rule variables,
``metadata.``/``extra[...]`` paths and operators are not.

Pure functions of text (parsed once per distinct text) and of the item's data; no I/O.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from annexa.lang import syntax as s
from annexa.lang.parser import parse_expression

__all__ = ["condition", "item_var", "reason", "sought"]

_FILLED = "\\S"  # `x matches "\S"`: the field holds some text
_VERBS = {
    "matches": ("matches", "does not match"),
    "contains": ("contains", "does not contain"),
    "startswith": ("starts with", "does not start with"),
}


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> s.Expr | None:
    try:
        return parse_expression(text)
    except Exception:  # a text that does not parse is worded generically
        return None


def item_var(conjuncts: Sequence[str]) -> str | None:
    """The variable the conjuncts are about: the root most of their field paths start from."""
    return _item_var(tuple(conjuncts))


@functools.lru_cache(maxsize=4096)
def _item_var(conjuncts: tuple[str, ...]) -> str | None:
    roots: Counter[str] = Counter()
    for text in conjuncts:
        expr = _parsed(text)
        if expr is None:
            continue
        bound = {q.var for q in s.walk(expr) if isinstance(q, s.Quantifier)}
        for node in s.walk(expr):
            if isinstance(node, s.Attr | s.Index):
                root = _root(node)
                if root is not None and root not in bound:
                    roots[root] += 1
    return roots.most_common(1)[0][0] if roots else None


def reason(
    conjunct: str, result: bool | None, data: Mapping[str, Any] | None, var: str | None, outer: str | None
) -> str:
    """Why an item is kept out by ``conjunct``: false -> the condition negated; unknown (None) -> which of
    its fields the condition needs are not given. ``outer`` is the kind of the rule's subject, which a
    condition may compare the item with."""
    if result is False:
        return _false(conjunct, var, outer)
    expr = _parsed(conjunct)
    if expr is None:
        return "a value it needs is not given"
    words = _Words(var, outer)
    absent = _absent(expr, data, var, words)
    if absent:
        return f"{' and '.join(absent)} {'is' if len(absent) == 1 else 'are'} not given"
    return f"it cannot be told whether {words.phrase(expr)}: a value it needs is not given"


@functools.lru_cache(maxsize=4096)
def _false(conjunct: str, var: str | None, outer: str | None) -> str:
    """The negated condition: the same for every item a rule's conjunct keeps out, so worded once."""
    expr = _parsed(conjunct)
    return "it does not meet the rule's condition" if expr is None else _Words(var, outer).negated(expr)


def sought(text: str | None) -> str | None:
    """``document where d.type == "ai-policy"`` -> ``a document whose type is ai-policy``."""
    if text is None:
        return None
    kind, _, where = text.partition(" where ")
    if not where:
        return f"{_a(kind)}"
    expr = _parsed(where)
    if expr is None:
        return f"{_a(kind)} meeting the rule's condition"
    var = item_var([where])
    return f"{_a(kind)} of which {_Words(var, None).phrase(expr)}"


def condition(text: str | None) -> str:
    """A rule condition that is about no single item (``allow empty when``), in words."""
    expr = _parsed(text) if text else None
    return "the rule's condition" if expr is None else _Words(None, None).phrase(expr)


def _a(kind: str) -> str:
    named = _kind(kind)
    return f"{'an' if named[:1] in 'aeiou' else 'a'} {named}"


def _kind(kind: str) -> str:
    return kind.replace("_", " ").replace(".", " ")


def _root(expr: s.Expr) -> str | None:
    node = expr
    while isinstance(node, s.Attr | s.Index):
        node = node.target
    return node.name if isinstance(node, s.Name) else None


def _steps(expr: s.Expr) -> list[str] | None:
    """``d.metadata["a"].b`` -> ["metadata", "a", "b"]; None when a step is computed."""
    steps: list[str] = []
    node = expr
    while isinstance(node, s.Attr | s.Index):
        if isinstance(node, s.Attr):
            steps.append(node.name)
        elif isinstance(node.key, s.Literal) and isinstance(node.key.value, str | int):
            steps.append(str(node.key.value))
        else:
            return None
        node = node.target
    steps.reverse()
    return steps


def _absent(expr: s.Expr, data: Mapping[str, Any] | None, var: str | None, words: _Words) -> list[str]:
    """The item's fields ``expr`` reads that its data does not give (missing or null), worded."""
    if data is None or var is None:
        return []
    absent: dict[tuple[str, ...], s.Expr] = {}
    for node in s.walk(expr):
        if not isinstance(node, s.Attr | s.Index) or _root(node) != var:
            continue
        steps = _steps(node)
        if not steps:
            continue
        value: Any = data
        for step in steps:
            value = value.get(step) if isinstance(value, Mapping) else None
        if value is None:
            absent.setdefault(tuple(steps), node)
    # The outermost field not given: `impacts` rather than `impacts.societal` too.
    kept = [p for p in absent if not any(p[: len(q)] == q and p != q for q in absent)]
    named: list[str] = []
    for path in kept:
        if path != ("metadata",):
            words_for = words.field(absent[path])
            if words_for not in named:
                named.append(words_for)
    return named


class _Words:
    """Phrases for one condition: ``var`` is the item ("its"), ``outer`` the subject's kind."""

    def __init__(self, var: str | None, outer: str | None, names: Mapping[str, str] | None = None) -> None:
        self.var = var
        self.outer = outer
        self.names: dict[str, str] = dict(names or {})  # quantifier variables -> how they are named

    def within(self, var: str, name: str) -> _Words:
        return _Words(self.var, self.outer, {**self.names, var: name})

    # -- noun phrases ---------------------------------------------------------------------------------

    def field(self, expr: s.Expr) -> str:
        steps = _steps(expr)
        root = _root(expr)
        if steps is None or root is None:
            return "a computed value"
        if root == self.var:
            owner = "its"
        elif root in self.names:
            owner = f"{self.names[root]}'s"
        elif self.outer is not None:
            owner = f"the {_kind(self.outer)}'s"
        else:
            owner = "the subject's"
        if steps and steps[0] == "metadata" and len(steps) > 1:
            return f"{owner} `{'.'.join(steps[1:])}` metadata"
        if steps and steps[0] == "extra" and len(steps) > 1:
            return f"{owner} own `{'.'.join(steps[1:])}` field"
        if steps == ["type"] or steps == ["status"]:
            return f"{owner} {steps[0]}"
        return f"{owner} `{'.'.join(steps)}`"

    def value(self, expr: s.Expr) -> str:
        match expr:
            case s.Literal(value=str() as text):
                return f'"{text}"'
            case s.Literal(value=timedelta() as span) if span.total_seconds() % 86400 == 0:
                days = int(span.total_seconds() // 86400)
                return f"{days} day{'s' if days != 1 else ''}"
            case s.Literal(value=None):
                return "nothing"
            case s.Literal():
                return s.render(expr)
            case s.Now():
                return "today"
            case s.Name(name=name):
                if name == self.var:
                    return "it"
                if name in self.names:
                    return self.names[name]
                return f"the {name.replace('_', ' ')}"  # a parameter: review_period -> the review period
            case s.Attr() | s.Index():
                return self.field(expr)
            case s.Call(function="lower", args=(arg,)):
                return self.value(arg)
            case s.Call(function="len", args=(arg,)):
                return f"the number of entries in {self.value(arg)}"
            case s.Call(function="age", args=(arg,)):
                return f"the age of {self.value(arg)}"
            case s.Call(function=function, args=args):
                return f"{function.replace('_', ' ')} of {', '.join(self.value(a) for a in args)}"
            case s.ListExpr(items=items):
                return ", ".join(self.value(i) for i in items)
        return "a computed value"

    # -- statements -----------------------------------------------------------------------------------

    def phrase(self, expr: s.Expr) -> str:
        return self._statement(expr, negated=False)

    def negated(self, expr: s.Expr) -> str:
        return self._statement(expr, negated=True)

    def _statement(self, expr: s.Expr, *, negated: bool) -> str:
        match expr:
            case s.Binary(op="and"):
                parts = [
                    f"(either {self.phrase(p)})" if _is_or(p) else self.phrase(p)
                    for p in _flatten("and", expr)
                ]
                if not negated:
                    return " and ".join(parts)
                return "not all of these hold: " + "; ".join(parts)
            case s.Binary(op="or"):
                parts = [self.phrase(p) for p in _flatten("or", expr)]
                if not negated:
                    return "; or ".join(parts)
                return "none of these holds: " + "; ".join(parts)
            case s.Unary(op="not", operand=operand):
                return self._statement(operand, negated=not negated)
            case s.Binary(op=op, left=left, right=right):
                return self._comparison(op, left, right, negated)
            case s.Quantifier():
                return self._quantified(expr, negated)
            case s.Literal(value=bool() as flag):
                return "always" if flag != negated else "never"
        text = self.value(expr)
        return f"{text} is not true" if negated else f"{text} is true"

    def _comparison(self, op: str, left: s.Expr, right: s.Expr, negated: bool) -> str:
        a = self.value(left)
        if op in ("==", "!=") and isinstance(right, s.Literal) and right.value is None:
            given = (op == "!=") != negated
            return f"{a} is given" if given else f"{a} is not given"
        if op in ("==", "!="):
            same = (op == "==") != negated
            b = self.value(right)
            if _steps(left) in (["type"], ["status"]) and isinstance(right, s.Literal):
                b = str(right.value)  # its type is ai-policy, its status is approved
            return f"{a} is {'' if same else 'not '}{b}"
        if op == "matches" and isinstance(right, s.Literal) and right.value == _FILLED:
            return f"{a} is empty" if negated else f"{a} is filled in"
        if op in ("in", "not in"):
            listed = (op == "in") != negated
            return f"{self.value(right)} {'lists' if listed else 'does not list'} {self.value(left)}"
        if op in ("matches", "contains", "startswith"):
            b = f'"{right.value}"' if isinstance(right, s.Literal) else self.value(right)
            verb = _VERBS[op][1 if negated else 0]
            return f"{a} {verb} {b}"
        if isinstance(left, s.Call) and left.function == "age" and left.args and op in ("<=", "<"):
            what = self.value(left.args[0])
            limit = self.value(right)
            return f"{what} is older than {limit}" if negated else f"{what} is within {limit}"
        if isinstance(right, s.Now) and op in (">=", ">"):
            return f"{a} is in the past" if negated else f"{a} is not in the past"
        if isinstance(right, s.Now) and op in ("<=", "<"):
            return f"{a} is in the future" if negated else f"{a} is not in the future"
        if (
            isinstance(left, s.Call)
            and left.function == "len"
            and left.args
            and op == ">"
            and isinstance(right, s.Literal)
            and right.value == 0
        ):
            return f"{self.value(left.args[0])} is {'empty' if negated else 'not empty'}"
        words = {"<": "less than", "<=": "at most", ">": "more than", ">=": "at least"}
        if op in words:
            flipped = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}[op] if negated else op
            return f"{a} is {words[flipped]} {self.value(right)}"
        return f"{a} {op} {self.value(right)}"

    def _quantified(self, expr: s.Quantifier, negated: bool) -> str:
        filled = _filled_section(expr)
        if filled is not None and _root(expr.source) == self.var:
            return (
                f'it has no filled section whose heading contains "{filled}"'
                if negated
                else f'it has a filled section whose heading contains "{filled}"'
            )
        if (
            isinstance(expr.source, s.Name)
            and expr.source.name not in self.names
            and expr.source.name != self.var
        ):
            kind = _kind(expr.source.name)
            inner = self.within(expr.var, f"that {kind}")
            where = f" of which {inner.phrase(expr.where)}" if expr.where is not None else ""
            if expr.quantifier == "all" and expr.predicate is not None:
                body = inner.phrase(expr.predicate)
                return (
                    f"not every {kind}{where} is such that {body}"
                    if negated
                    else f"every {kind}{where}: {body}"
                )
            return f"there is no {kind}{where}" if negated else f"there is a {kind}{where}"
        collection = self.value(expr.source)
        inner = self.within(expr.var, "the entry")
        where = f" where {inner.phrase(expr.where)}" if expr.where is not None else ""
        if expr.quantifier == "all" and expr.predicate is not None:
            body = inner.phrase(expr.predicate)
            if negated:
                return f"for some entry of {collection}{where}, {inner.negated(expr.predicate)}"
            return f"for every entry of {collection}{where}: {body}"
        return f"{collection} has no entry{where}" if negated else f"{collection} has an entry{where}"


def _flatten(op: str, expr: s.Expr) -> list[s.Expr]:
    if isinstance(expr, s.Binary) and expr.op == op:
        return _flatten(op, expr.left) + _flatten(op, expr.right)
    return [expr]


def _filled_section(expr: s.Quantifier) -> str | None:
    """The topic of ``exists h in d.headings where lower(h) contains "topic" and h not in
    d.empty_sections`` (the pack's ``filled(d, topic)``), else None."""
    steps = _steps(expr.source)
    if expr.quantifier != "exists" or steps != ["headings"] or expr.where is None:
        return None
    for part in _flatten("and", expr.where):
        if (
            isinstance(part, s.Binary)
            and part.op == "contains"
            and isinstance(part.right, s.Literal)
            and isinstance(part.right.value, str)
        ):
            return part.right.value
    return None


def _is_or(expr: s.Expr) -> bool:
    return isinstance(expr, s.Binary) and expr.op == "or"
