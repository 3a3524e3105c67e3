"""Helpers of the dashboard tests: the demo estate recorded in a store, and `annexa serve` as a real process.

The store is the report tests' demo (tests/reports/reportkit.py): the offline demo estate scanned twice,
with an HTML attack in an evidence value and in a file name that finding messages quote.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reports"))
from reportkit import RECORD, XSS, DemoProject, build_demo, copy_demo, edit, run_cli

ANNEXA = Path(sys.executable).with_name("annexa")
ROLES = ("viewer", "auditor", "owner", "admin")
CHATBOT = "support-chatbot"

__all__ = [
    "XSS",
    "DemoProject",
    "Served",
    "build_demo",
    "copy_demo",
    "create_token",
    "csrf_of",
    "free_port",
    "run_cli",
    "serve",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def create_token(store: str, name: str, role: str) -> str:
    code, out = run_cli("serve", "token", "create", "--store", store, "--name", name, "--role", role)
    assert code == 0, out
    return out.strip()


@dataclass
class Served:
    """A running `annexa serve` and a token per role (the names are who the audit log names)."""

    url: str
    store: str
    tokens: dict[str, str] = field(default_factory=dict)
    config: str = ""

    def get(self, path: str, role: str | None = None, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, headers=self._auth(role), allow_redirects=False, timeout=30,
                            **kwargs)  # fmt: skip

    def post(self, path: str, role: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {**self._auth(role), **kwargs.pop("headers", {})}
        return requests.post(self.url + path, headers=headers, allow_redirects=False, timeout=30, **kwargs)

    def _auth(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}


@contextlib.contextmanager
def serve(store: str, *args: str, ready: str = "/login", startup: float = 60) -> Iterator[str]:
    """`annexa serve` on a free loopback port until the block ends; yields its base URL."""
    port = free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"annexa-serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(ANNEXA), "serve", "--store", store, "--port", str(port), *args],
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup
        while True:
            try:
                if requests.get(url + ready, timeout=2, allow_redirects=False).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"annexa serve did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.unlink(missing_ok=True)


def scan_demo_into(root: Path, store: dict[str, str]) -> DemoProject:
    """The offline demo estate scanned twice into the given store block (e.g. a PostgreSQL URL); the second
    scan meets an HTML attack in an evidence value and in a file name, as in :func:`reportkit.build_demo`."""
    project = copy_demo(root)
    raw = yaml.safe_load(project.config.read_text(encoding="utf-8"))
    raw["store"] = store
    project.config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    for now in ("2026-11-16T09:00:00Z", "2026-11-23T09:00:00Z"):
        if now.startswith("2026-11-23"):
            record = project.root / RECORD
            original = record.read_text(encoding="utf-8")
            edit(record, "intended_use: Customer self-service",
                 f'review_tag: "{XSS}"\nintended_use: {XSS} Customer self-service')  # fmt: skip
            (record.parent / f"{XSS}.md").write_text(
                original.replace("status: in-review", "status: draft"),
                encoding="utf-8",
            )
        code, _ = run_cli("scan", "-c", str(project.config), "--now", now, "--format", "json")
        assert code == 1
    return project


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)
