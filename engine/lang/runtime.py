"""Helpers that compiled rules call at run time.

Conditions are three-valued: True, False, or None when a field they read is missing (null). A rule
passes only on True, so missing evidence never passes. Helpers only ever index mappings and lists:
nothing here reaches attributes of Python objects, so a rule cannot get at anything but evidence data.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import regex

from annexa.model.diagnostics import Span

MAX_MATCH_INPUT = 100_000  # characters; bounds the work a `matches` can do on hostile evidence
MAX_CLOCK_SKEW = timedelta(days=1)  # how far past the scan's clock an age() argument may lie
MATCH_TIMEOUT = 0.5  # seconds one `matches` may take before it becomes an error finding
MAX_EVIDENCE_PER_FINDING = 50


class RuleFault(Exception):
    """A run-time type clash or bad value inside a rule; becomes an ``error`` finding."""

    def __init__(self, message: str, span: Span | None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


def get(value: Any, keys: tuple[str | int, ...]) -> Any:
    for key in keys:
        # The hottest line of evaluation: evidence data is plain dicts, and an exact type test costs a
        # fraction of the ABC isinstance check that other mappings still get.
        if type(value) is dict or isinstance(value, Mapping):
            value = value.get(key) if isinstance(key, str) else None
        elif isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
            value = value[key] if -len(value) <= key < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def get1(value: Any, key: str) -> Any:
    """``get(value, (key,))`` for one string key, the commonest path (``d.status``), without the loop."""
    if type(value) is dict:
        return value.get(key)
    return get(value, (key,))


def get2(value: Any, first: str, second: str) -> Any:
    """``get(value, (first, second))`` for two string keys (``d.extra.owner``)."""
    if type(value) is dict:
        value = value.get(first)
        if type(value) is dict:
            return value.get(second)
        return None if value is None else get(value, (second,))
    return get(value, (first, second))


def item(value: Any, key: Any, span: Span) -> Any:
    if value is None or key is None:
        return None
    if isinstance(value, Mapping):
        if not isinstance(key, str):
            raise RuleFault(f"an object is indexed by a string, not {type_name(key)}", span)
        return value.get(key)
    if isinstance(value, list):
        if not isinstance(key, int) or isinstance(key, bool):
            raise RuleFault(f"a list is indexed by a number, not {type_name(key)}", span)
        return value[key] if -len(value) <= key < len(value) else None
    raise RuleFault(f"{type_name(value)} cannot be indexed", span)


def record(witness: dict[str, Any], label: str, value: Any) -> Any:
    witness[label] = value
    return value


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, timedelta):
        return "a duration"
    if isinstance(value, datetime):
        return "a date"
    if isinstance(value, list | tuple):
        return "a list"
    return "an object"


def truth(value: Any, span: Span) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise RuleFault(f"expected true or false, found {type_name(value)} {render(value)}", span)


def to_datetime(value: Any, span: Span) -> datetime | None:
    if type(value) is str:  # the common case first: a date already parsed once
        known = _DATES.get(value)
        if known is not None:
            return known
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        known = _DATES.get(value)
        if known is not None:
            return known
        text = value.strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            raise RuleFault(f"{value!r} is not an ISO 8601 date", span) from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if len(_DATES) >= _DATES_KEPT:
            _DATES.clear()
        _DATES[value] = moment
        return moment
    raise RuleFault(f"expected a date, found {type_name(value)}", span)


# Parsed dates by their text: every rule that asks whether a document is current parses its review date
# again. A pure function's results, bounded.
_DATES: dict[str, datetime] = {}
_DATES_KEPT = 100_000


def _comparable(left: Any, right: Any, span: Span) -> tuple[Any, Any]:
    if isinstance(left, datetime) or isinstance(right, datetime):
        return to_datetime(left, span), to_datetime(right, span)
    for kinds in ((int, float), (str,), (timedelta,)):
        if (
            isinstance(left, kinds)
            and isinstance(right, kinds)
            and not isinstance(left, bool)
            and not isinstance(right, bool)
        ):
            return left, right
    raise RuleFault(f"cannot order {type_name(left)} and {type_name(right)}", span)


def less(left: Any, right: Any, span: Span) -> bool | None:
    if type(left) is datetime and type(right) is str:  # `d.next_review_due > now`, a date parsed before
        moment = _DATES.get(right)
        if moment is not None:
            return left < moment
    if left is None or right is None:
        return None
    a, b = _comparable(left, right, span)
    return bool(a < b)


def less_equal(left: Any, right: Any, span: Span) -> bool | None:
    if type(left) is datetime and type(right) is str:  # `d.next_review_due >= now`, a date parsed before
        moment = _DATES.get(right)
        if moment is not None:
            return left <= moment
    if left is None or right is None:
        return None
    a, b = _comparable(left, right, span)
    return bool(a <= b)


def equal(left: Any, right: Any, span: Span) -> bool | None:
    if left is None or right is None:
        return None
    if type(left) is str and type(right) is str:  # most comparisons, without the date checks below
        return left == right
    if isinstance(left, datetime) != isinstance(right, datetime):
        left, right = to_datetime(left, span), to_datetime(right, span)
    return bool(left == right)


def contained(needle: Any, haystack: Any, span: Span) -> bool | None:
    if needle is None or haystack is None:
        return None
    if type(haystack) is list:  # most membership tests, before the general checks below
        return needle in haystack
    if isinstance(haystack, list | tuple):
        return needle in haystack
    if isinstance(haystack, str):
        if not isinstance(needle, str):
            raise RuleFault(f"cannot look for {type_name(needle)} in a string", span)
        return needle in haystack
    if isinstance(haystack, Mapping):
        return needle in haystack
    raise RuleFault(f"cannot look inside {type_name(haystack)}", span)


def contains(haystack: Any, needle: Any, span: Span) -> bool | None:
    return contained(needle, haystack, span)


def startswith(text: Any, prefix: Any, span: Span) -> bool | None:
    if text is None or prefix is None:
        return None
    if not isinstance(text, str) or not isinstance(prefix, str):
        raise RuleFault(f"startswith works on strings, found {type_name(text)} and {type_name(prefix)}", span)
    return text.startswith(prefix)


_PATTERNS: dict[str, regex.Pattern[str]] = {}


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """Rule patterns use the ``regex`` engine: unlike ``re`` it can stop a search after a timeout."""
    return regex.compile(pattern, regex.VERSION0)


_BOUNDED: dict[str, bool] = {}


def is_bounded(pattern: str) -> bool:
    """Whether a search can only take time linear in the (capped) input: no repetition at all (no
    ``* + ? {``, hence no group or lookaround either) and no backreference. ``\\S``, the commonest rule
    pattern, is one: arming the timeout costs ten times its search."""
    found = _BOUNDED.get(pattern)
    if found is None:
        found = _BOUNDED[pattern] = not any(c in pattern for c in "*+?{") and not regex.search(
            r"\\[0-9gk]", pattern
        )
    return found


def matches(text: Any, pattern: Any, span: Span) -> bool | None:
    if text is None or pattern is None:
        return None
    if not isinstance(text, str) or not isinstance(pattern, str | regex.Pattern):
        raise RuleFault(f"matches works on strings, found {type_name(text)}", span)
    if isinstance(pattern, str):
        compiled = _PATTERNS.get(pattern)
        if compiled is None:
            try:
                compiled = _PATTERNS[pattern] = compile_pattern(pattern)
            except regex.error as exc:
                raise RuleFault(f"invalid regular expression {pattern!r}: {exc}", span) from None
        pattern = compiled
    if is_bounded(pattern.pattern):
        return pattern.search(text[:MAX_MATCH_INPUT]) is not None
    try:
        # Bounded input and time: a pattern that backtracks catastrophically on hostile evidence gives an
        # error finding for that subject instead of hanging the scan.
        return pattern.search(text[:MAX_MATCH_INPUT], timeout=MATCH_TIMEOUT) is not None
    except TimeoutError:
        raise RuleFault(
            f"the regular expression gave no answer within {MATCH_TIMEOUT} s on a "
            f"{min(len(text), MAX_MATCH_INPUT)}-character value; simplify the pattern",
            span,
        ) from None


def matches_bounded(text: Any, pattern: regex.Pattern[str], span: Span) -> bool | None:
    """:func:`matches` for a compiled pattern found bounded (:func:`is_bounded`) when the rule compiled."""
    if type(text) is str:
        return pattern.search(text[:MAX_MATCH_INPUT]) is not None
    if text is None:
        return None
    if not isinstance(text, str):
        raise RuleFault(f"matches works on strings, found {type_name(text)}", span)
    return pattern.search(text[:MAX_MATCH_INPUT]) is not None


def negate(value: Any, span: Span) -> Any:
    if value is None:
        return None
    if isinstance(value, int | float | timedelta) and not isinstance(value, bool):
        return -value
    raise RuleFault(f"cannot negate {type_name(value)}", span)


def add(left: Any, right: Any, span: Span) -> Any:
    if left is None or right is None:
        return None
    if isinstance(right, timedelta) and not isinstance(left, timedelta | int | float):
        return to_datetime(left, span) + right  # type: ignore[operator]  # to_datetime is not None here
    if type_name(left) == type_name(right) and isinstance(left, int | float | timedelta):
        return left + right
    raise RuleFault(f"cannot add {type_name(left)} and {type_name(right)}", span)


def subtract(left: Any, right: Any, span: Span) -> Any:
    if left is None or right is None:
        return None
    if isinstance(right, timedelta) and not isinstance(left, timedelta | int | float):
        return to_datetime(left, span) - right  # type: ignore[operator]  # to_datetime is not None here
    if isinstance(left, datetime | str) and isinstance(right, datetime | str):
        return to_datetime(left, span) - to_datetime(right, span)  # type: ignore[operator]  # both set
    if type_name(left) == type_name(right) and isinstance(left, int | float | timedelta):
        return left - right
    raise RuleFault(f"cannot subtract {type_name(right)} from {type_name(left)}", span)


def age(value: Any, now: datetime, span: Span) -> timedelta | None:
    """How long ago ``value`` was. A moment further ahead than clock skew explains is an error: a review
    dated next year must not count as "reviewed within the period"."""
    if type(value) is str:  # most calls: the same review dates, for every rule that asks, at one clock
        known = _AGES.get(value)
        if known is not None and known[0] is now:
            return known[1]
    moment = to_datetime(value, span)
    if moment is None:
        return None
    if moment - now > MAX_CLOCK_SKEW:
        raise RuleFault(
            f"age() of {value!r}, which lies {(moment - now).days} day(s) after the scan's clock "
            f"({now.isoformat()}); a past date was expected: check the date or the source's clock",
            span,
        )
    if type(value) is str:
        if len(_AGES) >= _DATES_KEPT:
            _AGES.clear()
        _AGES[value] = (now, now - moment)  # with its clock: a call at another clock computes its own
    return now - moment


# age() of a date's text at a clock: a pure function's results, bounded like _DATES.
_AGES: dict[str, tuple[datetime, timedelta]] = {}


def days(value: Any, span: Span) -> timedelta | None:
    """A number of days as a duration, so that `review_interval_days` can be compared with `age(...)`."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(days=value)
    raise RuleFault(f"days() needs a number, found {type_name(value)}", span)


def length(value: Any, span: Span) -> int | None:
    if value is None:
        return None
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    raise RuleFault(f"len() needs a list, a string or an object, found {type_name(value)}", span)


def lower(value: Any, span: Span) -> str | None:
    if type(value) is str:
        return value.lower()
    if value is None:
        return None
    if isinstance(value, str):
        return value.lower()
    raise RuleFault(f"lower() needs a string, found {type_name(value)}", span)


def iterate(value: Any, span: Span) -> Iterable[Any]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return value
    raise RuleFault(f"a quantifier ranges over a list, found {type_name(value)}", span)


def exists(conditions: Iterable[bool | None]) -> bool | None:
    unknown = False
    for condition in conditions:
        if condition is True:
            return True
        if condition is None:
            unknown = True
    return None if unknown else False


def every(conditions: Iterable[bool | None]) -> bool | None:
    unknown = False
    for condition in conditions:
        if condition is False:
            return False
        if condition is None:
            unknown = True
    return None if unknown else True


def count(conditions: Iterable[bool | None]) -> int:
    return sum(1 for condition in conditions if condition is True)


UNINDEXED = object()  # key under which a join index keeps the items it could not index, in order
NULL_KEYS = object()  # ... the part of those whose key is null (missing): never equal to anything
OTHER_KEYS = object()  # ... and the rest: a list or an object where a scalar was expected
_SCALARS = (str, int, float, bool)


class Candidates(list[Any]):
    """Join candidates that leave out the items with a null key; ``unknown`` says whether those items
    would have made the join's condition unknown (it can never be true on them)."""

    __slots__ = ("unknown",)

    def __init__(self, items: Iterable[Any], unknown: bool) -> None:
        super().__init__(items)
        self.unknown = unknown


# A join site's condition with its equality taken as null, over a list of (data, evidence) pairs:
# (function, ITEMS, INDEX, NOW). The function returns True when the condition is unknown on some item,
# False when it is false on every one, and None when it raised (or, impossibly, held) on one.
NullCheck = tuple[Any, ...]


def join_candidates(
    index: dict[Any, list[Any]],
    items: list[Any],
    lookup: Any,
    narrow: dict[Any, list[Any]] | None = None,
    narrow_value: Any = None,
    nulls: NullCheck | None = None,
    narrow_all: bool = False,
) -> list[Any]:
    """The items a join may select: those indexed under ``lookup`` plus those whose key is unknown
    (null or not a key), which the caller's condition then decides on. A null or non-scalar lookup
    visits every item, so the condition can say "unknown" rather than "false".

    ``narrow`` (an index on a second key that the ``where`` requires to equal ``narrow_value``) drops,
    from the unknown-key items and the visit-every-item case, those whose second key holds another
    scalar: the ``where`` is false for them. Order is kept, so the same item decides as without it.
    With ``narrow_all`` (the second key's equality opens the ``where``, so nothing else is evaluated on
    an item it rules out) the items indexed under ``lookup`` are narrowed too.

    ``nulls`` (given where the rest of the ``where`` does not read the outer item) keeps the join linear
    when keys are null. An equality with a null side is unknown, never true, so on an item with a null
    key (or on every item, when the lookup is null) the ``where`` can only be false or unknown, and which
    one does not depend on the outer item: it is worked out once per evaluation. Those items are then
    left out and the returned :class:`Candidates` says whether they would have made the result unknown.
    Where the condition raised on one of them, every candidate is returned as before, so that the error
    surfaces exactly where and when it did.
    """
    if narrow is not None and not isinstance(narrow_value, _SCALARS):
        narrow = None
    if lookup is None or not isinstance(lookup, _SCALARS):
        everything = items if narrow is None else _narrowed(narrow, items, narrow, narrow_value)
        if lookup is None and nulls is not None:
            unknown = _null_outcome(index, nulls, everything)
            if unknown is not None:
                return _nothing(index, unknown)
        return everything
    matched = index.get(lookup, ())
    if narrow_all and narrow is not None and matched:
        if len(matched) > _FILTERED_UP_TO:
            matched = _narrowed(index, matched, narrow, narrow_value)
        else:  # a few items under one key (one system's documents): filtered, not cached per key and value
            keep = _kept(narrow, narrow_value)
            matched = [pair for pair in matched if id(pair) in keep]
    rest = index.get(UNINDEXED, ())
    if not rest:
        return matched  # type: ignore[return-value]  # a list in practice
    if narrow is not None:
        rest = _narrowed(index, rest, narrow, narrow_value)
    if nulls is not None:
        null_items = index.get(NULL_KEYS, ())
        if narrow is not None and null_items:
            null_items = _narrowed(index, null_items, narrow, narrow_value)
        unknown = _null_outcome(index, nulls, null_items) if null_items else False
        if unknown is not None:
            others = index.get(OTHER_KEYS, ())
            if narrow is not None and others:
                others = _narrowed(index, others, narrow, narrow_value)
            if not unknown:
                return [*matched, *others] if others else matched  # type: ignore[return-value]  # a list
            return Candidates(itertools.chain(matched, others), True)
    return [*matched, *rest] if rest else matched  # type: ignore[return-value]  # a list in practice


EITHER = object()  # key under which a join index caches what :func:`either` works out once per evaluation


def either(
    index: dict[Any, Any],
    check: Callable[..., list[bool]],
    base: Callable[[], list[Any]],
    keyed: dict[Any, list[Any]],
    lookup: Any,
    witness: dict[str, Any] | None,
    label: str | None,
    items: Any,
    now: Any,
) -> Iterable[Any]:
    """The items of ``base()`` that a `where` opening with ``inner.key == outer.path or P`` may select
    for the outer value ``lookup``, in their order (see :meth:`annexa.lang.compiler.CodeGenerator.either`).

    ``base()`` does not vary with the outer item; ``check`` (run once per evaluation over it) says of
    each item whether P can fail to be false on it (true, unknown, or an error). An item is left out
    only when its key, in the index ``keyed``, is a scalar other than ``lookup`` and P is false on it: the
    disjunction is then false and the `where` with it. Every other item stays (a null or non-scalar key,
    or a null or non-scalar lookup, decides nothing here).

    Evaluating the equality on a skipped item wrote ``lookup`` into the witness under ``label``; where the
    first skipped item came before the iteration stopped, that write is made when the iteration reaches
    its place, so the witness is the same.
    """
    site = (EITHER, id(check))
    state = index.get(site)
    if state is None:
        candidates = base()
        kept = check(items, index, now, candidates)
        position = {id(pair): place for place, pair in enumerate(candidates)}
        unkeyed = {id(pair) for pair in keyed.get(UNINDEXED, ())}
        always = [place for place, pair in enumerate(candidates) if kept[place] or id(pair) in unkeyed]
        state = index[site] = (candidates, position, always)
    candidates, position, always = state
    if lookup is None or not isinstance(lookup, _SCALARS) or len(always) == len(candidates):
        return candidates
    places = set(always)
    places.update(position[id(pair)] for pair in keyed.get(lookup, ()) if id(pair) in position)
    if len(places) == len(candidates):
        return candidates
    order = sorted(places)
    selected = [candidates[place] for place in order]
    if witness is None:
        return selected
    # The first item left out is at the first place missing from `order`; the kept items before it are
    # exactly the places 0, 1, ... up to it.
    before = next(
        (kept_before for kept_before, place in enumerate(order) if place != kept_before), len(order)
    )
    return _writing(selected, before, witness, label, lookup)


def _writing(
    selected: list[Any], before: int, witness: dict[str, Any], label: Any, value: Any
) -> Iterator[Any]:
    """``selected``, writing ``value`` into ``witness`` once ``before`` items have been consumed."""
    yield from selected[:before]
    witness[label] = value
    yield from selected[before:]


def _null_outcome(index: dict[Any, Any], nulls: NullCheck, candidates: list[Any]) -> bool | None:
    """The join site's verdict on ``candidates`` with its equality null; cached in the index."""
    function, *context = nulls
    key = (NULL_KEYS, id(function), id(candidates))
    if key not in index:
        index[key] = function(*context, candidates)
    found: bool | None = index[key]
    return found


def _nothing(index: dict[Any, Any], unknown: bool) -> list[Any]:
    key = (NULL_KEYS, unknown)
    found = index.get(key)
    if found is None:
        found = index[key] = Candidates((), unknown)
    return found


def exists_join(
    candidates: list[Any], pairs: Callable[[list[Any]], Iterator[tuple[bool | None, Any]]], found: list[Any]
) -> bool | None:
    """:func:`exists_evidence` over join candidates: false turns unknown where the items left out for
    their null key would have made it so (see :func:`join_candidates`)."""
    result = exists_evidence(pairs(candidates), found)
    if result is False and type(candidates) is Candidates and candidates.unknown:
        return None
    return result


def _narrowed(
    cache: dict[Any, list[Any]], candidates: list[Any], narrow: dict[Any, list[Any]], value: Any
) -> list[Any]:
    # Cached in the index itself (a tuple key never collides with a scalar one): computed once per
    # evaluation and value, not once per outer item.
    key = (UNINDEXED, id(candidates), id(narrow), type(value), value)
    found = cache.get(key)
    if found is None:
        keep = _kept(narrow, value)
        found = [pair for pair in candidates if id(pair) in keep]
        cache[key] = found
    return found


def _kept(narrow: dict[Any, list[Any]], value: Any) -> set[int]:
    """The ids of the items the second key lets through for ``value``, once per value (kept in the second
    index): a join narrowed under its key (narrow_all) filters a few items per outer item with it, never
    the whole kind."""
    kept_key = (_KEPT, type(value), value)
    keep: set[int] | None = narrow.get(kept_key)  # type: ignore[assignment]  # a set under this key
    if keep is None:
        keep = {id(pair) for pair in narrow.get(value, ())} | {id(pair) for pair in narrow.get(UNINDEXED, ())}
        narrow[kept_key] = keep  # type: ignore[assignment]  # a set, under a key no list is kept at
    return keep


_KEPT = object()  # key under which a second index keeps the ids of the items it lets through per value
# A join's items under one key, narrowed by a second, are cached (per key and value, for the evaluation)
# only when there are more of them than this. Under a few (one system's documents) filtering again costs
# less than the cache, which at 1,000,000 items grew by a list per subject and rule: 570 MB.
_FILTERED_UP_TO = 64


def exists_evidence(pairs: Iterator[tuple[bool | None, Any]], found: list[Any]) -> bool | None:
    """Like :func:`exists` over evidence items, remembering the item that made it true."""
    unknown = False
    for condition, evidence in pairs:
        if condition is True:
            found.append(evidence)
            return True
        if condition is None:
            unknown = True
    return None if unknown else False


def every_evidence(pairs: Iterator[tuple[bool | None, Any]], found: list[Any]) -> bool | None:
    """Like :func:`every` over evidence items; remembers the counterexample, or (capped) the items."""
    unknown = False
    seen: list[Any] = []
    for condition, evidence in pairs:
        if condition is False:
            found.append(evidence)
            return False
        if condition is None:
            unknown = True
        if len(seen) < MAX_EVIDENCE_PER_FINDING:
            seen.append(evidence)
    found.extend(seen)
    return None if unknown else True


def count_evidence(pairs: Iterator[tuple[bool | None, Any]], found: list[Any]) -> int:
    total = 0
    for condition, evidence in pairs:
        if condition is True:
            total += 1
            if total <= MAX_EVIDENCE_PER_FINDING:
                found.append(evidence)
    return total


def render(value: Any) -> str:
    """How a value reads inside a message."""
    if value is None:
        return "<missing>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds % 86400 == 0:
            return f"{int(seconds // 86400)}d"
        if seconds % 3600 == 0:
            return f"{int(seconds // 3600)}h"
        return f"{int(seconds)}s"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def witness_value(value: Any) -> Any:
    """Witness values are stored as JSON: durations and dates become strings."""
    if isinstance(value, timedelta | datetime):
        return render(value)
    return value


def take(items: list[Any], limit: int) -> list[Any]:
    """The first ``limit`` items: a bound on what a near-miss search examines."""
    return items if len(items) <= limit else items[:limit]
