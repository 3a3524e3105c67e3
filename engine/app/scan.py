"""A scan: compile the rules, plan and run the collectors concurrently, store, evaluate, record.

This is the application layer that wires plugins, the language core and the store together. One failing
collector never sinks the scan: its kinds are marked as not collected, with its error, and every rule that
reads them becomes inconclusive.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from annexa.app.progress import ScanProgress
from annexa.app.wiring import compile_pack, kind_registry
from annexa.lang.ruleset import RuleSet
from annexa.model.evidence import Bundle, Evidence, canonical_json
from annexa.model.findings import Finding, Status, Waiver, sort_findings
from annexa.model.observations import (
    SCOPE_KIND,  # the declared AI systems, which per-system rules iterate over
)
from annexa.store.redaction import redact_all

if TYPE_CHECKING:
    from annexa.app.executors import CollectionExecutor, CollectionTask, TaskResult
    from annexa.plugins.collection import CollectionProblem
    from annexa.plugins.config import Config
    from annexa.plugins.host import PluginHost
    from annexa.plugins.types import CollectorSpec
    from annexa.store import CollectionStatus

MAX_COLLECTOR_WORKERS = 8

UNDECLARED_SCOPE = (
    "no AI system scope is declared: list the AI systems in scope under `scope.ai_systems` in "
    "annexa.yaml, or name an authoritative inventory file with `scope.inventory` (clause 4.3)"
)

Progress = ScanProgress  # engine/app/progress.py: plain lines, a live display, or None for quiet


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectorRun:
    collector: str
    version: str
    kinds: tuple[str, ...]
    items: int
    seconds: float
    error: str | None
    figures: Mapping[str, int] = dataclasses.field(default_factory=dict)  # see CollectRequest.report_figure


@dataclass(frozen=True, slots=True, kw_only=True)
class Collection:
    """What collection produced: redacted evidence, per-kind status, runs and problems."""

    evidence: tuple[Evidence, ...]
    collected: Mapping[str, str | None]  # kind -> None, or why it was not collected
    runs: tuple[CollectorRun, ...]
    problems: tuple[CollectionProblem, ...]
    redactions: int
    schemas: Mapping[str, Mapping[str, Any]]
    gaps: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # kind -> what is missing

    def statuses(self) -> tuple[CollectionStatus, ...]:
        """What the scan's manifest records: each run's kinds, then each gap with the part it left out."""
        from annexa.store import CollectionStatus

        by_run = (
            CollectionStatus(collector=run.collector, scope={}, kind=kind, error=self.collected.get(kind))
            for run in self.runs
            for kind in run.kinds
        )
        gaps = (
            CollectionStatus(
                collector=problem.collector,
                scope={"part": problem.source or ""},
                kind=kind,
                error=problem.message,
                gap=True,
            )
            for problem in self.problems
            if problem.leaves_gap
            for kind in problem.kinds
        )
        return (*by_run, *gaps)

    def bundle(self) -> Bundle:
        return Bundle(
            evidence=self.evidence, collected=dict(self.collected), schemas=dict(self.schemas), gaps=self.gaps
        )


def config_digest(config: Config) -> str:
    return hashlib.sha256(canonical_json(config.raw)).hexdigest()


def plan(ruleset: RuleSet, config: Config, specs: Mapping[str, CollectorSpec]) -> dict[str, frozenset[str]]:
    """Configured collectors that produce a kind some rule reads -> the kinds to ask each for."""
    needed = ruleset.kinds_read
    planned = {}
    for name in sorted(config.collectors):
        spec = specs.get(name)
        if spec is None:
            continue
        kinds = frozenset(spec.kinds) & needed
        if kinds:
            planned[name] = kinds
    return planned


def collection_tasks(
    config: Config,
    specs: Mapping[str, CollectorSpec],
    planned: Mapping[str, frozenset[str]],
    *,
    now: datetime,
    fields: Mapping[str, frozenset[str] | None] | None = None,
) -> tuple[CollectionTask, ...]:
    """One task per (planned collector, scope), as plain data an executor can ship to another process.

    A collector whose spec declares ``scopes`` is split into its independent parts; any other is one task.
    """
    from annexa.app.executors import CollectionTask

    tasks = []
    for name in planned:
        spec = specs[name]
        whole = config.collectors.get(name) or {}
        for scope, part in _scopes(spec, whole):
            tasks.append(
                CollectionTask(
                    collector=name,
                    version=spec.version,
                    scope=scope,
                    config=part,
                    kinds=planned[name],
                    now=now,
                    base_path=config.base_path,
                    fields={kind: fields.get(kind) for kind in planned[name]} if fields is not None else {},
                )
            )
    return tuple(tasks)


def _scopes(spec: CollectorSpec, whole: Mapping[str, Any]) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    if spec.scopes is None:
        return (("", whole),)
    try:
        parts = tuple((str(scope), part) for scope, part in spec.scopes(whole))
    except Exception:  # a broken splitter costs only the parallelism: collect the configuration whole
        return (("", whole),)
    return parts or (("", whole),)


def collect(
    config: Config,
    host: PluginHost,
    planned: Mapping[str, frozenset[str]],
    *,
    now: datetime,
    progress: Progress | None = None,
    fields: Mapping[str, frozenset[str] | None] | None = None,
    executor: CollectionExecutor | None = None,
    on_evidence: Callable[[tuple[Evidence, ...]], object] | None = None,
    keep: bool = True,
) -> Collection:
    """Run the planned collectors concurrently; ``fields`` (kind -> fields read, see
    :attr:`RuleSet.fields_read`) lets them skip what no rule reads, and None asks for everything.

    ``executor`` says where the collectors run (default: a local thread pool, see
    :mod:`annexa.app.executors`); every executor gives the same evidence for the same configuration.
    ``on_evidence`` receives each task's evidence, redacted, as soon as the task is done, so that a store
    writes it while the rest is still being collected. Without ``keep`` the evidence is handed to it alone
    (:attr:`Collection.evidence` is empty): what lets a scan not hold it.
    """
    if not keep and on_evidence is None:
        raise ValueError("collect(keep=False) needs on_evidence: the evidence would be lost")
    from annexa.app.executors import LocalExecutor, merge_figures
    from annexa.plugins.collection import CollectionProblem

    specs = host.collectors()
    tasks = collection_tasks(config, specs, planned, now=now, fields=fields)
    evidence: list[Evidence] = []
    collected: dict[str, str | None] = {}
    runs: list[CollectorRun] = []
    problems: list[CollectionProblem] = []
    remaining = Counter(task.collector for task in tasks)
    done: dict[str, list[TaskResult]] = {}
    handed_redactions = 0  # of the evidence not kept, counted as it is handed over
    items: Counter[str] = Counter()  # collector -> items its tasks gave
    running = (executor or LocalExecutor(MAX_COLLECTOR_WORKERS)).run(tasks, host)
    for result in _reported(running, remaining, progress):
        name, outcome = result.task.collector, result.outcome
        if keep:
            evidence.extend(outcome.evidence)
        if on_evidence is not None and outcome.evidence:
            handed, replaced = redact_all(outcome.evidence)
            on_evidence(handed)
            handed_redactions += 0 if keep else replaced
        problems.extend(outcome.problems)
        items[name] += len(outcome.evidence)
        # Kept until the collector's last task is in, without its evidence: held above (keep) or handed over.
        done.setdefault(name, []).append(
            dataclasses.replace(result, outcome=dataclasses.replace(outcome, evidence=()))
        )
        remaining[name] -= 1
        if remaining[name]:
            continue
        # The collector's last scope is in: one run per collector, whatever the number of scopes.
        results = done.pop(name)
        for kind in planned[name]:
            failed = [r for r in results if kind in r.outcome.failed_kinds]
            if failed and len(failed) == len(results):
                collected[kind] = f"{name}: {failed[0].outcome.failed_kinds[kind]}"
                continue
            collected.setdefault(kind, None)
            # Other scopes delivered this kind: the failed ones leave a gap in it (unless they reported
            # their own), so that no rule passes on the partial view while the scopes that worked count.
            problems.extend(
                CollectionProblem(
                    code="collection_gap",
                    collector=name,
                    source=r.task.scope or None,
                    message=r.outcome.failed_kinds[kind],
                    kinds=(kind,),
                )
                for r in failed
                if not any(p.leaves_gap and kind in p.kinds for p in r.outcome.problems)
            )
        failures = {error for r in results for error in r.outcome.failed_kinds.values()}
        error_text = "; ".join(sorted(failures)) or None
        run = CollectorRun(
            collector=name,
            version=specs[name].version,
            kinds=tuple(sorted(planned[name])),
            items=items[name],
            seconds=sum(r.seconds for r in results),
            error=error_text,
            figures=merge_figures(r.outcome.figures for r in results),
        )
        runs.append(run)
        if progress:
            progress.finished(name, seconds=run.seconds, items=run.items, error=error_text)
    if fields is not None and SCOPE_KIND in fields and not _declares_scope(config):
        # The rules read the declared scope (`fields` holds every kind they read) and there is none: their
        # per-system verdicts are inconclusive, saying why.
        collected[SCOPE_KIND] = UNDECLARED_SCOPE
    redacted, count = redact_all(evidence)
    schemas = {
        kind: spec.kinds[kind] for name, spec in specs.items() if name in planned for kind in planned[name]
    }
    unique = {item.id: item for item in redacted}
    gaps: dict[str, list[str]] = {}
    for problem in problems:
        if problem.leaves_gap:
            for kind in problem.kinds:
                gaps.setdefault(kind, []).append(
                    f"{problem.collector} {problem.source or ''}: {problem.message}"
                )
    return Collection(
        gaps={kind: tuple(sorted(reasons)) for kind, reasons in sorted(gaps.items())},
        evidence=tuple(sorted(unique.values(), key=lambda e: (e.kind, e.source, e.id))),
        collected=collected,
        runs=tuple(sorted(runs, key=lambda r: r.collector)),
        problems=tuple(sorted(problems, key=lambda p: (p.collector, p.source or "", p.message))),
        redactions=count + handed_redactions,
        schemas=schemas,
    )


def apply_policy(findings: tuple[Finding, ...], config: Config, now: datetime) -> tuple[Finding, ...]:
    """Exceptions waive findings (keeping their real status); declared non-applicability overrides status."""
    not_applicable = {a.control: a.justification for a in config.applicability if not a.applicable}
    today = now.date()
    result = []
    for finding in findings:
        if finding.control_id in not_applicable:
            finding = dataclasses.replace(
                finding,
                status=Status.NOT_APPLICABLE,
                note=f"control declared not applicable: {not_applicable[finding.control_id]}",
            )
        for exception in config.exceptions:
            if exception.rule != finding.rule_id or exception.subject not in (None, finding.subject):
                continue
            if finding.status in (Status.PASS, Status.NOT_APPLICABLE):
                continue
            if exception.in_force(today):
                finding = dataclasses.replace(
                    finding,
                    waiver=Waiver(
                        justification=exception.justification,
                        approved_by=exception.approved_by,
                        expires=exception.expires.isoformat(),
                    ),
                )
            else:
                finding = dataclasses.replace(
                    finding,
                    note=f"exception expired on {exception.expires.isoformat()}; no longer waived",
                )
        result.append(finding)
    return sort_findings(result)


def rule_policy(config: Config, now: datetime) -> Callable[[tuple[Finding, ...]], tuple[Finding, ...]]:
    """:func:`apply_policy` given one rule's findings at a time (what the streamed evaluation calls)."""

    def policy(found: tuple[Finding, ...]) -> tuple[Finding, ...]:
        return apply_policy(found, config, now)

    return policy


