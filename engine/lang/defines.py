"""Named predicates: ``define NAME(a, b) = EXPR`` declared once in a pack, expanded inline where called.

Expansion happens on the syntax tree, before checking, so every call is type-checked at its own site
with its own arguments, and the compiled rule is exactly what it would be had the body been written out:
evaluation costs nothing extra. Definitions are visible to every file of the pack (a shared prelude),
may call each other, but not themselves (directly or through others).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping

from annexa.lang import syntax as s
from annexa.model.diagnostics import Diagnostic, Level, Span

_Change = Callable[[s.Expr], s.Expr]


def expand_defines(
    files: Iterable[s.RuleFile], reserved: Iterable[str]
) -> tuple[list[s.RuleFile], list[Diagnostic]]:
    """Every rule of ``files`` with its calls of defined predicates replaced by their bodies.

    ``reserved`` are the built-in function names, which a definition may not take.
    """
    files = list(files)
    problems: list[Diagnostic] = []
    defines: dict[str, s.DefineDecl] = {}
    taken = set(reserved)
    for rule_file in files:
        for define in rule_file.defines:
            if define.name in taken or define.name in defines:
                first = defines.get(define.name)
                problems.append(
                    _error(
                        f"`{define.name}` is already defined"
                        + (f" at {first.name_span}" if first else " as a built-in function"),
                        define.name_span,
                    )
                )
                continue
            if len(set(define.params)) != len(define.params):
                problems.append(_error(f"`{define.name}` names a parameter twice", define.span))
                continue
            defines[define.name] = define
    expander = _Expander(defines, problems)
    for define in defines.values():  # report cycles and bad calls even in a definition nobody calls
        expander.expr(define.body, (define.name,))
    expanded = [expander.file(rule_file) for rule_file in files]
    for name, define in defines.items():
        if name not in expander.called:
            problems.append(
                Diagnostic(
                    code="W402",
                    message=f"`{name}` is defined but never called",
                    span=define.name_span,
                    level=Level.WARNING,
                )
            )
    return expanded, problems


def _error(message: str, span: Span) -> Diagnostic:
    return Diagnostic(code="E307", message=message, span=span)


class _Expander:
    def __init__(self, defines: Mapping[str, s.DefineDecl], problems: list[Diagnostic]) -> None:
        self.defines = defines
        self.problems = problems
        self.called: set[str] = set()

    def file(self, rule_file: s.RuleFile) -> s.RuleFile:
        if not self.defines:
            return rule_file
        controls = tuple(
            dataclasses.replace(control, rules=tuple(self.rule(rule) for rule in control.rules))
            for control in rule_file.controls
        )
        return dataclasses.replace(rule_file, controls=controls)

    def rule(self, rule: s.RuleDecl) -> s.RuleDecl:
        loop = rule.for_each
        if loop is not None:
            where = self.expr(loop.where, ()) if loop.where is not None else None
            loop = dataclasses.replace(loop, source=self.expr(loop.source, ()), where=where)
        message = rule.message
        if message is not None:
            parts = tuple(part if isinstance(part, str) else self.expr(part, ()) for part in message.parts)
            message = dataclasses.replace(message, parts=parts)
        return dataclasses.replace(
            rule,
            for_each=loop,
            require=self.expr(rule.require, ()) if rule.require is not None else None,
            allow_empty=self.expr(rule.allow_empty, ()) if rule.allow_empty is not None else None,
            message=message,
        )

    def expr(self, expr: s.Expr, stack: tuple[str, ...]) -> s.Expr:
        """``expr`` with every defined call expanded; ``stack`` holds the definitions being expanded."""
        if isinstance(expr, s.Call) and expr.function in self.defines:
            return self.call(expr, stack)
        return _rebuild(expr, lambda child: self.expr(child, stack))

    def call(self, call: s.Call, stack: tuple[str, ...]) -> s.Expr:
        define = self.defines[call.function]
        self.called.add(define.name)
        args = tuple(self.expr(arg, stack) for arg in call.args)
        if define.name in stack:
            chain = " -> ".join((*stack[stack.index(define.name) :], define.name))
            self.problems.append(_error(f"`{define.name}` calls itself ({chain})", call.span))
            return s.Literal(None, call.span)
        if len(args) != len(define.params):
            self.problems.append(
                Diagnostic(
                    code="E205",
                    message=f"`{define.name}` takes {len(define.params)} argument(s), not {len(args)}",
                    span=call.span,
                    help=f"defined at {define.name_span} as {define.name}({', '.join(define.params)})",
                )
            )
            return s.Literal(None, call.span)
        body = _substitute(define.body, dict(zip(define.params, args, strict=True)))
        return self.expr(body, (*stack, define.name))


def _substitute(expr: s.Expr, bound: Mapping[str, s.Expr]) -> s.Expr:
    """``expr`` with each parameter name replaced by its argument; a quantifier's own variable shadows."""
    if isinstance(expr, s.Name):
        return bound.get(expr.name, expr)
    if isinstance(expr, s.Quantifier) and expr.var in bound:
        inner = {name: value for name, value in bound.items() if name != expr.var}
        return dataclasses.replace(
            expr,
            source=_substitute(expr.source, bound),
            where=_substitute(expr.where, inner) if expr.where is not None else None,
            predicate=_substitute(expr.predicate, inner) if expr.predicate is not None else None,
        )
    return _rebuild(expr, lambda child: _substitute(child, bound))


def _rebuild(expr: s.Expr, change: _Change) -> s.Expr:
    """``expr`` with ``change`` applied to each direct child expression (a new node; leaves as they are).

    The nodes are built by their constructors, field by field: ``dataclasses.replace`` walked the fields
    of each of the pack's thousands of nodes on every `annexa rules check`."""
    match expr:
        case s.Attr(target=target, name=name, span=span):
            return s.Attr(change(target), name, span)
        case s.Index(target=target, key=key, span=span):
            return s.Index(change(target), change(key), span)
        case s.Call(function=function, args=args, span=span):
            return s.Call(function, tuple(change(arg) for arg in args), span)
        case s.ListExpr(items=items, span=span):
            return s.ListExpr(tuple(change(item) for item in items), span)
        case s.Unary(op=op, operand=operand, span=span):
            return s.Unary(op, change(operand), span)
        case s.Binary(op=op, left=left, right=right, span=span):
            return s.Binary(op, change(left), change(right), span)
        case s.Quantifier(source=source, where=where, predicate=predicate):
            return s.Quantifier(
                expr.quantifier,
                expr.var,
                expr.var_span,
                change(source),
                change(where) if where is not None else None,
                change(predicate) if predicate is not None else None,
                expr.span,
            )
    return expr
