"""Syntax errors: codes E100-E103 with exact messages and positions, all errors at once, no Lark jargon."""

from __future__ import annotations

import re

import pytest
from conftest import build, control, diagnostics_of

from annexa.lang import syntax as s
from annexa.lang.parser import parse, parse_expression
from annexa.model.diagnostics import DiagnosticError


def where(diagnostic: object) -> tuple[str, str, int, int]:
    d = diagnostic
    return (d.code, d.message, d.span.start.line, d.span.start.column)  # type: ignore[attr-defined]


def test_unexpected_character_e100() -> None:
    (d,) = diagnostics_of(control("  rule r {\n    require 1 @ 2\n  }"))
    assert where(d) == ("E100", "unexpected character `@`", 3, 15)


def test_unterminated_string_e100() -> None:
    (d,) = diagnostics_of(control('  rule r {\n    require true\n    message "abc\n  }'))
    assert where(d) == ("E100", "unterminated string", 4, 13)
    assert d.help == 'strings are written on one line; close it with `"`'


def test_unexpected_token_e101_with_keyword_hint() -> None:
    (d,) = diagnostics_of(control("  rule r {\n    requir true\n  }"))
    assert where(d) == ("E101", "unexpected `requir`", 3, 5)
    assert d.help == "did you mean `require`?"
    assert (d.span.end.line, d.span.end.column) == (3, 11)


def test_unexpected_end_of_file_e102() -> None:
    diagnostics = diagnostics_of('control A.6.2.8 "t" {\n  rule r {\n    require true\n')
    codes = {d.code for d in diagnostics}
    assert codes == {"E102"}
    assert ("E102", "unexpected end of file", 3, 13) in [where(d) for d in diagnostics]
    last = next(d for d in diagnostics if d.span.start.line == 3)
    assert last.help == (
        "expected `allow`, `evidence`, `expect`, `for`, `message`, `remediation`, `require`, `severity` "
        "or 1 other(s)"
    )


def test_invalid_escape_e103() -> None:
    (d,) = diagnostics_of(control('  rule r { require true message "a\\q" }'))
    assert where(d) == ("E103", "invalid escape in string", 2, 33)


def test_invalid_regex_e103() -> None:
    diagnostics = diagnostics_of(
        control('  rule r { for each x in svc require x.name matches "(" message "a" }')
    )
    assert [where(d) for d in diagnostics] == [("E103", "invalid regular expression: missing )", 2, 53)]


def test_expect_at_least_zero_e304_from_parser() -> None:
    (d,) = diagnostics_of(
        control('  rule r { for each x in svc require x.on expect at least 0 message "a" }')
    )
    assert where(d) == ("E313", "`expect at least` takes a whole number of 1 or more", 2, 59)


def test_rendered_caret_for_unexpected_token() -> None:
    with pytest.raises(DiagnosticError) as caught:
        build(control("  rule r {\n    require true true\n  }"))
    assert caught.value.render() == (
        "t.rule:3:18: error[E101]: unexpected `true`\n"
        "   3 |     require true true\n"
        "                        ^^^^\n"
        "  help: expected `)`, `+`, `,`, `-`, `.`, `[`, `]`, `allow` or 21 other(s)\n\n"
        "1 error(s), 0 warning(s)"
    )


def test_rendered_caret_for_unterminated_string() -> None:
    with pytest.raises(DiagnosticError) as caught:
        build(control('  rule r {\n    message "abc\n  }'))
    assert caught.value.render() == (
        "t.rule:3:13: error[E100]: unterminated string\n"
        '   3 |     message "abc\n'
        "                   ^\n"
        '  help: strings are written on one line; close it with `"`\n\n'
        "1 error(s), 0 warning(s)"
    )


def test_two_broken_rules_give_two_diagnostics() -> None:
    text = control(
        "  rule r {\n    require true true\n  }\n  rule q {\n    requir true\n  }\n"
        '  rule ok { require true message "m" }'
    )
    diagnostics = diagnostics_of(text)
    assert [where(d) for d in diagnostics] == [
        ("E101", "unexpected `true`", 3, 18),
        ("E101", "unexpected `requir`", 6, 5),
    ]


def test_errors_in_two_files_come_together() -> None:
    from conftest import registry

    from annexa.lang.language import compile_rules
    from annexa.lang.ruleset import RuleSource

    with pytest.raises(DiagnosticError) as caught:
        compile_rules(
            [
                RuleSource("b.rule", control("  rule r { require 1 @ 2 }")),
                RuleSource("a.rule", control("  rule r { require x. }")),
            ],
            registry(),
        )
    assert [(d.span.path, d.code) for d in caught.value.diagnostics] == [
        ("a.rule", "E101"),
        ("b.rule", "E100"),
    ]


