"""The shared store: a real PostgreSQL server on 127.0.0.1 as the index, S3 on moto (or a folder) as the
evidence locker. ``annexa verify`` checks it exactly as it checks the embedded directory store.

The PostgreSQL server comes from Debian's ``postgresql`` package (``make test`` installs it): the
module fixture runs ``initdb`` into a temporary folder and starts ``postgres`` on a free loopback port,
as the ``postgres`` user when the tests run as root (the server refuses to run as root).
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from annexa.cli.main import main
from annexa.model.evidence import canonical_json
from annexa.store import StoreError, open_store, verify_store
from annexa.store.postgres import PostgresStore, redact_url

psycopg = pytest.importorskip("psycopg")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = "2026-11-23T00:00:00Z"
ANNEXA = Path(sys.executable).parent / "annexa"


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql package")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of our own on 127.0.0.1; yields its URL without a database name."""
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="annexa-pg-"))
    data = base / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root: run it as the package's postgres user
        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    log = (base / "server.log").open("wb")
    server = subprocess.Popen(
        [*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
         "-k", str(base), "-c", "fsync=off", "-c", "max_connections=50"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"postgresql://postgres@127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(f"{url}/postgres", connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "stop", "-m", "fast", "-w"],
                       capture_output=True, check=False)  # fmt: skip
        server.wait(timeout=60)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def database(postgres_url: str) -> str:
    """A fresh, empty database on the server; returns its URL."""
    name = f"annexa_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return f"{postgres_url}/{name}"


def lock_bucket(bucket: str, *, object_lock: bool) -> Any:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=object_lock)
    if object_lock:
        s3.put_object_lock_configuration(
            Bucket=bucket,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}},
            },
        )
    return s3


def example_config(tmp_path: Path, store: dict[str, str]) -> Path:
    """The demo estate (examples/) with the given store block."""
    for folder in ("governance", "attestations"):
        if not (tmp_path / folder).exists():
            shutil.copytree(EXAMPLES / folder, tmp_path / folder)
    raw = yaml.safe_load((EXAMPLES / "annexa.yaml").read_text(encoding="utf-8"))
    # Only the file collectors: the demo's AWS and MLflow servers are not running here.
    raw["collectors"] = {name: raw["collectors"][name] for name in ("documents", "attestations")}
    raw["store"] = store
    path = tmp_path / f"annexa-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def scan(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["scan", "-c", str(config), "--now", NOW, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def findings_digest(result: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(result["findings"])).hexdigest()


# -- the shared store end to end ---------------------------------------------------------------------------


