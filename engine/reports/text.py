"""``--format text``: the terminal summary (one line per control, then what needs attention)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annexa.app.result import render_text as _render_result_text


def render_text(document: Mapping[str, Any]) -> str:
    """The same summary ``annexa scan`` prints, with a final newline."""
    return _render_result_text(document) + "\n"
