"""The render input of every reporter: the canonical result plus evidence items and scan history.

Reporters are pure functions of this one mapping, so no two formats can disagree. The two sections added
here are read from the store, never from the live collection: a report of a stored scan written months
later shows exactly what the scan rested on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from annexa.model.evidence import Evidence, format_timestamp
from annexa.model.findings import ControlStatus, Status

if TYPE_CHECKING:  # the store is passed in: registering the report formats must not load it
    from annexa.store import Store

HISTORY_LIMIT: Final = 30  # scans shown in trend charts; older ones stay in `annexa history`


def controls_and_clauses(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The Annex A controls, then the main-body clauses when clause rules ran (same record shape)."""
    return [*document["controls"], *document.get("clauses", [])]


def evidence_items(result: Mapping[str, Any], evidence: Iterable[Evidence]) -> list[dict[str, Any]]:
    """The evidence items the result's findings cite, with their data, sorted by id (their SHA-256)."""
    cited = {ref["id"] for finding in result["findings"] for ref in finding["evidence"]}
    items = {item.id: item for item in evidence if item.id in cited}
    return [{"id": digest, **items[digest].to_dict()} for digest in sorted(items)]


def scan_history(store: Store, *, upto: str = "latest", limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """Control and finding counts of the last ``limit`` scans up to (and including) ``upto``, oldest first."""
    seq, _ = store.resolve(upto)
    summaries = [summary for summary in store.scans() if summary.seq <= seq][-limit:]
    history = []
    for summary in summaries:
        # The finding counts from the index: reading each scan's findings would cost 30 scans' worth.
        record = store.load_scan(summary.digest, findings=False).record
        controls = {status.value: 0 for status in ControlStatus}
        for control in record.controls:
            controls[control.status.value] += 1
        findings = {status.value: summary.counts.get(status.value, 0) for status in Status}
        history.append(
            {
                "scan": summary.scan_id,
                "started_at": format_timestamp(record.started_at),
                "controls": controls,
                "findings": findings,
            }
        )
    return history


def report_document(
    result: Mapping[str, Any], *, store: Store | None = None, scan: str = "latest"
) -> dict[str, Any]:
    """The result with ``evidence_items`` and ``history`` read from ``store`` (both empty without one).

    :param scan: the stored scan the result belongs to (a reference ``Store.resolve`` accepts).
    """
    document = dict(result)
    if store is None:
        document.setdefault("evidence_items", [])
        document.setdefault("history", [])
        return document
    cited = sorted({ref["id"] for finding in result["findings"] for ref in finding["evidence"]})
    document["evidence_items"] = evidence_items(result, (store.load_evidence(d) for d in cited))
    document["history"] = scan_history(store, upto=scan)
    return document
