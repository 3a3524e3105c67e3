"""Trails, log groups, KMS keys and Config recorders against moto, each in a passing and a failing form."""

from __future__ import annotations

import json
from collections.abc import Callable

from .awskit import ACCOUNT, Collected, client


def _trail_bucket(name: str) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket=name)
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": ["s3:GetBucketAcl", "s3:PutObject"],
        "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
    }
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def test_trails_logging_and_not(aws_env: str, collect: Callable[..., Collected]) -> None:
    _trail_bucket("trail-logs")
    cloudtrail = client("cloudtrail")
    cloudtrail.create_trail(
        Name="main", S3BucketName="trail-logs", IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    cloudtrail.start_logging(Name="main")
    cloudtrail.create_trail(Name="stopped", S3BucketName="trail-logs")
    run = collect({"regions": ["us-east-1", "eu-west-1"]}, kinds=["aws.cloudtrail_trail"])
    trails = {item.data["name"]: item.data for item in run.of("aws.cloudtrail_trail").values()}
    assert set(trails) == {"main", "stopped"}  # the multi-region trail is not repeated from eu-west-1
    assert (trails["main"]["is_multi_region"], trails["main"]["is_logging"]) == (True, True)
    assert trails["main"]["log_file_validation"] is True
    assert (trails["stopped"]["is_multi_region"], trails["stopped"]["is_logging"]) == (False, False)
    assert trails["stopped"]["home_region"] == "us-east-1"


def test_log_groups_retention_and_keys(aws_env: str, collect: Callable[..., Collected]) -> None:
    logs = client("logs")
    logs.create_log_group(
        logGroupName="/aws/sagemaker/Endpoints/kept", kmsKeyId="arn:aws:kms:us-east-1:1:key/k"
    )
    logs.put_retention_policy(logGroupName="/aws/sagemaker/Endpoints/kept", retentionInDays=400)
    logs.create_log_group(logGroupName="/aws/sagemaker/Endpoints/short")
    logs.put_retention_policy(logGroupName="/aws/sagemaker/Endpoints/short", retentionInDays=7)
    logs.create_log_group(logGroupName="/forever")
    run = collect(kinds=["aws.log_group"])
    groups = {item.data["name"]: item for item in run.of("aws.log_group").values()}
    assert {name: g.data["retention_days"] for name, g in groups.items()} == {
        "/aws/sagemaker/Endpoints/kept": 400,
        "/aws/sagemaker/Endpoints/short": 7,
        "/forever": None,
    }
    assert groups["/aws/sagemaker/Endpoints/kept"].data["kms_key_id"] == "arn:aws:kms:us-east-1:1:key/k"
    assert groups["/forever"].source == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/forever"


def test_kms_rotation_applies_only_where_it_can(aws_env: str, collect: Callable[..., Collected]) -> None:
    kms = client("kms")
    rotated = kms.create_key(Description="rotated")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotated)
    kms.create_key(Description="never rotated")
    kms.create_key(Description="signing", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    disabled = kms.create_key(Description="disabled")["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=disabled)
    run = collect(kinds=["aws.kms_key"])
    rotation = {
        item.data["description"]: item.data["rotation_enabled"] for item in run.of("aws.kms_key").values()
    }
    assert rotation == {"rotated": True, "never rotated": False, "signing": None, "disabled": None}


def test_config_recorders_recording_or_not(aws_env: str, collect: Callable[..., Collected]) -> None:
    for region, start in (("us-east-1", True), ("eu-west-1", False)):
        config = client("config", region=region)
        config.put_configuration_recorder(
            ConfigurationRecorder={
                "name": "default",
                "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config",
                "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": region == "us-east-1"},
            }
        )
        if start:
            config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-logs"})
            config.start_configuration_recorder(ConfigurationRecorderName="default")
    run = collect({"regions": ["us-east-1", "eu-west-1"]}, kinds=["aws.config_recorder"])
    recorders = {item.data["region"]: item.data for item in run.of("aws.config_recorder").values()}
    assert recorders["us-east-1"]["recording"] is True
    assert recorders["us-east-1"]["delivery_channel_configured"] is True
    assert recorders["eu-west-1"]["recording"] is False
    assert recorders["eu-west-1"]["delivery_channel_configured"] is False
    assert run.gaps() == []
