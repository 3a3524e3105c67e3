"""Benchmark: the full Annex A pack over 100,000 evidence items, the store, and collection on Dask.

Run: .venv/bin/python benchmarks/bench_scale.py [--items N] [--store-items N] [--sources S --docs D]
(prints figures; not a test). Each part runs in a child process of its own, so peak memory (ru_maxrss)
is that part's alone and pinning evaluation to one core does not pin the Dask workers.

* evaluate: an organisation grown from the demo estate (examples/: documents, attestations, model
  cards) to N evidence items: its policies, procedures, registers, supplier assessments and
  attestations once, and the per-system artifacts (system record, impact assessment, design, V&V,
  deployment, runbook, user documentation, model card...) for N/12 AI systems, each copy renaming
  its ids, system and model names and paths. Every kind the pack
  reads counts as collected (the AWS and MLflow kinds empty). Evaluation runs pinned to one core.
* store: the same items written into an embedded directory store (content-addressed files + SQLite).
* record: two scans of --record-items of those items (the same findings) recorded in a directory store,
  then their drift, the last scan loaded with and without its findings, and the store verified: each
  step's time and its own peak RSS above what the process held before it.
* collect: a synthetic document estate (S folders x D Markdown documents with front matter) collected
  by the local thread pool and by a Dask LocalCluster of 1, 2 and 4 worker processes.
* aws: a synthetic organisation on one moto server, A accounts x 2 regions (buckets, log groups, KMS
  keys, SageMaker models per account and region; roles per account), collected for every AWS kind the
  pack reads by the local thread pool and by Dask with 1, 2 and 4 workers (one task per account).
* stream: `annexa evaluate --evidence BUNDLE --stream --format json -o RESULT` (annexa.app.streaming) over
  the evaluate part's estate written as a bundle of each of --stream-sizes items (bench_pipeline.py
  --write-bundle; or DIR/bundle-N.jsonl with --bundles DIR), in a child process pinned to one core: wall,
  CPU (user + system, the system part shown) and peak RSS as the kernel reports them (os.wait4), findings
  per CPU second, and each size's median CPU of --stream-repeat runs against the first size's (linear
  cost: 10x the items within 11x the CPU). Targets (issue 21): 1M items under 1 GB peak and 100 s.
* dask-evaluate: the evaluate part's estate (--dask-items of it) evaluated in this process, then on a
  Dask LocalCluster of 1, 2 and 4 worker processes (rules partitioned by rule group, one partition per
  worker), checking that every run gives the local findings to the digest.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from annexa.app.executors import LocalExecutor
from annexa.app.scan import apply_policy, collect, compile_for, plan
from annexa.app.wiring import make_host
from annexa.model.evidence import Evidence
from annexa.plugins.config import load_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOW = datetime(2026, 11, 23, tzinfo=UTC)
FILE_COLLECTORS = ("documents", "attestations", "modelcards")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def demo_config(folder: Path) -> Path:
    """examples/annexa.yaml with only the file collectors (no demo servers needed)."""
    import yaml

    for name in ("governance", "attestations", "modelcards"):
        shutil.copytree(EXAMPLES / name, folder / name)
    raw = yaml.safe_load((EXAMPLES / "annexa.yaml").read_text(encoding="utf-8"))
    raw["collectors"] = {
        name: raw["collectors"][name] for name in FILE_COLLECTORS if name in raw["collectors"]
    }
    raw["store"] = {"path": "./store"}
    path = folder / "annexa.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _per_system(item: Evidence) -> bool:
    """Artifacts an organisation has one of per AI system (its entry in the declared scope, records,
    assessments, plans, model cards); policies, procedures, registers, supplier assessments and
    attestations exist once."""
    if item.kind in ("model_card", "ai_system"):  # the declared scope grows with the systems
        return True
    systems = item.data.get("ai_systems")
    return (
        item.kind == "document"
        and isinstance(systems, list)
        and len(systems) == 1
        and (item.data.get("type") != "supplier-assessment")
    )


def _rename(value: Any, names: frozenset[str], suffix: str) -> Any:
    if isinstance(value, str):
        return f"{value}{suffix}" if value in names else value
    if isinstance(value, list):
        return [_rename(v, names, suffix) for v in value]
    if isinstance(value, dict):
        return {
            key: (f"u{suffix}/{v}" if key == "path" else _rename(v, names, suffix))
            for key, v in value.items()
        }
    return value


def synthetic_estate(seed: tuple[Evidence, ...], count: int) -> list[Evidence]:
    """``count`` items: the organisation-wide items of ``seed`` once, and its per-system artifacts copied
    for more and more AI systems, each copy renaming its ids, system, model and dataset names and paths."""
    shared = [item for item in seed if not _per_system(item)]
    systems = [item for item in seed if _per_system(item)]
    names = frozenset(
        str(value)
        for item in systems
        for value in (item.data.get("id"), item.data.get("model_name"), *(item.data.get("ai_systems") or ()))
        if value
    )
    items = list(shared)
    copy = 0
    while len(items) < count:
        suffix = f"-U{copy:05d}"
        items.extend(
            Evidence(kind=item.kind, source=f"{item.source}@u{copy:05d}", scope=item.scope,
                     collector=item.collector, collected_at=item.collected_at,
                     data=_rename(dict(item.data), names, suffix))
            for item in systems[: count - len(items)]
        )  # fmt: skip
        copy += 1
    return items


def seed_evidence(folder: Path) -> tuple[Any, Any, Any, tuple[Evidence, ...]]:
    host = make_host()
    config = load_config(demo_config(folder), host)
    ruleset = compile_for(config, host)
    planned = plan(ruleset, config, host.collectors())
    collection = collect(config, host, planned, now=NOW, fields=ruleset.fields_read)
    return host, config, ruleset, collection.evidence


def part_evaluate(count: int) -> None:
    from annexa.contract.catalog import roll_up
    from annexa.lang.language import evaluate

    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    with tempfile.TemporaryDirectory() as scratch:
        _, config, ruleset, seed = seed_evidence(Path(scratch))
    started = time.perf_counter()
    items = synthetic_estate(seed, count)
    for item in items:  # a scan's store computes every id (SHA-256) before evaluation; so does this
        _ = item.id
    built = time.perf_counter() - started
    rss_before = peak_mb()
    collected: dict[str, str | None] = dict.fromkeys(ruleset.kinds_read)
    started, cpu_started = time.perf_counter(), time.process_time()
    findings = evaluate(ruleset, items, now=NOW, collected=collected)
    evaluated, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    started = time.perf_counter()
    findings = apply_policy(findings, config, NOW)
    controls = roll_up(findings, ruleset.rules_by_control())
    policy = time.perf_counter() - started
    statuses = Counter(f.status.value for f in findings)
    systems = len({s for i in items if i.kind == "document" for s in i.data.get("ai_systems") or ()})
    print(f"evaluate: {len(ruleset.rules)} rules over {len(items):,} items ({systems:,} AI systems), "
          f"kinds {dict(Counter(i.kind for i in items))}")  # fmt: skip
    print(f"  building items      {built:8.2f} s")
    print(f"  evaluation (1 core) {evaluated:8.2f} s   (CPU {cpu:.2f} s) -> {len(findings):,} findings "
          f"{dict(statuses)}")  # fmt: skip
    print(f"  policy + roll-up    {policy:8.2f} s   -> {len(controls)} controls")
    print(f"  peak RSS            {peak_mb():8.0f} MB (before evaluation: {rss_before:.0f} MB)")


def _summary_counts(result: Path) -> dict[str, int]:
    """The findings per status of a result file, from its summary (written before the findings)."""
    import json

    with result.open("rb") as handle:
        head = handle.read(1 << 20).decode("utf-8", errors="replace")
    start = head.index('"summary":') + len('"summary":')
    summary, _ = json.JSONDecoder().raw_decode(head, start)
    return dict(summary["findings"])


def part_stream(sizes: list[int], bundles: Path | None, repeat: int = 1) -> None:
    """Each size ``repeat`` times; a size's figure against the first size's is of the medians of CPU (one
    figure of this machine varies by ±15 % minutes apart: a ratio of two single runs says little)."""
    cpu = min(os.sched_getaffinity(0))
    annexa = str(Path(sys.executable).with_name("annexa"))
    one, five, _ = os.getloadavg()
    print(f"stream: annexa evaluate --stream, full Annex A pack, JSON result, one core "
          f"(load {one:.1f}, 5 min {five:.1f}, {os.cpu_count()} CPUs)")  # fmt: skip
    first: tuple[int, float] | None = None
    with tempfile.TemporaryDirectory() as scratch:
        for count in sizes:
            bundle = (bundles or Path(scratch)) / f"bundle-{count}.jsonl"
            if not bundle.exists():  # each in a folder of its own (the writer seeds the estate beside it)
                bundle = Path(scratch) / str(count) / f"bundle-{count}.jsonl"
                bundle.parent.mkdir()
                script = str(ROOT / "benchmarks" / "bench_pipeline.py")
                subprocess.run(
                    [sys.executable, script, "--write-bundle", str(count), str(bundle)], check=True
                )
            used = statistics.median(
                _stream_run(annexa, bundle, Path(scratch) / "result.json", cpu, count) for _ in range(repeat)
            )
            first = first or (count, used)
            scale = f"{used / first[1]:.2f}x the CPU of {first[0]:,} for {count / first[0]:.0f}x the items"
            print(f"  {count:>9,} items: median {used:7.1f} s CPU of {repeat} run(s), {scale}")
            if bundle.parent.parent == Path(scratch):
                shutil.rmtree(bundle.parent)


def _stream_run(annexa: str, bundle: Path, result: Path, cpu: int, count: int) -> float:
    """One streamed evaluation of ``bundle`` pinned to ``cpu``, its figures printed; its CPU seconds."""
    run = [annexa, "evaluate", "--evidence", str(bundle), "--stream", "--format", "json", "-o", str(result)]
    started = time.perf_counter()
    process = subprocess.Popen(
        run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    used = usage.ru_utime + usage.ru_stime
    findings = sum(_summary_counts(result).values())
    one, five, _ = os.getloadavg()
    print(f"  {count:>9,} items (exit {os.waitstatus_to_exitcode(status)}): {wall:7.1f} s wall "
          f"{used:7.1f} s CPU ({usage.ru_stime:.1f} s of it system) {usage.ru_maxrss / 1024:7.0f} MB peak, "
          f"{findings:,} findings, {findings / used:,.0f} findings per CPU second; result "
          f"{result.stat().st_size / 2**20:,.0f} MB (load {one:.1f}, 5 min {five:.1f})")  # fmt: skip
    result.unlink()
    return used


def _worker_figures(client: Any) -> dict[str, tuple[float, float]]:
    """Each worker process's CPU seconds and peak RSS (MB) so far."""

    def figures() -> tuple[float, float]:
        return time.process_time(), peak_mb()

    return dict(client.run(figures))


