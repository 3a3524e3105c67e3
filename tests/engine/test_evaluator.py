"""Evaluation: every construct, every status, witnesses, evidence refs, ordering, and rule-text safety."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import ALL_COLLECTED, NOW, build, control, diagnostics_of, ev, one_rule, run

from annexa.lang.language import evaluate
from annexa.model.evidence import Evidence
from annexa.model.findings import Status

BASE: dict[str, Any] = {
    "name": "Alpha",
    "n": 5,
    "m": 2.5,
    "on": True,
    "owner": "team-a",
    "tags": {"env": "prod", "Team": "ML"},
    "labels": ["a", "b"],
    "nums": [1, 2, 3],
    "created": "2026-06-01",
    "seen": "2026-11-23T10:00:00Z",
    "items": [{"k": "x", "v": 1, "on": True}, {"k": "y", "v": 7, "on": False}],
    "groups": [{"id": "g1", "members": [{"k": "p", "v": 3}]}, {"id": "g2", "members": []}],
    "sub": {"a": 1, "b": "bee"},
}


def verdict(require: str, data: dict[str, Any] | None = None, params: str = "") -> Status:
    text = params + one_rule(require)
    (finding,) = run(text, [ev("svc", "s1", BASE if data is None else data)])
    return finding.status


P, F, E = Status.PASS, Status.FAIL, Status.ERROR


@pytest.mark.parametrize(
    ("require", "expected"),
    [
        ("x.n == 5", P),
        ("x.n != 5", F),
        ("x.n < 6", P),
        ("x.n <= 5", P),
        ("x.n > 5", F),
        ("x.n >= 5", P),
        ("x.m > 2", P),
        ('x.name == "Alpha"', P),
        ('x.name < "B"', P),
        ("x.on", P),
        ("not x.on", F),
        ("x.on and x.n > 9", F),
        ("x.on or x.n > 9", P),
        ("not (x.on and not x.on)", P),
        ('"a" in x.labels', P),
        ('"z" in x.labels', F),
        ('"z" not in x.labels', P),
        ("2 in x.nums", P),
        ("x.n in [1, 5]", P),
        ('x.name not in ["Alpha", "B"]', F),
        ('"env" in x.tags', P),
        ('"lph" in x.name', P),
        ('x.name matches "^Al.h"', P),
        ('x.name matches "^lp"', F),
        ('x.name startswith "Al"', P),
        ('x.name contains "ph"', P),
        ('x.labels contains "b"', P),
        ('x.tags["env"] == "prod"', P),
        ('x.tags.env == "prod"', P),
        ('lower(x.tags["Team"]) == "ml"', P),
        ("len(x.labels) == 2", P),
        ("len(x.name) == 5", P),
        ("len(x.tags) == 2", P),
        ("x.sub.a == 1", P),
        ('x.sub["b"] == "bee"', P),
        ("x.items[1].v == 7", P),
        ('x.items[-1].k == "y"', P),
        ("x.items[5].v == 7", F),
        ("age(x.created) <= 365d", P),
        ("age(x.created) <= 30d", F),
        ("age(x.seen) < 3h", P),
        ("age(x.seen) > 90m", P),
        ("x.created < now", P),
        ("x.created + 30d < now", P),
        ("now - x.created > 1w", P),
        ('x.created == "2026-06-01"', P),
        ("x.seen > x.created", P),
        ("x.n + 1 == 6", P),
        ("x.n - 10 == -5", P),
        ("-x.n < 0", P),
        ("1d + 12h == 36h", P),
        ("exists i in x.items where i.v > 5", P),
        ("exists i in x.items where i.v > 50", F),
        ("count(i in x.items where i.on) == 1", P),
        ("count(i in x.items) == 2", P),
        ("all i in x.items satisfy i.v >= 1", P),
        ("all i in x.items where i.on satisfy i.v > 5", F),
        ('all i in x.items where i.k == "y" satisfy i.v > 5', P),
        ("exists g in x.groups where exists m in g.members where m.v == 3", P),
        ("all g in x.groups satisfy count(m in g.members) <= 1", P),
        ("exists l in x.labels where l == x.owner", F),
        ('exists l in x.labels where l startswith "a"', P),
        ("x.sub.a != null", P),
        ("x.owner == null", F),
        ('x.labels == ["a", "b"]', P),
        ("x.blob == null", P),
    ],
)
def test_operators_and_quantifiers(require: str, expected: Status) -> None:
    assert verdict(require) is expected


@pytest.mark.parametrize(
    ("require", "data", "missing"),
    [
        ("x.n > 1", {}, ("x.n",)),
        ("x.on and x.n > 1", {"on": True}, ("x.n",)),
        ("not x.on", {}, ("x.on",)),
        ('x.tags["env"] == "prod"', {"tags": {}}, ('x.tags["env"]',)),
        ("age(x.created) < 30d", {}, ("x.created",)),
        ('x.name in ["a"]', {}, ("x.name",)),
        ("exists i in x.items where i.v > 1", {"items": [{"k": "a"}]}, ("exists i in x.items",)),
    ],
)
def test_missing_fields_fail_with_missing_recorded(
    require: str, data: dict[str, Any], missing: tuple[str, ...]
) -> None:
    (finding,) = run(one_rule(require), [ev("svc", "s1", data)])
    assert finding.status is Status.FAIL
    assert finding.missing == missing
    if missing:
        assert finding.note == "missing field(s): " + ", ".join(missing)


def test_kleene_logic_with_missing() -> None:
    assert verdict("x.n > 1 or x.on", {"on": True}) is P  # unknown or true
    assert verdict("x.n > 1 and x.on", {"on": False}) is F  # unknown and false
    assert verdict("x.n == null or x.n > 1", {}) is P  # presence test is two-valued
    assert verdict("x.n != null", {}) is F
    assert verdict("not (x.n > 1)", {}) is F  # not unknown is unknown


def test_param_and_override_change_the_verdict() -> None:
    params = "param limit = 3\nparam window = 30d\n"
    text = params + one_rule("x.n >= limit and age(x.created) <= window")
    item = [ev("svc", "s1", {**BASE, "created": "2026-11-01"})]
    assert run(text, item)[0].status is P
    assert run(text, item, params={"limit": "10"})[0].status is F
    assert run(text, item, params={"window": "7d"})[0].status is F
    assert run(text, item, params={"limit": 4})[0].status is P


def test_message_interpolation_and_witness() -> None:
    text = one_rule(
        'x.n > 10 or x.tags["env"] != "prod"',
        message='svc {x.name} n={x.n} env={x.tags[\\"env\\"]} m={x.m} on={x.on} age={age(x.created)}'
        " none={x.owner} {{braces}} list={x.labels}",
    )
    (finding,) = run(text, [ev("svc", "s1", {**BASE, "owner": None, "m": 3.0})])
    assert finding.status is F
    assert finding.message == (
        'svc Alpha n=5 env=prod m=3 on=true age=4212h none=<missing> {braces} list=["a", "b"]'
    )
    assert dict(finding.witness) == {"x.n": 5, 'x.tags["env"]': "prod"}
    assert finding.missing == ()
    assert finding.rule_id == "A.6.2.8/r"
    assert finding.control_id == "A.6.2.8"
    assert finding.subject == "s1"


def test_pass_message_is_the_title_and_default_fail_message() -> None:
    text = control("  rule plain_rule { for each x in svc require x.on }")
    items = [ev("svc", "a", {"on": True}), ev("svc", "b", {"on": False})]
    a, b = run(text, items)
    assert (a.status, a.message) == (P, "plain rule")
    assert (b.status, b.message) == (F, "plain rule: not met")


def test_witness_records_quantifier_results_and_durations() -> None:
    (finding,) = run(
        one_rule("age(x.created) > 365d or exists i in x.items where i.v > 50"), [ev("svc", "s1", BASE)]
    )
    assert dict(finding.witness) == {
        "x.created": "2026-06-01",
        "x.items": BASE["items"],
        "exists i in x.items": False,
    }


def test_join_finding_carries_both_evidence_refs() -> None:
    text = one_rule(
        "exists c in model_card where c.model == x.model_name and age(c.updated) <= 365d",
        kind="model_version",
        message="model {x.model_name} v{x.version} has no card",
    )
    mv1 = ev("model_version", "m1", {"model_name": "fraud", "version": "1"})
    mv2 = ev("model_version", "m2", {"model_name": "chat", "version": "3"})
    mv3 = ev("model_version", "m3", {"version": "4"})
    card = ev("model_card", "c1", {"model": "fraud", "updated": "2026-05-01"})
    old = ev("model_card", "c2", {"model": "chat", "updated": "2020-01-01"})
    nameless = ev("model_card", "c3", {"updated": "2026-05-01"})
    f1, f2, f3 = run(text, [old, mv2, card, mv1, mv3, nameless])
    assert (f1.subject, f1.status) == ("m1", P)
    assert [ref.source for ref in f1.evidence] == ["m1", "c1"]
    assert f1.evidence[1].id == card.id
    assert f1.evidence[1].kind == "model_card"
    assert (f2.subject, f2.status) == ("m2", F)
    assert f2.message == (
        "model chat v3 has no card; closest model_card: c2: its `updated` is older than 365 days; "
        "c3: its `model` is not given"
    )
    assert [ref.source for ref in f2.evidence] == ["m2", "c2", "c3"]  # the subject, then the near misses
    assert (f3.subject, f3.status, f3.missing) == ("m3", F, ("exists c in model_card", "x.model_name"))
    assert dict(f1.witness) == {"x.model_name": "fraud", "exists c in model_card": True}
    assert build(text).rules[0].code.joins == (("model_card", ("model",)),)


def test_join_null_key_stays_unknown_under_not() -> None:
    # `not exists` must not pass when the join key is missing: unknown, not false (bug fixed in compiler).
    text = one_rule(
        "not exists c in model_card where c.model == x.model_name", kind="model_version", message="m"
    )
    assert run(text, [ev("model_version", "m1", {}), ev("model_card", "c1", {"model": "a"})])[0].status is F
    assert (
        run(text, [ev("model_version", "m1", {"model_name": "a"}), ev("model_card", "c1", {})])[0].status is F
    )
    assert (
        run(text, [ev("model_version", "m1", {"model_name": "a"}), ev("model_card", "c1", {"model": "b"})])[
            0
        ].status
        is P
    )


def test_all_and_count_over_a_kind() -> None:
    text = control(
        '  rule r { require all c in model_card satisfy c.owner != null message "unowned" }\n'
        '  rule s { require count(c in model_card where c.n > 1) >= 2 message "few" }'
    )
    items = [ev("model_card", "c1", {"owner": "o", "n": 2}), ev("model_card", "c2", {"n": 3})]
    r, s_ = run(text, items)
    assert (r.status, r.subject, r.message, [e.source for e in r.evidence]) == (F, None, "unowned", ["c2"])
    assert (s_.status, [e.source for e in s_.evidence]) == (P, ["c1", "c2"])


def test_empty_selection_is_inconclusive_and_names_what_was_sought() -> None:
    text = one_rule("x.on", where='x.tags["env"] == "prod" and x.on')
    items = [ev("svc", "s1", {"tags": {"env": "dev"}, "on": True}), ev("svc", "s2", {"on": True})]
    (finding,) = run(text, items)
    assert (finding.status, finding.subject) == (Status.INCONCLUSIVE, None)
    assert finding.message == (
        'nothing to assess: sought a svc of which its `tags.env` is "prod" and its `on` is true; 2 svc '
        "item(s) collected, none selected; closest: s2: its `tags` is not given"
    )
    # s1 is plainly of another environment: no near miss. s2 says nothing about it: it might be one.
    assert [e.source for e in finding.evidence] == ["s2"]
    assert finding.note == "an empty selection is never a pass"
    (empty,) = run(text, [])
    assert empty.status is Status.INCONCLUSIVE
    assert empty.message.endswith("; no svc item was collected")


def test_near_misses_rank_items_that_meet_more_of_the_condition_first() -> None:
    text = one_rule("x.on", where='x.n > 1 and x.name == "a" and x.on')
    items = [
        ev("svc", "s1", {"n": 0, "name": "b", "on": False}),
        ev("svc", "s2", {"n": 2, "name": "a", "on": False}),
        ev("svc", "s3", {"n": 2, "name": "b", "on": True}),
    ]
    (finding,) = run(text, items)
    # The longest run of leading conjuncts met comes first; one that fails the first conjunct is no near miss.
    assert finding.message.endswith('closest: s2: its `on` is not true; s3: its `name` is not "a"')


def test_allow_empty_when_evidence_shows_the_empty_set_is_legitimate() -> None:
    text = control(
        "  rule r {\n    for each x in svc where x.on\n    require x.n > 1\n"
        '    allow empty when exists c in model_card where c.owner == "registry"\n    message "m"\n  }'
    )
    off = ev("svc", "s1", {"on": False})
    register = ev("model_card", "reg", {"owner": "registry"})
    (allowed,) = run(text, [off, register])
    assert (allowed.status, [e.source for e in allowed.evidence]) == (Status.NOT_APPLICABLE, ["reg"])
    assert (
        allowed.message
        == "none found (a svc of which its `on` is true), and that is legitimate: there is a model card of "
        'which that model card\'s `owner` is "registry"'
    )
    (unproven,) = run(text, [off, ev("model_card", "other", {"owner": "someone"})])
    assert unproven.status is Status.INCONCLUSIVE
    assert (
        'accepted only when there is a model card of which that model card\'s `owner` is "registry", which '
        "does not hold" in (unproven.message)
    )
    # Items that are selected are judged as always; the condition plays no part then.
    assert [f.status for f in run(text, [ev("svc", "s2", {"on": True, "n": 0}), register])] == [F]


@pytest.mark.parametrize(
    ("clause", "code"),
    [
        ("    allow empty when 1 > 0\n", "E306"),
        ('    allow empty when exists l in x.labels where l == "a"\n', "E200"),  # no item bound
        ("    allow empty when exists c in model_card\n    expect at least 1\n", "E312"),
    ],
)
def test_allow_empty_must_rest_on_evidence(clause: str, code: str) -> None:
    text = one_rule("x.on", extra=clause)
    assert code in [d.code for d in diagnostics_of(text)]


def test_defective_item_fails_every_rule_reading_its_kind() -> None:
    text = control(
        '  rule r { for each x in svc where x.on require x.n > 1 message "m" }\n'
        '  rule s { require exists x in svc where x.n > 1 message "none" }\n'
        '  rule t { for each c in model_card require c.owner != null message "unowned" }'
    )
    broken = Evidence(
        kind="svc",
        source="file:x.yaml",
        scope={},
        collector="t 1",
        collected_at=NOW,
        data={},
        defect="line 3: mapping values are not allowed here",
    )
    good = ev("svc", "s1", {"on": True, "n": 5})
    findings = run(text, [broken, good, ev("model_card", "c1", {"owner": "o"})])
    by_rule = {(f.rule_id.split("/")[1], f.subject): f for f in findings}
    assert {key: f.status for key, f in by_rule.items()} == {
        ("r", "file:x.yaml"): F,
        ("r", "s1"): P,
        ("s", "file:x.yaml"): F,
        ("s", None): P,
        ("t", "c1"): P,
    }
    defect = by_rule[("r", "file:x.yaml")]
    assert defect.message == (
        "svc file:x.yaml cannot be used as evidence: line 3: mapping values are not allowed here"
    )
    assert [e.source for e in defect.evidence] == ["file:x.yaml"]


def test_expect_at_least() -> None:
    text = one_rule("x.on", extra="    expect at least 2\n")
    findings = run(text, [ev("svc", "s1", {"on": True})])
    assert [(f.subject, f.status) for f in findings] == [(None, F), ("s1", P)]
    assert findings[0].message == "expected at least 2 items, each a svc; 1 svc item(s) collected, 1 selected"
    assert dict(findings[0].witness) == {"sought": "svc", "selected": 1}
    assert [f.status for f in run(text, [ev("svc", "s1", {"on": True}), ev("svc", "s2", {"on": False})])] == [
        P,
        F,
    ]
    (none,) = run(text, [])
    assert (none.status, none.subject) == (F, None)
    assert none.message == "expected at least 2 items, each a svc; no svc item was collected"
    # Some found, fewer than expected: the ones the `where` kept out are named and cited, closest first.
    prod = one_rule("x.on", where='x.on and x.owner == "prod"', extra="    expect at least 2\n")
    findings = run(
        prod, [ev("svc", "s1", {"on": True, "owner": "prod"}), ev("svc", "s2", {"on": True, "owner": "test"})]
    )
    (short,) = [f for f in findings if f.subject is None]
    assert short.message == (
        'expected at least 2 items, each a svc of which its `on` is true and its `owner` is "prod"; 2 svc '
        'item(s) collected, 1 selected; closest: s2: its `owner` is not "prod"'
    )
    assert [e.source for e in short.evidence] == ["s2"]


def test_inconclusive_when_kind_not_collected() -> None:
    text = one_rule("exists c in model_card where c.model == x.model_name", kind="model_version", message="m")
    items = [ev("model_version", "m1", {"model_name": "a"})]
    (finding,) = run(text, items, collected={"model_version": None})
    assert finding.status is Status.INCONCLUSIVE
    assert finding.message == "evidence not collected (model_card: no configured collector produced it)"
    assert finding.note == "absence of evidence is never a pass"
    (failed,) = run(text, items, collected={"model_version": None, "model_card": "HTTP 403 from mlflow"})
    assert failed.message == "evidence not collected (model_card: HTTP 403 from mlflow)"
    ruleset = build(text)
    (implicit,) = evaluate(ruleset, items, now=NOW)  # collected=None: only kinds present count
    assert implicit.status is Status.INCONCLUSIVE


def test_runtime_type_clash_is_an_error_finding_and_other_rules_run() -> None:
    text = control(
        '  rule bad { for each x in svc require x.blob > 3 message "m" }\n'
        '  rule good { for each x in svc require x.on message "m" }'
    )
    items = [ev("svc", "s1", {"blob": "text", "on": True}), ev("svc", "s2", {"blob": 9, "on": True})]
    bad1, bad2, good1, good2 = run(text, items)
    assert (bad1.status, bad1.subject) == (E, "s1")
    assert bad1.message == "rule failed at t.rule:2:40: cannot order a number and a string"
    assert bad1.note == "error at t.rule:2:40"
    assert [e.source for e in bad1.evidence] == ["s1"]
    assert bad2.status is P
    assert (good1.status, good2.status) == (P, P)


@pytest.mark.parametrize(
    ("require", "fragment"),
    [
        ("x.blob", "expected true or false, found a string"),
        ("len(x.blob) > 1 or x.blob", "len() needs a list, a string or an object, found a number"),
        ("age(x.blob) < 1d", "is not an ISO 8601 date"),
        ('x.blob matches "a"', "matches works on strings"),
        ("exists i in x.blob where i == 1", "a quantifier ranges over a list"),
    ],
)
def test_runtime_error_messages(require: str, fragment: str) -> None:
    data = {"blob": 7} if "len" in require else {"blob": "not a date" if "age" in require else 5}
    if "exists" in require or "matches" in require:
        data = {"blob": 5}
    if require == "x.blob":
        data = {"blob": "yes"}
    (finding,) = run(one_rule(require), [ev("svc", "s1", data)])
    assert finding.status is E
    assert fragment in finding.message
    assert finding.message.startswith("rule failed at t.rule:4:")


def test_findings_sorted_deterministically() -> None:
    text = control(
        '  rule b { for each x in svc require x.on message "m" }\n'
        '  rule a { for each x in svc require x.on message "m" }',
        "A.10.2",
    ) + control('  rule z { for each x in svc require x.on message "m" }', "A.9.2")
    items = [ev("svc", name, {"on": True}) for name in ("s3", "s1", "s2")]
    first = run(text, items)
    assert [(f.control_id, f.rule_id, f.subject) for f in first] == [
        ("A.9.2", "A.9.2/z", "s1"),
        ("A.9.2", "A.9.2/z", "s2"),
        ("A.9.2", "A.9.2/z", "s3"),
        ("A.10.2", "A.10.2/a", "s1"),
        ("A.10.2", "A.10.2/a", "s2"),
        ("A.10.2", "A.10.2/a", "s3"),
        ("A.10.2", "A.10.2/b", "s1"),
        ("A.10.2", "A.10.2/b", "s2"),
        ("A.10.2", "A.10.2/b", "s3"),
    ]
    assert run(text, list(reversed(items))) == first


def test_rule_metadata_and_kinds_read() -> None:
    text = control(
        '  rule r "Title" { severity critical for each x in model_version require exists c in '
        'model_card where c.model == x.model_name message "m" remediation "fix" "it" }'
    )
    ruleset = build(text)
    (rule,) = ruleset.rules
    assert (rule.id, rule.title, rule.severity.value, rule.remediation) == (
        "A.6.2.8/r",
        "Title",
        "critical",
        "fixit",
    )
    assert rule.kinds == frozenset({"model_version", "model_card"})
    assert ruleset.kinds_read == rule.kinds
    assert ruleset.rules_by_control() == {"A.6.2.8": ("A.6.2.8/r",)}
    (finding,) = run(text, [ev("model_version", "m", {"model_name": "q"})])
    assert (finding.severity.value, finding.remediation) == ("critical", "fix" + "it")


def test_rule_without_for_each_has_no_subject() -> None:
    (finding,) = run(
        control('  rule r { require exists c in model_card where c.n > 1 message "none" }'),
        [ev("model_card", "c1", {"n": 2})],
    )
    assert (finding.subject, finding.status, [e.source for e in finding.evidence]) == (None, P, ["c1"])


# --- safety: rule text never reaches Python -------------------------------------------------------


def test_dunder_keys_are_plain_dict_lookups() -> None:
    data = {"tags": {"__class__": "x", "__globals__": "g"}}
    assert verdict('x.tags.__class__ == "x"', data) is P
    assert verdict('x.tags["__globals__"] == "g"', data) is P
    assert verdict('x.tags["__init__"] == null', data) is P
    text = one_rule(
        'x.tags["__globals__"] == "\\"); import os; (\\""', message='v={x.tags[\\"__globals__\\"]}'
    )
    (finding,) = run(text, [ev("svc", "s1", {"tags": {"__globals__": '"); import os; ("'}})])
    assert finding.status is P
    (finding,) = run(text, [ev("svc", "s1", {"tags": {"__globals__": "other"}})])
    assert finding.message == "v=other"


def test_injection_strings_stay_data(tmp_path: Any) -> None:
    marker = tmp_path / "pwned"
    payload = f'"); open({str(marker)!r}, "w"); ("'.replace('"', '\\"')
    text = one_rule(
        f'x.name == "{payload}" or x.name startswith "{payload}"', message=f"{payload} {{x.name}}"
    )
    (finding,) = run(text, [ev("svc", "s1", {"name": "n"})])
    assert finding.status is F
    assert finding.message == f'"); open({str(marker)!r}, "w"); (" n'
    assert not marker.exists()
    (finding,) = run(text, [ev("svc", "s1", {"name": f'"); open({str(marker)!r}, "w"); ("'})])
    assert finding.status is P
    assert not marker.exists()


def test_generated_code_has_no_builtins_and_only_runtime_names() -> None:
    ruleset = build(one_rule('x.tags["__builtins__"] == "a" and x.name == "__import__(\'os\')"'))
    source = ruleset.rules[0].code.source
    assert "__import__('os')" in source  # only as a string literal
    assert "getattr" not in source
    assert ".__" not in source
    function = ruleset.rules[0].code.function
    assert function.__globals__["__builtins__"] == {}


@pytest.mark.parametrize("name", ["__import__", "__builtins__", "eval", "exec", "getattr", "open"])
def test_python_names_are_unknown(name: str) -> None:
    codes = {d.code for d in diagnostics_of(one_rule(f"{name} == 1 and x.on"))}
    assert "E202" in codes
    codes = {d.code for d in diagnostics_of(one_rule(f'{name}("x") == 1 and x.on'))}
    assert "E202" in codes


def test_durations_in_witness_are_rendered() -> None:
    (finding,) = run(
        one_rule("age(x.seen) > 1d or x.on"), [ev("svc", "s1", {"seen": "2026-11-23T00:00:00Z", "on": False})]
    )
    assert finding.status is F
    assert dict(finding.witness) == {"x.seen": "2026-11-23T00:00:00Z", "x.on": False}
    assert timedelta(hours=12) == NOW - NOW.replace(hour=0)
    assert ALL_COLLECTED["svc"] is None


def test_a_backtracking_pattern_on_hostile_evidence_is_an_error_not_a_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from annexa.lang import runtime

    monkeypatch.setattr(runtime, "MATCH_TIMEOUT", 0.2)
    hostile = ev("svc", "s1", {"name": "a" * 40 + "!"})
    benign = ev("svc", "s2", {"name": "aaaa"})
    started = time.perf_counter()
    bad, good = run(one_rule('x.name matches "^(a|a)*$"'), [hostile, benign])
    assert time.perf_counter() - started < 5
    assert bad.status is E
    assert "gave no answer within 0.2 s on a 41-character value" in bad.message
    assert good.status is P


@pytest.mark.parametrize(
    ("reviewed", "status"),
    [("2026-11-23T18:00:00Z", P), ("2026-11-20", P), ("2027-02-01", E), ("2031-01-01", E)],
)
def test_a_date_ahead_of_the_scan_clock_is_an_error_not_a_fresh_review(reviewed: str, status: Status) -> None:
    (finding,) = run(one_rule("age(x.seen) <= 365d"), [ev("svc", "s1", {"seen": reviewed})])
    assert finding.status is status
    if status is E:
        assert "after the scan's clock" in finding.message


def test_a_failed_exists_names_what_came_closest_and_why() -> None:
    text = control(
        '  rule r { require exists c in model_card where c.owner == "ml" and c.n > 2 message "no card" }\n'
        "  rule s { for each x in svc\n"
        "    require exists c in model_card where c.model == x.name and c.n > 2\n"
        '    message "no card for {x.name}" }'
    )
    cards = [
        ev("model_card", "c1", {"owner": "ml", "n": 1, "model": "alpha"}),
        ev("model_card", "c2", {"owner": "ops", "n": 5, "model": "beta"}),
        ev("model_card", "c3", {"owner": "ml", "model": "gamma"}),
    ]
    findings = run(text, [*cards, ev("svc", "s1", {"name": "alpha"}), ev("svc", "s2", {"name": "delta"})])
    by_rule = {(f.rule_id.split("/")[1], f.subject): f for f in findings}
    whole = by_rule[("r", None)]
    assert whole.status is F
    # The join on `c.owner == "ml"` leaves c2 out: another owner is not a near miss.
    assert whole.message == (
        "no card; closest model_card: c1: its `n` is at most 2; c3: its `n` is not given"
    )
    assert [e.source for e in whole.evidence] == ["c1", "c3"]
    # Per subject, only that subject's candidates (the join's) are examined.
    alpha = by_rule[("s", "s1")]
    assert alpha.message == "no card for alpha; closest model_card: c1: its `n` is at most 2"
    assert [e.source for e in alpha.evidence] == ["s1", "c1"]
    assert by_rule[("s", "s2")].message == "no card for delta"


def test_an_item_failing_the_first_conjunct_is_no_near_miss_even_where_a_later_one_would_raise() -> None:
    # The candidates of a per-subject join include items of another kind of thing (here another owner);
    # the near-miss search stops at their first conjunct, so c1, on which `c.n > 2` would raise, is not
    # shown as "could not be evaluated".
    text = control(
        "  rule s { for each x in svc\n"
        '    require exists c in model_card where c.owner == "ml" and c.model == x.name and c.n > 2\n'
        '    message "no card for {x.name}" }'
    )
    cards = [
        ev("model_card", "c1", {"owner": "ops", "model": "alpha", "n": "many"}),
        ev("model_card", "c2", {"owner": "ml", "model": "alpha", "n": 1}),
    ]
    (alpha,) = run(text, [*cards, ev("svc", "s1", {"name": "alpha"})])
    assert alpha.status is F
    assert alpha.message == "no card for alpha; closest model_card: c2: its `n` is at most 2"
    assert [e.source for e in alpha.evidence] == ["s1", "c2"]


def test_a_failed_exists_shows_the_five_closest_in_rank_order_and_counts_the_rest() -> None:
    # Closest first: the longest run of leading conjuncts met, then the most met, then the source; only the
    # first five are worded and cited, the others counted. Sources are given out of rank order, so a
    # ranking by position or by source alone would show other items.
    text = control(
        '  rule r { require exists c in model_card where c.owner == "ml" and c.n > 2 and c.model == "m"\n'
        '    message "no card" }'
    )
    cards = [
        ev("model_card", "c01", {"owner": "ml", "n": 1, "model": "x"}),  # leading run 1, 1 met
        ev("model_card", "c02", {"owner": "ml", "n": 5, "model": "x"}),  # leading run 2
        ev("model_card", "c03", {"owner": "ml", "n": 1, "model": "m"}),  # leading run 1, 2 met
        *(ev("model_card", f"c{i:02d}", {"owner": "ml", "n": 0, "model": "x"}) for i in range(4, 12)),
        ev("model_card", "c12", {"owner": "ml", "n": 9, "model": "x"}),  # leading run 2
        ev("model_card", "c13", {"owner": "ops", "n": 9, "model": "m"}),  # another owner: no near miss
    ]
    (finding,) = run(text, cards)
    assert finding.status is F
    assert finding.message == (
        'no card; closest model_card: c02: its `model` is not "m"; c12: its `model` is not "m"; '
        "c03: its `n` is at most 2; c01: its `n` is at most 2; c04: its `n` is at most 2 (and 7 more)"
    )
    assert [e.source for e in finding.evidence] == ["c02", "c12", "c03", "c01", "c04"]
