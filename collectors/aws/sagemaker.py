"""SageMaker: the model life cycle, one kind per resource type.

Listings run as one task per kind; the describe calls of each resource run as follow-up pool tasks,
so a region with hundreds of models is read in parallel. A resource whose describe call fails is left
out with a gap naming it; a resource deleted between list and describe (``ValidationException`` /
``ResourceNotFound``) is simply gone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Final

from annexa.collectors.aws.calls import call, pages
from annexa.collectors.aws.normalize import bucket_of, environment, sorted_strings, tags, timestamp
from annexa.collectors.aws.scope import Batch
from annexa.model.evidence import JSONValue

_GONE: Final = frozenset({"ValidationException", "ResourceNotFound"})
_METRIC_KINDS: Final = (
    ("ModelQuality", "model_quality"),
    ("ModelDataQuality", "model_data_quality"),
    ("Bias", "bias"),
    ("Explainability", "explainability"),
)


def _each(batch: Batch, method: str, key: str, describe: Callable[..., None], **params: Any) -> None:
    """List with ``method`` and hand each summary to ``describe`` as its own pool task."""
    for summary in pages(batch.scope.client("sagemaker"), method, key, **params):
        batch.later(partial(describe, summary=summary))


def _describe(batch: Batch, what: str, method: str, **params: Any) -> Mapping[str, Any] | None:
    """The description, or None when the call failed (gap recorded) or the resource is gone."""
    client = batch.scope.client("sagemaker")
    answer = batch.attempt(what, lambda: (call(client, method, absent=_GONE, **params),))
    return None if answer is None else answer[0]


def _tags(batch: Batch, arn: str) -> dict[str, JSONValue] | None:
    """The resource's tags, or None when they could not be read (gap recorded)."""
    client = batch.scope.client("sagemaker")
    found = batch.attempt(arn, lambda: list(pages(client, "list_tags", "Tags", ResourceArn=arn)))
    return None if found is None else tags(found)


def _with_tags(batch: Batch, arn: str, data: dict[str, JSONValue]) -> None:
    if batch.scope.reads(batch.kind, "tags"):
        found = _tags(batch, arn)
        if found is None:
            return
        data["tags"] = found
    batch.add(arn, data)


# -- models -------------------------------------------------------------------------------------------


def collect_models(batch: Batch) -> None:
    _each(batch, "list_models", "Models", _model)


def _model(batch: Batch, summary: Any) -> None:
    name = str(summary["ModelName"])
    model = _describe(batch, f"model {name}", "describe_model", ModelName=name)
    if model is None:
        return
    containers = list(
        model.get("Containers") or ([model["PrimaryContainer"]] if model.get("PrimaryContainer") else [])
    )
    described = [
        {
            "image": c.get("Image"),
            "model_data_url": c.get("ModelDataUrl"),
            "model_package_arn": c.get("ModelPackageName"),
            "environment": environment(c.get("Environment")),
        }
        for c in containers
    ]
    data: dict[str, JSONValue] = {
        "name": name,
        "created_at": timestamp(model.get("CreationTime")),
        "execution_role_arn": model.get("ExecutionRoleArn"),
        "network_isolation": bool(model.get("EnableNetworkIsolation")),
        "vpc_configured": bool((model.get("VpcConfig") or {}).get("Subnets")),
        "containers": described,  # type: ignore[dict-item]
        "model_package_arns": sorted_strings(
            c["model_package_arn"] for c in described if c["model_package_arn"]
        ),
    }
    _with_tags(batch, str(model["ModelArn"]), data)


# -- model packages -----------------------------------------------------------------------------------


def collect_model_packages(batch: Batch) -> None:
    for group in pages(
        batch.scope.client("sagemaker"), "list_model_package_groups", "ModelPackageGroupSummaryList"
    ):
        batch.later(partial(_package_group, summary=group))


def _package_group(batch: Batch, summary: Any) -> None:
    name = str(summary["ModelPackageGroupName"])
    client = batch.scope.client("sagemaker")
    packages = batch.attempt(
        f"model package group {name}",
        lambda: list(
            pages(client, "list_model_packages", "ModelPackageSummaryList", ModelPackageGroupName=name)
        ),
    )
    for package in packages or ():
        batch.later(partial(_package, group=summary, summary=package))


