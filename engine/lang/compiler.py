"""Compile checked rules into Python functions, once.

Each rule becomes the source of one Python function, built only from the syntax tree: user text reaches
the generated code as ``repr()`` literals or as entries in a constants table, never as code, and field
access goes through :mod:`annexa.lang.runtime`, which only indexes mappings and lists. The generated function
is compiled with ``compile()`` once per rule set; evaluation is then plain Python.

An equality between a path of an inner quantifier's evidence item and an expression of the outer scope
(``exists card in model_card where card.model == mv.model_name``) is compiled into a lookup in a hash
index built once per evaluation, so joins cost linear, not quadratic, time.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from annexa.contract.fields import DOCUMENT_KIND
from annexa.contract.kinds import Type
from annexa.lang import runtime
from annexa.lang import syntax as s
from annexa.lang.builtins import BUILTINS
from annexa.lang.checker import Resolution
from annexa.model.diagnostics import Span

IndexKey = tuple[str, tuple[str | int, ...], bool]  # (kind, path, member): one join index (evaluator._Index)

_JOINABLE = {"string", "number", "bool", "any"}

# The names generated code may use, bound in its globals; nothing else is reachable.
RUNTIME_NAMES: dict[str, Any] = {
    "_get": runtime.get,
    "_get1": runtime.get1,
    "_type": type,
    "_dict": dict,
    "_list": list,
    "_matches_bounded": runtime.matches_bounded,
    "_get2": runtime.get2,
    "_item": runtime.item,
    "_rec": runtime.record,
    "_truth": runtime.truth,
    "_lt": runtime.less,
    "_le": runtime.less_equal,
    "_eq": runtime.equal,
    "_in": runtime.contained,
    "_contains": runtime.contains,
    "_startswith": runtime.startswith,
    "_matches": runtime.matches,
    "_neg": runtime.negate,
    "_add": runtime.add,
    "_sub": runtime.subtract,
    **{builtin.helper: builtin.implementation for builtin in BUILTINS.values()},
    "_iter": runtime.iterate,
    "_exists": runtime.exists,
    "_every": runtime.every,
    "_count": runtime.count,
    "_exists_ev": runtime.exists_evidence,
    "_every_ev": runtime.every_evidence,
    "_count_ev": runtime.count_evidence,
    "_join": runtime.join_candidates,
    "_either": runtime.either,
    "_exists_join": runtime.exists_join,
    "_take": runtime.take,
    "_render": runtime.render,
    "_RuleFault": runtime.RuleFault,
    # The errors generated code catches (builtins are not reachable from it).
    "TypeError": TypeError,
    "ValueError": ValueError,
    "OverflowError": OverflowError,
    "RecursionError": RecursionError,
    "Exception": Exception,  # what the helper of a narrowed disjunction (CodeGenerator.either) catches
    "str": str,  # the message of a Python error caught in a rule: `_RuleFault(str(fault), ...)`
}


@dataclass(slots=True)
class _Var:
    python: str  # local name of the bound data
    evidence: str | None  # local name of the bound Evidence, for kind bindings
    record: bool  # whether paths rooted here go into the witness


@dataclass(slots=True)
class _Unit:
    """State while generating one rule function."""

    resolution: Resolution
    functions: dict[str, Callable[..., Any]]
    constants: dict[str, Any] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=itertools.count)
    joins: list[tuple[str, tuple[str | int, ...]]] = field(default_factory=list)
    indexes: list[IndexKey] = field(default_factory=list)  # every INDEX[...] the code looks up
    prefix: str = "rule"  # name of the rule's function; helper functions are named after it
    helpers: list[str] = field(default_factory=list)  # source lines of helper functions
    # Per iteration over documents the code makes: the id of the source expression, and the document
    # type that iteration is narrowed to (its `where` opens with `v.type == "..."`), or None: it may visit
    # documents of any type (see GeneratedCode.document_types).
    visits: list[tuple[int, str | None]] = field(default_factory=list)

    def visit(self, source: s.Expr, kind: str, narrowed_to: str | None) -> None:
        if kind == DOCUMENT_KIND:
            self.visits.append((id(source), narrowed_to))

    def index(self, kind: str, keys: tuple[str | int, ...], member: bool) -> str:
        """The generated lookup of the join index of ``kind`` on ``keys``, noted in ``indexes``."""
        self.indexes.append((kind, keys, member))
        return f"INDEX[{(kind, keys, member)!r}]"

    def constant(self, value: Any) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def temp(self) -> str:
        return f"_t{next(self.counter)}"

    def var(self, name: str) -> str:
        safe = re.sub(r"\W", "_", name)
        return f"v_{safe}_{next(self.counter)}"


class CodeGenerator:
    def __init__(self, unit: _Unit) -> None:
        self.unit = unit

    def type(self, expr: s.Expr) -> Type | None:
        return self.unit.resolution.types.get(id(expr))

    def span(self, span: Span) -> str:
        return self.unit.constant(span)

    # --- values ------------------------------------------------------------------------------------

    def value(self, expr: s.Expr, scope: dict[str, _Var]) -> str:
        match expr:
            case s.Literal(value=value):
                if isinstance(value, timedelta):
                    return self.unit.constant(value)
                return repr(value)
            case s.Now():
                return "NOW"
            case s.Name(name=name):
                if id(expr) in self.unit.resolution.params:
                    param = self.unit.resolution.param_values[name]
                    return self.unit.constant(param) if isinstance(param, timedelta) else repr(param)
                return scope[name].python
            case s.Attr() | s.Index():
                return self.path(expr, scope)
            case s.ListExpr(items=items):
                # A list, not a tuple: `x.labels == ["a"]` compares with the JSON list of the evidence.
                return f"[{', '.join(self.value(item, scope) for item in items)}]"
            case s.Call(function=function, args=args):
                builtin = BUILTINS.get(function)
                if builtin is not None and builtin.needs_evidence:  # the item itself (the checker saw to it)
                    bound = scope[args[0].name] if isinstance(args[0], s.Name) else None
                    limits = self.unit.constant(self.unit.resolution.freshness)
                    call = (
                        f"{builtin.helper}({bound and bound.evidence}, {limits}, NOW, {self.span(expr.span)})"
                    )
                    if bound is not None and bound.record:  # the subject's verdict goes into the witness
                        return f"_rec(W, {s.render(expr)!r}, {call})"
                    return call
                values = [self.value(arg, scope) for arg in args]
                where = self.span(expr.span)
                if builtin is not None and builtin.helper == "_lower":
                    # A string's own lower(), the helper (null, or the error) for anything else.
                    t = self.unit.temp()
                    return f"({t}.lower() if _type({t} := {values[0]}) is str else _lower({t}, {where}))"
                if builtin is not None:
                    clock = ", NOW" if builtin.needs_now else ""
                    return f"{builtin.helper}({', '.join(values)}{clock}, {where})"
                name = self.unit.constant(self.unit.functions[function])
                return f"{name}({', '.join(values)})"
            case s.Unary(op="-", operand=operand):
                return f"_neg({self.value(operand, scope)}, {self.span(expr.span)})"
            case s.Binary(op="+" | "-", left=left, right=right):
                helper = "_add" if expr.op == "+" else "_sub"
                return (
                    f"{helper}({self.value(left, scope)}, {self.value(right, scope)}, {self.span(expr.span)})"
                )
            case s.Quantifier(quantifier="count"):
                return self.quantifier(expr, scope)
        return self.condition(expr, scope)

    def path(self, expr: s.Expr, scope: dict[str, _Var]) -> str:
        """Null-safe access; literal key chains collapse into one ``_get`` call."""
        keys: list[str | int] = []
        node = expr
        while True:
            if isinstance(node, s.Attr):
                keys.append(node.name)
                node = node.target
            elif (
                isinstance(node, s.Index)
                and isinstance(node.key, s.Literal)
                and isinstance(node.key.value, str | int)
                and not isinstance(node.key.value, bool)
            ):
                keys.append(node.key.value)
                node = node.target
            else:
                break
        keys.reverse()
        if isinstance(node, s.Index):
            target, key = self.value(node.target, scope), self.value(node.key, scope)
            base = f"_item({target}, {key}, {self.span(node.span)})"
        else:
            base = self.value(node, scope)
        bound = scope.get(node.name) if isinstance(node, s.Name) else None
        if keys and isinstance(keys[0], str) and bound is not None and bound.evidence is not None:
            # An evidence item's data is a mapping (Evidence.data), so its own get reads the first key
            # exactly as the general helper would, without the type test; deeper keys are nested values.
            base, keys = f"{base}.get({keys[0]!r})", keys[1:]
        if not keys:
            code = base
        elif len(keys) == 1 and isinstance(keys[0], str) and base.isidentifier():
            # The commonest path, `d.status`, inline: a dictionary's own get, the general helper otherwise.
            code = f"({base}.get({keys[0]!r}) if _type({base}) is _dict else _get1({base}, {keys[0]!r}))"
        elif keys and all(isinstance(key, str) for key in keys) and len(keys) <= 2:
            code = f"_get{len(keys)}({base}, {', '.join(map(repr, keys))})"
        else:
            code = f"_get({base}, {tuple(keys)!r})"
        label = s.path_text(expr)
        root = node.name if isinstance(node, s.Name) else None
        if label is not None and root in scope and scope[root].record:
            return f"_rec(W, {label!r}, {code})"
        return code

    # --- conditions (three-valued) -----------------------------------------------------------------

    def condition(self, expr: s.Expr, scope: dict[str, _Var]) -> str:
        match expr:
            case s.Binary(op="and", left=left, right=right):
                a, b = self.unit.temp(), self.unit.temp()
                return (
                    f"(False if ({a} := {self.condition(left, scope)}) is False else "
                    f"(False if ({b} := {self.condition(right, scope)}) is False else "
                    f"(True if {a} is True and {b} is True else None)))"
                )
            case s.Binary(op="or", left=left, right=right):
                a, b = self.unit.temp(), self.unit.temp()
                return (
                    f"(True if ({a} := {self.condition(left, scope)}) is True else "
                    f"(True if ({b} := {self.condition(right, scope)}) is True else "
                    f"(False if {a} is False and {b} is False else None)))"
                )
            case s.Unary(op="not", operand=operand):
                a = self.unit.temp()
                return f"(None if ({a} := {self.condition(operand, scope)}) is None else not {a})"
            case s.Binary():
                return self.comparison(expr, scope)
            case s.Quantifier(quantifier="exists" | "all"):
                return self.quantifier(expr, scope)
            case s.Literal(value=bool() | None):
                return repr(expr.value)
        found = self.type(expr)
        code = self.value(expr, scope)
        if found is not None and found.name in ("bool", "null"):
            return code
        return f"_truth({code}, {self.span(expr.span)})"

    def comparison(self, expr: s.Binary, scope: dict[str, _Var]) -> str:
        op, left, right = expr.op, expr.left, expr.right
        where = self.span(expr.span)
        if op in ("==", "!=") and (_is_null(left) or _is_null(right)):
            other = right if _is_null(left) else left
            test = "is" if op == "==" else "is not"
            return f"({self.value(other, scope)} {test} None)"
        a, b = self.value(left, scope), self.value(right, scope)
        types = {t.name for t in (self.type(left), self.type(right)) if t is not None}
        simple = len(types) == 1 and types <= {"number", "string", "bool", "duration"}
        if op in ("==", "!=", "<", "<=", ">", ">=") and simple:
            x, y = self.unit.temp(), self.unit.temp()
            if isinstance(right, s.Literal) or id(right) in self.unit.resolution.params:
                return f"(None if ({x} := {a}) is None else {x} {op} {b})"  # a literal is never null here
            return f"(None if ({x} := {a}) is None or ({y} := {b}) is None else {x} {op} {y})"
        if op in ("==", "!=") and _is_string(right):
            # Against a string literal: a string compares with ==, anything else goes through the helper.
            t, u = self.unit.temp(), self.unit.temp()
            test = f"({t} == {b} if _type({t}) is str else _eq({t}, {b}, {where}))"
            if op == "==":
                return f"(None if ({t} := {a}) is None else {test})"
            return f"(None if ({t} := {a}) is None or ({u} := {test}) is None else not {u})"
        if op == "==":
            return f"_eq({a}, {b}, {where})"
        if op == "!=":
            t = self.unit.temp()
            return f"(None if ({t} := _eq({a}, {b}, {where})) is None else not {t})"
        ordered = {
            "<": f"_lt({a}, {b}, {where})",
            "<=": f"_le({a}, {b}, {where})",
            ">": f"_lt({b}, {a}, {where})",
            ">=": f"_le({b}, {a}, {where})",
        }
        if op in ordered:
            return ordered[op]
        if op in ("in", "not in"):
            member = f"_in({a}, {b}, {where})"
            if (
                isinstance(right, s.ListExpr)
                and all(map(_is_pure, right.items))
                and not any(isinstance(item, s.Name) for item in right.items)
            ):
                # A list of literals is never null: only the needle can make the test unknown.
                t = self.unit.temp()
                member = f"(None if ({t} := {a}) is None else {t} in {b})"
            elif _is_pure(left):
                # The needle has no effect and cannot fail, so it may be read twice: a list is searched
                # here, anything else by the helper.
                t = self.unit.temp()
                known = "" if isinstance(left, s.Literal) else f" and {a} is not None"  # a literal: not null
                member = f"({a} in {t} if _type({t} := {b}) is _list{known} else _in({a}, {t}, {where}))"
            if op == "in":
                return member
            t = self.unit.temp()
            return f"(None if ({t} := {member}) is None else not {t})"
        if op == "matches":
            compiled = self.unit.resolution.regexes.get(id(right))
            pattern = self.unit.constant(compiled) if compiled is not None else b
            if compiled is not None and runtime.is_bounded(compiled.pattern):
                # Decided here, not on every call; a string is searched here, anything else by the helper.
                t, limit = self.unit.temp(), runtime.MAX_MATCH_INPUT
                return (
                    f"({pattern}.search({t}[:{limit}]) is not None if _type({t} := {a}) is str "
                    f"else _matches_bounded({t}, {pattern}, {where}))"
                )
            return f"_matches({a}, {pattern}, {where})"
        if op == "startswith":
            return f"_startswith({a}, {b}, {where})"
        if op == "contains":
            if _is_string(right):  # a string searched here; a list, an object, null or an error by the helper
                t = self.unit.temp()
                return f"({b} in {t} if _type({t} := {a}) is str else _contains({t}, {b}, {where}))"
            return f"_contains({a}, {b}, {where})"
        raise AssertionError(f"operator without code: {op}")

    # --- quantifiers -------------------------------------------------------------------------------

    def quantifier(self, expr: s.Quantifier, scope: dict[str, _Var]) -> str:
        kind = self.unit.resolution.kind_sources.get(id(expr.source))
        python = self.unit.var(expr.var)
        if kind is None:
            inner = {**scope, expr.var: _Var(python, None, record=False)}
            source = self.value(expr.source, scope)
            if ":=" in source:  # assignment expressions are not allowed in a comprehension's iterable
                source = f"(lambda: {source})()"
            iterable = f"_iter({source}, {self.span(expr.source.span)})"
            where = self.condition(expr.where, inner) if expr.where is not None else None
            if expr.quantifier == "all":
                assert expr.predicate is not None
                guard = f" if {where} is True" if where else ""
                body = f"_every(({self.condition(expr.predicate, inner)} for {python} in {iterable}{guard}))"
            else:
                helper = "_exists" if expr.quantifier == "exists" else "_count"
                body = f"{helper}(({where or 'True'} for {python} in {iterable}))"
        else:
            evidence = f"e_{python}"
            inner = {**scope, expr.var: _Var(python, evidence, record=False)}
            iterable, rest, linear = self.join(expr, kind, inner, scope)
            where = self.condition(rest, inner) if rest is not None else None
            pairs = f"{python}, {evidence}"
            if expr.quantifier == "all":
                assert expr.predicate is not None
                guard = f" if {where} is True" if where else ""
                body = (
                    f"_every_ev((({self.condition(expr.predicate, inner)}, {evidence}) "
                    f"for {pairs} in {iterable}{guard}), EV)"
                )
            elif expr.quantifier == "exists" and linear:
                # The candidates leave out null-key items; _exists_join turns false into unknown where
                # they would have made it so. A lambda, because a comprehension's iterable may hold no
                # assignment expression.
                candidates = self.unit.temp()
                body = (
                    f"_exists_join({iterable}, lambda {candidates}: (({where or 'True'}, {evidence}) "
                    f"for {pairs} in {candidates}), EV)"
                )
            else:
                helper = "_exists_ev" if expr.quantifier == "exists" else "_count_ev"
                body = f"{helper}((({where or 'True'}, {evidence}) for {pairs} in {iterable}), EV)"
        label = _quantifier_label(expr)
        return f"_rec(W, {label!r}, {body})" if _records(scope) else body

    def join(
        self,
        expr: s.Quantifier,
        kind: str,
        inner: dict[str, _Var],
        outer: dict[str, _Var],
        *,
        linear: bool = True,
    ) -> tuple[str, s.Expr | None, bool]:
        """Pick an equality usable as a hash join out of the `where`; return the iterable and the condition.

        The index only narrows which items are visited: the whole `where`, equality included, is still
        evaluated on each candidate. Items the index cannot hold (null or non-scalar key) stay candidates,
        and a null lookup visits every item, so `exists` keeps its three-valued result (unknown, not
        false, when a key is missing). With ``linear``, items with a null key are decided once per
        evaluation where that is sound (:meth:`null_check`); the third result says whether it was.
        """
        conjuncts = _conjuncts(expr.where) if expr.where is not None else []
        # A key that varies with the outer item (`x in d.ai_systems`) narrows far more than a constant
        # one (`d.type == "policy"`), so such candidates are tried first.
        conjuncts.sort(key=lambda c: 0 if self._reads_outer(c, expr.var) else 1)
        for candidate in conjuncts:
            if not (isinstance(candidate, s.Binary) and candidate.op in ("==", "in")):
                continue
            member = candidate.op == "in"  # `outer in inner.list`: index every element of the list
            pairs = [(candidate.right, candidate.left)]
            if not member:
                pairs.append((candidate.left, candidate.right))
            for mine, theirs in pairs:
                keys = _literal_path(mine, expr.var)
                if keys is None or _mentions(theirs, expr.var) or _is_null(theirs):
                    continue
                mine_type, theirs_type = self.type(mine), self.type(theirs)
                if member:
                    if mine_type is not None and mine_type.name not in ("list", "any"):
                        continue
                    mine_type = mine_type.element if mine_type is not None else None
                types = {t.name for t in (mine_type, theirs_type) if t is not None}
                if not types <= _JOINABLE:
                    continue
                self.unit.joins.append((kind, keys))
                lookup = self.value(theirs, outer)
                others = [c for c in conjuncts if c is not candidate]
                narrow = self.narrowing(expr.var, kind, others, outer)
                first = _conjuncts(expr.where)[0] if expr.where is not None else None
                narrow_all = bool(
                    narrow
                    and first is not None
                    and first is not candidate
                    and self.narrowing(expr.var, kind, [first], outer) == narrow
                )
                if narrow_all:
                    # The constant equality is the `where`'s first conjunct: an item on which it is false
                    # is decided by it alone (nothing before it can raise or write the witness), so the
                    # items found under the key are narrowed by it too, not only those without a key. In
                    # the near-miss search as well: it skips such an item (_unless_first_false), so only
                    # the items it examines count towards its CLOSEST_CANDIDATES.
                    narrow += ", narrow_all=True"
                typed = _type_literal(expr.var, first) if first is not None else None
                self.unit.visit(expr.source, kind, typed if candidate is first or narrow_all else None)
                nulls = self.null_check(expr, candidate, others) if linear else ""
                index = self.unit.index(kind, keys, member)
                iterable = f"_join({index}, ITEMS[{kind!r}], {lookup}{narrow}{nulls})"
                if linear and not nulls and not self._reads_outer(theirs, expr.var):
                    iterable = self.either(expr, kind, iterable, outer)
                if ":=" in iterable:
                    iterable = f"(lambda: {iterable})()"
                return iterable, expr.where, bool(nulls)
        iterable = f"ITEMS[{kind!r}]"
        self.unit.visit(expr.source, kind, None)
        if linear:
            iterable = self.either(expr, kind, iterable, outer)
            if ":=" in iterable:
                iterable = f"(lambda: {iterable})()"
        return iterable, expr.where, False

    def either(self, expr: s.Quantifier, kind: str, iterable: str, outer: dict[str, _Var]) -> str:
        """``iterable`` narrowed by a first conjunct ``inner.key == outer.path or P`` (P reading only the
        inner item), or ``iterable`` itself.

        ``iterable`` does not vary with the outer item. On an item whose key is another scalar than the
        outer value and on which every P is false, the disjunction is false, so the `where` is false and
        nothing after it runs: the item is skipped. Which items P keeps is worked out once per evaluation
        (:func:`annexa.lang.runtime.either`), so a join such as ``t.account_id == a.account_id or
        t.is_organization_trail`` costs linear, not quadratic, time. The only effect a skipped item had
        was writing the outer path into the witness; where that write would have come first, the runtime
        makes it at the same point of the iteration.
        """
        conjuncts = _conjuncts(expr.where) if expr.where is not None else []
        if not conjuncts or not (isinstance(conjuncts[0], s.Binary) and conjuncts[0].op == "or"):
            return iterable
        disjuncts = _disjuncts(conjuncts[0])
        keyed = [d for d in disjuncts if self._reads_outer(d, expr.var)]
        if len(keyed) != 1 or any(_has_quantifier(d) for d in disjuncts):
            return iterable
        equality = keyed[0]
        if not (isinstance(equality, s.Binary) and equality.op == "=="):
            return iterable
        for mine, theirs in ((equality.left, equality.right), (equality.right, equality.left)):
            keys = _literal_path(mine, expr.var)
            root = _path_root(theirs)
            if keys is None or root is None or root not in outer or root == expr.var:
                continue
            types = {t.name for t in (self.type(mine), self.type(theirs)) if t is not None}
            if not types <= _JOINABLE:
                continue
            self.unit.joins.append((kind, keys))
            quiet = {name: _Var(var.python, var.evidence, record=False) for name, var in outer.items()}
            lookup = self.value(theirs, quiet)
            # A path of a recorded variable goes into the witness where it is read (a bare name never does).
            recorded = outer[root].record and not isinstance(theirs, s.Name)
            written = f"W, {s.path_text(theirs)!r}" if recorded else "None, None"
            python = self.unit.var(expr.var)
            scope = {expr.var: _Var(python, f"e_{python}", record=False)}
            tests = [self.condition(d, scope) for d in disjuncts if d is not equality]
            name = f"{self.unit.prefix}_either{len(self.unit.helpers)}"
            self.unit.helpers += [
                f"def {name}(ITEMS, INDEX, NOW, pairs):",
                "    W = {}",
                "    EV = []",
                "    kept = []",
                f"    for {python}, e_{python} in pairs:",
                "        try:",
                f"            kept.append({' or '.join(f'({test}) is not False' for test in tests)})",
                "        except Exception:  # the `where` raises it again on this item, where it did",
                "            kept.append(True)",
                "    return kept",
            ]
            base = f"lambda: {iterable}" if ":=" not in iterable else f"lambda: (lambda: {iterable})()"
            index = self.unit.index(kind, keys, False)
            return f"_either(INDEX, {name}, ({base}), {index}, {lookup}, {written}, ITEMS, NOW)"
        return iterable

    def null_check(self, expr: s.Quantifier, candidate: s.Expr, others: list[s.Expr]) -> str:
        """The ``nulls`` argument of ``_join`` for a join whose other conjuncts read only the inner item
        (and parameters), or "" (every candidate is then visited, as before).

        On an item whose key is null the equality is unknown whatever the outer item, so the ``where`` is
        false or unknown there, the same for every outer item: a helper function evaluates it once per
        evaluation over those items, with the equality replaced by null and everything else as written
        (same order, same short-circuits), and the join skips them (see
        :func:`annexa.lang.runtime.join_candidates`).
        """
        assert expr.where is not None
        if any(self._reads_outer(c, expr.var) or _has_quantifier(c) for c in others):
            return ""
        python = self.unit.var(expr.var)
        scope = {expr.var: _Var(python, f"e_{python}", record=False)}
        test = self.condition(_replaced(expr.where, candidate, s.Literal(None, candidate.span)), scope)
        name = f"{self.unit.prefix}_null{len(self.unit.helpers)}"
        self.unit.helpers += [
            f"def {name}(ITEMS, INDEX, NOW, pairs):",
            "    W = {}",
            "    EV = []",
            "    unknown = False",
            f"    for {python}, e_{python} in pairs:",
            "        try:",
            f"            outcome = {test}",
            f"        except {_FAULTS}:",
            "            return None",
            "        if outcome is None:",
            "            unknown = True",
            "        elif outcome is not False:",
            "            return None",
            "    return unknown",
        ]
        return f", nulls=({name}, ITEMS, INDEX, NOW)"

    def narrowing(self, var: str, kind: str, conjuncts: list[s.Expr], outer: dict[str, _Var]) -> str:
        """Extra arguments of ``_join`` for a second, constant equality (``d.type == "policy"``), or "".

        Items the first index cannot hold (no value at its key) are all candidates; with hundreds of
        thousands of items, visiting them for every outer item makes a join quadratic. Those whose
        value at this second key is another scalar make the ``where`` false, so they can be skipped
        without changing any result; items with no value there stay candidates.
        """
        for candidate in conjuncts:
            if not (isinstance(candidate, s.Binary) and candidate.op == "=="):
                continue
            for mine, theirs in ((candidate.left, candidate.right), (candidate.right, candidate.left)):
                keys = _literal_path(mine, var)
                if keys is None or _mentions(theirs, var) or _is_null(theirs):
                    continue
                if self._reads_outer(theirs, var):
                    continue  # constant across the outer loop only: one cached filter per value
                types = {t.name for t in (self.type(mine), self.type(theirs)) if t is not None}
                if not types <= _JOINABLE:
                    continue
                return f", {self.unit.index(kind, keys, False)}, {self.value(theirs, outer)}"
        return ""

    def _reads_outer(self, expr: s.Expr, inner: str) -> bool:
        """Whether ``expr`` reads a binding other than ``inner`` (not only literals and parameters)."""
        if isinstance(expr, s.Name):
            return expr.name != inner and id(expr) not in self.unit.resolution.params
        return any(self._reads_outer(child, inner) for child in s.children(expr))

    # --- messages ----------------------------------------------------------------------------------

    def message(self, message: s.Interpolated, scope: dict[str, _Var]) -> str:
        quiet = {name: _Var(var.python, var.evidence, record=False) for name, var in scope.items()}
        pieces = [
            repr(part) if isinstance(part, str) else f"_render({self.value(part, quiet)})"
            for part in message.parts
        ]
        return f"''.join(({', '.join(pieces)},))" if pieces else "''"


def _records(scope: dict[str, _Var]) -> bool:
    return not scope or any(var.record for var in scope.values())


def _is_null(expr: s.Expr) -> bool:
    return isinstance(expr, s.Literal) and expr.value is None


def _is_string(expr: s.Expr) -> bool:
    return isinstance(expr, s.Literal) and isinstance(expr.value, str)


def _is_pure(expr: s.Expr) -> bool:
    """Whether the code of ``expr`` reads a local or a literal only: no effect, no error, no witness."""
    return isinstance(expr, s.Name) or (
        isinstance(expr, s.Literal) and isinstance(expr.value, str | int | float | bool)
    )


def _conjuncts(expr: s.Expr) -> list[s.Expr]:
    if isinstance(expr, s.Binary) and expr.op == "and":
        return _conjuncts(expr.left) + _conjuncts(expr.right)
    return [expr]


def _disjuncts(expr: s.Expr) -> list[s.Expr]:
    if isinstance(expr, s.Binary) and expr.op == "or":
        return _disjuncts(expr.left) + _disjuncts(expr.right)
    return [expr]


def _path_root(expr: s.Expr) -> str | None:
    """The variable a path of literal keys (`a.account_id`, `a.tags["env"]`, `k`) starts at, or None."""
    node = expr
    while isinstance(node, s.Attr | s.Index):
        if isinstance(node, s.Index) and not (
            isinstance(node.key, s.Literal)
            and isinstance(node.key.value, str | int)
            and not isinstance(node.key.value, bool)
        ):
            return None
        node = node.target
    return node.name if isinstance(node, s.Name) else None


def _literal_path(expr: s.Expr, var: str) -> tuple[str | int, ...] | None:
    keys: list[str | int] = []
    node = expr
    while isinstance(node, s.Attr | s.Index):
        if isinstance(node, s.Attr):
            keys.append(node.name)
        elif (
            isinstance(node.key, s.Literal)
            and isinstance(node.key.value, str | int)
            and not isinstance(node.key.value, bool)
        ):
            keys.append(node.key.value)
        else:
            return None
        node = node.target
    if isinstance(node, s.Name) and node.name == var and keys:
        return tuple(reversed(keys))
    return None


def _mentions(expr: s.Expr, var: str) -> bool:
    if isinstance(expr, s.Name):
        return expr.name == var
    if isinstance(expr, s.Quantifier) and expr.var == var:
        return _mentions(expr.source, var)
    return any(_mentions(child, var) for child in s.children(expr))


def _has_quantifier(expr: s.Expr) -> bool:
    return isinstance(expr, s.Quantifier) or any(_has_quantifier(child) for child in s.children(expr))


def _replaced(expr: s.Expr, target: s.Expr, replacement: s.Expr) -> s.Expr:
    """``expr`` with the conjunct ``target`` (reached through ``and`` nodes) replaced."""
    if expr is target:
        return replacement
    if isinstance(expr, s.Binary) and expr.op == "and":
        left = _replaced(expr.left, target, replacement)
        return s.Binary("and", left, _replaced(expr.right, target, replacement), expr.span)
    return expr


def _quantifier_label(expr: s.Quantifier) -> str:
    source = s.path_text(expr.source) or "…"
    return f"{expr.quantifier} {expr.var} in {source}"


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneratedCode:
    """The Python source of one rule and what the evaluator reads beside it."""

    source: str
    constants: Mapping[str, Any]  # the generated code's constants table
    joins: tuple[tuple[str, tuple[str | int, ...]], ...]
    conjuncts: tuple[str, ...] = ()
    indexes: tuple[IndexKey, ...] = ()  # the join indexes the code looks up
    # For each `exists ... where` that the `require` states as a whole or as one of its conjuncts: the
    # kind sought and its `where` conjuncts as text. A failing finding passes emit() the candidates of
    # each (items of the kind with the truth of each conjunct), so that it can name what came closest.
    sought: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # The document types the rule can see, when every iteration of its code over documents is narrowed
    # by a leading `v.type == "..."`: a document of another type (a string not among these) is never
    # visited, so evaluating the rule without such documents gives the same findings (streamed
    # evaluation loads a group's documents by type). None: the rule may visit any document.
    document_types: frozenset[str] | None = None


@dataclass(frozen=True, slots=True, eq=False)  # one rule's code is itself: compared by identity
class RuleCode:
    """The generated functions of one rule and what they need to run.

    ``function`` emits the findings and returns how many subjects the ``for each`` selected. The two
    others run only when it selected none: ``allow`` evaluates ``allow empty when`` (result, witness,
    evidence read, fault), and ``near`` evaluates each conjunct of the ``where`` (``conjuncts``, as text)
    on every item of the kind, so that the finding can name the near misses and what kept them out.

    The code is generated on first use and compiled by Python on first call, each once: `annexa rules
    check` checks rules and never runs them, and both steps were most of what compiling the pack cost.
    """

    name: str  # of the rule function in ``source``; its helpers are named after it
    generate: Callable[[], GeneratedCode] = field(repr=False, compare=False)
    _generated: GeneratedCode | None = field(default=None, init=False, repr=False, compare=False)
    _namespace: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def generated(self) -> GeneratedCode:
        if self._generated is None:
            object.__setattr__(self, "_generated", self.generate())  # a cache on a frozen instance
        assert self._generated is not None
        return self._generated

    @property
    def source(self) -> str:
        return self.generated().source

    @property
    def constants(self) -> Mapping[str, Any]:
        return self.generated().constants

    @property
    def joins(self) -> tuple[tuple[str, tuple[str | int, ...]], ...]:
        return self.generated().joins

    @property
    def conjuncts(self) -> tuple[str, ...]:
        return self.generated().conjuncts

    @property
    def indexes(self) -> tuple[IndexKey, ...]:
        return self.generated().indexes

    @property
    def sought(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return self.generated().sought

    @property
    def document_types(self) -> frozenset[str] | None:
        return self.generated().document_types

    def _functions(self) -> dict[str, Any]:
        if self._namespace is None:
            namespace: dict[str, Any] = {"__builtins__": {}, **RUNTIME_NAMES, **self.constants}
            exec(compile(self.source, f"<rule {self.name}>", "exec"), namespace)  # see the module doc
            object.__setattr__(self, "_namespace", namespace)  # a cache on a frozen instance
        assert self._namespace is not None
        return self._namespace

    @property
    def function(self) -> Callable[..., int]:
        found: Callable[..., int] = self._functions()[self.name]
        return found

    @property
    def allow(self) -> Callable[..., tuple[bool | None, dict[str, Any], list[Any], Any]] | None:
        return self._functions().get(f"{self.name}_allow")

    @property
    def near(self) -> Callable[..., list[tuple[Any, tuple[bool | None, ...] | None]]] | None:
        return self._functions().get(f"{self.name}_near")


def compile_rule(
    rule: s.RuleDecl,
    resolution: Resolution,
    functions: dict[str, Callable[..., Any]],
    name: str,
) -> RuleCode:
    """The rule's code, generated when first needed (the checked tree and resolution are kept till then)."""
    return RuleCode(name, functools.partial(_generate, rule, resolution, functions, name))


