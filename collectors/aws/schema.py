"""JSON Schemas of the AWS collector: its configuration block and its evidence kinds.

Every item carries ``account_id``, ``region`` (``global`` for IAM) and ``arn``. Fields that cost an API
call per resource are optional: a scan whose rules do not read them never asks for them
(``CollectRequest.fields``), and a rule that reads an absent field fails, never passes.
"""

from __future__ import annotations

from typing import Any

NAME = "aws"  # the collector's name in annexa.yaml and in evidence
VERSION = "0.1.0"

ACCOUNT = "aws.account"
IAM_ROLE = "aws.iam_role"
S3_BUCKET = "aws.s3_bucket"
CLOUDTRAIL_TRAIL = "aws.cloudtrail_trail"
CLOUDTRAIL_ACTIVITY = "aws.cloudtrail_activity"
LOG_GROUP = "aws.log_group"
KMS_KEY = "aws.kms_key"
CONFIG_RECORDER = "aws.config_recorder"
CONFIG_RULE = "aws.config_rule"
SAGEMAKER_MODEL = "aws.sagemaker_model"
SAGEMAKER_MODEL_PACKAGE = "aws.sagemaker_model_package"
SAGEMAKER_MODEL_CARD = "aws.sagemaker_model_card"
SAGEMAKER_ENDPOINT = "aws.sagemaker_endpoint"
SAGEMAKER_MONITORING_SCHEDULE = "aws.sagemaker_monitoring_schedule"
SAGEMAKER_TRAINING_JOB = "aws.sagemaker_training_job"
SAGEMAKER_NOTEBOOK = "aws.sagemaker_notebook"
BEDROCK_GUARDRAIL = "aws.bedrock_guardrail"
BEDROCK_INVOCATION_LOGGING = "aws.bedrock_invocation_logging"

GLOBAL_REGION = "global"  # the region of IAM evidence, which belongs to no region

_STR: dict[str, Any] = {"type": "string"}
_NSTR: dict[str, Any] = {"type": ["string", "null"]}
_BOOL: dict[str, Any] = {"type": "boolean"}
_NBOOL: dict[str, Any] = {"type": ["boolean", "null"]}
_INT: dict[str, Any] = {"type": "integer"}
_NINT: dict[str, Any] = {"type": ["integer", "null"]}
_NNUM: dict[str, Any] = {"type": ["number", "null"]}
_TIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
_STRS: dict[str, Any] = {"type": "array", "items": _STR}
_TAGS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": _STR,
    "description": "Resource tags, key -> value (secret-looking values are redacted before storage).",
}
_ENV: dict[str, Any] = {
    "type": "object",
    "additionalProperties": _STR,
    "description": "Environment variables by name; every value is replaced by [REDACTED:environment].",
}


def _record(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


def _kind(description: str, properties: dict[str, Any], *required: str) -> dict[str, Any]:
    """A kind's schema: the common identity fields are always present, the rest as listed."""
    schema = _record(
        {"arn": _STR, "account_id": _STR, "region": _STR, **properties},
        "arn",
        "account_id",
        "region",
        *required,
    )
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "description": description, **schema}


