"""The APIs moto's server cannot answer (HTTP 500), fed the response shapes AWS documents through
botocore's Stubber: SageMaker monitoring schedules, Bedrock guardrails, AWS Config compliance,
CloudTrail LookupEvents; and a training job's environment, which moto does not echo."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from botocore.stub import Stubber

from .awskit import ACCOUNT, NOW, CallLog, Collected, policy_actions

SM = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}"
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
ONE_WORKER = {"max_workers": 1}  # follow-up calls then reach the stub in the order they were queued


def test_monitoring_schedules_with_their_last_execution(
    aws_env: str, collect: Callable[..., Collected], stub: Callable[[str], Stubber], call_log: CallLog
) -> None:
    sagemaker = stub("sagemaker")
    summaries = [
        {
            "MonitoringScheduleName": name,
            "MonitoringScheduleArn": f"{SM}:monitoring-schedule/{name}",
            "CreationTime": T0,
            "LastModifiedTime": T0,
            "MonitoringScheduleStatus": status,
            "EndpointName": endpoint,
            "MonitoringType": "DataQuality",
        }
        for name, status, endpoint in (
            ("fraud-dq", "Scheduled", "fraud-prod"),
            ("chat-dq", "Stopped", "chat-prod"),
        )
    ]
    sagemaker.add_response(
        "list_monitoring_schedules", {"MonitoringScheduleSummaries": summaries[:1], "NextToken": "page-2"}, {}
    )
    sagemaker.add_response(
        "list_monitoring_schedules", {"MonitoringScheduleSummaries": summaries[1:]}, {"NextToken": "page-2"}
    )
    for summary, execution in zip(summaries, ("Completed", "Failed"), strict=True):
        sagemaker.add_response(
            "describe_monitoring_schedule",
            {
                "MonitoringScheduleArn": summary["MonitoringScheduleArn"],
                "MonitoringScheduleName": summary["MonitoringScheduleName"],
                "MonitoringScheduleStatus": summary["MonitoringScheduleStatus"],
                "MonitoringType": "DataQuality",
                "CreationTime": T0,
                "LastModifiedTime": T0,
                "MonitoringScheduleConfig": {
                    "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                    "MonitoringJobDefinitionName": "dq-job",
                    "MonitoringType": "DataQuality",
                },
                "EndpointName": summary["EndpointName"],
                "LastMonitoringExecutionSummary": {
                    "MonitoringScheduleName": summary["MonitoringScheduleName"],
                    "ScheduledTime": T0 + timedelta(hours=1),
                    "CreationTime": T0,
                    "LastModifiedTime": T0,
                    "MonitoringExecutionStatus": execution,
                },
            },
            {"MonitoringScheduleName": summary["MonitoringScheduleName"]},
        )
    run = collect(ONE_WORKER, kinds=["aws.sagemaker_monitoring_schedule"])
    assert run.gaps() == []
    fraud = run.data(f"{SM}:monitoring-schedule/fraud-dq")
    assert fraud["status"] == "Scheduled"
    assert fraud["endpoint_name"] == "fraud-prod"
    assert fraud["last_execution_status"] == "Completed"
    assert fraud["last_execution_at"] == "2026-11-01T09:00:00Z"
    assert fraud["schedule_expression"] == "cron(0 * ? * * *)"
    assert run.data(f"{SM}:monitoring-schedule/chat-dq")["last_execution_status"] == "Failed"
    assert call_log.actions() <= policy_actions()


def test_schedules_without_detail_fields_skip_the_describe_calls(
    aws_env: str, collect: Callable[..., Collected], stub: Callable[[str], Stubber]
) -> None:
    sagemaker = stub("sagemaker")
    sagemaker.add_response(
        "list_monitoring_schedules",
        {
            "MonitoringScheduleSummaries": [
                {
                    "MonitoringScheduleName": "fraud-dq",
                    "MonitoringScheduleArn": f"{SM}:monitoring-schedule/fraud-dq",
                    "CreationTime": T0,
                    "LastModifiedTime": T0,
                    "MonitoringScheduleStatus": "Scheduled",
                    "EndpointName": "fraud-prod",
                }
            ]
        },
        {},
    )
    fields = {"aws.sagemaker_monitoring_schedule": frozenset({"endpoint_name", "status"})}
    run = collect(kinds=["aws.sagemaker_monitoring_schedule"], fields=fields)
    assert (
        run.data(f"{SM}:monitoring-schedule/fraud-dq")["status"] == "Scheduled"
    )  # and no describe was queued


def test_bedrock_guardrails_across_pages(
    aws_env: str, collect: Callable[..., Collected], stub: Callable[[str], Stubber], call_log: CallLog
) -> None:
    bedrock = stub("bedrock")

    def guardrail(number: int, status: str) -> dict[str, object]:
        return {
            "id": f"gr{number:08d}",
            "arn": f"arn:aws:bedrock:us-east-1:{ACCOUNT}:guardrail/gr{number:08d}",
            "status": status,
            "name": f"guardrail-{number}",
            "description": "blocks PII and prompt attacks",
            "version": "DRAFT",
            "createdAt": T0,
            "updatedAt": T0,
        }

    bedrock.add_response("list_guardrails", {"guardrails": [guardrail(1, "READY")], "nextToken": "t2"}, {})
    bedrock.add_response("list_guardrails", {"guardrails": [guardrail(2, "FAILED")]}, {"nextToken": "t2"})
    run = collect(kinds=["aws.bedrock_guardrail"])
    found = {item.data["name"]: item.data["status"] for item in run.of("aws.bedrock_guardrail").values()}
    assert found == {"guardrail-1": "READY", "guardrail-2": "FAILED"}
    assert call_log.actions() <= policy_actions()


def test_config_rule_compliance(
    aws_env: str, collect: Callable[..., Collected], stub: Callable[[str], Stubber], call_log: CallLog
) -> None:
    config = stub("config")
    rules = [
        {
            "ConfigRuleName": name,
            "ConfigRuleArn": f"arn:aws:config:us-east-1:{ACCOUNT}:config-rule/config-rule-{name}",
            "Source": {"Owner": "AWS", "SourceIdentifier": identifier},
            "ConfigRuleState": "ACTIVE",
        }
        for name, identifier in (
            ("s3-versioning", "S3_BUCKET_VERSIONING_ENABLED"),
            ("sagemaker-kms", "SAGEMAKER_ENDPOINT_CONFIGURATION_KMS_KEY_CONFIGURED"),
            ("new-rule", "CLOUD_TRAIL_ENABLED"),
        )
    ]
    config.add_response("describe_config_rules", {"ConfigRules": rules}, {})
    config.add_response(
        "describe_compliance_by_config_rule",
        {
            "ComplianceByConfigRules": [
                {"ConfigRuleName": "s3-versioning", "Compliance": {"ComplianceType": "COMPLIANT"}},
                {
                    "ConfigRuleName": "sagemaker-kms",
                    "Compliance": {
                        "ComplianceType": "NON_COMPLIANT",
                        "ComplianceContributorCount": {"CappedCount": 3, "CapExceeded": False},
                    },
                },
            ]
        },
        {"ConfigRuleNames": ["s3-versioning", "sagemaker-kms", "new-rule"]},
    )
    run = collect(kinds=["aws.config_rule"])
    compliance = {
        item.data["name"]: (item.data["compliance"], item.data["noncompliant_resources"])
        for item in run.of("aws.config_rule").values()
    }
    assert compliance == {
        "s3-versioning": ("COMPLIANT", 0),
        "sagemaker-kms": ("NON_COMPLIANT", 3),
        "new-rule": (None, None),  # not evaluated yet: unknown, never compliant
    }
    assert call_log.actions() <= policy_actions()


def test_cloudtrail_activity_of_ai_services(
    aws_env: str, collect: Callable[..., Collected], stub: Callable[[str], Stubber], call_log: CallLog
) -> None:
    cloudtrail = stub("cloudtrail")
    window = {"StartTime": NOW - timedelta(days=30), "EndTime": NOW}

    def lookup(source: str, token: str | None = None) -> dict[str, object]:
        params: dict[str, object] = {
            "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": source}],
            **window,
        }
        if token:
            params["NextToken"] = token
        return params

    def event(name: str, day: int) -> dict[str, object]:
        return {"EventId": f"{name}-{day}", "EventName": name, "EventTime": T0 + timedelta(days=day)}

    sagemaker = "sagemaker.amazonaws.com"
    cloudtrail.add_response(
        "lookup_events", {"Events": [event("UpdateModelPackage", 1)], "NextToken": "n2"}, lookup(sagemaker)
    )
    cloudtrail.add_response(
        "lookup_events",
        {"Events": [event("UpdateModelPackage", 5), event("CreateEndpoint", 2)]},
        lookup(sagemaker, "n2"),
    )
    cloudtrail.add_response("lookup_events", {"Events": []}, lookup("bedrock.amazonaws.com"))
    run = collect(kinds=["aws.cloudtrail_activity"])
    activity = run.data(f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:activity/ai-services")
    assert activity["event_counts"] == {"UpdateModelPackage": 2, "CreateEndpoint": 1}
    assert activity["last_event_at"]["UpdateModelPackage"] == "2026-11-06T08:00:00Z"
    assert activity["lookback_days"] == 30
    assert call_log.actions() <= policy_actions()


def test_training_job_environment_keeps_names_only(
    aws_env: str, collect: Callable[..., Collected], stub: Callable[[str], Stubber]
) -> None:
    sagemaker = stub("sagemaker")
    arn = f"{SM}:training-job/chat-train"
    sagemaker.add_response(
        "list_training_jobs",
        {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": "chat-train",
                    "TrainingJobArn": arn,
                    "CreationTime": T0,
                    "TrainingJobStatus": "Completed",
                }
            ]
        },
        {},
    )
    sagemaker.add_response(
        "describe_training_job",
        {
            "TrainingJobName": "chat-train",
            "TrainingJobArn": arn,
            "ModelArtifacts": {"S3ModelArtifacts": "s3://models/chat/model.tar.gz"},
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "img"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "CreationTime": T0,
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://uploads/intents/"}
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://models/chat/"},
            "Environment": {"HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz0123", "EPOCHS": "3"},
        },
        {"TrainingJobName": "chat-train"},
    )
    run = collect(
        kinds=["aws.sagemaker_training_job"],
        fields={"aws.sagemaker_training_job": frozenset({"environment"})},
    )
    job = run.data(arn)
    assert job["environment"] == {"EPOCHS": "[REDACTED:environment]", "HF_TOKEN": "[REDACTED:environment]"}
    assert job["input_buckets"] == ["uploads"]
    assert "hf_abcdefghij" not in str(run.evidence)
