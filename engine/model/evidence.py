"""The evidence model: the contract between collectors and the engine.

An evidence item is one observation of one thing (a bucket, a model version, a document) made by one
collector at one time. Its identity is the SHA-256 of its canonical JSON, so the same observation always
has the same id and any change to it, however small, gives another.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

import orjson

from annexa.model.errors import EngineError

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

REQUIRED_FIELDS = ("kind", "source", "scope", "collector", "collected_at", "data")


class EvidenceFormatError(EngineError):
    """An evidence item or bundle line does not have the shape of design.md section 2."""


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` the one way that ids are computed from: sorted keys, no spaces, UTF-8.

    The bytes are those of :func:`reference_canonical_json` (``json.dumps``), always: ids recorded by any
    annexa must verify. orjson (about three times faster) writes them where it provably writes the same:
    a value made only of dicts with string keys, lists, tuples, strings, integers, booleans and None, all
    of exactly those types. There both write the same separators, the same escapes (only the quote, the
    backslash and the control characters, each as json does) and keys in code point order. Anything else
    goes to json: floats (printed otherwise: ``1e-05`` against ``0.00001``, and NaN is null in orjson
    where json raises), subclasses and other objects (orjson writes enums, UUIDs, dates; json refuses),
    and whatever orjson refuses (integers beyond 64 bits, lone surrogates, nesting beyond 255 levels),
    so json also raises its own errors as before. ``tests/engine/test_canonical_json.py`` checks this
    byte for byte over arbitrary values."""
    try:
        fast = orjson.dumps(value, option=_CANONICAL_OPTIONS)
    except orjson.JSONEncodeError:  # json decides: it writes (a huge integer) or raises its own error
        return reference_canonical_json(value)
    # Checked after writing: orjson refused cycles and nesting beyond 255, so this recursion is bounded.
    return fast if _plain(value) else reference_canonical_json(value)


def reference_canonical_json(value: Any) -> bytes:
    """The definition of the canonical bytes, by ``json.dumps``; :func:`canonical_json` is its fast twin."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


# Subclasses of str, int, dict and list, dates and dataclasses are refused, not written (json decides).
_CANONICAL_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only dicts with str keys, lists, tuples, str, int, bool and None, exactly
    those types (no float, no subclass): where orjson writes json's bytes. (The loops over a dict's and a
    list's values are written out twice on purpose: one shared helper costs a call per container, a third
    more of this check, which runs on every item an evaluation reads.)"""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            cls = type(item)
            if (
                cls is not str
                and item is not None
                and cls is not int
                and cls is not bool
                and not _plain(item)
            ):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            cls = type(item)
            if (
                cls is not str
                and item is not None
                and cls is not int
                and cls is not bool
                and not _plain(item)
            ):
                return False
        return True
    return kind is str or value is None or kind is int or kind is bool


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, seconds precision unless the value has microseconds."""
    known = _STAMPS.get(moment)  # a naive moment never equals an aware one: it is never found here
    if known is not None:
        return known
    if moment.tzinfo is None:
        raise EvidenceFormatError(f"timestamp {moment.isoformat()} has no time zone")
    text = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if len(_STAMPS) >= 4096:
        _STAMPS.clear()
    _STAMPS[moment] = text
    return text


# The text of each moment formatted lately: the items of a scan share a few collection times, and every
# reference to an item (each finding's evidence) and its id format it.
_STAMPS: dict[datetime, str] = {}


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 timestamp that carries a zone (``Z`` or an offset) into UTC."""
    known = _MOMENTS.get(text) if type(text) is str else None
    if known is not None:
        return known
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except (TypeError, ValueError) as exc:
        raise EvidenceFormatError(f"not an ISO 8601 timestamp: {text!r}") from exc
    if moment.tzinfo is None:
        raise EvidenceFormatError(f"timestamp {text!r} has no time zone (add Z or an offset)")
    moment = moment.astimezone(UTC)
    if len(_MOMENTS) >= 4096:
        _MOMENTS.clear()
    _MOMENTS[text] = moment
    return moment


