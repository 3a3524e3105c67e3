"""The shortcuts on evaluation's hot paths answer exactly as the general code behind them."""

from __future__ import annotations

from collections import UserString
from datetime import UTC, datetime, timedelta, timezone

import pytest
import regex

from annexa.lang import runtime
from annexa.lang.evaluator import _refs
from annexa.model.diagnostics import Position, Span
from annexa.model.evidence import Evidence, EvidenceFormatError, format_timestamp

SPAN = Span("t.rule", Position(1, 1), Position(1, 2))
NOW = datetime(2026, 11, 23, tzinfo=UTC)


class Text(str):
    """A str subclass: takes the general path, never the exact-type shortcut."""


class Items(list[object]):
    pass


def test_a_timestamp_is_formatted_in_utc_whatever_instant_was_formatted_before() -> None:
    utc = datetime(2026, 1, 1, tzinfo=UTC)
    assert format_timestamp(utc) == "2026-01-01T00:00:00Z"
    # The same instant in another zone: equal to the one remembered, and its UTC text is the same.
    assert (
        format_timestamp(datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))))
        == "2026-01-01T00:00:00Z"
    )
    assert format_timestamp(datetime(2026, 1, 1, 0, 0, 0, 5, tzinfo=UTC)) == "2026-01-01T00:00:00.000005Z"
    with pytest.raises(EvidenceFormatError, match="no time zone"):
        format_timestamp(datetime(2026, 1, 1))  # noqa: DTZ001  # naive: never taken for the aware one


def test_equal_contained_lower_and_matches_agree_on_exact_types_and_subclasses() -> None:
    for left, right in (("a", "a"), ("a", "b"), (Text("a"), "a"), ("2026-01-01", NOW), (1, 1.0)):
        assert runtime.equal(left, right, SPAN) == runtime.equal(right, left, SPAN)
    assert runtime.equal("a", "a", SPAN) is True
    assert runtime.equal("a", "b", SPAN) is False
    assert runtime.equal("2026-11-23", NOW, SPAN) is True  # a date as text still compares as a date
    assert runtime.equal(None, "a", SPAN) is None
    for haystack in (["x", "y"], Items(["x", "y"]), ("x", "y"), {"x": 1}, "xy"):
        assert runtime.contained("x", haystack, SPAN) is True
        assert runtime.contained("z", haystack, SPAN) is False
    assert runtime.contained("x", None, SPAN) is None
    assert runtime.contained(None, ["x"], SPAN) is None
    with pytest.raises(runtime.RuleFault):
        runtime.contained(1, "xy", SPAN)
    assert runtime.lower("AbC", SPAN) == "abc" == runtime.lower(Text("AbC"), SPAN)
    assert runtime.lower(None, SPAN) is None
    with pytest.raises(runtime.RuleFault):
        runtime.lower(UserString("A"), SPAN)
    pattern = regex.compile("^ok")
    assert runtime.matches_bounded("ok then", pattern, SPAN) is True
    assert runtime.matches_bounded(Text("not ok"), pattern, SPAN) is False
    assert runtime.matches_bounded(None, pattern, SPAN) is None
    with pytest.raises(runtime.RuleFault):
        runtime.matches_bounded(3, pattern, SPAN)


def test_a_date_parsed_once_is_the_same_date_again() -> None:
    first = runtime.to_datetime("2026-03-04", SPAN)
    assert first == datetime(2026, 3, 4, tzinfo=UTC)
    assert runtime.to_datetime("2026-03-04", SPAN) is first
    assert runtime.to_datetime(Text("2026-03-04"), SPAN) == first
    with pytest.raises(runtime.RuleFault):
        runtime.to_datetime("2026-13-04", SPAN)


def test_references_name_each_item_once_in_the_order_first_used() -> None:
    a, b, c = (
        Evidence(kind="k", source=name, scope={}, collector="t 1", collected_at=NOW, data={"n": name})
        for name in "abc"
    )
    assert _refs([a]) == (a.ref(),)
    assert _refs([a, a]) == (a.ref(),)
    assert _refs([b, a]) == (b.ref(), a.ref())
    assert _refs([a, b, a, c, b]) == (a.ref(), b.ref(), c.ref())


def _evaluate(text: str, evidence: list[Evidence]) -> dict[str | None, str]:
    from annexa.lang.language import KindRegistry, compile_rules, evaluate
    from annexa.lang.ruleset import RuleSource

    kinds = KindRegistry({kind: {"type": "object"} for kind in ("mv", "card")})
    ruleset = compile_rules([RuleSource("t.rule", text)], kinds)
    findings = evaluate(ruleset, evidence, now=NOW, collected={"mv": None, "card": None})
    return {f.subject: f"{f.status.value}: {f.message}" for f in findings}


def _item(kind: str, source: str, data: dict[str, object]) -> Evidence:
    return Evidence(kind=kind, source=source, scope={}, collector="t 1", collected_at=NOW, data=data)


def test_a_join_key_under_something_that_is_not_an_object_is_no_key() -> None:
    text = (
        'control A.6.2.6 "docs" {\n  rule cards {\n    for each m in mv\n'
        "    require exists c in card where c.meta.model == m.name\n  }\n}\n"
    )
    found = _evaluate(
        text,
        [
            _item("mv", "mv-a", {"name": "a"}),
            _item("mv", "mv-c", {"name": "c"}),
            _item("card", "card-a", {"meta": {"model": "a"}}),
            _item("card", "card-x", {"meta": ["model", "c"]}),  # a list where an object was expected
        ],
    )
    assert found["mv-a"].startswith("pass")
    assert not found["mv-c"].startswith("pass")


def test_a_python_error_inside_a_rule_is_an_error_finding_not_a_crash() -> None:
    # timedelta(days=10**12) is too large: caught in the rule and reported with Python's message (the
    # generated code turns it into text with str(), which it must be able to reach).
    text = (
        'control A.6.2.6 "docs" {\n  rule big {\n    for each m in mv\n'
        "    require days(m.n) > days(1)\n  }\n}\n"
    )
    found = _evaluate(text, [_item("mv", "mv-a", {"n": 10**12}), _item("mv", "mv-b", {"n": 2})])
    assert found["mv-b"].startswith("pass")
    assert found["mv-a"].startswith("error: rule failed at")
    assert "too large" in found["mv-a"]
