"""`days(n)` turns a number of days from evidence into a duration that compares with `age(...)`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from annexa.contract.kinds import KindRegistry
from annexa.lang.language import compile_rules, evaluate
from annexa.lang.ruleset import RuleSource
from annexa.model.diagnostics import DiagnosticError
from annexa.model.evidence import Evidence
from annexa.model.findings import Status

NOW = datetime(2026, 11, 23, tzinfo=UTC)
KINDS = KindRegistry(
    {
        "doc": {
            "type": "object",
            "properties": {
                "reviewed": {"type": "string", "format": "date"},
                "interval": {"type": ["integer", "null"]},
                "title": {"type": "string"},
            },
        }
    }
)
RULE = """control A.2.4 "t" {
  rule reviewed_in_interval {
    for each d in doc
    require age(d.reviewed) <= days(d.interval)
    message "{d.title}"
  }
}
"""


def item(source: str, **data: object) -> Evidence:
    return Evidence(kind="doc", source=source, scope={}, collector="t 1", collected_at=NOW, data=data)


def test_days_compares_with_age_and_missing_interval_fails() -> None:
    ruleset = compile_rules([RuleSource("a_2_4.rule", RULE)], KINDS)
    findings = evaluate(
        ruleset,
        [
            item("fresh", reviewed="2026-10-01", interval=90, title="fresh"),
            item("stale", reviewed="2026-01-01", interval=90, title="stale"),
            item("no-interval", reviewed="2026-10-01", interval=None, title="none"),
        ],
        now=NOW,
    )
    statuses = {f.subject: f.status for f in findings}
    assert statuses == {"fresh": Status.PASS, "stale": Status.FAIL, "no-interval": Status.FAIL}
    missing = next(f for f in findings if f.subject == "no-interval").missing
    assert "d.interval" in missing


def test_days_of_a_string_is_a_type_clash() -> None:
    text = RULE.replace("days(d.interval)", "days(d.title)")
    with pytest.raises(DiagnosticError) as caught:
        compile_rules([RuleSource("a_2_4.rule", text)], KINDS)
    assert [d.code for d in caught.value.diagnostics] == ["E203"]
    assert "`days` does not take a string" in caught.value.diagnostics[0].message