@pytest.mark.slow
def test_scan_into_postgres_and_s3_with_object_lock_verifies_like_a_directory_store(
    tmp_path: Path, database: str, aws_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = lock_bucket("annexa-evidence", object_lock=True)
    local_code, local = scan(example_config(tmp_path, {"path": "./local"}), capsys)
    shared_config = example_config(tmp_path, {"url": database, "evidence": "s3://annexa-evidence/acme"})
    code, shared = scan(shared_config, capsys)
    assert code == local_code
    assert findings_digest(shared) == findings_digest(local)
    assert shared["scan"]["store"] == database

    assert main(["verify", "--store", database, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["scans_checked"] == 1
    assert report["evidence_checked"] > 20
    assert report["notes"] == [
        "objects in bucket annexa-evidence are under Object Lock (GOVERNANCE, 30 days)"
    ]

    # Every evidence item and the manifest carry the bucket's retention; HEAD names the scan.
    with open_store(database, create=False) as store:
        assert isinstance(store, PostgresStore)
        latest = store.load_scan()
        evidence_id = latest.record.evidence_ids[0]
        mode, until = store.locker.object_lock("evidence", evidence_id)  # type: ignore[attr-defined]
        assert mode == "GOVERNANCE"
        assert until is not None
        assert store.locker.object_lock("manifests", latest.digest)[0] == "GOVERNANCE"  # type: ignore[attr-defined]
        assert store.read_head() == latest.digest
        assert store.load_evidence(evidence_id).id == evidence_id
    head = s3.get_object(Bucket="annexa-evidence", Key="acme/HEAD")["Body"].read().decode().strip()
    assert head == latest.digest

    # The other commands read the shared store from its URL alone.
    assert main(["history", "--store", database]) == 0
    assert latest.record.scan_id in capsys.readouterr().out


@pytest.mark.slow
def test_verify_names_tampering_in_the_locker_and_in_the_index(
    tmp_path: Path, database: str, aws_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = lock_bucket("plain-evidence", object_lock=False)
    config = example_config(tmp_path, {"url": database, "evidence": "s3://plain-evidence"})
    scan(config, capsys)
    scan(config, capsys)
    with open_store(database, create=False) as store:
        assert verify_store(store).notes == (
            "bucket plain-evidence has no Object Lock retention: its objects are protected by their "
            "digests only",
        )
        target = store.load_scan().record.evidence_ids[3]
    key = f"evidence/{target[:2]}/{target}.json"
    s3.put_object(Bucket="plain-evidence", Key=key, Body=b'{"forged": true}')
    assert main(["verify", "--store", database]) == 1
    out = capsys.readouterr().out
    assert f"first broken item: s3://plain-evidence/{key}: evidence content does not match its digest" in out

    with psycopg.connect(database, autocommit=True) as db:
        db.execute("UPDATE findings SET status = 'pass' WHERE scan_seq = 1 AND status = 'fail'")
        db.execute("DELETE FROM scan_evidence WHERE scan_seq = 2")
        db.execute("DELETE FROM findings WHERE scan_seq = 2")
        db.execute("DELETE FROM scans WHERE seq = 2")
    with open_store(database, create=False) as store:
        problems = [str(p) for p in verify_store(store).problems]
    assert any("postgresql index: scan #1" in p and "indexed findings differ" in p for p in problems)
    assert any(p.startswith("HEAD: HEAD names a scan that is not in the index") for p in problems)


def test_opening_a_shared_store_says_what_is_wrong(tmp_path: Path, database: str) -> None:
    with pytest.raises(StoreError, match="no annexa store at"):
        open_store(database, create=False)
    with pytest.raises(StoreError, match=r"has no evidence locker yet: set store\.evidence"):
        open_store(database)
    open_store(database, evidence=str(tmp_path / "locker")).close()
    with pytest.raises(StoreError, match=r"keeps its evidence in .*locker, not s3://elsewhere"):
        open_store(database, evidence="s3://elsewhere")
    with open_store(database) as store:  # the index remembers its locker
        assert store.scans() == ()
    unreachable = "postgresql://annexa:s3cret@127.0.0.1:9/nothing"
    with pytest.raises(StoreError, match="cannot open store") as caught:
        open_store(unreachable)
    assert "s3cret" not in str(caught.value)
    assert redact_url(unreachable) == "postgresql://annexa:***@127.0.0.1:9/nothing"
    with pytest.raises(StoreError, match=r"store.evidence .* needs a shared store"):
        open_store(tmp_path / "dir", evidence="s3://bucket")


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ({"path": "./x", "url": "postgresql://h/db"}, "either path (a folder) or url (postgresql://...)"),
        ({"path": "./x", "evidence": "s3://b"}, "either path (a folder) or url (postgresql://...)"),
        ({"url": "mysql://h/db"}, "expected a PostgreSQL URL such as"),
    ],
)
def test_config_rejects_a_store_block_that_mixes_backends(
    tmp_path: Path, store: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = example_config(tmp_path, store)
    assert main(["scan", "-c", str(config), "--now", NOW]) == 4  # usage error: bad configuration
    assert message in capsys.readouterr().err


# -- concurrent scans --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["directory", "postgresql"])
def test_concurrent_scans_into_one_store_all_complete_in_one_verifiable_chain(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "postgresql":
        url = request.getfixturevalue("database")
        block = {"url": url, "evidence": str(tmp_path / "locker")}
        location = url
    else:
        block = {"path": str(tmp_path / "store")}
        location = str(tmp_path / "store")
    config = example_config(tmp_path, block)
    scanners = [
        subprocess.Popen(
            [str(ANNEXA), "scan", "-c", str(config), "--now", NOW, "--format", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "CI": "1"},
        )
        for _ in range(2)
    ]
    outputs = [scanner.communicate(timeout=240) for scanner in scanners]
    codes = {scanner.returncode for scanner in scanners}
    assert len(codes) == 1
    assert codes <= {0, 1}, [err.decode() for _, err in outputs]
    results = [json.loads(out) for out, _ in outputs]
    assert len({findings_digest(r) for r in results}) == 1
    with open_store(location, create=False) as store:
        history = store.scans()
        assert [s.seq for s in history] == [1, 2]
        assert {s.scan_id for s in history} == {r["scan"]["id"] for r in results}
        assert [s.previous for s in history] == [None, *(s.digest for s in history[:-1])]
        report = verify_store(store)
        assert report.ok, [str(p) for p in report.problems]
        assert store.read_head() == history[-1].digest


# -- batched index rows ------------------------------------------------------------------------------------


def test_evidence_rows_copied_in_batches_skip_what_is_indexed_and_record_every_finding(
    tmp_path: Path, database: str
) -> None:
    """put_evidence COPYs its rows through a staging table: items repeated within one call, items another
    client (a connection of its own) indexed first, and the next scan's findings and evidence list,
    which record_scan COPYs too, each land exactly once."""
    sys.path.insert(0, str(Path(__file__).parent))
    from datetime import UTC, datetime

    from test_store import endpoint, record

    from annexa.model.findings import Status

    at = datetime(2026, 11, 22, tzinfo=UTC)
    items = [endpoint(f"copy-{i}", i % 2 == 0, at) for i in range(90)]
    with (
        open_store(database, evidence=str(tmp_path / "locker")) as first,
        open_store(database) as second,
    ):
        first.put_evidence(items[:60])
        stored = second.put_evidence([*items[30:], *items[30:40]])  # 30 indexed already, 10 given twice
        assert [i.id for i in stored] == [i.id for i in [*items[30:], *items[30:40]]]
        rows = second.query("SELECT COUNT(*), COUNT(DISTINCT id) FROM evidence")
        assert rows == [(90, 90)]
        assert {r[0] for r in second.query("SELECT id FROM evidence")} == {i.id for i in items}
        # The staging table is the session's own and empty once the transaction commits.
        assert first.query("SELECT COUNT(*) FROM evidence_staging") == [(0,)]
        everything = first.put_evidence(items)  # all indexed: nothing new, no error
        first.record_scan(record(everything, tuple(Status.PASS for _ in everything), at))
        latest = second.load_scan("latest")
        assert len(latest.record.findings) == 90
        assert second.query("SELECT COUNT(*) FROM findings") == [(90,)]
        assert second.query("SELECT COUNT(*), COUNT(DISTINCT evidence_id) FROM scan_evidence") == [(90, 90)]
        assert second.scans()[-1].counts["pass"] == 90
        report = verify_store(second)
        assert report.ok, [str(p) for p in report.problems]
