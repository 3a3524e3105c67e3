"""A broken Dask cluster ends a scan with a clear error (exit 3), never a hang; a lost worker's task reruns.

Everything here is real: a scheduler on 127.0.0.1 (``distributed.LocalCluster`` with no workers of its own)
and ``dask worker`` processes that the tests start and SIGKILL. The workers find the test's collector the
way a user's workers find an installed plugin: an ``annexa`` entry point of a distribution on their path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from annexa.app.executors import ClusterError
from annexa.app.scan import collect
from annexa.app.wiring import make_host
from annexa.cli.main import main
from annexa.plugins.config import load_config
from annexa.store import open_store, verify_store

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 23, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# A collector with one task per part. The part "slow" writes the pid of the process running it to a log
# and, on its first attempt only, sleeps until it is killed; a rerun finishes at once.
PLUGIN = """
from __future__ import annotations

import os
import time
from pathlib import Path

from annexa.plugins import CollectorSpec, Evidence, hookimpl


class Sleepy:
    def collect(self, request):
        log = Path(request.config["log"])
        for part in request.config["parts"]:
            if part == "slow":
                first = not log.exists()
                with log.open("a", encoding="utf-8") as out:
                    out.write(f"{os.getpid()}\\n")
                if first:
                    time.sleep(300)
            yield Evidence(
                kind="sleepy.item",
                source=f"sleepy:{part}",
                scope={"part": part},
                collector="sleepy 1.0",
                collected_at=request.now,
                data={"part": part},
            )


@hookimpl
def annexa_collectors():
    return [
        CollectorSpec(
            name="sleepy",
            version="1.0",
            kinds={"sleepy.item": {"type": "object"}},
            config_schema={"type": "object"},
            factory=Sleepy,
            scopes=lambda config: [(part, {**config, "parts": [part]}) for part in config["parts"]],
        )
    ]
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding an installed-looking distribution with the ``sleepy`` collector plugin."""
    site = tmp_path_factory.mktemp("site")
    (site / "annexa_sleepy_probe.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    info = site / "annexa_sleepy_probe-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: annexa-sleepy-probe\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[annexa]\nsleepy = annexa_sleepy_probe\n")
    return site


@pytest.fixture
def scheduler() -> Iterator[Any]:
    """A scheduler with no workers of its own."""
    with distributed.LocalCluster(
        n_workers=0, host="127.0.0.1", dashboard_address="127.0.0.1:0", protocol="tcp"
    ) as cluster:
        yield cluster


class Workers:
    """``dask worker`` processes (no nanny, so a killed worker stays dead) with the plugin on their path."""

    def __init__(self, address: str, site: Path, log: Path) -> None:
        self.address, self.site, self.log = address, site, log
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int, client: Any) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(self.site), *sys.path])}
        for n in range(count):
            self.procs.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--no-nanny"),
                        *("--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard", "--name", f"w{n}"),
                    ],
                    env=env,
                    stdout=self.log.open("ab"),
                    stderr=subprocess.STDOUT,
                )
            )
        client.wait_for_workers(len(self.procs), timeout=60)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


@pytest.fixture
def workers(scheduler: Any, plugin_site: Path, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(scheduler.scheduler_address, plugin_site, tmp_path / "workers.log")
    try:
        yield started
    finally:
        started.stop()


def sleepy_config(tmp_path: Path, parts: list[str]) -> tuple[Any, Any]:
    path = tmp_path / "annexa.yaml"
    raw = {
        "version": 1,
        "store": {"path": "./store"},
        "collectors": {"sleepy": {"parts": parts, "log": str(tmp_path / "slow.log")}},
    }
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path, raw


def sleepy_host(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(plugin_site))  # this process loads the plugin as the workers do
    host = make_host()
    assert "sleepy" in host.collectors()
    return host


def kill_first_slow_attempt(log: Path, deadline_s: float = 60) -> int:
    """Wait for the slow part's first attempt and SIGKILL the worker process running it."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if log.exists() and log.read_text().strip():
            pid = int(log.read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.05)
    raise AssertionError("the slow part never started")


def run_in_thread(target: Any) -> tuple[Any, dict[str, Any]]:
    import threading

    outcome: dict[str, Any] = {}

    def body() -> None:
        started = time.monotonic()
        try:
            outcome["value"] = target()
        except BaseException as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, outcome