def _generate(
    rule: s.RuleDecl,
    resolution: Resolution,
    functions: dict[str, Callable[..., Any]],
    name: str,
) -> GeneratedCode:
    unit = _Unit(resolution=resolution, functions=functions, prefix=name)
    generator = CodeGenerator(unit)
    require = rule.require
    assert require is not None  # the checker refuses rules without one
    lines = [f"def {name}(ITEMS, INDEX, NOW, emit):"]
    fallback = unit.constant(require.span)  # where an unexpected Python error is reported
    if rule.for_each is not None:
        loop = rule.for_each
        kind = resolution.kind_sources[id(loop.source)]
        python = unit.var(loop.var)
        scope = {loop.var: _Var(python, f"e_{python}", record=True)}
        where = generator.condition(loop.where, scope) if loop.where is not None else None
        verdict = generator.condition(require, scope)
        message = generator.message(rule.message, scope) if rule.message else "None"
        # Visit only the items a leading constant equality of the `where` (`r.type == "ai-system-record"`)
        # can select: the others would `continue` below. Only the first conjunct, so that no conjunct
        # that could raise before it is skipped.
        first = _conjuncts(loop.where)[:1] if loop.where is not None else []
        narrow = generator.narrowing(loop.var, kind, first, {})
        unit.visit(loop.source, kind, _type_literal(loop.var, first[0]) if narrow and first else None)
        items = f"_join({{}}, ITEMS[{kind!r}], None{narrow})" if narrow else f"ITEMS[{kind!r}]"
        lines += [
            "    selected = 0",
            f"    for {python}, e_{python} in {items}:",
            "        W = {}",
            f"        EV = [e_{python}]",
            "        try:",
        ]
        if where is not None:
            lines += [f"            if {where} is not True:", "                continue"]
        closest = _closest_call(generator, require, scope, name)
        lines += [
            "            selected += 1",
            f"            R = {verdict}",
            f"            emit(e_{python}, R, W, EV, None if R is True else {message}, None, "
            f"None if R is True else {closest})",
            "        except _RuleFault as fault:",
            f"            emit(e_{python}, None, W, EV, None, fault)",
            "        except (TypeError, ValueError, OverflowError, RecursionError) as fault:",
            f"            emit(e_{python}, None, W, EV, None, _RuleFault(str(fault), {fallback}))",
            "    return selected",
        ]
    else:
        scope = {}
        verdict = generator.condition(require, scope)
        message = generator.message(rule.message, scope) if rule.message else "None"
        closest = _closest_call(generator, require, scope, name)
        lines += [
            "    W = {}",
            "    EV = []",
            "    try:",
            f"        R = {verdict}",
            f"        emit(None, R, W, EV, None if R is True else {message}, None, "
            f"None if R is True else {closest})",
            "    except _RuleFault as fault:",
            "        emit(None, None, W, EV, None, fault)",
            "    except (TypeError, ValueError, OverflowError, RecursionError) as fault:",
            f"        emit(None, None, W, EV, None, _RuleFault(str(fault), {fallback}))",
            "    return 1",
        ]
    conjuncts: list[s.Expr] = []
    if rule.for_each is not None and rule.for_each.where is not None:
        conjuncts = _conjuncts(rule.for_each.where)
        lines += _near_function(generator, rule.for_each, conjuncts, f"{name}_near")
    if rule.allow_empty is not None:
        lines += _allow_function(generator, rule.allow_empty, f"{name}_allow")
    sought = _sought_exists(generator, require)
    for number, (quantifier, _) in enumerate(sought):
        lines += _closest_function(generator, quantifier, rule, f"{name}_closest{number}")
    lines += unit.helpers
    return GeneratedCode(
        document_types=_document_types(rule, resolution, unit.visits),
        source="\n".join(lines) + "\n",  # generated from the syntax tree only; see the module docstring
        constants=unit.constants,
        joins=tuple(dict.fromkeys(unit.joins)),
        indexes=tuple(dict.fromkeys(unit.indexes)),
        conjuncts=tuple(s.render(c) for c in conjuncts),
        sought=tuple(
            (kind, tuple(s.render(c) for c in _conjuncts(quantifier.where)))
            for quantifier, kind in sought
            if quantifier.where is not None
        ),
    )