# Each text parsed lately and its moment (immutable, so one object serves every item): the items of a
# bundle share a few collection times, and parsing one costs more than looking it up.
_MOMENTS: dict[str, datetime] = {}


@dataclass(frozen=True, slots=True)
class EvidenceRef:
    """How a finding names an evidence item it rests on."""

    id: str
    kind: str
    source: str
    collected_at: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "kind": self.kind, "source": self.source, "collected_at": self.collected_at}


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One observation. ``data`` holds normalised fields (snake_case), never a raw API response."""

    kind: str
    source: str
    scope: Mapping[str, str]
    collector: str
    collected_at: datetime
    data: Mapping[str, JSONValue]
    # Set when the thing observed exists but cannot be read, parsed or trusted (a garbled file, data that
    # breaks its kind's schema): the item still counts as one of its kind, and every rule reading the
    # kind fails on it with this reason, so breaking evidence can never make a control look better.
    defect: str | None = None
    # Computed once: the id is needed for every finding and every store write.
    _id: str | None = field(default=None, init=False, repr=False, compare=False, hash=False)
    _ref: EvidenceRef | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.collected_at.tzinfo is None:
            raise EvidenceFormatError(f"{self.kind} {self.source}: collected_at has no time zone")

    def to_dict(self) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "kind": self.kind,
            "source": self.source,
            "scope": dict(self.scope),
            "collector": self.collector,
            "collected_at": format_timestamp(self.collected_at),
            "data": self.data,
        }
        if self.defect is not None:  # absent when sound, so sound items keep the ids they always had
            shape["defect"] = self.defect
        return shape

    def canonical(self) -> bytes:
        return canonical_json(self.to_dict())

    def stored_form(self) -> tuple[str, bytes]:
        """The id and the canonical bytes, serialised once (a store needs both; :attr:`id` is kept)."""
        payload = self.canonical()
        if self._id is None:
            object.__setattr__(self, "_id", sha256_hex(payload))
        assert self._id is not None
        return self._id, payload

    @property
    def id(self) -> str:
        """SHA-256 of the canonical JSON of the item."""
        if self._id is None:
            # A cache on a frozen instance; the value is a pure function of the fields.
            object.__setattr__(self, "_id", sha256_hex(self.canonical()))
        assert self._id is not None
        return self._id

    def ref(self) -> EvidenceRef:
        if self._ref is None:
            reference = EvidenceRef(
                id=self.id,
                kind=self.kind,
                source=self.source,
                collected_at=format_timestamp(self.collected_at),
            )
            object.__setattr__(self, "_ref", reference)
        assert self._ref is not None
        return self._ref

    @classmethod
    def from_dict(cls, raw: Any) -> Evidence:
        """Build an item from its JSON shape; every problem is an :class:`EvidenceFormatError`."""
        return cls._from_json(raw, None)

    @classmethod
    def _from_json(cls, raw: Any, shared: _Shared | None) -> Evidence:
        """:meth:`from_dict`; with ``shared``, the kind, collector and scope are those of an earlier item
        where equal (``raw`` is then the reader's own, not kept by anyone else)."""
        if not isinstance(raw, dict):
            raise EvidenceFormatError(f"an evidence item is a JSON object, not {type(raw).__name__}")
        missing = [name for name in REQUIRED_FIELDS if name not in raw]
        if missing:
            raise EvidenceFormatError(f"evidence item lacks {', '.join(missing)}")
        for name in ("kind", "source", "collector", "collected_at"):
            if not isinstance(raw[name], str) or not raw[name]:
                raise EvidenceFormatError(f"evidence field {name!r} must be a non-empty string")
        scope = raw["scope"]
        if not isinstance(scope, dict) or not all(isinstance(v, str) for v in scope.values()):
            raise EvidenceFormatError("evidence field 'scope' must map names to strings")
        if not isinstance(raw["data"], dict):
            raise EvidenceFormatError("evidence field 'data' must be a JSON object")
        defect = raw.get("defect")
        if defect is not None and (not isinstance(defect, str) or not defect):
            raise EvidenceFormatError("evidence field 'defect' must be a non-empty string when present")
        if shared is None:
            return cls(
                kind=raw["kind"],
                source=raw["source"],
                scope=dict(scope),
                collector=raw["collector"],
                collected_at=parse_timestamp(raw["collected_at"]),
                data=raw["data"],
                defect=defect,
            )
        texts = shared.texts
        kind, collector = raw["kind"], raw["collector"]
        return cls(
            kind=texts.setdefault(kind, kind),
            source=raw["source"],
            scope=shared.scope(scope),
            collector=texts.setdefault(collector, collector),
            collected_at=parse_timestamp(raw["collected_at"]),
            data=raw["data"],
            defect=defect,
        )


class _Shared:
    """The kinds, collectors and scopes of the items of one bundle, each held once: a bundle has a few of
    each, and 100,000 copies of them cost about 40 MB. Shared objects are only read (an item is frozen,
    its scope copied by :meth:`Evidence.to_dict`), so every item stays equal to the one read alone."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self._scopes: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}

    def scope(self, scope: dict[str, str]) -> dict[str, str]:
        key = tuple(scope.items())
        known = self._scopes.get(key)
        if known is None:
            known = self._scopes[key] = dict(scope)
        return known


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundle:
    """An evidence bundle: the items plus what collection attempted and the kinds' schemas.

    On disk it is JSON Lines; an optional first line ``{"annexa_bundle": 1, "collected": {...},
    "schemas": {...}}`` says which kinds were collected (kind -> null, or the collector's error) and
    carries the JSON Schemas of the kinds, so a bundle can be re-evaluated offline, anywhere. Its optional
    ``"gaps"`` map a kind to the parts of it that could not be collected.
    """

    evidence: tuple[Evidence, ...]
    collected: Mapping[str, str | None] | None = None
    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    gaps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


BUNDLE_HEADER_KEY = "annexa_bundle"


# orjson reads an integer beyond 64 bits as a float, so a line with a run of 19 digits goes to json. The
# run is found with bytes.translate (digits to "0", the rest to " "), far cheaper than a regex search.
_DIGIT_MAP = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = b"0" * 19
_UNREAD = object()


def _fast_loads(line: bytes) -> Any:
    """The line's value as ``json.loads`` gives it, by orjson (a compiled parser, twice as fast here),
    or ``_UNREAD`` when orjson cannot say: it refuses what json takes (NaN, lone surrogates, huge
    exponents) or reports differently (bytes that are not UTF-8, a broken line), and json then decides."""
    if _LONG_RUN in line.translate(_DIGIT_MAP):
        return _UNREAD
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return _UNREAD


def read_bundle(path: Path, each: Callable[[Evidence], Evidence] | None = None) -> Bundle:
    """The bundle at ``path``. ``each``, when given, is applied to every item as it is read and the bundle
    holds what it returns: a caller that keeps only part of each item (``annexa evaluate``) never holds
    the whole bundle at once."""
    return join_bundle_parts(path, [read_bundle_part(path, each)])


@dataclass(frozen=True, slots=True)
class BundlePart:
    """The items of one byte range of a bundle (:func:`read_bundle_part`), with what :func:`join_bundle_parts`
    needs to judge its header lines as a reading of the whole file would: the header lines read before the
    range's first item (the last of them, and the first one's line number), and the error that stopped the
    reading, if any (raised by the join, in file order)."""

    items: list[Evidence]
    header: Mapping[str, Any] | None = None
    header_line: int | None = None
    error: EvidenceFormatError | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # A part read by another process is handed back pickled: its items as rows of their fields (the id
        # computed there included) pickle and load in about half the time of the items themselves.
        rows = [
            (e.kind, e.source, e.scope, e.collector, e.collected_at, e.data, e.defect, e._id, e._ref)
            for e in self.items
        ]
        return (_bundle_part, (rows, self.header, self.header_line, self.error))


def _bundle_part(
    rows: list[tuple[Any, ...]],
    header: Mapping[str, Any] | None,
    header_line: int | None,
    error: EvidenceFormatError | None,
) -> BundlePart:
    new, put = object.__new__, object.__setattr__
    items = []
    for kind, source, scope, collector, collected_at, data, defect, id_, ref in rows:
        item = new(Evidence)  # every field as it was, so no check to run again
        put(item, "kind", kind)
        put(item, "source", source)
        put(item, "scope", scope)
        put(item, "collector", collector)
        put(item, "collected_at", collected_at)
        put(item, "data", data)
        put(item, "defect", defect)
        put(item, "_id", id_)
        put(item, "_ref", ref)
        items.append(item)
    return BundlePart(items, header, header_line, error)


def bundle_ranges(path: Path, count: int) -> list[tuple[int, int | None]]:
    """At most ``count`` byte ranges, ``(start, end)``, that split the bundle at ``path`` at line starts into
    parts of about equal size (the last one's end None: to the end). One range where the file is unreadable
    (its reading reports why)."""
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError:
        return [(0, None)]
    starts = [0]
    with handle:
        for part in range(1, count):
            handle.seek(max(size * part // count, starts[-1]))
            handle.readline()  # to the start of the next line
            at = handle.tell()
            if at >= size:
                break
            if at > starts[-1]:
                starts.append(at)
    return [(start, end) for start, end in zip(starts, [*starts[1:], None], strict=True)]


def read_bundle_part(
    path: Path, each: Callable[[Evidence], Evidence] | None = None, start: int = 0, end: int | None = None
) -> BundlePart:
    """The lines of the bundle from byte ``start`` (a line start) to byte ``end`` (None: to the end of the
    file), read as :func:`read_bundle` reads them; an error in them is kept in the part, not raised."""
    # Reading builds millions of long-lived containers and not one garbage cycle, so the cyclic collector
    # (run every 700 allocations) only rescanned them: 1.3 s of a 3 s read of 100,000 items. Paused here.
    paused = gc.isenabled()
    gc.disable()
    items: list[Evidence] = []
    header: Mapping[str, Any] | None = None
    header_line: int | None = None
    try:
        shared = _Shared()
        for number, raw in _bundle_values(path, start, end):
            if isinstance(raw, dict) and BUNDLE_HEADER_KEY in raw:
                if items:
                    raise EvidenceFormatError(f"{path}:{number}: the bundle header must be the first line")
                header, header_line = raw, number if header_line is None else header_line
                continue
            item = _item(path, number, raw, shared)
            items.append(item if each is None else each(item))
    except EvidenceFormatError as error:
        return BundlePart([], header, header_line, error)
    finally:
        if paused:
            gc.enable()
    return BundlePart(items, header, header_line)


def join_bundle_parts(path: Path, parts: Iterable[BundlePart]) -> Bundle:
    """The bundle whose consecutive parts (from line 1 on) are ``parts``: the error of the first that has
    one raised, a header line after an item of an earlier part refused, as a single reading would."""
    header: Mapping[str, Any] = {}
    items: list[Evidence] = []
    for part in parts:
        if part.header_line is not None and part.header_line != 1 and items:
            raise EvidenceFormatError(f"{path}:{part.header_line}: the bundle header must be the first line")
        if part.error is not None:
            raise part.error
        if part.header is not None:
            header = part.header  # a header repeated before any item replaces the one before
        items.extend(part.items)
    collected, schemas, gaps = _header_parts(path, header)
    return Bundle(evidence=tuple(items), collected=collected, schemas=schemas, gaps=gaps)


def read_bundle_header(path: Path) -> Bundle:
    """The bundle's header alone (what was collected, the kinds' schemas, the gaps), with no items: what
    :func:`read_bundle` gives, read from the leading lines only. The errors of those lines are its."""
    header: dict[str, Any] = {}
    for _, raw in _bundle_values(path):
        if not (isinstance(raw, dict) and BUNDLE_HEADER_KEY in raw):
            break
        header = raw  # as read_bundle does, a header repeated before any item replaces the one before
    collected, schemas, gaps = _header_parts(path, header)
    return Bundle(evidence=(), collected=collected, schemas=schemas, gaps=gaps)


def _item(path: Path, number: int, raw: Any, shared: _Shared | None = None) -> Evidence:
    try:
        return Evidence._from_json(raw, shared)
    except EvidenceFormatError as exc:
        raise EvidenceFormatError(f"{path}:{number}: {exc}") from exc


def _bundle_values(path: Path, start: int = 0, end: int | None = None) -> Iterator[tuple[int, Any]]:
    """Each line's number and JSON value (blank lines left out); a broken line raises. From
    byte ``start`` (a line start) to the line starting at or after byte ``end`` (None: the end)."""
    try:
        handle = path.open("rb")  # bytes, so that a line that is not UTF-8 is reported with its number
    except OSError as exc:
        raise EvidenceFormatError(f"{path}: cannot read evidence bundle: {exc.strerror}") from exc
    offset = start
    with handle:
        first = 1 + (_lines_before(handle, start) if start else 0)
        for number, raw_line in enumerate(handle, start=first):
            if end is not None and offset >= end:
                break
            offset += len(raw_line)
            raw = _fast_loads(raw_line)
            if raw is _UNREAD:
                try:
                    line = raw_line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise EvidenceFormatError(
                        f"{path}:{number}:{exc.start + 1}: not UTF-8 text (byte 0x{raw_line[exc.start]:02x})"
                    ) from None
                if not line.strip():
                    continue
                try:
                    raw = _strict_loads(line)
                except json.JSONDecodeError as exc:
                    raise EvidenceFormatError(
                        f"{path}:{number}:{exc.colno}: not valid JSON: {exc.msg}"
                    ) from exc
                except ValueError as exc:
                    raise EvidenceFormatError(f"{path}:{number}: not valid JSON: {exc}") from exc
            yield number, raw


def _lines_before(handle: BinaryIO, start: int) -> int:
    """The lines before byte ``start`` of ``handle``, which is left at ``start``."""
    lines = 0
    while handle.tell() < start and (block := handle.read(min(1 << 22, start - handle.tell()))):
        lines += block.count(b"\n")
    return lines


def _strict_loads(text: str) -> Any:
    """``json.loads`` of a line orjson left to it, refusing what JSON does not allow though json reads it,
    and from which no evidence id could be computed (canonical JSON refuses them too): NaN and infinities,
    written or out of range (1E400), and lone surrogates, which are not text. Raises ValueError."""
    value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    if _lone_surrogate(value):
        raise ValueError("a string holds a lone surrogate (\\ud800-\\udfff), which is not text")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is beyond the range of a number")
    return number


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_lone_surrogate(key) or _lone_surrogate(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_lone_surrogate(item) for item in value)
    return False


def _header_parts(
    path: Path, header: Mapping[str, Any]
) -> tuple[Mapping[str, str | None] | None, Mapping[str, Mapping[str, Any]], dict[str, tuple[str, ...]]]:
    collected = header.get("collected")
    schemas = header.get("schemas") or {}
    if collected is not None and not (
        isinstance(collected, dict) and all(v is None or isinstance(v, str) for v in collected.values())
    ):
        raise EvidenceFormatError(f"{path}:1: header 'collected' must map kinds to null or an error message")
    if not isinstance(schemas, dict):
        raise EvidenceFormatError(f"{path}:1: header 'schemas' must map kinds to JSON Schemas")
    gaps = header.get("gaps") or {}
    if not (
        isinstance(gaps, dict)
        and all(isinstance(v, list) and all(isinstance(r, str) for r in v) for v in gaps.values())
    ):
        raise EvidenceFormatError(f"{path}:1: header 'gaps' must map kinds to lists of reasons")
    return collected, schemas, {kind: tuple(reasons) for kind, reasons in gaps.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleIndex:
    """What a bundle file holds, read once without holding it in memory: its header, how many items of
    each kind (and of each part of a kind) it has and its newest ``collected_at``. What the streamed
    evaluation plans its loading by; the items themselves go to :func:`index_bundle`'s ``part_of``, which
    keeps what it needs of them (``annexa.app.units.UnitFile``).

    Every line was parsed and checked as :func:`read_bundle` does (the same errors)."""

    path: Path
    collected: Mapping[str, str | None] | None
    schemas: Mapping[str, Mapping[str, Any]]
    gaps: Mapping[str, tuple[str, ...]]
    counts: Mapping[str, int]  # kind -> its items, the kinds in the order first met
    newest: datetime | None  # the latest collected_at of any item
    # kind -> part -> its items, for the kinds index_bundle's ``part_of`` split into parts
    parts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.counts)


class BundleTally:
    """What a :class:`BundleIndex` counts, kept as items are seen: how many of each kind and of each part
    of a kind, and the newest ``collected_at`` (items read from a bundle, or collected by a scan)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.parts: dict[str, dict[str, int]] = {}
        self.newest: datetime | None = None

    def add(self, item: Evidence, part: str | None = None) -> None:
        """Count ``item``, in ``part`` of its kind when not None (its kind split into parts)."""
        self.counts[item.kind] = self.counts.get(item.kind, 0) + 1
        if part is not None:
            split = self.parts.setdefault(item.kind, {})
            split[part] = split.get(part, 0) + 1
        if self.newest is None or item.collected_at > self.newest:
            self.newest = item.collected_at

    def index(
        self,
        path: Path,
        collected: Mapping[str, str | None] | None,
        schemas: Mapping[str, Mapping[str, Any]],
        gaps: Mapping[str, tuple[str, ...]],
    ) -> BundleIndex:
        return BundleIndex(
            path=path,
            collected=collected,
            schemas=schemas,
            gaps=gaps,
            counts=self.counts,
            newest=self.newest,
            parts=self.parts,
        )


def index_bundle(path: Path, part_of: Callable[[int, Evidence], str | None] | None = None) -> BundleIndex:
    """Read a bundle once for its header and how many items of each kind it has (see :class:`BundleIndex`).

    ``part_of``, when given, is called with each item's line number and the item, and names the part of
    its kind the item belongs to (None: its kind is not split); :attr:`BundleIndex.parts` then counts
    each part's items."""
    paused = gc.isenabled()
    gc.disable()
    try:
        header: dict[str, Any] = {}
        tally = BundleTally()
        for number, raw in _bundle_values(path):
            if isinstance(raw, dict) and BUNDLE_HEADER_KEY in raw:
                if number != 1 and tally.counts:
                    raise EvidenceFormatError(f"{path}:{number}: the bundle header must be the first line")
                header = raw
                continue
            item = _item(path, number, raw)
            tally.add(item, None if part_of is None else part_of(number, item))
        collected, schemas, gaps = _header_parts(path, header)
    finally:
        if paused:
            gc.enable()
    return tally.index(path, collected, schemas, gaps)


def write_bundle(path: Path, bundle: Bundle) -> int:
    """Write a bundle (header line, then items) atomically; returns the number of items."""
    from annexa.files.atomic import atomic_write_text

    header: dict[str, Any] = {BUNDLE_HEADER_KEY: 1, "collected": bundle.collected, "schemas": bundle.schemas}
    if bundle.gaps:
        header["gaps"] = {kind: list(reasons) for kind, reasons in bundle.gaps.items()}
    lines = [json.dumps(header, sort_keys=True, ensure_ascii=False)]
    lines += [json.dumps(item.to_dict(), sort_keys=True, ensure_ascii=False) for item in bundle.evidence]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(bundle.evidence)
