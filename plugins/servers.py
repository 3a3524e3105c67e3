"""Local stand-ins for the services collectors talk to, started as real servers on 127.0.0.1.

Part of the testing kit: plugin authors, annexa's own tests, the benchmarks and ``make demo`` start
moto's server (AWS APIs) and an MLflow tracking server through these, so every collector is exercised over
HTTP exactly as against the real service. Each server runs as a child process in its own session, so
stopping it takes its workers with it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import requests

__all__ = ["LocalServer", "MlflowServer", "MotoServer", "ServerStartError", "find_mlflow", "free_port"]

LOOPBACK = "127.0.0.1"


class ServerStartError(RuntimeError):
    """The server did not answer its health check in time; the message carries the tail of its log."""


def free_port() -> int:
    """A TCP port on the loopback address that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


class LocalServer:
    """A server process on 127.0.0.1 that is ready once ``health_path`` answers with a 2xx status."""

    health_path = "/"
    start_timeout = 60.0

    def __init__(self, command: list[str], port: int, log_path: Path, env: Mapping[str, str] | None = None):
        self.command = command
        self.port = port
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, stdout=self._log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise ServerStartError(
                    f"{self.command[0]} exited with {self.process.returncode}: {self.log_tail()}"
                )
            try:
                # A fresh connection per probe: keep-alive could hide a server that stopped accepting.
                answer = requests.get(self.url + self.health_path, timeout=2, headers={"Connection": "close"})
                if answer.ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            f"{self.command[0]} did not answer within {self.start_timeout:.0f} s: {self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class MotoServer(LocalServer):
    """moto in server mode: boto3 reaches it via ``endpoint_url`` or ``AWS_ENDPOINT_URL``, as it would AWS.

    ``reset()`` wipes all state between tests in a few milliseconds, so one server serves a whole session.
    """

    health_path = "/moto-api/"
    start_timeout = 30.0

    def __init__(self, log_path: Path, port: int | None = None, env: Mapping[str, str] | None = None):
        port = port or free_port()
        command = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)]
        super().__init__(command, port, log_path, env)

    def reset(self) -> None:
        requests.post(
            self.url + "/moto-api/reset", timeout=10, headers={"Connection": "close"}
        ).raise_for_status()


def find_mlflow() -> str | None:
    """The ``mlflow`` executable: ``$ANNEXA_MLFLOW``, the project's ``.venv-mlflow``, or one on PATH.

    MLflow lives in a virtual environment of its own because its server pulls in hundreds of megabytes
    that annexa itself never imports.
    """
    configured = os.environ.get("ANNEXA_MLFLOW")
    if configured:
        return configured
    project_venv = Path(__file__).resolve().parent.parent / ".venv-mlflow" / "bin" / "mlflow"
    if project_venv.exists():
        return str(project_venv)
    return shutil.which("mlflow")


class MlflowServer(LocalServer):
    """A real MLflow tracking server with a SQLite backend under ``workdir``.

    One uvicorn worker and the job runner off: about 8 s to start instead of 35 s, and four processes
    fewer (measured in the project's test-services notes).
    """

    health_path = "/health"
    start_timeout = 120.0

    def __init__(self, workdir: Path, executable: str | None = None, port: int | None = None):
        executable = executable or find_mlflow()
        if executable is None:
            raise ServerStartError("no mlflow executable: run `make mlflow` or set ANNEXA_MLFLOW")
        port = port or free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        command = [
            executable, "server",
            "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
            "--default-artifact-root", str(workdir / "artifacts"),
            "--host", LOOPBACK, "--port", str(port), "--workers", "1",
        ]  # fmt: skip
        super().__init__(
            command, port, workdir / "server.log", {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        )

    @property
    def api(self) -> str:
        """Base of the REST API 2.0 paths, e.g. ``api + "/registered-models/search"``."""
        return self.url + "/api/2.0/mlflow"
