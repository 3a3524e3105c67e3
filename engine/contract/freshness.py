"""Evidence freshness: how old each evidence item is, how old it may be, and whether it has expired.

Age is measured from the date the evidence itself asserts, when its kind has one, else from the time it
was collected:

- a ``document``: its ``last_reviewed``, else its ``approved_on`` (the catalog's current-document rule). A
  document re-read today whose content was approved three years ago is three years old. A document with
  neither date has no age that can be determined: it is never fresh (unknown), and it is never reported
  as stale either (its missing dates are the rules' business);
- an ``attestation``: its ``attested_on``; an attestation past its own ``expires`` date has *expired*,
  whatever its age;
- a ``model_card`` or ``dataset_card``: its ``last_reviewed``, else its last commit (``git.last_commit_at``);
- every other kind (AWS resources, MLflow registry items, the declared scope): the time it was collected,
  since what it shows is the state of the thing at that moment.

Each kind, and each document type, has a maximum age: the ``freshness`` block of annexa.yaml, else the
catalog's review interval (``conventions.defaults.review_interval_days``, 365 days) for the kinds people
review (documents, attestations, cards), else none: the catalog states no review period for machine
evidence, so without a configured limit it never goes stale. A document's own ``review_interval_days``
may shorten its limit, never lengthen it: evidence must not declare itself fresh.

Pure: no I/O and no clock; ``now`` is always passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from annexa.model.evidence import Evidence, format_timestamp
from annexa.model.observations import Observation

# The catalog's conventions.defaults.review_interval_days (../shared/reference/annex_a_catalog.yaml).
CATALOG_REVIEW_INTERVAL = timedelta(days=365)
# The kinds people review, to which the catalog's review interval applies by default.
REVIEWED_KINDS = ("document", "attestation", "model_card", "dataset_card")
DOCUMENT_KIND = "document"
ATTESTATION_KIND = "attestation"
COLLECTED_AT = "collected_at"
# Kind -> the fields (paths) whose date the evidence asserts, first found wins.
DATE_FIELDS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "document": (("last_reviewed",), ("approved_on",)),
    "attestation": (("attested_on",),),
    "model_card": (("last_reviewed",), ("git", "last_commit_at")),
    "dataset_card": (("last_reviewed",), ("git", "last_commit_at")),
}
STALE = "stale_evidence"
EXPIRED = "expired_attestation"
CODES = (STALE, EXPIRED)

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(w|d|h|m|s)$")  # as the rule language writes durations
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
DURATION_PATTERN = _DURATION.pattern


class DurationError(ValueError):
    """Not a duration such as ``365d``."""


def parse_duration(text: str) -> timedelta:
    """``365d``, ``12w``, ``36h``: a number and one of the units w, d, h, m, s, as in the rule language."""
    found = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise DurationError(
            f"{text!r} is not a duration: write a number and a unit (w, d, h, m, s), e.g. 365d"
        )
    return timedelta(**{_UNITS[found.group(2)]: float(found.group(1))})


def render_duration(value: timedelta) -> str:
    """``400d``, ``36h``: whole days when it is a whole number of days."""
    seconds = int(value.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds}s"


@dataclass(frozen=True, slots=True, kw_only=True)
class FreshnessLimits:
    """The maximum age per evidence kind and per document type (``freshness`` in annexa.yaml)."""

    kinds: Mapping[str, timedelta] = field(default_factory=dict)
    document_types: Mapping[str, timedelta] = field(default_factory=dict)

    def limit_for(self, item: Evidence) -> timedelta | None:
        """The item's maximum age: its document type's, else its kind's, else the catalog's review
        interval for a reviewed kind, else None (no limit). A document's own review_interval_days only
        ever shortens it."""
        limit = self.configured_limit(item)
        own = own_interval(item)
        if own is not None:
            limit = own if limit is None else min(limit, own)
        return limit

    def configured_limit(self, item: Evidence) -> timedelta | None:
        """:meth:`limit_for` without the document's own review_interval_days."""
        limit: timedelta | None = None
        if item.kind == DOCUMENT_KIND:
            doc_type = item.data.get("type")
            if isinstance(doc_type, str):
                limit = self.document_types.get(doc_type)
        if limit is None:
            limit = self.kinds.get(item.kind)
        if limit is None and item.kind in REVIEWED_KINDS:
            limit = CATALOG_REVIEW_INTERVAL
        return limit

    def to_dict(self) -> dict[str, Any]:
        return {
            "kinds": {kind: render_duration(value) for kind, value in sorted(self.kinds.items())},
            "document_types": {
                name: render_duration(value) for name, value in sorted(self.document_types.items())
            },
        }


DEFAULT_LIMITS = FreshnessLimits()


def limits_from_config(block: Mapping[str, Any] | None) -> FreshnessLimits:
    """The ``freshness`` block of annexa.yaml (already validated by its schema) as limits.

    :raises DurationError: a value that is not a duration (the schema says so first, with file and line).
    """
    if not block:
        return DEFAULT_LIMITS
    return FreshnessLimits(
        kinds={kind: parse_duration(str(value)) for kind, value in (block.get("kinds") or {}).items()},
        document_types={
            name: parse_duration(str(value)) for name, value in (block.get("document_types") or {}).items()
        },
    )


