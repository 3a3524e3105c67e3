"""The testing kit itself: it must catch what the host would catch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from annexa.plugins import CollectorError, CollectorSpec, CollectRequest, Evidence
from annexa.plugins.testing import check_collector_spec, execute_collector, invoke_cli

NOW = datetime(2026, 1, 2, tzinfo=UTC)
SCHEMA = {"type": "object", "required": ["owner"], "properties": {"owner": {"type": "string"}}}


class Sloppy:
    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        def item(kind: str, data: dict[str, Any]) -> Evidence:
            return Evidence(
                kind=kind,
                source=f"s:{len(data)}",
                scope={},
                collector="t 1",
                collected_at=request.now,
                data=data,
            )

        yield item("t.card", {"owner": "ml"})
        yield item("t.card", {"owner": 3})  # breaks the kind schema
        yield item("t.other", {})  # undeclared kind
        request.report_problem("file.csv", "row 2 unreadable")
        raise CollectorError("token expired", hint="renew it")


def make_spec(**changes: Any) -> CollectorSpec:
    values: dict[str, Any] = {
        "name": "t",
        "version": "1",
        "kinds": {"t.card": SCHEMA},
        "config_schema": {},
        "factory": Sloppy,
    }
    values.update(changes)
    return CollectorSpec(**values)


def test_run_collector_checks_like_the_host() -> None:
    run = execute_collector(make_spec(), now=NOW)
    run.assert_kinds({"t.card": 2})  # the item that breaks the schema stays, as a defective one
    assert [item.defect for item in run.evidence] == [
        None,
        "data does not match its schema: owner: 3 is not of type 'string'",
    ]
    assert sorted(d.code for d in run.diagnostics) == [
        "collector_error",
        "invalid_evidence",
        "invalid_evidence",
        "source_problem",
    ]
    error = next(d for d in run.diagnostics if d.code == "collector_error")
    assert (error.message, error.hint, error.kinds) == ("token expired", "renew it", ("t.card",))
    with pytest.raises(pytest.fail.Exception, match="token expired"):
        run.assert_no_diagnostics()
    with pytest.raises(pytest.fail.Exception, match="expected"):
        run.assert_kinds({"t.card": 1})


def test_run_collector_rejects_config_the_host_would_reject() -> None:
    spec = make_spec(config_schema={"type": "object", "required": ["path"]})
    with pytest.raises(pytest.fail.Exception, match="'path' is a required property"):
        execute_collector(spec, config={}, now=NOW)


def test_check_collector_spec_lists_every_violation() -> None:
    check_collector_spec(make_spec())
    bad = make_spec(name="Bad-Name", kinds={"T.Card": {"type": 7}}, config_schema={"minLength": "x"})
    with pytest.raises(pytest.fail.Exception) as caught:
        check_collector_spec(bad)
    text = str(caught.value)
    for expected in (
        "not lower case",
        "name must be letters",
        "'T.Card' is not a lower-case dotted name",
        "schema of kind 'T.Card'",
        "config schema: invalid JSON Schema",
    ):
        assert expected in text


def test_cli_run_captures_output() -> None:
    result = invoke_cli("plugins", "-p", "bogus")
    assert result.exit_code == 4
    assert "expects no:NAME" in result.stdout
    assert invoke_cli("--version").stdout.startswith("annexa ")


def test_evaluate_rule_and_assert_status() -> None:
    from annexa.plugins.testing import evaluate_rule

    items = [
        Evidence(
            kind="t.card", source=f"t:{i}", scope={}, collector="t 1", collected_at=NOW, data={"owner": owner}
        )
        for i, owner in (("a", "ml"), ("b", None))
    ]
    rule = (
        'control A.5.2 "Policy" {\n  rule owned "Cards have owners" {\n    severity high\n'
        '    for each c in t.card\n    require c.owner != null\n    message "{c.owner}"\n  }\n}\n'
    )
    schema = {"type": "object", "properties": {"owner": {"type": ["string", "null"]}}}
    result = evaluate_rule(rule, items, now=NOW, kinds={"t.card": schema})
    result.assert_status("fail", subjects=["t:b"])
    result.assert_status("pass", subjects=["t:a"])
    with pytest.raises(pytest.fail.Exception):
        result.assert_status("pass")
