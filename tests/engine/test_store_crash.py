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
# written, the Nth durability barrier (locker._sync_filesystem, as it starts), the Nth rename into place.
# Batches of 5 objects, so 12 new items make three batches and the kills land inside each and between
# them. After the evidence come the findings object (written, made durable, rename 13, its barrier: sync
# 7), the manifest (its fsync, then rename 14, inside the index transaction) and HEAD (rename 15, after
# the commit): the kills there check that what names an object comes after it, and the manifest last.
BATCH_WRITER = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_store import endpoint, record
from annexa.model.findings import Status
from annexa.store import locker, open_store
locker._BATCH = 5
locker._PACK_MIN = int(sys.argv[3])
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
elif step == "sync":  # the barrier itself (syncfs of the store's file system): killed as it starts
    locker._sync_filesystem = killing(locker._sync_filesystem)
elif step == "replace":
    os.replace = killing(os.replace)
elif step == "fsync":
    os.fsync = killing(os.fsync)
store = open_store({root!r})
at = datetime(2026, 11, 22, tzinfo=UTC)
items = store.put_evidence([endpoint(f"batch-{{i}}", i % 2 == 0, at) for i in range(12)])
store.record_scan(record(items, tuple(Status.PASS for _ in items), at))
print("finished", flush=True)
"""

BATCH_KILLS = [
    *(("write", n) for n in (1, 3, 7, 12)),
    *(("sync", n) for n in (1, 2, 3, 4, 6, 7)),
    *(("replace", n) for n in (1, 4, 8, 12, 13, 14, 15)),
    *(("fsync", n) for n in (1, 2)),
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
    _kill_and_rerun(root, before, step, nth, pack_min=1_000, head_rename=15)


# The same with packs: batches of at least 3 new objects packed, so the 12 items make two packs of 5
# (writes 1 and 2, renames 1 and 2) and two loose files (writes 3 and 4, renames 3 and 4); each batch has
# its two barriers (syncs 1-6); the findings object is rename 5 (and sync 7), the manifest rename 6 and
# HEAD rename 7.
PACK_KILLS = [
    *(("write", n) for n in (1, 2, 3, 4)),
    *(("sync", n) for n in (1, 2, 3, 4, 5, 6, 7)),
    *(("replace", n) for n in (1, 2, 3, 4, 5, 6, 7)),
]


@pytest.mark.parametrize(("step", "nth"), PACK_KILLS)
def test_sigkill_while_writing_packs_leaves_a_store_that_verifies(
    tmp_path: Path, step: str, nth: int
) -> None:
    root = tmp_path / "store"
    at = datetime(2026, 11, 21, tzinfo=UTC)
    with open_store(root) as store:
        items = store.put_evidence([endpoint("before", True, at)])
        before = store.record_scan(record(items, (Status.PASS,), at))
    _kill_and_rerun(root, before, step, nth, pack_min=3, head_rename=7)


def _kill_and_rerun(root: Path, before: str, step: str, nth: int, *, pack_min: int, head_rename: int) -> None:
    script = BATCH_WRITER.format(tests=str(Path(__file__).parent), root=str(root))
    command = [sys.executable, "-c", script, step, str(nth), str(pack_min)]
    writer = subprocess.run(command, capture_output=True, timeout=60)
    assert writer.returncode == -signal.SIGKILL, writer.stderr.decode()
    with open_store(root) as store:
        report = verify_store(store)
        assert report.ok, (step, nth, [str(p) for p in report.problems])  # what was cut off is a note
        history = store.scans()
        assert history[0].digest == before
        # Only a kill after the commit (writing HEAD) leaves the killed scan in the history.
        assert len(history) == (2 if (step, nth) == ("replace", head_rename) else 1), (step, nth)
        # The rerun: the same collection again (same items, same ids), and its scan recorded.
        again = datetime(2026, 11, 22, tzinfo=UTC)
        fresh = store.put_evidence([endpoint(f"batch-{i}", i % 2 == 0, again) for i in range(12)])
        digest = store.record_scan(record(fresh, tuple(Status.PASS for _ in fresh), again))
        report = verify_store(store)
        assert report.ok, [str(p) for p in report.problems]
        assert store.load_scan("latest").digest == digest
        assert len(store.load_scan("latest").record.evidence_ids) == 12
        # No duplicates: the 13 items once each in the index and once in the locker, and every object
        # the killed writer had put in place is indexed now (only its temporary files remain, as notes).
        assert store.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM evidence") == [(13, 13)]
        indexed = {str(row[0]) for row in store.query("SELECT id FROM evidence")}
        assert store.locker.digests("evidence") == indexed
        assert not [note for note in report.notes if "not in the index" in note], report.notes
