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
import functools
import time
import uuid
from collections.abc import Iterator, Sequence
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

if TYPE_CHECKING:
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
        blocked = tuple(sorted(name for name, _ in host.pm.list_name_plugin() if host.pm.is_blocked(name)))
        run_id = uuid.uuid4().hex[:8]
        futures = {
            self.client.submit(
                _run_on_worker, task, blocked, pure=False, key=f"annexa-collect-{task.collector}-{run_id}-{n}"
            ): task
            for n, task in enumerate(tasks)
        }
        pending = set(futures)
        arriving = as_completed(futures, loop=self.client.loop)  # type: ignore[no-untyped-call]
        starved_since: float | None = None  # when the cluster was first seen without a worker
        watched = time.monotonic()
        try:
            while pending:
                done = arriving.next_batch(block=False)  # type: ignore[no-untyped-call]
                for future in done:
                    pending.discard(future)
                    yield self._result(future, futures[future])
                if not pending:
                    break
                if not done:
                    time.sleep(WAKE_S)
                if time.monotonic() - watched >= POLL_S:
                    starved_since = self._watch(starved_since, len(pending), len(tasks))
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

    def _watch(self, starved_since: float | None, pending: int, total: int) -> float | None:
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
            raise ClusterError(
                f"the Dask scheduler at {self.address} {reason} and has had none for {self.timeout:g} s: "
                f"{pending} of {total} collection task(s) cannot run, so the scan stops here. Start "
                "workers (`dask worker ADDRESS`) or raise --executor-timeout."
            )
        return starved_since

    def close(self) -> None:
        if self._owns_client:
            self.client.close()  # type: ignore[no-untyped-call]


def _run_on_worker(task: CollectionTask, blocked: tuple[str, ...]) -> TaskResult:
    return run_task(task, _worker_host(blocked))


@functools.cache
def _worker_host(blocked: tuple[str, ...]) -> PluginHost:
    # Built once per worker process: loading plugins costs more than most collection tasks.
    from annexa.app.wiring import make_host

    return make_host(blocked=blocked)
