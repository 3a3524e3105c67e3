"""The webhook notifier against a real HTTP server on 127.0.0.1: bodies, retries, Slack text, failures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reportkit import FIRST_SCAN, SECOND_SCAN, SECRET_PATH, Hook, copy_demo, run_cli, serve_hook

from annexa.app.notify import notify, redact_url, slack_text


@pytest.fixture
def hook() -> Iterator[Hook]:
    with serve_hook() as receiver:
        yield receiver


def scan_result(drift: Any = None) -> dict[str, Any]:
    return {
        "organization": "Acme <AI>",
        "scan": {"id": "20261123T090000Z-00000001", "manifest": "0" * 64, "store": "s"},
        "evaluated_at": "2026-11-23T09:00:00Z",
        "summary": {"exit_code": 1, "controls": {"pass": 3, "fail": 1, "inconclusive": 0, "error": 0}},
        "drift": drift,
    }


DRIFT = {
    "counts": {"new_failure": 1, "fixed": 1, "still_failing": 2},
    "findings": [
        {
            "id": "a" * 16,
            "rule": "A.9.4/intended_use_documented",
            "subject": "file:x.md",
            "change": "new_failure",
        },
        {"id": "b" * 16, "rule": "A.2.2/ai_policy_current", "subject": None, "change": "fixed"},
        {"id": "c" * 16, "rule": "A.3.3/x", "subject": None, "change": "still_failing"},
    ],
}


def test_json_body_carries_the_drift(hook: Hook) -> None:
    outcome = notify(hook.url, scan_result(DRIFT))
    assert outcome.ok
    assert outcome.attempts == 1
    body = hook.bodies[0]
    assert body["event"] == "annexa.scan.finished"
    assert body["drift"] == DRIFT
    assert [c["id"] for c in body["new_failures"]] == ["a" * 16]


def test_retries_transient_failures_with_backoff(hook: Hook) -> None:
    hook.statuses = [503, 429]
    started = time.monotonic()
    outcome = notify(hook.url, scan_result(), backoff=0.25)
    waited = time.monotonic() - started
    assert outcome.ok
    assert outcome.attempts == 3
    assert 0.5 <= waited < 3  # the first retry at once, the second after 2 x 0.25 s plus jitter
    assert len(hook.bodies) == 3


def test_retry_after_is_honoured_and_capped(hook: Hook) -> None:
    hook.statuses = [503]
    hook.retry_after = "1"
    started = time.monotonic()
    outcome = notify(hook.url, scan_result(), backoff=0)
    assert outcome.ok
    assert outcome.attempts == 2
    assert time.monotonic() - started >= 1.0  # the server's Retry-After, not the zero backoff


def test_a_receiver_that_keeps_failing_reports_the_last_status(hook: Hook) -> None:
    hook.statuses = [502, 502, 502]
    outcome = notify(hook.url, scan_result(), backoff=0)
    assert not outcome.ok
    assert (outcome.attempts, outcome.message) == (3, "HTTP 502")


def test_a_client_error_is_not_retried_and_the_url_is_not_shown(hook: Hook) -> None:
    hook.statuses = [404]
    outcome = notify(hook.url, scan_result())
    assert not outcome.ok
    assert outcome.attempts == 1
    assert outcome.message == "HTTP 404"
    assert "s3cr3t" not in outcome.url
    assert redact_url(hook.url).endswith("/...")


def test_an_unreachable_receiver_is_reported_never_raised() -> None:
    outcome = notify("http://127.0.0.1:9/hook", scan_result(), attempts=2, timeout=2)
    assert not outcome.ok
    assert outcome.attempts == 2
    assert outcome.message == "ConnectionError"


def test_slack_payload_is_text_with_the_changes_escaped(hook: Hook) -> None:
    assert notify(hook.url, scan_result(DRIFT), payload_format="slack").ok
    body = hook.bodies[0]
    assert list(body) == ["text"]
    assert "Acme &lt;AI&gt;" in body["text"]
    assert "1 new failure(s), 1 fixed, 2 still failing" in body["text"]
    assert "new failure: A.9.4/intended_use_documented [file:x.md]" in body["text"]
    assert "first recorded scan" in slack_text(scan_result())


def test_scan_notifies_and_a_failing_webhook_changes_nothing(
    hook: Hook, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from annexa.cli.main import main

    project = copy_demo(tmp_path / "demo")
    assert run_cli("scan", "-c", str(project.config), "--now", FIRST_SCAN, "--notify", hook.url)[0] == 1
    assert hook.bodies[0]["drift"] is None
    capsys.readouterr()
    code = main(["scan", "-c", str(project.config), "--now", SECOND_SCAN, "--notify", hook.url,
                 "--notify", "http://127.0.0.1:9/down", "--notify-format", "slack"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1  # as without notifications
    assert "notification to http://127.0.0.1:9/... failed after 3 attempt(s): ConnectionError" in err
    assert hook.paths[-1] == SECRET_PATH
    assert hook.bodies[-1] == {"text": hook.bodies[-1]["text"]}
    assert "0 new failure(s), 0 fixed" in hook.bodies[-1]["text"]
