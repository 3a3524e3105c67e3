"""Reports: every output format renders the one canonical result (:func:`annexa.app.result.build_result`).

The render input ("report document") is that result plus two optional sections read from the store:
``evidence_items`` (the evidence the findings cite, with their data) and ``history`` (control and finding
counts per recorded scan, oldest first). Built-in formats are registered as the plugin
``annexa.reports.builtin`` through the ``annexa_reporters`` hook, exactly like third-party formats.
"""

from __future__ import annotations

from annexa.reports.document import HISTORY_LIMIT, evidence_items, report_document, scan_history
from annexa.reports.gate import FailOnError, GateVerdict, parse_fail_on
from annexa.reports.output import OutputError, OutputPlan, plan_outputs, write_readiness_report

__all__ = [
    "HISTORY_LIMIT",
    "FailOnError",
    "GateVerdict",
    "OutputError",
    "OutputPlan",
    "evidence_items",
    "parse_fail_on",
    "plan_outputs",
    "report_document",
    "scan_history",
    "write_readiness_report",
]
