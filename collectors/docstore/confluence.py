"""Governance documents in a Confluence Cloud space, read over REST API v2: one ``document`` per page.

- Type: a label ``<type_label_prefix><type>`` (``doctype-ai-policy``), else the page's only label.
- Other fields: content properties (``GET /pages/{id}/properties``, key = field name) and the Page
  Properties macro (``details``: a two-column table, "Approver | Chief Risk Officer") in the page body;
  the macro wins, being what readers of the page see. Names are normalised as for DOCX custom properties
  ("Last reviewed" -> last_reviewed).
- Status: a ``status`` property, else the page status (archived -> retired, draft -> draft).
- Headings and empty sections: from the storage-format body (``h1``-``h6`` and the text between them;
  ``ac:placeholder`` template prompts are not text), judged exactly as Markdown is.
- Revisions: Confluence keeps every page version; ``revisions`` has the version number, its date and
  author account id.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from annexa.collectors.docstore.document import document_data
from annexa.collectors.docstore.fields import Naming, RawField, add_field
from annexa.collectors.docstore.formats import structured
from annexa.collectors.docstore.schema import KIND
from annexa.model.evidence import Evidence, JSONValue
from annexa.plugins import CollectorError, CollectRequest, HttpRetry, TextBlock

COLLECTOR = "documents 0.1.0"
API = "/wiki/api/v2"
_STATUS_BY_PAGE_STATUS = {"archived": "retired", "draft": "draft"}
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def confluence_scope(settings: Mapping[str, Any]) -> str:
    """The evidence scope of one Confluence source: ``confluence:<host>/<space key>``."""
    return f"confluence:{urlsplit(str(settings['base_url'])).netloc}/{settings['space']}"


def collect_confluence(settings: Mapping[str, Any], request: CollectRequest) -> Iterator[Evidence]:
    """Pages of one space; raises ``CollectorError`` when the space cannot be read."""
    api = _Api(settings)
    space = str(settings["space"])
    found = list(api.pages(f"{API}/spaces", {"keys": space, "limit": 1}))
    if not found:
        raise CollectorError(f"{api.scope}: no space with key {space!r} is visible to this token")
    space_id = str(found[0]["id"])
    wanted = set(settings.get("labels") or ())
    prefix = str(settings.get("type_label_prefix", "doctype-"))
    params = {
        "body-format": "storage",
        "status": ["current", "archived"],
        "limit": settings.get("page_size", 250),
    }

    def details(page: Mapping[str, Any]) -> tuple[list[str], list[Mapping[str, Any]] | None]:
        page_id = str(page["id"])
        labels = [str(label["name"]) for label in api.pages(f"{API}/pages/{page_id}/labels", {"limit": 250})]
        if wanted and not wanted & set(labels):
            return labels, None
        return labels, list(api.pages(f"{API}/pages/{page_id}/properties", {"limit": 250}))

    # Labels and properties cost two requests per page: fetch them for a batch of pages at once, in
    # page order, so a large space is not read one round trip at a time.
    listing = api.pages(f"{API}/spaces/{space_id}/pages", params)
    pool = ThreadPoolExecutor(
        max_workers=int(settings.get("max_workers", 8)), thread_name_prefix="confluence"
    )
    try:
        while batch := list(itertools.islice(listing, int(settings.get("page_size", 250)))):
            for page, (labels, properties) in zip(batch, pool.map(details, batch), strict=True):
                item = (
                    None
                    if properties is None
                    else _document(api, space, page, labels, properties, prefix, request)
                )
                if item is not None:
                    yield item
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _document(
    api: _Api,
    space: str,
    page: Mapping[str, Any],
    labels: list[str],
    properties: list[Mapping[str, Any]],
    prefix: str,
    request: CollectRequest,
) -> Evidence | None:
    page_id = str(page["id"])
    rel = f"{space}/{page_id}"
    source = f"{api.site}/spaces/{space}/pages/{page_id}"
    storage = str(((page.get("body") or {}).get("storage") or {}).get("value") or "")
    body = _StorageReader()
    body.feed(storage)
    body.close()
    # The body is read as blocks, not rewritten as Markdown: a paragraph that starts with ``` or ---
    # is text, never a code fence or front matter that would swallow the rest of the page.
    parsed = structured({}, body.blocks())
    naming = Naming.from_config(request.config)
    fields: dict[str, RawField] = {"title": RawField(value=page.get("title"), origin="page title")}
    content: dict[str, RawField] = {}
    for prop in properties:
        key = str(prop["key"])
        origin = f"content property {key!r}"
        add_field(
            content, naming.key(key, "property"), RawField(value=prop.get("value"), origin=origin, name=key)
        )
    rows: dict[str, RawField] = {}
    for name, value in body.properties.items():
        raw = RawField(value=value, origin=f"Page Properties row {name!r}", text=value, name=name)
        add_field(rows, naming.key(name, "label"), raw)
    fields.update(content)
    fields.update(rows)
    if "type" not in fields:
        doc_type = _type_from_labels(labels, prefix)
        if doc_type is not None:
            fields["type"] = RawField(value=doc_type, origin="page labels")
    page_status = str(page.get("status") or "")
    if "status" not in fields and page_status in _STATUS_BY_PAGE_STATUS:
        fields["status"] = RawField(
            value=_STATUS_BY_PAGE_STATUS[page_status], origin=f"page status {page_status}"
        )
    fields["labels"] = RawField(value=labels, origin="page labels")
    fields["confluence_status"] = RawField(value=page_status, origin="page status")

    def report(message: str) -> None:
        request.report_problem(source, f"{rel}: {message}")

    payload = storage.encode("utf-8")
    data = document_data(
        parsed=parsed, fields=fields, rel=rel, fmt="confluence", payload=payload, store="confluence",
        fallback_title=str(page.get("title") or page_id), report=report, naming=naming,
    )  # fmt: skip
    version = page.get("version") or {}
    number = version.get("number")
    webui = (page.get("_links") or {}).get("webui")
    revisions: dict[str, JSONValue] = {
        "retained": True,  # Confluence keeps every version of a page
        "count": number if isinstance(number, int) and number >= 1 else None,
        "current_version": None if number is None else str(number),
        "last_changed_at": _timestamp(version.get("createdAt")),
        "last_changed_by": version.get("authorId"),
    }
    data.update(uri=f"{api.site}{webui}" if webui else source, revisions=revisions)
    return Evidence(
        kind=KIND,
        source=source,
        scope={"store": api.scope},
        collector=COLLECTOR,
        collected_at=request.now,
        data=data,
    )


def _type_from_labels(labels: list[str], prefix: str) -> str | None:
    tagged = [
        label[len(prefix) :] for label in labels if prefix and label.startswith(prefix) and label != prefix
    ]
    if tagged:
        return tagged[0]
    return labels[0] if len(labels) == 1 else None


def _timestamp(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Api:
    """GET JSON from Confluence: auth from the environment, timeouts, retries, cursor paging."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.base = str(settings["base_url"]).rstrip("/")
        self.site = f"{self.base}/wiki"
        self.scope = confluence_scope(settings)
        self.timeout = float(settings.get("timeout_seconds", 30))
        self.retries = int(settings.get("retries", 4))
        token_env = str(settings["token_env"])
        token = os.environ.get(token_env)
        if not token:
            raise CollectorError(
                f"{self.scope}: environment variable {token_env} (token_env) is not set",
                hint="export the Confluence API token in that variable; the configuration names it only",
            )
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        # Retries are urllib3's (annexa.plugins.HttpRetry): backoff with jitter, Retry-After honoured.
        self.retry = HttpRetry.policy(
            retries=self.retries,
            backoff_seconds=float(settings.get("backoff_seconds", 0.5)),
            max_wait_seconds=float(settings.get("max_retry_wait_seconds", 60)),
            statuses=_RETRY_STATUSES,
        )
        self.session.mount("https://", HTTPAdapter(max_retries=self.retry))
        self.session.mount("http://", HTTPAdapter(max_retries=self.retry))
        email_env = settings.get("email_env")
        if email_env:
            email = os.environ.get(str(email_env))
            if not email:
                raise CollectorError(f"{self.scope}: environment variable {email_env} (email_env) is not set")
            self.session.auth = (email, token)
        else:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def pages(self, path: str, params: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        """Every result of a cursor-paged list, following ``_links.next``."""
        url: str | None = f"{self.base}{path}"
        query: Mapping[str, Any] | None = params
        seen: set[str] = set()
        while url is not None:
            body = self._get(url, query)
            results = body.get("results")
            if not isinstance(results, list):
                raise CollectorError(f"{self.scope}: {path} answered without a results list")
            yield from (item for item in results if isinstance(item, dict))
            following = (body.get("_links") or {}).get("next")
            if not following:
                return
            url = following if following.startswith("http") else f"{self.base}{following}"
            if not url.startswith(f"{self.base}/"):
                raise CollectorError(f"{self.scope}: {path} paged to another site ({urlsplit(url).netloc})")
            if url in seen:
                raise CollectorError(f"{self.scope}: {path} paging repeats a cursor; stopped")
            seen.add(url)
            query = None  # the next link carries the query

    def _get(self, url: str, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        import requests

        where = urlsplit(url).path
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise CollectorError(f"{self.scope}: GET {where} failed: {type(exc).__name__}") from exc
        if response.status_code in (401, 403):
            raise CollectorError(
                f"{self.scope}: GET {where} was refused (HTTP {response.status_code})",
                hint="check the token (and email) in the configured variables, and the space permission",
            )
        if response.status_code == 404:
            raise CollectorError(f"{self.scope}: GET {where} not found (HTTP 404)")
        if response.status_code >= 400:
            raise CollectorError(
                f"{self.scope}: GET {where} failed with HTTP {response.status_code} "
                f"after {HttpRetry.attempts(response.raw)} attempts"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise CollectorError(
                f"{self.scope}: GET {where} answered with something that is not JSON"
            ) from exc
        if not isinstance(body, dict):
            raise CollectorError(f"{self.scope}: GET {where} answered with JSON that is not an object")
        return body


class _StorageReader(HTMLParser):
    """Confluence storage format (XHTML with ``ac:`` macros) to headings, text and page properties."""

    _BLOCKS = frozenset({"p", "li", "tr", "br", "div", "pre", "blockquote", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[TextBlock] = []
        self.current: list[str] = []
        self.properties: dict[str, str] = {}
        self._heading: int | None = None
        self._details = 0  # depth inside a Page Properties macro
        self._placeholder = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "ac:structured-macro":
            if values.get("ac:name") == "details" or self._details:
                self._details += 1
        elif tag == "ac:placeholder":
            self._placeholder += 1  # instructional template text, never content
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._flush()
            self._heading = int(tag[1])
        elif tag == "time" and values.get("datetime"):
            self._text(str(values["datetime"]))
        elif self._details and tag == "tr":
            self._row = []
        elif self._details and tag in ("th", "td"):
            self._cell = []
        elif tag in self._BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "ac:structured-macro":
            self._details = max(0, self._details - 1)
        elif tag == "ac:placeholder":
            self._placeholder = max(0, self._placeholder - 1)
        elif self._heading is not None and tag == f"h{self._heading}":
            text = " ".join("".join(self.current).split())
            self.lines.append(TextBlock(self._heading, text))
            self.current = []
            self._heading = None
        elif self._details and tag in ("th", "td") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif self._details and tag == "tr" and self._row is not None:
            if len(self._row) >= 2 and self._row[0]:
                self.properties[self._row[0]] = self._row[1]
            self._row = None
        elif tag in self._BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        self._text(data)

    def _text(self, data: str) -> None:
        if self._placeholder:
            return
        if self._details:
            if self._cell is not None:
                self._cell.append(data)
            return
        self.current.append(data)

    def _flush(self) -> None:
        if self._heading is None:
            text = " ".join("".join(self.current).split())
            if text:
                self.lines.append(TextBlock(0, text))
            self.current = []

    def blocks(self) -> list[TextBlock]:
        self._flush()
        return self.lines
