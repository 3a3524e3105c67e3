"""Evaluation on Dask: the rules partitioned by rule group over a LocalCluster of three worker processes
give the findings of the local evaluation, to the digest and in the same order, on the demo estate and on
the benchmark's synthetic estate (benchmarks/bench_scale.py), with gaps, kinds not collected and
defective items; and through `annexa evaluate --executor dask://` and `annexa scan --executor dask://`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from annexa.app.executor_choice import evaluate_where
from annexa.app.wiring import kind_registry
from annexa.cli.main import main
from annexa.lang.language import evaluate
from annexa.model.evidence import Evidence, canonical_json
from annexa.model.findings import Finding

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_scale  # the benchmark's own estate, so the test and the figures share it

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def digest(findings: tuple[Finding, ...]) -> str:
    return hashlib.sha256(canonical_json([f.to_dict() for f in findings])).hexdigest()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=3,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        protocol="tcp",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Any, tuple[Evidence, ...]]:
    """Host, configuration, rule set (the full Annex A pack) and the demo estate's evidence."""
    return bench_scale.seed_evidence(tmp_path_factory.mktemp("estate"))


def on_cluster(cluster: Any, *args: Any, **kwargs: Any) -> tuple[tuple[Finding, ...], set[str]]:
    """Findings evaluated on the cluster, and the workers that ran the evaluation's tasks."""
    from annexa.app.dask_executor import DaskExecutor

    executor = DaskExecutor.connect(cluster.scheduler_address)
    try:
        with distributed.get_task_stream(client=executor.client) as stream:
            findings = executor.evaluate(*args, **kwargs)
        workers = {task["worker"] for task in stream.data if task["key"].startswith("annexa-evaluate-")}
    finally:
        executor.close()
    return findings, workers


@pytest.mark.parametrize("size", ["demo", "bench"])
def test_partitions_on_three_workers_give_the_local_findings_to_the_digest(
    cluster: Any, estate: Any, size: str
) -> None:
    from annexa.app.dask_executor import partition_rules

    host, _, ruleset, seed = estate
    items = list(seed) if size == "demo" else bench_scale.synthetic_estate(seed, 3000)
    collected = dict.fromkeys(ruleset.kinds_read)
    local = evaluate(ruleset, items, now=NOW, collected=collected)
    remote, workers = on_cluster(cluster, ruleset, kind_registry(host), items, now=NOW, collected=collected,
                                 host=host)  # fmt: skip
    assert len(local) > len(items) // 2  # a real evaluation, not an empty one
    assert len({f.status for f in local}) > 2
    assert remote == local  # the same findings in the same order
    assert digest(remote) == digest(local)
    counts = {kind: sum(1 for i in items if i.kind == kind) for kind in ruleset.kinds_read}
    assert len(partition_rules(ruleset, counts, 3)) == 3
    assert len(workers) >= 2  # the partitions really ran apart


def test_gaps_missing_kinds_and_defective_items_are_judged_as_locally(cluster: Any, estate: Any) -> None:
    host, _, ruleset, seed = estate
    items = list(seed)
    documents = [i for i in items if i.kind == "document"]
    broken = dataclasses.replace(documents[0], source=documents[0].source + "#broken", defect="garbled")
    items.append(broken)
    kinds = sorted(ruleset.kinds_read)
    collected: dict[str, str | None] = dict.fromkeys(kinds)
    collected[kinds[0]] = "aws: access denied"  # not collected: its rules are inconclusive
    gaps = {"document": ("documents ./more: unreadable folder",)}
    local = evaluate(ruleset, items, now=NOW, collected=collected, gaps=gaps)
    remote, _ = on_cluster(cluster, ruleset, kind_registry(host), items, now=NOW, collected=collected,
                           gaps=gaps, host=host, parts=4)  # fmt: skip
    assert any("cannot be used as evidence: garbled" in f.message for f in local)
    assert any("could not be collected" in f.message or "incomplete" in (f.note or "") for f in local)
    assert digest(remote) == digest(local)
    # Without `collected`, both read every kind with items as collected.
    assert digest(on_cluster(cluster, ruleset, kind_registry(host), items, now=NOW, host=host)[0]) == digest(
        evaluate(ruleset, items, now=NOW)
    )


def test_evaluate_where_runs_locally_unless_told_dask(estate: Any) -> None:
    host, _, ruleset, seed = estate
    local = evaluate(ruleset, seed, now=NOW)
    assert evaluate_where("local", ruleset, kind_registry(host), seed, now=NOW, host=host) == local
    assert evaluate_where(None, ruleset, kind_registry(host), seed, now=NOW, host=host) == local


def test_evaluate_command_on_the_cluster_prints_the_local_result(
    cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = bench_scale.demo_config(tmp_path)
    now = "2026-11-23T00:00:00Z"
    main(["scan", "-c", str(config), "--now", now, "--format", "json"])
    capsys.readouterr()
    address = cluster.scheduler_address.removeprefix("tcp://")
    results = []
    for executor in ("local", f"dask://{address}"):
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["evaluate", "-c", str(config), "--scan", "latest", "--format", "json",
                         "--executor", executor])  # fmt: skip
        results.append((code, json.loads(out.getvalue())))
    (local_code, local), (dask_code, remote) = results
    assert dask_code == local_code
    assert remote["findings"] == local["findings"]
    assert remote["controls"] == local["controls"]


def test_an_evaluation_on_a_cluster_without_workers_ends_with_exit_3(
    tmp_path: Path, estate: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = estate[3]
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_text("".join(json.dumps(item.to_dict()) + "\n" for item in seed), encoding="utf-8")
    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address="127.0.0.1:0") as empty:
        address = empty.scheduler_address.removeprefix("tcp://")
        code = main(["evaluate", "--evidence", str(bundle), "--now", "2026-11-23T00:00:00Z",
                     "--executor", f"dask://{address}", "--executor-timeout", "1"])  # fmt: skip
    assert code == 3
    err = capsys.readouterr().err
    assert "has no worker and has had none for 1 s" in err
    assert "rule(s) cannot run" in err
