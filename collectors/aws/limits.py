"""How many AWS API calls are in flight at once, and how often AWS said "slow down".

A scan of many accounts runs one collection task per account, each with its own pool of ``max_workers``
threads: without a common bound, 8 accounts x 16 threads made 128 concurrent calls, and a service's
account-wide or regional rate limit answered with throttling. Two bounds hold for every task of a scan in
one process (the local executor, or one Dask worker process): ``max_concurrent_calls`` in all and
``max_concurrent_calls_per_service`` to any one service (signing name: s3, iam, sagemaker, ...). A call
holds a place for its whole duration, botocore's retries and their back-off included, so a throttled
service is given room rather than more calls. On a Dask worker the same two bounds are also held across
the cluster, by ``distributed.Semaphore`` leases named after the scan, so the tasks of one scan on
several workers share them too (each lease is a round trip to the scheduler, small beside an AWS call).

:class:`CallFigures` counts, per collection task, the API calls made and the throttling answers seen
(every attempt, retried or final), which the collector reports as the scan's figures.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

DEFAULT_MAX_CALLS: Final = 32
DEFAULT_MAX_CALLS_PER_SERVICE: Final = 16

# Error codes AWS services use for throttling (botocore's list in botocore.retries.standard, plus S3's).
THROTTLE_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)

_LIMITS_ATTRIBUTE: Final = "_annexa_call_limits"


class CallLimits:
    """The two bounds of one scan in this process, shared by all its tasks' threads; with ``cluster``
    (the scheduler connection and event loop of the Dask worker running the task), across the cluster."""

    def __init__(
        self, total: int, per_service: int, *, cluster: tuple[Any, Any] | None = None, name: str = ""
    ) -> None:
        self.total = total
        self.per_service = per_service
        self._all = threading.BoundedSemaphore(total)
        self._services: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self._cluster = cluster
        self._name = name or f"annexa-aws-calls/{id(self)}"
        self._leases: dict[str, Any] = {}  # "" for the scan's bound, else a service: distributed.Semaphore

    def _lease(self, service: str) -> Any:
        """The cluster-wide semaphore of ``service`` ("" for the scan's), made on first use."""
        from distributed import Semaphore

        assert self._cluster is not None
        with self._lock:
            semaphore = self._leases.get(service)
            if semaphore is None:
                scheduler, loop = self._cluster
                semaphore = self._leases[service] = Semaphore(  # type: ignore[no-untyped-call]
                    max_leases=self.per_service if service else self.total,
                    name=f"{self._name}/{service or '*'}",
                    scheduler_rpc=scheduler,
                    loop=loop,
                )
            return semaphore

    @contextmanager
    def _cluster_slot(self, service: str) -> Iterator[None]:
        if self._cluster is None:
            yield
            return
        with self._lease(service), self._lease(""):
            yield

    @contextmanager
    def slot(self, service: str) -> Iterator[None]:
        """Hold one place in ``service``'s bound and one in the scan's for the duration of a call.

        The service's place is taken first: a call waiting for a busy service must not hold one of the
        scan's places that a call to another service could use. Always the same order, so no deadlock.
        """
        with self._lock:
            own = self._services.get(service)
            if own is None:
                own = self._services[service] = threading.BoundedSemaphore(self.per_service)
        with own, self._all, self._cluster_slot(service):
            with self._lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            try:
                yield
            finally:
                with self._lock:
                    self.active -= 1


_SHARED: dict[tuple[str, int, int], tuple[CallLimits, int]] = {}  # key -> (bounds, tasks using them)
_SHARED_LOCK = threading.Lock()


@contextmanager
def shared_limits(settings: Mapping[str, Any], now: datetime) -> Iterator[CallLimits]:
    """The bounds of the scan whose clock is ``now``, shared by all its tasks running in this process.

    Kept while a task uses them and dropped after the last: a later scan (even with the same clock and
    bounds) starts afresh, and a long-lived Dask worker keeps nothing.
    """
    total = int(settings.get("max_concurrent_calls", DEFAULT_MAX_CALLS))
    per_service = min(
        total, int(settings.get("max_concurrent_calls_per_service", DEFAULT_MAX_CALLS_PER_SERVICE))
    )
    key = (now.isoformat(), total, per_service)
    with _SHARED_LOCK:
        limits, users = _SHARED.get(key) or (
            CallLimits(
                total, per_service, cluster=_dask_worker(), name="annexa-aws-calls/{}/{}/{}".format(*key)
            ),
            0,
        )
        _SHARED[key] = (limits, users + 1)
    try:
        yield limits
    finally:
        with _SHARED_LOCK:
            limits, users = _SHARED[key]
            if users == 1:
                del _SHARED[key]
            else:
                _SHARED[key] = (limits, users - 1)


def _dask_worker() -> tuple[Any, Any] | None:
    """(scheduler connection, event loop) of the Dask worker running this task; None outside one."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None
    return worker.scheduler, worker.loop


class CallFigures:
    """API calls and throttling answers of one collection task, by service; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()

    def called(self, service: str) -> None:
        with self._lock:
            self.calls[service] += 1

    def was_throttled(self, service: str) -> None:
        with self._lock:
            self.throttled[service] += 1

    def figures(self, limits: CallLimits) -> dict[str, int]:
        """The names and counts the collector reports: ``api_calls``, ``throttled``, ``throttled.<service>``
        for each service that throttled, and the bounds with the most calls seen in flight at once."""
        with self._lock:
            found = {
                "api_calls": sum(self.calls.values()),
                "throttled": sum(self.throttled.values()),
                **{f"throttled.{service}": n for service, n in sorted(self.throttled.items()) if n},
            }
        found["max_concurrent_calls"] = limits.total
        found["max_concurrent_calls_per_service"] = limits.per_service
        found["peak_concurrent_calls"] = limits.peak
        return found


def watch(client: Any, limits: CallLimits, figures: CallFigures) -> None:
    """Bind ``client`` to the scan's bounds and count its calls and throttling answers."""
    service = str(client.meta.service_model.signing_name)
    setattr(client, _LIMITS_ATTRIBUTE, limits)

    def before_call(**_: Any) -> None:
        figures.called(service)

    def needs_retry(response: Any = None, **_: Any) -> None:
        # Emitted after every attempt, the last one included; ``response`` is (HTTP response, parsed).
        if not response:
            return
        http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, Mapping) else None
        if code in THROTTLE_CODES or getattr(http, "status_code", None) == 429:
            figures.was_throttled(service)

    client.meta.events.register("before-call", before_call)
    client.meta.events.register("needs-retry", needs_retry)


@contextmanager
def call_slot(client: Any) -> Iterator[None]:
    """A place for one call of ``client`` within its scan's bounds (no bound for a client not watched)."""
    limits: CallLimits | None = getattr(client, _LIMITS_ATTRIBUTE, None)
    if limits is None:
        yield
        return
    with limits.slot(str(client.meta.service_model.signing_name)):
        yield