CLOSEST_CANDIDATES = 1000  # items examined per failing finding, at most: near misses must stay cheap


def _sought_exists(generator: CodeGenerator, require: s.Expr) -> list[tuple[s.Quantifier, str]]:
    """The `exists v in KIND where ...` conjuncts of ``require`` (at most two), with their kinds."""
    found = []
    for conjunct in _conjuncts(require):
        if (
            isinstance(conjunct, s.Quantifier)
            and conjunct.quantifier == "exists"
            and conjunct.where is not None
        ):
            kind = generator.unit.resolution.kind_sources.get(id(conjunct.source))
            if kind is not None:
                found.append((conjunct, kind))
    return found[:2]


def _closest_call(generator: CodeGenerator, require: s.Expr, scope: dict[str, _Var], name: str) -> str:
    """The code, inside the rule function, that gathers the candidates of each sought `exists`."""
    calls = []
    arguments = "".join(f", {var.python}, {var.evidence}" for var in scope.values())
    for number, _ in enumerate(_sought_exists(generator, require)):
        calls.append(f"{name}_closest{number}(ITEMS, INDEX, NOW{arguments})")
    return f"({', '.join(calls)},)" if calls else "None"


def _closest_function(
    generator: CodeGenerator, quantifier: s.Quantifier, rule: s.RuleDecl, name: str
) -> list[str]:
    """Candidates of one sought `exists` for a failing subject, each with the truth of each conjunct.

    Candidates come from the same hash join the rule uses, so with a key that varies with the subject
    (`s.id in d.ai_systems`) only that subject's items are examined; at most CLOSEST_CANDIDATES.
    """
    unit = generator.unit
    kind = unit.resolution.kind_sources[id(quantifier.source)]
    outer: dict[str, _Var] = {}
    if rule.for_each is not None:  # the subject, passed in by the rule function (see _closest_call)
        loop_python = unit.var(rule.for_each.var)
        outer = {rule.for_each.var: _Var(loop_python, f"e_{loop_python}", record=False)}
    python = unit.var(quantifier.var)
    inner = {**outer, quantifier.var: _Var(python, f"e_{python}", record=False)}
    # Every candidate, null keys included: those are near misses too ("is unknown").
    iterable, _, _ = generator.join(quantifier, kind, inner, outer, linear=False)
    assert quantifier.where is not None
    first, *rest = (generator.condition(c, inner) for c in _conjuncts(quantifier.where))
    parameters = "".join(f", {var.python}, {var.evidence}" for var in outer.values())
    return [
        f"def {name}(ITEMS, INDEX, NOW{parameters}):",
        "    W = {}",
        "    EV = []",
        "    found = []",
        f"    for {python}, e_{python} in _take({iterable}, {CLOSEST_CANDIDATES}):",
        "        try:",
        *_unless_first_false(first),
        f"            found.append((e_{python}, (FIRST, {''.join(f'{test}, ' for test in rest)})))",
        f"        except {_FAULTS}:",
        f"            found.append((e_{python}, None))",
        "    return found",
    ]


