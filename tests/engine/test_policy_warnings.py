"""An exception that names no selected rule is reported, because it silently waives nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.cli.main import main

RULE = """control A.2.2 "AI policy" {
  rule ai_policy_present {
    require exists d in document where d.type == "ai-policy"
    message "no AI policy"
  }
}
"""


def test_misspelt_exception_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a_2_2.rule").write_text(RULE, encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "annexa.yaml").write_text(
        "version: 1\n"
        "collectors:\n  documents: {sources: [{path: ./docs}]}\n"
        "rules: {paths: [./rules]}\n"
        "exceptions:\n"
        "  - {rule: A.2.2/ai_policy_presnt, justification: accepted, approved_by: CISO,\n"
        "     expires: 2027-01-31}\n"
        "store: {path: ./store}\n",
        encoding="utf-8",
    )
    code = main(["scan", "-c", str(tmp_path / "annexa.yaml"), "--now", "2026-11-23T00:00:00Z"])
    err = capsys.readouterr().err
    assert code == 1  # the empty folder has no AI policy, and the misspelt exception waives nothing
    assert "exception for A.2.2/ai_policy_presnt waives nothing" in err
    assert "did you mean `A.2.2/ai_policy_present`?" in err