def part_dask_evaluate(count: int) -> None:
    import hashlib

    from distributed import LocalCluster

    from annexa.app.dask_executor import DaskExecutor
    from annexa.app.wiring import kind_registry
    from annexa.lang.language import evaluate
    from annexa.model.evidence import canonical_json

    with tempfile.TemporaryDirectory() as scratch:
        host, _, ruleset, seed = seed_evidence(Path(scratch))
    items = synthetic_estate(seed, count)
    for item in items:
        _ = item.id
    collected: dict[str, str | None] = dict.fromkeys(ruleset.kinds_read)
    kinds = kind_registry(host)

    def digest(findings: Any) -> str:
        return hashlib.sha256(canonical_json([f.to_dict() for f in findings])).hexdigest()

    started, cpu = time.perf_counter(), time.process_time()
    local = evaluate(ruleset, items, now=NOW, collected=collected)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"dask-evaluate: {len(ruleset.rules)} rules over {len(items):,} items -> {len(local):,} findings "
          f"({os.cpu_count()} CPU(s) on this machine)")  # fmt: skip
    print(f"  in this process      {wall:7.2f} s wall {cpu:7.2f} s CPU, peak RSS {peak_mb():6.0f} MB")
    expected = digest(local)
    del local
    for workers in (1, 2, 4):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, memory_limit=0) as cluster:  # fmt: skip
            executor = DaskExecutor.connect(cluster.scheduler_address)
            try:
                executor.client.run(lambda: __import__("annexa.lang.language"))  # imports, not measured
                before = _worker_figures(executor.client)
                started, cpu = time.perf_counter(), time.process_time()
                found = executor.evaluate(ruleset, kinds, items, now=NOW, collected=collected, host=host)
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
                after = _worker_figures(executor.client)
            finally:
                executor.close()
        same = "same digest" if digest(found) == expected else "DIGEST DIFFERS"
        worker_cpu = sum(after[w][0] - before[w][0] for w in after)
        worker_rss = max(rss for _, rss in after.values())
        print(f"  Dask, {workers} worker(s)     {wall:7.2f} s wall {cpu:7.2f} s CPU here + {worker_cpu:6.2f} "
              f"s in workers, peak RSS {peak_mb():6.0f} MB here / {worker_rss:6.0f} MB per worker (max); "
              f"{same}")  # fmt: skip


