"""Per-step figures of one command (``--timings``): wall time, CPU time and peak memory of each step.

What a user runs is what the benchmarks measure (benchmarks/bench_pipeline.py reads these lines), so the
figures a README quotes are the command's own, not an inner function's. Printed to standard error.
A step that ran work in child processes (``--jobs``) counts their CPU time too, and its peak is the
largest of any one process (each counting the memory it shares with the others).
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

PREFIX = "annexa: timing"


class Timings:
    """Steps timed one after another; ``enabled=False`` makes every step free and silent."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        wall, cpu = time.perf_counter(), time.process_time() + _children_cpu()
        yield
        wall, cpu = time.perf_counter() - wall, time.process_time() + _children_cpu() - cpu
        peak = max(resource.getrusage(who).ru_maxrss for who in _WHO) / 1024  # KiB on Linux
        print(f"{PREFIX} {name:<10} {wall:8.2f} s wall {cpu:8.2f} s CPU {peak:8.0f} MB peak", file=sys.stderr)


_WHO = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)


def _children_cpu() -> float:
    """CPU time of the child processes that have ended (and been waited for) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
