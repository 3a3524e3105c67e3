"""Benchmark: annexa's AWS collector vs Cloud Custodian vs a hand-written boto3 floor, on S3 buckets.

One run, one moto server on 127.0.0.1 (annexa.plugins.servers.MotoServer). It seeds 1,000 buckets
concurrently (half conformant: default encryption and versioning enabled), then runs each contender in a
fresh child process and checks that all of them fail exactly the same 500 buckets:

- Cloud Custodian (``c7n``, in its own virtual environment, ``make bench-aws`` creates it) running
  ``benchmarks/c7n/s3-encryption-versioning.yml``;
- the floor: list_buckets, then get_bucket_encryption + get_bucket_versioning per bucket, sequentially
  and with as many threads as annexa's AWS collector uses;
- annexa: the ``aws`` collector through the plugin host and the scan API (plan, collect with the fields the
  rules read, evaluate) with ``benchmarks/rules/s3_encryption_versioning.rule``.

Wall time is the child process from start to verdicts (interpreter, imports and all: Custodian cannot be
timed otherwise); "work" is the part after imports. API calls are counted with a botocore hook in the
annexa and floor children and from the moto server's request log for every contender; peak memory is
each child's maxrss (os.wait4).

Run: make bench-aws   or   .venv/bin/python benchmarks/bench_aws.py [--buckets N] [--custodian PATH]
Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "benchmarks" / "rules" / "s3_encryption_versioning.rule"
POLICY = ROOT / "benchmarks" / "c7n" / "s3-encryption-versioning.yml"
POLICY_NAME = "s3-encryption-versioning"
DEFAULT_CUSTODIAN = ROOT / "build" / "bench-c7n-venv" / "bin" / "custodian"
REGION = "us-east-1"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-bench"
SEED_THREADS = 16
# Targets of issue 4: annexa's wall time relative to each contender.
TARGET_VS_CUSTODIAN = 0.3
TARGET_VS_FLOOR = 1.3
# A werkzeug access-log line of the moto server: "GET /bucket?versioning HTTP/1.1" 200 -
# (werkzeug colours 4xx/5xx lines even into a file).
REQUEST_LINE = re.compile(r'"(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP/[0-9.]+" ([0-9]{3})')
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------------------------------------------
# Seeding (in the parent process)


def bucket_state(index: int) -> tuple[str | None, str | None]:
    """(encryption algorithm or None, versioning status or None) of bucket ``index``.

    Even buckets conform; odd ones rotate through no encryption, no versioning (never set or Suspended)
    and both missing.
    """
    if index % 2 == 0:
        return ("AES256" if index % 4 == 0 else "aws:kms"), "Enabled"
    flaw = (index // 2) % 3
    if flaw == 0:
        return None, "Enabled"
    if flaw == 1:
        return "AES256", ("Suspended" if index % 4 == 1 else None)
    return None, None


def bucket_name(index: int) -> str:
    return f"annexa-bench-{index:05d}"


def seed(client: Any, count: int) -> tuple[set[str], int]:
    """Create ``count`` buckets concurrently; return the names that must fail and the calls made."""
    calls = Counter[str]()
    lock = threading.Lock()

    def one(index: int) -> None:
        name = bucket_name(index)
        algorithm, versioning = bucket_state(index)
        made = 1
        client.create_bucket(Bucket=name)
        if algorithm is not None:
            default: dict[str, str] = {"SSEAlgorithm": algorithm}
            if algorithm == "aws:kms":
                default["KMSMasterKeyID"] = KMS_KEY  # moto (unlike AWS) requires the key id
            client.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": default}]
                },
            )
            made += 1
        if versioning is not None:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
            made += 1
        with lock:
            calls["seed"] += made

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        list(pool.map(one, range(count)))
    failing = {bucket_name(i) for i in range(count) if not conforms(*bucket_state(i))}
    return failing, calls["seed"]


def conforms(encryption: str | None, versioning: str | None) -> bool:
    """The verdict every contender must reach: default encryption set and versioning Enabled."""
    return encryption is not None and versioning == "Enabled"


# ---------------------------------------------------------------------------------------------------
# Counting API calls


def count_botocore_calls() -> tuple[Counter[str], Counter[str]]:
    """Count the API calls ("s3.GetBucketVersioning") and HTTP requests of every botocore session made
    from now on in this process, including the ones a collector creates for itself.

    Each new botocore session registers the handlers listed in ``botocore.handlers.BUILTIN_HANDLERS``,
    so one event hook added there sees them all without touching the code under measurement.
    """
    import botocore.handlers

    calls: Counter[str] = Counter()
    sends: Counter[str] = Counter()
    lock = threading.Lock()

    def on_call(event_name: str, **_: Any) -> None:
        with lock:
            calls[event_name.removeprefix("before-call.")] += 1

    def on_send(event_name: str, **_: Any) -> None:
        with lock:
            sends[event_name.removeprefix("before-send.")] += 1

    botocore.handlers.BUILTIN_HANDLERS.append(("before-call", on_call))
    botocore.handlers.BUILTIN_HANDLERS.append(("before-send", on_send))
    return calls, sends


def server_requests(log: Path, offset: int) -> Counter[str]:
    """Requests the moto server logged after byte ``offset``, keyed "GET ?versioning" (S3 sub-resource)."""
    with log.open("rb") as handle:
        handle.seek(offset)
        text = ANSI_COLOUR.sub("", handle.read().decode(errors="replace"))
    seen: Counter[str] = Counter()
    for method, target, _status in REQUEST_LINE.findall(text):
        query = target.partition("?")[2]
        subresource = query.split("&")[0].split("=")[0]
        path = target.split("?")[0].strip("/")
        seen[f"{method} ?{subresource}" if subresource else f"{method} {'/bucket' if path else '/'}"] += 1
    return seen


# ---------------------------------------------------------------------------------------------------
# Children: each contender runs in a fresh process and prints one JSON line.


def floor_child(workers: int) -> dict[str, Any]:
    """The hand-written minimum: one list_buckets, two GETs per bucket, the same verdicts."""
    calls, sends = count_botocore_calls()
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    started = time.perf_counter()
    client = boto3.client(
        "s3",
        region_name=REGION,
        config=Config(max_pool_connections=max(10, workers), retries={"mode": "standard"}),
    )
    names = [bucket["Name"] for bucket in client.list_buckets()["Buckets"]]

    def fails(name: str) -> bool:
        try:
            rules = client.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
            encryption = rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] if rules else None
        except ClientError as error:
            if error.response["Error"]["Code"] != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            encryption = None
        versioning = client.get_bucket_versioning(Bucket=name).get("Status")
        return not conforms(encryption, versioning)

    if workers == 1:
        verdicts = [fails(name) for name in names]
    else:
        with ThreadPoolExecutor(workers) as pool:
            verdicts = list(pool.map(fails, names))
    work = time.perf_counter() - started
    failing = sorted(name for name, failed in zip(names, verdicts, strict=True) if failed)
    return {"work": work, "failing": failing, "calls": dict(calls), "sends": dict(sends)}


def annexa_child(workdir: Path, endpoint: str) -> dict[str, Any]:
    """annexa's public path: plugin host, configuration, rule pack, plan, collect (fields), evaluate."""
    calls, sends = count_botocore_calls()
    from annexa.app.scan import collect, compile_for, plan, utc_now
    from annexa.app.wiring import make_host
    from annexa.lang.language import evaluate
    from annexa.model.findings import Status
    from annexa.plugins.config import load_config

    config_path = workdir / "annexa.yaml"
    config_path.write_text(
        json.dumps(  # JSON is YAML
            {
                "version": 1,
                "collectors": {"aws": aws_collector_config(endpoint)},
                "rules": {"paths": [str(RULES)]},
                "store": {"path": str(workdir / "store")},
            }
        )
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    host = make_host()
    config = load_config(config_path, host)
    ruleset = compile_for(config, host)
    now = utc_now()
    planned = plan(ruleset, config, host.collectors())
    prepared, cpu_prepared = time.perf_counter(), time.process_time()
    collection = collect(config, host, planned, now=now, fields=ruleset.fields_read)
    collected, cpu_collected = time.perf_counter(), time.process_time()
    findings = evaluate(ruleset, collection.evidence, now=now, collected=collection.collected)
    evaluated = time.perf_counter()
    statuses = Counter(finding.status.value for finding in findings)
    failing = sorted(bucket_of(finding.subject) for finding in findings if finding.status is Status.FAIL)
    return {
        "work": evaluated - started,
        "prepare": prepared - started,
        "collect": collected - prepared,
        "evaluate": evaluated - collected,
        "cpu_prepare": cpu_prepared - cpu_started,
        "cpu_collect": cpu_collected - cpu_prepared,
        "evidence": len(collection.evidence),
        "problems": [str(problem) for problem in collection.problems],
        "not_collected": {kind: why for kind, why in collection.collected.items() if why},
        "statuses": dict(statuses),
        "fields": {kind: sorted(f) if f is not None else None for kind, f in ruleset.fields_read.items()},
        "failing": failing,
        "calls": dict(calls),
        "sends": dict(sends),
    }


def aws_collector_config(endpoint: str) -> dict[str, Any]:
    """The ``collectors.aws`` block: the moto server as the endpoint, one region."""
    return {"regions": [REGION], "endpoint_url": endpoint}


def bucket_of(subject: str) -> str:
    """A finding's subject (the evidence source, an S3 ARN) -> the bucket name."""
    return subject.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_aws.py child")
    parser.add_argument("contender", choices=("floor", "annexa"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    if args.contender == "floor":
        result = floor_child(args.workers)
    else:
        result = annexa_child(args.workdir, os.environ["AWS_ENDPOINT_URL"])
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------------------
# The parent: server, seeding, contenders, report


@dataclass(slots=True)
class Run:
    """One contender's child process: what it decided and what it cost."""

    label: str
    wall: float
    cpu: float  # the child's user + system seconds: far less sensitive to a busy machine than wall time
    peak_mb: float
    failing: list[str]
    server: Counter[str]
    work: float | None = None
    calls: Counter[str] = field(default_factory=Counter)
    sends: Counter[str] = field(default_factory=Counter)
    detail: dict[str, Any] = field(default_factory=dict)


def run_child(
    command: list[str], env: dict[str, str], logs: Path, label: str
) -> tuple[float, float, float, str]:
    """Run ``command`` to completion: (wall s, CPU s, peak RSS in MB, stdout). Exits on failure."""
    logs.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    out_path, err_path = logs / f"{slug}.out", logs / f"{slug}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        # wait4 gives this child's own rusage; RUSAGE_CHILDREN would be the maximum over all children.
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(
            f"{label} failed with exit code {process.returncode}; see {err_path}:\n"
            + "\n".join(err_path.read_text(errors="replace").splitlines()[-25:])
        )
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out_path.read_text()


def run_custodian(custodian: Path, env: dict[str, str], workdir: Path, log: Path) -> Run:
    output = workdir / "c7n-output"
    offset = log.stat().st_size
    command = [
        str(custodian), "run", "--cache-period", "0", "--region", REGION, "-s", str(output), str(POLICY)
    ]  # fmt: skip
    wall, cpu, peak, _ = run_child(command, env, workdir / "logs", "custodian")
    resources = json.loads((output / POLICY_NAME / "resources.json").read_text())
    time.sleep(0.2)  # let the server flush its last log lines
    return Run(
        label="Cloud Custodian",
        wall=wall,
        cpu=cpu,
        peak_mb=peak,
        failing=sorted(resource["Name"] for resource in resources),
        server=server_requests(log, offset),
    )


def run_python_child(label: str, args: list[str], env: dict[str, str], workdir: Path, log: Path) -> Run:
    offset = log.stat().st_size
    command = [sys.executable, str(Path(__file__).resolve()), "child", *args]
    wall, cpu, peak, stdout = run_child(command, env, workdir / "logs", label)
    result = json.loads(stdout.strip().splitlines()[-1])
    time.sleep(0.2)
    return Run(
        label=label,
        wall=wall,
        cpu=cpu,
        peak_mb=peak,
        failing=result.pop("failing"),
        server=server_requests(log, offset),
        work=result.pop("work"),
        calls=Counter(result.pop("calls")),
        sends=Counter(result.pop("sends")),
        detail=result,
    )


def custodian_version(custodian: Path) -> str:
    answer = subprocess.run([str(custodian), "version"], capture_output=True, text=True, check=False)
    return answer.stdout.strip() or "?"


def ratio_line(label: str, annexa: float, other: float, target: float | None) -> str:
    verdict = (
        "" if target is None else f"  (target <= {target}: {'met' if annexa / other <= target else 'MISSED'})"
    )
    return f"{label:40} {annexa / other:5.2f}{verdict}"


def report(
    runs: list[Run], expected: set[str], seeding: tuple[float, int], buckets: int, version: str
) -> bool:
    """Print the figures; True when every contender decided exactly the expected buckets.

    ``runs`` are, in order: Cloud Custodian, the sequential floor, the threaded floor, annexa.
    """
    custodian, _sequential, floor, annexa = runs
    seconds, calls = seeding
    print(
        f"\nseeded {buckets} buckets ({len(expected)} nonconformant) with {calls} calls "
        f"in {seconds:.1f} s ({SEED_THREADS} threads)"
    )
    print(
        f"Cloud Custodian {version}; moto server on 127.0.0.1; region {REGION}; "
        f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    header = (
        f"{'contender':30} {'wall s':>7} {'work s':>7} {'CPU s':>6} {'API calls':>9} {'HTTP seen':>9} "
        f"{'peak MB':>7} {'failing':>7}"
    )
    print(header)
    print("-" * len(header))
    agree = True
    for run in runs:
        calls = sum(run.calls.values()) if run.calls else "-"
        work = f"{run.work:.2f}" if run.work is not None else "-"
        same = sorted(run.failing) == sorted(expected)
        agree &= same
        print(
            f"{run.label:30} {run.wall:7.2f} {work:>7} {run.cpu:6.2f} {calls!s:>9} "
            f"{sum(run.server.values()):9d} {run.peak_mb:7.0f} {len(run.failing):7d}"
            + ("" if same else "  MISMATCH")
        )
    detail = annexa.detail
    print(
        f"\nannexa: prepare {detail['prepare']:.2f} s, {detail['cpu_prepare']:.2f} s CPU (plugin host, "
        f"configuration, rules); collect {detail['collect']:.2f} s, {detail['cpu_collect']:.2f} s CPU; "
        f"evaluate {detail['evaluate']:.3f} s; "
        f"{detail['evidence']} evidence items; statuses {detail['statuses']}; fields read {detail['fields']}"
    )
    for key in ("problems", "not_collected"):
        if detail[key]:
            print(f"annexa {key}: {detail[key]}")
    assert annexa.work is not None
    assert floor.work is not None
    print()
    print(ratio_line("annexa / Cloud Custodian, wall", annexa.wall, custodian.wall, TARGET_VS_CUSTODIAN))
    print(ratio_line(f"annexa / {floor.label}, wall", annexa.wall, floor.wall, TARGET_VS_FLOOR))
    print(ratio_line("annexa / floor, work (after imports)", annexa.work, floor.work, None))
    print(ratio_line("annexa / floor, CPU", annexa.cpu, floor.cpu, None))
    print("\nAPI calls by operation (botocore hook):")
    for run in runs:
        if run.calls:
            print(f"  {run.label}: {dict(sorted(run.calls.items()))}")
    print("HTTP requests the moto server logged:")
    for run in runs:
        print(f"  {run.label}: {dict(sorted(run.server.items()))}")
    verdict = f"all contenders fail the same {len(expected)} buckets" if agree else "contenders DISAGREE"
    print(f"\nverdicts: {verdict}")
    return agree


def main(argv: list[str]) -> int:
    if argv[:1] == ["child"]:
        child_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buckets", type=int, default=1000)
    parser.add_argument("--custodian", type=Path, default=DEFAULT_CUSTODIAN, help="the custodian executable")
    parser.add_argument("--workdir", type=Path, help="keep logs and outputs here")
    args = parser.parse_args(argv)
    if not args.custodian.exists():
        sys.exit(f"no {args.custodian}: run `make bench-aws`, which creates build/bench-c7n-venv")

    import boto3
    from botocore.config import Config

    from annexa.app.wiring import make_host
    from annexa.plugins.servers import MotoServer

    aws = make_host().collectors().get("aws")
    if aws is None:
        sys.exit("annexa's aws collector is not installed or not registered (annexa plugins lists it)")
    # The floor gets as many threads as annexa's collector uses by default (its declared config default).
    workers = int(aws.config_schema["properties"]["max_workers"]["default"])

    with tempfile.TemporaryDirectory(prefix="bench-aws-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        log = workdir / "moto.log"
        with MotoServer(log) as server:
            env = {
                **os.environ,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ENDPOINT_URL": server.url,
            }
            env.pop("AWS_PROFILE", None)
            client = boto3.client(
                "s3", region_name=REGION, endpoint_url=server.url, aws_access_key_id="testing",
                aws_secret_access_key="testing", config=Config(max_pool_connections=SEED_THREADS * 2),
            )  # fmt: skip
            started = time.perf_counter()
            expected, seed_calls = seed(client, args.buckets)
            seeding = (time.perf_counter() - started, seed_calls)
            print(f"seeded in {seeding[0]:.1f} s; running the contenders", file=sys.stderr)
            runs = [run_custodian(args.custodian, env, workdir, log)]
            print(f"custodian: {runs[-1].wall:.1f} s", file=sys.stderr)
            sequential = ["floor", "--workers", "1"]
            runs.append(run_python_child("floor, boto3 sequential", sequential, env, workdir, log))
            runs.append(
                run_python_child(
                    f"floor, boto3 {workers} threads",
                    ["floor", "--workers", str(workers)],
                    env,
                    workdir,
                    log,
                )
            )
            runs.append(
                run_python_child(
                    "annexa (collect + evaluate)", ["annexa", "--workdir", str(workdir)], env, workdir, log
                )
            )
        agree = report(runs, expected, seeding, args.buckets, custodian_version(args.custodian))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
