"""The webhook notifier: after a scan, POST what changed since the previous scan to a URL.

Two payloads: ``json`` (the scan id, summary, drift and the nonconformities the scan opened, reopened or
closed, for any receiver) and ``slack`` (``{"text": ...}``, which Slack, Mattermost, Rocket.Chat and
Teams' Slack-compatible webhooks accept). The nonconformity changes come from the register rebuilt from
the store's history (:func:`nonconformity_changes`); plugins receive the same through the
``annexa_nonconformities_changed`` hook. Transient failures (connection errors, 429 and 5xx) are retried
with backoff; a notification that still fails is reported to the caller and never changes the scan's
outcome. URLs are never printed whole: a webhook URL is a
credential, so messages show only its scheme and host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import requests

from annexa.app.corrective_actions import configured_actions
from annexa.audit.nonconformities import Register, build_register, scan_view
from annexa.model.evidence import format_timestamp
from annexa.plugins.types import NonconformityChange, NonconformityChanges

if TYPE_CHECKING:
    from annexa.plugins.config import Config
    from annexa.plugins.host import PluginHost
    from annexa.store import Store

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


# What a webhook receives of each changed nonconformity (the register row, without its episodes).
_NC_FIELDS: Final = ("id", "state", "control", "rule", "subject", "severity", "message", "first_seen",
                     "closed_by", "closure", "owner", "due", "reopened")  # fmt: skip
CHANGE_KINDS: Final = ("opened", "reopened", "closed")


def json_payload(
    result: Mapping[str, Any], nonconformities: NonconformityChanges | None = None
) -> dict[str, Any]:
    """The JSON body: who, which scan, the summary, the drift since the previous scan, and what the scan
    did to the nonconformity register (``null`` when the scan was not recorded)."""
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
        "nonconformities": None if nonconformities is None else nonconformity_payload(nonconformities),
    }


def nonconformity_payload(changes: NonconformityChanges) -> dict[str, Any]:
    """``{"opened": [...], "reopened": [...], "closed": [...], "open": N}``: each a compact register row."""
    payload: dict[str, Any] = {
        kind: [{key: change.nonconformity.get(key) for key in _NC_FIELDS} for change in changes.of(kind)]
        for kind in CHANGE_KINDS
    }
    payload["open"] = len(changes.open)
    return payload


def slack_text(result: Mapping[str, Any], nonconformities: NonconformityChanges | None = None) -> str:
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
    if nonconformities is not None and nonconformities.changes:
        counts = ", ".join(f"{len(nonconformities.of(kind))} {kind}" for kind in CHANGE_KINDS)
        lines.append(f"nonconformities: {counts}; {len(nonconformities.open)} open")
        for change in nonconformities.changes[:_LISTED]:
            nc = change.nonconformity
            subject = f" [{nc['subject']}]" if nc.get("subject") else ""
            lines.append(f"• {change.change} {change.id}: {nc['rule']}{subject}")
        if len(nonconformities.changes) > _LISTED:
            lines.append(f"… and {len(nonconformities.changes) - _LISTED} more")
    text = "\n".join(lines)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def notify(
    url: str,
    result: Mapping[str, Any],
    *,
    payload_format: str = "json",
    nonconformities: NonconformityChanges | None = None,
    attempts: int = 3,
    timeout: float = 10.0,
    backoff: float = 0.5,
) -> NotifyOutcome:
    """POST the scan's drift to ``url``; never raises for network or HTTP failures.

    Retries are urllib3's ``Retry`` (:class:`annexa.plugins.HttpRetry`) on the session, not a loop of our
    own: it also retries a read that broke off, reads ``Retry-After`` in its HTTP-date form, and adds
    jitter, which the loop did not.

    :param nonconformities: what the scan did to the register (``None``: not recorded, not computed).
    :param attempts: tries in all; a retry follows a connection error, a timeout, 408, 425, 429 or 5xx,
        at once and then after ``backoff * 2**n`` seconds plus jitter (or the server's ``Retry-After``),
        each wait capped at 30 s.
    """
    from requests.adapters import HTTPAdapter

    from annexa.plugins import HttpRetry

    body: dict[str, Any] = (
        {"text": slack_text(result, nonconformities)}
        if payload_format == "slack"
        else json_payload(result, nonconformities)
    )
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


# --- what a recorded scan did to the nonconformity register ---------------------------------------------


def wants_nonconformity_changes(host: PluginHost, config: Config, webhooks: Sequence[str]) -> bool:
    """Whether anyone will read the changes: rebuilding the register reads every scan in the store, so a
    scan does it only for a ``--notify`` webhook, a configured integration, or a plugin from a
    distribution implementing ``annexa_nonconformities_changed`` (built-in ones act only when configured).
    """
    return (
        bool(webhooks) or bool(config.integrations) or host.has_third_party("annexa_nonconformities_changed")
    )


def nonconformity_changes(store: Store, config: Config, scan_id: str) -> NonconformityChanges:
    """What the recorded scan ``scan_id`` (the latest in ``store``) opened, reopened and closed.

    The register is rebuilt from the whole history, as ``annexa nonconformities`` builds it; a
    nonconformity whose last episode began in this scan was opened (its first) or reopened (a later one),
    one whose last episode ended in it was closed. The store is named as a folder, or a shared store's URL
    by scheme and host only (it may carry a password, and tickets are read by many).
    """
    history = store.scans()
    if not history or history[-1].scan_id != scan_id:
        raise ValueError(f"scan {scan_id} is not the latest recorded in the store")
    # A scan at a time: only the one being replayed is held, not the history's findings.
    views = (scan_view(store.load_scan(summary.digest).record) for summary in history)
    path = config.store_path
    shown = redact_url(path) if "://" in path else path
    return changes_of(build_register(views, configured_actions(config)), config.organization, shown)


def changes_of(register: Register, organization: str, store: str) -> NonconformityChanges:
    """The changes the register's latest scan made, and every nonconformity open after it."""
    scan_id = register.latest_scan or ""
    changes = []
    for nc in register.nonconformities:
        last = nc.episodes[-1]
        if last.opened_in == scan_id:
            kind = "opened" if len(nc.episodes) == 1 else "reopened"
        elif last.closed_in == scan_id:
            kind = "closed"
        else:
            continue
        changes.append(NonconformityChange(change=kind, nonconformity=nc.to_dict()))
    return NonconformityChanges(
        organization=organization,
        scan_id=scan_id,
        scanned_at="" if register.as_of is None else format_timestamp(register.as_of),
        store=store,
        changes=tuple(sorted(changes, key=lambda change: change.id)),
        open=tuple(nc.to_dict() for nc in register.nonconformities if nc.is_open),
        closed=tuple(nc.to_dict() for nc in register.nonconformities if not nc.is_open),
    )
