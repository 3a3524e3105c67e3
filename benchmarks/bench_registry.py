"""Benchmark: the mlflow collector over 500 registered models x 3 versions on a local MLflow server.

Seeds a fresh MLflow tracking server (SQLite, started through annexa.plugins.servers.MlflowServer) with
MODELS registered models of 3 versions each; version 3 of every model carries the ``production`` alias and
comes from a run with metrics, so the collector also fetches one run per model. Then it times a full
collection (all three kinds) with the collector's bounded pool at several sizes, against a sequential
baseline (the same collector with one worker), and against a naive client: a plain sequential
``requests.Session`` loop with keep-alive making the same requests, which pays the ~40 ms keep-alive delay
test-services.md measured on MLflow's server. Requests are counted by the collector's own client.

Run: .venv/bin/python benchmarks/bench_registry.py [models] [--server-workers N]   (prints figures)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from annexa.collectors.mlflow import MlflowCollector
from annexa.plugins import CollectRequest
from annexa.plugins.servers import MlflowServer

VERSIONS = 3
PREFIX = "bench"
SEED_WORKERS = 8
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def seed(api: str, models: int) -> float:
    """Create the registry through the REST API; returns the seconds it took."""

    def call(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = requests.post(api + path, json=body, timeout=60, headers={"Connection": "close"})
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    experiment = call("/experiments/create", {"name": PREFIX})["experiment_id"]

    def one(index: int) -> None:
        name = f"{PREFIX}-{index:04d}"
        call("/registered-models/create", {
            "name": name, "description": f"model {index}",
            "tags": [{"key": "owner", "value": f"team-{index % 7}"}],
        })  # fmt: skip
        run_id = call("/runs/create", {"experiment_id": experiment})["run"]["info"]["run_id"]
        call("/runs/log-batch", {
            "run_id": run_id,
            "metrics": [{"key": "auc", "value": 0.9, "timestamp": 1, "step": 0}],
            "params": [{"key": "depth", "value": "6"}],
        })  # fmt: skip
        for version in range(1, VERSIONS + 1):
            call("/model-versions/create", {
                "name": name, "source": f"runs:/{run_id}/model", "run_id": run_id,
                "tags": [{"key": "validation_report", "value": f"s3://reports/{name}/{version}.pdf"}],
            })  # fmt: skip
        call("/registered-models/alias", {"name": name, "alias": "production", "version": str(VERSIONS)})

    started = time.perf_counter()
    with ThreadPoolExecutor(SEED_WORKERS) as pool:
        list(pool.map(one, range(models)))
    return time.perf_counter() - started


def collect(url: str, workers: int) -> tuple[float, int, dict[str, int]]:
    """One full collection: seconds, requests made, items per kind."""
    collector = MlflowCollector(environ={})
    request = CollectRequest(
        config={"tracking_uri": url, "filter": f"name LIKE '{PREFIX}-%'", "max_workers": workers},
        kinds=frozenset(),
        now=NOW,
    )
    started = time.perf_counter()
    items = list(collector.collect(request))
    elapsed = time.perf_counter() - started
    counts: dict[str, int] = {}
    for item in items:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    return elapsed, collector.requests_made, counts


def naive_keep_alive(api: str) -> tuple[float, int]:
    """The same requests from one keep-alive Session, sequentially: what a straightforward client does."""
    session = requests.Session()
    made = 0

    def get(path: str, params: dict[str, Any]) -> dict[str, Any]:
        nonlocal made
        made += 1
        answer = session.get(api + path, params=params, timeout=60)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    started = time.perf_counter()
    models = get("/registered-models/search", {"filter": f"name LIKE '{PREFIX}-%'", "max_results": 1000})
    for model in models["registered_models"]:
        versions = get("/model-versions/search", {"filter": f'name="{model["name"]}"', "max_results": 1000})
        production = {a["version"] for a in model.get("aliases", [])}
        for version in versions["model_versions"]:
            if version["version"] in production:
                get("/runs/get", {"run_id": version["run_id"]})
    session.close()
    return time.perf_counter() - started, made


def best_of(repeats: int, measure: Callable[[], tuple[Any, ...]]) -> tuple[tuple[Any, ...], list[float]]:
    results = [measure() for _ in range(repeats)]
    times = [float(r[0]) for r in results]
    return results[times.index(min(times))], times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="?", type=int, default=500)
    parser.add_argument("--server-workers", type=int, default=1, help="uvicorn workers of the MLflow server")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="annexa-bench-registry-") as scratch:
        server = MlflowServer(Path(scratch))
        server.command[server.command.index("--workers") + 1] = str(args.server_workers)
        started = time.perf_counter()
        with server:
            up = time.perf_counter() - started
            print(f"MLflow server with {args.server_workers} worker(s) up in {up:.1f} s")
            seconds = seed(server.api, args.models)
            writes = args.models * (VERSIONS + 4)
            print(f"seeded {args.models} models x {VERSIONS} versions ({writes} writes) in {seconds:.1f} s")
            print(f"\n{'client':<40} {'best s':>7} {'runs (s)':>16} {'requests':>9} {'req/s':>7}  items")
            for workers in (1, 4, 8, 16):
                (elapsed, made, counts), times = best_of(
                    args.repeats, lambda w=workers: collect(server.url, w)
                )
                label = f"annexa collector, {workers} worker(s)" + (" (baseline)" if workers == 1 else "")
                shown = ", ".join(f"{t:.2f}" for t in times)
                print(f"{label:<40} {elapsed:>7.2f} {shown:>16} {made:>9} {made / elapsed:>7.0f}  "
                      + ", ".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(counts.items())))  # fmt: skip
            (elapsed, made), times = best_of(1, lambda: naive_keep_alive(server.api))
            print(f"{'plain requests loop, keep-alive':<40} {elapsed:>7.2f} {times[0]:>16.2f} {made:>9} "
                  f"{made / elapsed:>7.0f}")  # fmt: skip
            print(f"\nkeep-alive loop: {elapsed / made * 1000:.0f} ms per request")


if __name__ == "__main__":
    main()
