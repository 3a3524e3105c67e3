"""Packs: a batch of many new evidence objects stored in one file, read back and verified like loose ones."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import pytest
from test_store import T0, endpoint, record  # shared builders, same folder

from annexa.model.evidence import Evidence, sha256_hex
from annexa.model.findings import Status
from annexa.store import StoreError, open_store, verify_store
from annexa.store import locker as locker_module

MANY = locker_module._PACK_MIN + 44  # the real threshold: a batch this size is packed


def items(count: int, prefix: str = "ep") -> list[Evidence]:
    return [endpoint(f"{prefix}-{i}", i % 3 == 0, T0 + timedelta(seconds=i)) for i in range(count)]


def packs(root: Path) -> list[Path]:
    return sorted((root / "evidence" / "packs").glob("*.pack"))


def loose(root: Path) -> list[Path]:
    return sorted(path for path in (root / "evidence").glob("*/*.json"))


def test_a_large_batch_is_one_pack_read_back_by_any_process(tmp_path: Path) -> None:
    root = tmp_path / "s"
    batch = items(MANY)
    with open_store(root) as store:
        stored = store.put_evidence(batch)
        assert stored == tuple(batch)
        (pack,) = packs(root)
        assert not loose(root)
        assert pack.stem == hashlib.sha256(pack.read_bytes()).hexdigest()  # named by its content
        digest = store.record_scan(record(stored, tuple(Status.PASS for _ in stored)))
    with open_store(root, create=False) as store:  # a fresh process's view: the pack read from disk
        assert [store.load_evidence(item.id) for item in batch] == batch
        assert store.object_digests("evidence") == {item.id for item in batch}
        report = verify_store(store)
        assert report.ok, [str(p) for p in report.problems]
        assert report.evidence_checked == MANY
        assert store.load_scan("latest").digest == digest
        # Stored again (a rerun) with a few new ones: nothing written twice, the few new go loose.
        store.put_evidence([*batch, *items(3, "more")])
        assert len(packs(root)) == 1
        assert len(loose(root)) == 3
        assert store.query("SELECT COUNT(*) FROM evidence") == [(MANY + 3,)]
        assert verify_store(store).ok


def test_a_pack_written_by_another_writer_is_found(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with open_store(root) as reader, open_store(root) as writer:
        assert not reader.has_object("evidence", items(1)[0].id)
        stored = writer.put_evidence(items(MANY))
        assert reader.has_object("evidence", stored[-1].id)
        assert reader.load_evidence(stored[0].id) == stored[0]


def test_verify_names_an_object_changed_inside_a_pack(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with open_store(root) as store:
        stored = store.put_evidence(items(MANY))
        store.record_scan(record(stored, tuple(Status.PASS for _ in stored)))
    (pack,) = packs(root)
    victim = stored[7]
    payload = pack.read_bytes()
    assert payload.count(b'"ep-7"') == 1
    pack.write_bytes(payload.replace(b'"ep-7"', b'"ep-8"'))  # same length: the other entries stay put
    with open_store(root) as store:
        report = verify_store(store)
        assert not report.ok
        label = f"evidence/packs/{pack.name}:{victim.id}"
        changed = [p for p in report.problems if p.path == label]
        assert len(changed) == 1
        assert changed[0].expected == victim.id
        assert changed[0].actual != victim.id
        assert [p.path for p in report.problems if "pack content does not match its name" in p.message] == [
            f"evidence/packs/{pack.name}"
        ]
        assert len(report.problems) == 2
        with pytest.raises(StoreError, match="tampered"):
            store.load_evidence(victim.id)
        assert store.load_evidence(stored[8].id) == stored[8]


def test_verify_names_a_pack_with_bytes_added_or_a_broken_table(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with open_store(root) as store:
        stored = store.put_evidence(items(MANY))
        store.record_scan(record(stored, tuple(Status.PASS for _ in stored)))
    (pack,) = packs(root)
    original = pack.read_bytes()
    pack.write_bytes(original + b"\n")  # every object still hashes right: only the pack's name tells
    with open_store(root) as store:
        report = verify_store(store)
        assert [str(p.path) for p in report.problems] == [f"evidence/packs/{pack.name}"]
    pack.write_bytes(original.replace(stored[0].id.encode(), b"x" * 64, 1))  # the table of contents
    with open_store(root) as store:
        report = verify_store(store)
        assert not report.ok
        assert any(p.path == f"evidence/packs/{pack.name}" and "not readable" in p.message
                   for p in report.problems)  # fmt: skip
        # Its objects are gone from the locker, and the scan that cites them is told so.
        assert any("cited by a scan is missing" in p.message for p in report.problems)


def test_a_small_batch_stays_loose(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with open_store(root) as store:
        store.put_evidence(items(locker_module._PACK_MIN - 1))
    assert not packs(root)
    assert len(loose(root)) == locker_module._PACK_MIN - 1
    assert all(sha256_hex(path.read_bytes()) == path.stem for path in loose(root))


def test_items_stored_again_by_the_same_store_come_back_as_stored(tmp_path: Path) -> None:
    """A scan stores each task's items, then the whole collection again (the same objects)."""
    secret = Evidence(
        kind="aws.ecs.task_definition",
        source="arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3",
        scope={"account": "123456789012"},
        collector="aws 0.3.0",
        collected_at=T0,
        data={"environment": [{"name": "DB_PASSWORD", "value": "hunter2hunter2"}]},
    )
    batch = [*items(3), secret]
    with open_store(tmp_path / "s") as store:
        first = store.put_evidence(batch)
        again = store.put_evidence(batch)
        assert again == first
        assert all(a is b for a, b in zip(again[:3], batch[:3], strict=True))  # nothing to redact: themselves
        assert again[3] != secret  # redacted each time
        assert "hunter2" not in again[3].canonical().decode()
        assert store.query("SELECT COUNT(*) FROM evidence") == [(4,)]
        # What the second call trusts is what this store object wrote: a file removed behind its back is
        # not written again, and recording a scan that cites it is refused, not recorded half-proven.
        victim = batch[0]
        (tmp_path / "s" / "evidence" / victim.id[:2] / f"{victim.id}.json").unlink()
        stored = store.put_evidence(batch)
        with pytest.raises(StoreError, match="not in the store"):
            store.record_scan(record(stored[:3], (Status.PASS,) * 3))
    with open_store(tmp_path / "s") as store:  # another store object stores it again
        stored = store.put_evidence(batch)
        store.record_scan(record(stored[:3], (Status.PASS,) * 3))
        assert verify_store(store).ok


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork: POSIX only")
def test_a_forked_child_reads_packed_objects_through_its_own_table(tmp_path: Path) -> None:
    """The table of packed objects is a SQLite database, which must not cross a fork: a forked child (the
    forked evaluation's, a Dask worker's) reads the packs into a table of its own and finds every object."""
    batch = items(MANY)
    with open_store(tmp_path / "s") as store:
        store.put_evidence(batch)
        assert store.load_evidence(batch[0].id) == batch[0]  # the parent's table in use before the fork
        child = os.fork()
        if child == 0:  # pragma: no cover  # the child's outcome is its exit status
            found = all(store.load_evidence(item.id) == item for item in batch)
            os._exit(0 if found and store.locker._packed._pid == os.getpid() else 1)  # type: ignore[attr-defined]
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert store.load_evidence(batch[-1].id) == batch[-1]  # the parent's table still answers
