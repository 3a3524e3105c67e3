"""Escaping values (from configuration and evidence) into Markdown table cells and CSV cells."""

from __future__ import annotations

_MARKDOWN_SPECIAL = ("\\", "|", "*", "_", "`", "<", ">", "[", "]")


def markdown_cell(text: str) -> str:
    """One line, with pipes and markup characters escaped, so a value can neither break nor style a table."""
    flat = " ".join(text.split())
    for char in _MARKDOWN_SPECIAL:
        flat = flat.replace(char, "\\" + char)
    return flat


def csv_cell(text: str) -> str:
    """Prefix a quote to cells a spreadsheet would run as a formula (= + - @): free text is untrusted."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
