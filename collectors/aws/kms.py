"""KMS keys (``aws.kms_key``): manager, state, aliases, and rotation for the keys where it applies."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from annexa.collectors.aws.calls import call, every
from annexa.collectors.aws.normalize import sorted_strings
from annexa.collectors.aws.scope import Batch
from annexa.model.evidence import JSONValue


def collect_keys(batch: Batch) -> None:
    scope = batch.scope
    client = scope.client("kms")
    aliases: dict[str, list[str]] = {}
    if scope.reads(batch.kind, "aliases"):
        for alias in every(client, "list_aliases", "Aliases"):
            if alias.get("TargetKeyId"):
                aliases.setdefault(str(alias["TargetKeyId"]), []).append(str(alias["AliasName"]))
    for key in every(client, "list_keys", "Keys"):
        key_id = str(key["KeyId"])
        described = batch.attempt(f"key {key_id}", partial(call, client, "describe_key", KeyId=key_id))
        if described is None:
            continue
        meta = described["KeyMetadata"]
        data: dict[str, JSONValue] = {
            "key_id": key_id,
            "manager": str(meta.get("KeyManager", "CUSTOMER")),
            "state": str(meta.get("KeyState", "Unknown")),
            "key_spec": meta.get("KeySpec"),
            "key_usage": meta.get("KeyUsage"),
            "description": meta.get("Description") or None,
            "aliases": sorted_strings(aliases.get(key_id, ())),
        }
        if scope.reads(batch.kind, "rotation_enabled"):
            data["rotation_enabled"] = None
            if _can_rotate(meta):
                answer = batch.attempt(
                    f"key {key_id}", partial(call, client, "get_key_rotation_status", KeyId=key_id)
                )
                if answer is None:
                    continue
                data["rotation_enabled"] = bool(answer.get("KeyRotationEnabled"))
        batch.add(str(meta.get("Arn") or key["KeyArn"]), data)


def _can_rotate(meta: Mapping[str, Any]) -> bool:
    """Whether automatic rotation applies: enabled customer-managed symmetric keys with AWS key material.
    AWS-managed keys rotate by themselves; asymmetric, HMAC and imported keys cannot rotate."""
    return (
        meta.get("KeyManager") == "CUSTOMER"
        and meta.get("KeySpec") == "SYMMETRIC_DEFAULT"
        and meta.get("KeyState") == "Enabled"
        and meta.get("Origin", "AWS_KMS") == "AWS_KMS"
    )
