"""``annexa evaluate`` over several processes (``--jobs``): the bundle read in parts, the rules shared out.

Reading: the bundle is split at line starts into one byte range per process
(:func:`annexa.model.evidence.bundle_ranges`). Each forked child reads its range as the parent reads the
first, with the command's preparer (upgrade, schema check, id, the fields the rules read), and hands its
items back pickled as rows of their fields (values shared within a part stay shared). The parts are
joined in file order (:func:`~annexa.model.evidence.join_bundle_parts`), so the items, their order, the
errors and the schema warnings are those of one reading.

Evaluation: the evidence is loaded (by kind, sorted), the rules' code compiled and their join indexes
built once, before forking, so every process shares them. The tasks (the observations, then the rules
reading the most items first) are dealt from a pipe that each process reads one task number at a time, so
whichever finishes first takes the next. Each process gives its rules' findings the configuration's
policy and spills them as the result writer encodes them (:class:`~annexa.app.spill.Spill`), and hands
back what the summary counts (a stand-in per rule, status, waiver and weight, as the streamed evaluation
keeps). The result is written from the spills in the in-memory order: the same bytes as one process
writes (tests/engine/test_forked.py).
"""

from __future__ import annotations

import gc
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from annexa.app.spill import Spill, Spills, StandInKey, in_memory_order, stand_ins_of
from annexa.app.streaming import Policy, Streamed
from annexa.app.workers import Forked
from annexa.contract.freshness import FreshnessLimits, stale_evidence
from annexa.lang.evaluator import Loaded, load, ready, rule_findings
from annexa.model.evidence import (
    Bundle,
    BundlePart,
    Evidence,
    bundle_ranges,
    join_bundle_parts,
    read_bundle_part,
)
from annexa.model.observations import Observation, scope_drift

if TYPE_CHECKING:
    from annexa.lang.ruleset import CompiledRule, RuleSet
    from annexa.model.findings import Finding


class Preparer(Protocol):
    """What a reader applies to each item as it is read; ``invalid`` gathers the schema check's warnings."""

    invalid: list[str]

    def __call__(self, item: Evidence) -> Evidence: ...


def read_forked(path: Path, prepare: Preparer, jobs: int) -> Bundle:
    """The bundle at ``path`` as ``read_bundle(path, prepare)`` gives it, read by ``jobs`` processes
    (fewer for a bundle of few lines); ``prepare.invalid`` gets every part's warnings, in file order."""
    ranges = bundle_ranges(path, jobs)
    paused = gc.isenabled()
    gc.disable()  # the parts handed back are millions of long-lived objects and no cycle, as read_bundle
    children = [Forked(partial(_read_range, path, prepare, start, end)) for start, end in ranges[1:]]
    try:
        parts = [read_bundle_part(path, prepare, *ranges[0])]
        if parts[0].error is None:
            for child in children:
                part, invalid = child.result()
                parts.append(part)
                prepare.invalid.extend(invalid)
        return join_bundle_parts(path, parts)
    finally:
        for child in children:
            child.cancel()
        if paused:
            gc.enable()


def _read_range(path: Path, prepare: Preparer, start: int, end: int | None) -> tuple[BundlePart, list[str]]:
    part = read_bundle_part(path, prepare, start, end)
    return part, prepare.invalid


_TASK = struct.Struct("<I")
_PIPE_TASKS = 16_000  # task numbers that fit a pipe's smallest buffer (64 KiB) before any is read


@dataclass(frozen=True, slots=True)
class _Share:
    """What one process evaluated: each of its rules' stand-ins, where its spill holds their findings,
    and the observations when it took them."""

    stand_ins: dict[str, list[Finding]]
    spans: dict[str, tuple[int, int]]
    observations: tuple[Observation, ...] | None