BROKEN = [
    "control",
    "control A.6.2.8",
    'control A.6.2.8 "t"',
    'control A.6.2.8 "t" {',
    'control A.6.2.8 "t" { rule }',
    'control A.6.2.8 "t" { rule r { require } }',
    'control A.6.2.8 "t" { rule r { require ( } }',
    'control A.6.2.8 "t" { rule r { require x[ } }',
    'control A.6.2.8 "t" { rule r { require f(1,) } }',
    'control A.6.2.8 "t" { rule r { require [1,,2] } }',
    'control A.6.2.8 "t" { rule r { for each in svc require true } }',
    'control A.6.2.8 "t" { rule r { for each x svc require true } }',
    'control A.6.2.8 "t" { rule r { require count(x in y } }',
    'control A.6.2.8 "t" { rule r { require all x in y where true } }',
    'control A.6.2.8 "t" { rule r { expect at least } }',
    'control A.6.2.8 "t" { rule r { message "{x." } }',
    'control A.6.2.8 "t" { rule r { message "{" } }',
    'control A.6.2.8 "t" { rule r { require true } } }',
    "param = 3",
    "param p 3",
    "param p = ",
    "{ } ( ) [ ] , .",
    "rule r { require true }",
    'control A.6.2.8 "t" { rule r { require 1 == == 2 } }',
    'control A.6.2.8 "t" { rule r { require not } }',
    'control A.6.2.8 "t" { rule r { severity } }',
    '"unterminated',
    "$",
]
_LARK_JARGON = re.compile(
    r"\$END|\b(?:LBRACE|RBRACE|LPAR|RPAR|LSQB|RSQB|COMMA|DOT|EQUAL|__ANON\w*|_[A-Z]+)\b|__"
)


@pytest.mark.parametrize("text", BROKEN)
def test_no_lark_token_names_in_messages(text: str) -> None:
    with pytest.raises(DiagnosticError) as caught:
        build(text)
    assert caught.value.diagnostics
    for d in caught.value.diagnostics:
        assert d.code in ("E100", "E101", "E102", "E103", "E313")
        assert not _LARK_JARGON.search(d.message), d.message
        assert not _LARK_JARGON.search(d.help or ""), d.help
    assert not _LARK_JARGON.search(caught.value.render())


def test_unclosed_brace_in_message() -> None:
    (d,) = diagnostics_of(control('  rule r { require true message "a {b" }'))
    assert where(d) == ("E101", "unclosed `{` in message", 2, 36)


def test_message_hole_positions_point_into_the_string() -> None:
    (d,) = diagnostics_of(
        control('  rule r { for each x in svc require x.on message "v={x.tags[\\"a\\"] @}" }')
    )
    assert where(d) == ("E100", "unexpected character `@`", 2, 69)


def test_syntax_tree_shapes_and_precedence() -> None:
    expr = parse_expression("not a.b == 1 and c or d in [1, 2]")
    assert isinstance(expr, s.Binary)
    assert expr.op == "or"
    left = expr.left
    assert isinstance(left, s.Binary)
    assert left.op == "and"
    assert isinstance(left.left, s.Unary)
    assert left.left.op == "not"
    assert isinstance(left.left.operand, s.Binary)
    assert left.left.operand.op == "=="
    right = expr.right
    assert isinstance(right, s.Binary)
    assert right.op == "in"
    assert isinstance(right.right, s.ListExpr)
    minus = parse_expression("1 - 2 - 3")
    assert isinstance(minus, s.Binary)
    assert isinstance(minus.left, s.Binary)
    assert s.path_text(parse_expression('x.tags["env"].y')) == 'x.tags["env"].y'
    assert isinstance(parse_expression("x not in y"), s.Binary)
    assert parse_expression("x not in y").op == "not in"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30d", 30 * 86400.0),
        ("12h", 12 * 3600.0),
        ("1w", 7 * 86400.0),
        ("90m", 5400.0),
        ("45s", 45.0),
        ("1.5d", 1.5 * 86400),
    ],
)
def test_duration_literals(text: str, value: float) -> None:
    expr = parse_expression(text)
    assert isinstance(expr, s.Literal)
    assert expr.value.total_seconds() == value  # type: ignore[union-attr]


def test_keywords_usable_as_field_names() -> None:
    expr = parse_expression("x.count + x.all")
    assert isinstance(expr, s.Binary)
    assert s.path_text(expr.left) == "x.count"


def test_quantifier_forms() -> None:
    expr = parse_expression("all i in x.items where i.on satisfy i.v > 1")
    assert isinstance(expr, s.Quantifier)
    assert expr.quantifier == "all"
    assert expr.where is not None
    assert expr.predicate is not None
    counted = parse_expression("count(i in x.items)")
    assert isinstance(counted, s.Quantifier)
    assert counted.where is None


def test_spans_are_one_based_and_cover_the_node() -> None:
    rule_file = parse('control A.6.2.8 "t" {\n  rule r { require a.b >= 3 }\n}\n', "p.rule")
    rule = rule_file.controls[0].rules[0]
    assert rule.require is not None
    span = rule.require.span
    assert (span.start.line, span.start.column, span.end.line, span.end.column) == (2, 20, 2, 28)
    assert (rule.name_span.start.line, rule.name_span.start.column) == (2, 8)
    assert rule_file.controls[0].id_span.start.column == 9


def test_comments_and_multiline_strings_concatenate() -> None:
    rule_file = parse(
        '# header\ncontrol A.6.2.8 "t" { # c\n rule r { require true remediation "a" "b" } }', "p.rule"
    )
    assert rule_file.controls[0].rules[0].remediation == "ab"
