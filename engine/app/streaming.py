"""Evaluation that streams: an evidence bundle evaluated a few kinds at a time, never held whole in memory.

The bundle is read once, for where each kind's items lie (:class:`annexa.model.evidence.BundleIndex`)
and for the items themselves, checked and cut to what is read, kept by kind in a temporary file
(:class:`annexa.app.units.UnitFile`). The rules are then taken in groups of those reading the same kinds;
a group's kinds are loaded from that file (each kind once: it stays loaded while a later group still
reads it, and is dropped after the last), its rules evaluated by the same
:func:`annexa.lang.language.evaluate` over just those items, with the bundle's ``collected`` and ``gaps``
for every kind; each loaded item keeps only the data fields some rule reads (what a scan's collectors are
asked for) or an observation reads, and the id of the whole item. The findings are put back in the order
the in-memory evaluation gives (rules by control and id, each rule's findings by subject), so the result,
its digest and the written file are the same to the byte. Memory is bounded by the kinds loaded at once,
not the bundle.

Documents, most of an organisation's items, are loaded by type. The index files each document under its
type (:meth:`UnitFile.add`; those without a usable type, defective or breaking their schema, under ""),
and a rule whose code visits only documents of some types (``RuleCode.document_types``: every iteration
over documents is narrowed by a leading ``d.type == "..."``) needs only those parts and the part "". A
document of another type is never visited by that code, so leaving it out changes nothing; what a finding
counts of the kind (``N document item(s) collected``) is given whole (``totals``). At 1,000,000 items the
peak fell from 1.4 GB (every document loaded for the per-system rules) to about 0.55 GB.

The findings are not held either: each rule's are evaluated on their own (the evaluator's loop, a rule at a
time, over items sorted and join indexes built once per group), given the configuration's policy, and
written to a temporary file (:class:`Spill`) in the form the result writer gives them, then read back in
the in-memory order while the result is written. What the summary and the roll-up need of them is kept as
one stand-in finding per rule, status, waiver and weight (a reference per finding). The loaded items hold
each repeated string, list and mapping once (:class:`Compact`).

What the result needs of every item (the schema check's warnings, scope drift, stale evidence) is
computed as each item passes (the warnings as it is indexed); the kinds no rule reads are loaded once for
the observations at the end.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from annexa.app.compact import Compact
from annexa.app.spill import Spill, Spilled, StandInKey, in_memory_order, stand_ins_of
from annexa.app.units import Unit, UnitFile
from annexa.contract.fields import DOCUMENT_KIND
from annexa.contract.freshness import DATE_FIELDS, FreshnessLimits, stale_evidence
from annexa.lang.evaluator import load, ready, rule_findings
from annexa.model.evidence import Evidence
from annexa.model.findings import Finding
from annexa.model.observations import SCOPE_KIND, Observation, scope_drift

if TYPE_CHECKING:
    from annexa.lang.ruleset import CompiledRule, RuleSet
    from annexa.model.evidence import BundleIndex

Policy = Callable[[tuple[Finding, ...]], tuple[Finding, ...]]


@dataclass(frozen=True, slots=True)
class Streamed:
    """What :func:`evaluate_streamed` found: a stand-in for each finding in the in-memory order (a real
    finding of the same rule, status, waiver and weight: what the summary and roll-up count), the findings
    themselves spilled (:class:`Spill`; with ``keep``, the findings themselves and the spill empty), the
    schema check's warnings in bundle order, and the observations over every item (scope drift, then stale
    evidence)."""

    findings: tuple[Finding, ...]
    spill: Spilled
    invalid: list[str]
    observations: tuple[Observation, ...]


Groups = list[tuple[frozenset[Unit], list["CompiledRule"]]]


def whole_kinds(rule: CompiledRule) -> frozenset[Unit]:
    return frozenset((kind, "") for kind in rule.kinds)


def rule_groups(
    ruleset: RuleSet,
    counts: Mapping[Unit, int],
    needs: Callable[[CompiledRule], frozenset[Unit]] = whole_kinds,
) -> Groups:
    """The rules grouped by what they read (``needs``: the units a rule needs loaded), in an order that
    keeps few items loaded at once.

    Greedy: next, the group whose units added to those still loaded hold the fewest items (``counts``:
    items per unit), ties broken by its units' names, so the order is the same on every run."""
    grouped: dict[frozenset[Unit], list[CompiledRule]] = {}
    for rule in ruleset.rules:
        grouped.setdefault(needs(rule), []).append(rule)
    remaining = sorted(grouped, key=sorted)
    order: Groups = []
    loaded: set[Unit] = set()
    while remaining:
        chosen = min(
            remaining, key=lambda units: (sum(counts.get(unit, 0) for unit in loaded | units), sorted(units))
        )
        remaining.remove(chosen)
        order.append((chosen, grouped[chosen]))
        loaded = (loaded | chosen) & {unit for units in remaining for unit in units}
    return order


