"""The Annex A control catalog (ids, short titles, paraphrased objectives) shipped with the engine.

It also carries the main-body clauses (4 to 10) whose documented information the ``builtin:clauses``
pack checks, reported apart from Annex A, and each control's EU AI Act and NIST AI RMF mappings.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from annexa.files.atomic import atomic_write_bytes
from annexa.model.findings import (
    ControlResult,
    ControlStatus,
    Finding,
    Status,
    control_sort_key,
    effective_status,
    rollup_status,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameworkMapping:
    """One edge of the cross-framework view: a control bears on an item of another framework."""

    framework: str  # "eu-ai-act", "nist-ai-rmf"
    item: str  # "Art. 10", "MEASURE"
    title: str  # the item's title in that framework
    relationship: str  # "supports" or "related"
    source: str  # key of ``mapping_sources``: who says so

    def to_dict(self) -> dict[str, str]:
        return {
            "framework": self.framework,
            "item": self.item,
            "title": self.title,
            "relationship": self.relationship,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceSignal:
    """One piece of evidence the catalog names for a control (``A.2.2-E1``) and how much it weighs:
    primary evidence is needed for a pass; supporting evidence raises confidence, or an observation when
    missing, and is never enough on its own (catalog ``conventions.evidence_weight``)."""

    id: str
    weight: str  # "primary" | "supporting"
    source: str  # documents, aws, mlflow, sagemaker, ...
    passes_when: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Control:
    id: str
    group: str
    title: str
    objective: str
    automation: str
    expected_documents: tuple[str, ...]
    mappings: tuple[FrameworkMapping, ...] = ()
    evidence: tuple[EvidenceSignal, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Clause:
    """A main-body clause (``CL.9.2``) whose documented information a rule pack checks."""

    id: str
    title: str
    expected_documents: tuple[str, ...]


CLAUSE_GROUP = "CL"  # the group of every clause result, so they never mix with Annex A groups


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
    clauses: tuple[Clause, ...] = ()
    frameworks: Mapping[str, str] = field(default_factory=dict)  # framework id -> title
    mapping_sources: Mapping[str, str] = field(default_factory=dict)  # source id -> what it is

    def control(self, control_id: str) -> Control | None:
        return self._index().get(control_id)

    def evidence_signal(self, signal_id: str) -> EvidenceSignal | None:
        """``A.2.2-E1`` -> its entry in the catalog."""
        control = self.control(signal_id.rsplit("-", 1)[0])
        return next((e for e in control.evidence if e.id == signal_id), None) if control else None

    def _index(self) -> Mapping[str, Control]:
        return {control.id: control for control in self.controls}

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(control.id for control in self.controls)

    @property
    def clause_ids(self) -> tuple[str, ...]:
        return tuple(clause.id for clause in self.clauses)

    @property
    def rule_target_ids(self) -> tuple[str, ...]:
        """Every id a rule may name: the Annex A controls, then the main-body clauses."""
        return self.ids + self.clause_ids

    def clause(self, clause_id: str) -> Clause | None:
        return next((clause for clause in self.clauses if clause.id == clause_id), None)

    def expected_document_types(self) -> tuple[str, ...]:
        """Every document type the controls and clauses expect, sorted: what `annexa init` scaffolds."""
        types = {t for c in self.controls for t in c.expected_documents}
        types |= {t for c in self.clauses for t in c.expected_documents}
        return tuple(sorted(types))


_DATA_CACHE: list[Path] = []  # where parsed data files may be kept between runs (see use_cache)


def use_cache(folder: Path) -> None:
    """Keep the parsed data files (this catalogue, the evidence contract) in ``folder`` between runs, as
    pickles named by the SHA-256 of each file's bytes: a command that reads them again needs neither
    YAML's parsing nor even ``import yaml`` (together about a tenth of `annexa rules check`). ``folder``
    must be private to the user (the application's per-user cache), as the parsed rule files' is."""
    _DATA_CACHE[:] = [folder]


def read_data(name: str) -> Any:
    """The YAML document ``data/<name>`` shipped with annexa, parsed (safe loader), or read back from
    :func:`use_cache`'s folder when it was parsed before from the very same bytes."""
    raw = resources.files("annexa").joinpath(f"data/{name}").read_bytes()
    cached: Path | None = None
    if _DATA_CACHE:
        key = hashlib.sha256(b"annexa-data 1\0" + name.encode() + b"\0" + raw).hexdigest()
        cached = _DATA_CACHE[0] / f"data-{key}.pickle"
        with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return pickle.loads(cached.read_bytes())  # the user's own private cache, see use_cache
    import yaml  # only when the cache cannot answer

    text = raw.decode("utf-8")
    if hasattr(yaml, "CSafeLoader"):  # noqa: SIM108  # libyaml's safe loader: a tenth of the time
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    else:
        data = yaml.safe_load(text)
    if cached is not None:
        with contextlib.suppress(OSError, pickle.PicklingError):
            atomic_write_bytes(cached, pickle.dumps(data))
    return data


def _mappings(raw: Mapping[str, Any], control_id: str) -> tuple[FrameworkMapping, ...]:
    items = {name: framework["items"] for name, framework in raw["frameworks"].items()}
    edges = []
    for framework, pairs in sorted((raw.get("mappings") or {}).get(control_id, {}).items()):
        for item, relationship in pairs:
            edges.append(
                FrameworkMapping(
                    framework=framework,
                    item=item,
                    title=items[framework][item],
                    relationship=relationship,
                    source="annexa-editorial",
                )
            )
    return tuple(edges)


@cache
def load_catalog() -> Catalog:
    raw = read_data("annex_a.yaml")
    clauses = read_data("clauses.yaml")
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
                mappings=_mappings(raw, c["id"]),
                evidence=tuple(EvidenceSignal(**signal) for signal in c.get("evidence") or ()),
            )
            for c in raw["controls"]
        ),
        invalid_ids_seen=tuple(raw.get("invalid_ids_seen_in_the_wild") or ()),
        clauses=tuple(
            Clause(id=c["id"], title=c["title"], expected_documents=tuple(c["expected_documents"]))
            for c in clauses["clauses"]
        ),
        frameworks={name: framework["title"] for name, framework in raw["frameworks"].items()},
        mapping_sources=dict(raw["mapping_sources"]),
    )


