"""`annexa rules test` with no arguments, from the repository root, runs every shipped case against the
pack that holds its rule (base pack, clauses, inventory add-on) and passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_cases_pass_from_the_repository_root(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    code = main(["rules", "test"])
    out = capsys.readouterr().out
    summary = out.strip().splitlines()[-1]
    assert code == 0, out
    passed = int(summary.split()[2])
    assert passed > 200
    assert ", 0 failed" in summary
    assert "FAIL" not in out
    # Clause cases ran against builtin:clauses, not reported as missing from the base pack.
    assert "no rule CL." not in out
    # The inventory add-on needs a plugin's kind; without it its cases are skipped, saying why.
    skipped = [line for line in out.splitlines() if line.startswith("SKIP ")]
    assert all("annex_a_inventory" in line and "install the plugin it needs" in line for line in skipped)


def test_explicit_rules_are_the_only_ones_tried(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    code = main(["rules", "test", "--rules", "builtin:annex_a", "tests/rules/clauses"])
    out = capsys.readouterr().out
    assert code == 1
    assert "no rule CL.9.3/management_review_held in builtin:annex_a" in out
