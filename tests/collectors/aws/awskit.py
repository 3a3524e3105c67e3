"""Helpers of the AWS collector tests: results of one collection, an API call log, seeding clients."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from annexa.evidence import Evidence
from annexa.plugins.manager import CollectionProblem

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Collected:
    """One collection: valid items, every reported problem (gaps included), and the API calls made."""

    evidence: tuple[Evidence, ...]
    problems: tuple[CollectionProblem, ...]
    calls: list[tuple[str, str]] = field(default_factory=list)

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


class CallLog:
    """Records (signing name, operation) of every botocore API call, stubbed or real."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def actions(self) -> set[str]:
        from annexa.collectors.aws.calls import iam_action

        return {iam_action(service, operation) for service, operation in self.calls}


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
    spec = importlib.util.spec_from_file_location(
        "annexa_demo_estate_aws", ROOT / "examples" / "estate" / "aws.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
