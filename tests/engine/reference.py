"""A plain tree-walking interpreter of the rule language, written apart from the compiler.

It walks the syntax tree that :func:`annexa.lang.parser.parse` builds and implements the documented semantics
directly (three-valued conditions, null-safe paths, for-each / expect / not-applicable / inconclusive,
error findings on run-time type clashes). It never generates code and never uses a hash index, so the
property test can compare it with the compiled evaluator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from annexa.lang import syntax as s
from annexa.lang.parser import parse

# Message formatting is presentation, not the semantics under test: share it with the engine.
from annexa.lang.runtime import render
from annexa.model.evidence import Evidence
from annexa.model.findings import Status, control_sort_key


class Fault(Exception):
    """A run-time type clash: the rule gives an error finding for this subject."""


@dataclass(frozen=True, slots=True)
class RefFinding:
    rule_id: str
    subject: str | None
    status: Status
    message: str | None  # the rendered message of a failing subject (None for pass/error)

    def sort_key(self) -> tuple[str, str, str]:
        return (control_sort_key(self.rule_id.split("/")[0]), self.rule_id, self.subject or "")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            if len(value.strip()) == 10:
                day = date.fromisoformat(value.strip())
                return datetime(day.year, day.month, day.day, tzinfo=UTC)
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Fault(f"not a date: {value!r}") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise Fault("not a date")


class Interpreter:
    def __init__(
        self,
        params: Mapping[str, Any],
        kinds: Iterable[str],
        items: Mapping[str, Sequence[Evidence]],
        now: datetime,
    ) -> None:
        self.params = params
        self.kinds = set(kinds)
        self.items = items
        self.now = now

    # --- values -----------------------------------------------------------------------------------

    def kind_of(self, source: s.Expr, env: Mapping[str, Any]) -> str | None:
        dotted = s.path_text(source)
        if dotted is None or "[" in dotted:
            return None
        root = dotted.split(".")[0]
        if root in env or root in self.params:
            return None
        return dotted if dotted in self.kinds else None

    def value(self, expr: s.Expr, env: Mapping[str, Any]) -> Any:
        if isinstance(expr, s.Literal):
            return expr.value
        if isinstance(expr, s.Now):
            return self.now
        if isinstance(expr, s.Name):
            return env[expr.name] if expr.name in env else self.params[expr.name]
        if isinstance(expr, s.Attr):
            return self.step(self.value(expr.target, env), expr.name)
        if isinstance(expr, s.Index):
            target = self.value(expr.target, env)
            if (
                isinstance(expr.key, s.Literal)
                and isinstance(expr.key.value, str | int)
                and not isinstance(expr.key.value, bool)
            ):
                return self.step(target, expr.key.value)
            key = self.value(expr.key, env)
            if target is None or key is None:
                return None
            if isinstance(target, Mapping):
                if not isinstance(key, str):
                    raise Fault("object indexed by a non-string")
                return target.get(key)
            if isinstance(target, list):
                if not isinstance(key, int) or isinstance(key, bool):
                    raise Fault("list indexed by a non-number")
                return target[key] if -len(target) <= key < len(target) else None
            raise Fault("cannot index")
        if isinstance(expr, s.ListExpr):
            return [self.value(item, env) for item in expr.items]
        if isinstance(expr, s.Call):
            arg = self.value(expr.args[0], env)
            if expr.function == "age":
                moment = _as_datetime(arg)
                return None if moment is None else self.now - moment
            if arg is None:
                return None
            if expr.function == "len":
                if isinstance(arg, str | list | Mapping):
                    return len(arg)
                raise Fault("len of a scalar")
            if expr.function == "lower":
                if isinstance(arg, str):
                    return arg.lower()
                raise Fault("lower of a non-string")
            raise AssertionError(expr.function)
        if isinstance(expr, s.Unary) and expr.op == "-":
            operand = self.value(expr.operand, env)
            if operand is None:
                return None
            if _is_number(operand) or isinstance(operand, timedelta):
                return -operand
            raise Fault("negate")
        if isinstance(expr, s.Binary) and expr.op in ("+", "-"):
            return self.arith(expr.op, self.value(expr.left, env), self.value(expr.right, env))
        if isinstance(expr, s.Quantifier) and expr.quantifier == "count":
            return sum(1 for verdict in self.verdicts(expr, env) if verdict is True)
        return self.cond(expr, env)

    @staticmethod
    def step(value: Any, key: str | int) -> Any:
        if value is None:
            return None
        if isinstance(value, Mapping):
            return value.get(key) if isinstance(key, str) else None
        if isinstance(value, list) and isinstance(key, int):
            return value[key] if -len(value) <= key < len(value) else None
        return None

    @staticmethod
    def arith(op: str, left: Any, right: Any) -> Any:
        if left is None or right is None:
            return None
        if isinstance(right, timedelta) and not (_is_number(left) or isinstance(left, timedelta)):
            moment = _as_datetime(left)
            assert moment is not None
            return moment + right if op == "+" else moment - right
        if op == "-" and isinstance(left, datetime | str) and isinstance(right, datetime | str):
            a, b = _as_datetime(left), _as_datetime(right)
            assert a is not None
            assert b is not None
            return a - b
        if (_is_number(left) and _is_number(right)) or (
            isinstance(left, timedelta) and isinstance(right, timedelta)
        ):
            return left + right if op == "+" else left - right
        raise Fault("arithmetic")

    # --- conditions -------------------------------------------------------------------------------

    def cond(self, expr: s.Expr, env: Mapping[str, Any]) -> bool | None:
        if isinstance(expr, s.Binary) and expr.op == "and":
            left = self.cond(expr.left, env)
            if left is False:
                return False
            right = self.cond(expr.right, env)
            if right is False:
                return False
            return True if left is True and right is True else None
        if isinstance(expr, s.Binary) and expr.op == "or":
            left = self.cond(expr.left, env)
            if left is True:
                return True
            right = self.cond(expr.right, env)
            if right is True:
                return True
            return False if left is False and right is False else None
        if isinstance(expr, s.Unary) and expr.op == "not":
            inner = self.cond(expr.operand, env)
            return None if inner is None else not inner
        if isinstance(expr, s.Quantifier) and expr.quantifier in ("exists", "all"):
            verdicts = list(self.verdicts(expr, env))
            if expr.quantifier == "exists":
                return True if True in verdicts else (None if None in verdicts else False)
            return False if False in verdicts else (None if None in verdicts else True)
        if isinstance(expr, s.Binary) and expr.op not in ("+", "-"):
            return self.compare(expr, env)
        value = self.value(expr, env)
        if value is None or isinstance(value, bool):
            return value
        raise Fault("not a condition")

    def verdicts(self, expr: s.Quantifier, env: Mapping[str, Any]) -> Iterable[bool | None]:
        """Per element: the `where` (exists, count) or, for elements the `where` selects, the predicate."""
        kind = self.kind_of(expr.source, env)
        if kind is not None:
            elements: Iterable[Any] = [item.data for item in self.items.get(kind, ())]
        else:
            source = self.value(expr.source, env)
            if source is None:
                elements = []
            elif isinstance(source, list | tuple):
                elements = source
            else:
                raise Fault("quantifier over a non-list")
        for element in elements:
            inner = {**env, expr.var: element}
            where = True if expr.where is None else self.cond(expr.where, inner)
            if expr.quantifier == "all":
                if where is True:
                    assert expr.predicate is not None
                    yield self.cond(expr.predicate, inner)
            else:
                yield where

    def compare(self, expr: s.Binary, env: Mapping[str, Any]) -> bool | None:
        op = expr.op
        for null, other in ((expr.left, expr.right), (expr.right, expr.left)):
            if op in ("==", "!=") and isinstance(null, s.Literal) and null.value is None:
                present = self.value(other, env) is not None
                return present if op == "!=" else not present
        left, right = self.value(expr.left, env), self.value(expr.right, env)
        if left is None or right is None:
            return None
        if op in ("==", "!="):
            if isinstance(left, datetime) != isinstance(right, datetime):
                left, right = _as_datetime(left), _as_datetime(right)
            same = left == right
            return same if op == "==" else not same
        if op in ("<", "<=", ">", ">="):
            if isinstance(left, datetime) or isinstance(right, datetime):
                left, right = _as_datetime(left), _as_datetime(right)
            elif not (
                (_is_number(left) and _is_number(right))
                or (isinstance(left, str) and isinstance(right, str))
                or (isinstance(left, timedelta) and isinstance(right, timedelta))
            ):
                raise Fault("cannot order")
            return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
        if op in ("in", "not in", "contains"):
            needle, haystack = (left, right) if op != "contains" else (right, left)
            if isinstance(haystack, list):
                found = needle in haystack
            elif isinstance(haystack, str):
                if not isinstance(needle, str):
                    raise Fault("non-string in string")
                found = needle in haystack
            elif isinstance(haystack, Mapping):
                found = needle in haystack
            else:
                raise Fault("cannot look inside")
            return not found if op == "not in" else found
        if op in ("matches", "startswith"):
            if not isinstance(left, str) or not isinstance(right, str):
                raise Fault(op)
            if op == "startswith":
                return left.startswith(right)
            return re.search(right, left[:100_000]) is not None
        raise AssertionError(op)


def interpret(
    text: str,
    path: str,
    params: Mapping[str, Any],
    kinds: Iterable[str],
    evidence: Iterable[Evidence],
    now: datetime,
    collected: Mapping[str, str | None],
) -> list[RefFinding]:
    """Every finding of every rule in ``text``, sorted like the evaluator sorts them."""
    rule_file = parse(text, path)
    grouped: dict[str, list[Evidence]] = {}
    for item in evidence:
        grouped.setdefault(item.kind, []).append(item)
    for bucket in grouped.values():
        bucket.sort(key=lambda item: (item.source, item.id))
    machine = Interpreter(params, kinds, grouped, now)
    findings: list[RefFinding] = []
    for control in rule_file.controls:
        for rule in control.rules:
            findings.extend(_rule(machine, f"{control.id}/{rule.name}", rule, collected))
    return sorted(findings, key=RefFinding.sort_key)


def _kinds_read(machine: Interpreter, rule: s.RuleDecl) -> set[str]:
    found: set[str] = set()

    def walk(expr: s.Expr | None, bound: frozenset[str]) -> None:
        if expr is None:
            return
        if isinstance(expr, s.Quantifier):
            kind = machine.kind_of(expr.source, dict.fromkeys(bound))
            if kind is not None:
                found.add(kind)
            walk(expr.source, bound)
            walk(expr.where, bound | {expr.var})
            walk(expr.predicate, bound | {expr.var})
            return
        for child in s.children(expr):
            walk(child, bound)

    bound: frozenset[str] = frozenset()
    if rule.for_each is not None:
        kind = machine.kind_of(rule.for_each.source, {})
        assert kind is not None
        found.add(kind)
        bound = frozenset({rule.for_each.var})
        walk(rule.for_each.where, bound)
    walk(rule.require, bound)
    return found


def _rule(
    machine: Interpreter, rule_id: str, rule: s.RuleDecl, collected: Mapping[str, str | None]
) -> list[RefFinding]:
    if any(kind not in collected or collected[kind] is not None for kind in _kinds_read(machine, rule)):
        return [RefFinding(rule_id, None, Status.INCONCLUSIVE, None)]
    assert rule.require is not None
    title = rule.title or rule.name.replace("_", " ")

    def verdict(env: dict[str, Any], subject: str | None) -> RefFinding:
        try:
            result = machine.cond(rule.require, env)  # type: ignore[arg-type]  # checked above
        except (Fault, TypeError, ValueError, OverflowError):
            return RefFinding(rule_id, subject, Status.ERROR, None)
        if result is True:
            return RefFinding(rule_id, subject, Status.PASS, title)
        text = None
        if rule.message is not None:
            text = "".join(
                p if isinstance(p, str) else render(machine.value(p, env)) for p in rule.message.parts
            )
        return RefFinding(rule_id, subject, Status.FAIL, text or f"{title}: not met")

    if rule.for_each is None:
        return [verdict({}, None)]
    loop = rule.for_each
    kind = machine.kind_of(loop.source, {})
    assert kind is not None
    findings = []
    selected = 0
    for item in machine.items.get(kind, ()):
        env = {loop.var: item.data}
        if loop.where is not None:
            try:
                chosen = machine.cond(loop.where, env)
            except (Fault, TypeError, ValueError, OverflowError):
                findings.append(RefFinding(rule_id, item.source, Status.ERROR, None))
                continue
            if chosen is not True:
                continue
        selected += 1
        findings.append(verdict(env, item.source))
    expected = rule.expect_at_least[0] if rule.expect_at_least else None
    if expected is not None and selected < expected:
        findings.append(RefFinding(rule_id, None, Status.FAIL, None))
    elif selected == 0 and expected is None:  # an empty selection is never a pass (verdicts.md)
        findings.append(RefFinding(rule_id, None, Status.INCONCLUSIVE, None))
    return findings
