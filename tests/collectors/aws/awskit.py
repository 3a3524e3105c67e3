"""Helpers of the AWS collector tests: one collection run as the host runs it, an API call log,
clients for seeding moto, the demo estate."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.config import Config

from annexa.model.evidence import Evidence
from annexa.plugins import CollectorSpec, CollectRequest
from annexa.plugins.collection import CollectionProblem, collect_checked
from annexa.plugins.host import PluginHost
from annexa.plugins.manager import make_plugin_manager
from annexa.plugins.servers import MotoServer

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Collected:
    """One collection: valid items and every reported problem (gaps included)."""

    evidence: tuple[Evidence, ...]
    problems: tuple[CollectionProblem, ...]
    calls: list[tuple[str, str]] = field(default_factory=list)  # filled by tests that record them

    def of(self, kind: str) -> dict[str, Evidence]:
        return {item.source: item for item in self.evidence if item.kind == kind}

    def data(self, source: str) -> Mapping[str, Any]:
        matches = [item for item in self.evidence if item.source == source]
        assert len(matches) == 1, f"expected one item {source}, got {len(matches)}"
        return matches[0].data

    def gaps(self) -> list[tuple[str, str, str]]:
        """(kind, scope, message) of every gap."""
        return sorted(
            (kind, p.source or "", p.message)
            for p in self.problems
            if p.code == "collection_gap"
            for kind in p.kinds
        )


@dataclass
class CallLog:
    """(signing name, operation) of every botocore API call, stubbed or real."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    def actions(self) -> set[str]:
        from annexa.collectors.aws.calls import iam_action

        return {iam_action(service, operation) for service, operation in self.calls}


def record_calls(patch: pytest.MonkeyPatch) -> CallLog:
    """Log every API call botocore makes while ``patch`` is active."""
    log = CallLog()
    real = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: Any) -> Any:
        log.calls.append((str(self.meta.service_model.signing_name), operation_name))
        return real(self, operation_name, api_params)

    patch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return log


def point_at_moto(patch: pytest.MonkeyPatch, server: MotoServer) -> None:
    """What the ``aws_env`` fixture does, for fixtures wider than one test."""
    server.reset()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": server.url,
    }.items():
        patch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        patch.delenv(name, raising=False)


def aws_spec() -> CollectorSpec:
    """The aws collector as the plugin host finds and validates it."""
    return PluginHost(make_plugin_manager(autoload=False)).collectors()["aws"]


def collect_with(
    spec: CollectorSpec,
    config: Mapping[str, Any] | None = None,
    *,
    kinds: Iterable[str] = (),
    fields: Mapping[str, frozenset[str] | None] | None = None,
) -> Collected:
    """Run the collector as the host does (items checked against their schemas); one attempt per call
    so moto's missing APIs fail fast."""
    settings = {"max_attempts": 1, **(config or {})}
    request = CollectRequest(config=settings, kinds=frozenset(kinds), now=NOW, fields=fields or {})
    outcome = collect_checked(spec, request)
    return Collected(evidence=outcome.evidence, problems=outcome.problems)


def client(service: str, *, account: str | None = None, region: str = REGION) -> Any:
    """A boto3 client for seeding moto (``aws_env`` has set the endpoint); ``account`` acts as another
    account through moto's ``x-moto-account-id`` header."""
    made = boto3.client(service, region_name=region, config=Config(retries={"max_attempts": 1}))
    if account is not None:
        made.meta.events.register(
            "before-sign.*.*", lambda request, **kw: request.headers.__setitem__("x-moto-account-id", account)
        )
    return made


def load_estate() -> Any:
    """examples/estate/aws.py as a module (examples/ is not a package)."""
    path = ROOT / "examples" / "estate" / "aws.py"
    spec = importlib.util.spec_from_file_location("annexa_demo_estate_aws", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def policy_actions() -> set[str]:
    """Every action collectors/aws/iam-policy.json allows."""
    import json

    policy = json.loads((ROOT / "collectors" / "aws" / "iam-policy.json").read_text(encoding="utf-8"))
    return {action for statement in policy["Statement"] for action in statement["Action"]}