def _unless_first_false(first: str) -> list[str]:
    """The lines that evaluate a `where`'s first conjunct (as FIRST) and go on to the next candidate when
    it is false: an item that fails the first conjunct (of another type) is no near miss (evaluator._rank),
    so its other conjuncts are never evaluated. (Most candidates of a document join are documents of other
    types: 100,000 items, about a fifth of the rules' time.)"""
    return [f"            FIRST = {first}", "            if FIRST is False:", "                continue"]


_FAULTS = "(_RuleFault, TypeError, ValueError, OverflowError, RecursionError)"


def _near_function(
    generator: CodeGenerator, loop: s.ForEach, conjuncts: list[s.Expr], name: str
) -> list[str]:
    """Each item of the kind with the truth of each `where` conjunct (None for all when one raised)."""
    kind = generator.unit.resolution.kind_sources[id(loop.source)]
    python = generator.unit.var(loop.var)
    scope = {loop.var: _Var(python, f"e_{python}", record=False)}
    first, *rest = (generator.condition(c, scope) for c in conjuncts)
    return [
        f"def {name}(ITEMS, INDEX, NOW):",
        "    found = []",
        f"    for {python}, e_{python} in ITEMS[{kind!r}]:",
        "        W = {}",
        f"        EV = [e_{python}]",
        "        try:",
        *_unless_first_false(first),
        f"            found.append((e_{python}, (FIRST, {''.join(f'{test}, ' for test in rest)})))",
        f"        except {_FAULTS}:",
        f"            found.append((e_{python}, None))",
        "    return found",
    ]