def _package(batch: Batch, group: Any, summary: Any) -> None:
    arn = str(summary["ModelPackageArn"])
    package = _describe(batch, f"model package {arn}", "describe_model_package", ModelPackageName=arn)
    if package is None:
        return
    metrics = package.get("ModelMetrics") or {}
    metadata = package.get("MetadataProperties") or {}
    card = package.get("ModelCard") or {}
    data: dict[str, JSONValue] = {
        "group_name": str(group["ModelPackageGroupName"]),
        "group_arn": group.get("ModelPackageGroupArn"),
        "group_description": group.get("ModelPackageGroupDescription"),
        "version": package.get("ModelPackageVersion"),
        "approval_status": str(package.get("ModelApprovalStatus") or "Unknown"),
        "approval_description": package.get("ApprovalDescription"),
        "created_at": timestamp(package.get("CreationTime")),
        "last_modified_at": timestamp(package.get("LastModifiedTime")),
        "model_card_status": card.get("ModelCardStatus"),
        "metrics": [name for key, name in _METRIC_KINDS if metrics.get(key)],
        "customer_metadata": {
            str(k): str(v) for k, v in (package.get("CustomerMetadataProperties") or {}).items()
        },
        "source_repository": metadata.get("Repository"),
        "source_commit": metadata.get("CommitId"),
    }
    batch.add(arn, data)


# -- model cards ----------------------------------------------------------------------------------------


def collect_model_cards(batch: Batch) -> None:
    _each(batch, "list_model_cards", "ModelCardSummaries", _model_card)


def _model_card(batch: Batch, summary: Any) -> None:
    name = str(summary["ModelCardName"])
    card = _describe(batch, f"model card {name}", "describe_model_card", ModelCardName=name)
    if card is None:
        return
    try:
        content = json.loads(card.get("Content") or "{}")
    except ValueError:
        batch.gap(f"model card {name}: content is not JSON")
        return
    content = content if isinstance(content, dict) else {}
    overview = content.get("model_overview") or {}
    uses = content.get("intended_uses") or {}
    batch.add(
        str(card["ModelCardArn"]),
        {
            "name": name,
            "status": str(card.get("ModelCardStatus") or "Unknown"),
            "version": card.get("ModelCardVersion"),
            "created_at": timestamp(card.get("CreationTime")),
            "last_modified_at": timestamp(card.get("LastModifiedTime")),
            "sections": sorted_strings(
                key for key, value in content.items() if value not in (None, "", {}, [])
            ),
            "model_id": overview.get("model_id") or overview.get("model_name"),
            "risk_rating": uses.get("risk_rating"),
            "intended_uses": uses.get("intended_uses"),
        },
    )


# -- endpoints and monitoring ---------------------------------------------------------------------------


def collect_endpoints(batch: Batch) -> None:
    _each(batch, "list_endpoints", "Endpoints", _endpoint)


def _endpoint(batch: Batch, summary: Any) -> None:
    name = str(summary["EndpointName"])
    endpoint = _describe(batch, f"endpoint {name}", "describe_endpoint", EndpointName=name)
    if endpoint is None:
        return
    config_name = endpoint.get("EndpointConfigName")
    config: Mapping[str, Any] = {}
    if config_name:
        # AWS lets a configuration be deleted while its endpoint runs: then there is nothing to read.
        client = batch.scope.client("sagemaker")
        found = batch.attempt(
            f"endpoint {name}",
            lambda: (
                call(client, "describe_endpoint_config", absent=_GONE, EndpointConfigName=str(config_name)),
            ),
        )
        if found is None:
            return
        config = found[0] or {}
    capture = config.get("DataCaptureConfig") or {}
    variants = [
        {
            "name": str(v.get("VariantName", "")),
            "model_name": v.get("ModelName"),
            "instance_type": v.get("InstanceType"),
            "instance_count": v.get("InitialInstanceCount"),
        }
        for v in config.get("ProductionVariants", ())
    ]
    data: dict[str, JSONValue] = {
        "name": name,
        "status": str(endpoint.get("EndpointStatus") or "Unknown"),
        "created_at": timestamp(endpoint.get("CreationTime")),
        "config_name": config_name,
        "kms_key_id": config.get("KmsKeyId"),
        "data_capture": {
            "enabled": bool(capture.get("EnableCapture")),
            "sampling_percentage": capture.get("InitialSamplingPercentage"),
            "destination": capture.get("DestinationS3Uri"),
            "kms_key_id": capture.get("KmsKeyId"),
            "capture_modes": sorted_strings(o.get("CaptureMode") for o in capture.get("CaptureOptions", ())),
        },
        "variants": variants,  # type: ignore[dict-item]
        "model_names": sorted_strings(v["model_name"] for v in variants if v["model_name"]),
    }
    _with_tags(batch, str(endpoint["EndpointArn"]), data)


