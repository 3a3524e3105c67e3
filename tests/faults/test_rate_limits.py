"""The AWS collector keeps to its bounds on concurrent calls and reports the throttling it met.

A scan of moto's server through a proxy on 127.0.0.1 that counts the requests in flight (in all and per
service, from the SigV4 credential scope) and answers some of them with AWS's throttling error.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import boto3
import pytest
from faultproxy import Fault, FaultProxy, Request

from annexa.cli.main import main
from annexa.plugins.servers import MotoServer

NOW = "2026-11-23T12:00:00Z"
BUCKETS = 24
RULES = """control A.7.5 "Data provenance" {
  rule buckets_versioned {
    for each b in aws.s3_bucket
    require b.versioning.status == "Enabled"
    message "bucket {b.name} is not versioned"
  }
}
control A.6.2.8 "Event logs" {
  rule keys_rotated {
    for each k in aws.kms_key where k.manager == "CUSTOMER"
    require k.rotation_enabled
    message "key {k.key_id} does not rotate"
  }
}
"""


class CountingProxy(FaultProxy):
    """A fault proxy that also records the most requests it had in flight at once, in all and per
    service; each request is held a little so that concurrent calls overlap visibly.

    A request stops counting as its answer's headers are sent, before the client can have read it: the
    client holds its place under the bound until then, so a count taken later (after the body, as the
    handler's thread gets round to it on a loaded machine) would see the client's next call overlap its
    previous one and report one call too many."""

    def __init__(self, upstream: str, hold_seconds: float = 0.03) -> None:
        self.hold_seconds = hold_seconds
        self.active: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        super().__init__(upstream)

    def _enter(self, service: str) -> None:
        with self._count_lock:
            for key in ("*", service):
                self.active[key] += 1
                self.peak[key] = max(self.peak[key], self.active[key])

    def _leave(self, service: str) -> None:
        with self._count_lock:
            for key in ("*", service):
                self.active[key] -= 1

    def _handler_class(self) -> type[Any]:
        base: Any = super()._handler_class()
        proxy = self

        class Counting(base):  # type: ignore[misc, valid-type]
            counted: str | None = None  # the service this request is counted under until it is answered

            def _serve(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                self.counted = Request(self.command, self.path, headers, b"").aws_service or "?"
                proxy._enter(self.counted)
                try:
                    time.sleep(proxy.hold_seconds)
                    super()._serve()
                finally:
                    self._uncount()  # a fault that never answers (timeout, reset)

            def end_headers(self) -> None:
                self._uncount()
                super().end_headers()

            def _uncount(self) -> None:
                if self.counted is not None:
                    proxy._leave(self.counted)
                    self.counted = None

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        return Counting


@pytest.fixture
def estate(tmp_path: Path, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    moto_server.reset()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    s3 = boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1")
    for n in range(BUCKETS):
        s3.create_bucket(Bucket=f"limits-{n:02d}")
        s3.put_bucket_versioning(Bucket=f"limits-{n:02d}", VersioningConfiguration={"Status": "Enabled"})
    kms = boto3.client("kms", endpoint_url=moto_server.url, region_name="us-east-1")
    for _ in range(6):
        kms.enable_key_rotation(KeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "limits.rule").write_text(RULES, encoding="utf-8")
    with CountingProxy(moto_server.url) as proxy:
        yield tmp_path, proxy


def scan(root: Path, proxy: FaultProxy, *extra: str, **aws: Any) -> tuple[int, dict[str, Any]]:
    settings = {"endpoint_url": proxy.url, "regions": ["us-east-1"], "max_workers": 16, **aws}
    config = {
        "version": 1,
        "collectors": {"aws": settings},
        "rules": {"paths": ["rules"]},
        "store": {"path": "store"},
    }
    (root / "annexa.yaml").write_text(json.dumps(config), encoding="utf-8")
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["scan", "-c", str(root / "annexa.yaml"), "--now", NOW, *extra])
    return code, json.loads(out.getvalue()) if "json" in extra else {"text": out.getvalue()}


def aws_figures(result: dict[str, Any]) -> dict[str, int]:
    (run,) = [run for run in result["collection"]["runs"] if run["collector"] == "aws"]
    assert run["error"] is None
    return dict(run["figures"])


@pytest.mark.slow
def test_concurrent_calls_stay_within_the_scan_and_service_bounds(estate: Any) -> None:
    root, proxy = estate
    code, result = scan(
        root, proxy, "--format", "json", max_concurrent_calls=3, max_concurrent_calls_per_service=2
    )
    assert code == 0, [f for f in result["findings"] if f["status"] != "pass"]
    assert proxy.peak["*"] <= 3
    assert proxy.peak["s3"] <= 2
    assert proxy.peak["kms"] <= 2
    figures = aws_figures(result)
    assert figures["max_concurrent_calls"] == 3
    assert figures["max_concurrent_calls_per_service"] == 2
    assert 2 <= figures["peak_concurrent_calls"] <= 3
    assert figures["api_calls"] == proxy.requests_seen  # no throttling: one request per call
    assert figures["throttled"] == 0
    # The same scan with room: 16 threads do overlap far more, so the bound above is what held them.
    proxy.peak.clear()
    code, result = scan(root, proxy, "--format", "json", max_concurrent_calls=64)
    assert code == 0
    assert proxy.peak["*"] > 3
    assert proxy.peak["s3"] > 2
    assert aws_figures(result)["peak_concurrent_calls"] > 3


@pytest.mark.slow
def test_throttling_answers_are_retried_and_counted_in_the_scan_figures(
    estate: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    root, proxy = estate
    proxy.faults = [Fault("throttle", when=lambda request: request.aws_service == "s3", times=3)]
    code, result = scan(root, proxy, "--format", "json", "--timings", max_concurrent_calls=4, max_attempts=10)
    assert code == 0, [f for f in result["findings"] if f["status"] != "pass"]  # retried: every bucket seen
    assert sum(1 for f in result["findings"] if f["rule"].endswith("buckets_versioned")) == BUCKETS
    figures = aws_figures(result)
    assert proxy.faults[0].hits == 3
    assert figures["throttled"] == 3
    assert figures["throttled.s3"] == 3
    assert "throttled.kms" not in figures
    assert figures["api_calls"] == proxy.requests_seen - 3  # a throttled attempt is retried, same call
    err = capsys.readouterr().err
    assert "annexa: timing figures aws: api_calls " in err
    assert ", throttled 3, throttled.s3 3," in err
    # The text report says it too, under the findings.
    proxy.faults = [Fault("throttle", when=lambda request: request.aws_service == "kms", times=2)]
    code, text = scan(root, proxy, max_attempts=10)
    assert code == 0
    (line,) = [line for line in text["text"].splitlines() if line.startswith("figures aws:")]
    assert ", throttled 2, throttled.kms 2, max_concurrent_calls 32," in line


def seed_account(url: str, account: str, buckets: int) -> None:
    """Versioned buckets made as ``account`` (moto keeps one estate per account id)."""
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    s3.meta.events.register(
        "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
    )
    for n in range(buckets):
        s3.create_bucket(Bucket=f"limits-{account}-{n:02d}")
        s3.put_bucket_versioning(
            Bucket=f"limits-{account}-{n:02d}", VersioningConfiguration={"Status": "Enabled"}
        )


@pytest.mark.slow
def test_the_bound_holds_for_all_account_tasks_of_a_scan_together(
    estate: Any, moto_server: MotoServer
) -> None:
    root, proxy = estate
    accounts = ["111111111111", "222222222222", "333333333333"]
    for account in accounts:
        seed_account(moto_server.url, account, 10)
    roles = [{"role_arn": f"arn:aws:iam::{account}:role/annexa-audit"} for account in accounts]
    # Each account is a task of its own, run side by side by the local executor, each with 16 threads.
    code, result = scan(root, proxy, "--format", "json", accounts=roles, max_concurrent_calls=4)
    assert code == 2  # these accounts have no KMS key: the key rule has nothing to check
    assert {f["rule"] for f in result["findings"] if f["status"] != "pass"} == {"A.6.2.8/keys_rotated"}
    versioned = [f for f in result["findings"] if f["rule"].endswith("buckets_versioned")]
    assert len(versioned) == 30
    assert {f["subject"].split("-")[1] for f in versioned} == set(accounts)
    assert proxy.peak["*"] <= 4
    figures = aws_figures(result)
    assert figures["api_calls"] == proxy.requests_seen  # every task's calls, added up
    assert 2 <= figures["peak_concurrent_calls"] <= 4
    proxy.peak.clear()
    code, result = scan(root, proxy, "--format", "json", accounts=roles, max_concurrent_calls=64,
                        max_concurrent_calls_per_service=64)  # fmt: skip
    assert code == 2
    assert proxy.peak["*"] > 4  # the tasks' threads together would go past the bound


@pytest.mark.slow
def test_on_dask_the_bound_holds_across_the_workers(
    estate: Any, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    root, proxy = estate
    accounts = ["444444444444", "555555555555", "666666666666", "777777777777"]
    for account in accounts:
        seed_account(moto_server.url, account, 8)
    roles = [{"role_arn": f"arn:aws:iam::{account}:role/annexa-audit"} for account in accounts]
    # Workers inherit this process's environment (the AWS credentials the estate fixture set).
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", protocol="tcp") as cluster:  # fmt: skip
        executor = ["--executor", "dask://" + cluster.scheduler_address.removeprefix("tcp://")]
        code, result = scan(root, proxy, "--format", "json", *executor, accounts=roles,
                            max_concurrent_calls=3)  # fmt: skip
        assert code == 2  # no KMS keys in these accounts
        versioned = [f for f in result["findings"] if f["rule"].endswith("buckets_versioned")]
        assert len(versioned) == 32
        assert all(f["status"] == "pass" for f in versioned)
        assert proxy.peak["*"] <= 3  # 4 account tasks on 2 workers, 16 threads each: 3 calls at a time
        assert aws_figures(result)["api_calls"] == proxy.requests_seen
        proxy.peak.clear()
        code, result = scan(root, proxy, "--format", "json", *executor, accounts=roles,
                            max_concurrent_calls=64, max_concurrent_calls_per_service=64)  # fmt: skip
        assert code == 2
        assert proxy.peak["*"] > 3