def part_store(count: int) -> None:
    from annexa.store import open_store

    with tempfile.TemporaryDirectory() as scratch:
        _, _, _, seed = seed_evidence(Path(scratch))
        items = synthetic_estate(seed, count)
        root = Path(scratch) / "bench-store"
        started = time.perf_counter()
        with open_store(root) as store:
            store.put_evidence(items)
        seconds = time.perf_counter() - started
        # Loose objects (*.json) and packs (batches of 256 or more new objects in one file, see
        # annexa.store.locker): the count is of items stored, the bytes of both.
        files = [*(root / "evidence").rglob("*.json"), *(root / "evidence").rglob("*.pack")]
        payload = sum(p.stat().st_size for p in files)
        packs = sum(1 for p in files if p.suffix == ".pack")
        on_disk = int(subprocess.run(["du", "-sk", str(root)], capture_output=True, text=True,
                                     check=True).stdout.split()[0]) * 1024  # fmt: skip
        index = (root / "index.sqlite").stat().st_size
        rate = len(items) / seconds
        print(
            f"store: {len(items):,} evidence items written in {seconds:.1f} s ({rate:,.0f}/s) as "
            f"{len(files) - packs:,} loose files and {packs:,} packs, durable per batch"
        )
        print(f"  evidence bytes {payload / 2**20:8.1f} MB   index.sqlite {index / 2**20:6.1f} MB   "
              f"on disk (du) {on_disk / 2**20:8.1f} MB")  # fmt: skip
        print(f"  peak RSS {peak_mb():.0f} MB")


