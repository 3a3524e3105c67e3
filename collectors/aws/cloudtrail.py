"""CloudTrail: trails in their home region (``aws.cloudtrail_trail``) and recent AI-service activity
(``aws.cloudtrail_activity``, from LookupEvents)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Final

from annexa.collectors.aws.calls import call, pages
from annexa.collectors.aws.normalize import timestamp
from annexa.collectors.aws.scope import Batch
from annexa.model.evidence import JSONValue

# Event sources whose management events show AI life-cycle activity (approvals, deployments).
AI_EVENT_SOURCES: Final = ("sagemaker.amazonaws.com", "bedrock.amazonaws.com")


def collect_trails(batch: Batch) -> None:
    scope = batch.scope
    client = scope.client("cloudtrail")
    # Shadow trails (a multi-region trail seen from another region) are left out: each trail is
    # one item, from its home region.
    trails = call(client, "describe_trails", includeShadowTrails=False).get("trailList", [])
    for trail in trails:
        arn = str(trail["TrailARN"])
        data: dict[str, JSONValue] = {
            "name": str(trail["Name"]),
            "home_region": str(trail.get("HomeRegion") or scope.region),
            "is_multi_region": bool(trail.get("IsMultiRegionTrail")),
            "is_organization_trail": bool(trail.get("IsOrganizationTrail")),
            "log_file_validation": bool(trail.get("LogFileValidationEnabled")),
            "kms_key_id": trail.get("KmsKeyId"),
            "s3_bucket": trail.get("S3BucketName"),
            "cloudwatch_log_group_arn": trail.get("CloudWatchLogsLogGroupArn"),
        }
        if scope.reads(batch.kind, "is_logging") or scope.reads(batch.kind, "latest_delivery_error"):
            status = batch.attempt(f"trail {arn}", partial(call, client, "get_trail_status", Name=arn))
            if status is None:
                continue
            data["is_logging"] = bool(status.get("IsLogging"))
            data["latest_delivery_error"] = status.get("LatestDeliveryError") or None
        batch.add(arn, data)


def collect_activity(batch: Batch) -> None:
    scope = batch.scope
    client = scope.client("cloudtrail")
    days = int(scope.settings.get("activity_lookback_days", 30))
    counts: dict[str, int] = {}
    last: dict[str, str] = {}
    for source in AI_EVENT_SOURCES:
        for event in pages(
            client,
            "lookup_events",
            "Events",
            LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": source}],
            StartTime=scope.now - timedelta(days=days),
            EndTime=scope.now,
        ):
            name = str(event.get("EventName", "?"))
            counts[name] = counts.get(name, 0) + 1
            when = timestamp(event.get("EventTime"))
            if when and when > last.get(name, ""):
                last[name] = when
    batch.add(
        scope.arn("cloudtrail", "activity/ai-services"),
        {"lookback_days": days, "event_counts": dict(counts), "last_event_at": dict(last)},
    )
