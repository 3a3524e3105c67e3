"""Named predicates (`define`): expanded inline, checked at each call, and every misuse diagnosed."""

from __future__ import annotations

import pytest
from conftest import NOW, build, diagnostics_of, ev

from annexa.lang.language import evaluate
from annexa.model.findings import Status

PRELUDE = """
define big(x, n) = x.n > n
define big_and_on(x) = big(x, 2) and x.on
"""


def rules(body: str) -> str:
    return PRELUDE + f'control A.6.2.8 "t" {{\n{body}\n}}\n'


def test_a_defined_predicate_behaves_as_its_body_written_out() -> None:
    defined = build(rules('  rule r { for each s in svc where big_and_on(s) require big(s, 4) message "m" }'))
    written = build(
        'control A.6.2.8 "t" {\n'
        '  rule r { for each s in svc where s.n > 2 and s.on require s.n > 4 message "m" }\n}\n'
    )
    items = [
        ev("svc", "a", {"n": 5, "on": True}),
        ev("svc", "b", {"n": 3, "on": True}),
        ev("svc", "c", {"n": 9, "on": False}),
        ev("svc", "d", {"on": True}),
    ]
    got = [(f.subject, f.status) for f in evaluate(defined, items, now=NOW)]
    assert got == [(f.subject, f.status) for f in evaluate(written, items, now=NOW)]
    assert got == [("a", Status.PASS), ("b", Status.FAIL)]
    # What the rule selects is shown expanded, so a user sees the real condition.
    assert defined.rules[0].sought == "svc where s.n > 2 and s.on"


def test_the_argument_is_substituted_but_a_quantifier_variable_shadows_it() -> None:
    text = (
        'define has_label(x, l) = exists l in x.labels where l == "a"\n'
        'control A.6.2.8 "t" {\n'
        '  rule r { for each s in svc require has_label(s, s.name) message "m" }\n}\n'
    )
    (finding,) = evaluate(build(text), [ev("svc", "a", {"labels": ["a"], "name": "zzz"})], now=NOW)
    assert finding.status is Status.PASS


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        (
            rules('  rule r { for each s in svc require big(s) message "m" }'),
            "E205",
            "takes 2 argument(s), not 1",
        ),
        (
            "define loop(x) = again(x)\ndefine again(x) = loop(x)\n"
            + rules('  rule r { for each s in svc require loop(s) message "m" }'),
            "E307",
            "calls itself (again -> loop -> again)",
        ),
        (rules("").replace("define big(x, n)", "define len(x, n)"), "E307", "already defined as a built-in"),
        ("define big(x) = x.on\n" + rules(""), "E307", "`big` is already defined at"),
        ("define two(x, x) = x.on\n" + rules(""), "E307", "names a parameter twice"),
        (rules('  rule r { for each s in svc require big(s, "x") message "m" }'), "E203", ""),
        (
            "define odd(x) = x.nope\n" + rules('  rule r { for each s in svc require odd(s) message "m" }'),
            "E201",
            "",
        ),
    ],
)
def test_misuse_is_diagnosed(text: str, code: str, message: str) -> None:
    found = [d for d in diagnostics_of(text) if d.code == code]
    assert found, [d.code for d in diagnostics_of(text)]
    assert message in found[0].message


def test_a_definition_nobody_calls_is_a_warning() -> None:
    ruleset = build(rules('  rule r { for each s in svc require big(s, 1) message "m" }'))
    assert [(d.code, d.message) for d in ruleset.diagnostics] == [
        ("W402", "`big_and_on` is defined but never called")
    ]