def batched(groups: Groups, counts: Mapping[Unit, int]) -> Groups:
    """Consecutive groups evaluated together for as long as no unit holding items (``counts``) could be
    dropped between them: the same items loaded at the peak, but the items of a kind sorted and its join
    indexes built once."""
    found: Groups = []
    kinds: set[Unit] = set()
    rules: list[CompiledRule] = []
    for position, (group_kinds, group_rules) in enumerate(groups):
        needed = {kind for later, _ in groups[position:] for kind in later}
        if rules and any(counts.get(kind) for kind in kinds - needed):
            found.append((frozenset(kinds), rules))
            kinds, rules = set(), []
        kinds |= group_kinds
        rules = [*rules, *group_rules]
    if rules:
        found.append((frozenset(kinds), rules))
    return found


def evaluate_streamed(
    index: BundleIndex,
    units: UnitFile,
    ruleset: RuleSet,
    *,
    now: datetime,
    limits: FreshnessLimits,
    policy: Policy | None = None,
    pretty: bool = False,
    keep: bool = False,
) -> Streamed:
    """Evaluate ``ruleset`` over the bundle ``index`` describes, whose items ``units`` kept as it was
    indexed (``index_bundle(path, units.add)``), a group of rules at a time (module doc).

    ``policy`` (the configuration's exceptions and applicability) is given each rule's findings; the
    spilled findings are encoded as the JSON writer encodes them, indented with ``pretty``. With ``keep``
    nothing is spilled and :attr:`Streamed.findings` are the findings themselves (what a scan records)."""
    every = _units(index)
    counts = {unit: _count(index, unit) for unit in every}
    # Which kinds count as collected: the header's, else (as evaluate does) every kind holding an item.
    collected = index.collected if index.collected is not None else dict.fromkeys(index.counts)
    gaps = index.gaps
    compact = Compact()
    scope = list(units.items((SCOPE_KIND, ""), compact))
    declared = {str(item.data.get("id")) for item in scope if item.defect is None}
    del scope
    watch = _Watch(declared, limits, now)
    loaded: dict[Unit, list[Evidence]] = {}
    spill = Spill(pretty=pretty)
    stand_ins: dict[str, list[Finding]] = {}
    kept: dict[StandInKey, Finding] = {}
    groups = batched(rule_groups(ruleset, counts, lambda rule: _needs(rule, index)), counts)
    for position, (group_units, rules) in enumerate(groups):
        for unit in sorted(group_units - loaded.keys()):
            loaded[unit] = _loaded(watch.seen(units.items(unit, compact)))
        evidence = [item for unit in sorted(group_units) for item in loaded[unit]]
        totals = _totals(index, group_units, loaded)
        found_by_rule = _findings_by_rule(
            rules, evidence, now=now, collected=collected, gaps=gaps, totals=totals
        )
        for rule, found in found_by_rule:
            findings = policy(tuple(found)) if policy is not None else found
            del found
            if keep:
                stand_ins[rule.id] = list(findings)
            else:
                spill.add(rule.id, findings)
                stand_ins[rule.id] = stand_ins_of(findings, kept)
            del findings
        del evidence
        later = {unit for units_, _ in groups[position + 1 :] for unit in units_}
        for unit in [unit for unit in loaded if unit not in later]:
            del loaded[unit]
    # The kinds (and parts) no rule reads, for the observations alone.
    read = {unit for group_units, _ in groups for unit in group_units}
    for unit in every:
        if unit not in read:
            for _ in watch.seen(units.items(unit, compact)):
                pass
    findings = tuple(
        finding for rule_id in in_memory_order(ruleset) for finding in stand_ins.get(rule_id, ())
    )
    return Streamed(findings, spill, [problem for _, problem in units.invalid], watch.observations())


def _units(index: BundleIndex) -> list[Unit]:
    """What the bundle can be loaded by: each kind whole, or each of its parts."""
    found: list[Unit] = []
    for kind in index.kinds:
        found += [(kind, part) for part in sorted(index.parts[kind])] if _split(index, kind) else [(kind, "")]
    return found


def _split(index: BundleIndex, kind: str) -> bool:
    parts = index.parts.get(kind)
    if parts is None:
        return False
    # Not split either when (against part_of's contract) some of its items are in no part: loaded whole.
    return sum(parts.values()) == index.counts[kind]