KINDS: dict[str, dict[str, Any]] = {
    ACCOUNT: _kind(
        "An AWS account: IAM password policy, root user and console users from the credential report.",
        {
            "password_policy": {
                "type": ["object", "null"],
                "description": "null when the account has none (AWS then applies its weak default).",
                "properties": {
                    "minimum_length": _NINT,
                    "require_symbols": _BOOL,
                    "require_numbers": _BOOL,
                    "require_uppercase": _BOOL,
                    "require_lowercase": _BOOL,
                    "max_age_days": _NINT,
                    "reuse_prevention": _NINT,
                    "hard_expiry": _BOOL,
                },
            },
            "root_mfa_enabled": _NBOOL,
            "root_access_keys_active": _NBOOL,
            "console_users_without_mfa": _STRS,
            "security_contact_configured": _NBOOL,
        },
    ),
    IAM_ROLE: _kind(
        "An IAM role: who may assume it, its policies, and which AI-relevant services it can reach.",
        {
            "name": _STR,
            "path": _STR,
            "created_at": _TIME,
            "last_used_at": _TIME,
            "trusted_services": _STRS,
            "trusted_principals": _STRS,
            "attached_policy_arns": _STRS,
            "inline_policy_names": _STRS,
            "can_reach": _record(
                {"sagemaker": _BOOL, "s3": _BOOL, "kms": _BOOL, "bedrock": _BOOL, "everything": _BOOL},
                "sagemaker",
                "s3",
                "kms",
                "bedrock",
                "everything",
            ),
            "tags": _TAGS,
        },
        "name",
        "trusted_services",
    ),
    S3_BUCKET: _kind(
        "An S3 bucket and its data-protection settings. A setting never configured is configured: false.",
        {
            "name": _STR,
            "created_at": _TIME,
            "encryption": _record(
                {"configured": _BOOL, "algorithm": _NSTR, "kms_key_id": _NSTR, "bucket_key_enabled": _BOOL},
                "configured",
                "algorithm",
            ),
            "versioning": _record({"status": _STR, "mfa_delete": _BOOL}, "status"),
            "public_access_block": _record(
                {
                    "configured": _BOOL,
                    "block_public_acls": _BOOL,
                    "ignore_public_acls": _BOOL,
                    "block_public_policy": _BOOL,
                    "restrict_public_buckets": _BOOL,
                    "all_blocked": _BOOL,
                },
                "configured",
                "all_blocked",
            ),
            "ownership": _record({"configured": _BOOL, "object_ownership": _NSTR}, "configured"),
            "logging": _record({"enabled": _BOOL, "target_bucket": _NSTR, "target_prefix": _NSTR}, "enabled"),
            "object_lock": _record(
                {"enabled": _BOOL, "mode": _NSTR, "retention_days": _NINT, "retention_years": _NINT},
                "enabled",
            ),
            "lifecycle": _record({"rules": _INT, "enabled_rules": _INT}, "rules", "enabled_rules"),
            "tags": _TAGS,
        },
        "name",
    ),
    CLOUDTRAIL_TRAIL: _kind(
        "A CloudTrail trail, listed in its home region.",
        {
            "name": _STR,
            "home_region": _STR,
            "is_multi_region": _BOOL,
            "is_organization_trail": _BOOL,
            "log_file_validation": _BOOL,
            "kms_key_id": _NSTR,
            "s3_bucket": _NSTR,
            "cloudwatch_log_group_arn": _NSTR,
            "is_logging": _NBOOL,
            "latest_delivery_error": _NSTR,
        },
        "name",
        "is_multi_region",
        "log_file_validation",
    ),
    CLOUDTRAIL_ACTIVITY: _kind(
        "Management events of AI services in one account and region over the lookback window "
        "(CloudTrail LookupEvents).",
        {
            "lookback_days": _INT,
            "event_counts": {"type": "object", "additionalProperties": _INT},
            "last_event_at": {"type": "object", "additionalProperties": _STR},
        },
        "lookback_days",
        "event_counts",
    ),
    LOG_GROUP: _kind(
        "A CloudWatch Logs log group: retention (null = never expires) and encryption.",
        {
            "name": _STR,
            "retention_days": _NINT,
            "kms_key_id": _NSTR,
            "stored_bytes": _NINT,
            "created_at": _TIME,
        },
        "name",
        "retention_days",
        "kms_key_id",
    ),
    KMS_KEY: _kind(
        "A KMS key: manager, state and automatic rotation (null where rotation does not apply).",
        {
            "key_id": _STR,
            "manager": _STR,
            "state": _STR,
            "key_spec": _NSTR,
            "key_usage": _NSTR,
            "description": _NSTR,
            "aliases": _STRS,
            "rotation_enabled": _NBOOL,
        },
        "key_id",
        "manager",
        "state",
    ),
    CONFIG_RECORDER: _kind(
        "An AWS Config configuration recorder with its status.",
        {
            "name": _STR,
            "recording": _BOOL,
            "all_supported": _BOOL,
            "include_global_resources": _BOOL,
            "resource_types": _STRS,
            "last_status": _NSTR,
            "delivery_channel_configured": _BOOL,
        },
        "name",
        "recording",
    ),
    CONFIG_RULE: _kind(
        "An AWS Config rule and its compliance.",
        {
            "name": _STR,
            "state": _NSTR,
            "owner": _NSTR,
            "source_identifier": _NSTR,
            "compliance": {
                "type": ["string", "null"],
                "description": "COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE or INSUFFICIENT_DATA",
            },
            "noncompliant_resources": _NINT,
        },
        "name",
    ),
    SAGEMAKER_MODEL: _kind(
        "A SageMaker model: its containers (environment values redacted), role and isolation.",
        {
            "name": _STR,
            "created_at": _TIME,
            "execution_role_arn": _NSTR,
            "network_isolation": _BOOL,
            "vpc_configured": _BOOL,
            "containers": {
                "type": "array",
                "items": _record(
                    {"image": _NSTR, "model_data_url": _NSTR, "model_package_arn": _NSTR, "environment": _ENV}
                ),
            },
            "model_package_arns": _STRS,
            "tags": _TAGS,
        },
        "name",
        "containers",
        "model_package_arns",
    ),
    SAGEMAKER_MODEL_PACKAGE: _kind(
        "A versioned SageMaker model package with its group's name and description.",
        {
            "group_name": _STR,
            "group_arn": _NSTR,
            "group_description": _NSTR,
            "version": _NINT,
            "approval_status": _STR,
            "approval_description": _NSTR,
            "created_at": _TIME,
            "last_modified_at": _TIME,
            "model_card_status": _NSTR,
            "metrics": {
                "type": "array",
                "items": _STR,
                "description": "Kinds of ModelMetrics attached: model_quality, model_data_quality, bias, "
                "explainability.",
            },
            "customer_metadata": _TAGS,
            "source_repository": _NSTR,
            "source_commit": _NSTR,
        },
        "group_name",
        "approval_status",
        "metrics",
    ),
    SAGEMAKER_MODEL_CARD: _kind(
        "A SageMaker model card (latest version): status and which content sections are filled.",
        {
            "name": _STR,
            "status": _STR,
            "version": _NINT,
            "created_at": _TIME,
            "last_modified_at": _TIME,
            "sections": _STRS,
            "model_id": _NSTR,
            "risk_rating": _NSTR,
            "intended_uses": _NSTR,
        },
        "name",
        "status",
        "sections",
    ),
    SAGEMAKER_ENDPOINT: _kind(
        "A SageMaker endpoint with its endpoint configuration (data capture, KMS, variants).",
        {
            "name": _STR,
            "status": _STR,
            "created_at": _TIME,
            "config_name": _NSTR,
            "kms_key_id": _NSTR,
            "data_capture": _record(
                {
                    "enabled": _BOOL,
                    "sampling_percentage": _NINT,
                    "destination": _NSTR,
                    "kms_key_id": _NSTR,
                    "capture_modes": _STRS,
                },
                "enabled",
            ),
            "variants": {
                "type": "array",
                "items": _record(
                    {"name": _STR, "model_name": _NSTR, "instance_type": _NSTR, "instance_count": _NINT}
                ),
            },
            "model_names": _STRS,
            "tags": _TAGS,
        },
        "name",
        "status",
        "model_names",
    ),
    SAGEMAKER_MONITORING_SCHEDULE: _kind(
        "A SageMaker Model Monitor schedule.",
        {
            "name": _STR,
            "status": _STR,
            "monitoring_type": _NSTR,
            "endpoint_name": _NSTR,
            "created_at": _TIME,
            "schedule_expression": _NSTR,
            "last_execution_status": _NSTR,
            "last_execution_at": _TIME,
        },
        "name",
        "status",
        "endpoint_name",
    ),
    SAGEMAKER_TRAINING_JOB: _kind(
        "A SageMaker training job: data it read, encryption, isolation (environment values redacted).",
        {
            "name": _STR,
            "status": _STR,
            "created_at": _TIME,
            "role_arn": _NSTR,
            "input_s3_uris": _STRS,
            "input_buckets": _STRS,
            "output_s3_uri": _NSTR,
            "volume_kms_key_id": _NSTR,
            "output_kms_key_id": _NSTR,
            "network_isolation": _BOOL,
            "inter_container_encryption": _BOOL,
            "vpc_configured": _BOOL,
            "environment": _ENV,
            "tags": _TAGS,
        },
        "name",
        "status",
        "input_buckets",
    ),
    SAGEMAKER_NOTEBOOK: _kind(
        "A SageMaker notebook instance: root access, direct internet access, encryption.",
        {
            "name": _STR,
            "status": _STR,
            "instance_type": _NSTR,
            "root_access": _BOOL,
            "direct_internet_access": _BOOL,
            "kms_key_id": _NSTR,
            "subnet_id": _NSTR,
            "role_arn": _NSTR,
            "created_at": _TIME,
        },
        "name",
        "root_access",
        "direct_internet_access",
    ),
    BEDROCK_GUARDRAIL: _kind(
        "An Amazon Bedrock guardrail (its working draft or latest version).",
        {
            "guardrail_id": _STR,
            "name": _STR,
            "status": _STR,
            "version": _NSTR,
            "description": _NSTR,
            "created_at": _TIME,
            "updated_at": _TIME,
        },
        "guardrail_id",
        "name",
        "status",
    ),
    BEDROCK_INVOCATION_LOGGING: _kind(
        "Amazon Bedrock model invocation logging of one account and region.",
        {
            "enabled": _BOOL,
            "s3_bucket": _NSTR,
            "log_group": _NSTR,
            "text_data_delivery": _BOOL,
            "image_data_delivery": _BOOL,
            "embedding_data_delivery": _BOOL,
        },
        "enabled",
    ),
}

