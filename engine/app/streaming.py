"""Evaluation that streams: an evidence bundle evaluated a few kinds at a time, never held whole in memory.

The bundle is read once for where each kind's items lie (:class:`annexa.model.evidence.BundleIndex`).
The rules are then taken in groups of those reading the same kinds; a group's kinds are read from the
bundle (each kind once: it stays loaded while a later group still reads it, and is dropped after the last),
its rules evaluated by the same :func:`annexa.lang.language.evaluate` over just those items, with the
bundle's ``collected`` and ``gaps`` for every kind; each loaded item keeps only the data fields some rule
reads (what a scan's collectors are asked for) and the id of the whole item. The findings are put back
in the order the in-memory evaluation gives (rules by control and id, each rule's findings by subject), so
the result, its digest and the written file are the same to the byte. Memory is bounded by the kinds loaded
at once, not the bundle.

The findings are not held either: each rule's are evaluated on their own (the evaluator's loop, a rule at a
time, over items sorted and join indexes built once per group), given the configuration's policy, and
written to a temporary file (:class:`Spill`) in the form the result writer gives them, then read back in
the in-memory order while the result is written. What the summary and the roll-up need of them is kept as
one stand-in finding per rule, status, waiver and weight (a reference per finding). The loaded items hold
each repeated string, list and mapping once (:class:`Compact`).

What the result needs of every item (the schema check's warnings, scope drift, stale evidence) is
computed as each item passes; the kinds no rule reads are read once for it at the end.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from annexa.app.compact import Compact
from annexa.app.spill import Spill, Spilled, StandInKey, in_memory_order, stand_ins_of
from annexa.contract.freshness import DATE_FIELDS, FreshnessLimits, stale_evidence
from annexa.contract.upgrade import upgraded
from annexa.lang.evaluator import load, ready, rule_findings
from annexa.model.evidence import Evidence
from annexa.model.findings import Finding
from annexa.model.observations import SCOPE_KIND, Observation, scope_drift

if TYPE_CHECKING:
    from annexa.contract.kinds import KindRegistry
    from annexa.lang.ruleset import CompiledRule, RuleSet
    from annexa.model.evidence import BundleIndex

Policy = Callable[[tuple[Finding, ...]], tuple[Finding, ...]]


@dataclass(frozen=True, slots=True)
class Streamed:
    """What :func:`evaluate_streamed` found: a stand-in for each finding in the in-memory order (a real
    finding of the same rule, status, waiver and weight: what the summary and roll-up count), the findings
    themselves spilled (:class:`Spill`), the schema check's warnings in bundle order, and the observations
    over every item (scope drift, then stale evidence)."""

    findings: tuple[Finding, ...]
    spill: Spilled
    invalid: list[str]
    observations: tuple[Observation, ...]


def rule_groups(
    ruleset: RuleSet, counts: Mapping[str, int]
) -> list[tuple[frozenset[str], list[CompiledRule]]]:
    """The rules grouped by the kinds they read, in an order that keeps few items loaded at once.

    Greedy: next, the group whose kinds added to those still loaded hold the fewest items (``counts``: items
    per kind), ties broken by its kinds' names, so the order is the same on every run."""
    grouped: dict[frozenset[str], list[CompiledRule]] = {}
    for rule in ruleset.rules:
        grouped.setdefault(rule.kinds, []).append(rule)
    remaining = sorted(grouped, key=sorted)
    order: list[tuple[frozenset[str], list[CompiledRule]]] = []
    loaded: set[str] = set()
    while remaining:
        chosen = min(
            remaining, key=lambda kinds: (sum(counts.get(kind, 0) for kind in loaded | kinds), sorted(kinds))
        )
        remaining.remove(chosen)
        order.append((chosen, grouped[chosen]))
        loaded = (loaded | chosen) & {kind for kinds in remaining for kind in kinds}
    return order


