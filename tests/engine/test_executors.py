"""Collection executors: the local thread pool and Dask give the same findings, to the digest.

The Dask tests run a real ``distributed.LocalCluster`` of two worker processes on 127.0.0.1: tasks are
pickled, shipped and run by collectors the workers resolve from their own plugins.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from annexa.app.executor_choice import open_executor
from annexa.app.executors import (
    CollectionTask,
    ExecutorError,
    LocalExecutor,
    run_task,
)
from annexa.app.scan import Collection, apply_policy, collect, collection_tasks, compile_for, plan
from annexa.app.wiring import make_host
from annexa.cli.main import main
from annexa.lang.language import evaluate
from annexa.model.evidence import canonical_json
from annexa.model.findings import Finding
from annexa.plugins import CollectorError, CollectorSpec, CollectRequest, Evidence, hookimpl
from annexa.plugins.config import load_config
from annexa.store import open_store, verify_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def findings_digest(findings: tuple[Finding, ...]) -> str:
    return hashlib.sha256(canonical_json([f.to_dict() for f in findings])).hexdigest()


def example_config(tmp_path: Path) -> Path:
    """The demo estate (documents + attestations over examples/), with its store under tmp_path."""
    for folder in ("governance", "attestations"):
        shutil.copytree(EXAMPLES / folder, tmp_path / folder)
    raw = yaml.safe_load((EXAMPLES / "annexa.yaml").read_text(encoding="utf-8"))
    # Only the file collectors: the demo's AWS and MLflow servers are not running here.
    raw["collectors"] = {name: raw["collectors"][name] for name in ("documents", "attestations")}
    raw["store"] = {"path": "./store"}
    path = tmp_path / "annexa.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def scan_findings(config_path: Path, executor: Any) -> tuple[Collection, tuple[Finding, ...]]:
    host = make_host()
    config = load_config(config_path, host)
    ruleset = compile_for(config, host)
    planned = plan(ruleset, config, host.collectors())
    collection = collect(config, host, planned, now=NOW, fields=ruleset.fields_read, executor=executor)
    findings = evaluate(
        ruleset, collection.evidence, now=NOW, collected=collection.collected, gaps=collection.gaps
    )
    return collection, apply_policy(findings, config, NOW)


# -- choosing an executor -------------------------------------------------------------------------------


def test_open_executor_defaults_to_a_local_pool() -> None:
    assert isinstance(open_executor(None), LocalExecutor)
    pool = open_executor("local:3")
    assert isinstance(pool, LocalExecutor)
    assert pool.max_workers == 3


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("local:0", "local:N with N >= 1"),
        ("local:x", "local:N with N >= 1"),
        ("dask://", "dask://HOST:PORT"),
        ("ray://x:1", "unknown executor 'ray://x:1'"),
    ],
)
def test_bad_executor_values_are_named(spec: str, message: str) -> None:
    with pytest.raises(ExecutorError, match=message):
        open_executor(spec)


def test_unreachable_scheduler_is_an_executor_error() -> None:
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler"):
        open_executor("dask://127.0.0.1:9")  # the discard port: nothing listens


# -- running tasks --------------------------------------------------------------------------------------


class _Crashing:
    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        yield Evidence(
            kind="probe.item",
            source="probe:1",
            scope={},
            collector="probe 1.0",
            collected_at=request.now,
            data={},
        )
        raise RuntimeError("boom")


class _ProbePlugin:
    @hookimpl
    def annexa_collectors(self) -> list[CollectorSpec]:
        return [
            CollectorSpec(
                name="probe",
                version="1.0",
                kinds={"probe.item": {"type": "object"}},
                config_schema={"type": "object"},
                factory=_Crashing,
            )
        ]


def _task(collector: str = "probe", version: str = "1.0") -> CollectionTask:
    return CollectionTask(
        collector=collector, version=version, scope="", config={}, kinds=frozenset({"probe.item"}), now=NOW
    )


@pytest.fixture
def probe_host() -> Any:
    host = make_host()
    host.pm.register(_ProbePlugin(), name="probe")
    return host


def test_a_crashing_collector_fails_its_kinds_without_raising(probe_host: Any) -> None:
    result = run_task(_task(), probe_host)
    assert result.outcome.evidence == ()
    assert result.outcome.failed_kinds == {"probe.item": "collector crashed: RuntimeError: boom"}


def test_a_missing_collector_or_another_version_is_a_failure_not_a_silent_difference(probe_host: Any) -> None:
    missing = run_task(_task("nowhere"), probe_host)
    assert "collector nowhere is not installed" in missing.outcome.failed_kinds["probe.item"]
    other = run_task(_task(version="2.0"), probe_host)
    assert (
        "is version 1.0 where the task ran, but the scan was planned with 2.0"
        in (other.outcome.failed_kinds["probe.item"])
    )


def test_local_executor_yields_every_result_with_a_bounded_pool(probe_host: Any) -> None:
    tasks = [_task(), _task("nowhere"), _task(version="9")]
    results = list(LocalExecutor(max_workers=2).run(tasks, probe_host))
    assert sorted(r.task.collector + r.task.version for r in results) == ["nowhere1.0", "probe1.0", "probe9"]


class _Parts:
    """Collects one item per configured part; the parts named ``broken`` fail, as an unreachable
    account or source does."""

    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        for part in request.config["parts"]:
            if part.startswith("broken"):
                raise CollectorError(f"{part} cannot be reached")
            yield Evidence(
                kind="parts.item",
                source=f"parts:{part}",
                scope={"part": part},
                collector="parts 1.0",
                collected_at=request.now,
                data={"part": part, "setting": f"password={part}-hunter2"},
            )


class _PartsPlugin:
    @hookimpl
    def annexa_collectors(self) -> list[CollectorSpec]:
        return [
            CollectorSpec(
                name="parts",
                version="1.0",
                kinds={"parts.item": {"type": "object"}},
                config_schema={"type": "object"},
                factory=_Parts,
                scopes=lambda config: [(part, {"parts": [part]}) for part in config["parts"]],
            )
        ]


def collect_parts(tmp_path: Path, parts: list[str], **options: Any) -> Collection:
    host = make_host()
    host.pm.register(_PartsPlugin(), name="parts")
    path = tmp_path / "annexa.yaml"
    path.write_text(
        yaml.safe_dump({"version": 1, "collectors": {"parts": {"parts": parts}}}), encoding="utf-8"
    )
    config = load_config(path, host)
    return collect(config, host, {"parts": frozenset({"parts.item"})}, now=NOW, **options)


def test_a_failed_scope_leaves_a_gap_while_the_other_scopes_count(tmp_path: Path) -> None:
    collection = collect_parts(tmp_path, ["north", "broken-south", "east"])
    assert sorted(e.data["part"] for e in collection.evidence) == ["east", "north"]
    assert collection.collected == {"parts.item": None}
    assert collection.gaps == {"parts.item": ("parts broken-south: broken-south cannot be reached",)}
    (run,) = collection.runs
    assert run.items == 2
    assert "broken-south cannot be reached" in (run.error or "")


def test_evidence_is_handed_on_task_by_task_and_redacted(tmp_path: Path) -> None:
    batches: list[tuple[Evidence, ...]] = []
    collection = collect_parts(tmp_path, ["north", "broken-south", "east"], on_evidence=batches.append)
    assert sorted(len(batch) for batch in batches) == [1, 1]  # one call per task that delivered
    assert sorted(e.id for batch in batches for e in batch) == sorted(e.id for e in collection.evidence)
    assert all("hunter2" not in json.dumps(e.data) for batch in batches for e in batch)


def test_a_kind_no_scope_delivered_is_not_collected(tmp_path: Path) -> None:
    collection = collect_parts(tmp_path, ["broken-1", "broken-2"])
    assert collection.evidence == ()
    assert (collection.collected["parts.item"] or "").startswith("parts: broken-")
    assert collection.gaps == {}


# -- Dask -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        protocol="tcp",
    ) as cluster:
        yield cluster


@pytest.mark.slow
def test_dask_and_local_give_the_same_evidence_and_findings_to_the_digest(
    tmp_path: Path, dask_cluster: Any
) -> None:
    from annexa.app.dask_executor import DaskExecutor

    config_path = example_config(tmp_path)
    local_collection, local_findings = scan_findings(config_path, LocalExecutor())
    executor = DaskExecutor.connect(dask_cluster.scheduler_address)
    try:
        dask_collection, dask_findings = scan_findings(config_path, executor)
        workers = set(executor.client.run(lambda: 1))
    finally:
        executor.close()
    assert len(workers) == 2
    assert len(local_collection.evidence) > 20  # the demo estate, not an empty run
    assert [e.id for e in dask_collection.evidence] == [e.id for e in local_collection.evidence]
    assert dask_collection.collected == local_collection.collected
    assert {run.collector for run in dask_collection.runs} == {"attestations", "documents", "scope"}
    assert len({f.status for f in local_findings}) > 2  # pass, fail, inconclusive...: a real spread
    assert findings_digest(dask_findings) == findings_digest(local_findings)


@pytest.mark.slow
def test_scan_command_records_the_same_findings_through_dask(
    tmp_path: Path, dask_cluster: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = example_config(tmp_path)
    address = dask_cluster.scheduler_address.removeprefix("tcp://")
    now = "2026-11-23T00:00:00Z"
    local_code = main(["scan", "-c", str(config_path), "--now", now, "--format", "json"])
    local = json.loads(capsys.readouterr().out)
    dask_code = main(
        ["scan", "-c", str(config_path), "--now", now, "--format", "json", "--executor", f"dask://{address}"]
    )
    remote = json.loads(capsys.readouterr().out)
    assert dask_code == local_code
    assert remote["findings"] == local["findings"]
    with open_store(tmp_path / "store", create=False) as store:
        scans = store.scans()
        assert len(scans) == 2
        first, second = (store.load_scan(s.digest).record for s in scans)
        assert first.evidence_ids == second.evidence_ids
        assert findings_digest(first.findings) == findings_digest(second.findings)
        assert verify_store(store).ok


def test_each_document_source_is_a_task_and_the_collector_still_one_run(tmp_path: Path) -> None:
    config_path = example_config(tmp_path)
    shutil.copytree(EXAMPLES / "governance" / "systems", tmp_path / "more")
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    raw["collectors"]["documents"]["sources"].append({"path": "./more"})
    config_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    host = make_host()
    config = load_config(config_path, host)
    planned = plan(compile_for(config, host), config, host.collectors())
    tasks = collection_tasks(config, host.collectors(), planned, now=NOW)
    assert sorted(t.scope for t in tasks if t.collector == "documents") == ["./governance", "./more"]
    assert [t.scope for t in tasks if t.collector == "attestations"] == [""]
    collection = collect(config, host, planned, now=NOW, executor=LocalExecutor(max_workers=2))
    documents = [run for run in collection.runs if run.collector == "documents"]
    assert len(documents) == 1
    assert documents[0].items == sum(1 for e in collection.evidence if e.kind == "document")
    stores = {e.scope["store"] for e in collection.evidence if e.kind == "document"}
    assert stores == {"./governance", "./more"}


def test_scan_names_a_bad_executor_and_records_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = example_config(tmp_path)
    args = ["scan", "-c", str(config_path), "--now", "2026-11-23T00:00:00Z", "--executor", "ray://x:1"]
    assert main(args) == 4
    assert "unknown executor 'ray://x:1'" in capsys.readouterr().err
    assert not (tmp_path / "store").exists()
