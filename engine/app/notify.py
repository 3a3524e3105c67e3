"""The webhook notifier: after a scan, POST what changed since the previous scan to a URL.

Two payloads: ``json`` (the scan id, summary and drift, for any receiver) and ``slack`` (``{"text": ...}``,
which Slack, Mattermost, Rocket.Chat and Teams' Slack-compatible webhooks accept). Transient failures
(connection errors, 429 and 5xx) are retried with backoff; a notification that still fails is reported
to the caller and never changes the scan's outcome. URLs are never printed whole: a webhook URL is a
credential, so messages show only its scheme and host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import requests

PAYLOAD_FORMATS: Final = ("json", "slack")
_RETRY_STATUS: Final = frozenset({408, 425, 429, 500, 502, 503, 504})
_LISTED: Final = 10  # changes named in a Slack message; the rest are counted
_MAX_WAIT_S: Final = 30.0  # cap on one wait between attempts, a server's Retry-After included


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyOutcome:
    url: str  # redacted: scheme and host only
    ok: bool
    attempts: int
    message: str


def redact_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0/B0/secret`` -> ``https://hooks.slack.com/...``."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/..."


def json_payload(result: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body: who, which scan, the summary, and the drift since the previous scan."""
    drift = result.get("drift")
    return {
        "schema_version": 1,
        "event": "annexa.scan.finished",
        "organization": result.get("organization"),
        "scan": result.get("scan"),
        "evaluated_at": result["evaluated_at"],
        "summary": result["summary"],
        "drift": drift,
        "new_failures": [
            change for change in (drift or {}).get("findings", []) if change["change"] == "new_failure"
        ],
    }


def slack_text(result: Mapping[str, Any]) -> str:
    """A short plain-text message (Slack mrkdwn-safe: ``< > &`` escaped as Slack requires)."""
    summary = result["summary"]
    controls = summary["controls"]
    organization = result.get("organization") or "annexa"
    scan = (result.get("scan") or {}).get("id", "")
    lines = [
        f"annexa scan {scan} of {organization}: {controls['pass']} controls pass, {controls['fail']} fail, "
        f"{controls['inconclusive'] + controls['error']} inconclusive (exit {summary['exit_code']})"
    ]
    drift = result.get("drift")
    if drift is None:
        lines.append("first recorded scan: no previous scan to compare with")
    else:
        counts = drift["counts"]
        lines.append(
            f"since the previous scan: {counts['new_failure']} new failure(s), {counts['fixed']} fixed, "
            f"{counts['still_failing']} still failing"
        )
        moved = [c for c in drift["findings"] if c["change"] in ("new_failure", "fixed")]
        for change in moved[:_LISTED]:
            subject = f" [{change['subject']}]" if change["subject"] else ""
            lines.append(f"• {change['change'].replace('_', ' ')}: {change['rule']}{subject}")
        if len(moved) > _LISTED:
            lines.append(f"… and {len(moved) - _LISTED} more")
    text = "\n".join(lines)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def notify(
    url: str,
    result: Mapping[str, Any],
    *,
    payload_format: str = "json",
    attempts: int = 3,
    timeout: float = 10.0,
    backoff: float = 0.5,
) -> NotifyOutcome:
    """POST the scan's drift to ``url``; never raises for network or HTTP failures.

    Retries are urllib3's ``Retry`` (:class:`annexa.plugins.HttpRetry`) on the session, not a loop of our
    own: it also retries a read that broke off, reads ``Retry-After`` in its HTTP-date form, and adds
    jitter, which the loop did not.

    :param attempts: tries in all; a retry follows a connection error, a timeout, 408, 425, 429 or 5xx,
        at once and then after ``backoff * 2**n`` seconds plus jitter (or the server's ``Retry-After``),
        each wait capped at 30 s.
    """
    from requests.adapters import HTTPAdapter

    from annexa.plugins import HttpRetry

    body: dict[str, Any] = {"text": slack_text(result)} if payload_format == "slack" else json_payload(result)
    shown = redact_url(url)
    retry = HttpRetry.policy(
        retries=max(attempts - 1, 0),
        backoff_seconds=backoff,
        max_wait_seconds=_MAX_WAIT_S,
        statuses=_RETRY_STATUS,
        methods=("POST",),  # a duplicate notification is better than a lost one
    )
    with requests.Session() as session:
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        try:
            response = session.post(
                url, json=body, timeout=timeout, headers={"User-Agent": "annexa-notifier/1"}
            )
        except requests.RequestException as exc:
            tried = attempts if HttpRetry.ran_out(exc) else 1
            # The exception's text may contain the URL, which is a credential: only its type is shown.
            return NotifyOutcome(url=shown, ok=False, attempts=tried, message=type(exc).__name__)
    tried = HttpRetry.attempts(response.raw)
    return NotifyOutcome(url=shown, ok=response.ok, attempts=tried, message=f"HTTP {response.status_code}")
