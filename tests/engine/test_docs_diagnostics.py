"""Every diagnostic code is documented in docs/diagnostics.md, with the meaning the code table gives."""

from __future__ import annotations

from pathlib import Path

from annexa.model.diagnostics import CODES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"


def test_every_code_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [code for code, meaning in CODES.items() if f"| {code} | {meaning} |" not in text]
    assert not missing, f"docs/diagnostics.md lacks {missing}; regenerate its table from CODES"
