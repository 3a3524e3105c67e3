"""S3 buckets: one ``aws.s3_bucket`` item per bucket of the region, one API call per field read.

Buckets are listed per region with ``ListBuckets(BucketRegion=...)``, so no per-bucket location call
is needed. Each setting costs one call per bucket, so only the settings some selected rule reads are
fetched (``CollectRequest.fields``): a scan of encryption and versioning makes exactly those two calls
per bucket, each bucket as its own pool task.

"Never configured" is explicit: where S3 answers 404 for a setting (moto always does; AWS did before
2023 for encryption and still does for a missing public access block), the field says
``configured: false`` rather than being absent, so a rule can tell "off" from "not collected".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from annexa.collectors.aws.calls import call, pages
from annexa.collectors.aws.normalize import tags, timestamp
from annexa.collectors.aws.scope import Batch
from annexa.model.evidence import JSONValue


@dataclass(frozen=True, slots=True)
class Setting:
    method: str
    absent: frozenset[str]  # error codes that mean "never configured"
    parse: Callable[[Mapping[str, Any] | None], JSONValue]


def _encryption(answer: Mapping[str, Any] | None) -> JSONValue:
    rules = (answer or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    if not rules:
        return {"configured": False, "algorithm": None, "kms_key_id": None, "bucket_key_enabled": False}
    rule = rules[0]
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    return {
        "configured": True,
        "algorithm": default.get("SSEAlgorithm"),
        "kms_key_id": default.get("KMSMasterKeyID"),
        "bucket_key_enabled": bool(rule.get("BucketKeyEnabled", False)),
    }


def _versioning(answer: Mapping[str, Any] | None) -> JSONValue:
    answer = answer or {}
    # A bucket whose versioning was never set has no Status at all.
    return {
        "status": str(answer.get("Status") or "Disabled"),
        "mfa_delete": answer.get("MFADelete") == "Enabled",
    }


def _public_access_block(answer: Mapping[str, Any] | None) -> JSONValue:
    block = (answer or {}).get("PublicAccessBlockConfiguration")
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    names = ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")
    values = {name: bool((block or {}).get(flag, False)) for name, flag in zip(names, flags, strict=True)}
    return {"configured": block is not None, **values, "all_blocked": all(values.values())}


def _ownership(answer: Mapping[str, Any] | None) -> JSONValue:
    rules = (answer or {}).get("OwnershipControls", {}).get("Rules", [])
    return {"configured": bool(rules), "object_ownership": rules[0].get("ObjectOwnership") if rules else None}


def _logging(answer: Mapping[str, Any] | None) -> JSONValue:
    enabled = (answer or {}).get("LoggingEnabled")
    return {
        "enabled": enabled is not None,
        "target_bucket": (enabled or {}).get("TargetBucket"),
        "target_prefix": (enabled or {}).get("TargetPrefix"),
    }


def _object_lock(answer: Mapping[str, Any] | None) -> JSONValue:
    config = (answer or {}).get("ObjectLockConfiguration", {})
    retention = config.get("Rule", {}).get("DefaultRetention", {})
    return {
        "enabled": config.get("ObjectLockEnabled") == "Enabled",
        "mode": retention.get("Mode"),
        "retention_days": retention.get("Days"),
        "retention_years": retention.get("Years"),
    }


def _lifecycle(answer: Mapping[str, Any] | None) -> JSONValue:
    rules = (answer or {}).get("Rules", [])
    return {"rules": len(rules), "enabled_rules": sum(1 for r in rules if r.get("Status") == "Enabled")}


def _tags(answer: Mapping[str, Any] | None) -> JSONValue:
    return tags((answer or {}).get("TagSet"))


# field -> how to read it. Order is the order of the calls for one bucket.
SETTINGS: Mapping[str, Setting] = {
    "encryption": Setting(
        "get_bucket_encryption", frozenset({"ServerSideEncryptionConfigurationNotFoundError"}), _encryption
    ),
    "versioning": Setting("get_bucket_versioning", frozenset(), _versioning),
    "public_access_block": Setting(
        "get_public_access_block", frozenset({"NoSuchPublicAccessBlockConfiguration"}), _public_access_block
    ),
    "ownership": Setting(
        "get_bucket_ownership_controls", frozenset({"OwnershipControlsNotFoundError"}), _ownership
    ),
    "logging": Setting("get_bucket_logging", frozenset(), _logging),
    "object_lock": Setting(
        "get_object_lock_configuration", frozenset({"ObjectLockConfigurationNotFoundError"}), _object_lock
    ),
    "lifecycle": Setting(
        "get_bucket_lifecycle_configuration", frozenset({"NoSuchLifecycleConfiguration"}), _lifecycle
    ),
    "tags": Setting("get_bucket_tagging", frozenset({"NoSuchTagSet"}), _tags),
}


def collect_buckets(batch: Batch) -> None:
    """List the region's buckets; each bucket's settings are read by its own follow-up task."""
    scope = batch.scope
    client = scope.client("s3")
    wanted = tuple(name for name in SETTINGS if scope.reads(batch.kind, name))
    for bucket in pages(client, "list_buckets", "Buckets", BucketRegion=scope.region):
        name = str(bucket["Name"])
        base: dict[str, JSONValue] = {"name": name, "created_at": timestamp(bucket.get("CreationDate"))}
        if not wanted:
            batch.add(f"arn:aws:s3:::{name}", base)
        else:
            batch.later(_bucket_reader(client, name, base, wanted))


def _bucket_reader(
    client: Any, name: str, base: dict[str, JSONValue], wanted: tuple[str, ...]
) -> Callable[[Batch], None]:
    def fetch(setting: Setting) -> tuple[Any]:
        # A one-tuple tells "never configured" (None inside) from a failed call (None).
        return (call(client, setting.method, absent=setting.absent, Bucket=name),)

    def read(batch: Batch) -> None:
        data = dict(base)
        for field in wanted:
            setting = SETTINGS[field]
            answer = batch.attempt(f"bucket {name}", partial(fetch, setting))
            if answer is None:
                return  # the call failed: gap recorded, the bucket is left out
            data[field] = setting.parse(answer[0])
        batch.add(f"arn:aws:s3:::{name}", data)

    return read
