"""The demo estate (examples/estate/aws.py) collected in full from moto: every kind moto serves, the
conformant and nonconformant resources told apart, secrets kept out, and every API action the
collector called covered by iam-policy.json."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from annexa.plugins import CollectorSpec
from annexa.plugins.servers import MotoServer
from annexa.store.redaction import redact_all

from .awskit import ACCOUNT, ROOT, CallLog, Collected, collect_with, load_estate, point_at_moto, record_calls

SM = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}"
POLICY = ROOT / "collectors" / "aws" / "iam-policy.json"


@pytest.fixture(scope="module")
def estate(moto_server: MotoServer, aws_spec_module: CollectorSpec) -> Iterator[Collected]:
    """Seeded and collected once for the module: the estate is read-only from here on."""
    with pytest.MonkeyPatch.context() as patch:
        point_at_moto(patch, moto_server)
        load_estate().seed(moto_server.url)
        log = record_calls(patch)  # from here on: the collector's calls only
        run = collect_with(aws_spec_module, {})
        run.calls = log.calls
        yield run


def test_every_kind_moto_serves_is_collected(estate: Collected) -> None:
    counts = {kind: len(estate.of(kind)) for kind in {item.kind for item in estate.evidence}}
    assert counts == {
        "aws.account": 1,
        "aws.iam_role": 2,
        "aws.s3_bucket": 6,
        "aws.cloudtrail_trail": 1,
        "aws.log_group": 3,
        "aws.kms_key": 2,
        "aws.config_recorder": 1,
        "aws.sagemaker_model": 2,
        "aws.sagemaker_model_package": 3,
        "aws.sagemaker_model_card": 2,
        "aws.sagemaker_endpoint": 2,
        "aws.sagemaker_training_job": 2,
        "aws.sagemaker_notebook": 2,
        "aws.bedrock_invocation_logging": 1,
    }
    # What moto cannot answer (HTTP 500) is a gap naming the API action, never a silent empty list.
    gaps = {kind: message for kind, _, message in estate.gaps()}
    assert set(gaps) == {
        "aws.cloudtrail_activity",
        "aws.config_rule",
        "aws.sagemaker_monitoring_schedule",
        "aws.bedrock_guardrail",
    }
    assert "sagemaker:ListMonitoringSchedules" in gaps["aws.sagemaker_monitoring_schedule"]
    assert "config:DescribeComplianceByConfigRule" in gaps["aws.config_rule"]
    assert all(scope == f"{ACCOUNT}/us-east-1" for _, scope, _ in estate.gaps())


def test_conformant_and_nonconformant_resources(estate: Collected) -> None:
    fraud = estate.data(f"{SM}:endpoint/fraud-scoring-prod")
    chatbot = estate.data(f"{SM}:endpoint/support-chatbot-intent-prod")
    assert fraud["data_capture"]["enabled"] is True
    assert fraud["data_capture"]["sampling_percentage"] == 100
    assert fraud["model_names"] == ["fraud-scoring-v1"]
    assert fraud["tags"] == {"ai_system": "fraud-scoring", "environment": "production"}
    assert chatbot["data_capture"] == {
        "enabled": False,
        "sampling_percentage": None,
        "destination": None,
        "kms_key_id": None,
        "capture_modes": [],
    }
    model = estate.data(f"{SM}:model/fraud-scoring-v1")
    assert model["model_package_arns"] == [f"{SM}:model-package/fraud-scoring/1"]
    assert estate.data(f"{SM}:model/support-chatbot-intent-v3")["model_package_arns"] == []
    approved = estate.data(f"{SM}:model-package/fraud-scoring/1")
    assert approved["approval_status"] == "Approved"
    assert approved["metrics"] == ["model_quality"]
    assert approved["source_commit"] == "4f2a9c1"
    assert estate.data(f"{SM}:model-package/support-chatbot-intent/1")["metrics"] == []
    card = estate.data(f"{SM}:model-card/fraud-scoring")
    assert card["status"] == "Approved"
    assert card["sections"] == ["evaluation_details", "intended_uses", "model_overview"]
    assert card["risk_rating"] == "High"
    job = estate.data(f"{SM}:training-job/support-chatbot-intent-train-v3")
    assert job["input_buckets"] == ["acme-chatbot-uploads"]
    assert job["volume_kms_key_id"] is None
    assert estate.data(f"{SM}:training-job/fraud-scoring-train-2026-10")["network_isolation"] is True
    locked = estate.data(f"{SM}:notebook-instance/fraud-research")
    sandbox = estate.data(f"{SM}:notebook-instance/chatbot-sandbox")
    assert (locked["root_access"], locked["direct_internet_access"]) == (False, False)
    assert (sandbox["root_access"], sandbox["direct_internet_access"]) == (True, True)
    trail = next(iter(estate.of("aws.cloudtrail_trail").values())).data
    assert (trail["is_multi_region"], trail["is_logging"], trail["log_file_validation"]) == (True, True, True)
    retention = {
        item.data["name"]: item.data["retention_days"] for item in estate.of("aws.log_group").values()
    }
    assert retention == {
        "/aws/sagemaker/Endpoints/fraud-scoring-prod": 400,
        "/aws/sagemaker/Endpoints/support-chatbot-intent-prod": 14,
        "/aws/sagemaker/TrainingJobs": None,
    }
    rotation = {
        tuple(item.data["aliases"]): item.data["rotation_enabled"]
        for item in estate.of("aws.kms_key").values()
    }
    assert rotation == {("alias/ml-data",): True, ("alias/legacy-exports",): False}
    account = estate.data(f"arn:aws:iam::{ACCOUNT}:root")
    assert account["password_policy"]["minimum_length"] == 8
    assert account["security_contact_configured"] is False
    roles = {item.data["name"]: item.data for item in estate.of("aws.iam_role").values()}
    assert roles["sagemaker-execution"]["trusted_services"] == ["sagemaker.amazonaws.com"]
    assert roles["sagemaker-execution"]["can_reach"] == {
        "sagemaker": False,
        "s3": True,
        "kms": True,
        "bedrock": False,
        "everything": False,
    }
    assert roles["ml-platform-admin"]["can_reach"]["everything"] is True
    recorder = next(iter(estate.of("aws.config_recorder").values())).data
    assert (recorder["recording"], recorder["delivery_channel_configured"]) == (True, True)
    logging = next(iter(estate.of("aws.bedrock_invocation_logging").values())).data
    assert (logging["enabled"], logging["s3_bucket"]) == (True, "acme-ml-audit-logs")


def test_secrets_never_reach_evidence(estate: Collected) -> None:
    """Container environments keep only names; a token in a tag is caught by the scan's redaction."""
    text = json.dumps([item.to_dict() for item in estate.evidence])
    assert "hunter2-demo" not in text
    assert "hf_demoTokenNotReal" not in text
    model = estate.data(f"{SM}:model/fraud-scoring-v1")
    assert model["containers"][0]["environment"] == {"FEATURE_STORE_PASSWORD": "[REDACTED:environment]"}
    # (moto does not echo a training job's Environment; the stubbed tests cover that path.)
    # Tags are a plain name -> value map, the shape annexa.store.redaction recognises by key name.
    stored, count = redact_all(estate.evidence)
    assert count >= 1
    uploads = next(item for item in stored if item.source == "arn:aws:s3:::acme-chatbot-uploads")
    assert uploads.data["tags"]["upload-token"].startswith("[REDACTED:")
    assert uploads.data["tags"]["ai_system"] == "support-chatbot-intent"


def test_every_action_called_is_in_the_shipped_policy(estate: Collected) -> None:
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    allowed = {action for statement in policy["Statement"] for action in statement["Action"]}
    called = CallLog(estate.calls).actions()
    assert called, "no API call was recorded"
    assert called - allowed == set()
    assert {
        "s3:GetEncryptionConfiguration",
        "sagemaker:DescribeEndpointConfig",
        "iam:GetCredentialReport",
    } <= called
    assert not any("*" in action for action in allowed), "the policy grants no wildcard actions"
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])
