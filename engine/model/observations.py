"""Observations: what a scan noticed that is no verdict on a control but that a reader must see.

Scope drift is the first: evidence that names an AI system outside the declared scope (clause 4.3) is
neither judged as if the system were in scope nor silently ignored. It is reported, so that either the
scope or the evidence gets corrected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from annexa.model.evidence import Evidence, EvidenceRef

SCOPE_KIND = "ai_system"  # the kind of the declared scope (clause 4.3), which the scope collector yields


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    code: str  # "scope_drift", "stale_evidence", "expired_attestation"
    message: str
    evidence: EvidenceRef
    # What decided it, as JSON values (a stale item's age, limit and the date its age is measured from).
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        shape = {"code": self.code, "message": self.message, "evidence": self.evidence.to_dict()}
        if self.details:
            shape["details"] = dict(self.details)
        return shape


# The data fields scope_drift reads: a declared system's id, the systems an item names. A reader that
# keeps only some fields of each item (annexa evaluate --evidence) keeps these.
SCOPE_DRIFT_FIELDS: frozenset[str] = frozenset({"id", "ai_systems", "ai_system"})


def scope_drift(evidence: Iterable[Evidence]) -> tuple[Observation, ...]:
    """Items whose ``ai_systems`` (or ``ai_system``) name a system the declared scope does not list.

    Nothing is reported when no scope was declared: the missing scope is said once, elsewhere.
    """
    items = list(evidence)
    declared = {str(item.data.get("id")) for item in items if item.kind == SCOPE_KIND and item.defect is None}
    if not declared:
        return ()
    found = []
    for item in items:
        if item.kind == SCOPE_KIND or item.defect is not None:
            continue
        named = item.data.get("ai_systems")
        names = [name for name in named if isinstance(name, str)] if isinstance(named, list) else []
        single = item.data.get("ai_system")
        if isinstance(single, str):
            names.append(single)
        outside = sorted({name for name in names if name not in declared})
        if outside:
            found.append(
                Observation(
                    code="scope_drift",
                    message=f"{item.kind} {item.source} names AI system(s) {', '.join(outside)}, outside the "
                    f"declared scope ({', '.join(sorted(declared))}): add them to scope.ai_systems or "
                    "correct the evidence",
                    evidence=item.ref(),
                )
            )
    return tuple(sorted(found, key=lambda o: (o.evidence.source, o.evidence.id)))