def test_a_scheduler_without_workers_ends_the_scan_with_exit_3(
    tmp_path: Path, scheduler: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    for folder in ("governance", "attestations"):
        shutil.copytree(EXAMPLES / folder, tmp_path / folder)
    raw = yaml.safe_load((EXAMPLES / "annexa.yaml").read_text(encoding="utf-8"))
    raw["collectors"] = {name: raw["collectors"][name] for name in ("documents", "attestations")}
    raw["store"] = {"path": "./store"}
    (tmp_path / "annexa.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    address = scheduler.scheduler_address.removeprefix("tcp://")
    started = time.monotonic()
    code = main(
        [
            *("scan", "-c", str(tmp_path / "annexa.yaml"), "--now", "2026-11-23T00:00:00Z"),
            *("--executor", f"dask://{address}", "--executor-timeout", "2"),
        ]
    )
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 3
    assert elapsed < 30
    assert f"the Dask scheduler at {scheduler.scheduler_address} has no worker" in err
    assert "has had none for 2 s" in err
    assert "collection task(s) cannot run" in err
    with open_store(tmp_path / "store", create=False) as store:
        assert store.scans() == ()  # nothing recorded for a scan that did not finish
    assert not scheduler.scheduler.tasks  # the scan's tasks were cancelled, not left queued


def test_bad_executor_timeout_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "annexa.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "store": {"path": "./store"}}), encoding="utf-8")
    code = main(["scan", "-c", str(path), "--executor", "dask://127.0.0.1:9", "--executor-timeout", "0"])
    assert code == 4
    assert "bad executor timeout 0" in capsys.readouterr().err


def test_when_every_worker_dies_the_scan_stops_within_the_timeout(
    tmp_path: Path, scheduler: Any, workers: Workers, plugin_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from annexa.app.dask_executor import DaskExecutor

    path, _ = sleepy_config(tmp_path, ["slow"])
    host = sleepy_host(plugin_site, monkeypatch)
    config = load_config(path, host)
    executor = DaskExecutor.connect(scheduler.scheduler_address, timeout=3)
    try:
        workers.start(1, executor.client)
        thread, outcome = run_in_thread(
            lambda: collect(config, host, {"sleepy": frozenset({"sleepy.item"})}, now=NOW, executor=executor)
        )
        kill_first_slow_attempt(tmp_path / "slow.log")
        thread.join(timeout=60)
        assert not thread.is_alive(), "the scan hung on a cluster without workers"
    finally:
        executor.close()
    error = outcome.get("error")
    assert isinstance(error, ClusterError), outcome
    assert "has no worker and has had none for 3 s: 1 of 1 collection task(s) cannot run" in str(error)
    assert outcome["seconds"] < 40


def test_a_worker_killed_mid_task_has_its_task_rerun_and_nothing_stored_twice(
    tmp_path: Path, scheduler: Any, workers: Workers, plugin_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from annexa.app.dask_executor import DaskExecutor

    parts = ["north", "slow", "east", "west"]
    path, _ = sleepy_config(tmp_path, parts)
    host = sleepy_host(plugin_site, monkeypatch)
    config = load_config(path, host)
    executor = DaskExecutor.connect(scheduler.scheduler_address, timeout=20)

    def scan() -> Any:  # in its own thread, which owns the store's connection
        with open_store(tmp_path / "store") as store:
            collection = collect(
                config,
                host,
                {"sleepy": frozenset({"sleepy.item"})},
                now=NOW,
                executor=executor,
                on_evidence=store.put_evidence,  # each task's evidence as it comes in
            )
            store.put_evidence(collection.evidence)
            return collection

    try:
        workers.start(2, executor.client)
        thread, outcome = run_in_thread(scan)
        killed = kill_first_slow_attempt(tmp_path / "slow.log")
        thread.join(timeout=120)
        assert not thread.is_alive()
    finally:
        executor.close()
    assert "error" not in outcome, outcome
    collection = outcome["value"]
    attempts = [int(pid) for pid in (tmp_path / "slow.log").read_text().split()]
    assert len(attempts) == 2
    assert attempts[0] == killed
    assert attempts[1] != killed  # rerun on the other worker
    assert sorted(e.data["part"] for e in collection.evidence) == sorted(parts)
    assert collection.collected == {"sleepy.item": None}
    assert collection.gaps == {}
    with open_store(tmp_path / "store", create=False) as store:
        rows = store.query("SELECT kind, source, COUNT(*) FROM evidence GROUP BY kind, source")
        assert sorted((str(r[1]), int(r[2])) for r in rows) == sorted((f"sleepy:{p}", 1) for p in parts)
        assert len(store.object_digests("evidence")) == len(parts)
        assert verify_store(store).ok


def test_a_worker_killed_mid_evaluation_has_its_partition_rerun_with_the_same_findings(
    tmp_path: Path, scheduler: Any, workers: Workers
) -> None:
    import hashlib
    import sys as system

    from annexa.app.dask_executor import DaskExecutor
    from annexa.app.wiring import kind_registry
    from annexa.lang.language import evaluate
    from annexa.model.evidence import canonical_json

    system.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import bench_scale

    host, _, ruleset, demo = bench_scale.seed_evidence(tmp_path / "estate")
    seed = bench_scale.synthetic_estate(demo, 3000)  # big enough for the partitions to be seen running
    collected = dict.fromkeys(ruleset.kinds_read)

    def digest(findings: Any) -> str:
        return hashlib.sha256(canonical_json([f.to_dict() for f in findings])).hexdigest()

    executor = DaskExecutor.connect(scheduler.scheduler_address, timeout=20)
    try:
        workers.start(2, executor.client)
        pids = executor.client.run(os.getpid)
        thread, outcome = run_in_thread(
            lambda: executor.evaluate(
                ruleset, kind_registry(host), seed, now=NOW, collected=collected, host=host, parts=2
            )
        )
        killed = None
        end = time.monotonic() + 60
        while killed is None and time.monotonic() < end and thread.is_alive():
            for address, keys in executor.client.processing().items():
                if any(str(key).startswith("annexa-evaluate-") for key in keys):
                    os.kill(pids[address], signal.SIGKILL)  # compiling or evaluating its partition
                    killed = address
                    break
            time.sleep(0.01)
        thread.join(timeout=120)
        assert not thread.is_alive()
        assert killed is not None, "no partition was seen running"
        assert killed not in executor.client.nthreads()  # it is gone; the other worker finished the work
    finally:
        executor.close()
    assert "error" not in outcome, outcome
    assert digest(outcome["value"]) == digest(evaluate(ruleset, seed, now=NOW, collected=collected))
