"""Work shared with forked child processes: how many to use (``--jobs``) and one function run in a child.

A forked child starts with the parent's memory as it is (the compiled rules, the evidence read so far), so
nothing has to be sent to it; what it returns is pickled into an unlinked temporary file that the parent
reads once the child has ended. Only where ``os.fork`` exists (Linux, the BSDs, macOS); elsewhere every
command runs in one process. The children do pure computation: no output, no locks, no threads.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable
from typing import IO, Any, Final, Generic, TypeVar

from annexa.model.errors import EngineError

T = TypeVar("T")

MAX_DEFAULT_JOBS: Final = 4
"""The processes used when ``--jobs`` is not given: the CPUs this process may run on, at most this many
(each one holds what it evaluates besides what it shares with the others)."""


class WorkerError(EngineError):
    """A child process ended without giving its result (killed, out of memory)."""


def default_jobs() -> int:
    """The processes a command uses unless told: the CPUs it may run on, at most :data:`MAX_DEFAULT_JOBS`;
    1 where processes cannot be forked, and off Linux (macOS's system libraries are not safe to use in a
    forked child: ``--jobs`` there is the user's explicit choice)."""
    if not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_JOBS))


def can_fork() -> bool:
    return hasattr(os, "fork")


class Forked(Generic[T]):
    """``work()`` run in a forked child from now on; :meth:`result` waits for it and gives its value, or
    raises what it raised. :meth:`cancel` ends it. A child that dies without a result raises
    :class:`WorkerError`."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._out: IO[bytes] = tempfile.TemporaryFile(prefix="annexa-worker-")  # noqa: SIM115
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _run_child(work, self._out)
        self._pid: int | None = pid

    def result(self) -> T:
        status = self._wait()
        self._out.seek(0)
        try:
            ok, value = pickle.load(self._out)
        except Exception as exc:
            if status == 0:  # it wrote its result, which cannot be rebuilt here
                raise WorkerError(f"a worker's result could not be read back: {exc!r}") from exc
            # nothing (or not all) written: the child was killed or crashed
            raise WorkerError(f"a worker process ended without its result ({_ending(status)})") from exc
        finally:
            self._out.close()
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def cancel(self) -> None:
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._wait()
        self._out.close()

    def _wait(self) -> int:
        if self._pid is None:
            return 0
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        return status


def _run_child(work: Callable[[], Any], out: IO[bytes]) -> None:
    code = 1
    try:
        try:
            payload: tuple[bool, Any] = (True, work())
        except BaseException as exc:  # handed to the parent, which raises it
            payload = (False, exc)
        try:
            text = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            if not payload[0]:
                pickle.loads(text)  # an exception that cannot be rebuilt from its pickle fails here
        except Exception as exc:
            text = pickle.dumps((False, WorkerError(f"a worker's result could not be passed back: {exc!r}")))
        out.write(text)
        out.flush()
        code = 0
    finally:
        # Straight out: no atexit handlers, no flushing of buffers the parent owns, no finally blocks of
        # the parent's frames run a second time.
        os._exit(code)


def _ending(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
