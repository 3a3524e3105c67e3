"""AWS Config: configuration recorders (``aws.config_recorder``) and rules with their compliance
(``aws.config_rule``)."""

from __future__ import annotations

from annexa.collectors.aws.calls import call, pages
from annexa.collectors.aws.normalize import sorted_strings
from annexa.collectors.aws.scope import Batch
from annexa.model.evidence import JSONValue

COMPLIANCE_BATCH = 25  # DescribeComplianceByConfigRule takes at most 25 rule names


def collect_recorders(batch: Batch) -> None:
    scope = batch.scope
    client = scope.client("config")
    recorders = call(client, "describe_configuration_recorders").get("ConfigurationRecorders", [])
    if not recorders:
        return
    statuses = {
        str(s["name"]): s
        for s in call(client, "describe_configuration_recorder_status").get(
            "ConfigurationRecordersStatus", []
        )
    }
    channels = call(client, "describe_delivery_channels").get("DeliveryChannels", [])
    for recorder in recorders:
        name = str(recorder["name"])
        group = recorder.get("recordingGroup", {})
        status = statuses.get(name, {})
        data: dict[str, JSONValue] = {
            "name": name,
            "recording": bool(status.get("recording")),
            "all_supported": bool(group.get("allSupported")),
            "include_global_resources": bool(group.get("includeGlobalResourceTypes")),
            "resource_types": sorted_strings(group.get("resourceTypes", ())),
            "last_status": status.get("lastStatus"),
            "delivery_channel_configured": bool(channels),
        }
        batch.add(str(recorder.get("arn") or scope.arn("config", f"configuration-recorder/{name}")), data)


def collect_rules(batch: Batch) -> None:
    scope = batch.scope
    client = scope.client("config")
    rules = list(pages(client, "describe_config_rules", "ConfigRules"))
    compliance: dict[str, tuple[str | None, int | None]] = {}
    # The compliance call is the one moto lacks; a scan whose rules do not read it never makes it.
    fetch = scope.reads(batch.kind, "compliance") or scope.reads(batch.kind, "noncompliant_resources")
    if rules and fetch:
        names = [str(r["ConfigRuleName"]) for r in rules]
        for start in range(0, len(names), COMPLIANCE_BATCH):
            chunk = names[start : start + COMPLIANCE_BATCH]
            for entry in pages(
                client, "describe_compliance_by_config_rule", "ComplianceByConfigRules", ConfigRuleNames=chunk
            ):
                found = entry.get("Compliance", {})
                count = found.get("ComplianceContributorCount", {}).get("CappedCount")
                compliance[str(entry["ConfigRuleName"])] = (found.get("ComplianceType"), count)
    for rule in rules:
        name = str(rule["ConfigRuleName"])
        source = rule.get("Source", {})
        data: dict[str, JSONValue] = {
            "name": name,
            "state": rule.get("ConfigRuleState"),
            "owner": source.get("Owner"),
            "source_identifier": source.get("SourceIdentifier"),
        }
        if fetch:
            kind, count = compliance.get(name, (None, None))
            data["compliance"] = kind
            data["noncompliant_resources"] = count if kind == "NON_COMPLIANT" else 0 if kind else None
        batch.add(str(rule.get("ConfigRuleArn") or scope.arn("config", f"config-rule/{name}")), data)
