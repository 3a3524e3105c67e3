"""Collection on a Dask distributed cluster (``annexa scan --executor dask://HOST:PORT``).

Imported only when a Dask executor is asked for, so annexa runs without the ``annexa[dask]`` extra.
Each :class:`~annexa.app.executors.CollectionTask` is submitted as one Dask task. A worker builds its own
plugin host once per process and resolves the collector by name: a live plugin manager holds modules,
hooks and open clients that should not be pickled, and the worker's own installation is what runs there.
Results come back as each task completes (``as_completed``), so evidence reaches the store while the
rest of the estate is still being collected and no worker holds more than one task's evidence.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Final

# distributed ships type hints, but not for these three calls: hence the no-untyped-call ignores below.
from distributed import Client, as_completed

from annexa.app.executors import CollectionTask, ExecutorError, TaskResult, failed_outcome, run_task

if TYPE_CHECKING:
    from annexa.plugins.host import PluginHost

CONNECT_TIMEOUT_S: Final = 10.0


class DaskExecutor:
    """Runs collection tasks on the workers of a Dask scheduler."""

    name = "dask"

    def __init__(self, client: Client, *, owns_client: bool = False) -> None:
        self.client = client
        self._owns_client = owns_client

    @classmethod
    def connect(cls, address: str) -> DaskExecutor:
        """Connect to the scheduler at ``address`` (``tcp://HOST:PORT``)."""
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        return cls(client, owns_client=True)

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
        for future in as_completed(futures, loop=self.client.loop):  # type: ignore[no-untyped-call]
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a worker lost mid-task: its kinds are not collected, the rest go on
                yield TaskResult(
                    task=task,
                    outcome=failed_outcome(task, f"Dask task failed: {type(exc).__name__}: {exc}"),
                    seconds=0.0,
                )
                continue
            if not isinstance(result, TaskResult):
                raise ExecutorError(f"a Dask worker returned {type(result).__name__}, not a TaskResult")
            yield result

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
