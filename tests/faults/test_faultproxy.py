"""The fault proxy itself: each fault reaches boto3 and requests the way the real failure would."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import botocore.exceptions
import pytest
import requests
from botocore.config import Config
from faultproxy import Fault, FaultProxy

from annexa.plugins.servers import MlflowServer, MotoServer


@pytest.fixture
def proxy(aws_env: str, moto_server: MotoServer) -> Iterator[FaultProxy]:
    with FaultProxy(moto_server.url) as running:
        yield running


def client(service: str, proxy: FaultProxy, attempts: int = 3, read_timeout: float = 5) -> object:
    config = Config(retries={"mode": "standard", "max_attempts": attempts}, read_timeout=read_timeout)
    return boto3.client(service, endpoint_url=proxy.url, region_name="us-east-1", config=config)


def test_requests_pass_through_unchanged(proxy: FaultProxy) -> None:
    s3 = client("s3", proxy)
    s3.create_bucket(Bucket="through-proxy")  # type: ignore[attr-defined]
    s3.put_bucket_versioning(  # type: ignore[attr-defined]
        Bucket="through-proxy", VersioningConfiguration={"Status": "Enabled"}
    )
    assert s3.get_bucket_versioning(Bucket="through-proxy")["Status"] == "Enabled"  # type: ignore[attr-defined]
    assert proxy.requests_seen == 3


def test_transient_throttling_is_retried_by_botocore(proxy: FaultProxy) -> None:
    proxy.faults = [Fault("throttle", times=2)]
    sagemaker = client("sagemaker", proxy)
    assert sagemaker.list_models()["Models"] == []  # type: ignore[attr-defined]
    assert proxy.faults[0].hits == 2
    assert proxy.requests_seen == 3


def test_lasting_throttling_surfaces_the_aws_error_code(proxy: FaultProxy) -> None:
    proxy.faults = [Fault("throttle")]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client("sagemaker", proxy, attempts=2).list_models()  # type: ignore[attr-defined]
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"


@pytest.mark.parametrize(("service", "call", "code"), [
    ("sagemaker", "list_models", "AccessDeniedException"),
    ("s3", "list_buckets", "AccessDenied"),
    ("iam", "list_roles", "AccessDenied"),
])  # fmt: skip
def test_denial_of_one_service_names_the_action(
    proxy: FaultProxy, service: str, call: str, code: str
) -> None:
    proxy.faults = [Fault("deny", when=lambda request: request.aws_service == service)]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        getattr(client(service, proxy), call)()
    assert raised.value.response["Error"]["Code"] == code
    assert "is not authorized to perform" in raised.value.response["Error"]["Message"]
    assert client("kms", proxy).list_keys()["Keys"] == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("reset", botocore.exceptions.ConnectionClosedError),
        ("timeout", botocore.exceptions.ReadTimeoutError),
        ("server_error", botocore.exceptions.ClientError),
    ],
)
def test_network_faults_reach_the_client(proxy: FaultProxy, mode: str, error: type[Exception]) -> None:
    proxy.faults = [Fault(mode, stall_seconds=3)]  # type: ignore[arg-type]
    with pytest.raises(error):
        client("kms", proxy, attempts=1, read_timeout=1).list_keys()  # type: ignore[attr-defined]


def test_botocore_reads_a_cut_json_body_as_an_empty_result(proxy: FaultProxy) -> None:
    """Why collectors must check that a listing has its result key: botocore does not raise here."""
    kms = client("kms", proxy, attempts=1)
    kms.create_key()  # type: ignore[attr-defined]
    for mode in ("truncate", "malformed"):
        proxy.faults = [Fault(mode)]  # type: ignore[arg-type]
        assert "Keys" not in kms.list_keys()  # type: ignore[attr-defined]
    proxy.faults = []
    assert len(kms.list_keys()["Keys"]) == 1  # type: ignore[attr-defined]


def test_truncated_body_breaks_requests(mlflow_server: MlflowServer) -> None:
    with FaultProxy(mlflow_server.url) as proxy:
        proxy.faults = [Fault("truncate")]
        with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
            requests.get(proxy.url + "/api/2.0/mlflow/registered-models/search", timeout=10)


def test_malformed_json_reaches_requests(mlflow_server: MlflowServer) -> None:
    with FaultProxy(mlflow_server.url) as proxy:
        proxy.faults = [Fault("malformed")]
        answer = requests.get(proxy.url + "/api/2.0/mlflow/registered-models/search", timeout=10)
        with pytest.raises(requests.JSONDecodeError):
            answer.json()
        proxy.faults = [Fault("throttle", times=1)]
        throttled = requests.get(proxy.url + "/api/2.0/mlflow/registered-models/search", timeout=10)
        assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "0")
        assert requests.get(proxy.url + "/api/2.0/mlflow/registered-models/search", timeout=10).ok