def collect_monitoring_schedules(batch: Batch) -> None:
    client = batch.scope.client("sagemaker")
    detail = batch.scope.reads(batch.kind, "last_execution_status") or batch.scope.reads(
        batch.kind, "schedule_expression"
    )
    for summary in pages(client, "list_monitoring_schedules", "MonitoringScheduleSummaries"):
        if detail:
            batch.later(partial(_monitoring_schedule, summary=summary))
        else:
            batch.add(str(summary["MonitoringScheduleArn"]), _schedule_data(summary, {}))


def _monitoring_schedule(batch: Batch, summary: Any) -> None:
    name = str(summary["MonitoringScheduleName"])
    found = _describe(
        batch, f"monitoring schedule {name}", "describe_monitoring_schedule", MonitoringScheduleName=name
    )
    if found is None:
        return
    data = _schedule_data(summary, found)
    schedule = (found.get("MonitoringScheduleConfig") or {}).get("ScheduleConfig") or {}
    last = found.get("LastMonitoringExecutionSummary") or {}
    data["schedule_expression"] = schedule.get("ScheduleExpression")
    data["last_execution_status"] = last.get("MonitoringExecutionStatus")
    data["last_execution_at"] = timestamp(last.get("ScheduledTime"))
    batch.add(str(summary["MonitoringScheduleArn"]), data)


def _schedule_data(summary: Mapping[str, Any], found: Mapping[str, Any]) -> dict[str, JSONValue]:
    return {
        "name": str(summary["MonitoringScheduleName"]),
        "status": str(summary.get("MonitoringScheduleStatus") or "Unknown"),
        "monitoring_type": summary.get("MonitoringType") or found.get("MonitoringType"),
        "endpoint_name": summary.get("EndpointName"),
        "created_at": timestamp(summary.get("CreationTime")),
    }


# -- training and notebooks --------------------------------------------------------------------------------


def collect_training_jobs(batch: Batch) -> None:
    _each(batch, "list_training_jobs", "TrainingJobSummaries", _training_job)


def _training_job(batch: Batch, summary: Any) -> None:
    name = str(summary["TrainingJobName"])
    job = _describe(batch, f"training job {name}", "describe_training_job", TrainingJobName=name)
    if job is None:
        return
    uris = sorted(
        str(channel["DataSource"]["S3DataSource"]["S3Uri"])
        for channel in job.get("InputDataConfig", ())
        if (channel.get("DataSource") or {}).get("S3DataSource", {}).get("S3Uri")
    )
    output = job.get("OutputDataConfig") or {}
    data: dict[str, JSONValue] = {
        "name": name,
        "status": str(job.get("TrainingJobStatus") or "Unknown"),
        "created_at": timestamp(job.get("CreationTime")),
        "role_arn": job.get("RoleArn"),
        "input_s3_uris": sorted_strings(uris),
        "input_buckets": sorted_strings(b for b in (bucket_of(u) for u in uris) if b),
        "output_s3_uri": output.get("S3OutputPath"),
        "volume_kms_key_id": (job.get("ResourceConfig") or {}).get("VolumeKmsKeyId"),
        "output_kms_key_id": output.get("KmsKeyId") or None,
        "network_isolation": bool(job.get("EnableNetworkIsolation")),
        "inter_container_encryption": bool(job.get("EnableInterContainerTrafficEncryption")),
        "vpc_configured": bool((job.get("VpcConfig") or {}).get("Subnets")),
        "environment": environment(job.get("Environment")),
    }
    _with_tags(batch, str(job["TrainingJobArn"]), data)


def collect_notebooks(batch: Batch) -> None:
    _each(batch, "list_notebook_instances", "NotebookInstances", _notebook)


def _notebook(batch: Batch, summary: Any) -> None:
    name = str(summary["NotebookInstanceName"])
    found = _describe(batch, f"notebook {name}", "describe_notebook_instance", NotebookInstanceName=name)
    if found is None:
        return
    batch.add(
        str(found["NotebookInstanceArn"]),
        {
            "name": name,
            "status": str(found.get("NotebookInstanceStatus") or "Unknown"),
            "instance_type": found.get("InstanceType"),
            # AWS defaults both to Enabled when they are not set.
            "root_access": found.get("RootAccess", "Enabled") != "Disabled",
            "direct_internet_access": found.get("DirectInternetAccess", "Enabled") != "Disabled",
            "kms_key_id": found.get("KmsKeyId"),
            "subnet_id": found.get("SubnetId"),
            "role_arn": found.get("RoleArn"),
            "created_at": timestamp(found.get("CreationTime")),
        },
    )
