"""The Annex A control catalog (ids, short titles, paraphrased objectives) shipped with the engine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from annexa.findings import (
    ControlResult,
    ControlStatus,
    Finding,
    Status,
    control_sort_key,
    effective_status,
    rollup_status,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Control:
    id: str
    group: str
    title: str
    objective: str
    automation: str
    expected_documents: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    id: str
    title: str
    objective: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    groups: tuple[Group, ...]
    controls: tuple[Control, ...]
    invalid_ids_seen: tuple[str, ...]

    def control(self, control_id: str) -> Control | None:
        return self._index().get(control_id)

    def _index(self) -> Mapping[str, Control]:
        return {control.id: control for control in self.controls}

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(control.id for control in self.controls)

    def group_of(self, control_id: str) -> Group | None:
        control = self.control(control_id)
        return next((g for g in self.groups if control and g.id == control.group), None)


@cache
def load_catalog() -> Catalog:
    text = resources.files("annexa").joinpath("data/annex_a.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    return Catalog(
        groups=tuple(Group(id=g["id"], title=g["title"], objective=g["objective"]) for g in raw["groups"]),
        controls=tuple(
            Control(
                id=c["id"],
                group=c["group"],
                title=c["title"],
                objective=c["objective"],
                automation=c.get("automation") or "manual",
                expected_documents=tuple(c.get("expected_documents") or ()),
            )
            for c in raw["controls"]
        ),
        invalid_ids_seen=tuple(raw.get("invalid_ids_seen_in_the_wild") or ()),
    )


def roll_up(
    findings: Iterable[Finding], rules_by_control: Mapping[str, Iterable[str]], catalog: Catalog | None = None
) -> tuple[ControlResult, ...]:
    """One status per Annex A control from its rules' findings; controls with no rules are not assessed."""
    catalog = catalog or load_catalog()
    by_control: dict[str, list[Finding]] = {}
    for finding in findings:
        by_control.setdefault(finding.control_id, []).append(finding)
    results = []
    for control in catalog.controls:
        mine = by_control.get(control.id, [])
        counts = {status.value: 0 for status in Status}
        counts["waived"] = 0
        for finding in mine:
            counts[finding.status.value] += 1
            if finding.waived:
                counts["waived"] += 1
        status = rollup_status(effective_status(f) for f in mine)
        rules = tuple(sorted(rules_by_control.get(control.id, ())))
        if not mine and rules:
            status = ControlStatus.INCONCLUSIVE
        results.append(
            ControlResult(
                id=control.id,
                title=control.title,
                group=control.group,
                status=status,
                rules=rules,
                counts=counts,
            )
        )
    return tuple(sorted(results, key=lambda r: control_sort_key(r.id)))


def group_summary(
    results: Iterable[ControlResult], catalog: Catalog | None = None
) -> list[dict[str, object]]:
    """Per Annex A group: how many controls are in each status, and the share that pass."""
    catalog = catalog or load_catalog()
    summary = []
    result_list = list(results)
    for group in catalog.groups:
        members = [r for r in result_list if r.group == group.id]
        counts = {status.value: 0 for status in ControlStatus}
        for result in members:
            counts[result.status.value] += 1
        assessed = len(members) - counts["not_applicable"] - counts["not_assessed"]
        summary.append(
            {
                "id": group.id,
                "title": group.title,
                "controls": len(members),
                "counts": counts,
                "readiness": round(counts["pass"] / assessed, 3) if assessed else None,
            }
        )
    return summary
