"""A writer killed with SIGKILL at random moments never leaves a half scan or a broken chain."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from annexa.model.evidence import Evidence
from annexa.model.findings import Status
from annexa.store import open_store, verify_store

sys.path.insert(0, str(Path(__file__).parent))
from test_store import endpoint, record  # shared builders, one folder up the path

# Writers alternate between two loops so kills land in both windows: "evidence" writes 12 new evidence
# files per scan (kills mostly hit put_evidence), "scans" reuses its evidence and only records scans
# (kills hit the manifest write and the SQLite transaction).
WRITER = """
import sys
from datetime import UTC, datetime, timedelta
sys.path.insert(0, {tests!r})
from test_store import endpoint, record
from annexa.model.findings import Status
from annexa.store import Store, open_store
store = open_store({root!r})
print("ready", flush=True)
n = 0
items = ()
while True:
    at = datetime(2026, 11, 22, tzinfo=UTC) + timedelta(seconds=n)
    if sys.argv[2] == "evidence" or not items:
        fresh = [endpoint(f"{{sys.argv[1]}}-{{n}}-{{i}}", i % 2 == 0, at) for i in range(12)]
        items = store.put_evidence(fresh)
    store.record_scan(record(items, tuple(Status.PASS for _ in items), at))
    n += 1
"""

KILLS = 12


@pytest.mark.slow
def test_sigkill_at_random_moments_never_breaks_the_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    open_store(root).close()
    script = WRITER.format(tests=str(Path(__file__).parent), root=str(root))
    rng = random.Random(4242)
    recorded_before = 0
    for kill in range(KILLS):
        writer = subprocess.Popen(
            [sys.executable, "-c", script, f"k{kill}", ("evidence", "scans")[kill % 2]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.6))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
        assert writer.returncode == -signal.SIGKILL, writer.stderr.read() if writer.stderr else b""
        writer.stdout.close()
        if writer.stderr:
            writer.stderr.close()

        store = open_store(root)
        report = verify_store(store)
        assert report.ok, (kill, [str(p) for p in report.problems])
        history = store.scans()
        assert len(history) >= recorded_before
        assert [s.previous for s in history[1:]] == [s.digest for s in history[:-1]]
        # Never a scan with only part of its findings indexed (12 per writer scan, 1 per "after" scan).
        assert {summary.counts["pass"] for summary in history} <= {1, 12}
        # And the store takes the next scan without complaint.
        at = datetime(2027, 1, 1, tzinfo=UTC)
        items = store.put_evidence([endpoint(f"after-{kill}", True, at)])
        digest = store.record_scan(record(items, (Status.PASS,), at))
        assert store.load_scan("latest").digest == digest
        latest = store.load_scan("latest")
        assert latest.previous == (history[-1].digest if history else None)
        assert verify_store(store).ok
        recorded_before = len(history) + 1
        store.close()
    assert recorded_before > KILLS  # the writers did get scans in between the kills


def test_loaded_evidence_is_the_stored_evidence(tmp_path: Path) -> None:
    """The crash test's builders produce evidence that round-trips exactly (a sanity check for it)."""
    store = open_store(tmp_path / "s")
    item: Evidence = endpoint("x", True, datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC))
    store.put_evidence([item])
    assert store.load_evidence(item.id) == item


# A writer that SIGKILLs itself at one exact step of a batched evidence write: the Nth temporary file
# written, the Nth durability barrier (os.sync), the Nth rename into place. Batches of 5 objects, so
# 12 new items make three batches and the kills land inside each and between them.
BATCH_WRITER = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_store import endpoint, record
from annexa.model.findings import Status
from annexa.store import Store, open_store
from annexa.store import locker, open_store
locker._BATCH = 5
step, nth = sys.argv[1], int(sys.argv[2])
seen = 0
def killing(real):
    def wrapped(*args, **kwargs):
        global seen
        seen += 1
        if seen == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return wrapped
if step == "write":
    os.write = killing(os.write)
elif step == "sync":
    os.sync = killing(os.sync)
elif step == "replace":
    os.replace = killing(os.replace)
store = open_store({root!r})
at = datetime(2026, 11, 22, tzinfo=UTC)
items = store.put_evidence([endpoint(f"batch-{{i}}", i % 2 == 0, at) for i in range(12)])
store.record_scan(record(items, tuple(Status.PASS for _ in items), at))
print("finished", flush=True)
"""

BATCH_KILLS = [
    *(("write", n) for n in (1, 3, 7, 12)),
    *(("sync", n) for n in (1, 2, 3, 4, 6)),
    *(("replace", n) for n in (1, 4, 8, 12)),
]


@pytest.mark.parametrize(("step", "nth"), BATCH_KILLS)
def test_sigkill_at_batch_boundaries_leaves_a_store_that_verifies(
    tmp_path: Path, step: str, nth: int
) -> None:
    root = tmp_path / "store"
    at = datetime(2026, 11, 21, tzinfo=UTC)
    with open_store(root) as store:  # a scan recorded before, which the crash must not touch
        items = store.put_evidence([endpoint("before", True, at)])
        before = store.record_scan(record(items, (Status.PASS,), at))
    script = BATCH_WRITER.format(tests=str(Path(__file__).parent), root=str(root))
    writer = subprocess.run([sys.executable, "-c", script, step, str(nth)], capture_output=True, timeout=60)
    assert writer.returncode == -signal.SIGKILL, writer.stderr.decode()
    with open_store(root) as store:
        report = verify_store(store)
        assert report.ok, (step, nth, [str(p) for p in report.problems])
        assert store.scans()[0].digest == before
        later = datetime(2027, 1, 1, tzinfo=UTC)
        fresh = store.put_evidence([endpoint(f"batch-{i}", i % 2 == 0, later) for i in range(12)])
        store.record_scan(record(fresh, tuple(Status.PASS for _ in fresh), later))
        assert verify_store(store).ok
