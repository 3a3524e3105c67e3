"""Which rules cover each Annex A control, and how automated that coverage is.

The automation level is derived from the evidence kinds a control's rules read, never hand-kept: a
control is ``machine`` when any of its rules reads machine evidence (AWS, MLflow, model cards...),
``documents`` when its rules read governance documents (and perhaps attestations), ``attestation``
when only a person's signed statement decides it, and ``none`` when no selected rule covers it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from annexa.contract.catalog import Catalog, Control, FrameworkMapping, load_catalog
from annexa.lang.ruleset import CompiledRule
from annexa.model.findings import ControlResult

DOCUMENT_KIND = "document"
ATTESTATION_KIND = "attestation"


class Automation(enum.Enum):
    MACHINE = "machine"
    DOCUMENTS = "documents"
    ATTESTATION = "attestation"
    NONE = "none"  # no selected rule covers the control


def automation_level(kinds: Iterable[str]) -> Automation:
    """The most automated evidence any of a control's rules reads decides its level."""
    kind_set = set(kinds)
    if kind_set - {DOCUMENT_KIND, ATTESTATION_KIND}:
        return Automation.MACHINE
    if DOCUMENT_KIND in kind_set:
        return Automation.DOCUMENTS
    if ATTESTATION_KIND in kind_set:
        return Automation.ATTESTATION
    return Automation.NONE


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlCoverage:
    id: str
    group: str
    title: str
    automation: Automation
    rules: tuple[str, ...]
    kinds: tuple[str, ...]  # every evidence kind the control's rules read
    mappings: tuple[FrameworkMapping, ...]
    status: str | None = None  # the latest scan's control status, if a scan is known

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group": self.group,
            "title": self.title,
            "automation": self.automation.value,
            "rules": list(self.rules),
            "kinds": list(self.kinds),
            "mappings": [mapping.to_dict() for mapping in self.mappings],
            "status": self.status,
        }


def coverage(
    rules: Iterable[CompiledRule],
    *,
    statuses: Mapping[str, ControlResult] | None = None,
    catalog: Catalog | None = None,
) -> tuple[ControlCoverage, ...]:
    """One row per Annex A control, in catalog order, with its rules, level and (if known) status."""
    catalog = catalog or load_catalog()
    by_control: dict[str, list[CompiledRule]] = {}
    for rule in rules:
        by_control.setdefault(rule.control_id, []).append(rule)
    return tuple(_row(control, by_control.get(control.id, []), statuses) for control in catalog.controls)


def _row(
    control: Control, rules: list[CompiledRule], statuses: Mapping[str, ControlResult] | None
) -> ControlCoverage:
    kinds = sorted({kind for rule in rules for kind in rule.kinds})
    result = (statuses or {}).get(control.id)
    return ControlCoverage(
        id=control.id,
        group=control.group,
        title=control.title,
        automation=automation_level(kinds),
        rules=tuple(sorted(rule.id for rule in rules)),
        kinds=tuple(kinds),
        mappings=control.mappings,
        status=None if result is None else result.status.value,
    )
