"""docs/plugins.md has one heading per hook, with the hook's exact signature (Datasette style)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from annexa.plugins import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("annexa_"))


def test_every_hook_is_known() -> None:
    assert HOOKS == [
        "annexa_collectors",
        "annexa_integrations",
        "annexa_nonconformities_changed",
        "annexa_open_document",
        "annexa_reporters",
        "annexa_rule_functions",
        "annexa_scan_finished",
    ]


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_documented_with_exact_signature(hook: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    signature = str(inspect.signature(getattr(hookspecs, hook)))
    assert re.search(rf"^### {hook}$", text, re.MULTILINE), f"docs/plugins.md has no heading for {hook}"
    section = text.split(f"### {hook}\n", 1)[1].split("\n### ", 1)[0]
    assert f"def {hook}{signature}".replace("'", "") in section, (
        f"docs/plugins.md: the {hook} section must show `def {hook}{signature}`"
    )
