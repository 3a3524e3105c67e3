"""What one collection task sees (its account, region and clients) and what it hands back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from annexa.collectors.aws.calls import AwsCallError
from annexa.model.evidence import JSONValue

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """One account and one region (``global`` for IAM), with a client factory bound to both."""

    account_id: str
    region: str
    client: Callable[[str], Any]  # service name -> boto3 client for this account and region
    fields: Mapping[str, frozenset[str] | None]
    now: datetime
    settings: Mapping[str, Any]

    @property
    def label(self) -> str:
        """How gaps name the scope: ``222222222222/eu-west-1``."""
        return f"{self.account_id}/{self.region}"

    def reads(self, kind: str, name: str) -> bool:
        """Whether some selected rule reads top-level field ``name`` of ``kind`` (unknown: yes)."""
        wanted = self.fields.get(kind)
        return wanted is None or name in wanted

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"


@dataclass(frozen=True, slots=True)
class Item:
    kind: str
    arn: str
    data: dict[str, JSONValue]


@dataclass(frozen=True, slots=True)
class Gap:
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class Task:
    """A unit of work for the pool: ``run`` fills the batch it is given."""

    scope: Scope
    kind: str
    run: Callable[[Batch], None]


@dataclass(slots=True)
class Batch:
    """What one task produced: items, gaps, and follow-up tasks (per-resource calls) for the pool."""

    scope: Scope
    kind: str
    items: list[Item] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    followups: list[Task] = field(default_factory=list)

    def add(self, arn: str, data: Mapping[str, JSONValue]) -> None:
        stamped: dict[str, JSONValue] = {
            "arn": arn,
            "account_id": self.scope.account_id,
            "region": self.scope.region,
        }
        stamped.update(data)
        self.items.append(Item(self.kind, arn, stamped))

    def gap(self, message: str) -> None:
        self.gaps.append(Gap(self.kind, message))

    def later(self, run: Callable[[Batch], None]) -> None:
        """Run ``run`` as its own pool task (so per-resource calls spread over the workers)."""
        self.followups.append(Task(self.scope, self.kind, run))

    def attempt(self, resource: str, call: Callable[[], T]) -> T | None:
        """``call()``, or ``None`` after recording a gap naming ``resource`` when an AWS call failed.

        The resource's item is then left out: a rule must not judge it on a partial view, and the gap
        keeps every rule over the kind from passing.
        """
        try:
            return call()
        except AwsCallError as exc:
            self.gap(f"{resource}: {exc.message}")
            return None
