"""The testing kit's local servers: they start, answer, reset and leave no process behind."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import requests

from annexa.plugins.servers import MlflowServer, MotoServer, ServerStartError, free_port


def test_moto_server_serves_boto3_and_resets(aws_env: str, moto_server: MotoServer) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bucket-one")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["bucket-one"]
    moto_server.reset()
    assert s3.list_buckets()["Buckets"] == []


def test_stopped_server_leaves_no_process(tmp_path: Path) -> None:
    server = MotoServer(tmp_path / "moto.log").start()
    assert server.process is not None
    server.stop()
    assert server.process.poll() is not None
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/moto-api/", timeout=2)


def test_server_that_dies_reports_its_log(tmp_path: Path) -> None:
    script = tmp_path / "fake-mlflow"
    script.write_text("#!/bin/sh\necho 'cannot open database' >&2\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(ServerStartError, match="exited with 3: cannot open database"):
        MlflowServer(tmp_path / "ml", executable=str(script), port=free_port()).start()


def test_mlflow_server_answers_rest(mlflow_server: MlflowServer) -> None:
    created = requests.post(
        mlflow_server.api + "/registered-models/create",
        json={"name": "servers-test-model"},
        headers={"Connection": "close"},
        timeout=30,
    )
    assert created.ok, created.text
    fetched = requests.get(
        mlflow_server.api + "/registered-models/get", params={"name": "servers-test-model"}, timeout=30
    )
    assert fetched.json()["registered_model"]["name"] == "servers-test-model"
