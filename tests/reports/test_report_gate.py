"""``--fail-on``: the grammar, the verdicts, and the exit codes of real scans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from reportkit import SECOND_SCAN, DemoProject, copy_demo, run_cli

from annexa.model.exitcodes import ExitCode
from annexa.reports import FailOnError, parse_fail_on
from annexa.reports.gate import judge


def finding(finding_id: str, status: str, severity: str, waived: bool = False) -> dict[str, Any]:
    waiver = {"justification": "j", "approved_by": "a", "expires": "2030-01-01"} if waived else None
    return {"id": finding_id, "rule": f"A.5.2/r_{finding_id}", "status": status, "severity": severity,
            "waiver": waiver}  # fmt: skip


def result(*findings: dict[str, Any], drift: Any = None, exit_code: int = 1) -> dict[str, Any]:
    return {"findings": list(findings), "drift": drift, "summary": {"exit_code": exit_code}}


def drift_of(**changes: str) -> dict[str, Any]:
    return {"findings": [{"id": key, "change": value} for key, value in changes.items()]}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], None),
        (["none"], ()),
        (["fail"], ("fail:info",)),
        (["new:high,inconclusive"], ("new:high", "inconclusive:info")),
        (["fail:critical", "new:medium"], ("fail:critical", "new:medium")),
    ],
)
def test_grammar(values: list[str], expected: tuple[str, ...] | None) -> None:
    parsed = parse_fail_on(values)
    assert (None if parsed is None else tuple(str(c) for c in parsed)) == expected


@pytest.mark.parametrize("bad", ["failing", "fail:severe", "new:", ":high", "none,fail", "fail:HIGH"])
def test_grammar_errors_name_the_condition(bad: str) -> None:
    with pytest.raises(FailOnError, match="fail-on"):
        parse_fail_on([bad])


def test_severity_is_a_minimum_and_waivers_do_not_count() -> None:
    scan = result(finding("a", "fail", "medium"), finding("b", "fail", "critical", waived=True))
    assert judge(scan, parse_fail_on(["fail:medium"])).exit_code is ExitCode.NONCONFORMITIES
    assert judge(scan, parse_fail_on(["fail:high"])).exit_code is ExitCode.CONFORMANT


def test_new_counts_only_failures_that_are_new_since_the_previous_scan() -> None:
    findings = (finding("a", "fail", "high"), finding("b", "fail", "high"))
    still = result(*findings, drift=drift_of(a="still_failing", b="still_failing"))
    assert judge(still, parse_fail_on(["new:high"])).exit_code is ExitCode.CONFORMANT
    one_new = result(*findings, drift=drift_of(a="still_failing", b="new_failure"))
    verdict = judge(one_new, parse_fail_on(["new:high"]))
    assert verdict.exit_code is ExitCode.NONCONFORMITIES
    assert verdict.reasons == ("--fail-on new:high: 1 finding(s), first b (A.5.2/r_b)",)
    assert (
        judge(result(*findings), parse_fail_on(["new"])).exit_code is ExitCode.NONCONFORMITIES
    )  # first scan


def test_inconclusive_exits_2_and_a_failure_outranks_it() -> None:
    unsure = result(finding("a", "inconclusive", "low"), finding("b", "error", "low"))
    assert judge(unsure, parse_fail_on(["inconclusive"])).exit_code is ExitCode.INCONCLUSIVE
    both = result(finding("a", "inconclusive", "low"), finding("b", "fail", "low"))
    assert judge(both, parse_fail_on(["inconclusive", "fail"])).exit_code is ExitCode.NONCONFORMITIES
    assert judge(both, parse_fail_on(["none"])).exit_code is ExitCode.CONFORMANT
    assert judge(both, None).exit_code is ExitCode.NONCONFORMITIES  # the result's own code


def test_exit_codes_of_real_scans(tmp_path: Path) -> None:
    project: DemoProject = copy_demo(tmp_path / "demo")
    config, store = str(project.config), str(project.store)
    # First scan: every failure is new, and the demo has high-severity failures but no critical one.
    assert run_cli("scan", "-c", config, "--now", SECOND_SCAN, "--fail-on", "new:high")[0] == 1
    # `annexa report` applies the same gate to the recorded scan without collecting again.
    assert run_cli("report", "--store", store, "--fail-on", "fail:critical")[0] == 0
    assert run_cli("report", "--store", store, "--fail-on", "fail:high")[0] == 1
    assert run_cli("report", "--store", store, "--fail-on", "inconclusive:info")[0] == 2
    assert run_cli("report", "--store", store, "--fail-on", "none")[0] == 0
    assert run_cli("report", "--store", store)[0] == 1  # the result's own exit code
    scans_before = len(list((project.store / "manifests").rglob("*.json")))
    assert run_cli("scan", "-c", config, "--fail-on", "fail:urgent")[0] == ExitCode.USAGE_ERROR
    # A bad gate is refused before collecting: no scan was recorded.
    assert len(list((project.store / "manifests").rglob("*.json"))) == scans_before
    assert run_cli("scan", "-c", config, "--now", SECOND_SCAN, "--fail-on", "new:high")[0] == 0
    # The fraud-scoring record loses its out-of-scope use: a new high-severity failure fails the gate again.
    record = project.root / "governance/systems/fraud-scoring-record.md"
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("out_of_scope_use:", "out_of_scope_note:", 1), encoding="utf-8")
    code, out = run_cli("scan", "-c", config, "--now", SECOND_SCAN, "--fail-on", "new:high")
    assert code == 1, out