def _allow_function(generator: CodeGenerator, condition: s.Expr, name: str) -> list[str]:
    verdict = generator.condition(condition, {})
    return [
        f"def {name}(ITEMS, INDEX, NOW):",
        "    W = {}",
        "    EV = []",
        "    try:",
        f"        return ({verdict}), W, EV, None",
        "    except _RuleFault as fault:",
        "        return None, W, EV, fault",
        "    except (TypeError, ValueError, OverflowError, RecursionError) as fault:",
        f"        return None, W, EV, _RuleFault(str(fault), {generator.span(condition.span)})",
    ]


def quantified_sources(rule: s.RuleDecl) -> list[s.Expr]:
    """Every expression that a quantifier or the `for each` of ``rule`` ranges over."""
    found: list[s.Expr] = []

    def walk(expr: s.Expr | None) -> None:
        if expr is None:
            return
        if isinstance(expr, s.Quantifier):
            found.append(expr.source)
        for child in s.children(expr):
            walk(child)

    if rule.for_each is not None:
        found.append(rule.for_each.source)
        walk(rule.for_each.where)
    walk(rule.require)
    walk(rule.allow_empty)
    if rule.message is not None:
        for part in rule.message.parts:
            if not isinstance(part, str):
                walk(part)
    return found


def _document_types(
    rule: s.RuleDecl, resolution: Resolution, visits: list[tuple[int, str | None]]
) -> frozenset[str] | None:
    """GeneratedCode.document_types: the types the iterations over documents are narrowed to; None when
    one of them is not narrowed, or when a source of documents was compiled without a noted iteration."""
    kinds = resolution.kind_sources
    sources = {id(node) for node in quantified_sources(rule) if kinds.get(id(node)) == DOCUMENT_KIND}
    if {source for source, _ in visits} != sources or any(typed is None for _, typed in visits):
        return None
    return frozenset(typed for _, typed in visits if typed is not None)


def _type_literal(var: str, conjunct: s.Expr) -> str | None:
    """``"policy"`` for a conjunct ``var.type == "policy"`` (either way round), else None."""
    if not (isinstance(conjunct, s.Binary) and conjunct.op == "=="):
        return None
    for mine, theirs in ((conjunct.left, conjunct.right), (conjunct.right, conjunct.left)):
        if (
            isinstance(mine, s.Attr)
            and mine.name == "type"
            and isinstance(mine.target, s.Name)
            and mine.target.name == var
            and isinstance(theirs, s.Literal)
            and isinstance(theirs.value, str)
        ):
            return theirs.value
    return None