def evaluate_forked(
    ruleset: RuleSet,
    evidence: Sequence[Evidence],
    *,
    now: datetime,
    collected: Mapping[str, str | None] | None,
    gaps: Mapping[str, Sequence[str]] | None,
    limits: FreshnessLimits,
    policy: Policy | None,
    pretty: bool,
    jobs: int,
    invalid: list[str],
) -> Streamed:
    """Evaluate ``ruleset`` over ``evidence`` in ``jobs`` processes (module doc): what
    :func:`annexa.app.streaming.evaluate_streamed` gives, its findings spilled, for items held in memory.
    ``invalid`` (the reading's warnings) is passed through; the observations are computed here."""
    loaded = load(evidence, ruleset.kinds_read)
    ready(loaded, ruleset.rules)
    kinds = ruleset.kinds_read
    size = {kind: len(loaded.items[kind]) + len(loaded.defective.get(kind, ())) for kind in kinds}
    if collected is None:  # as evaluate: every kind holding an item counts as collected
        collected = {kind: None for kind in kinds if size[kind]}
    order = in_memory_order(ruleset)
    position = {rule_id: number for number, rule_id in enumerate(order)}
    rules = sorted(
        ruleset.rules, key=lambda rule: (-sum(size[kind] for kind in rule.kinds), position[rule.id])
    )
    per_task = -(-len(rules) // _PIPE_TASKS) or 1  # rules per task: one, unless thousands
    tasks_count = 1 + -(-len(rules) // per_task)  # the observations, then the runs of rules
    work = partial(
        _evaluate_share,
        rules=rules,
        per_task=per_task,
        evidence=evidence,
        loaded=loaded,
        now=now,
        collected=collected,
        gaps=gaps or {},
        limits=limits,
        policy=policy,
    )
    spills = [Spill(pretty=pretty) for _ in range(min(jobs, tasks_count))]  # no process without a task
    tasks, dealer = os.pipe()
    children: list[Forked[_Share]] = []
    try:
        # Every task number is in the pipe before any process reads it, and each read takes one whole
        # number (4 bytes, well under the pipe's atomic size), so no two processes take the same task.
        # Task 0 is the observations; task n the n-th run of `per_task` rules (one, unless thousands).
        with os.fdopen(dealer, "wb", closefd=True) as deal:
            deal.write(b"".join(map(_TASK.pack, range(tasks_count))))
        children = [Forked(partial(work, tasks=tasks, spill=spill)) for spill in spills[1:]]
        shares = [work(tasks=tasks, spill=spills[0])]
        for child, spill in zip(children, spills[1:], strict=True):
            share = child.result()
            spill.adopt(share.spans)
            shares.append(share)
    except BaseException:
        for spill in spills:
            spill.close()
        raise
    finally:
        for child in children:
            child.cancel()
        os.close(tasks)
    stand_ins = {rule_id: found for share in shares for rule_id, found in share.stand_ins.items()}
    observations = next(share.observations for share in shares if share.observations is not None)
    findings = tuple(finding for rule_id in order for finding in stand_ins.get(rule_id, ()))
    return Streamed(findings, Spills(spills), invalid, observations)


def _evaluate_share(
    *,
    tasks: int,
    spill: Spill,
    rules: list[CompiledRule],
    per_task: int,
    evidence: Sequence[Evidence],
    loaded: Loaded,
    now: datetime,
    collected: Mapping[str, str | None],
    gaps: Mapping[str, Sequence[str]],
    limits: FreshnessLimits,
    policy: Policy | None,
) -> _Share:
    """The tasks this process takes from the pipe ``tasks`` until it is empty."""
    stand_ins: dict[str, list[Finding]] = {}
    kept: dict[StandInKey, Finding] = {}
    observations: tuple[Observation, ...] | None = None
    # The rules' garbage is findings and witnesses that live on, and no cycle (see evaluator.evaluate).
    paused = gc.isenabled()
    gc.disable()
    try:
        while len(record := os.read(tasks, _TASK.size)) == _TASK.size:
            (number,) = _TASK.unpack(record)
            if number == 0:
                observations = (*scope_drift(evidence), *stale_evidence(evidence, limits, now))
                continue
            for rule in rules[(number - 1) * per_task : number * per_task]:
                found = rule_findings(rule, loaded, now=now, collected=collected, gaps=gaps)
                findings = policy(tuple(found)) if policy is not None else found
                spill.add(rule.id, findings)
                stand_ins[rule.id] = stand_ins_of(findings, kept)
        spill.flush()
    finally:
        if paused:
            gc.enable()
    return _Share(stand_ins, spill.spans(), observations)
