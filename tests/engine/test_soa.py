"""`annexa soa`: the Statement of Applicability from the demo estate's configuration and recorded scan."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from annexa.audit.soa import (
    NOT_DECLARED,
    Declaration,
    ExceptionInForce,
    build_soa,
    render_csv,
    render_markdown,
)
from annexa.cli.main import main
from annexa.contract.catalog import load_catalog

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = "2026-11-23T00:00:00Z"


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo estate, copied and scanned once (the SoA reads the store's latest scan)."""
    root = tmp_path_factory.mktemp("soa") / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("out", "__pycache__"))
    code, _ = _run("scan", "-c", str(root / "annexa.yaml"), "--now", NOW, "--format", "json")
    assert code == 1  # the demo has intended nonconformities
    return root


@pytest.fixture(scope="module")
def soa(estate: Path) -> dict[str, Any]:
    code, text = _run("soa", "-c", str(estate / "annexa.yaml"), "--format", "json")
    assert code == 0
    payload: dict[str, Any] = json.loads(text)
    return payload


def _row(soa: dict[str, Any], control: str) -> dict[str, Any]:
    return next(row for row in soa["controls"] if row["id"] == control)


def test_every_control_once_in_catalog_order(soa: dict[str, Any]) -> None:
    assert [row["id"] for row in soa["controls"]] == list(load_catalog().ids)
    assert soa["scan"]["at"] == NOW  # the scan's clock, the only timestamp in the SoA


def test_applicability_and_justification_come_from_the_configuration(soa: dict[str, Any]) -> None:
    excluded = _row(soa, "A.10.4")
    assert excluded["applicable"] is False
    assert excluded["justification"].startswith("Acme sells no AI product or service")
    assert excluded["implementation"] == "not applicable"
    included = _row(soa, "A.2.2")
    assert included["applicable"] is True
    assert included["justification"] == NOT_DECLARED


def test_status_and_evidence_follow_the_scan(soa: dict[str, Any], estate: Path) -> None:
    _, text = _run("scan", "-c", str(estate / "annexa.yaml"), "--now", NOW, "--format", "json")
    result = json.loads(text)
    for control in result["controls"]:
        assert _row(soa, control["id"])["status"] == control["status"]
    cited = {ref["id"] for f in result["findings"] if f["control"] == "A.2.2" for ref in f["evidence"]}
    assert cited
    assert set(_row(soa, "A.2.2")["evidence"]) == cited
    assert _row(soa, "A.6.2.6")["implementation"] == "not implemented"  # no runbook for the chatbot
    assert _row(soa, "A.2.2")["implementation"] == "implemented"
    # Supporting evidence failing is counted apart: the logging standard is overdue, A.6.2.8 not failed by it.
    observed = sum(
        1
        for f in result["findings"]
        if f["control"] == "A.6.2.8" and f["weight"] == "supporting" and f["status"] != "pass"
    )
    assert observed >= 1
    assert _row(soa, "A.6.2.8")["observations"] == observed


def test_exceptions_in_force_are_listed_with_their_control(soa: dict[str, Any]) -> None:
    (waiver,) = _row(soa, "A.5.3")["exceptions"]
    assert waiver["rule"] == "A.5.3/impact_assessment_per_system"
    assert waiver["expires"] == "2027-03-31"
    assert waiver["approved_by"] == "Chief Risk Officer"
    assert all(not row["exceptions"] for row in soa["controls"] if row["id"] != "A.5.3")


def test_cross_framework_columns(soa: dict[str, Any]) -> None:
    assert _row(soa, "A.6.2.8")["eu_ai_act"] == ["Art. 12", "Art. 19"]
    assert all(row["eu_ai_act"] and row["nist_ai_rmf"] for row in soa["controls"])


def test_output_is_deterministic_and_written_atomically(estate: Path, tmp_path: Path) -> None:
    config = str(estate / "annexa.yaml")
    for fmt in ("markdown", "csv", "json"):
        first, second = tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"
        assert main(["soa", "-c", config, "--format", fmt, "-o", str(first)]) == 0
        assert main(["soa", "-c", config, "--format", fmt, "-o", str(second)]) == 0
        assert first.read_bytes() == second.read_bytes()
        assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    rows = list(csv.DictReader(io.StringIO((tmp_path / "one.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 38
    a_10_4 = next(row for row in rows if row["control"] == "A.10.4")
    assert (a_10_4["applicable"], a_10_4["status"]) == ("no", "not_applicable")
    markdown = (tmp_path / "one.markdown").read_text(encoding="utf-8")
    assert markdown.count("\n| A.") == 38


def test_an_older_scan_can_be_chosen(estate: Path) -> None:
    config = str(estate / "annexa.yaml")
    _run("scan", "-c", config, "--now", "2026-11-24T00:00:00Z")  # a newer scan on top of the fixture's
    latest = json.loads(_run("soa", "-c", config, "--format", "json")[1])
    older = json.loads(_run("soa", "-c", config, "--scan", "latest~1", "--format", "json")[1])
    assert latest["scan"]["at"] == "2026-11-24T00:00:00Z"
    assert older["scan"]["at"] == NOW


def test_unknown_scan_reference_is_a_usage_error(estate: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["soa", "-c", str(estate / "annexa.yaml"), "--scan", "nosuchscan"]) == 4
    assert "no scan matches 'nosuchscan'" in capsys.readouterr().err


def test_without_a_scan_every_control_is_not_assessed(tmp_path: Path) -> None:
    config = tmp_path / "annexa.yaml"
    config.write_text("version: 1\norganization: Empty Ltd\n", encoding="utf-8")
    code, text = _run("soa", "-c", str(config), "--format", "json")
    assert code == 0
    payload = json.loads(text)
    assert payload["scan"] is None
    assert {row["status"] for row in payload["controls"]} == {"not_assessed"}


def test_config_and_evidence_values_cannot_break_the_table_or_a_spreadsheet() -> None:
    soa = build_soa(
        organization="Evil | Corp",
        declarations={
            "A.2.2": Declaration(applicable=False, justification="no | pipes\nor *markup* here"),
            "A.2.3": Declaration(applicable=False, justification='=HYPERLINK("http://x")'),
        },
        exceptions=(
            ExceptionInForce(
                rule="A.2.4/ai_policy_reviewed",
                subject=None,
                justification="x|y",
                approved_by="CRO",
                expires="2027-01-01",
            ),
        ),
        scan=None,
    )
    markdown = render_markdown(soa)
    line = next(line for line in markdown.splitlines() if line.startswith("| A.2.2 "))
    assert line.count(" | ") == 7  # eight cells, the pipe inside the justification escaped
    assert "no \\| pipes or \\*markup\\* here" in line
    rows = list(csv.DictReader(io.StringIO(render_csv(soa))))
    assert rows[1]["justification"].startswith("'=")
