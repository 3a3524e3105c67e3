"""IAM, once per account: the account's settings (``aws.account``) and its roles (``aws.iam_role``)."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from annexa.collectors.aws.calls import AwsCallError, call, every
from annexa.collectors.aws.normalize import sorted_strings, tags, timestamp
from annexa.collectors.aws.scope import Batch
from annexa.model.evidence import JSONValue

# The services whose reach makes a role relevant to an AI system (training data, models, keys).
REACH = ("sagemaker", "s3", "kms", "bedrock")
REPORT_WAIT_SECONDS = 20.0


def collect_account(batch: Batch) -> None:
    scope = batch.scope
    client = scope.client("iam")
    data: dict[str, JSONValue] = {}
    if scope.reads(batch.kind, "password_policy"):
        answer = call(client, "get_account_password_policy", absent=frozenset({"NoSuchEntity"}))
        data["password_policy"] = _password_policy(answer["PasswordPolicy"]) if answer else None
    if any(
        scope.reads(batch.kind, f)
        for f in ("root_mfa_enabled", "root_access_keys_active", "console_users_without_mfa")
    ):
        rows = _credential_report(client)
        root = next((row for row in rows if row.get("user") == "<root_account>"), None)
        data["root_mfa_enabled"] = _flag(root, "mfa_active")
        data["root_access_keys_active"] = (
            None
            if root is None
            else bool(_flag(root, "access_key_1_active") or _flag(root, "access_key_2_active"))
        )
        data["console_users_without_mfa"] = sorted_strings(
            row["user"]
            for row in rows
            if row.get("user") != "<root_account>"
            and _flag(row, "password_enabled")
            and not _flag(row, "mfa_active")
        )
    if scope.reads(batch.kind, "security_contact_configured"):
        contact = call(
            scope.client("account"),
            "get_alternate_contact",
            absent=frozenset({"ResourceNotFoundException"}),
            AlternateContactType="SECURITY",
        )
        data["security_contact_configured"] = contact is not None
    batch.add(f"arn:aws:iam::{scope.account_id}:root", data)


def _password_policy(policy: Mapping[str, Any]) -> dict[str, JSONValue]:
    return {
        "minimum_length": policy.get("MinimumPasswordLength"),
        "require_symbols": bool(policy.get("RequireSymbols")),
        "require_numbers": bool(policy.get("RequireNumbers")),
        "require_uppercase": bool(policy.get("RequireUppercaseCharacters")),
        "require_lowercase": bool(policy.get("RequireLowercaseCharacters")),
        "max_age_days": policy.get("MaxPasswordAge"),
        "reuse_prevention": policy.get("PasswordReusePrevention"),
        "hard_expiry": bool(policy.get("HardExpiry")),
    }


def _flag(row: Mapping[str, str] | None, column: str) -> bool | None:
    if row is None:
        return None
    return str(row.get(column, "")).lower() == "true"


def _credential_report(client: Any) -> list[dict[str, str]]:
    """The credential report's rows; generated first, then polled until it is ready."""
    deadline = time.monotonic() + REPORT_WAIT_SECONDS
    while True:
        state = call(client, "generate_credential_report").get("State")
        if state == "COMPLETE":
            break
        if time.monotonic() > deadline:
            raise AwsCallError(
                "iam:GenerateCredentialReport",
                "ReportNotReady",
                f"still {state}",
                denied=False,
                unavailable=False,
            )
        time.sleep(0.5)
    content = call(client, "get_credential_report")["Content"]
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    return list(csv.DictReader(io.StringIO(text)))


def collect_roles(batch: Batch) -> None:
    scope = batch.scope
    details = every(
        scope.client("iam"),
        "get_account_authorization_details",
        "RoleDetailList",
        Filter=["Role"],
    )
    policies: dict[str, list[Mapping[str, Any]]] = {}
    if scope.reads(batch.kind, "can_reach"):
        managed = every(
            scope.client("iam"),
            "get_account_authorization_details",
            "Policies",
            Filter=["LocalManagedPolicy", "AWSManagedPolicy"],
        )
        policies = {str(p["Arn"]): _default_document(p) for p in managed}
    for role in details:
        attached = [str(p["PolicyArn"]) for p in role.get("AttachedManagedPolicies", ())]
        inline = role.get("RolePolicyList", ())
        trust = _statements(role.get("AssumeRolePolicyDocument"))
        data: dict[str, JSONValue] = {
            "name": str(role["RoleName"]),
            "path": str(role.get("Path", "/")),
            "created_at": timestamp(role.get("CreateDate")),
            "last_used_at": timestamp((role.get("RoleLastUsed") or {}).get("LastUsedDate")),
            "trusted_services": sorted_strings(_principals(trust, "Service")),
            "trusted_principals": sorted_strings(_principals(trust, "AWS") | _principals(trust, "Federated")),
            "attached_policy_arns": sorted_strings(attached),
            "inline_policy_names": sorted_strings(p["PolicyName"] for p in inline),
            "tags": tags(role.get("Tags")),
        }
        statements = [s for p in inline for s in _statements(p.get("PolicyDocument"))]
        statements += [s for arn in attached for s in policies.get(arn, ())]
        if scope.reads(batch.kind, "can_reach"):
            data["can_reach"] = _reach(statements)
        batch.add(str(role["Arn"]), data)


def _default_document(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    for version in policy.get("PolicyVersionList", ()):
        if version.get("IsDefaultVersion"):
            return _statements(version.get("Document"))
    return []


def _statements(document: Any) -> list[Mapping[str, Any]]:
    """A policy document's statements; documents may arrive URL-encoded JSON text or parsed."""
    if isinstance(document, str):
        document = json.loads(unquote(document))
    found = (document or {}).get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _principals(statements: Iterable[Mapping[str, Any]], key: str) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal == "*":
            found.add("*")
        elif isinstance(principal, Mapping):
            found.update(_as_list(principal.get(key)))
    return found


def _reach(statements: Iterable[Mapping[str, Any]]) -> dict[str, JSONValue]:
    """Which services the Allow statements grant any action on (NotAction counts as everything)."""
    actions: set[str] = set()
    everything = False
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            everything = True
        granted = [a.lower() for a in _as_list(statement.get("Action"))]
        actions.update(granted)
        if "*" in granted and "*" in _as_list(statement.get("Resource")):
            everything = True
    reach: dict[str, JSONValue] = {
        service: everything or "*" in actions or any(a.startswith(f"{service}:") for a in actions)
        for service in REACH
    }
    reach["everything"] = everything
    return reach
