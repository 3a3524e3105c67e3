"""Helpers for the MLflow collector tests: a seeder for the shared real server, and a scripted fake one.

A helper module rather than a conftest.py: a second conftest module would shadow the one other test
modules import by name (``from conftest import ...``).

The real MLflow server (``mlflow_server``, one per session) answers everything a registry should; the
scripted server on 127.0.0.1 answers what a real one will not do on cue: 401, 429 with Retry-After, 500,
garbage bodies.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests


class Seeder:
    """Writes registry content through MLflow's REST API, as a data scientist's client would."""

    def __init__(self, api: str, prefix: str) -> None:
        self.api = api
        self.prefix = prefix
        self._experiment: str | None = None

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        answer = requests.request(
            method, self.api + path, json=body, timeout=30, headers={"Connection": "close"}
        )
        assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text[:300]}"
        result: dict[str, Any] = answer.json()
        return result

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    def run(
        self,
        *,
        metrics: Mapping[str, float | str] | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        datasets: list[dict[str, Any]] | None = None,
    ) -> str:
        if self._experiment is None:
            created = self.call("POST", "/experiments/create", {"name": self.prefix})
            self._experiment = str(created["experiment_id"])
        created = self.call(
            "POST", "/runs/create", {"experiment_id": self._experiment, "start_time": 1_700_000_000_000}
        )
        run_id = str(created["run"]["info"]["run_id"])
        self.call("POST", "/runs/log-batch", {
            "run_id": run_id,
            "metrics": [
                {"key": k, "value": v, "timestamp": 1, "step": 0} for k, v in (metrics or {}).items()
            ],
            "params": [{"key": k, "value": v} for k, v in (params or {}).items()],
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        })  # fmt: skip
        if datasets:
            self.call("POST", "/runs/log-inputs", {"run_id": run_id, "datasets": datasets})
        self.call(
            "POST", "/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 1_700_000_060_000}
        )
        return run_id

    def model(self, suffix: str, *, description: str = "", tags: Mapping[str, str] | None = None) -> str:
        name = self.name(suffix)
        tag_list = [{"key": k, "value": v} for k, v in (tags or {}).items()]
        self.call(
            "POST", "/registered-models/create", {"name": name, "description": description, "tags": tag_list}
        )
        return name

    def version(self, model: str, *, run_id: str | None = None, tags: Mapping[str, str] | None = None) -> int:
        body: dict[str, Any] = {
            "name": model,
            "source": f"runs:/{run_id}/model" if run_id else f"s3://models/{model}",
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
        if run_id:
            body["run_id"] = run_id
        return int(self.call("POST", "/model-versions/create", body)["model_version"]["version"])

    def alias(self, model: str, alias: str, version: int) -> None:
        self.call(
            "POST", "/registered-models/alias", {"name": model, "alias": alias, "version": str(version)}
        )

    def stage(self, model: str, version: int, stage: str) -> None:
        self.call("POST", "/model-versions/transition-stage", {
            "name": model, "version": str(version), "stage": stage, "archive_existing_versions": False,
        })  # fmt: skip


def dataset(name: str, *, context: str = "training", digest: str = "d1g3st", **fields: str) -> dict[str, Any]:
    return {
        "tags": [{"key": "mlflow.data.context", "value": context}],
        "dataset": {"name": name, "digest": digest, "source_type": "s3", **fields},
    }


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)  # JSON-encoded unless it is bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to stall before answering: longer than the client's timeout is a timeout


@dataclass(frozen=True)
class Seen:
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]


class ScriptedServer:
    """An HTTP server on 127.0.0.1 that answers each path from a script: a list of replies used in order,
    the last one repeating. Unknown paths get MLflow's 404 ENDPOINT_NOT_FOUND."""

    def __init__(self) -> None:
        self.script: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                with lock:
                    outer.seen.append(Seen(parts.path, parse_qs(parts.query), dict(self.headers.items())))
                    replies = outer.script.get(parts.path)
                    reply = (replies.pop(0) if len(replies) > 1 else replies[0]) if replies else None
                reply = reply or Reply(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": "no such path"})
                time.sleep(reply.delay)
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that timed out
                    self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def on(self, path: str, *replies: Reply) -> None:
        self.script["/api/2.0/mlflow" + path] = list(replies)

    def start(self) -> None:
        self._thread.start()

    def __enter__(self) -> ScriptedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
