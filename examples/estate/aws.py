"""The demo AI estate on AWS, seeded into a moto server: ``seed("http://127.0.0.1:5055")``.

Acme runs two AI systems on SageMaker. ``fraud-scoring`` is looked after: an approved model package
with metrics behind its endpoint, data capture, a monitoring schedule (moto cannot hold one, so the
monitoring rule is inconclusive in the demo), versioned and encrypted training data. The
``support-chatbot-intent`` model was pushed by hand: no package, no data capture, trained on an
unversioned upload bucket. Around them: a multi-region trail, log groups with and without retention,
a KMS key without rotation, a public-ish scratch bucket, an admin role and a weak password policy.

Run it as a script to seed a running server: ``python examples/estate/aws.py http://127.0.0.1:5055``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
FRAUD = "fraud-scoring"
CHATBOT = "support-chatbot-intent"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/xgboost:1.7"


def seed(endpoint_url: str) -> None:
    """Create the demo estate in the moto server at ``endpoint_url`` (an empty server is expected)."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=REGION,
            aws_access_key_id="demo",
            aws_secret_access_key="demo",
        )

    role_arn = _iam(client("iam"))
    key_arn = _kms(client("kms"))
    _s3(client("s3"), key_arn)
    _logging(client("cloudtrail"), client("logs"), client("config"), key_arn)
    _sagemaker(client("sagemaker"), role_arn, key_arn)
    client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "s3Config": {"bucketName": "acme-ml-audit-logs", "keyPrefix": "bedrock/"},
            "textDataDeliveryEnabled": True,
        }
    )


