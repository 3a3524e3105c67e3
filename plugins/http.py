"""HTTP retries for collectors that call a REST API: urllib3's ``Retry``, for a requests ``HTTPAdapter``.

A collector mounts it on its session once and every request is retried the same way::

    session = requests.Session()
    adapter = HTTPAdapter(max_retries=HttpRetry.policy(retries=4, backoff_seconds=0.5, max_wait_seconds=60))
    session.mount("https://", adapter)

urllib3 retries connection failures, read timeouts and the given statuses for idempotent methods, backs
off exponentially with jitter, and honours ``Retry-After`` in both of its forms (seconds or an HTTP date).
The answer of the last attempt is returned rather than raised, so the collector can word its error from
the status and body; :meth:`HttpRetry.attempts` tells it how many attempts that answer took.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.response import BaseHTTPResponse
from urllib3.util import Retry

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HttpRetry(Retry):
    """urllib3's ``Retry`` with two promises kept that it does not make itself: a server's ``Retry-After``
    is capped like every other wait (``backoff_max``), and one that cannot be read falls back to the
    backoff instead of failing the request."""

    @classmethod
    def policy(
        cls,
        *,
        retries: int,
        backoff_seconds: float,
        max_wait_seconds: float,
        statuses: Collection[int] = RETRY_STATUSES,
        methods: Collection[str] = ("GET",),
    ) -> HttpRetry:
        """``retries`` attempts after the first; waits of 0, 2, 4, 8 ... times ``backoff_seconds`` plus
        up to ``backoff_seconds`` of jitter (so concurrent workers do not retry in step), each capped at
        ``max_wait_seconds`` like a server's ``Retry-After``."""
        return cls(
            total=retries,
            backoff_factor=backoff_seconds,
            backoff_jitter=backoff_seconds,
            backoff_max=max_wait_seconds,
            status_forcelist=frozenset(statuses),
            allowed_methods=frozenset(methods),
            raise_on_status=False,
        )

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        try:
            seconds = super().get_retry_after(response)
        except InvalidHeader:
            return None
        return None if seconds is None else min(seconds, self.backoff_max)

    @staticmethod
    def attempts(raw: Any) -> int:
        """How many attempts an answer took (pass ``response.raw``): one, plus the retries urllib3 made."""
        retried = getattr(raw, "retries", None)
        return 1 + (len(retried.history) if isinstance(retried, Retry) else 0)

    @staticmethod
    def ran_out(exc: BaseException) -> bool:
        """The request failed after every retry: requests wraps urllib3's ``MaxRetryError`` in its error."""
        return bool(exc.args) and isinstance(exc.args[0], MaxRetryError)

    @staticmethod
    def cause(exc: BaseException) -> BaseException:
        """The failure behind the last attempt (a refused connection, a read timeout, a reset)."""
        if HttpRetry.ran_out(exc) and exc.args[0].reason is not None:
            return exc.args[0].reason  # type: ignore[no-any-return]  # MaxRetryError.reason is an Exception
        return exc
