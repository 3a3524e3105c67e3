"""CloudWatch Logs log groups (``aws.log_group``): retention and encryption, from one paginated list."""

from __future__ import annotations

from annexa.collectors.aws.calls import pages
from annexa.collectors.aws.normalize import timestamp
from annexa.collectors.aws.scope import Batch


def collect_log_groups(batch: Batch) -> None:
    scope = batch.scope
    for group in pages(scope.client("logs"), "describe_log_groups", "logGroups"):
        name = str(group["logGroupName"])
        arn = str(group.get("logGroupArn") or str(group.get("arn", "")).removesuffix(":*"))
        batch.add(
            arn or scope.arn("logs", f"log-group:{name}"),
            {
                "name": name,
                "retention_days": group.get("retentionInDays"),
                "kms_key_id": group.get("kmsKeyId"),
                "stored_bytes": group.get("storedBytes"),
                "created_at": timestamp(group.get("creationTime")),
            },
        )
