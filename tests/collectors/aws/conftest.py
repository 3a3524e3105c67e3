"""Fixtures of the AWS collector tests: the real plugin run as the host runs it, an API call log, stubs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from annexa.plugins import CollectorSpec

from .awskit import REGION, ROOT, CallLog, Collected, aws_spec, collect_with, record_calls

# The fault proxy lives with the fault tests; import it by path so these tests can use it too.
sys.path.insert(0, str(ROOT / "tests" / "faults"))


@pytest.fixture
def call_log(monkeypatch: pytest.MonkeyPatch) -> CallLog:
    return record_calls(monkeypatch)


@pytest.fixture(scope="module")
def aws_spec_module() -> CollectorSpec:
    return aws_spec()


@pytest.fixture
def collect(aws_spec_module: CollectorSpec) -> Callable[..., Collected]:
    """``collect(config, kinds=..., fields=...)``: the collector run exactly as the host runs it."""
    return lambda config=None, **kw: collect_with(aws_spec_module, config, **kw)


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Stubber]]:
    """``stub("sagemaker")`` -> a Stubber that the clients of that service the collector makes answer
    from; other services still reach moto. Unused answers fail the test."""
    stubbers: dict[str, Stubber] = {}
    real = boto3.session.Session.client

    def make(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        made = real(self, service, *args, **kwargs)
        if service in stubbers:
            # The Stubber was made on a probe client; move its queue of answers onto this one.
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
