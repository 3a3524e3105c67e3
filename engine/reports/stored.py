"""The canonical result of a scan read back from the store (``annexa report SCAN``).

The manifest holds the findings, control results and collection statuses; it does not hold collector
timings, per-source problems or redaction counts, so those read as 0 and empty in a re-rendered report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annexa.app.result import build_result
from annexa.audit.drift import compare_indexed
from annexa.contract.freshness import DEFAULT_LIMITS, FreshnessLimits, stale_evidence
from annexa.model.evidence import Evidence
from annexa.model.observations import scope_drift
from annexa.store import Store, StoredScan


def stored_result(
    store: Store,
    reference: str = "latest",
    *,
    organization: str = "",
    freshness: FreshnessLimits | None = None,
) -> dict[str, Any]:
    """Rebuild the result document of a recorded scan, with its drift from the scan before it and the
    observations on its evidence (scope drift; stale evidence by ``freshness``, the catalog's defaults
    when None), as the scan reported them."""
    scan = store.load_scan(reference)
    record = scan.record
    items = list(store.evidence_of(scan))
    observations = (
        *scope_drift(items),
        *stale_evidence(items, freshness or DEFAULT_LIMITS, record.started_at),
    )
    rules_by_control: Mapping[str, tuple[str, ...]] = {c.id: c.rules for c in record.controls}
    drift = None if scan.previous is None else drift_between(store, scan.previous, scan.digest)
    return build_result(
        record.findings,
        rules_by_control,
        now=record.started_at,
        ruleset_digest=record.rule_pack_digest,
        extra={
            "organization": organization,
            "scan": {"id": record.scan_id, "manifest": scan.digest, "store": store.location},
            "collection": _collection(scan, items),
            "drift": drift,
            "observations": [observation.to_dict() for observation in observations],
        },
    )


def drift_between(store: Store, old: str, new: str) -> dict[str, Any]:
    """The drift between two recorded scans (``compare(...).to_dict()``), from the store's index: neither
    scan's findings are read, and only what changed is held."""
    before, after = store.load_scan(old, findings=False), store.load_scan(new, findings=False)
    pairs, unchanged = store.drift_pairs(before.seq, after.seq)
    return compare_indexed(
        pairs, unchanged, old_controls=before.record.controls, new_controls=after.record.controls
    )


def _collection(scan: StoredScan, evidence: list[Evidence]) -> dict[str, Any]:
    record = scan.record
    kinds: dict[str, set[str]] = {}
    errors: dict[str, str] = {}
    for status in record.collection:
        kinds.setdefault(status.collector, set()).add(status.kind)
        if status.error is not None and not status.gap:
            errors.setdefault(status.collector, status.error)
    items: dict[str, int] = {}
    for item in evidence:
        name = item.collector.split(" ")[0]
        items[name] = items.get(name, 0) + 1
    return {
        "runs": [
            {
                "collector": name,
                "version": record.collector_versions.get(name, ""),
                "kinds": sorted(kinds[name]),
                "items": items.get(name, 0),
                "seconds": 0,
                "error": errors.get(name),
            }
            for name in sorted(kinds)
        ],
        "not_collected": {k: v for k, v in sorted(record.collected_by_kind().items()) if v},
        "gaps": {kind: list(reasons) for kind, reasons in record.gaps_by_kind().items()},
        "problems": [],
        "redactions": 0,
    }
