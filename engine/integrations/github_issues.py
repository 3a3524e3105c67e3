"""GitHub Issues: one issue per nonconformity, opened, commented, reopened and closed as scans find it.

Configured in annexa.yaml::

    integrations:
      github_issues:
        repository: acme/ai-governance     # owner/name
        token_env: ANNEXA_GITHUB_TOKEN     # the environment variable that holds the token

After each recorded scan (hook ``annexa_nonconformities_changed``):

- a nonconformity the scan *opened* gets an issue (title: control, rule and subject; the label, default
  ``annexa``; a marker line ``<!-- annexa:nonconformity NC-... -->`` in the body);
- one it *reopened* gets a comment, and its issue is reopened if it was closed (so does one it opened
  whose issue exists but is closed: a new store, or a history that was lost);
- one it *closed* gets a comment saying what closed it, and its issue is closed (reason ``completed``);
- every nonconformity still open that has no issue gets one, and every closed one whose issue is still
  open (and untouched since the nonconformity closed) has it closed, so a scan whose notification failed
  (GitHub down, token expired) is caught up by the next.

The plugin finds its own issues by listing the repository's issues with its label (every state, page
by page along the ``Link`` header) and reading the marker: the marker carries the nonconformity's stable
id, so a rerun, a second scan or a new clone of the store never files a second issue for the same
nonconformity. Issues a person closed by hand while the nonconformity stays open are left closed until a
scan reopens it.

Requests: the token goes in the ``Authorization`` header only (never in a URL, a message or an error);
reads and state changes (GET, PATCH) are retried on connection errors and 5xx through
:class:`annexa.plugins.HttpRetry`; a POST (a new issue, a comment) is not retried after it was sent,
because a retry could file it twice: the next scan's catch-up files what is missing instead. A rate limit
(403 or 429 with ``x-ratelimit-remaining: 0``, or with ``Retry-After``) is waited out when it resets
within ``max_wait_seconds`` (default 60) and is an error naming the reset time otherwise.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from annexa import __version__
from annexa.plugins import IntegrationSpec, NonconformityChanges, hookimpl

if TYPE_CHECKING:
    import requests  # imported when a client is built: registering the plugin stays light

NAME: Final = "github_issues"
DEFAULT_API: Final = "https://api.github.com"
DEFAULT_LABEL: Final = "annexa"
MARKER_RE: Final = re.compile(r"<!-- annexa:nonconformity (NC-[0-9A-Za-z_.:-]+) -->")
_TITLE_MAX: Final = 256  # GitHub accepts more; a title longer than this is unreadable in a list
_RATE_LIMIT_ATTEMPTS: Final = 3  # answers that say "rate limited" waited out before giving up
_API_VERSION: Final = "2022-11-28"

CONFIG_SCHEMA: Final[Mapping[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["repository"],
    "properties": {
        "repository": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
            "x-annexa-expected": "owner/name, such as acme/ai-governance",
            "description": "The repository whose issues track the nonconformities.",
        },
        "token_env": {
            "type": "string",
            "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
            "default": "GITHUB_TOKEN",
            "description": "Name of the environment variable holding the token (fine-grained: Issues "
            "read and write). The token itself never goes in annexa.yaml.",
        },
        "api_url": {
            "type": "string",
            "pattern": "^https?://",
            "default": DEFAULT_API,
            "description": "REST API root; GitHub Enterprise Server: https://HOST/api/v3.",
        },
        "label": {
            "type": "string",
            "minLength": 1,
            "default": DEFAULT_LABEL,
            "description": "Label on every issue the plugin files; it lists issues by this label.",
        },
        "labels": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "Further labels for new issues (for example compliance).",
        },
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 10},
        "retries": {"type": "integer", "minimum": 0, "default": 3},
        "backoff_seconds": {
            "type": "number",
            "minimum": 0,
            "default": 0.5,
            "description": "urllib3's backoff factor: the first retry is at once, then 2, 4 ... times this.",
        },
        "max_wait_seconds": {
            "type": "number",
            "minimum": 0,
            "default": 60,
            "description": "Longest wait for a rate limit to reset (or a Retry-After); longer is an error.",
        },
    },
}


class GitHubError(Exception):
    """GitHub refused or failed a request; the message names the request and GitHub's own words."""


