"""Helpers of the report tests: a recorded demo estate with drift and an HTML attack in its evidence."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from annexa.cli.main import main
from annexa.reports import report_document
from annexa.reports.stored import stored_result
from annexa.store import open_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FIRST_SCAN = "2026-11-16T09:00:00Z"
SECOND_SCAN = "2026-11-23T09:00:00Z"
XSS = "<img src=x onerror=alert(1)>"
SERVICE_COLLECTORS = ("aws", "mlflow")
RECORD = "governance/systems/support-chatbot-record.md"
FRAUD = "governance/systems/fraud-scoring-record.md"


@dataclass(frozen=True, slots=True)
class DemoProject:
    root: Path
    config: Path
    store: Path


def run_cli(*args: str) -> tuple[int, str]:
    """``annexa`` in-process, with its standard output captured (session fixtures have no capsys)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(args))
    return code, out.getvalue()


def copy_demo(root: Path) -> DemoProject:
    """The demo estate's offline part: its collectors of local files (documents, attestations, cards).

    The collectors of services (AWS, MLflow) are dropped from the copied configuration: `make demo` starts
    those servers, these tests do not, and reports are about rendering, not collecting.
    """
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("out", "__pycache__", "*.py"))
    config = root / "annexa.yaml"
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    for name in SERVICE_COLLECTORS:
        raw["collectors"].pop(name, None)
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return DemoProject(root=root, config=config, store=root / "out" / ".annexa")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path} no longer contains {old!r}: update the reports fixture"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def build_demo(root: Path) -> DemoProject:
    """Scan 1: the chatbot record states its out-of-scope use, the fraud-scoring record does not.
    Scan 2: the demo estate as shipped (A.9.4 fails newly for the chatbot, is fixed for fraud scoring),
    with an HTML attack in an evidence value and in a file name that reaches finding messages."""
    project = copy_demo(root)
    record = project.root / RECORD
    fraud = project.root / FRAUD
    original_record = record.read_text(encoding="utf-8")
    original_fraud = fraud.read_text(encoding="utf-8")
    edit(
        record, "suppliers: [Parla Labs]\n", "suppliers: [Parla Labs]\nout_of_scope_use: Refund decisions.\n"
    )
    edit(fraud, "out_of_scope_use:", "out_of_scope_note:")
    code, _ = run_cli("scan", "-c", str(project.config), "--now", FIRST_SCAN, "--format", "json")
    assert code == 1
    record.write_text(original_record, encoding="utf-8")
    fraud.write_text(original_fraud, encoding="utf-8")
    edit(
        record,
        "intended_use: Customer self-service",
        f'review_tag: "{XSS}"\nintended_use: {XSS} Customer self-service',
    )
    # A file name is evidence too: a draft copy of the record whose name is an HTML attack comes closest
    # to what some rules sought, so finding messages name it.
    (record.parent / f"{XSS}.md").write_text(original_record.replace("status: in-review", "status: draft"))
    code, _ = run_cli("scan", "-c", str(project.config), "--now", SECOND_SCAN, "--format", "json")
    assert code == 1
    return project


def load_document(store: Path, scan: str = "latest", organization: str = "Acme AI (demo)") -> dict[str, Any]:
    with open_store(store, create=False) as opened:
        return report_document(
            stored_result(opened, scan, organization=organization), store=opened, scan=scan
        )


def normalised(document: Mapping[str, Any]) -> dict[str, Any]:
    """What varies between runs (scan ids, digests, paths, versions) replaced by fixed values."""
    names = {
        point["scan"]: f"2026111{n}T090000Z-0000000{n}" for n, point in enumerate(document["history"], 1)
    }
    fixed = dict(document)
    fixed["annexa_version"] = "0.0.0"
    fixed["ruleset_digest"] = "1" * 64
    fixed["scan"] = {"id": names[document["scan"]["id"]], "manifest": "2" * 64, "store": "out/.annexa"}
    fixed["history"] = [{**point, "scan": names[point["scan"]]} for point in document["history"]]
    fixed["collection"] = {
        **document["collection"],
        "runs": [{**run, "version": "0.0.0", "seconds": 0} for run in document["collection"]["runs"]],
    }
    fixed["evidence_items"] = [{**item, "collector": item["collector"].split(" ")[0] + " 0.0.0"}
                               for item in document["evidence_items"]]  # fmt: skip
    return fixed


SECRET_PATH = "/services/T000/B000/s3cr3t-token"


class Hook:
    """A webhook receiver that answers with scripted statuses (then 200) and records every body."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.retry_after: str | None = None  # sent with every scripted failure when set
        self.bodies: list[Any] = []
        self.paths: list[str] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.bodies.append(json.loads(self.rfile.read(length)))
                hook.paths.append(self.path)
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                if status >= 400 and hook.retry_after is not None:
                    self.send_header("Retry-After", hook.retry_after)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"


@contextlib.contextmanager
def serve_hook() -> Iterator[Hook]:
    """A :class:`Hook` serving on 127.0.0.1 for the duration of the block."""
    receiver = Hook()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(timeout=10)