def batched(
    groups: list[tuple[frozenset[str], list[CompiledRule]]], counts: Mapping[str, int]
) -> list[tuple[frozenset[str], list[CompiledRule]]]:
    """Consecutive groups evaluated together for as long as no kind holding items (``counts``) could be
    dropped between them: the same items loaded at the peak, but the items of a kind sorted and its join
    indexes built once."""
    found: list[tuple[frozenset[str], list[CompiledRule]]] = []
    kinds: set[str] = set()
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
    ruleset: RuleSet,
    kinds: KindRegistry,
    *,
    now: datetime,
    limits: FreshnessLimits,
    policy: Policy | None = None,
    pretty: bool = False,
) -> Streamed:
    """Evaluate ``ruleset`` over the bundle ``index`` describes, a group of rules at a time (module doc).

    ``policy`` (the configuration's exceptions and applicability) is given each rule's findings; the
    spilled findings are encoded as the JSON writer encodes them, indented with ``pretty``."""
    counts = {kind: len(offsets) for kind, offsets in index.offsets.items()}
    # Which kinds count as collected: the header's, else (as evaluate does) every kind holding an item.
    collected = index.collected if index.collected is not None else dict.fromkeys(index.offsets)
    gaps = index.gaps
    invalid: list[tuple[int, str]] = []
    declared = {
        str(item.data.get("id")) for item in _checked(index, SCOPE_KIND, kinds, []) if item.defect is None
    }
    watch = _Watch(declared, limits, now)
    loaded: dict[str, list[Evidence]] = {}
    spill = Spill(pretty=pretty)
    stand_ins: dict[str, list[Finding]] = {}
    kept: dict[StandInKey, Finding] = {}
    groups = batched(rule_groups(ruleset, counts), counts)
    read_fields = ruleset.fields_read
    compact = Compact()
    for position, (group_kinds, rules) in enumerate(groups):
        for kind in sorted(group_kinds - loaded.keys()):
            loaded[kind] = _loaded(
                _projected(watch.seen(_checked(index, kind, kinds, invalid)), read_fields.get(kind), compact)
            )
        evidence = [item for kind in sorted(group_kinds) for item in loaded[kind]]
        for rule, found in _findings_by_rule(rules, evidence, now=now, collected=collected, gaps=gaps):
            findings = policy(tuple(found)) if policy is not None else found
            del found
            spill.add(rule.id, findings)
            stand_ins[rule.id] = stand_ins_of(findings, kept)
            del findings
        del evidence
        later = {kind for kinds_, _ in groups[position + 1 :] for kind in kinds_}
        for kind in [kind for kind in loaded if kind not in later]:
            del loaded[kind]
    # The kinds no rule reads, for the warnings and the observations alone.
    read = {kind for group_kinds, _ in groups for kind in group_kinds}
    for kind in index.kinds:
        if kind not in read:
            for _ in watch.seen(_checked(index, kind, kinds, invalid)):
                pass
    findings = tuple(
        finding for rule_id in in_memory_order(ruleset) for finding in stand_ins.get(rule_id, ())
    )
    invalid.sort(key=lambda pair: pair[0])
    return Streamed(findings, spill, [problem for _, problem in invalid], watch.observations())


def _findings_by_rule(
    rules: Sequence[CompiledRule],
    evidence: Iterable[Evidence],
    *,
    now: datetime,
    collected: Mapping[str, str | None],
    gaps: Mapping[str, Sequence[str]],
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
        loaded = load(evidence, {kind for rule in rules for kind in rule.kinds})
        # What lives as long as the group (rule code, join indexes) made before any finding: made between
        # them, it would pin the memory the findings of each rule leave free (at 1M items, hundreds of MB).
        ready(loaded, rules)
        for rule in rules:
            yield rule, rule_findings(rule, loaded, now=now, collected=collected, gaps=gaps)
    finally:
        gc.set_threshold(*thresholds)
        if freeze:
            gc.unfreeze()


def _projected(
    items: Iterable[Evidence], fields: frozenset[str] | None, compact: Compact
) -> Iterator[Evidence]:
    """Each sound item with only the top-level data fields some rule reads (``RuleSet.fields_read``, what
    a scan's collectors are asked for, so the rules judge them the same), keeping the id of the whole item
    (findings cite what the bundle holds), its values shared with equal ones already loaded (``compact``).
    ``fields`` None: some rule uses the item whole; kept as it is."""
    names = tuple(sorted(fields)) if fields is not None else ()
    for item in items:
        if fields is None or item.defect is not None:
            yield item
            continue
        whole = item.id
        kept = Evidence(
            kind=compact.text(item.kind),
            source=item.source,
            scope=compact.mapping(item.scope),
            collector=compact.text(item.collector),
            collected_at=compact.moment(item.collected_at),
            data=compact.data(item.data, names),
        )
        object.__setattr__(kept, "_id", whole)
        kept.ref()  # made with the item, not between the findings that cite it (see _findings_by_rule)
        yield kept


def _loaded(items: Iterable[Evidence]) -> list[Evidence]:
    # Building the items makes millions of containers and no cycle: the collector is paused (read_bundle).
    paused = gc.isenabled()
    gc.disable()
    try:
        return list(items)
    finally:
        if paused:
            gc.enable()


def _checked(
    index: BundleIndex, kind: str, kinds: KindRegistry, invalid: list[tuple[int, str]]
) -> Iterator[Evidence]:
    """The items of ``kind`` as the command's schema check leaves them (evaluate.py ``_validated``): read in
    today's shape, those breaking their kind's schema made defective, each problem added to ``invalid``
    with its line number."""
    known = kind in kinds
    for number, raw in index.items_of(kind):
        item = upgraded(raw)
        problems = kinds.validate(item) if known and item.defect is None else []
        if problems:
            invalid.append((number, f"{item.kind} {item.source}: {'; '.join(problems)}"))
            item = dataclasses.replace(item, defect=f"data does not match its schema: {'; '.join(problems)}")
        yield item


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
