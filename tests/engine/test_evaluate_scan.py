"""`annexa evaluate --scan` re-evaluates a recorded scan offline and gets the scan's own findings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from annexa.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def findings_of(output: str) -> list[tuple[str, str, bool]]:
    result = json.loads(output)
    return [(f["id"], f["status"], f["waiver"] is not None) for f in result["findings"]]


def test_recorded_scan_re_evaluates_to_the_same_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(EXAMPLES / "governance", tmp_path / "governance")
    shutil.copytree(EXAMPLES / "attestations", tmp_path / "attestations")
    shutil.copytree(EXAMPLES / "modelcards", tmp_path / "modelcards")  # every configured source exists
    shutil.copy(EXAMPLES / "annexa.yaml", tmp_path / "annexa.yaml")
    config = str(tmp_path / "annexa.yaml")
    store = str(tmp_path / "out" / ".annexa")

    assert main(["scan", "-c", config, "--now", "2026-11-23T00:00:00Z", "--format", "json"]) == 1
    scanned = findings_of(capsys.readouterr().out)

    # months later, offline: the store alone (plus the configuration for waivers) gives the same verdicts
    assert main(["evaluate", "--scan", "latest", "--store", store, "-c", config, "--format", "json"]) == 1
    captured = capsys.readouterr()
    assert findings_of(captured.out) == scanned
    assert "warning" not in captured.err
    assert any(waived for _, _, waived in scanned)

    # other rules than the scan's: still evaluated, but the reader is told the verdicts may differ
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a_2_2.rule").write_text(
        'control A.2.2 "AI policy" { rule any_policy {\n'
        '  require exists d in document where d.type == "ai-policy"\n  message "none" } }\n',
        encoding="utf-8",
    )
    other = ["evaluate", "--scan", "latest", "--store", store, "--rules", str(rules), "--format", "json"]
    assert main(other) == 0
    assert "findings may differ" in capsys.readouterr().err


def test_unknown_scan_reference_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--scan", "latest", "--store", str(tmp_path / "nothing")]) == 4
    assert "no annexa store" in capsys.readouterr().err


def test_a_defective_item_is_stored_and_fails_again_on_re_evaluation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A garbled file is kept in the store as a defective item, so re-evaluating the scan months later
    fails on it again instead of forgetting it."""
    shutil.copytree(EXAMPLES / "governance", tmp_path / "governance")
    shutil.copytree(EXAMPLES / "attestations", tmp_path / "attestations")
    shutil.copytree(EXAMPLES / "modelcards", tmp_path / "modelcards")  # every configured source exists
    shutil.copy(EXAMPLES / "annexa.yaml", tmp_path / "annexa.yaml")
    policy = tmp_path / "governance" / "policies" / "ai-policy.md"
    policy.write_text(policy.read_text(encoding="utf-8").replace("status: approved", 'status: "approved', 1))
    config = str(tmp_path / "annexa.yaml")
    store = str(tmp_path / "out" / ".annexa")
    assert main(["scan", "-c", config, "--now", "2026-11-23T00:00:00Z", "--format", "json"]) == 1
    scanned = json.loads(capsys.readouterr().out)
    broken = [
        f
        for f in scanned["findings"]
        if f["subject"] == "file:governance/policies/ai-policy.md" and f["control"] != "A.10.4"
    ]  # A.10.4 is declared not applicable: all its findings are
    assert broken
    assert {f["status"] for f in broken} == {"fail"}
    assert all("cannot be used as evidence" in f["message"] for f in broken)

    assert main(["evaluate", "--scan", "latest", "--store", store, "-c", config, "--format", "json"]) == 1
    again = json.loads(capsys.readouterr().out)
    assert [(f["id"], f["status"]) for f in again["findings"]] == [
        (f["id"], f["status"]) for f in scanned["findings"]
    ]
