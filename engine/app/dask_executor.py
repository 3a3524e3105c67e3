"""Collection on a Dask distributed cluster (``annexa scan --executor dask://HOST:PORT``).

Imported only when a Dask executor is asked for, so annexa runs without the ``annexa[dask]`` extra.
Each :class:`~annexa.app.executors.CollectionTask` is submitted as one Dask task. A worker builds its own
plugin host once per process and resolves the collector by name: a live plugin manager holds modules,
hooks and open clients that should not be pickled, and the worker's own installation is what runs there.
Results come back as each task completes, so evidence reaches the store while the rest of the estate is
still being collected and no worker holds more than one task's evidence.

A broken cluster ends the scan instead of hanging it: while tasks are outstanding the executor watches
the scheduler, and when it has had no worker (or could not be asked) for ``timeout`` seconds it cancels
the tasks and raises :class:`~annexa.app.executors.ClusterError`. A worker lost mid-task is Dask's to
handle: the scheduler reruns the task on another worker, and only the run that completes hands back
evidence, so nothing is stored twice (the store is content-addressed besides).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import itertools
import json
import pickle
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

# distributed ships type hints, but not for these three calls: hence the no-untyped-call ignores below.
from distributed import Client, as_completed

from annexa.app.executors import (
    DEFAULT_CLUSTER_TIMEOUT_S,
    ClusterError,
    CollectionTask,
    ExecutorError,
    TaskResult,
    failed_outcome,
    run_task,
)
from annexa.contract.freshness import DEFAULT_LIMITS, FreshnessLimits

if TYPE_CHECKING:
    from annexa.contract.kinds import KindRegistry
    from annexa.lang.ruleset import RuleSet
    from annexa.model.evidence import Evidence
    from annexa.model.findings import Finding
    from annexa.plugins.host import PluginHost

CONNECT_TIMEOUT_S: Final = 10.0
POLL_S: Final = 0.5  # how often the executor asks the scheduler for its workers while tasks are out
WAKE_S: Final = 0.02  # how long it sleeps when no result has come in


class DaskExecutor:
    """Runs collection tasks on the workers of a Dask scheduler."""

    name = "dask"

    def __init__(
        self, client: Client, *, owns_client: bool = False, timeout: float = DEFAULT_CLUSTER_TIMEOUT_S
    ) -> None:
        if timeout <= 0:
            raise ExecutorError(f"an executor timeout must be more than 0 seconds, not {timeout}")
        self.client = client
        self.timeout = timeout
        self._owns_client = owns_client

    @classmethod
    def connect(cls, address: str, *, timeout: float = DEFAULT_CLUSTER_TIMEOUT_S) -> DaskExecutor:
        """Connect to the scheduler at ``address`` (``tcp://HOST:PORT``); ``timeout``: how long a scan
        waits while the cluster has no worker before it gives up."""
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        return cls(client, owns_client=True, timeout=timeout)

    @property
    def address(self) -> str:
        return str(getattr(self.client.scheduler, "address", "?"))

    def workers(self) -> int:
        """The number of workers the scheduler has now; raises OSError when it cannot be asked."""
        try:
            return len(self.client.nthreads())  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError):
            raise
        except Exception as exc:  # distributed's CommClosedError and the like
            raise OSError(f"{type(exc).__name__}: {exc}") from exc

    def run(self, tasks: Sequence[CollectionTask], host: PluginHost) -> Iterator[TaskResult]:
        if not tasks:
            return
        # Workers load the same plugins as this process, less the ones it was told not to load.
        blocked = _blocked(host)
        run_id = uuid.uuid4().hex[:8]
        futures = {
            self.client.submit(
                _run_on_worker, task, blocked, pure=False, key=f"annexa-collect-{task.collector}-{run_id}-{n}"
            ): task
            for n, task in enumerate(tasks)
        }
        for future in self._completed(list(futures), "collection"):
            yield self._result(future, futures[future])

    def evaluate(
        self,
        ruleset: RuleSet,
        kinds: KindRegistry,
        evidence: Iterable[Evidence],
        *,
        now: datetime,
        collected: Mapping[str, str | None] | None = None,
        gaps: Mapping[str, Sequence[str]] | None = None,
        host: PluginHost | None = None,
        parts: int | None = None,
    ) -> tuple[Finding, ...]:
        """:func:`annexa.lang.language.evaluate` on the cluster's workers, with the same findings in the
        same order.

        The rules are split into ``parts`` partitions (default: one per worker) by rule group: rules that
        read the same kinds stay together, and the groups are spread so that each partition holds about
        as much evidence. Each kind's items are shipped to the cluster once and each partition gets only
        the kinds its rules read. A worker compiles the rules from their text (once per process and rule
        pack), with its own plugins' rule functions (``host``'s, less the blocked ones; None: none) and
        this process's kind schemas, checks that it compiled the same pack, and evaluates its partition.
        """
        from annexa.model.findings import control_sort_key

        by_kind: dict[str, list[Evidence]] = {kind: [] for kind in ruleset.kinds_read}
        for item in evidence:
            bucket = by_kind.get(item.kind)
            if bucket is not None:
                bucket.append(item)
        if collected is None:  # as evaluate() reads it: every kind with items counts as collected
            collected = {kind: None for kind, items in by_kind.items() if items}
        if not ruleset.rules:
            return ()
        try:  # evidence is shipped to the workers: there must be some
            self.client.wait_for_workers(1, timeout=self.timeout)
        except (TimeoutError, OSError) as exc:
            raise self._starved("has no worker", f"the evaluation of {len(ruleset.rules)} rule(s)") from exc
        partitions = partition_rules(
            ruleset, {kind: len(items) for kind, items in by_kind.items()}, parts or max(1, self.workers())
        )
        pack = RulePack(
            sources=tuple(ruleset.sources.items()),
            params=dict(ruleset.params),
            schemas={kind: kinds.schema(kind) for kind in kinds.kinds},
            plugins=host is not None,
            blocked=_blocked(host) if host is not None else (),
            digest=ruleset.digest,
            freshness=ruleset.freshness,
        )
        # Each kind's items are shipped once, to every worker: scattered data has no lineage to recompute it
        # from, so a partition rerun after its worker died must find its items on another.
        names = sorted(by_kind)
        payload = [by_kind[k] for k in names]
        scattered = self.client.scatter(payload, hash=False, broadcast=True) if names else []  # type: ignore[no-untyped-call]
        shipped = dict(zip(names, scattered, strict=True))
        run_id = uuid.uuid4().hex[:8]
        futures = [
            self.client.submit(
                _evaluate_on_worker,
                pack,
                rule_ids,
                [shipped[kind] for kind in sorted(_kinds_of(ruleset, rule_ids))],
                now,
                dict(collected),
                {kind: tuple(reasons) for kind, reasons in (gaps or {}).items()},
                pure=False,
                key=f"annexa-evaluate-{run_id}-{n}",
            )
            for n, rule_ids in enumerate(partitions)
        ]
        by_rule: dict[str, list[Finding]] = {}
        for future in self._completed(futures, "evaluation"):
            try:
                found = future.result()
            except ClusterError:
                raise
            except Exception as exc:
                raise ClusterError(
                    f"evaluation on the Dask cluster failed: {type(exc).__name__}: {exc}"
                ) from exc
            for finding in found:
                by_rule.setdefault(finding.rule_id, []).append(finding)
        # evaluate()'s order: rules by (control, rule id), each rule's findings as it gave them.
        ordered = sorted(ruleset.rules, key=lambda rule: (control_sort_key(rule.control_id), rule.id))
        return tuple(finding for rule in ordered for finding in by_rule.get(rule.id, ()))

    def _completed(self, futures: list[Any], what: str) -> Iterator[Any]:
        """Each of ``futures`` as it completes; raises :class:`ClusterError` when the cluster has had no
        worker for ``timeout`` seconds, and cancels what is left when the caller stops early."""
        pending = set(futures)
        arriving = as_completed(futures, loop=self.client.loop)  # type: ignore[no-untyped-call]
        starved_since: float | None = None  # when the cluster was first seen without a worker
        watched = time.monotonic()
        try:
            while pending:
                done = arriving.next_batch(block=False)  # type: ignore[no-untyped-call]
                for future in done:
                    pending.discard(future)
                    yield future
                if not pending:
                    break
                if not done:
                    time.sleep(WAKE_S)
                if time.monotonic() - watched >= POLL_S:
                    starved_since = self._watch(starved_since, len(pending), len(futures), what)
                    watched = time.monotonic()
        finally:
            # The consumer stopped early or the cluster broke: leave nothing running (a scheduler that is
            # gone has nothing to cancel).
            if pending:
                with contextlib.suppress(Exception):
                    self.client.cancel(list(pending))  # type: ignore[no-untyped-call]

    def _result(self, future: Any, task: CollectionTask) -> TaskResult:
        try:
            result = future.result()
        except Exception as exc:  # the task failed on every worker it was given (KilledWorker, ...)
            return TaskResult(
                task=task,
                outcome=failed_outcome(task, f"Dask task failed: {type(exc).__name__}: {exc}"),
                seconds=0.0,
            )
        if not isinstance(result, TaskResult):
            raise ExecutorError(f"a Dask worker returned {type(result).__name__}, not a TaskResult")
        return result

    def _starved(self, reason: str, stuck: str) -> ClusterError:
        return ClusterError(
            f"the Dask scheduler at {self.address} {reason} and has had none for {self.timeout:g} s: "
            f"{stuck} cannot run, so the scan stops here. Start workers (`dask worker ADDRESS`) or raise "
            "--executor-timeout."
        )

    def _watch(self, starved_since: float | None, pending: int, total: int, what: str) -> float | None:
        """When the cluster was first seen without a worker (None: it has some); raises
        :class:`ClusterError` once that has lasted ``timeout`` seconds."""
        try:
            workers, reason = self.workers(), "has no worker"
        except OSError as exc:
            workers, reason = 0, f"cannot be asked for its workers ({exc})"
        if workers:
            return None
        now = time.monotonic()
        if starved_since is None:
            return now
        if now - starved_since >= self.timeout:
            raise self._starved(reason, f"{pending} of {total} {what} task(s)")
        return starved_since

    def close(self) -> None:
        if self._owns_client:
            self.client.close()  # type: ignore[no-untyped-call]


def _blocked(host: PluginHost) -> tuple[str, ...]:
    """The plugins ``host`` was told not to load: workers leave them out too."""
    return tuple(sorted(name for name, _ in host.pm.list_name_plugin() if host.pm.is_blocked(name)))


@dataclass(frozen=True, slots=True, kw_only=True)
class RulePack:
    """What a worker needs to compile the very rules this process compiled: their text and parameters,
    the kind schemas they were checked against, and which plugins give their extra functions."""

    sources: tuple[tuple[str, str], ...]  # (path, text), as RuleSet.sources
    params: Mapping[str, Any]  # the resolved parameter values
    schemas: Mapping[str, Mapping[str, Any]]
    plugins: bool
    blocked: tuple[str, ...]
    digest: str
    freshness: FreshnessLimits = DEFAULT_LIMITS  # the maximum age of evidence `fresh(x)` compares with

    def cache_key(self) -> str:
        limits = self.freshness.to_dict()
        return hashlib.sha256(
            pickle.dumps((self.digest, sorted(self.params.items()), self.plugins, self.blocked))
            + json.dumps(limits, sort_keys=True).encode()
            + json.dumps(self.schemas, sort_keys=True, default=str).encode()
        ).hexdigest()


def partition_rules(ruleset: RuleSet, counts: Mapping[str, int], parts: int) -> list[tuple[str, ...]]:
    """Rule ids in at most ``parts`` partitions: rules reading the same kinds form one group, and the
    groups go, heaviest first, to the partition with the least evidence so far (a group's weight is the
    number of items of its kinds, plus one per rule). Deterministic for the same rules and counts."""
    groups: dict[frozenset[str], list[str]] = {}
    for rule in ruleset.rules:
        groups.setdefault(rule.kinds, []).append(rule.id)

    def weight(kinds: frozenset[str]) -> int:
        return sum(counts.get(kind, 0) for kind in kinds) + len(groups[kinds])

    bins: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(1, min(parts, len(groups))))]
    for kinds in sorted(groups, key=lambda k: (-weight(k), sorted(k))):
        lightest = min(range(len(bins)), key=lambda n: (bins[n][0], n))
        load, ids = bins[lightest]
        bins[lightest] = (load + weight(kinds), ids + groups[kinds])
    return [tuple(sorted(ids)) for _, ids in bins if ids]


def _kinds_of(ruleset: RuleSet, rule_ids: Sequence[str]) -> frozenset[str]:
    wanted = set(rule_ids)
    return frozenset().union(*(rule.kinds for rule in ruleset.rules if rule.id in wanted))


_COMPILED: dict[str, RuleSet] = {}  # per worker process: RulePack.cache_key() -> the compiled rules


def _evaluate_on_worker(
    pack: RulePack,
    rule_ids: tuple[str, ...],
    evidence: list[list[Evidence]],
    now: datetime,
    collected: Mapping[str, str | None],
    gaps: Mapping[str, tuple[str, ...]],
) -> tuple[Finding, ...]:
    from annexa.lang.language import evaluate

    ruleset = _worker_ruleset(pack)
    wanted = set(rule_ids)
    part = dataclasses.replace(ruleset, rules=tuple(rule for rule in ruleset.rules if rule.id in wanted))
    if len(part.rules) != len(wanted):
        missing = sorted(wanted - {rule.id for rule in part.rules})
        raise ExecutorError(f"a Dask worker compiled the rule pack without {', '.join(missing)}")
    return evaluate(part, itertools.chain.from_iterable(evidence), now=now, collected=collected, gaps=gaps)


def _worker_ruleset(pack: RulePack) -> RuleSet:
    key = pack.cache_key()
    if key not in _COMPILED:
        from annexa.app.wiring import parser_cache
        from annexa.contract.kinds import KindRegistry
        from annexa.lang.language import compile_rules
        from annexa.lang.parser import use_cache
        from annexa.lang.ruleset import RuleSource

        folder = parser_cache()  # the built parser and parsed files, as compile_pack uses them
        if folder is not None:
            use_cache(folder)

        functions = {}
        if pack.plugins:
            host = _worker_host(pack.blocked)
            functions = {name: (spec.arity, spec.function) for name, spec in host.rule_functions().items()}
        ruleset = compile_rules(
            [RuleSource(path, text) for path, text in pack.sources],
            KindRegistry(pack.schemas),
            pack.params,
            functions=functions,
            freshness=pack.freshness,
        )
        if (
            ruleset.digest != pack.digest
            or dict(ruleset.params) != dict(pack.params)
            or ruleset.freshness != pack.freshness
        ):
            raise ExecutorError(
                "a Dask worker compiled another rule pack than the scan's (rule text, parameters or "
                "freshness limits differ)"
            )
        _COMPILED.clear()  # one pack at a time: a long-lived worker does not keep every scan's rules
        _COMPILED[key] = ruleset
    return _COMPILED[key]


def _run_on_worker(task: CollectionTask, blocked: tuple[str, ...]) -> TaskResult:
    return run_task(task, _worker_host(blocked))


@functools.cache
def _worker_host(blocked: tuple[str, ...]) -> PluginHost:
    # Built once per worker process: loading plugins costs more than most collection tasks.
    from annexa.app.wiring import make_host

    return make_host(blocked=blocked)
