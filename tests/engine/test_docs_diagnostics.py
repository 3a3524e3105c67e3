"""Every diagnostic code is documented in docs/diagnostics.md, with the meaning the code table gives; one
code, one meaning; and the one table of built-in functions is the one docs/rule-language.md shows."""

from __future__ import annotations

import re
from pathlib import Path

from annexa.lang.builtins import BUILTINS, markdown_table
from annexa.lang.checker import BUILTIN_FUNCTIONS
from annexa.lang.compiler import RUNTIME_NAMES
from annexa.model.diagnostics import CODES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"


def test_every_code_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [code for code, meaning in CODES.items() if f"| {code} | {meaning} |" not in text]
    assert not missing, f"docs/diagnostics.md lacks {missing}; regenerate its table from CODES"


def test_each_code_has_one_meaning() -> None:
    meanings = list(CODES.values())
    assert len(set(meanings)) == len(meanings), "two codes share a meaning"


def test_every_code_the_engine_raises_is_in_the_table() -> None:
    root = Path(__file__).resolve().parents[2]
    used: set[str] = set()
    for folder in ("engine", "plugins", "collectors"):
        for path in (root / folder).rglob("*.py"):
            used.update(re.findall(r'["\']([EW]\d{3})["\']', path.read_text(encoding="utf-8")))
    assert used - set(CODES) == set(), "codes used in the source but not in CODES"


def test_the_builtin_functions_table_is_the_languages() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "rule-language.md").read_text(encoding="utf-8")
    assert markdown_table() in text, "docs/rule-language.md: regenerate the table from annexa.lang.builtins"
    # the checker and the compiler read the same table
    assert set(BUILTIN_FUNCTIONS) == set(BUILTINS)
    assert {f"_{name}" for name in BUILTINS} <= set(RUNTIME_NAMES)
