"""Collectors import their SDKs on first use, in the executor's threads: a scan in a fresh process, with
the documents, MLflow and AWS collectors starting together, must not crash any of them on a half-imported
shared package (boto3 and requests both import urllib3). In-process tests cannot see this: an earlier test
has long imported everything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from annexa.plugins.servers import MlflowServer, MotoServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("attempt", range(3))  # a race: a few fresh processes, each a new first use
def test_collectors_starting_together_in_a_fresh_process_all_run(
    attempt: int, tmp_path: Path, moto_server: MotoServer, mlflow_server: MlflowServer
) -> None:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("out", "__pycache__"))
    config = root / "annexa.yaml"
    config.write_text(
        config.read_text(encoding="utf-8")
        .replace("http://127.0.0.1:5055", moto_server.url)
        .replace("http://127.0.0.1:5100", mlflow_server.url),
        encoding="utf-8",
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "CI": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "annexa.cli.main", "scan", "-c", str(config), "--no-record"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1, 2), output
    assert "collector crashed" not in output, output
    assert "partially initialized module" not in output, output
