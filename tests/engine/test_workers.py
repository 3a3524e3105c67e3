"""The forked child of `annexa evaluate --jobs` (annexa.app.workers.Forked): its value or its exception comes
back to the parent, and a child that dies, or whose exception cannot be rebuilt, is a WorkerError rather
than a hang or a wrong value; cancel() ends a child at once and reaps it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from annexa.app.workers import MAX_DEFAULT_JOBS, Forked, WorkerError, can_fork, default_jobs

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="Forked needs os.fork")


class Refused(Exception):
    """An exception of this module's own, picklable: the parent must raise this very class."""


class TwoArguments(Exception):
    """Pickled as ``TwoArguments("left right")`` (its args), which its __init__ cannot be called with."""

    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"{left} {right}")


def test_the_value_is_computed_in_another_process_that_sees_the_parents_memory() -> None:
    # The child gets the parent's objects as they are at the fork, without their being sent to it.
    numbers = list(range(10_000))
    pid, total = Forked(lambda: (os.getpid(), sum(numbers))).result()
    assert pid != os.getpid()
    assert total == sum(range(10_000))


def test_the_childs_exception_is_raised_with_its_type_and_message() -> None:
    def work() -> None:
        raise Refused("line 7: not valid JSON")

    with pytest.raises(Refused, match=r"^line 7: not valid JSON$"):
        Forked(work).result()

    def lookup() -> int:
        return {"a": 1}["b"]

    with pytest.raises(KeyError, match="'b'"):
        Forked(lookup).result()


def test_a_child_killed_by_a_signal_is_a_worker_error_naming_the_signal() -> None:
    def killed() -> None:
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(10)  # never reached: SIGKILL ends the process at once

    with pytest.raises(
        WorkerError, match=f"ended without its result \\(killed by signal {int(signal.SIGKILL)}\\)"
    ):
        Forked(killed).result()


def test_a_child_that_exits_without_a_result_is_a_worker_error_naming_its_exit_status() -> None:
    # os._exit skips everything, the child's writing of its result too: as a crash in compiled code does.
    with pytest.raises(WorkerError, match=r"ended without its result \(exit status 3\)"):
        Forked(lambda: os._exit(3)).result()


def test_an_exception_that_cannot_be_rebuilt_from_its_pickle_arrives_as_a_worker_error() -> None:
    def work() -> None:
        raise TwoArguments("left", "right")

    # Rebuilding it in the parent would fail there, far from the cause: the child tries and says why.
    with pytest.raises(WorkerError, match=r"could not be passed back: TypeError\(.TwoArguments.__init__"):
        Forked(work).result()


def test_a_value_that_cannot_be_rebuilt_from_its_pickle_arrives_as_a_worker_error() -> None:
    # As an error kept in a part of the bundle read by a child (BundlePart.error) is handed back: a value.
    with pytest.raises(WorkerError, match="result could not be read back") as raised:
        Forked(lambda: TwoArguments("left", "right")).result()
    assert isinstance(raised.value.__cause__, TypeError)


def test_a_value_that_cannot_be_pickled_arrives_as_a_worker_error() -> None:
    with pytest.raises(WorkerError, match="could not be passed back"):
        Forked(lambda: lambda: None).result()  # a lambda has no name to be pickled by


def test_cancel_ends_a_long_running_child_at_once_and_leaves_no_zombie() -> None:
    reading, writing = os.pipe()

    def sleeper() -> None:
        os.write(writing, str(os.getpid()).encode())
        time.sleep(60)

    try:
        child = Forked(sleeper)
        pid = int(os.read(reading, 32))  # the child is running, past its fork
    finally:
        os.close(reading)
        os.close(writing)
    started = time.monotonic()
    child.cancel()
    assert time.monotonic() - started < 5  # killed, not waited for to the end of its sleep
    # Reaped: the process table holds no zombie of it, and waiting for it again finds no such child.
    assert _state(pid) != "Z"
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _state(pid: int) -> str:
    """The process's state letter in /proc (Z: a zombie); "" once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except FileNotFoundError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]


def test_cancel_after_the_result_is_harmless() -> None:
    # read_forked and evaluate_forked cancel every child in their finally, those already waited for too.
    child = Forked(lambda: 42)
    assert child.result() == 42
    child.cancel()
    child.cancel()


def test_the_default_jobs_are_the_cpus_this_process_may_use_at_most_four() -> None:
    assert can_fork()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    assert default_jobs() == min(cpus, MAX_DEFAULT_JOBS)
    assert 1 <= default_jobs() <= 4
