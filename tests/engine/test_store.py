"""The evidence store: content addressing, the hash chain, verify naming the first broken item."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from annexa.cli.main import main
from annexa.model.diagnostics import Position, Span
from annexa.model.evidence import Evidence, canonical_json, sha256_hex
from annexa.model.findings import ControlResult, ControlStatus, Finding, Severity, Status, Waiver
from annexa.store import (
    CollectionStatus,
    ScanRecord,
    Store,
    StoreError,
    finding_to_manifest,
    new_scan_id,
    open_store,
    verify_store,
)

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def endpoint(name: str, capture: bool, at: datetime = T0) -> Evidence:
    return Evidence(
        kind="aws.sagemaker.endpoint",
        source=f"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/{name}",
        scope={"account": "123456789012", "region": "eu-west-1"},
        collector="aws 0.3.0",
        collected_at=at,
        data={"name": name, "data_capture": {"enabled": capture, "sampling_percent": 0.5}},
    )


def finding_for(item: Evidence, status: Status, *, waived: bool = False) -> Finding:
    return Finding(
        rule_id="A.6.2.8/endpoint_data_capture",
        control_id="A.6.2.8",
        status=status,
        severity=Severity.HIGH,
        message=f"endpoint {item.data['name']} data capture",
        subject=item.source,
        rule_span=Span("rules/annex_a/a_6_2_8.rule", Position(3, 5), Position(12, 6)),
        evidence=(item.ref(),),
        witness={"x.data_capture": item.data["data_capture"]},
        missing=("x.tags.owner",),
        remediation="enable data capture",
        waiver=Waiver(justification="retiring", approved_by="CISO", expires="2027-03-31") if waived else None,
        note=None,
    )


def record(items: tuple[Evidence, ...], statuses: tuple[Status, ...], at: datetime = T0) -> ScanRecord:
    findings = tuple(finding_for(item, status) for item, status in zip(items, statuses, strict=True))
    worst = ControlStatus.FAIL if Status.FAIL in statuses else ControlStatus.PASS
    return ScanRecord(
        scan_id=new_scan_id(at),
        started_at=at,
        finished_at=at + timedelta(seconds=3),
        rule_pack_digest="a" * 64,
        config_digest="b" * 64,
        evidence_ids=tuple(sorted(item.id for item in items)),  # the manifest sorts them
        findings=findings,
        controls=(
            ControlResult(
                id="A.6.2.8",
                title="AI system recording of event logs",
                group="A.6",
                status=worst,
                rules=("A.6.2.8/endpoint_data_capture",),
                counts={"fail": statuses.count(Status.FAIL), "pass": statuses.count(Status.PASS)},
            ),
        ),
        collection=(
            CollectionStatus(
                collector="aws", scope={"account": "123456789012"}, kind="aws.sagemaker.endpoint"
            ),
            CollectionStatus(collector="aws", scope={"account": "9"}, kind="aws.s3.bucket", error="Denied"),
        ),
        collector_versions={"aws": "0.3.0"},
    )


def three_scans(store: Store) -> list[str]:
    digests = []
    for day in range(3):
        items = store.put_evidence([endpoint("fraud", capture=day > 0, at=T0 + timedelta(days=day))])
        status = Status.PASS if day > 0 else Status.FAIL
        digests.append(store.record_scan(record(items, (status,), at=T0 + timedelta(days=day))))
    return digests


def test_evidence_is_stored_content_addressed(tmp_path: Path) -> None:
    store = open_store(tmp_path / ".annexa")
    item = endpoint("fraud", capture=False)
    (stored,) = store.put_evidence([item])
    assert stored is item  # nothing to redact: the very same object
    path = tmp_path / ".annexa" / "evidence" / item.id[:2] / f"{item.id}.json"
    assert path.read_bytes() == item.canonical()
    assert sha256_hex(path.read_bytes()) == item.id
    store.put_evidence([item, item])  # idempotent
    assert len(list((tmp_path / ".annexa" / "evidence").rglob("*.json"))) == 1
    loaded = store.load_evidence(item.id)
    assert loaded == item
    assert loaded.id == item.id


def test_scan_round_trips_findings_and_controls(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    items = store.put_evidence([endpoint("a", False), endpoint("b", True)])
    rec = record(items, (Status.FAIL, Status.PASS))
    rec = replace(rec, findings=(finding_for(items[0], Status.FAIL, waived=True), rec.findings[1]))
    digest = store.record_scan(rec)
    scan = store.load_scan("latest")
    assert scan.digest == digest
    assert scan.seq == 1
    assert scan.previous is None
    assert scan.record == rec  # Finding objects, waiver, span end, controls, collection all come back
    assert scan.record.collected_by_kind() == {
        "aws.sagemaker.endpoint": None,
        "aws.s3.bucket": "aws {'account': '9'}: Denied",
    }
    assert store.evidence_of(scan) == tuple(sorted(items, key=lambda i: i.id))
    manifest = json.loads((tmp_path / "s" / "manifests" / digest[:2] / f"{digest}.json").read_bytes())
    assert manifest["schema_version"] == 2
    assert "findings" not in manifest  # named by digest: an object of their own, the list's canonical JSON
    named = manifest["findings_object"]
    assert named["count"] == 2
    stored = (tmp_path / "s" / "findings" / named["sha256"][:2] / f"{named['sha256']}.json").read_bytes()
    assert sha256_hex(stored) == named["sha256"]
    assert stored == canonical_json([finding_to_manifest(f) for f in rec.findings])
    assert manifest["collection"][1] == {
        "collector": "aws", "scope": {"account": "9"}, "kind": "aws.s3.bucket",
        "status": "error", "error": "Denied",
    }  # fmt: skip
    assert sha256_hex(canonical_json(manifest)) == digest


def test_history_chain_and_references(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    digests = three_scans(store)
    history = store.scans()
    assert [s.digest for s in history] == digests
    assert [s.previous for s in history] == [None, digests[0], digests[1]]
    assert history[0].counts["fail"] == 1
    assert history[2].counts["pass"] == 1
    assert store.load_scan("latest~1").digest == digests[1]
    assert store.load_scan(digests[0][:10]).digest == digests[0]
    assert store.load_scan(history[2].scan_id).digest == digests[2]
    with pytest.raises(StoreError, match="no scan matches"):
        store.load_scan("ffffffffffff0")
    with pytest.raises(StoreError, match="matches 3 scans"):
        store.load_scan("2026")
    with pytest.raises(StoreError, match="bad scan reference"):
        store.load_scan("latest~x")
    with pytest.raises(StoreError, match="fewer scans"):
        store.load_scan("latest~3")
    duplicate = store.load_scan(digests[0]).record
    with pytest.raises(StoreError, match="two findings for rule"):
        store.record_scan(replace(duplicate, scan_id="dup", findings=duplicate.findings * 2))
    with pytest.raises(StoreError, match="already recorded"):
        store.record_scan(store.load_scan(digests[0]).record)
    report = verify_store(store)
    assert report.ok, report.problems
    assert (report.scans_checked, report.evidence_checked) == (3, 3)
    assert (tmp_path / "s" / "HEAD").read_text().strip() == digests[2]


def test_record_refuses_evidence_not_in_store(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    with pytest.raises(StoreError, match="not in the store"):
        store.record_scan(record((endpoint("a", False),), (Status.FAIL,)))
    assert store.scans() == ()


def test_verify_names_a_tampered_evidence_file(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    three_scans(store)
    victim = store.load_scan("latest~1").record.evidence_ids[0]
    path = tmp_path / "s" / "evidence" / victim[:2] / f"{victim}.json"
    path.write_bytes(path.read_bytes().replace(b'"enabled":true', b'"enabled":false'))
    report = verify_store(store)
    assert not report.ok
    first = report.first_problem
    assert first is not None
    assert first.path == f"evidence/{victim[:2]}/{victim}.json"
    assert first.expected == victim
    assert first.actual == sha256_hex(path.read_bytes())
    assert len(report.problems) == 1
    with pytest.raises(StoreError, match="tampered"):
        store.load_evidence(victim)
    # Verifying only the first scan does not touch that evidence, so it passes.
    assert verify_store(store, store.scans()[0].scan_id).ok


def test_verify_names_a_tampered_manifest(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    digests = three_scans(store)
    path = tmp_path / "s" / "manifests" / digests[1][:2] / f"{digests[1]}.json"
    path.write_bytes(path.read_bytes().replace(b'"status":"pass"', b'"status":"fail"'))
    report = verify_store(store)
    first = report.first_problem
    assert first is not None
    assert first.path == f"manifests/{digests[1][:2]}/{digests[1]}.json"
    assert "scan #2" in first.message
    assert (first.expected, first.actual) == (digests[1], sha256_hex(path.read_bytes()))


def test_rewritten_manifest_with_fixed_name_breaks_the_next_link(tmp_path: Path) -> None:
    """A forger who rewrites a manifest and renames it (and the index) still breaks scan 3's link."""
    store = open_store(tmp_path / "s")
    digests = three_scans(store)
    old = tmp_path / "s" / "manifests" / digests[1][:2] / f"{digests[1]}.json"
    raw = json.loads(old.read_bytes())
    findings = list(store.manifest_findings(raw))
    findings[0]["status"] = "fail"  # a new findings object, named in the rewritten manifest
    raw["findings_object"]["sha256"] = sha256_hex(canonical_json(findings))
    store.locker.put("findings", raw["findings_object"]["sha256"], canonical_json(findings))
    payload = canonical_json(raw)
    forged = sha256_hex(payload)
    new = tmp_path / "s" / "manifests" / forged[:2] / f"{forged}.json"
    new.parent.mkdir(exist_ok=True)
    new.write_bytes(payload)
    old.unlink()
    with sqlite3.connect(tmp_path / "s" / "index.sqlite") as db:
        db.execute("UPDATE scans SET manifest = ? WHERE seq = 2", (forged,))
        db.execute("UPDATE scans SET previous = ? WHERE seq = 3", (forged,))
        db.execute("UPDATE findings SET status = 'fail' WHERE scan_seq = 2")
    report = verify_store(store)
    first = report.first_problem
    assert first is not None
    assert first.path == f"manifests/{digests[2][:2]}/{digests[2]}.json"
    assert "chain broken" in first.message
    assert (first.expected, first.actual) == (forged, digests[1])


