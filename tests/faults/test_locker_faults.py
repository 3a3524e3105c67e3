"""An S3 evidence locker whose connection breaks while an object streams in: a clear error naming the
object, never botocore's exception escaping the store (which the commands would report as an internal
error)."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from faultproxy import Fault, FaultProxy

from annexa.store.s3locker import S3Locker


def test_a_findings_object_cut_off_in_transit_is_an_error_naming_it(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("s3").create_bucket(Bucket="locker")
    payload = b"[" + b",".join(b'{"finding":%d}' % number for number in range(20_000)) + b"]"
    direct = S3Locker.open("s3://locker/acme")
    digest, size = direct.put_stream(
        "findings", (payload[at : at + 4096] for at in range(0, len(payload), 4096))
    )
    assert (digest, size) == (hashlib.sha256(payload).hexdigest(), len(payload))
    stream = direct.open_stream("findings", digest)
    assert stream is not None
    assert b"".join(iter(lambda: stream.read(1 << 16), b"")) == payload
    stream.close()
    assert direct.open_stream("findings", "0" * 64) is None

    with FaultProxy(aws_env) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        proxied = S3Locker.open("s3://locker/acme")
        proxy.faults = [Fault("truncate", when=lambda request: "/findings/" in request.path)]
        stream = proxied.open_stream("findings", digest)
        assert stream is not None
        with pytest.raises(OSError, match=f"s3://locker/acme/findings/{digest[:2]}/{digest}.json: "):
            b"".join(iter(lambda: stream.read(1 << 16), b""))
        stream.close()
