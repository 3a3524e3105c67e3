"""The inline fast paths of generated code (a string's own lower(), `in` a list, `contains` and `==` a
string literal, `matches` a bounded pattern, a field of an evidence item read with its own get) give
the verdicts, errors and witnesses of the general runtime helpers they stand in for, on every type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import ALL_COLLECTED, NOW, build, ev, one_rule

from annexa.lang.language import evaluate
from annexa.model.findings import Finding

# Values of the untyped `blob` field: each type the helpers tell apart.
VALUES: dict[str, Any] = {
    "text": "Xa b",
    "other text": "zzz",
    "number": 5,
    "bool": True,
    "list": ["a", "Xa b", 5],
    "empty list": [],
    "object": {"a": 1},
    "null": None,
}


def _verdicts(require: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    ruleset = build(one_rule(require))
    items = [ev("svc", name, {"name": "a", "blob": value}) for name, value in VALUES.items()]
    findings: tuple[Finding, ...] = evaluate(ruleset, items, now=NOW, collected=ALL_COLLECTED)
    return {f.subject: (f.status.value, f.message, dict(f.witness)) for f in findings if f.subject}


def _status(require: str) -> dict[str, str]:
    return {name: found[0] for name, found in _verdicts(require).items()}


def test_contains_a_string_literal() -> None:
    assert _status('x.blob contains "a"') == {
        "text": "pass",
        "other text": "fail",
        "number": "error",
        "bool": "error",
        "list": "pass",
        "empty list": "fail",
        "object": "pass",
        "null": "fail",  # unknown
    }
    status, message, _ = _verdicts('x.blob contains "a"')["number"]
    assert (status, message) == ("error", "rule failed at t.rule:4:13: cannot look inside a number")


def test_lower_of_anything() -> None:
    assert _status('lower(x.blob) == "xa b"') == {
        "text": "pass",
        "other text": "fail",
        "number": "error",
        "bool": "error",
        "list": "error",
        "empty list": "error",
        "object": "error",
        "null": "fail",
    }
    assert _verdicts('lower(x.blob) == "xa b"')["list"][1].endswith("lower() needs a string, found a list")


def test_membership_with_a_name_and_with_a_literal_as_the_needle() -> None:
    expected = {
        "text": "pass",  # "a" in "Xa b"
        "other text": "fail",
        "number": "error",
        "bool": "error",
        "list": "pass",
        "empty list": "fail",
        "object": "pass",
        "null": "fail",
    }
    assert _status('"a" in x.blob') == expected
    assert _status("x.name in x.blob") == expected
    assert _status('not ("a" in x.blob)') == {
        **dict.fromkeys(("text", "list", "object", "null"), "fail"),
        **dict.fromkeys(("number", "bool"), "error"),
        "other text": "pass",
        "empty list": "pass",
    }
    # A null needle is unknown whatever the haystack (and no error even where the haystack is bad).
    assert set(_status("x.owner in x.blob").values()) == {"fail"}
    assert set(_status("not (x.owner in x.blob)").values()) == {"fail"}
    assert set(_status("x.owner not in x.blob").values()) == {"fail"}


def test_membership_in_a_list_of_literals() -> None:
    assert _status('x.blob in ["Xa b", 5, true]') == {
        "text": "pass",
        "other text": "fail",
        "number": "pass",
        "bool": "pass",
        "list": "fail",  # a list is compared, not searched
        "empty list": "fail",
        "object": "fail",
        "null": "fail",
    }
    assert _status('x.blob not in ["Xa b", 5]')["null"] == "fail"  # unknown, not true


def test_equality_with_a_string_literal() -> None:
    assert _status('x.blob == "Xa b"') == {
        **dict.fromkeys(VALUES, "fail"),
        "text": "pass",
    }
    assert _status('x.blob != "Xa b"') == {
        **dict.fromkeys(VALUES, "pass"),
        "text": "fail",
        "null": "fail",  # unknown
    }


def test_matches_a_bounded_pattern() -> None:
    found = _verdicts('x.blob matches "a b"')
    assert {name: value[0] for name, value in found.items()} == {
        **dict.fromkeys(VALUES, "error"),
        "text": "pass",
        "other text": "fail",
        "null": "fail",
    }
    assert found["list"][1].endswith("matches works on strings, found a list")


@pytest.mark.parametrize("require", ['x.sub.b == "q"', 'x.blob.k == "q"', 'x.tags["env"] == "q"'])
def test_nested_fields_of_an_item_still_take_the_general_path(require: str) -> None:
    ruleset = build(one_rule(require))
    items = [
        ev("svc", "1", {"sub": {"b": "q"}, "blob": {"k": "q"}, "tags": {"env": "q"}}),
        ev("svc", "2", {"sub": None, "blob": ["k"], "tags": {}}),
        ev("svc", "3", {"blob": "k"}),
    ]
    findings = evaluate(ruleset, items, now=NOW, collected=ALL_COLLECTED)
    assert [(f.subject, f.status.value) for f in findings] == [("1", "pass"), ("2", "fail"), ("3", "fail")]
    assert findings[1].missing  # the unknown path is named as missing


def test_membership_of_a_quantified_variable() -> None:
    """A bound variable as the needle is read in place (it may be null: an element of a list)."""
    ruleset = build(one_rule("exists h in x.labels where not (h in x.blob)"))
    items = [
        ev("svc", "null needle", {"labels": [None], "blob": ["a"]}),
        ev("svc", "absent", {"labels": ["b"], "blob": ["a"]}),
        ev("svc", "present", {"labels": ["a"], "blob": ["a"]}),
        ev("svc", "in text", {"labels": ["a"], "blob": "xay"}),
        ev("svc", "bad haystack", {"labels": ["a"], "blob": 3}),
    ]
    findings = evaluate(ruleset, items, now=NOW, collected=ALL_COLLECTED)
    assert {f.subject: f.status.value for f in findings} == {
        "null needle": "fail",  # unknown
        "absent": "pass",
        "present": "fail",
        "in text": "fail",
        "bad haystack": "error",
    }


def test_age_and_date_order_shortcuts_answer_as_the_general_code() -> None:
    """age() keeps a date's age with its clock: another clock gets its own; errors are never kept."""
    from datetime import timedelta

    from annexa.lang import runtime
    from annexa.model.diagnostics import Position, Span

    span = Span("t.rule", Position(1, 1), Position(1, 2))
    later = NOW + timedelta(days=10)
    assert runtime.age("2026-11-01", NOW, span) == NOW - datetime(2026, 11, 1, tzinfo=UTC)
    assert runtime.age("2026-11-01", later, span) == later - datetime(2026, 11, 1, tzinfo=UTC)
    assert runtime.age("2026-11-01", NOW, span) == NOW - datetime(2026, 11, 1, tzinfo=UTC)
    for _ in range(2):  # a date ahead of the clock raises every time, at every clock it is ahead of
        with pytest.raises(runtime.RuleFault, match="after the scan's clock"):
            runtime.age("2027-06-01", NOW, span)
    assert runtime.age("2027-06-01", datetime(2027, 7, 1, tzinfo=UTC), span) == timedelta(days=30)
    runtime.to_datetime("2026-12-01", span)  # parsed once: the shortcut below takes it from the cache
    for text in ("2026-12-01", "2026-11-23T12:00:00Z", "2025-01-01"):
        for function in (runtime.less, runtime.less_equal):
            moment = runtime.to_datetime(text, span)
            assert moment is not None
            expected = moment > NOW if function is runtime.less else moment >= NOW
            assert function(NOW, text, span) is expected
    assert runtime.less_equal(NOW, None, span) is None
    with pytest.raises(runtime.RuleFault, match="not an ISO 8601 date"):
        runtime.less_equal(NOW, "soon", span)
