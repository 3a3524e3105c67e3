"""Fixtures of the AWS collector tests: the real plugin run as the host runs it, an API call log, stubs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import boto3
import botocore.client
import pytest
from awskit import NOW, REGION, ROOT, CallLog, Collected
from botocore.stub import Stubber

from annexa.plugins import CollectorSpec, CollectRequest
from annexa.plugins.manager import PluginHost, collect_checked, make_plugin_manager

# The fault proxy lives with the fault tests; import it by path so these tests can use it too.
sys.path.insert(0, str(ROOT / "tests" / "faults"))


@pytest.fixture
def call_log(monkeypatch: pytest.MonkeyPatch) -> CallLog:
    log = CallLog()
    real = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: Any) -> Any:
        log.calls.append((self.meta.service_model.signing_name, operation_name))
        return real(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return log


@pytest.fixture
def aws_spec() -> CollectorSpec:
    return PluginHost(make_plugin_manager(autoload=False)).collectors()["aws"]


@pytest.fixture
def collect(aws_spec: CollectorSpec) -> Callable[..., Collected]:
    """``collect(config, kinds=..., fields=...)``: the collector run exactly as the host runs it."""

    def run(
        config: Mapping[str, Any] | None = None,
        *,
        kinds: Iterable[str] = (),
        fields: Mapping[str, frozenset[str] | None] | None = None,
    ) -> Collected:
        settings = {"max_attempts": 1, **(config or {})}
        request = CollectRequest(config=settings, kinds=frozenset(kinds), now=NOW, fields=fields or {})
        outcome = collect_checked(aws_spec, request)
        return Collected(evidence=outcome.evidence, problems=outcome.problems)

    return run


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Stubber]]:
    """``stub("sagemaker")`` -> a Stubber that every client of that service the collector makes uses;
    other services still reach moto."""
    stubbers: dict[str, Stubber] = {}
    real = boto3.session.Session.client

    def make(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        made = real(self, service, *args, **kwargs)
        if service in stubbers:
            # Queue the same answers on this client: share the Stubber's queue by swapping its client.
            stubbers[service].client = made
            stubbers[service].activate()
        return made

    monkeypatch.setattr(boto3.session.Session, "client", make)

    def create(service: str) -> Stubber:
        probe = real(boto3.session.Session(), service, region_name=REGION)
        stubbers[service] = Stubber(probe)
        return stubbers[service]

    yield create
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