@hookimpl
def annexa_integrations() -> Iterator[IntegrationSpec]:
    yield IntegrationSpec(
        name=NAME,
        version=__version__,
        config_schema=CONFIG_SCHEMA,
        description="a GitHub issue per nonconformity: opened, reopened with a comment, closed",
    )


@hookimpl
def annexa_nonconformities_changed(changes: NonconformityChanges, settings: Mapping[str, Any]) -> None:
    block = settings.get(NAME)
    if block is None:
        return  # not configured
    with GitHubIssues.from_settings(block, os.environ) as tracker:
        tracker.apply(changes)


@dataclass(frozen=True, slots=True)
class Issue:
    number: int
    state: str  # "open" | "closed"
    updated_at: str = ""  # ISO 8601 UTC, as GitHub writes it (2026-11-20T09:00:00Z): compared as text


class GitHubIssues:
    """The issues of one repository, kept in step with the nonconformity register."""

    def __init__(
        self,
        *,
        repository: str,
        token: str,
        api_url: str = DEFAULT_API,
        label: str = DEFAULT_LABEL,
        labels: tuple[str, ...] = (),
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        from annexa.plugins import HttpRetry

        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self.label = label
        self.labels = tuple(dict.fromkeys((label, *labels)))
        self.timeout = timeout
        self.max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {token}",
                "X-GitHub-Api-Version": _API_VERSION,
                "User-Agent": f"annexa/{__version__}",
            }
        )
        retry = HttpRetry.policy(
            retries=retries,
            backoff_seconds=backoff,
            max_wait_seconds=max_wait,
            statuses=(500, 502, 503, 504),
            methods=("GET", "PATCH"),  # POST is not retried once sent: it could file twice
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    @classmethod
    def from_settings(cls, block: Mapping[str, Any], environ: Mapping[str, str]) -> GitHubIssues:
        """From the validated ``integrations.github_issues`` block and the environment (for the token)."""
        variable = str(block.get("token_env", "GITHUB_TOKEN"))
        token = environ.get(variable, "")
        if not token:
            raise GitHubError(f"the environment variable {variable} (token_env) holds no GitHub token")
        return cls(
            repository=str(block["repository"]),
            token=token,
            api_url=str(block.get("api_url", DEFAULT_API)),
            label=str(block.get("label", DEFAULT_LABEL)),
            labels=tuple(str(label) for label in block.get("labels", ())),
            timeout=float(block.get("timeout_seconds", 10)),
            retries=int(block.get("retries", 3)),
            backoff=float(block.get("backoff_seconds", 0.5)),
            max_wait=float(block.get("max_wait_seconds", 60)),
        )

    def __enter__(self) -> GitHubIssues:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    # -- what a scan changes ---------------------------------------------------------------------------

    def apply(self, changes: NonconformityChanges) -> dict[str, int]:
        """File, comment, reopen and close issues for one scan's changes; returns what it did, counted."""
        done = {"opened": 0, "reopened": 0, "closed": 0, "commented": 0}
        issues = self.find_issues()
        for change in changes.changes:
            nc = change.nonconformity
            issue = issues.get(change.id)
            if change.change == "closed":
                if issue is not None and issue.state == "open":
                    self.comment(issue.number, _closed_text(nc, changes.scan_id))
                    issues[change.id] = self.set_state(issue.number, "closed")
                    done["commented"] += 1
                    done["closed"] += 1
            elif issue is None:
                issues[change.id] = self.create(nc, changes)
                done["opened"] += 1
            elif change.change == "reopened" or issue.state != "open":
                # Reopened; or opened anew with its issue closed (a new store, a history that was lost).
                self.comment(issue.number, _reopened_text(nc, changes.scan_id))
                done["commented"] += 1
                if issue.state != "open":
                    issues[change.id] = self.set_state(issue.number, "open")
                    done["reopened"] += 1
        # Catch up with scans whose notification failed: an open nonconformity without an issue gets one,
        # a closed one whose issue is still open has it closed.
        for nc in changes.open:
            key = str(nc["id"])
            if key not in issues:
                issues[key] = self.create(nc, changes)
                done["opened"] += 1
        for nc in changes.closed:
            issue = issues.get(str(nc["id"]))
            # Only an issue untouched since the nonconformity closed: one a person reopened or commented
            # on afterwards is theirs to close.
            if issue is not None and issue.state == "open" and issue.updated_at < str(nc.get("closed_at")):
                self.comment(issue.number, _closed_text(nc, str(nc.get("closed_in") or changes.scan_id)))
                issues[str(nc["id"])] = self.set_state(issue.number, "closed")
                done["commented"] += 1
                done["closed"] += 1
        return done

    # -- the REST calls --------------------------------------------------------------------------------

    def find_issues(self) -> dict[str, Issue]:
        """The plugin's own issues, by nonconformity id, from every page of the labelled issue list."""
        found: dict[str, Issue] = {}
        url: str | None = f"{self.api_url}/repos/{self.repository}/issues"
        params: dict[str, Any] | None = {"labels": self.label, "state": "all", "per_page": 100}
        while url is not None:
            response = self._request("GET", url, "list the issues", params=params)
            for item in response.json():
                if "pull_request" in item:  # the issues list includes pull requests
                    continue
                match = MARKER_RE.search(item.get("body") or "")
                if match is None:
                    continue
                key = match.group(1)
                if key not in found or item["number"] < found[key].number:  # the oldest, if filed twice
                    found[key] = _issue(item)
            url, params = response.links.get("next", {}).get("url"), None  # the next URL keeps the query
        return found

    def create(self, nc: Mapping[str, Any], changes: NonconformityChanges) -> Issue:
        body = {"title": _title(nc), "body": _body(nc, changes), "labels": list(self.labels)}
        response = self._request(
            "POST", f"{self.api_url}/repos/{self.repository}/issues", "create an issue", json=body
        )
        item = response.json()
        if self.label not in {label.get("name") for label in item.get("labels") or ()}:
            # GitHub drops the labels of a new issue, silently, when the token lacks push access; without
            # its label the issue cannot be found again, and every later scan would file another.
            raise GitHubError(
                f"GitHub filed issue #{item['number']} in {self.repository} without the label "
                f"{self.label!r} (labels are dropped when the token lacks push access): add the label to it "
                f"by hand, or give the token write access to the repository's issues and labels"
            )
        return _issue(item)

    def comment(self, number: int, text: str) -> None:
        url = f"{self.api_url}/repos/{self.repository}/issues/{number}/comments"
        self._request("POST", url, f"comment on issue #{number}", json={"body": text})

    def set_state(self, number: int, state: str) -> Issue:
        payload = {"state": state, "state_reason": "completed" if state == "closed" else "reopened"}
        url = f"{self.api_url}/repos/{self.repository}/issues/{number}"
        item = self._request("PATCH", url, f"{_VERB[state]} issue #{number}", json=payload).json()
        return _issue(item)

    def _request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> requests.Response:
        """One call; a rate limit is waited out up to ``max_wait``; an error raises :class:`GitHubError`."""
        import requests

        from annexa.plugins import HttpRetry

        for attempt in range(1, _RATE_LIMIT_ATTEMPTS + 1):
            try:
                response = self.session.request(method, url, params=params, json=json, timeout=self.timeout)
            except requests.RequestException as exc:
                cause = HttpRetry.cause(exc)
                raise GitHubError(
                    f"could not {what} in {self.repository}: {type(cause).__name__}"
                ) from None  # the exception's text is dropped: it may carry the request's headers
            wait = self._rate_limit_wait(response)
            if wait is None:
                break
            if wait > self.max_wait or attempt == _RATE_LIMIT_ATTEMPTS:
                reset = response.headers.get("x-ratelimit-reset")
                until = (
                    f"; it resets at {datetime.fromtimestamp(int(reset), UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
                    if reset and reset.isdigit()
                    else ""
                )
                why = (
                    f"waiting {wait:.0f} s would exceed max_wait_seconds ({self.max_wait:g})"
                    if wait > self.max_wait
                    else f"still limited after {attempt} attempts"
                )
                raise GitHubError(
                    f"could not {what} in {self.repository}: GitHub's rate limit "
                    f"(HTTP {response.status_code}: {_github_message(response)}){until}; {why}"
                )
            self._sleep(wait)
        if not response.ok:
            hint = ""
            if response.status_code == 401:
                hint = "; the token is wrong or expired"
            elif response.status_code in (403, 404):
                hint = "; the token may lack Issues read and write on this repository"
            raise GitHubError(
                f"GitHub refused to {what} in {self.repository}: HTTP {response.status_code} "
                f"{_github_message(response)}{hint}"
            )
        return response

    def _rate_limit_wait(self, response: requests.Response) -> float | None:
        """Seconds to wait before trying again, if ``response`` says a rate limit was hit; else None.

        GitHub's documented signals: a primary limit answers 403 or 429 with ``x-ratelimit-remaining: 0``
        and the reset time (epoch seconds) in ``x-ratelimit-reset``; a secondary limit answers 403 or 429
        with ``Retry-After`` (seconds), or without it, when a minute is the documented wait.
        """
        if response.status_code not in (403, 429):
            return None
        headers = response.headers
        retry_after = headers.get("retry-after", "")
        if retry_after.isdigit():
            return float(retry_after)
        if headers.get("x-ratelimit-remaining") == "0":
            reset = headers.get("x-ratelimit-reset", "")
            return max(float(reset) - self._clock(), 0.0) + 1.0 if reset.isdigit() else 60.0
        if "secondary rate limit" in _github_message(response).lower():
            return 60.0
        return None


_VERB = {"closed": "close", "open": "reopen"}


def _issue(item: Mapping[str, Any]) -> Issue:
    return Issue(
        number=int(item["number"]), state=str(item["state"]), updated_at=str(item.get("updated_at") or "")
    )


def _github_message(response: requests.Response) -> str:
    """GitHub's error body in a line: ``message`` and, for a 422, what each error says."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or ""
    if not isinstance(body, dict):
        return response.reason or ""
    text = str(body.get("message") or response.reason or "")
    details = []
    for error in body.get("errors") or ():
        if isinstance(error, dict):
            details.append(str(error.get("message") or f"{error.get('field')}: {error.get('code')}"))
        else:
            details.append(str(error))
    return f"{text} ({'; '.join(details)})" if details else text


def _title(nc: Mapping[str, Any]) -> str:
    subject = f" [{nc['subject']}]" if nc.get("subject") else ""
    title = f"{nc['control']} {nc['rule']}{subject}: nonconformity"
    return title if len(title) <= _TITLE_MAX else title[: _TITLE_MAX - 1] + "…"


def _body(nc: Mapping[str, Any], changes: NonconformityChanges) -> str:
    lines = [
        f"annexa found a nonconformity with ISO/IEC 42001 control **{nc['control']}** in scan "
        f"`{changes.scan_id}` of {changes.organization or 'the organisation'}.",
        "",
        f"- Rule: `{nc['rule']}`",
        f"- Subject: {nc.get('subject') or '-'}",
        f"- Severity: {nc.get('severity')}",
        f"- First seen: {nc.get('first_seen')}",
        f"- Owner: {nc.get('owner') or '-'}; due: {nc.get('due') or '-'}",
        "",
        "Finding:",
        "",
        *(f"> {line}" for line in str(nc.get("message", "")).splitlines() or [""]),
        "",
        f"It closes when a scan shows the finding passing, when the control is declared not applicable, or "
        f"by a closure record; see `annexa nonconformities -c ...` (store: `{changes.store}`).",
        "",
        f"<!-- annexa:nonconformity {nc['id']} -->",
    ]
    return "\n".join(lines)


def _reopened_text(nc: Mapping[str, Any], scan_id: str) -> str:
    episode = len(nc.get("episodes") or ())
    if episode <= 1:
        return f"Reopened: scan `{scan_id}` found {nc['id']} failing.\n\n> {nc.get('message', '')}"
    message = nc.get("message", "")
    return f"Reopened: scan `{scan_id}` found {nc['id']} failing again (episode {episode}).\n\n> {message}"


def _closed_text(nc: Mapping[str, Any], scan_id: str) -> str:
    how = nc.get("closure") or nc.get("closed_by") or "closed"
    return f"Closed by scan `{scan_id}`: {how}."