def roll_up(
    findings: Iterable[Finding], rules_by_control: Mapping[str, Iterable[str]], catalog: Catalog | None = None
) -> tuple[ControlResult, ...]:
    """One status per Annex A control from its rules' findings; controls with no rules are not assessed."""
    catalog = catalog or load_catalog()
    targets = [(control.id, control.title, control.group) for control in catalog.controls]
    return _roll_up(targets, findings, rules_by_control)


def roll_up_clauses(
    findings: Iterable[Finding], rules_by_control: Mapping[str, Iterable[str]], catalog: Catalog | None = None
) -> tuple[ControlResult, ...]:
    """One status per main-body clause, kept apart from Annex A (empty when no clause rule was selected)."""
    catalog = catalog or load_catalog()
    if not any(clause.id in rules_by_control for clause in catalog.clauses):
        return ()
    targets = [(clause.id, clause.title, CLAUSE_GROUP) for clause in catalog.clauses]
    return _roll_up(targets, findings, rules_by_control)


def _roll_up(
    targets: Iterable[tuple[str, str, str]],
    findings: Iterable[Finding],
    rules_by_control: Mapping[str, Iterable[str]],
) -> tuple[ControlResult, ...]:
    by_control: dict[str, list[Finding]] = {}
    for finding in findings:
        by_control.setdefault(finding.control_id, []).append(finding)
    results = []
    for target_id, title, group in targets:
        mine = by_control.get(target_id, [])
        counts = {status.value: 0 for status in Status}
        counts["waived"] = 0
        counts["observations"] = 0
        for finding in mine:
            counts[finding.status.value] += 1
            if finding.waived:
                counts["waived"] += 1
            if finding.observation:
                counts["observations"] += 1
        # Supporting evidence never decides a control: its failures are observations, and it is never
        # enough on its own (a control with supporting findings only is inconclusive).
        primary = [f for f in mine if f.weight != "supporting"]
        status = rollup_status(effective_status(f) for f in primary)
        rules = tuple(sorted(rules_by_control.get(target_id, ())))
        if not primary and (mine or rules):
            # Declared not applicable stays so (apply_policy marks every finding); anything else rests on
            # supporting evidence only, which is never enough.
            declared = bool(mine) and all(f.status is Status.NOT_APPLICABLE for f in mine)
            status = ControlStatus.NOT_APPLICABLE if declared else ControlStatus.INCONCLUSIVE
        results.append(
            ControlResult(id=target_id, title=title, group=group, status=status, rules=rules, counts=counts)
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
