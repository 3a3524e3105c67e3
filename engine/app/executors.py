"""Where collection runs: the executor interface and the local thread pool.

A scan's collection is a set of independent tasks, one per (collector, scope). The scope is the
collector's configured block as a whole (one task per configured collector); the task record carries it
so that an executor never needs the caller's live objects. An executor runs the tasks and hands back each
:class:`TaskResult` as soon as it completes, so the caller can store evidence while the rest still runs.

Two executors exist: :class:`LocalExecutor` (a bounded thread pool in this process, the default) and
``annexa.app.dask_executor.DaskExecutor`` (a Dask distributed cluster, from the optional ``annexa[dask]``
extra, imported only when asked for). Both run a task through :func:`run_task`, so for the same
configuration they produce the same evidence and therefore the same findings.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

from annexa.model.errors import EngineError

if TYPE_CHECKING:
    from annexa.plugins.collection import CollectionOutcome
    from annexa.plugins.host import PluginHost
    from annexa.plugins.types import CollectorSpec

MAX_LOCAL_WORKERS: Final = 8
DEFAULT_CLUSTER_TIMEOUT_S: Final = 60.0
"""How long a scan waits on a cluster that has no worker to run its tasks (``--executor-timeout``)."""


class ExecutorError(EngineError):
    """An executor cannot be chosen or reached (a bad ``--executor`` value, a missing extra, no cluster)."""


class ClusterError(EngineError):
    """The cluster broke during a scan (no worker left, the scheduler gone): the scan cannot finish.

    Not the user's input but the infrastructure, so ``annexa scan`` exits 3, not 4.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionTask:
    """One unit of collection: everything a worker needs, as plain data (no live plugin objects).

    The collector is named, not passed: a worker resolves it from its own plugins, and checks that it
    has the ``version`` the scan was planned with, so an out-of-date worker cannot change the findings.
    """

    collector: str
    version: str
    scope: str  # what part of the collector's configuration this task covers ("" = all of it)
    config: Mapping[str, Any]
    kinds: frozenset[str]
    now: datetime
    base_path: str = "."
    fields: Mapping[str, frozenset[str] | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskResult:
    task: CollectionTask
    outcome: CollectionOutcome
    seconds: float


class CollectionExecutor(Protocol):
    """Runs collection tasks; yields each result as it completes (in no particular order)."""

    name: str

    def run(self, tasks: Sequence[CollectionTask], host: PluginHost) -> Iterator[TaskResult]: ...

    def close(self) -> None: ...


def run_task(task: CollectionTask, host: PluginHost) -> TaskResult:
    """Run one task with the collectors of ``host``, the way every executor does.

    Never raises for a collector's sake: a crash, a missing collector or a version mismatch becomes a
    failed outcome for the task's kinds, so one bad collector never sinks the scan.
    """
    from annexa.plugins.collection import collect_checked
    from annexa.plugins.types import CollectRequest

    started = time.perf_counter()
    spec: CollectorSpec | None = host.collectors().get(task.collector)
    if spec is None:
        outcome = failed_outcome(task, f"collector {task.collector} is not installed where the task ran")
    elif spec.version != task.version:
        outcome = failed_outcome(
            task,
            f"collector {task.collector} is version {spec.version} where the task ran, "
            f"but the scan was planned with {task.version}",
        )
    else:
        request = CollectRequest(
            config=task.config,
            kinds=task.kinds,
            now=task.now,
            base_path=task.base_path,
            open_document=host.open_document,
            fields=dict(task.fields),
        )
        try:
            outcome = collect_checked(spec, request)
        except Exception as exc:  # a collector bug must not sink the scan; it is reported instead
            outcome = failed_outcome(task, f"collector crashed: {type(exc).__name__}: {exc}")
    return TaskResult(task=task, outcome=outcome, seconds=time.perf_counter() - started)


def failed_outcome(task: CollectionTask, message: str) -> CollectionOutcome:
    """The outcome of a task that produced nothing: all its kinds are not collected, with ``message``."""
    from annexa.plugins.collection import CollectionOutcome, CollectionProblem

    problem = CollectionProblem(
        code="collector_error",
        collector=task.collector,
        source=task.scope or None,
        message=message,
        kinds=tuple(sorted(task.kinds)),
    )
    return CollectionOutcome(
        evidence=(), problems=(problem,), failed_kinds=dict.fromkeys(task.kinds, message)
    )


def merge_figures(reports: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The figures of a collector's tasks as one set: counts added up, ``peak_*``/``max_*`` the largest."""
    from annexa.plugins.collection import merge_figure

    merged: dict[str, int] = {}
    for report in reports:
        for name, value in report.items():
            merged[name] = merge_figure(name, merged.get(name), value)
    return merged


def figure_lines(runs: Iterable[Any]) -> list[str]:
    """One line per collector run that reported figures: ``figures aws: api_calls 412, throttled 7, ...``
    (``runs``: :class:`~annexa.app.scan.CollectorRun` objects)."""
    return [
        f"figures {run.collector}: " + ", ".join(f"{name} {value}" for name, value in run.figures.items())
        for run in runs
        if run.figures
    ]


class LocalExecutor:
    """A bounded thread pool in this process: collectors mostly wait on I/O, so threads suffice."""

    name = "local"

    def __init__(self, max_workers: int = MAX_LOCAL_WORKERS) -> None:
        if max_workers < 1:
            raise ExecutorError(f"a local executor needs at least one worker, not {max_workers}")
        self.max_workers = max_workers

    def run(self, tasks: Sequence[CollectionTask], host: PluginHost) -> Iterator[TaskResult]:
        if not tasks:
            return
        workers = max(1, min(self.max_workers, len(tasks)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="annexa-collect") as pool:
            # No list of the futures kept here: as_completed lets go of each one it has given, so a finished
            # task's evidence lives only as long as its consumer keeps it (a streamed scan: not at all).
            for future in as_completed([pool.submit(run_task, task, host) for task in tasks]):
                yield future.result()

    def close(self) -> None:
        """Nothing to release: each run's pool is closed when the run ends."""
