"""A fake GitHub REST API on 127.0.0.1 that replays the documented shapes of the calls annexa makes.

Endpoints (https://docs.github.com/en/rest/issues, API version 2022-11-28), with the fields of GitHub's
own issue, comment and error objects:

- ``GET /repos/{owner}/{repo}/issues`` with ``labels`` (comma-separated, all must match), ``state``
  (open, closed, all; default open), ``per_page`` and ``page``; newest first; pull requests appear in the
  list with a ``pull_request`` key, as on GitHub; a ``Link`` header with ``next``, ``last``, ``first`` and
  ``prev`` as GitHub sends them;
- ``POST /repos/{owner}/{repo}/issues``: 201 and the issue, ``Location`` header; 422 ``Validation
  Failed`` with ``missing_field`` when the title is missing;
- ``PATCH /repos/{owner}/{repo}/issues/{number}``: ``state`` open/closed and ``state_reason``;
- ``POST /repos/{owner}/{repo}/issues/{number}/comments``: 201 and the comment;
- errors: 401 ``Bad credentials`` for a wrong or missing token, 404 ``Not Found``, 403 or 429 with
  ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset`` (primary limit) or with ``Retry-After``
  (secondary limit), and any scripted answer (:meth:`FakeGitHub.fail_next`).

Every answer carries the ``x-ratelimit-*`` headers. A ``POST /hook`` endpoint records webhook bodies, so
one server serves a scan's ``--notify`` too. Test knobs: ``max_per_page`` (GitHub's is 100) to make
pagination happen with few issues; ``drop_labels`` to drop a new issue's labels, as GitHub does
silently for a user without push access.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

DOCS = "https://docs.github.com/rest"
RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
LIMIT = 5000


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Answer:
    """A scripted answer for the next request matching ``method`` (and ``path`` if given)."""

    method: str
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    path: str | None = None


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class FakeGitHub:
    def __init__(self, owner: str = "acme", repo: str = "ai-governance", token: str = "") -> None:
        self.owner, self.repo, self.token = owner, repo, token
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[Seen] = []
        self.hooks: list[Any] = []  # webhook bodies posted to /hook
        self.answers: list[Answer] = []
        self.max_per_page = 100
        self.drop_labels = False  # answer as GitHub does to a token without push access
        self.remaining = LIMIT
        self._next_id = 1000
        self._lock = threading.Lock()
        self.url = ""  # set when served

    # -- state helpers for tests ------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        path: str | None = None,
    ) -> None:
        self.answers.append(Answer(method, status, body, dict(headers or {}), path))

    def rate_limit_next(self, method: str, *, reset_in: float, status: int = 403) -> None:
        """The primary rate limit as GitHub documents it: remaining 0 and the reset time (epoch seconds)."""
        self.fail_next(
            method,
            status,
            {
                "message": "API rate limit exceeded for user ID 1.",
                "documentation_url": RATE_LIMIT_DOCS,
                "status": str(status),
            },
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time() + reset_in))},
        )

    def add_issue(
        self, title: str, body: str, labels: list[str], state: str = "open", *, pull_request: bool = False
    ) -> dict[str, Any]:
        with self._lock:
            return self._add(title, body, labels, state, pull_request=pull_request)

    def created(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/issues")]

    def annexa_issues(self) -> list[dict[str, Any]]:
        return [i for i in self.issues.values() if "pull_request" not in i]

    # -- GitHub's objects -------------------------------------------------------------------------------

    def _base(self) -> str:
        return f"{self.url}/repos/{self.owner}/{self.repo}"

    def _user(self) -> dict[str, Any]:
        return {
            "login": "annexa-bot",
            "id": 1,
            "node_id": "MDQ6VXNlcjE=",
            "type": "User",
            "url": f"{self.url}/users/annexa-bot",
            "html_url": "https://github.com/annexa-bot",
            "site_admin": False,
        }

    def _label(self, name: str) -> dict[str, Any]:
        return {
            "id": abs(hash(name)) % 10**9,
            "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=",
            "url": f"{self._base()}/labels/{name}",
            "name": name,
            "description": None,
            "color": "f29513",
            "default": False,
        }

    def _add(
        self,
        title: str,
        body: str | None,
        labels: list[str],
        state: str = "open",
        *,
        pull_request: bool = False,
    ) -> dict[str, Any]:
        number = len(self.issues) + 1
        self._next_id += 1
        base = self._base()
        issue: dict[str, Any] = {
            "id": self._next_id,
            "node_id": f"I_kwDO{self._next_id}",
            "url": f"{base}/issues/{number}",
            "repository_url": base,
            "labels_url": f"{base}/issues/{number}/labels{{/name}}",
            "comments_url": f"{base}/issues/{number}/comments",
            "events_url": f"{base}/issues/{number}/events",
            "html_url": f"https://github.com/{self.owner}/{self.repo}/issues/{number}",
            "number": number,
            "state": state,
            "state_reason": None if state == "open" else "completed",
            "title": title,
            "body": body,
            "user": self._user(),
            "labels": [self._label(n) for n in labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": 0,
            "closed_at": None if state == "open" else _now(),
            "created_at": _now(),
            "updated_at": _now(),
            "closed_by": None,
            "author_association": "COLLABORATOR",
        }
        if pull_request:
            issue["pull_request"] = {
                "url": f"{base}/pulls/{number}",
                "html_url": issue["html_url"],
                "diff_url": None,
                "patch_url": None,
            }
        self.issues[number] = issue
        self.comments[number] = []
        return issue

    # -- dispatch ---------------------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        body = json.loads(raw) if raw else None
        with self._lock:
            self.requests.append(Seen(method, parts.path, query, headers, body))
            if parts.path == "/hook" and method == "POST":
                self.hooks.append(body)
                return 204, None, {}
            for answer in self.answers:
                if answer.method == method and (answer.path is None or answer.path == parts.path):
                    self.answers.remove(answer)
                    return answer.status, answer.body, answer.headers
            if headers.get("authorization") != f"Bearer {self.token}":
                return 401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, {}
            prefix = f"/repos/{self.owner}/{self.repo}/issues"
            if not parts.path.startswith(prefix):
                return 404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, {}
            rest = parts.path[len(prefix) :].strip("/").split("/") if parts.path != prefix else []
            if not rest and method == "GET":
                return self._list(query)
            if not rest and method == "POST":
                return self._create(body or {})
            if len(rest) == 1 and rest[0].isdigit() and int(rest[0]) in self.issues and method == "PATCH":
                return self._update(int(rest[0]), body or {})
            if len(rest) == 2 and rest[1] == "comments" and int(rest[0]) in self.issues and method == "POST":
                return self._comment(int(rest[0]), body or {})
            return 404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, {}

    def _list(self, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        state = query.get("state", ["open"])[0]
        wanted = [n for n in query.get("labels", [""])[0].split(",") if n]
        per_page = min(int(query.get("per_page", ["30"])[0]), self.max_per_page)
        page = int(query.get("page", ["1"])[0])
        matching = [
            issue
            for issue in sorted(self.issues.values(), key=lambda i: -i["number"])
            if (state == "all" or issue["state"] == state)
            and all(name in {label["name"] for label in issue["labels"]} for name in wanted)
        ]
        last = max(1, -(-len(matching) // per_page))
        chunk = matching[(page - 1) * per_page : page * per_page]
        links = []
        common = {k: v[0] for k, v in query.items() if k != "page"} | {"per_page": str(per_page)}

        def link(p: int, rel: str) -> str:
            return f'<{self._base()}/issues?{urlencode(common | {"page": str(p)})}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        return 200, chunk, {"Link": ", ".join(links)} if links else {}

    def _create(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if not body.get("title"):
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}],
                    "documentation_url": f"{DOCS}/issues/issues#create-an-issue",
                    "status": "422",
                },
                {},
            )
        labels = [label if isinstance(label, str) else label["name"] for label in body.get("labels", [])]
        if self.drop_labels:  # documented: "silently dropped" for a user without push access
            labels = []
        issue = self._add(body["title"], body.get("body"), labels)
        return 201, issue, {"Location": issue["url"]}

    def _update(self, number: int, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        issue = self.issues[number]
        state = body.get("state")
        if state is not None:
            if state not in ("open", "closed"):
                return (
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "Issue", "code": "invalid", "field": "state"}],
                        "documentation_url": f"{DOCS}/issues/issues#update-an-issue",
                        "status": "422",
                    },
                    {},
                )
            if state != issue["state"]:
                issue["state"] = state
                issue["state_reason"] = body.get("state_reason") or (
                    "completed" if state == "closed" else "reopened"
                )
                issue["closed_at"] = _now() if state == "closed" else None
                issue["closed_by"] = self._user() if state == "closed" else None
        for key in ("title", "body"):
            if key in body:
                issue[key] = body[key]
        issue["updated_at"] = _now()
        return 200, issue, {}

    def _comment(self, number: int, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if not body.get("body"):
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "IssueComment", "code": "missing_field", "field": "body"}],
                    "documentation_url": f"{DOCS}/issues/comments#create-an-issue-comment",
                    "status": "422",
                },
                {},
            )
        self._next_id += 1
        issue = self.issues[number]
        comment = {
            "id": self._next_id,
            "node_id": f"IC_kwDO{self._next_id}",
            "url": f"{self._base()}/issues/comments/{self._next_id}",
            "html_url": f"{issue['html_url']}#issuecomment-{self._next_id}",
            "body": body["body"],
            "user": self._user(),
            "created_at": _now(),
            "updated_at": _now(),
            "issue_url": issue["url"],
            "author_association": "COLLABORATOR",
        }
        self.comments[number].append(comment)
        issue["comments"] += 1
        return 201, comment, {"Location": comment["url"]}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body, extra = self.server.fake.handle(self.command, self.path, headers, raw)
        fake = self.server.fake
        fake.remaining = max(fake.remaining - 1, 0)
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        base = {
            "x-ratelimit-limit": str(LIMIT),
            "x-ratelimit-remaining": str(fake.remaining),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-used": str(LIMIT - fake.remaining),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }
        for key, value in (base | extra).items():
            self.send_header(key, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGitHub


@contextmanager
def serve_github(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
