"""``--format csv``: one row per finding, for spreadsheets.

Cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or carriage return) get a
leading apostrophe, so an evidence value such as ``=HYPERLINK(...)`` stays text (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, Final

from annexa.reports.document import controls_and_clauses

COLUMNS: Final = (
    "finding_id",
    "control",
    "control_title",
    "rule",
    "status",
    "waived",
    "severity",
    "subject",
    "message",
    "evidence_sha256",
    "evidence_sources",
    "remediation",
    "waiver_justification",
    "waiver_approved_by",
    "waiver_expires",
    "note",
    "rule_location",
)
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(document: Mapping[str, Any]) -> str:
    """The findings as CSV (RFC 4180, ``\\r\\n`` line ends), in the result's order."""
    titles = {control["id"]: control["title"] for control in controls_and_clauses(document)}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for f in document["findings"]:
        waiver = f["waiver"] or {}
        row = (
            f["id"],
            f["control"],
            titles.get(f["control"], ""),
            f["rule"],
            f["status"],
            "yes" if f["waiver"] else "no",
            f["severity"],
            f["subject"],
            f["message"],
            " ".join(ref["id"] for ref in f["evidence"]),
            " ".join(ref["source"] for ref in f["evidence"]),
            f["remediation"],
            waiver.get("justification"),
            waiver.get("approved_by"),
            waiver.get("expires"),
            f["note"],
            f["location"],
        )
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()