_ACCOUNT_ID: dict[str, Any] = {"type": "string", "pattern": "^[0-9]{12}$"}

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "collectors.aws",
    "description": "AWS accounts and regions to read with boto3. Credentials come from the usual boto3 "
    "chain (environment, profile, instance role), never from this file.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "accounts": {
            "type": "array",
            "description": "Accounts to scan; empty or absent: the account of the current credentials.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "account_id": _ACCOUNT_ID,
                    "role_arn": {
                        "type": "string",
                        "pattern": "^arn:aws[a-z-]*:iam::([0-9]{12}|\\{account_id\\}):role/.+$",
                        "description": "Role to assume; with organization: true, {account_id} is replaced "
                        "by each member account's id.",
                    },
                    "external_id_env": {
                        "type": "string",
                        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                        "description": "NAME of the environment variable holding the ExternalId.",
                    },
                    "organization": {
                        "type": "boolean",
                        "default": False,
                        "description": "List the active accounts of the AWS Organization (from the current "
                        "credentials, which must be in the management or a delegated account).",
                    },
                    "exclude": {"type": "array", "items": _ACCOUNT_ID, "uniqueItems": True},
                    "session_seconds": {
                        "type": "integer",
                        "minimum": 900,
                        "maximum": 43200,
                        "description": "Duration of the role session (sts:AssumeRole DurationSeconds; AWS "
                        "default 3600). Credentials are renewed before they expire, whatever the value.",
                    },
                },
            },
        },
        "regions": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]+$"},
            "minItems": 1,
            "uniqueItems": True,
            "default": ["us-east-1"],
        },
        "endpoint_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "Send every call to this endpoint (an emulator such as moto).",
        },
        "max_workers": {"type": "integer", "minimum": 1, "maximum": 64, "default": 16},
        "max_concurrent_calls": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1024,
            "default": 32,
            "description": "API calls in flight at once for the whole scan, all accounts and tasks together "
            "(on a Dask cluster, across its workers).",
        },
        "max_concurrent_calls_per_service": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1024,
            "default": 16,
            "description": "API calls in flight at once to any one service (s3, iam, sagemaker, ...), within "
            "max_concurrent_calls.",
        },
        "connect_timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 10},
        "read_timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 30},
        "max_attempts": {"type": "integer", "minimum": 1, "maximum": 20, "default": 6},
        "activity_lookback_days": {"type": "integer", "minimum": 1, "maximum": 90, "default": 30},
    },
}
