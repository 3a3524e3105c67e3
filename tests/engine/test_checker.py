"""Static checks: every checker diagnostic code with its exact message, position and help."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import build, control, diagnostics_of, registry

from annexa.lang.language import compile_rules, load_rule_sources
from annexa.lang.ruleset import RuleSource
from annexa.model.diagnostics import DiagnosticError, Level


def at(d: object) -> tuple[str, str, int, int]:
    return (d.code, d.message, d.span.start.line, d.span.start.column)  # type: ignore[attr-defined]


def only_errors(
    text: str, params: dict[str, str] | None = None, path: str = "t.rule"
) -> list[tuple[str, str, int, int]]:
    return [at(d) for d in diagnostics_of(text, params, path) if d.level is Level.ERROR]


def test_e200_unknown_kind_with_hint() -> None:
    (d,) = diagnostics_of(control('  rule r { for each x in sv require x.name == "a" message "a" }'))
    assert at(d) == ("E200", "unknown evidence kind `sv`", 2, 26)
    assert d.help == "did you mean `svc`?"


def test_e200_for_each_over_a_list() -> None:
    text = 'param p = 1\ncontrol A.6.2.8 "t" {\n  rule r { for each x in p require x message "a" }\n}'
    assert only_errors(text)[0] == (
        "E200",
        "`for each` ranges over an evidence kind, such as aws.s3.bucket",
        3,
        26,
    )


def test_e200_in_a_quantifier() -> None:
    assert only_errors(
        control('  rule r { require exists c in model_crd where c.model == "a" message "a" }')
    ) == [("E200", "unknown evidence kind `model_crd`", 2, 32)]


def test_e201_unknown_field() -> None:
    (d,) = diagnostics_of(control('  rule r { for each x in svc require x.nme == "a" message "a" }'))
    assert at(d) == ("E201", "unknown field `nme` in `x.nme`", 2, 38)
    assert d.help == "did you mean `name`?"
    assert (d.span.end.line, d.span.end.column) == (2, 43)


def test_e201_nested_unknown_field_and_in_list_element() -> None:
    text = control(
        '  rule r { for each x in svc require x.sub.zz == 1 and exists i in x.items where i.kk == "a"'
        ' message "a" }'
    )
    assert only_errors(text) == [
        ("E201", "unknown field `zz` in `x.sub.zz`", 2, 38),
        ("E201", "unknown field `kk` in `i.kk`", 2, 82),
    ]


def test_e202_unknown_name_and_function() -> None:
    text = control('  rule r { for each x in svc require y.name == "a" and __import__("os") message "a" }')
    assert only_errors(text) == [
        ("E202", "unknown name `y`", 2, 38),
        ("E202", "unknown function `__import__`", 2, 56),
    ]
    d = next(d for d in diagnostics_of(text) if d.message.startswith("unknown function"))
    assert d.help == "functions: age, days, fresh, len, lower"


def test_e202_kind_used_as_a_name_hints_binding() -> None:
    (d,) = [d for d in diagnostics_of(control('  rule r { require svc message "a" }')) if d.code == "E202"]
    assert d.help is not None
    assert d.help.startswith("`svc` is an evidence kind; bind it with `for each x in svc`")


@pytest.mark.parametrize(
    ("require", "message", "column"),
    [
        ("x.name == 3", "cannot compare a string with a number", 38),
        ("x.n", "a condition must be true or false, but this is a number", 38),
        ('x.n + "a" > 1', "cannot compute a number + a string", 38),
        ("x.on and 3", "`and` needs true or false on both sides, but this is a number", 47),
        ("not x.n", "`not` needs true or false, but this is a number", 38),
        ("x.n in 4", "`in` needs a list, a string or an object on its right, not a number", 45),
        ('lower(x.n) == "a"', "`lower` does not take a number", 44),
        ("x.created < 3", "cannot order a datetime and a number with `<`", 38),
        ("x.on > true", "cannot order a bool and a bool with `>`", 38),
        ('x.n matches "a"', "`matches` works on strings, but this is a number", 38),
        ('1 in ["a", "b"]', "a number is never in a list of string", 38),
        ("exists i in x.n where i", "a quantifier ranges over a list, but this is a number", 50),
        ('x.labels[x.name] == "a"', "a list is indexed by a number, not a string", 47),
        ("x.n.q == 1", "a number has no field `q`", 38),
        ('-x.name == "a"', "cannot negate a string", 38),
    ],
)
def test_e203_type_clashes(require: str, message: str, column: int) -> None:
    errors = only_errors(control(f'  rule r {{ for each x in svc require {require} message "a" }}'))
    assert errors == [("E203", message, 2, column)]


def test_e204_unknown_parameter_override() -> None:
    text = "param p = 3\n" + control('  rule r { for each x in svc require x.n > p message "a" }')
    (d,) = diagnostics_of(text, {"pp": "3"})
    assert at(d) == ("E204", "no rule declares a parameter `pp`", 1, 1)
    assert d.span.path == "<params>"
    assert d.help == "did you mean `p`?"


def test_e205_wrong_arity() -> None:
    assert only_errors(control('  rule r { for each x in svc require len(x.name, 1) > 2 message "a" }')) == [
        ("E205", "`len` takes 1 argument(s), not 2", 2, 38)
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"p": "abc"}, "parameter `p` is a number, but the override is a string"),
        ({"p": "3d"}, "parameter `p` is a number, but the override is a duration"),
        ({"p": "true"}, "parameter `p` is a number, but the override is a bool"),
        ({"s": "4"}, "parameter `s` is a string, but the override is a number"),
        ({"d": "7"}, "parameter `d` is a duration, but the override is a number"),
    ],
)
def test_e207_param_override_type_mismatch(override: dict[str, str], message: str) -> None:
    text = 'param p = 3\nparam s = "x"\nparam d = 30d\n' + control(
        '  rule r { for each x in svc require x.n > p and x.name == s and age(x.created) < d message "a" }'
    )
    assert only_errors(text, override) == [("E207", message, 1, 1)]


def test_e206_param_needs_literal_and_e302_duplicate_param() -> None:
    text = "param p = 3\nparam p = 4\nparam q = x\n" + control('  rule r { require true message "a" }')
    diagnostics = diagnostics_of(text)
    assert [at(d) for d in diagnostics] == [
        ("E302", "parameter `p` is already declared", 2, 1),
        ("E206", "parameter `q` needs a literal value", 3, 11),
    ]
    assert diagnostics[0].help == "first declared at t.rule:1:1"


def test_e302_duplicate_param_across_files() -> None:
    with pytest.raises(DiagnosticError) as caught:
        compile_rules(
            [RuleSource("a.rule", "param p = 1\n"), RuleSource("b.rule", "\nparam p = 2\n")], registry()
        )
    assert [(d.span.path, at(d)) for d in caught.value.diagnostics] == [
        ("b.rule", ("E302", "parameter `p` is already declared", 2, 1))
    ]


def test_param_overrides_accepted() -> None:
    text = 'param p = 3\nparam s = "x"\nparam d = 30d\nparam f = 1.5\n' + control(
        "  rule r { for each x in svc require x.n > p and x.name == s and age(x.created) < d and x.m > f"
        ' message "a" }'
    )
    ruleset = build(text, {"p": "-2", "s": "hello world", "d": "12h", "f": "7"})
    assert ruleset.params["p"] == -2
    assert ruleset.params["s"] == "hello world"
    assert str(ruleset.params["d"]) == "12:00:00"
    assert ruleset.params["f"] == 7


@pytest.mark.parametrize(
    ("control_id", "message", "help_text"),
    [
        ("A.99.1", "`A.99.1` is not an ISO/IEC 42001:2023 Annex A control", "did you mean `A.9.4`?"),
        (
            "B.1",
            "`B.1` is not an Annex A control id",
            "Annex A controls are numbered from .2 upwards, e.g. A.6.2.8",
        ),
    ],
)
def test_e300_invalid_control(control_id: str, message: str, help_text: str) -> None:
    (d,) = diagnostics_of(control('  rule r { require true message "a" }', control_id))
    assert at(d) == ("E300", message, 1, 9)
    assert d.help == help_text


def test_e301_duplicate_rule() -> None:
    (d,) = diagnostics_of(
        control('  rule r { require true message "a" }\n  rule r { require true message "a" }')
    )
    assert at(d) == ("E301", "rule `A.6.2.8/r` is already defined", 3, 8)
    assert d.help == "first defined at t.rule:2:8"


def test_e303_shadowed_binding() -> None:
    (d,) = diagnostics_of(
        control('  rule r { for each x in svc require exists x in x.items where x.k == "a" message "a" }')
    )
    assert at(d) == ("E303", "`x` is already bound in this rule", 2, 45)


def test_e304_e310_e311_e312_rule_clauses_all_reported_together() -> None:
    text = control(
        '  rule r { severity hihg require true message "a" }\n'
        '  rule s { message "a" }\n'
        '  rule t { require true expect at least 2 message "a" }\n'
        '  rule v { require true require false message "a" }'
    )
    diagnostics = diagnostics_of(text)
    assert [at(d) for d in diagnostics] == [
        ("E304", "unknown severity `hihg`", 2, 21),
        ("E311", "rule `s` has no `require` clause", 3, 8),
        ("E312", "`expect at least` needs a `for each` clause", 4, 41),
        ("E310", "rule `v` has more than one `require` clause", 5, 25),
    ]
    assert diagnostics[0].help == "did you mean `high`?"


def test_e305_control_in_wrong_file() -> None:
    (d,) = diagnostics_of(control('  rule r { require true message "a" }'), path="rules/a_6_2_7.rule")
    assert at(d) == ("E305", "control A.6.2.8 is in the file of control A.6.2.7", 1, 9)
    assert d.help == "move it to a_6_2_8.rule"
    build(control('  rule r { require true message "a" }'), path="rules/a_6_2_8.rule")


def test_w400_and_w401_are_warnings_not_errors() -> None:
    ruleset = build(
        control(
            '  rule r { for each x in svc require true message "a" }\n'
            '  rule s { for each x in svc require exists i in x.items where true message "a" }\n'
            "  rule w { for each x in svc require x.on }"
        )
    )
    assert [(at(d), d.level) for d in ruleset.diagnostics] == [
        (("W400", "`x` is never used", 2, 21), Level.WARNING),
        (("W400", "`i` is never used", 3, 45), Level.WARNING),
        (("W401", "rule `w` has no message", 4, 8), Level.WARNING),
    ]
    assert len(ruleset.rules) == 3


def test_warnings_and_errors_rendered_together() -> None:
    text = control('  rule r { for each x in svc require y message "a" }')
    with pytest.raises(DiagnosticError) as caught:
        build(text)
    assert caught.value.render() == (
        "t.rule:2:21: warning[W400]: `x` is never used\n"
        '   2 |   rule r { for each x in svc require y message "a" }\n'
        "                           ^\n"
        "  help: a `for each` binding that no condition reads gives the same verdict for every item\n\n"
        "t.rule:2:38: error[E202]: unknown name `y`\n"
        '   2 |   rule r { for each x in svc require y message "a" }\n'
        "                                            ^\n\n"
        "1 error(s), 1 warning(s)"
    )


def test_all_checker_errors_of_a_file_at_once() -> None:
    text = control(
        '  rule a { for each x in svc require x.nme == "a" message "a" }\n'
        '  rule b { for each x in svc require x.name == 3 message "a" }\n'
        '  rule c { for each x in nope require true message "a" }'
    )
    assert [d.code for d in diagnostics_of(text) if d.level is Level.ERROR] == ["E201", "E203", "E200"]


def test_e500_unreadable_rule_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.rule"
    binary = tmp_path / "binary.rule"
    binary.write_bytes(b"\xff\xfe\x00control")
    with pytest.raises(DiagnosticError) as caught:
        load_rule_sources([str(missing), str(binary), "builtin:nope"])
    got = [(d.code, d.span.path, d.message.split(":")[0]) for d in caught.value.diagnostics]
    assert sorted(got) == sorted(
        [
            ("E500", str(missing), "cannot read rule file"),
            ("E500", str(binary), "cannot read rule file"),
            ("E500", "builtin:nope", "no built-in rule pack `nope`"),
        ]
    )


def test_load_rule_sources_reads_a_folder(tmp_path: Path) -> None:
    (tmp_path / "b.rule").write_text("param b = 1\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.rule").write_text("param a = 1\n", encoding="utf-8")
    (tmp_path / "ignored.txt").write_text("x", encoding="utf-8")
    sources = load_rule_sources([str(tmp_path)])
    assert [source.path for source in sources] == [str(tmp_path / "b.rule"), str(tmp_path / "sub" / "a.rule")]
    assert build("param b = 1\n").digest != build("param b = 2\n").digest


def test_security_names_are_dict_lookups_or_diagnostics() -> None:
    # `__class__` on a closed record is an unknown field; on an open map it is just a key.
    (d,) = diagnostics_of(control('  rule r { for each x in svc require x.__class__ == "a" message "a" }'))
    assert d.code == "E201"
    (d,) = diagnostics_of(control('  rule r { for each x in svc require __builtins__ message "a" }'), None)[
        -1:
    ]
    assert (d.code, d.message) == ("E202", "unknown name `__builtins__`")
