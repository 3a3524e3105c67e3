"""Amazon Bedrock: guardrails (``aws.bedrock_guardrail``) and model invocation logging
(``aws.bedrock_invocation_logging``, one item per account and region)."""

from __future__ import annotations

from annexa.collectors.aws.calls import call, pages
from annexa.collectors.aws.normalize import timestamp
from annexa.collectors.aws.scope import Batch


def collect_guardrails(batch: Batch) -> None:
    scope = batch.scope
    for guardrail in pages(scope.client("bedrock"), "list_guardrails", "guardrails"):
        batch.add(
            str(guardrail["arn"]),
            {
                "guardrail_id": str(guardrail["id"]),
                "name": str(guardrail["name"]),
                "status": str(guardrail["status"]),
                "version": guardrail.get("version"),
                "description": guardrail.get("description"),
                "created_at": timestamp(guardrail.get("createdAt")),
                "updated_at": timestamp(guardrail.get("updatedAt")),
            },
        )


def collect_invocation_logging(batch: Batch) -> None:
    scope = batch.scope
    answer = call(scope.client("bedrock"), "get_model_invocation_logging_configuration")
    config = answer.get("loggingConfig") or {}
    s3 = config.get("s3Config") or {}
    cloudwatch = config.get("cloudWatchConfig") or {}
    batch.add(
        scope.arn("bedrock", "model-invocation-logging"),
        {
            "enabled": bool(s3.get("bucketName") or cloudwatch.get("logGroupName")),
            "s3_bucket": s3.get("bucketName"),
            "log_group": cloudwatch.get("logGroupName"),
            "text_data_delivery": bool(config.get("textDataDeliveryEnabled")),
            "image_data_delivery": bool(config.get("imageDataDeliveryEnabled")),
            "embedding_data_delivery": bool(config.get("embeddingDataDeliveryEnabled")),
        },
    )
