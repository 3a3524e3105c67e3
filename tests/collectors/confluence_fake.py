"""A small Confluence Cloud REST API v2 on 127.0.0.1, serving the documented response shapes.

No installable Confluence exists (see the test-services reference), so tests run the documents
collector against this instead. It serves what the collector calls:

- ``GET /wiki/api/v2/spaces?keys=KEY``
- ``GET /wiki/api/v2/spaces/{id}/pages?body-format=storage&status=current&status=archived&limit=N``
- ``GET /wiki/api/v2/pages/{id}/labels`` and ``GET /wiki/api/v2/pages/{id}/properties``

Lists are cursor-paged: ``{"results": [...], "_links": {"next": "/wiki/api/v2/...&cursor=...", "base": ...}}``
with the same next link in a ``Link`` header. Faults are scripted per path prefix: a status with
headers (401, 429 with Retry-After, 500) for the next N requests, or a space that always fails.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Page:
    id: str
    title: str
    body: str = ""  # storage format (XHTML)
    labels: tuple[str, ...] = ()
    properties: dict[str, Any] = field(default_factory=dict)  # content properties: key -> JSON value
    status: str = "current"
    version: int = 1
    version_at: str = "2026-06-15T10:00:00.000Z"
    author: str = "557058:0f1e2d3c"


@dataclass
class Fault:
    prefix: str  # path prefix the fault applies to
    status: int
    times: int  # how many requests it answers; -1: every one
    headers: dict[str, str] = field(default_factory=dict)


class FakeConfluence:
    """Spaces and pages in memory; ``url`` is the site base URL to configure."""

    def __init__(
        self, *, token: str = "secret-token", page_limit_cap: int = 250, delay_seconds: float = 0
    ) -> None:
        self.token = token
        self.delay_seconds = delay_seconds  # per request: a remote site's round trip, for benchmarks
        self.page_limit_cap = page_limit_cap
        self.spaces: dict[str, tuple[str, list[Page]]] = {}  # key -> (id, pages)
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str | None]] = []  # (path?query, Authorization header)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeConfluence:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def add_space(self, key: str, pages: list[Page], space_id: str | None = None) -> None:
        self.spaces[key] = (space_id or str(1000 + len(self.spaces)), pages)

    def fail(
        self, prefix: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        self.faults.append(Fault(prefix, status, times, dict(headers or {})))

    # --- request handling --------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append((self.path, self.headers.get("Authorization")))
                if fake.delay_seconds:
                    time.sleep(fake.delay_seconds)
                status, headers, body = fake.answer(self.path, self.headers.get("Authorization"))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler

    def answer(self, raw_path: str, authorization: str | None) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        for fault in self.faults:
            if path.startswith(fault.prefix) and fault.times != 0:
                fault.times -= 1
                return fault.status, fault.headers, _error(fault.status)
        if authorization != f"Bearer {self.token}" and authorization != _basic(self.token):
            return 401, {"WWW-Authenticate": 'Basic realm="Atlassian"'}, _error(401)
        segments = path.removeprefix("/wiki/api/v2/").split("/")
        if segments == ["spaces"]:
            keys = set(",".join(query.get("keys", [])).split(",")) - {""}
            spaces = [
                {"id": space_id, "key": key, "name": f"{key} space", "type": "global", "status": "current"}
                for key, (space_id, _) in self.spaces.items()
                if not keys or key in keys
            ]
            return self._paged(path, query, spaces)
        if len(segments) == 3 and segments[0] == "spaces" and segments[2] == "pages":
            space = next(
                ((key, pages) for key, (sid, pages) in self.spaces.items() if sid == segments[1]), None
            )
            if space is None:
                return 404, {}, _error(404)
            statuses = set(query.get("status", ["current"]))
            body_format = query.get("body-format", [None])[0]
            pages = [self._page(space[0], page, body_format) for page in space[1] if page.status in statuses]
            return self._paged(path, query, pages)
        if len(segments) == 3 and segments[0] == "pages":
            page = next((p for _, pages in self.spaces.values() for p in pages if p.id == segments[1]), None)
            if page is None:
                return 404, {}, _error(404)
            if segments[2] == "labels":
                labels = [
                    {"id": str(9000 + i), "name": name, "prefix": "global"}
                    for i, name in enumerate(page.labels)
                ]
                return self._paged(path, query, labels)
            if segments[2] == "properties":
                props = [
                    {"id": str(7000 + i), "key": key, "value": value,
                     "version": {"number": 1, "createdAt": page.version_at, "message": "",
                                 "minorEdit": False}}
                    for i, (key, value) in enumerate(page.properties.items())
                ]  # fmt: skip
                return self._paged(path, query, props)
        return 404, {}, _error(404)

    def _page(self, space: str, page: Page, body_format: str | None) -> dict[str, Any]:
        space_id = self.spaces[space][0]
        item: dict[str, Any] = {
            "id": page.id, "status": page.status, "title": page.title, "spaceId": space_id,
            "parentId": None, "parentType": None, "position": 0, "authorId": page.author,
            "ownerId": page.author, "lastOwnerId": None, "createdAt": "2025-01-10T08:00:00.000Z",
            "version": {"createdAt": page.version_at, "message": "", "number": page.version,
                        "minorEdit": False, "authorId": page.author},
            "_links": {"webui": f"/spaces/{space}/pages/{page.id}/{page.title.replace(' ', '+')}",
                       "editui": f"/pages/resumedraft.action?draftId={page.id}", "tinyui": f"/x/{page.id}"},
        }  # fmt: skip
        if body_format == "storage":
            item["body"] = {"storage": {"representation": "storage", "value": page.body}}
        return item

    def _paged(
        self, path: str, query: dict[str, list[str]], items: list[Any]
    ) -> tuple[int, dict[str, str], Any]:
        limit = min(int(query.get("limit", ["25"])[0]), self.page_limit_cap)
        cursor = query.get("cursor", [None])[0]
        start = int(base64.urlsafe_b64decode(cursor).decode()) if cursor else 0
        body: dict[str, Any] = {
            "results": items[start : start + limit],
            "_links": {"base": f"{self.url}/wiki"},
        }
        headers: dict[str, str] = {}
        if start + limit < len(items):
            rest = {key: values for key, values in query.items() if key != "cursor"}
            rest["cursor"] = [base64.urlsafe_b64encode(str(start + limit).encode()).decode()]
            following = f"{path}?{urlencode(rest, doseq=True)}"
            body["_links"]["next"] = following
            headers["Link"] = f'<{following}>; rel="next"'
        return 200, headers, body

    def pages_requested(self) -> Iterator[str]:
        return (path for path, _ in self.requests if "/pages?" in path or path.endswith("/pages"))


def _basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"ada@example.com:{token}".encode()).decode()


def _error(status: int) -> dict[str, Any]:
    titles = {401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}
    return {"errors": [{"status": status, "code": titles.get(status, "Error").upper().replace(" ", "_"),
                        "title": titles.get(status, "Error"), "detail": None}]}  # fmt: skip