def _reset_peak() -> None:
    """Start the kernel's peak-RSS count (VmHWM) afresh (Linux), to see one step's own peak."""
    Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


def _rss_mb(field: str) -> float:
    """VmHWM (peak since _reset_peak) or VmRSS (now) of this process, in MB."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def part_record(count: int) -> None:
    """Record two scans of ``count`` items (their findings a million or more at 500,000 items): what each
    step costs, and its own peak above what the findings held before it."""
    from annexa.contract.catalog import roll_up
    from annexa.lang.language import evaluate
    from annexa.reports.stored import drift_between
    from annexa.store import ScanRecord, open_store, verify_store

    with tempfile.TemporaryDirectory() as scratch:
        _, config, ruleset, seed = seed_evidence(Path(scratch))
        items = synthetic_estate(seed, count)
        root = Path(scratch) / "bench-store"
        with open_store(root) as store:
            stored = store.put_evidence(items)
            del items
            found = evaluate(ruleset, stored, now=NOW, collected=dict.fromkeys(ruleset.kinds_read))
            findings = apply_policy(found, config, NOW)
            controls = roll_up(findings, ruleset.rules_by_control())
            digests = []
            print(f"record: {len(stored):,} items, {len(findings):,} findings")
            for number, scan_id in enumerate(("20261123T000000Z-00000001", "20261124T000000Z-00000002"), 1):
                record = ScanRecord(scan_id=scan_id, started_at=NOW, finished_at=NOW,
                                    rule_pack_digest=ruleset.digest, config_digest="0" * 64,
                                    evidence_ids=tuple(item.id for item in stored), findings=findings,
                                    controls=controls)  # fmt: skip
                digests.append(_step(f"record_scan #{number}", lambda r=record: store.record_scan(r)))
                del record
            manifest = root / "manifests" / digests[1][:2] / f"{digests[1]}.json"
            objects = list((root / "findings").rglob("*.json"))
            print(f"  manifest {manifest.stat().st_size / 2**20:.1f} MB, findings object(s) "
                  f"{sum(p.stat().st_size for p in objects) / 2**20:.1f} MB")  # fmt: skip
            _step("drift_between", lambda: drift_between(store, digests[0], digests[1]))
            _step("load_scan (no findings)", lambda: store.load_scan("latest", findings=False))
            _step("load_scan", lambda: store.load_scan("latest"))
            _step("verify_store", lambda: verify_store(store))


def _step(label: str, run: Any) -> Any:
    base = _rss_mb("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    value = run()
    seconds = time.perf_counter() - started
    print(f"  {label:26} {seconds:7.2f} s   peak {_rss_mb('VmHWM') - base:+7.0f} MB over {base:.0f} MB")
    return value


def document_estate(folder: Path, sources: int, docs: int) -> Path:
    import yaml

    body = "\n".join(f"## Section {n}\n\nText of section {n} of the document.\n" for n in range(6))
    entries = []
    for s in range(sources):
        root = folder / f"unit-{s:02d}"
        root.mkdir(parents=True)
        for d in range(docs):
            (root / f"doc-{d:04d}.md").write_text(
                f"---\nid: DOC-{s:02d}-{d:04d}\ntype: ai-policy\ntitle: Policy {s}.{d}\n"
                f"version: '1.{d % 7}'\n"
                f"owner: Unit {s} lead\nstatus: approved\napproved_on: 2026-0{1 + d % 9}-15\n"
                f"last_reviewed: 2026-0{1 + d % 9}-15\n---\n# Policy {s}.{d}\n\n{body}",
                encoding="utf-8",
            )
        entries.append({"path": f"./unit-{s:02d}"})
    config = {"version": 1, "organization": "bench", "collectors": {"documents": {"sources": entries}},
              "rules": {"paths": ["builtin:annex_a"]}}  # fmt: skip
    path = folder / "annexa.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def race_executors(config_path: Path) -> None:
    """Collect what the pack reads with the local thread pool, then with Dask on 1, 2 and 4 workers."""
    from distributed import LocalCluster

    from annexa.app.dask_executor import DaskExecutor

    host = make_host()
    config = load_config(config_path, host)
    ruleset = compile_for(config, host)
    planned = plan(ruleset, config, host.collectors())

    def timed(executor: Any) -> str:
        started = time.perf_counter()
        collection = collect(config, host, planned, now=NOW, fields=ruleset.fields_read, executor=executor)
        gaps = f", gaps in {sorted(collection.gaps)}" if collection.gaps else ""
        return f"{time.perf_counter() - started:7.2f} s  {len(collection.evidence):,} items{gaps}"

    print(f"  local thread pool (8)   {timed(LocalExecutor())}")
    for workers in (1, 2, 4):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:  # fmt: skip
            executor = DaskExecutor.connect(cluster.scheduler_address)
            try:
                timed(executor)  # warm-up: workers import annexa and load the plugins once
                print(f"  Dask, {workers} worker(s)       {timed(executor)}")
            finally:
                executor.close()


def part_collect(sources: int, docs: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        config_path = document_estate(Path(scratch), sources, docs)
        print(f"collect: {sources} folders x {docs} Markdown documents = {sources * docs:,} documents "
              f"({os.cpu_count()} CPU(s) on this machine)")  # fmt: skip
        race_executors(config_path)


PARTS = ("evaluate", "store", "collect", "aws", "dask-evaluate", "stream", "record")
AWS_REGIONS = ("us-east-1", "eu-west-1")
PER_REGION = {"buckets": 30, "log_groups": 10, "keys": 4, "models": 4}
ROLES_PER_ACCOUNT = 5
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"


def seed_aws_account(url: str, account: str) -> int:
    """One account's resources in both regions, made as that account (moto's ``x-moto-account-id``)."""
    import boto3
    from botocore.config import Config

    def client(service: str, region: str) -> Any:
        made = boto3.client(service, region_name=region, endpoint_url=url,
                            config=Config(retries={"max_attempts": 1}))  # fmt: skip
        made.meta.events.register(
            "before-sign.*.*", lambda request, **kw: request.headers.__setitem__("x-moto-account-id", account)
        )
        return made

    iam = client("iam", AWS_REGIONS[0])
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}'  # noqa: E501
    role_arn = ""
    for n in range(ROLES_PER_ACCOUNT):
        role_arn = iam.create_role(RoleName=f"ml-role-{n}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    made = ROLES_PER_ACCOUNT
    for region in AWS_REGIONS:
        s3, logs, kms, sm = (client(name, region) for name in ("s3", "logs", "kms", "sagemaker"))
        for n in range(PER_REGION["buckets"]):
            name = f"data-{account}-{region}-{n:03d}"
            where = (
                {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            )
            s3.create_bucket(Bucket=name, **where)
            if n % 2:
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        for n in range(PER_REGION["log_groups"]):
            logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/model-{n}")
        for n in range(PER_REGION["keys"]):
            kms.create_key(Description=f"key {n}")
        for n in range(PER_REGION["models"]):
            sm.create_model(
                ModelName=f"model-{n}", ExecutionRoleArn=role_arn, PrimaryContainer={"Image": IMAGE}
            )
        made += sum(PER_REGION.values())
    return made


def part_aws(accounts: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import yaml

    from annexa.plugins.servers import MotoServer

    # The collector's base credentials; LocalCluster's worker processes inherit them.
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": AWS_REGIONS[0]})  # fmt: skip
    ids = [f"{100000000000 + n:012d}" for n in range(1, accounts + 1)]
    with tempfile.TemporaryDirectory() as scratch, MotoServer(Path(scratch) / "moto.log") as moto:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            resources = sum(pool.map(lambda account: seed_aws_account(moto.url, account), ids))
        seeded = time.perf_counter() - started
        block = {
            "accounts": [{"role_arn": f"arn:aws:iam::{account}:role/annexa-audit"} for account in ids],
            "regions": list(AWS_REGIONS),
            "endpoint_url": moto.url,
            # moto answers some APIs with HTTP 500 (monitoring schedules, guardrails): fail those at once.
            "max_attempts": 1,
        }
        config_path = Path(scratch) / "annexa.yaml"
        config_path.write_text(yaml.safe_dump({"version": 1, "organization": "bench",
                                               "collectors": {"aws": block}}), encoding="utf-8")  # fmt: skip
        print(f"aws: {accounts} accounts x {len(AWS_REGIONS)} regions on one moto server, {resources:,} "
              f"resources seeded in {seeded:.1f} s")  # fmt: skip
        race_executors(config_path)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000, help="evidence items to evaluate")
    parser.add_argument("--store-items", type=int, default=100_000, help="evidence items to store")
    parser.add_argument(
        "--record-items",
        type=int,
        default=100_000,
        help="evidence items of the scans the record part records",
    )
    parser.add_argument("--sources", type=int, default=8, help="document folders (one Dask task each)")
    parser.add_argument("--docs", type=int, default=250, help="documents per folder")
    parser.add_argument("--accounts", type=int, default=20, help="AWS accounts on moto (2 regions each)")
    parser.add_argument("--dask-items", type=int, default=100_000, help="evidence items to evaluate on Dask")
    parser.add_argument(
        "--stream-sizes",
        default="100000,300000,1000000",
        help="items of the bundles the stream part evaluates (comma-separated)",
    )
    parser.add_argument(
        "--stream-repeat", type=int, default=1, help="stream part: runs of each size (the median is compared)"
    )
    parser.add_argument(
        "--bundles", type=Path, help="stream part: a folder holding bundle-N.jsonl to use instead of writing"
    )
    parser.add_argument("--part", choices=PARTS, help="run one part only")
    args = parser.parse_args()
    if args.part == "evaluate":
        part_evaluate(args.items)
    elif args.part == "store":
        part_store(args.store_items)
    elif args.part == "record":
        part_record(args.record_items)
    elif args.part == "collect":
        part_collect(args.sources, args.docs)
    elif args.part == "aws":
        part_aws(args.accounts)
    elif args.part == "dask-evaluate":
        part_dask_evaluate(args.dask_items)
    elif args.part == "stream":
        part_stream([int(size) for size in args.stream_sizes.split(",")], args.bundles, args.stream_repeat)
    else:
        for part in PARTS:
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--part", part], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
