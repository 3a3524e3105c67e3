"""HTTP client for the MLflow REST API 2.0: authentication, retries with backoff, pagination, errors.

Retries are urllib3's ``Retry`` mounted on the session (``HTTPAdapter(max_retries=...)``), not a loop of
our own: it retries connection failures, read timeouts and the answers in :data:`RETRY_STATUSES` for GET
only, backs off exponentially with jitter, honours ``Retry-After`` (seconds or an HTTP date, which the
old loop could not read) and keeps a history of what it retried, from which the attempts are counted.

Every request carries ``Connection: close``: against MLflow's uvicorn server a keep-alive connection costs
40-50 ms per request (Nagle and delayed ACK), a fresh one about 14 ms (test-services.md). Credentials come
from environment variables the configuration names; they are sent as headers and never appear in a
message, because every message is built from the method, the path and the server's answer only.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from annexa.plugins import CollectorError, HttpRetry

API_PREFIX = "/api/2.0/mlflow"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_BODY_EXCERPT = 120


class RegistryNotFoundError(CollectorError):
    """The registry answered 404 RESOURCE_DOES_NOT_EXIST for one resource (a deleted run, say)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    retries: int = 4  # attempts after the first
    backoff_seconds: float = 0.5  # backoff factor: waits of 0, 2x, 4x, 8x ... this, plus jitter up to it
    max_wait_seconds: float = 60.0  # cap on one wait, Retry-After included

    def retry(self) -> HttpRetry:
        """The urllib3 ``Retry`` for this policy (GET only, :data:`RETRY_STATUSES`)."""
        return HttpRetry.policy(
            retries=self.retries,
            backoff_seconds=self.backoff_seconds,
            max_wait_seconds=self.max_wait_seconds,
            statuses=RETRY_STATUSES,
        )


