"""Failures stay in their scope: a denied service or call becomes a gap naming the exact IAM action,
everything else is still collected, and no rule passes on what could not be read."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faultproxy import Fault, FaultProxy

from annexa.cli.main import main
from annexa.plugins.servers import MotoServer

from .awskit import ACCOUNT, ROOT, Collected, client

NOW = "2026-11-23T09:00:00Z"
PACK = ROOT / "rules" / "annex_a"  # one control's rules and the pack's parameters: a quick scan


@pytest.fixture
def proxy(aws_env: str, moto_server: MotoServer) -> Iterator[FaultProxy]:
    with FaultProxy(moto_server.url) as running:
        yield running


def _seed_endpoint(name: str, region: str, tags: list[dict[str, str]]) -> None:
    sagemaker = client("sagemaker", region=region)
    sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/sm",
        PrimaryContainer={"Image": "img:1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": name,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)


def test_a_denied_service_is_a_gap_naming_the_action(
    proxy: FaultProxy, collect: Callable[..., Collected]
) -> None:
    client("s3").create_bucket(Bucket="still-collected")
    _seed_endpoint("fraud", "us-east-1", [])
    proxy.faults = [Fault("deny", when=lambda r: r.aws_service == "sagemaker")]
    run = collect(
        {"endpoint_url": proxy.url}, kinds=["aws.s3_bucket", "aws.sagemaker_endpoint", "aws.sagemaker_model"]
    )
    assert set(run.of("aws.s3_bucket")) == {"arn:aws:s3:::still-collected"}
    assert run.of("aws.sagemaker_endpoint") == {}
    gaps = run.gaps()
    assert [(kind, scope) for kind, scope, _ in gaps] == [
        ("aws.sagemaker_endpoint", f"{ACCOUNT}/us-east-1"),
        ("aws.sagemaker_model", f"{ACCOUNT}/us-east-1"),
    ]
    assert gaps[0][2].startswith("access denied to sagemaker:ListEndpoints (AccessDeniedException)")
    assert "iam-policy.json" in gaps[0][2]
    assert gaps[1][2].startswith("access denied to sagemaker:ListModels")


def test_a_denied_call_on_one_bucket_leaves_only_that_bucket_out(
    proxy: FaultProxy, collect: Callable[..., Collected]
) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="open-data")
    s3.create_bucket(Bucket="secret-data")
    proxy.faults = [Fault("deny", when=lambda r: r.path.startswith("/secret-data?encryption"))]
    run = collect(
        {"endpoint_url": proxy.url},
        kinds=["aws.s3_bucket"],
        fields={"aws.s3_bucket": frozenset({"encryption", "versioning"})},
    )
    assert set(run.of("aws.s3_bucket")) == {"arn:aws:s3:::open-data"}
    assert run.gaps() == [
        (
            "aws.s3_bucket",
            f"{ACCOUNT}/us-east-1",
            "bucket secret-data: access denied to s3:GetEncryptionConfiguration (AccessDenied); "
            "add the action to the scanning role; collectors/aws/iam-policy.json lists all it needs",
        )
    ]


def test_throttling_is_retried_and_then_collected(
    proxy: FaultProxy, collect: Callable[..., Collected]
) -> None:
    client("s3").create_bucket(Bucket="busy-data")
    proxy.faults = [Fault("throttle", when=lambda r: r.aws_service == "s3", times=1)]
    # After a throttle, adaptive retries also slow the client down: one setting keeps the test quick.
    run = collect(
        {"endpoint_url": proxy.url, "max_attempts": 4},
        kinds=["aws.s3_bucket"],
        fields={"aws.s3_bucket": frozenset({"versioning"})},
    )
    assert run.gaps() == []
    assert set(run.of("aws.s3_bucket")) == {"arn:aws:s3:::busy-data"}


def test_a_scan_cannot_pass_on_a_region_it_could_not_read(
    proxy: FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every collected endpoint is tagged, but eu-west-1 denied SageMaker: the rule cannot pass, and the
    credentials appear nowhere in what the scan prints or stores."""
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET99"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    _seed_endpoint("fraud", "us-east-1", [{"Key": "ai_system", "Value": "fraud-scoring"}])
    proxy.faults = [
        Fault(
            "deny",
            when=lambda r: (
                r.aws_service == "sagemaker" and "/eu-west-1/" in r.headers.get("authorization", "")
            ),
        )
    ]
    config = tmp_path / "annexa.yaml"
    config.write_text(
        "version: 1\n"
        "collectors:\n"
        "  aws:\n"
        f"    endpoint_url: {proxy.url}\n"
        "    regions: [us-east-1, eu-west-1]\n"
        "    max_attempts: 1\n"
        "rules:\n"
        f"  paths: [{PACK / 'a_4_5.rule'}, {PACK / 'params.rule'}]\n"
        "store:\n"
        "  path: ./store\n",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(["scan", "-c", str(config), "--now", NOW, "--format", "json"])
    result = json.loads(out.getvalue())
    findings = [f for f in result["findings"] if f["rule"] == "A.4.5/sagemaker_endpoints_attributed"]
    # The endpoint that was read keeps its verdict; the region that was not is an inconclusive finding
    # for the whole rule, so neither the rule nor its control can come out as a pass.
    verdicts = sorted((f["status"], f["subject"] or "") for f in findings)
    assert verdicts == [
        ("inconclusive", ""),
        ("pass", f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/fraud"),
    ]
    gaps = result["collection"]["gaps"]["aws.sagemaker_endpoint"]
    assert any(f"{ACCOUNT}/eu-west-1" in gap and "sagemaker:ListEndpoints" in gap for gap in gaps)
    stored = "".join(p.read_text(errors="replace") for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert secret not in out.getvalue() + err.getvalue() + stored
