"""Scans through a fault-injecting proxy in front of moto and MLflow: faults never give a false pass.

For each fault: the scan completes, the affected kinds are inconclusive (not collected, or a gap) with
the cause named, no finding passes that did not pass in a clean scan, every finding of a rule that
reads no affected kind is exactly as in the clean scan, and the exit code says the result is incomplete.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from faultproxy import Fault, FaultProxy

from annexa.cli.main import main
from annexa.model.exitcodes import ExitCode
from annexa.plugins.servers import MlflowServer, MotoServer

NOW = "2026-11-23T12:00:00Z"
MODEL = f"faults-{uuid.uuid4().hex[:8]}"  # the MLflow server is shared by the session: a name of our own
RULES = f"""control A.7.5 "Data provenance" {{
  rule buckets_versioned {{
    for each b in aws.s3_bucket
    require b.versioning.status == "Enabled"
    message "bucket {{b.name}} is not versioned"
  }}
}}
control A.6.2.8 "Event logs" {{
  rule keys_rotated {{
    for each k in aws.kms_key where k.manager == "CUSTOMER"
    require k.rotation_enabled
    message "key {{k.key_id}} does not rotate"
  }}
  rule a_trail_exists {{
    require exists t in aws.cloudtrail_trail where t.is_multi_region
    message "no multi-region trail"
  }}
}}
control A.6.2.3 "Design documentation" {{
  rule registered_models_described {{
    for each m in mlflow.registered_model where m.name startswith "{MODEL}"
    require m.description != null
    message "model {{m.name}} has no description"
  }}
}}
"""


@dataclass
class Estate:
    root: Path
    aws: FaultProxy
    registry: FaultProxy

    def scan(self) -> tuple[int, dict[str, Any]]:
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["scan", "-c", str(self.root / "annexa.yaml"), "--now", NOW, "--format", "json"])
        return code, json.loads(out.getvalue())


def seed(moto: MotoServer, registry: MlflowServer) -> None:
    moto.reset()
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
    for name in ("faults-train", "faults-eval", "faults-trail"):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    kms = boto3.client("kms", endpoint_url=moto.url, region_name="us-east-1")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key)
    trail = boto3.client("cloudtrail", endpoint_url=moto.url, region_name="us-east-1")
    trail.create_trail(Name="org-trail", S3BucketName="faults-trail", IsMultiRegionTrail=True)
    for suffix in ("", "-b"):
        answer = requests.post(
            registry.api + "/registered-models/create",
            json={"name": MODEL + suffix, "description": "Scores transactions"},
            headers={"Connection": "close"},
            timeout=30,
        )
        answer.raise_for_status()


@pytest.fixture(scope="module")
def estate(
    tmp_path_factory: pytest.TempPathFactory, moto_server: MotoServer, mlflow_server: MlflowServer
) -> Iterator[Estate]:
    root = tmp_path_factory.mktemp("faults")
    (root / "rules").mkdir()
    (root / "rules" / "faults.rule").write_text(RULES, encoding="utf-8")
    with (
        pytest.MonkeyPatch.context() as env,
        FaultProxy(moto_server.url) as aws,
        FaultProxy(mlflow_server.url) as registry,
    ):
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        seed(moto_server, mlflow_server)
        (root / "annexa.yaml").write_text(
            "version: 1\norganization: Faults Ltd\ncollectors:\n"
            f"  aws: {{endpoint_url: '{aws.url}', regions: [us-east-1], max_attempts: 2,"
            " read_timeout_seconds: 2, connect_timeout_seconds: 2}\n"
            f"  mlflow: {{tracking_uri: '{registry.url}', name: faults, retries: 1, backoff_seconds: 0,"
            " timeout_seconds: 2}\n"
            "rules: {paths: [rules]}\nstore: {path: store}\n",
            encoding="utf-8",
        )
        yield Estate(root, aws, registry)


@pytest.fixture(scope="module")
def clean(estate: Estate) -> dict[str, Any]:
    code, result = estate.scan()
    assert code == ExitCode.CONFORMANT, [f for f in result["findings"] if f["status"] != "pass"]
    return result


def service(name: str) -> Any:
    return lambda request: request.aws_service == name


def mlflow_path(fragment: str) -> Any:
    return lambda request: request.aws_service is None and fragment in request.path


# scenario -> (proxy, faults, the kinds the fault touches)
BUCKETS, KEYS, TRAILS, MODELS = (
    "aws.s3_bucket",
    "aws.kms_key",
    "aws.cloudtrail_trail",
    "mlflow.registered_model",
)
SCENARIOS: dict[str, tuple[str, list[Fault], set[str]]] = {
    "s3 throttled throughout": ("aws", [Fault("throttle", when=service("s3"))], {BUCKETS}),
    "s3 answers 500": ("aws", [Fault("server_error", when=service("s3"))], {BUCKETS}),
    "kms denied": ("aws", [Fault("deny", when=service("kms"))], {KEYS}),
    "cloudtrail connection reset": ("aws", [Fault("reset", when=service("cloudtrail"))], {TRAILS}),
    "cloudtrail stalls": ("aws", [Fault("timeout", when=service("cloudtrail"), stall_seconds=5)], {TRAILS}),
    "kms listing cut short": ("aws", [Fault("truncate", when=service("kms"))], {KEYS}),
    "kms listing malformed": ("aws", [Fault("malformed", when=service("kms"))], {KEYS}),
    "registry down with 500s": ("mlflow", [Fault("server_error")], {MODELS}),
    "registry throttles": ("mlflow", [Fault("throttle")], {MODELS}),
    "registry answers garbage": ("mlflow", [Fault("malformed", when=mlflow_path("models"))], {MODELS}),
    "registry resets": ("mlflow", [Fault("reset")], {MODELS}),
}  # fmt: skip


RULE_KINDS = {
    "A.7.5/buckets_versioned": {BUCKETS},
    "A.6.2.8/keys_rotated": {KEYS},
    "A.6.2.8/a_trail_exists": {TRAILS},
    "A.6.2.3/registered_models_described": {MODELS},
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_fault_never_gives_a_false_pass(estate: Estate, clean: dict[str, Any], scenario: str) -> None:
    target, faults, touched = SCENARIOS[scenario]
    proxy = estate.aws if target == "aws" else estate.registry
    proxy.faults = faults
    try:
        code, result = estate.scan()
    finally:
        proxy.faults = []
    assert code == ExitCode.INCONCLUSIVE, scenario
    incomplete = set(result["collection"]["not_collected"]) | set(result["collection"].get("gaps", {}))
    assert touched <= incomplete, (scenario, result["collection"])
    causes = " ".join(
        [*result["collection"]["not_collected"].values(), *map(str, result["collection"]["gaps"].values())]
    )
    assert causes.strip(), scenario
    before = {(f["rule"], f["subject"]): f for f in clean["findings"]}
    for finding in result["findings"]:
        key = (finding["rule"], finding["subject"])
        if finding["status"] == "pass":
            assert before.get(key, {}).get("status") == "pass", (scenario, finding)
        if not RULE_KINDS[finding["rule"]] & touched:
            assert finding["status"] == before[key]["status"], (scenario, finding)
            assert finding["message"] == before[key]["message"], (scenario, finding)
    affected = [f for f in result["findings"] if RULE_KINDS[f["rule"]] & touched]
    assert affected, scenario
    assert all(f["status"] == "inconclusive" for f in affected), (scenario, affected)


def test_transient_faults_are_retried_to_the_clean_result(estate: Estate, clean: dict[str, Any]) -> None:
    aws_faults = [
        Fault("throttle", when=service("s3"), times=1),
        Fault("server_error", when=service("kms"), times=1),
    ]
    registry_faults = [Fault("throttle", times=1)]
    estate.aws.faults, estate.registry.faults = aws_faults, registry_faults
    try:
        code, result = estate.scan()
    finally:
        estate.aws.faults = []
        estate.registry.faults = []
    assert code == ExitCode.CONFORMANT
    assert [(f["rule"], f["subject"], f["status"]) for f in result["findings"]] == [
        (f["rule"], f["subject"], f["status"]) for f in clean["findings"]
    ]
    assert [fault.hits for fault in [*aws_faults, *registry_faults]] == [1, 1, 1]  # each met, then retried


def test_one_account_denied_is_a_gap_not_a_lost_scan(estate: Estate, clean: dict[str, Any]) -> None:
    """Access denied on every S3 call: the bucket rule is inconclusive and names the denied action."""
    estate.aws.faults = [Fault("deny", when=service("s3"))]
    try:
        code, result = estate.scan()
    finally:
        estate.aws.faults = []
    assert code == ExitCode.INCONCLUSIVE
    text = json.dumps(result["collection"])
    assert "s3:ListAllMyBuckets" in text or "s3:ListBuckets" in text, text
    kept = [f for f in result["findings"] if f["rule"] == "A.6.2.8/keys_rotated"]
    assert [f["status"] for f in kept] == ["pass"]