def auth_headers(config: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """The Authorization header from the variables that ``token_env`` or ``username_env``/``password_env``
    name; a named variable that is unset or empty is an error, not a silent anonymous request."""

    def read(key: str) -> str:
        name = str(config[key])
        value = environ.get(name, "")
        if not value:
            raise CollectorError(
                f"environment variable {name} (named by collectors.mlflow.{key}) is not set",
                hint=f"export {name}=... before running annexa; annexa never reads secrets from annexa.yaml",
            )
        return value

    if "token_env" in config:
        return {"Authorization": f"Bearer {read('token_env')}"}
    if "username_env" in config:
        pair = f"{read('username_env')}:{read('password_env')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return {}


def api_base(tracking_uri: str) -> str:
    """``tracking_uri`` + ``/api/2.0/mlflow``; refuses credentials embedded in the URL."""
    parts = urlsplit(tracking_uri)
    if parts.username or parts.password:
        raise CollectorError(
            "collectors.mlflow.tracking_uri embeds credentials",
            hint="remove user:password@ from the URL and use token_env or username_env/password_env",
        )
    return tracking_uri.rstrip("/") + API_PREFIX


class RegistryClient:
    """GET requests against one registry; thread-safe (one requests.Session per thread)."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Connection": "close", "Accept": "application/json", **(headers or {})}
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = 0

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._requests

    @property
    def retries_made(self) -> int:
        return self._retries

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self._headers)
            session.trust_env = False  # no .netrc or proxy settings overriding the configured credentials
            adapter = HTTPAdapter(max_retries=self._retry.retry())
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        """GET ``path`` (below /api/2.0/mlflow) and return the JSON object it answers.

        Retries connection failures, timeouts, 429 and 5xx; raises RegistryNotFoundError on 404
        RESOURCE_DOES_NOT_EXIST and CollectorError on anything else that is not a JSON object.
        """
        what = f"GET {path}"
        try:
            answer = self._session().get(self.base_url + path, params=params, timeout=self._timeout)
        except requests.RequestException as exc:
            # urllib3 wraps the last failure in MaxRetryError once the retries ran out.
            tries = self._retry.retries + 1 if HttpRetry.ran_out(exc) else 1
            self._count(tries)
            raise self._unavailable(f"{what} failed: {_transport_reason(exc)}", tries) from exc
        tries = HttpRetry.attempts(answer.raw)
        self._count(tries)
        if answer.status_code in RETRY_STATUSES:
            raise self._unavailable(
                f"{what} answered HTTP {answer.status_code}{_error_detail(answer)}", tries
            )
        return _decode(answer, what, self.base_url)

    def _count(self, tries: int) -> None:
        with self._lock:
            self._requests += tries
            self._retries += tries - 1

    def _unavailable(self, failure: str, tries: int) -> CollectorError:
        return CollectorError(
            f"MLflow registry {self.base_url} is unavailable: {failure} "
            f"({tries} attempt{'s' if tries > 1 else ''})",
            hint="check that the tracking server is up and tracking_uri is right; "
            "raise retries or timeout_seconds for a slow server",
        )

    def pages(
        self, path: str, items_key: str, params: Mapping[str, str | int] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paged search, following ``next_page_token`` until the registry stops giving one."""
        query: dict[str, str | int] = dict(params or {})
        seen_tokens: set[str] = set()
        while True:
            page = self.get(path, query)
            items = page.get(items_key, [])
            if not isinstance(items, list):
                raise CollectorError(f"GET {path}: {items_key!r} is not a list in the registry's answer")
            for item in items:
                if not isinstance(item, dict):
                    raise CollectorError(f"GET {path}: an entry of {items_key!r} is not a JSON object")
                yield item
            token = page.get("next_page_token")
            if not token:
                return
            if not isinstance(token, str) or token in seen_tokens:
                # A server that hands back the same token would otherwise be paged forever.
                raise CollectorError(f"GET {path}: the registry repeated page token {str(token)[:40]!r}")
            seen_tokens.add(token)
            query["page_token"] = token


def _decode(answer: requests.Response, what: str, base_url: str) -> dict[str, Any]:
    status = answer.status_code
    if status in (401, 403):
        raise CollectorError(
            f"MLflow registry {base_url} refused access: "
            f"{what} answered HTTP {status}{_error_detail(answer)}",
            hint="check the token or user that token_env / username_env name, and its registry permissions",
        )
    if status == 404:
        body = _json_or_none(answer)
        if isinstance(body, dict) and body.get("error_code") == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryNotFoundError(f"{what}: {body.get('message', 'not found')}")
        raise CollectorError(
            f"{base_url} has no MLflow REST API: {what} answered HTTP 404",
            hint="tracking_uri is the server's base URL, without /api/2.0/mlflow",
        )
    if status >= 400:
        raise CollectorError(f"{what} answered HTTP {status}{_error_detail(answer)}")
    body = _json_or_none(answer)
    if not isinstance(body, dict):
        shown = answer.text[:_BODY_EXCERPT]
        raise CollectorError(
            f"{what} answered HTTP {status} with a body that is not a JSON object "
            f"({answer.headers.get('Content-Type', 'no content type')}): {shown!r}",
            hint="is tracking_uri an MLflow tracking server? a proxy or login page may be answering instead",
        )
    return body


def _json_or_none(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except (ValueError, json.JSONDecodeError):
        return None


def _error_detail(answer: requests.Response) -> str:
    body = _json_or_none(answer)
    if isinstance(body, dict) and ("error_code" in body or "message" in body):
        return f" {body.get('error_code', '')}: {str(body.get('message', ''))[:_BODY_EXCERPT]}".rstrip(": ")
    return ""


def _transport_reason(exc: requests.RequestException) -> str:
    cause = HttpRetry.cause(exc)
    # urllib3's NewConnectionError (refused) subclasses its ConnectTimeoutError: it is not a timeout.
    timed_out = isinstance(cause, Urllib3Timeout) and not isinstance(cause, NewConnectionError)
    if isinstance(exc, requests.Timeout) or timed_out:
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed (nothing listening, or the connection was dropped)"
    return type(exc).__name__