def _moment(value: Any) -> datetime | None:
    """A date or date-time as the evidence writes it, in UTC; None when absent or unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        return None
    # The items of an estate share a few dates (review cycles, approval days): each text parsed once.
    if value in _MOMENTS:
        return _MOMENTS[value]
    moment = _parse_moment(value)
    if len(_MOMENTS) >= 4096:
        _MOMENTS.clear()
    _MOMENTS[value] = moment
    return moment


_MOMENTS: dict[str, datetime | None] = {}


def _parse_moment(value: str) -> datetime | None:
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _path(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def evidence_date(item: Evidence) -> tuple[str, datetime | None]:
    """The field the item's age is measured from (dotted) and its moment; for a kind that asserts no
    date, ``collected_at``. A kind with date fields but none given (or none readable) gives None."""
    paths = DATE_FIELDS.get(item.kind)
    if paths is None:
        return COLLECTED_AT, item.collected_at
    for path in paths:
        moment = _moment(_path(item.data, path))
        if moment is not None:
            return ".".join(path), moment
    return ".".join(paths[0]), None


def expiry(item: Evidence) -> date | None:
    """An attestation's own ``expires`` date (None for other kinds, or when it has none)."""
    if item.kind != ATTESTATION_KIND:
        return None
    moment = _moment(item.data.get("expires"))
    return None if moment is None else moment.date()


@dataclass(frozen=True, slots=True, kw_only=True)
class Freshness:
    """How one item stands: its age (None when it cannot be determined), its limit, its expiry."""

    basis: str  # the field its age is measured from, or collected_at
    dated: datetime | None
    age: timedelta | None
    limit: timedelta | None
    expires: date | None
    expired: bool

    @property
    def stale(self) -> bool:
        return self.age is not None and self.limit is not None and self.age > self.limit

    @property
    def fresh(self) -> bool | None:
        """False when expired or older than its limit; None when its age cannot be determined; else True."""
        if self.expired:
            return False
        if self.age is None:
            return None
        return not self.stale


def assess(item: Evidence, limits: FreshnessLimits, now: datetime) -> Freshness:
    basis, dated = evidence_date(item)
    expires = expiry(item)
    return Freshness(
        basis=basis,
        dated=dated,
        age=None if dated is None else now - dated,
        limit=limits.limit_for(item),
        expires=expires,
        expired=expires is not None and now.date() > expires,  # valid up to and including its expiry day
    )


def staleness_fields() -> frozenset[str]:
    """The top-level data fields :func:`stale_evidence` reads: the date fields, a document's ``type`` and
    ``review_interval_days``, an attestation's ``expires``. A reader that keeps only some fields of each
    item (annexa evaluate --evidence) keeps these."""
    dated = {path[0] for paths in DATE_FIELDS.values() for path in paths}
    return frozenset({"type", "review_interval_days", "expires", *dated})


def stale_evidence(
    items: Iterable[Evidence], limits: FreshnessLimits, now: datetime
) -> tuple[Observation, ...]:
    """An observation for each item older than its limit, and for each attestation past its expiry.

    Defective items are left out (they fail every rule reading their kind already), and so are items
    whose age cannot be determined.
    """
    found = []
    for item in items:
        if item.defect is not None:
            continue
        if item.kind not in DATE_FIELDS and item.kind not in limits.kinds:
            continue  # no date of its own and no limit: it cannot be stale (most machine evidence)
        if item.kind != ATTESTATION_KIND and not _older_than_limit(item, limits, now):
            continue  # most items: no expiry of their own and fresh, told without assessing them
        state = assess(item, limits, now)
        if not state.expired and not state.stale:
            continue  # most items: nothing to word
        what = f"{item.kind} {item.source}"
        if item.kind == DOCUMENT_KIND and isinstance(item.data.get("type"), str):
            what = f"{item.data['type']} {item.source}"
        details: dict[str, Any] = {"basis": state.basis}
        if state.dated is not None:
            details["dated"] = format_timestamp(state.dated)
        if state.age is not None:
            details["age_days"] = state.age.days
        if state.limit is not None:
            details["limit"] = render_duration(state.limit)
        if state.expired:
            assert state.expires is not None
            details["expires"] = state.expires.isoformat()
            found.append(
                Observation(
                    code=EXPIRED,
                    message=f"{what} expired on {state.expires.isoformat()} "
                    f"({(now.date() - state.expires).days} day(s) ago): renew the attestation or remove it",
                    evidence=item.ref(),
                    details=details,
                )
            )
        elif state.stale:
            assert state.age is not None
            assert state.limit is not None
            found.append(
                Observation(
                    code=STALE,
                    message=f"{what} is stale: {state.age.days} day(s) old by its {state.basis}, "
                    f"beyond the {render_duration(state.limit)} limit for "
                    f"{_limit_subject(item, limits)}: review or re-collect it",
                    evidence=item.ref(),
                    details=details,
                )
            )
    return tuple(sorted(found, key=lambda o: (o.code, o.evidence.source, o.evidence.id)))


def _older_than_limit(item: Evidence, limits: FreshnessLimits, now: datetime) -> bool:
    """:attr:`Freshness.stale` of :func:`assess`, without the rest of it."""
    limit = limits.limit_for(item)
    if limit is None:
        return False
    dated = evidence_date(item)[1]
    return dated is not None and now - dated > limit


def own_interval(item: Evidence) -> timedelta | None:
    """A document's own ``review_interval_days`` as a duration (None when not a non-negative number)."""
    own = item.data.get("review_interval_days") if item.kind == DOCUMENT_KIND else None
    if isinstance(own, int | float) and not isinstance(own, bool) and own >= 0:
        return timedelta(days=own)
    return None


def _limit_subject(item: Evidence, limits: FreshnessLimits) -> str:
    own = own_interval(item)
    configured = limits.configured_limit(item)
    if own is not None and (configured is None or own < configured):
        return "its own review_interval_days"
    doc_type = item.data.get("type") if item.kind == DOCUMENT_KIND else None
    if isinstance(doc_type, str) and doc_type in limits.document_types:
        return f"document type {doc_type}"
    return f"kind {item.kind}"