def test_verify_detects_a_deleted_index_row(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    digests = three_scans(store)
    with sqlite3.connect(tmp_path / "s" / "index.sqlite") as db:
        db.execute("DELETE FROM findings WHERE scan_seq = 2")
        db.execute("DELETE FROM scan_evidence WHERE scan_seq = 2")
        db.execute("DELETE FROM scans WHERE seq = 2")
    report = verify_store(store)
    assert not report.ok
    messages = [str(p) for p in report.problems]
    assert "gap in the sequence" in messages[0]
    assert any("chain broken" in m and digests[1] in m for m in messages)


def test_verify_detects_reordered_history(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    three_scans(store)
    with sqlite3.connect(tmp_path / "s" / "index.sqlite") as db:
        db.execute("PRAGMA foreign_keys=OFF")
        for a, b in ((2, -2), (3, 2), (-2, 3)):
            db.execute("UPDATE scans SET seq = ? WHERE seq = ?", (b, a))
            db.execute("UPDATE findings SET scan_seq = ? WHERE scan_seq = ?", (b, a))
    report = verify_store(store)
    assert not report.ok
    assert "scan #2" in report.problems[0].message


def test_verify_detects_truncated_history_and_edited_index(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    three_scans(store)
    with sqlite3.connect(tmp_path / "s" / "index.sqlite") as db:
        db.execute("UPDATE findings SET status = 'pass' WHERE scan_seq = 1")
    report = verify_store(store)
    assert [p.path for p in report.problems] == ["index.sqlite"]
    assert "indexed findings differ" in report.problems[0].message
    with sqlite3.connect(tmp_path / "s" / "index.sqlite") as db:
        db.execute("UPDATE findings SET status = 'fail' WHERE scan_seq = 1")
        db.execute("DELETE FROM findings WHERE scan_seq = 3")
        db.execute("DELETE FROM scan_evidence WHERE scan_seq = 3")
        db.execute("DELETE FROM scans WHERE seq = 3")
    report = verify_store(store)
    assert [p.path for p in report.problems] == ["HEAD"]


def test_orphans_are_notes_not_problems(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    three_scans(store)
    orphan = canonical_json({"schema_version": 1, "interrupted": True})
    digest = sha256_hex(orphan)
    (tmp_path / "s" / "manifests" / digest[:2]).mkdir(exist_ok=True)
    (tmp_path / "s" / "manifests" / digest[:2] / f"{digest}.json").write_bytes(orphan)
    (tmp_path / "s" / "evidence" / digest[:2]).mkdir(exist_ok=True)
    (tmp_path / "s" / "evidence" / digest[:2] / f".{digest}.json.x.tmp").write_bytes(b"{")
    report = verify_store(store)
    assert report.ok, report.problems
    assert any("1 manifest file(s) without an index row" in n for n in report.notes)
    assert any("temporary file" in n for n in report.notes)


def test_two_processes_recording_concurrently_keep_the_chain_linear(tmp_path: Path) -> None:
    root = tmp_path / "s"
    open_store(root).close()
    script = f"""
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_store import endpoint, record
from annexa.model.findings import Status
from annexa.store import Store, open_store
store = open_store({str(root)!r})
for n in range(15):
    at = datetime(2026, 11, 22, tzinfo=UTC) + timedelta(minutes=n)
    items = store.put_evidence([endpoint(sys.argv[1] + str(n), n % 2 == 0, at)])
    store.record_scan(record(items, (Status.PASS,), at))
"""
    writers = [subprocess.Popen([sys.executable, "-c", script, name]) for name in ("left", "right")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    store = open_store(root)
    history = store.scans()
    assert len(history) == 30
    assert [s.seq for s in history] == list(range(1, 31))
    assert [s.previous for s in history[1:]] == [s.digest for s in history[:-1]]
    report = verify_store(store)
    assert report.ok, report.problems
    assert report.notes == ()


def test_cli_verify_history_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "s"
    store = open_store(root)
    digests = three_scans(store)
    store.close()
    assert main(["verify", "--store", str(root)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["history", "--store", str(root), "--format", "json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [s["manifest"] for s in history["scans"]] == digests
    assert main(["history", "--store", str(root)]) == 0
    assert digests[2][:12] in capsys.readouterr().out
    assert main(["diff", digests[0][:12], digests[1][:12], "--store", str(root), "--format", "json"]) == 0
    drift = json.loads(capsys.readouterr().out)
    assert drift["counts"]["fixed"] == 1
    assert main(["diff", "--store", str(root)]) == 0
    assert "fixed" in capsys.readouterr().out
    victim = next((root / "evidence").rglob("*.json"))
    victim.write_bytes(victim.read_bytes() + b" ")
    assert main(["verify", "--store", str(root)]) == 1
    out = capsys.readouterr().out
    assert "BROKEN" in out
    assert victim.relative_to(root).as_posix() in out
    assert main(["verify", "--store", str(tmp_path / "nowhere")]) == 4
    assert not (tmp_path / "nowhere").exists()


def test_atomic_writes_get_the_mode_a_plain_open_would(tmp_path: Path) -> None:
    import os

    from annexa.files.atomic import atomic_write_text

    atomic_write_text(tmp_path / "report.html", "<p>hi</p>")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o666 & ~umask
