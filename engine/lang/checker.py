"""Static checks of parsed rule files against the catalog and the evidence schemas.

Runs before anything is evaluated: unknown kinds and field paths, type clashes, unknown names and params,
invalid control ids, duplicate rules, unused bindings. Everything it learns (what each name refers to,
which sources are evidence kinds, the type of every expression) is handed to the compiler.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath

import regex

from annexa.contract.catalog import Catalog
from annexa.contract.freshness import DEFAULT_LIMITS, FreshnessLimits
from annexa.contract.kinds import (
    ANY,
    BOOL,
    DATETIME,
    DURATION,
    NULL,
    NUMBER,
    STRING,
    KindRegistry,
    Type,
    list_of,
)
from annexa.lang import syntax as s
from annexa.lang.builtins import BUILTINS
from annexa.lang.runtime import compile_pattern
from annexa.lang.syntax import LiteralValue
from annexa.model.diagnostics import Diagnostic, Level, Position, Span, did_you_mean

SEVERITIES = ("info", "low", "medium", "high", "critical")
MAX_REGEX_LENGTH = 500

# name -> (argument count, result type), from the one table of built-ins; plugins' functions join it.
BUILTIN_FUNCTIONS: dict[str, tuple[int, Type]] = {name: (b.arity, b.result) for name, b in BUILTINS.items()}

_ORDERED = {"number", "string", "datetime", "duration"}


@dataclass(slots=True)
class Binding:
    type: Type
    kind: str | None  # the evidence kind when bound to top-level evidence
    span: Span
    used: bool = False


@dataclass(slots=True)
class Resolution:
    """What the checker found, keyed by ``id()`` of syntax nodes (nodes live as long as compilation)."""

    types: dict[int, Type] = field(default_factory=dict)
    params: dict[int, str] = field(default_factory=dict)  # Name node -> param name
    kind_sources: dict[int, str] = field(default_factory=dict)  # source expr -> evidence kind
    param_values: dict[str, LiteralValue] = field(default_factory=dict)
    regexes: dict[int, regex.Pattern[str]] = field(default_factory=dict)  # literal pattern node -> compiled
    # rule node -> evidence kind -> the top-level data fields the rule reads (None: the whole item)
    fields_read: dict[int, dict[str, set[str] | None]] = field(default_factory=dict)
    # The maximum age of evidence per kind and document type, which `fresh(x)` compares with.
    freshness: FreshnessLimits = DEFAULT_LIMITS


def literal_type(value: LiteralValue) -> Type:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, timedelta):
        return DURATION
    return STRING


def _compatible(left: Type, right: Type) -> bool:
    names = {left.name, right.name}
    if "any" in names or "null" in names or left.name == right.name:
        return True
    return names == {"datetime", "string"}  # dates arrive as ISO strings


class Checker:
    def __init__(
        self,
        kinds: KindRegistry,
        catalog: Catalog,
        functions: Mapping[str, tuple[int, Type]] | None = None,
    ) -> None:
        self.kinds = kinds
        self.catalog = catalog
        self.functions = {**BUILTIN_FUNCTIONS, **(functions or {})}
        self.diagnostics: list[Diagnostic] = []
        self.resolution = Resolution()
        self.param_types: dict[str, Type] = {}
        self._kind_types: dict[str, Type] = {}
        self._fields: dict[str, set[str] | None] = {}  # of the rule being checked
        self._member_bases: set[int] = set()  # Name nodes read only through a field access

    # --- reporting -------------------------------------------------------------------------------

    def error(self, code: str, message: str, span: Span, help_text: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code=code, message=message, span=span, help=help_text))

    def warn(self, code: str, message: str, span: Span, help_text: str | None = None) -> None:
        self.diagnostics.append(
            Diagnostic(code=code, message=message, span=span, help=help_text, level=Level.WARNING)
        )

    # --- files, params, controls, rules ---------------------------------------------------------

    def check_params(self, files: Iterable[s.RuleFile], overrides: Mapping[str, LiteralValue]) -> None:
        seen: dict[str, Span] = {}
        for rule_file in files:
            for param in rule_file.params:
                if param.name in seen:
                    self.error(
                        "E302",
                        f"parameter `{param.name}` is already declared",
                        param.span,
                        f"first declared at {seen[param.name]}",
                    )
                    continue
                seen[param.name] = param.span
                value = self._constant(param.value)
                if value is _NOT_CONSTANT:
                    self.error("E206", f"parameter `{param.name}` needs a literal value", param.value.span)
                    continue
                self.resolution.param_values[param.name] = value  # type: ignore[assignment]  # checked above
                self.param_types[param.name] = literal_type(value)  # type: ignore[arg-type]
        override_span = Span("<params>", Position(1, 1), Position(1, 1))
        for name, value in sorted(overrides.items()):
            if name not in self.param_types:
                self.error(
                    "E204",
                    f"no rule declares a parameter `{name}`",
                    override_span,
                    did_you_mean(name, self.param_types),
                )
                continue
            expected = self.param_types[name]
            actual = literal_type(value)
            if actual != expected:
                self.error(
                    "E207",
                    f"parameter `{name}` is a {expected}, but the override is a {actual}",
                    override_span,
                )
                continue
            self.resolution.param_values[name] = value

    def _constant(self, expr: s.Expr) -> LiteralValue | object:
        if isinstance(expr, s.Literal):
            return expr.value
        if isinstance(expr, s.Unary) and expr.op == "-" and isinstance(expr.operand, s.Literal):
            value = expr.operand.value
            if isinstance(value, int | float | timedelta) and not isinstance(value, bool):
                return -value
        return _NOT_CONSTANT

    def check_controls(self, files: Iterable[s.RuleFile]) -> None:
        valid = self.catalog.rule_target_ids  # Annex A controls and the main-body clauses
        rule_ids: dict[str, Span] = {}
        for rule_file in files:
            expected_id = _control_from_file_name(rule_file.path)
            for control in rule_file.controls:
                if control.id not in valid:
                    if control.id in self.catalog.invalid_ids_seen or re.fullmatch(r"A(\.\d+)+", control.id):
                        message = f"`{control.id}` is not an ISO/IEC 42001:2023 Annex A control"
                    else:
                        message = f"`{control.id}` is not an Annex A control id"
                    self.error(
                        "E300",
                        message,
                        control.id_span,
                        did_you_mean(control.id, valid)
                        or "Annex A controls are numbered from .2 upwards, e.g. A.6.2.8",
                    )
                elif expected_id is not None and control.id != expected_id:
                    self.error(
                        "E305",
                        f"control {control.id} is in the file of control {expected_id}",
                        control.id_span,
                        f"move it to {control.id.lower().replace('.', '_')}.rule",
                    )
                for rule in control.rules:
                    rule_id = f"{control.id}/{rule.name}"
                    if rule_id in rule_ids:
                        self.error(
                            "E301",
                            f"rule `{rule_id}` is already defined",
                            rule.name_span,
                            f"first defined at {rule_ids[rule_id]}",
                        )
                    else:
                        rule_ids[rule_id] = rule.name_span
                    self.check_rule(rule)
                    self._check_evidence(control.id, rule)

    def _check_evidence(self, control_id: str, rule: s.RuleDecl) -> None:
        """Each signal a rule names is one the catalog lists for the rule's own control."""
        control = self.catalog.control(control_id)
        known = [signal.id for signal in control.evidence] if control is not None else []
        for signal, span in rule.evidence:
            if signal not in known:
                self.error(
                    "E308",
                    f"`{signal}` is not an evidence signal of control {control_id} in the catalog",
                    span,
                    did_you_mean(signal, known) or (f"its signals: {', '.join(known)}" if known else None),
                )

    def check_rule(self, rule: s.RuleDecl) -> None:
        for clause, span in rule.duplicate_clauses:
            self.error(
                "E310", f"rule `{rule.name}` has more than one `{clause.replace('_', ' ')}` clause", span
            )
        if rule.severity is not None and rule.severity[0] not in SEVERITIES:
            name, span = rule.severity
            self.error(
                "E304",
                f"unknown severity `{name}`",
                span,
                did_you_mean(name, SEVERITIES) or f"use one of {', '.join(SEVERITIES)}",
            )
        if rule.require is None:
            self.error(
                "E311",
                f"rule `{rule.name}` has no `require` clause",
                rule.name_span,
                "every rule states what must hold, e.g. `require x.enabled`",
            )
        self._fields = self.resolution.fields_read.setdefault(id(rule), {})
        scope: dict[str, Binding] = {}
        if rule.for_each is not None:
            loop = rule.for_each
            element = self._source(loop.source, scope, top_level=True)
            scope[loop.var] = Binding(
                element, self.resolution.kind_sources.get(id(loop.source)), loop.var_span
            )
            if loop.where is not None:
                self._condition(loop.where, scope)
        elif rule.expect_at_least is not None:
            self.error("E312", "`expect at least` needs a `for each` clause", rule.expect_at_least[1])
        if rule.require is not None:
            self._condition(rule.require, scope)
        if rule.allow_empty is not None:
            self._check_allow_empty(rule)
        if rule.message is None:
            self.warn(
                "W401",
                f"rule `{rule.name}` has no message",
                rule.name_span,
                'a message tells the reader what failed, e.g. "bucket {b.name} is not encrypted"',
            )
        else:
            for part in rule.message.parts:
                if not isinstance(part, str):
                    self.expr(part, scope)
        if rule.for_each is not None and not scope[rule.for_each.var].used:
            self.warn(
                "W400",
                f"`{rule.for_each.var}` is never used",
                rule.for_each.var_span,
                "a `for each` binding that no condition reads gives the same verdict for every item",
            )

    def _check_allow_empty(self, rule: s.RuleDecl) -> None:
        """`allow empty when COND` makes an empty selection not applicable, so COND must be evidenced.

        An empty set is legitimate (no incidents this period) only where evidence says so (a current
        incident register). COND is checked outside the `for each` (there is no item) and must range over
        an evidence kind: a condition on parameters or literals alone would make emptiness free.
        """
        cond = rule.allow_empty
        assert cond is not None
        if rule.for_each is None:
            self.error("E312", "`allow empty` needs a `for each` clause", cond.span)
            return
        if rule.expect_at_least is not None:
            self.error(
                "E312",
                "a rule cannot both `expect at least` items and `allow empty`",
                cond.span,
                "keep one: `expect at least` makes emptiness a failure, `allow empty when` makes it "
                "not applicable where evidence shows it is legitimate",
            )
        self._condition(cond, {})
        if not any(
            isinstance(node, s.Quantifier) and id(node.source) in self.resolution.kind_sources
            for node in s.walk(cond)
        ):
            self.error(
                "E306",
                "`allow empty when` must rest on evidence: its condition ranges over no evidence kind",
                cond.span,
                "name the evidence that makes an empty set legitimate, e.g. `allow empty when exists r in "
                'document where r.type == "ai-incident-register" and r.status == "approved"`',
            )

    # --- expressions -----------------------------------------------------------------------------

    def _condition(self, expr: s.Expr, scope: dict[str, Binding]) -> None:
        found = self.expr(expr, scope)
        if found.name not in ("bool", "any", "null"):
            self.error("E203", f"a condition must be true or false, but this is a {found}", expr.span)

    def _source(self, expr: s.Expr, scope: dict[str, Binding], *, top_level: bool) -> Type:
        """The element type of what a quantifier ranges over: an evidence kind or a list in an item."""
        dotted = s.path_text(expr)
        root = dotted.split(".")[0] if dotted else None
        if dotted is not None and root not in scope and root not in self.param_types and "[" not in dotted:
            if dotted in self.kinds:
                self.resolution.kind_sources[id(expr)] = dotted
                if dotted not in self._kind_types:
                    self._kind_types[dotted] = self.kinds.type_of(dotted)
                return self._kind_types[dotted]
            self.error(
                "E200",
                f"unknown evidence kind `{dotted}`",
                expr.span,
                did_you_mean(dotted, self.kinds.kinds)
                or (
                    f"known kinds: {', '.join(self.kinds.kinds[:8])}"
                    if self.kinds.kinds
                    else "no collector that declares evidence kinds is configured"
                ),
            )
            return ANY
        if top_level:
            self.error("E200", "`for each` ranges over an evidence kind, such as aws.s3.bucket", expr.span)
            return ANY
        found = self.expr(expr, scope)
        if found.name == "list":
            return found.element or ANY
        if found.name not in ("any", "null"):
            self.error("E203", f"a quantifier ranges over a list, but this is a {found}", expr.span)
        return ANY

    def _quantifier(self, expr: s.Quantifier, scope: dict[str, Binding]) -> Type:
        element = self._source(expr.source, scope, top_level=False)
        if expr.var in scope:
            self.error(
                "E303",
                f"`{expr.var}` is already bound in this rule",
                expr.var_span,
                "pick another name for the inner variable",
            )
        inner = {
            **scope,
            expr.var: Binding(element, self.resolution.kind_sources.get(id(expr.source)), expr.var_span),
        }
        if expr.where is not None:
            self._condition(expr.where, inner)
        if expr.predicate is not None:
            self._condition(expr.predicate, inner)
        for name, binding in inner.items():
            if name in scope:
                scope[name].used = scope[name].used or binding.used
        if expr.where is not None and not inner[expr.var].used:
            self.warn(
                "W400",
                f"`{expr.var}` is never used",
                expr.var_span,
                "the `where` condition does not mention the variable it filters",
            )
        return NUMBER if expr.quantifier == "count" else BOOL

    def expr(self, expr: s.Expr, scope: dict[str, Binding]) -> Type:
        found = self._expr(expr, scope)
        self.resolution.types[id(expr)] = found
        return found

    def _expr(self, expr: s.Expr, scope: dict[str, Binding]) -> Type:
        match expr:
            case s.Literal(value=value):
                return literal_type(value)
            case s.Now():
                return DATETIME
            case s.ListExpr(items=items):
                types = {self.expr(item, scope) for item in items}
                return list_of(types.pop() if len(types) == 1 else ANY)
            case s.Name(name=name, span=span):
                if name in scope:
                    binding = scope[name]
                    binding.used = True
                    if binding.kind is not None and id(expr) not in self._member_bases:
                        self._fields[binding.kind] = None  # the item as a whole: every field counts
                    return binding.type
                if name in self.param_types:
                    self.resolution.params[id(expr)] = name
                    return self.param_types[name]
                candidates = [*scope, *self.param_types]
                hint = did_you_mean(name, candidates)
                if hint is None and name in self.kinds:
                    hint = f"`{name}` is an evidence kind; bind it with `for each x in {name}` or `exists …`"
                self.error("E202", f"unknown name `{name}`", span, hint)
                return ANY
            case s.Attr(target=target, name=name, span=span):
                self._note_field(target, name, scope)
                base = self.expr(target, scope)
                return self._member(base, name, expr, span)
            case s.Index(target=target, key=key):
                if isinstance(key, s.Literal) and isinstance(key.value, str):
                    self._note_field(target, key.value, scope)
                base = self.expr(target, scope)
                key_type = self.expr(key, scope)
                if base.name == "list":
                    if key_type.name not in ("number", "any"):
                        self.error("E203", f"a list is indexed by a number, not a {key_type}", key.span)
                    return base.element or ANY
                if (
                    base.name in ("record", "map")
                    and isinstance(key, s.Literal)
                    and isinstance(key.value, str)
                ):
                    return self._member(base, key.value, expr, key.span)
                if base.name == "map":
                    return base.element or ANY
                if base.name not in ("any", "record", "null"):
                    self.error("E203", f"a {base} cannot be indexed", expr.span)
                return ANY
            case s.Call():
                return self._call(expr, scope)
            case s.Unary(op=op, operand=operand, span=span):
                found = self.expr(operand, scope)
                if op == "not":
                    if found.name not in ("bool", "any", "null"):
                        self.error("E203", f"`not` needs true or false, but this is a {found}", span)
                    return BOOL
                if found.name not in ("number", "duration", "any"):
                    self.error("E203", f"cannot negate a {found}", span)
                return found
            case s.Binary():
                return self._binary(expr, scope)
            case s.Quantifier():
                return self._quantifier(expr, scope)
        raise AssertionError(f"unchecked syntax node {type(expr).__name__}")

    def _note_field(self, target: s.Expr, name: str, scope: dict[str, Binding]) -> None:
        """Record ``item.name`` read from an evidence-bound variable, so collectors can skip other fields."""
        if not isinstance(target, s.Name) or target.name not in scope:
            return
        kind = scope[target.name].kind
        if kind is None:
            return
        self._member_bases.add(id(target))
        fields = self._fields.setdefault(kind, set())
        if fields is not None:
            fields.add(name)

    def _member(self, base: Type, name: str, expr: s.Expr, span: Span) -> Type:
        if base.name == "record":
            found = base.field(name)
            if found is not None:
                return found
            if base.open:
                return ANY
            path = s.path_text(expr) or name
            self.error(
                "E201",
                f"unknown field `{name}` in `{path}`",
                span,
                did_you_mean(name, [n for n, _ in base.fields])
                or f"fields here: {', '.join(n for n, _ in base.fields)}",
            )
            return ANY
        if base.name == "map":
            return base.element or ANY
        if base.name in ("any", "null"):
            return ANY
        self.error("E203", f"a {base} has no field `{name}`", span)
        return ANY

    def _call(self, expr: s.Call, scope: dict[str, Binding]) -> Type:
        args = [self.expr(arg, scope) for arg in expr.args]
        if expr.function not in self.functions:
            self.error(
                "E202",
                f"unknown function `{expr.function}`",
                expr.span,
                did_you_mean(expr.function, self.functions)
                or f"functions: {', '.join(sorted(self.functions))}",
            )
            return ANY
        arity, result = self.functions[expr.function]
        if len(args) != arity:
            self.error("E205", f"`{expr.function}` takes {arity} argument(s), not {len(args)}", expr.span)
            return result
        builtin = BUILTINS.get(expr.function)  # a plugin's function declares no argument types
        if builtin is not None and builtin.needs_evidence:
            arg = expr.args[0]
            binding = scope.get(arg.name) if isinstance(arg, s.Name) else None
            if binding is None or binding.kind is None:
                self.error(
                    "E203",
                    f"`{expr.function}` takes an evidence item: a name bound by `for each` or by a "
                    "quantifier over an evidence kind",
                    arg.span,
                    f"e.g. `for each d in document where ... require {expr.function}(d)`",
                )
            return result
        if builtin is not None and args[0].name not in builtin.accepts | {"any", "null"}:
            self.error("E203", f"`{expr.function}` does not take a {args[0]}", expr.args[0].span)
        return result

    def _binary(self, expr: s.Binary, scope: dict[str, Binding]) -> Type:
        op = expr.op
        left = self.expr(expr.left, scope)
        right = self.expr(expr.right, scope)
        if op in ("and", "or"):
            for side, found in ((expr.left, left), (expr.right, right)):
                if found.name not in ("bool", "any", "null"):
                    self.error(
                        "E203", f"`{op}` needs true or false on both sides, but this is a {found}", side.span
                    )
            return BOOL
        if op in ("==", "!="):
            if not _compatible(left, right):
                self.error("E203", f"cannot compare a {left} with a {right}", expr.span)
            return BOOL
        if op in ("<", "<=", ">", ">="):
            if not _compatible(left, right) or not ({left.name, right.name} <= _ORDERED | {"any", "null"}):
                self.error("E203", f"cannot order a {left} and a {right} with `{op}`", expr.span)
            return BOOL
        if op in ("in", "not in"):
            if right.name not in ("list", "string", "map", "record", "any", "null"):
                self.error(
                    "E203",
                    f"`{op}` needs a list, a string or an object on its right, not a {right}",
                    expr.right.span,
                )
            elif right.name == "list" and right.element is not None and not _compatible(left, right.element):
                self.error("E203", f"a {left} is never in a {right}", expr.span)
            return BOOL
        if op in ("matches", "startswith", "contains"):
            if op == "contains" and left.name == "list":
                return BOOL
            for side, found in ((expr.left, left), (expr.right, right)):
                if found.name not in ("string", "any", "null", "datetime"):
                    self.error("E203", f"`{op}` works on strings, but this is a {found}", side.span)
            if op == "matches":
                self._regex(expr.right)
            return BOOL
        if op in ("+", "-"):
            pair = (left.name, right.name)
            if "any" in pair:
                return ANY
            table = {
                ("number", "number"): NUMBER,
                ("duration", "duration"): DURATION,
                ("datetime", "duration"): DATETIME,
                ("string", "duration"): DATETIME,
            }
            if op == "-":
                table[("datetime", "datetime")] = DURATION
            if pair not in table:
                self.error("E203", f"cannot compute a {left} {op} a {right}", expr.span)
                return ANY
            return table[pair]
        raise AssertionError(f"unchecked operator {op}")

    def _regex(self, pattern: s.Expr) -> None:
        value = pattern.value if isinstance(pattern, s.Literal) else None
        if isinstance(pattern, s.Name) and pattern.name in self.resolution.param_values:
            value = self.resolution.param_values[pattern.name]
        if not isinstance(value, str):
            return
        if len(value) > MAX_REGEX_LENGTH:
            self.error("E103", f"regular expression longer than {MAX_REGEX_LENGTH} characters", pattern.span)
            return
        try:
            self.resolution.regexes[id(pattern)] = compile_pattern(value)
        except regex.error as exc:
            reason = getattr(exc, "msg", None) or str(exc)  # the stubs lack `msg`; the position is the span
            self.error("E103", f"invalid regular expression: {reason}", pattern.span)


_NOT_CONSTANT = object()


def _control_from_file_name(path: str) -> str | None:
    """``a_6_2_8.rule`` holds control A.6.2.8; other file names carry no such promise."""
    stem = PurePath(path).stem
    if re.fullmatch(r"a(_\d+)+", stem):
        return "A." + ".".join(stem.split("_")[1:])
    return None
