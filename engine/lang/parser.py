"""Parse rule files into the syntax tree, turning every Lark error into a diagnostic in human terms.

The whole file is parsed first. When that fails, the file is cut into its top-level items (params,
control headers and each rule inside a control) and every item is parsed on its own, so one typo does not
hide the errors in the rules after it: all errors of a file are reported at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import pickle
import re
import sys
from datetime import timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lark import Lark, Token, Tree
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from annexa.files.atomic import atomic_write_bytes
from annexa.lang import syntax as s
from annexa.model.diagnostics import Diagnostic, DiagnosticError, Position, Span, did_you_mean

_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "DURATION": "a duration such as 30d",
    "CONTROL_ID": "a control id such as A.6.2.8",
    "COMPARE": "a comparison (==, !=, <, <=, >, >=)",
    "$END": "the end of the file",
}
_DURATION_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_CLAUSE_KEYWORDS = ("severity", "for", "require", "expect", "allow", "evidence", "message", "remediation")


_CACHE_FOLDER: list[Path] = []  # where the built parser may be kept between runs (see use_cache)


def use_cache(folder: Path) -> None:
    """Keep the built parser and parsed rule files in ``folder`` (the application layer passes a private
    per-user folder: both are pickles, read back only from there).

    Building the LALR tables costs a tenth of a second or more on each run; Lark stores them with the
    grammar's digest and rebuilds them when the grammar or the options change. Parsed files are keyed by
    their path and text and by :func:`_fingerprint`.
    """
    _CACHE_FOLDER[:] = [folder]


def _import_lark() -> None:
    """Lark is imported on the first parse the cache cannot answer: a check of unchanged rule files
    (every file read back from :func:`use_cache`'s folder) never needs it."""
    global Lark, Token, Tree, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
    from lark import Lark, Token, Tree
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken


@cache
def _lark_version() -> str:
    return importlib.metadata.version("lark")


@cache
def _lark() -> Lark:
    _import_lark()
    grammar = resources.files("annexa.lang").joinpath("grammar.lark").read_text(encoding="utf-8")
    cached: str | bool = False
    if _CACHE_FOLDER:
        cached = str(_CACHE_FOLDER[0] / f"grammar-lark-{_lark_version()}.cache")
    return Lark(
        grammar, parser="lalr", propagate_positions=True, start=["start", "rule", "expr"], cache=cached
    )


def _display_terminal(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    for terminal in _lark().terminals:
        if terminal.name == name:
            pattern = terminal.pattern
            return f"`{pattern.value}`" if pattern.type == "str" else name.lower()
    return name.lower()


def _expected_text(expected: set[str]) -> str:
    names = sorted({_display_terminal(name) for name in expected})
    if len(names) > 8:
        return ", ".join(names[:8]) + f" or {len(names) - 8} other(s)"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _keywords(expected: set[str]) -> list[str]:
    words = []
    for name in expected:
        text = _display_terminal(name)
        if text.startswith("`") and text[1:-1].isalpha():
            words.append(text[1:-1])
    return words


def _diagnostic_from_lark(error: UnexpectedInput, path: str) -> Diagnostic:
    line = error.line if isinstance(error.line, int) and error.line > 0 else 1
    column = error.column if isinstance(error.column, int) and error.column > 0 else 1
    start = Position(line, column)
    if isinstance(error, UnexpectedCharacters):
        char = error.char
        if char == '"':
            return Diagnostic(
                code="E100",
                message="unterminated string",
                span=Span(path, start, Position(line, column + 1)),
                help='strings are written on one line; close it with `"`',
            )
        return Diagnostic(
            code="E100",
            message=f"unexpected character `{char}`",
            span=Span(path, start, Position(line, column + 1)),
            help=f"expected {_expected_text(set(error.allowed))}" if error.allowed else None,
        )
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        token = error.token
        end = Position(token.end_line or line, token.end_column or column + len(str(token)))
        hint = None
        if token.type == "NAME":
            hint = did_you_mean(str(token), _keywords(set(error.expected)))
        return Diagnostic(
            code="E101",
            message=f"unexpected `{token}`",
            span=Span(path, start, end),
            help=hint or f"expected {_expected_text(set(error.expected))}",
        )
    expected = set(getattr(error, "expected", ()) or ())
    return Diagnostic(
        code="E102",
        message="unexpected end of file",
        span=Span(path, start, start),
        help=f"expected {_expected_text(expected)}" if expected else "a block is not closed with `}`",
    )


# --- splitting a broken file into independently parsable items ------------------------------------

_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[{}]|[A-Za-z_][A-Za-z0-9_]*|\S', re.MULTILINE)


def _items(text: str) -> list[tuple[str, int, int]]:
    """(start symbol, start offset, end offset) for each top-level item and each rule in a control."""
    items: list[tuple[str, int, int]] = []
    depth = 0
    top_start: int | None = None
    rule_start: int | None = None
    control_ranges: list[tuple[int, int]] = []
    for match in _SCAN.finditer(text):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth == 1 and rule_start is not None:
                items.append(("rule", rule_start, match.end()))
                rule_start = None
            elif depth <= 0 and top_start is not None:
                control_ranges.append((top_start, match.end()))
                top_start = None
                depth = 0
        elif depth == 0 and token in ("param", "define", "control"):
            if top_start is not None:
                control_ranges.append((top_start, match.start()))
            top_start = match.start()
        elif depth == 1 and token == "rule":
            if rule_start is not None:
                items.append(("rule", rule_start, match.start()))
            rule_start = match.start()
    if rule_start is not None:
        items.append(("rule", rule_start, len(text)))
    if top_start is not None:
        control_ranges.append((top_start, len(text)))
    rules = [item for item in items if item[0] == "rule"]
    for start, end in control_ranges:
        items.append(("start", start, end))
    # A control header is parsed with its rules blanked out; rules are parsed on their own.
    return [*items, *(("__rules__", a, b) for _, a, b in rules)]


def _blank(text: str, keep: list[tuple[int, int]], remove: list[tuple[int, int]]) -> str:
    chars = [c if c == "\n" else " " for c in text]
    for start, end in keep:
        chars[start:end] = text[start:end]
    for start, end in remove:
        chars[start:end] = [c if c == "\n" else " " for c in text[start:end]]
    return "".join(chars)


def _collect_errors(text: str, path: str) -> list[Diagnostic]:
    pieces = _items(text)
    rules = [(a, b) for symbol, a, b in pieces if symbol == "__rules__"]
    diagnostics: list[Diagnostic] = []
    for symbol, start, end in pieces:
        if symbol == "__rules__":
            continue
        inner_rules = [(a, b) for a, b in rules if start <= a and b <= end] if symbol == "start" else []
        chunk = _blank(text, [(start, end)], inner_rules)
        try:
            _lark().parse(chunk, start=symbol)
        except UnexpectedInput as error:
            diagnostics.append(_diagnostic_from_lark(error, path))
    return diagnostics


# --- building the syntax tree ---------------------------------------------------------------------


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def span(self, node: Tree[Token] | Token) -> Span:
        if isinstance(node, Token):
            return Span(
                self.path,
                Position(node.line or 1, node.column or 1),
                Position(node.end_line or node.line or 1, node.end_column or (node.column or 1) + len(node)),
            )
        meta = node.meta
        if getattr(meta, "empty", True):
            return Span(self.path, Position(1, 1), Position(1, 1))
        return Span(self.path, Position(meta.line, meta.column), Position(meta.end_line, meta.end_column))

    def error(self, code: str, message: str, span: Span, help_text: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code=code, message=message, span=span, help=help_text))

    def string(self, token: Token) -> str:
        try:
            value = json.loads(str(token))
        except json.JSONDecodeError:
            self.error(
                "E103", "invalid escape in string", self.span(token), 'use \\" \\\\ \\n \\t or \\uXXXX'
            )
            return str(token)[1:-1]
        assert isinstance(value, str)
        return value

    def file(self, tree: Tree[Token]) -> s.RuleFile:
        params = []
        defines = []
        controls = []
        for item in tree.children:
            assert isinstance(item, Tree)
            if item.data == "param_decl":
                name, value = item.children
                assert isinstance(name, Token)
                assert isinstance(value, Tree | Token)
                params.append(s.ParamDecl(name=str(name), value=self.expr(value), span=self.span(item)))
            elif item.data == "define_decl":
                defines.append(self.define(item))
            else:
                controls.append(self.control(item))
        return s.RuleFile(
            path=self.path, params=tuple(params), controls=tuple(controls), defines=tuple(defines)
        )

    def define(self, tree: Tree[Token]) -> s.DefineDecl:
        name, *rest = tree.children
        body = rest[-1]
        assert isinstance(name, Token)
        assert isinstance(body, Tree | Token)
        names = [token for token in rest[:-1] if isinstance(token, Token)]
        return s.DefineDecl(
            name=str(name),
            params=tuple(str(token) for token in names),
            body=self.expr(body),
            span=self.span(tree),
            name_span=self.span(name),
        )

    def control(self, tree: Tree[Token]) -> s.ControlDecl:
        control_id, title, *rules = tree.children
        assert isinstance(control_id, Token)
        return s.ControlDecl(
            id=str(control_id),
            title=self.string(title) if isinstance(title, Token) else None,
            rules=tuple(self.rule(rule) for rule in rules if isinstance(rule, Tree)),
            span=self.span(tree),
            id_span=self.span(control_id),
        )

    def rule(self, tree: Tree[Token]) -> s.RuleDecl:
        name, title, *clauses = tree.children
        assert isinstance(name, Token)
        found: dict[str, object] = {}
        duplicates: list[tuple[str, Span]] = []
        for clause in clauses:
            assert isinstance(clause, Tree)
            kind = str(clause.data).removesuffix("_clause")
            if kind in found:
                duplicates.append((kind, self.span(clause)))
                continue
            found[kind] = self.clause(kind, clause)
        return s.RuleDecl(
            name=str(name),
            title=self.string(title) if isinstance(title, Token) else None,
            severity=found.get("severity"),  # type: ignore[arg-type]  # built by clause() per kind
            for_each=found.get("for_each"),  # type: ignore[arg-type]
            require=found.get("require"),  # type: ignore[arg-type]
            expect_at_least=found.get("expect"),  # type: ignore[arg-type]
            allow_empty=found.get("allow"),  # type: ignore[arg-type]
            evidence=found.get("evidence", ()),  # type: ignore[arg-type]
            message=found.get("message"),  # type: ignore[arg-type]
            remediation=found.get("remediation"),  # type: ignore[arg-type]
            duplicate_clauses=tuple(duplicates),
            span=self.span(tree),
            name_span=self.span(name),
        )

    def clause(self, kind: str, tree: Tree[Token]) -> object:
        children = tree.children
        if kind == "severity":
            token = children[0]
            assert isinstance(token, Token)
            return (str(token), self.span(token))
        if kind == "for_each":
            var, source, where = children
            assert isinstance(var, Token)
            assert isinstance(source, Tree | Token)
            return s.ForEach(
                var=str(var),
                var_span=self.span(var),
                source=self.expr(source),
                where=self.expr(where) if isinstance(where, Tree | Token) else None,
                span=self.span(tree),
            )
        if kind in ("require", "allow"):
            node = children[0]
            assert isinstance(node, Tree | Token)
            return self.expr(node)
        if kind == "expect":
            token = children[0]
            assert isinstance(token, Token)
            if "." in token or int(token) < 1:
                self.error("E313", "`expect at least` takes a whole number of 1 or more", self.span(token))
                return (1, self.span(token))
            return (int(token), self.span(token))
        if kind == "evidence":
            tokens = [token for token in children if isinstance(token, Token)]
            return tuple((self.string(token), self.span(token)) for token in tokens)
        if kind == "message":
            return self.message([c for c in children if isinstance(c, Token)], self.span(tree))
        return "".join(self.string(c) for c in children if isinstance(c, Token))

    def message(self, tokens: list[Token], span: Span) -> s.Interpolated:
        parts: list[str | s.Expr] = []
        for token in tokens:
            raw = str(token)[1:-1]
            line, column = token.line or 1, (token.column or 1) + 1
            position = 0
            literal = ""
            while position < len(raw):
                char = raw[position]
                if raw.startswith("{{", position) or raw.startswith("}}", position):
                    literal += char
                    position += 2
                    continue
                if char == "\\" and position + 1 < len(raw):
                    literal += raw[position : position + 2]
                    position += 2
                    continue
                if char == "{":
                    close = raw.find("}", position)
                    if close < 0:
                        self.error(
                            "E101",
                            "unclosed `{` in message",
                            Span(
                                self.path,
                                Position(line, column + position),
                                Position(line, column + position + 1),
                            ),
                            "close the interpolation with `}`, or write `{{` for a literal brace",
                        )
                        break
                    if literal:
                        parts.append(self.decode(literal, token))
                        literal = ""
                    hole = raw[position + 1 : close]
                    parts.append(self.hole(hole, line, column + position + 1))
                    position = close + 1
                    continue
                literal += char
                position += 1
            if literal:
                parts.append(self.decode(literal, token))
        return s.Interpolated(parts=tuple(parts), span=span)

    def decode(self, literal: str, token: Token) -> str:
        try:
            value = json.loads(f'"{literal}"')
        except json.JSONDecodeError:
            self.error("E103", "invalid escape in string", self.span(token))
            return literal
        assert isinstance(value, str)
        return value

    def hole(self, text: str, line: int, column: int) -> s.Expr:
        # Inside a message string a quote is written `\"`; `{x.tags[\"env\"]}` means `x.tags["env"]`.
        # Swapping the backslash for a space outside the string literal keeps the hole's columns.
        pieces = text.split('\\"')
        text = pieces[0]
        for number, piece in enumerate(pieces[1:]):
            text += (' "' if number % 2 == 0 else '" ') + piece  # opening quote, then closing quote
        padded = "\n" * (line - 1) + " " * (column - 1) + text
        try:
            tree = _lark().parse(padded, start="expr")
        except UnexpectedInput as error:
            self.diagnostics.append(_diagnostic_from_lark(error, self.path))
            return s.Literal("", Span(self.path, Position(line, column), Position(line, column + len(text))))
        return self.expr(tree)

    def expr(self, node: Tree[Token] | Token) -> s.Expr:  # one branch per syntax form
        span = self.span(node)
        if isinstance(node, Token):  # a bare token only appears for `?` rules collapsed to a terminal
            return s.Name(str(node), span)
        data = str(node.data)
        kids = node.children
        if data == "number":
            text = str(kids[0])
            return s.Literal(float(text) if "." in text else int(text), span)
        if data == "duration":
            text = str(kids[0])
            amount, unit = float(text[:-1]), text[-1]
            return s.Literal(timedelta(**{_DURATION_UNITS[unit]: amount}), span)
        if data == "string":
            token = kids[0]
            assert isinstance(token, Token)
            return s.Literal(self.string(token), span)
        if data in ("true", "false", "null"):
            return s.Literal({"true": True, "false": False, "null": None}[data], span)
        if data == "now":
            return s.Now(span)
        if data == "name":
            return s.Name(str(kids[0]), span)
        if data == "call":
            name, *args = kids
            return s.Call(str(name), tuple(self.expr(a) for a in args if a is not None), span)
        if data == "list":
            return s.ListExpr(tuple(self.expr(a) for a in kids if a is not None), span)
        if data == "attr":
            target, name = kids
            assert isinstance(target, Tree | Token)
            return s.Attr(self.expr(target), str(name), span)
        if data == "index":
            target, key = kids
            assert isinstance(target, Tree | Token)
            assert isinstance(key, Tree | Token)
            return s.Index(self.expr(target), self.expr(key), span)
        if data in ("not_op", "neg_op"):
            operand = kids[0]
            assert isinstance(operand, Tree | Token)
            return s.Unary("not" if data == "not_op" else "-", self.expr(operand), span)
        if data == "compare":
            left, op, right = kids
            assert isinstance(left, Tree | Token)
            assert isinstance(right, Tree | Token)
            return s.Binary(str(op), self.expr(left), self.expr(right), span)
        binary = {
            "and_op": "and",
            "or_op": "or",
            "in_op": "in",
            "not_in_op": "not in",
            "matches_op": "matches",
            "startswith_op": "startswith",
            "contains_op": "contains",
            "add_op": "+",
            "sub_op": "-",
        }
        if data in binary:
            left, right = kids
            assert isinstance(left, Tree | Token)
            assert isinstance(right, Tree | Token)
            return s.Binary(binary[data], self.expr(left), self.expr(right), span)
        if data in ("exists", "count", "all"):
            var, source, where, *rest = kids
            assert isinstance(var, Token)
            assert isinstance(source, Tree | Token)
            predicate = rest[0] if rest else None
            return s.Quantifier(
                quantifier=data,
                var=str(var),
                var_span=self.span(var),
                source=self.expr(source),
                where=self.expr(where) if isinstance(where, Tree | Token) else None,
                predicate=self.expr(predicate) if isinstance(predicate, Tree | Token) else None,
                span=span,
            )
        raise AssertionError(f"grammar form without a builder: {data}")


@cache
def _fingerprint() -> str:
    """What a parsed file depends on besides its text: the grammar, this module, the syntax tree's classes
    (and the spans' and positions', which pickle themselves), Lark and Python (pickles)."""
    digest = hashlib.sha256(resources.files("annexa.lang").joinpath("grammar.lark").read_bytes())
    for module in (__file__, s.__file__, sys.modules[Span.__module__].__file__):
        digest.update(Path(str(module)).read_bytes())
    digest.update(f"{_lark_version()} {sys.version}".encode())
    return digest.hexdigest()[:32]


def parse(text: str, path: str) -> s.RuleFile:
    """Parse one rule file; raise :class:`DiagnosticError` carrying every syntax error found.

    With a cache folder (:func:`use_cache`), a file parsed before, unchanged, with the same grammar and
    parser, is read back from there: parsing the 39 files of the pack with Lark is a quarter of a second of
    every `annexa rules check`. Only files that parse are kept.
    """
    if not _CACHE_FOLDER:
        return _parse(text, path)
    key = hashlib.sha256(f"{_fingerprint()}\0{path}\0{text}".encode()).hexdigest()
    cached = _CACHE_FOLDER[0] / f"parsed-{key}.pickle"
    try:
        found = pickle.loads(cached.read_bytes())  # the user's own private cache, see use_cache
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        found = None
    if isinstance(found, s.RuleFile):
        return found
    rule_file = _parse(text, path)
    with contextlib.suppress(OSError, pickle.PicklingError, RecursionError):
        atomic_write_bytes(cached, pickle.dumps(rule_file))
    return rule_file


def _parse(text: str, path: str) -> s.RuleFile:
    _import_lark()
    try:
        tree = _lark().parse(text, start="start")
    except UnexpectedInput as first:  # UnexpectedEOF included: it is an UnexpectedInput
        found = _collect_errors(text, path) or [_diagnostic_from_lark(first, path)]
        raise DiagnosticError(found, {path: text}) from None
    builder = _Builder(path)
    rule_file = builder.file(tree)
    if builder.diagnostics:
        raise DiagnosticError(builder.diagnostics, {path: text})
    return rule_file


def parse_expression(text: str, path: str = "<expr>") -> s.Expr:
    """Parse a single expression (used for parameter overrides and tests)."""
    _import_lark()
    try:
        tree = _lark().parse(text, start="expr")
    except UnexpectedInput as error:
        raise DiagnosticError([_diagnostic_from_lark(error, path)], {path: text}) from None
    builder = _Builder(path)
    expr = builder.expr(tree)
    if builder.diagnostics:
        raise DiagnosticError(builder.diagnostics, {path: text})
    return expr
