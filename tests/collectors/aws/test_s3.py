"""S3 buckets against moto: every setting in its configured and never-configured form, per region,
and only the API calls the selected rules need."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from .awskit import ACCOUNT, CallLog, Collected, client

KIND = "aws.s3_bucket"


def _seed_buckets() -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="good-data")
    s3.create_bucket(Bucket="bare-data")
    s3.put_bucket_encryption(
        Bucket="good-data",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": "alias/data",
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_bucket_versioning(Bucket="good-data", VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(
        Bucket="good-data",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket="good-data", OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    s3.create_bucket(Bucket="access-logs")
    s3.put_bucket_acl(Bucket="access-logs", ACL="log-delivery-write")
    s3.put_bucket_logging(
        Bucket="good-data",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "good/"}},
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket="good-data",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "tmp/"},
                    "Expiration": {"Days": 30},
                },
                {"ID": "old", "Status": "Disabled", "Filter": {"Prefix": "x/"}, "Expiration": {"Days": 9}},
            ]
        },
    )
    s3.put_bucket_tagging(Bucket="good-data", Tagging={"TagSet": [{"Key": "ai-system", "Value": "fraud"}]})
    s3.create_bucket(Bucket="locked-data", ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket="locked-data",
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}},
        },
    )


def test_configured_bucket_reports_every_setting(aws_env: str, collect: Callable[..., Collected]) -> None:
    _seed_buckets()
    run = collect(kinds=[KIND])
    assert run.gaps() == []
    good = run.data("arn:aws:s3:::good-data")
    assert good["account_id"] == ACCOUNT
    assert good["region"] == "us-east-1"
    assert good["name"] == "good-data"
    assert good["encryption"] == {
        "configured": True,
        "algorithm": "aws:kms",
        "kms_key_id": "alias/data",
        "bucket_key_enabled": True,
    }
    assert good["versioning"] == {"status": "Enabled", "mfa_delete": False}
    assert good["public_access_block"]["configured"] is True
    assert good["public_access_block"]["all_blocked"] is True
    assert good["ownership"] == {"configured": True, "object_ownership": "BucketOwnerEnforced"}
    assert good["logging"] == {"enabled": True, "target_bucket": "access-logs", "target_prefix": "good/"}
    assert good["lifecycle"] == {"rules": 2, "enabled_rules": 1}
    assert good["tags"] == {"ai-system": "fraud"}
    assert good["object_lock"]["enabled"] is False  # 404 ObjectLockConfigurationNotFoundError
    locked = run.data("arn:aws:s3:::locked-data")
    assert locked["object_lock"] == {
        "enabled": True,
        "mode": "GOVERNANCE",
        "retention_days": 30,
        "retention_years": 0,  # moto answers Years: 0 beside Days
    }


def test_never_configured_settings_are_explicit_not_missing(
    aws_env: str, collect: Callable[..., Collected]
) -> None:
    """moto answers 404 where AWS (since 2023) returns defaults: the item says configured: false."""
    _seed_buckets()
    bare = collect(kinds=[KIND]).data("arn:aws:s3:::bare-data")
    assert bare["encryption"] == {
        "configured": False,
        "algorithm": None,
        "kms_key_id": None,
        "bucket_key_enabled": False,
    }
    assert bare["public_access_block"] == {
        "configured": False,
        "block_public_acls": False,
        "ignore_public_acls": False,
        "block_public_policy": False,
        "restrict_public_buckets": False,
        "all_blocked": False,
    }
    assert bare["ownership"] == {"configured": False, "object_ownership": None}
    assert bare["versioning"] == {"status": "Disabled", "mfa_delete": False}
    assert bare["logging"]["enabled"] is False
    assert bare["lifecycle"] == {"rules": 0, "enabled_rules": 0}
    assert bare["tags"] == {}


def test_only_the_fields_rules_read_cost_calls(
    aws_env: str, collect: Callable[..., Collected], call_log: CallLog
) -> None:
    _seed_buckets()
    call_log.calls.clear()
    run = collect(kinds=[KIND], fields={KIND: frozenset({"encryption", "versioning"})})
    assert len(run.of(KIND)) == 4
    s3_calls = Counter(op for service, op in call_log.calls if service == "s3")
    # One listing, then exactly the two calls per bucket a hand-written script would make.
    assert s3_calls == {"ListBuckets": 1, "GetBucketEncryption": 4, "GetBucketVersioning": 4}
    good = run.data("arn:aws:s3:::good-data")
    assert set(good) == {"arn", "account_id", "region", "name", "created_at", "encryption", "versioning"}


def test_no_settings_read_means_no_per_bucket_calls(
    aws_env: str, collect: Callable[..., Collected], call_log: CallLog
) -> None:
    _seed_buckets()
    call_log.calls.clear()
    run = collect(kinds=[KIND], fields={KIND: frozenset({"name"})})
    assert len(run.of(KIND)) == 4
    assert [op for service, op in call_log.calls if service == "s3"] == ["ListBuckets"]


def test_buckets_belong_to_their_region(aws_env: str, collect: Callable[..., Collected]) -> None:
    client("s3").create_bucket(Bucket="virginia-data")
    client("s3", region="eu-west-1").create_bucket(
        Bucket="ireland-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    only_us = collect(kinds=[KIND])
    assert set(only_us.of(KIND)) == {"arn:aws:s3:::virginia-data"}
    both = collect({"regions": ["us-east-1", "eu-west-1"]}, kinds=[KIND])
    regions = {item.data["name"]: item.data["region"] for item in both.of(KIND).values()}
    assert regions == {"virginia-data": "us-east-1", "ireland-data": "eu-west-1"}
    assert both.data("arn:aws:s3:::ireland-data")["encryption"]["configured"] is False