def _count(index: BundleIndex, unit: Unit) -> int:
    kind, part = unit
    if _split(index, kind):
        return index.parts[kind].get(part, 0)
    return index.counts.get(kind, 0)


def _needs(rule: CompiledRule, index: BundleIndex) -> frozenset[Unit]:
    """The units ``rule`` needs loaded: its kinds, and of a kind split by type only the parts of the types
    its code can visit (and the part "") when it says which (``RuleCode.document_types``)."""
    needed: set[Unit] = set()
    for kind in rule.kinds:
        if not _split(index, kind):
            needed.add((kind, ""))
            continue
        types = rule.code.document_types if kind == DOCUMENT_KIND else None
        parts = index.parts[kind]
        needed |= {(kind, part) for part in parts if types is None or part == "" or part in types}
        needed.add((kind, ""))
    return frozenset(needed)


def _totals(
    index: BundleIndex, units: frozenset[Unit], loaded: Mapping[Unit, list[Evidence]]
) -> dict[str, int]:
    """How many sound items of each kind loaded only in part there are in the bundle (what a finding
    reports): the items of its typed parts (sound, by ``UnitFile.add``) and the sound ones of part ""."""
    totals: dict[str, int] = {}
    for kind in {kind for kind, _ in units}:
        if not _split(index, kind) or all((kind, part) in units for part in index.parts[kind]):
            continue
        common = loaded.get((kind, ""), [])
        typed = sum(count for part, count in index.parts[kind].items() if part != "")
        totals[kind] = typed + sum(1 for item in common if item.defect is None)
    return totals


def _findings_by_rule(
    rules: Sequence[CompiledRule],
    evidence: Iterable[Evidence],
    *,
    now: datetime,
    collected: Mapping[str, str | None],
    gaps: Mapping[str, Sequence[str]],
    totals: Mapping[str, int] | None = None,
) -> Iterator[tuple[CompiledRule, list[Finding]]]:
    """Each rule's findings as :func:`annexa.lang.evaluator.evaluate` gives them, one rule at a time (it
    returns them all at once, which is what the spill is there to avoid): the items loaded, and the join
    indexes built, once for all of ``rules``; the garbage collector tuned the same way."""
    thresholds = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    gc.set_threshold(max(thresholds[0], 10_000), max(thresholds[1], 10), max(thresholds[2], 10))
    try:
        loaded = load(evidence, {kind for rule in rules for kind in rule.kinds}, totals)
        # What lives as long as the group (rule code, join indexes) made before any finding: made between
        # them, it would pin the memory the findings of each rule leave free (at 1M items, hundreds of MB).
        ready(loaded, rules)
        for rule in rules:
            yield rule, rule_findings(rule, loaded, now=now, collected=collected, gaps=gaps)
    finally:
        gc.set_threshold(*thresholds)
        if freeze:
            gc.unfreeze()


def _loaded(items: Iterable[Evidence]) -> list[Evidence]:
    # Building the items makes millions of containers and no cycle: the collector is paused (read_bundle).
    paused = gc.isenabled()
    gc.disable()
    try:
        return list(items)
    finally:
        if paused:
            gc.enable()


class _Watch:
    """The observations over every item, each seen once: scope drift against the declared systems (found
    first) and stale evidence. Only the items observed are kept; the result is what ``scope_drift`` and
    ``stale_evidence`` give over the whole bundle (both sort what they find)."""

    def __init__(self, declared: set[str], limits: FreshnessLimits, now: datetime) -> None:
        self.declared = declared
        self.limits = limits
        self.now = now
        self.scope: list[Evidence] = []
        self.drifting: list[Evidence] = []
        self.stale: list[Observation] = []

    def seen(self, items: Iterable[Evidence]) -> Iterator[Evidence]:
        limited = self.limits.kinds
        for item in items:
            yield item
            if item.defect is not None:
                continue
            if item.kind == SCOPE_KIND:
                self.scope.append(item)
            elif self.declared and self._drifts(item):
                self.drifting.append(item)
            if item.kind in DATE_FIELDS or item.kind in limited:
                self.stale.extend(stale_evidence((item,), self.limits, self.now))

    def _drifts(self, item: Evidence) -> bool:
        named = item.data.get("ai_systems")
        names = [name for name in named if isinstance(name, str)] if isinstance(named, list) else []
        single = item.data.get("ai_system")
        if isinstance(single, str):
            names.append(single)
        return any(name not in self.declared for name in names)

    def observations(self) -> tuple[Observation, ...]:
        drift = scope_drift([*self.scope, *self.drifting])
        stale = sorted(self.stale, key=lambda o: (o.code, o.evidence.source, o.evidence.id))
        return (*drift, *stale)