def _declares_scope(config: Config) -> bool:
    from annexa.plugins.config import SCOPE_COLLECTOR

    return SCOPE_COLLECTOR in config.collectors


def policy_warnings(config: Config, ruleset: RuleSet) -> list[str]:
    """What in the configuration weakens the verdicts: per-system rules without a declared scope, and
    exceptions that name no selected rule (they waive nothing; a typo should not go unseen)."""
    from annexa.model.diagnostics import did_you_mean

    rule_ids = [rule.id for rule in ruleset.rules]
    warnings = []
    per_system = [rule.id for rule in ruleset.rules if SCOPE_KIND in rule.kinds]
    if per_system and not _declares_scope(config):
        warnings.append(
            f"{config.path}: {len(per_system)} per-system rule(s) are inconclusive: {UNDECLARED_SCOPE}"
        )
    for exception in config.exceptions:
        if exception.rule not in rule_ids:
            hint = did_you_mean(exception.rule, rule_ids)
            warnings.append(
                f"{config.path}: exception for {exception.rule} waives nothing: no selected rule has that id"
                + (f"; {hint}" if hint else "")
            )
    return warnings


def _reported(
    results: Iterable[TaskResult], planned: Mapping[str, int], progress: Progress | None
) -> Iterator[TaskResult]:
    """The executor's results, each reported to ``progress`` as it comes; the display closes at the end
    (or when collection stops early: the generator's ``finally`` runs when it is closed)."""
    if progress is None:
        yield from results
        return
    progress.collecting(dict(planned))
    try:
        for result in results:
            progress.advanced(result.task.collector)
            yield result
    finally:
        progress.close()


def default_progress(*, quiet: bool = False) -> Progress | None:
    """A live display per collector on a terminal, plain lines in CI or when piped, nothing if quiet."""
    from annexa.app.progress import default_progress as choose

    return choose(quiet=quiet)


def utc_now() -> datetime:
    return datetime.now(UTC)


def compile_for(config: Config, host: PluginHost) -> RuleSet:
    return compile_pack(
        list(config.rule_paths), kind_registry(host), config.params, host, freshness=config.freshness
    )