def _policy(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _iam(iam: Any) -> str:
    iam.update_account_password_policy(MinimumPasswordLength=8, RequireNumbers=True)
    trust = _policy(
        [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    )
    role = iam.create_role(RoleName="sagemaker-execution", AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(
        RoleName="sagemaker-execution",
        PolicyName="training-data",
        PolicyDocument=_policy(
            [
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
            ]
        ),
    )
    admin_trust = _policy(
        [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ]
    )
    iam.create_role(RoleName="ml-platform-admin", AssumeRolePolicyDocument=admin_trust)
    admin = iam.create_policy(
        PolicyName="everything", PolicyDocument=_policy([{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    )
    iam.attach_role_policy(RoleName="ml-platform-admin", PolicyArn=admin["Policy"]["Arn"])
    return str(role["Arn"])


def _kms(kms: Any) -> str:
    key = kms.create_key(Description="ML data and models")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.create_alias(AliasName="alias/ml-data", TargetKeyId=key["KeyId"])
    legacy = kms.create_key(Description="legacy batch exports")["KeyMetadata"]
    kms.create_alias(AliasName="alias/legacy-exports", TargetKeyId=legacy["KeyId"])
    return str(key["Arn"])


def _s3(s3: Any, key_arn: str) -> None:
    for name in (
        "acme-fraud-training-data",
        "acme-model-artifacts",
        "acme-ml-audit-logs",
        "acme-access-logs",
        "acme-chatbot-uploads",
        "acme-scratch",
    ):
        s3.create_bucket(Bucket=name)
    # Conformant: KMS encryption, versioning, public access blocked, access logging.
    s3.put_bucket_acl(Bucket="acme-access-logs", ACL="log-delivery-write")
    s3.put_bucket_encryption(
        Bucket="acme-access-logs",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    for name in ("acme-fraud-training-data", "acme-model-artifacts", "acme-ml-audit-logs"):
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": key_arn,
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_logging(
            Bucket=name,
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": "acme-access-logs", "TargetPrefix": f"{name}/"}
            },
        )
    s3.put_bucket_tagging(
        Bucket="acme-fraud-training-data",
        Tagging={
            "TagSet": [{"Key": "ai_system", "Value": FRAUD}, {"Key": "data-class", "Value": "confidential"}]
        },
    )
    s3.put_bucket_policy(
        Bucket="acme-ml-audit-logs",
        Policy=_policy(
            [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": ["s3:GetBucketAcl", "s3:PutObject"],
                    "Resource": ["arn:aws:s3:::acme-ml-audit-logs", "arn:aws:s3:::acme-ml-audit-logs/*"],
                }
            ]
        ),
    )
    # Nonconformant: the chatbot's uploads are encrypted but keep no versions; scratch has nothing.
    s3.put_bucket_encryption(
        Bucket="acme-chatbot-uploads",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_tagging(
        Bucket="acme-chatbot-uploads",
        # A token pasted into a tag: the scan redacts it before anything is stored.
        Tagging={
            "TagSet": [
                {"Key": "ai_system", "Value": CHATBOT},
                {"Key": "upload-token", "Value": "tok_9f8e7d6c5b4a39281706"},
            ]
        },
    )


def _logging(cloudtrail: Any, logs: Any, config: Any, key_arn: str) -> None:
    cloudtrail.create_trail(
        Name="acme-org-trail",
        S3BucketName="acme-ml-audit-logs",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=key_arn,
    )
    cloudtrail.start_logging(Name="acme-org-trail")
    logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{FRAUD}-prod", kmsKeyId=key_arn)
    logs.put_retention_policy(logGroupName=f"/aws/sagemaker/Endpoints/{FRAUD}-prod", retentionInDays=400)
    logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{CHATBOT}-prod")
    logs.put_retention_policy(logGroupName=f"/aws/sagemaker/Endpoints/{CHATBOT}-prod", retentionInDays=14)
    logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")  # never expires: fine for retention
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config-recorder",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "acme-ml-audit-logs"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    config.put_config_rule(
        ConfigRule={
            "ConfigRuleName": "s3-bucket-versioning-enabled",
            "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_VERSIONING_ENABLED"},
        }
    )


def _sagemaker(sm: Any, role_arn: str, key_arn: str) -> None:
    tags = {FRAUD: [{"Key": "ai_system", "Value": FRAUD}, {"Key": "environment", "Value": "production"}]}
    tags[CHATBOT] = [{"Key": "environment", "Value": "production"}]  # no ai_system tag: not in the inventory
    sm.create_model_package_group(
        ModelPackageGroupName=FRAUD, ModelPackageGroupDescription="Card fraud scoring"
    )
    sm.create_model_package_group(
        ModelPackageGroupName=CHATBOT, ModelPackageGroupDescription="Intent classifier"
    )
    metrics = {
        "ModelQuality": {
            "Statistics": {
                "ContentType": "application/json",
                "S3Uri": "s3://acme-model-artifacts/fraud/eval.json",
            }
        }
    }
    inference = {
        "Containers": [{"Image": IMAGE}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }
    approved = sm.create_model_package(
        ModelPackageGroupName=FRAUD,
        ModelPackageDescription="v1, validated on Q3 hold-out",
        InferenceSpecification=inference,
        ModelApprovalStatus="Approved",
        ModelMetrics=metrics,
        MetadataProperties={"Repository": "git@example.com:acme/fraud.git", "CommitId": "4f2a9c1"},
        CustomerMetadataProperties={"risk_tier": "high", "owner": "fraud-analytics"},
    )["ModelPackageArn"]
    sm.update_model_package(
        ModelPackageArn=approved,
        ModelApprovalStatus="Approved",
        ApprovalDescription="AI risk committee 2026-10-02",
    )
    sm.create_model_package(
        ModelPackageGroupName=FRAUD,
        InferenceSpecification=inference,
        ModelApprovalStatus="PendingManualApproval",
    )
    # Approved without any evaluation metrics: fails verification (A.6.2.4).
    sm.create_model_package(
        ModelPackageGroupName=CHATBOT, InferenceSpecification=inference, ModelApprovalStatus="Approved"
    )
    sm.create_model(
        ModelName=f"{FRAUD}-v1",
        ExecutionRoleArn=role_arn,
        Containers=[
            {"ModelPackageName": approved, "Environment": {"FEATURE_STORE_PASSWORD": "hunter2-demo"}}
        ],
        EnableNetworkIsolation=True,
        Tags=tags[FRAUD],
    )
    sm.create_model(
        ModelName=f"{CHATBOT}-v3",
        ExecutionRoleArn=role_arn,
        PrimaryContainer={
            "Image": IMAGE,
            "ModelDataUrl": "s3://acme-model-artifacts/chatbot/v3/model.tar.gz",
        },
        Tags=tags[CHATBOT],
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{FRAUD}-prod",
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": f"{FRAUD}-v1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 2,
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": "s3://acme-ml-audit-logs/capture/fraud",
            "KmsKeyId": key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
        KmsKeyId=key_arn,
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{CHATBOT}-prod",
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": f"{CHATBOT}-v3",
                "InstanceType": "ml.t2.medium",
                "InitialInstanceCount": 1,
            }
        ],
    )
    for system in (FRAUD, CHATBOT):
        sm.create_endpoint(
            EndpointName=f"{system}-prod", EndpointConfigName=f"{system}-prod", Tags=tags[system]
        )
    content = {
        "model_overview": {
            "model_id": f"{FRAUD}-v1",
            "model_description": "Gradient-boosted card fraud scorer",
        },
        "intended_uses": {
            "intended_uses": "Score card transactions for manual review",
            "risk_rating": "High",
        },
        "evaluation_details": [{"name": "Q3 hold-out", "metric_groups": []}],
    }
    sm.create_model_card(ModelCardName=FRAUD, Content=json.dumps(content), ModelCardStatus="Approved")
    sm.create_model_card(
        ModelCardName=CHATBOT,
        Content=json.dumps({"model_overview": {"model_id": f"{CHATBOT}-v3"}}),
        ModelCardStatus="Draft",
    )
    common = {
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    sm.create_training_job(
        TrainingJobName=f"{FRAUD}-train-2026-10",
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://acme-fraud-training-data/2026-09/",
                    }
                },
            }
        ],
        OutputDataConfig={"S3OutputPath": "s3://acme-model-artifacts/fraud/", "KmsKeyId": key_arn},
        ResourceConfig={
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 50,
            "VolumeKmsKeyId": key_arn,
        },
        EnableNetworkIsolation=True,
        EnableInterContainerTrafficEncryption=True,
        **common,
    )
    sm.create_training_job(
        TrainingJobName=f"{CHATBOT}-train-v3",
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://acme-chatbot-uploads/intents/"}
                },
            }
        ],
        OutputDataConfig={"S3OutputPath": "s3://acme-model-artifacts/chatbot/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        Environment={"HF_TOKEN": "hf_demoTokenNotReal0123456789"},
        **common,
    )
    sm.create_notebook_instance(
        NotebookInstanceName="fraud-research",
        InstanceType="ml.t3.medium",
        RoleArn=role_arn,
        KmsKeyId=key_arn,
        DirectInternetAccess="Disabled",
        RootAccess="Disabled",
        SubnetId="subnet-0abc1234",
        SecurityGroupIds=["sg-0abc1234"],
    )
    sm.create_notebook_instance(
        NotebookInstanceName="chatbot-sandbox", InstanceType="ml.t3.medium", RoleArn=role_arn
    )


if __name__ == "__main__":
    seed(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5055")
