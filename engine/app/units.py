"""The items of an evidence bundle as the streamed evaluation loads them, kept by unit in a temporary file
(:class:`UnitFile`), so that each line of the bundle is parsed once.

As the bundle is indexed (:func:`annexa.model.evidence.index_bundle` calls :meth:`UnitFile.add` with each
item), every item is read in today's shape, checked against its kind's schema (one that breaks it made
defective, the problem kept with its line number), given its id, cut to the data fields some rule or
observation reads, and written with the others of its unit (a kind, or of the documents those of one type)
as marshal rows, compressed (zstd, level 1: a fifth of the bytes). Loading a unit (:meth:`UnitFile.items`)
reads its rows back instead of parsing, checking and cutting its lines a second time, and shares equal
values between the items (:class:`Compact`). Over
100,000 items of the benchmark's estate: 13.0 -> 12.0 s CPU for the whole command, 4 MB more at the peak.
"""

from __future__ import annotations

import dataclasses
import marshal
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

import zstandard

from annexa.contract.fields import DOCUMENT_KIND
from annexa.contract.freshness import staleness_fields
from annexa.contract.upgrade import upgraded
from annexa.model.evidence import BundleTally, Evidence, EvidenceRef, format_timestamp, parse_timestamp
from annexa.model.observations import SCOPE_DRIFT_FIELDS

if TYPE_CHECKING:
    from annexa.app.compact import Compact
    from annexa.contract.kinds import KindRegistry

# What is loaded at a time: a kind's items (kind, ""), or, for a kind split into parts (documents by type),
# the items of one part (kind, part), the part "" holding the documents of no usable type.
Unit = tuple[str, str]

# kind, source, scope, collector, collected_at (as the reference writes it), data, defect, id
_Row = tuple[str, str, Mapping[str, str], str, str, Any, "str | None", str]

# What the observations read besides the rules (streaming._Watch): the dates and limits of stale evidence,
# the systems an item names for scope drift and those the scope declares.
WATCHED = staleness_fields() | SCOPE_DRIFT_FIELDS


class UnitFile:
    """The checked items of a bundle, each unit's rows written together (module doc)."""

    CHUNK = 256  # rows of a unit written at a time

    def __init__(
        self, kinds: KindRegistry, fields: Mapping[str, frozenset[str] | None], *, checked: bool = False
    ) -> None:
        self.kinds = kinds
        # Items their collectors already checked against their kinds' schemas (a scan's) are not checked
        # again: the scan evaluated in memory does not either, and its findings are the same.
        self.checked = checked
        # kind -> the fields kept of each sound item (None: the whole item), sorted: RuleSet.fields_read and
        # what the observations read; a kind no rule reads only for the observations.
        self._kept = {
            kind: None if names is None else tuple(sorted(names | WATCHED)) for kind, names in fields.items()
        }
        self._watched = tuple(sorted(WATCHED))
        # Each problem of an item breaking its kind's schema with its line number, in bundle order.
        self.invalid: list[tuple[int, str]] = []
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="annexa-units-", buffering=1 << 20)  # noqa: SIM115
        self._pending: dict[Unit, list[_Row]] = {}
        self._chunks: dict[Unit, list[tuple[int, int]]] = {}  # unit -> offset and length of each chunk
        self._end = 0
        self._compress = zstandard.ZstdCompressor(level=1).compress

    def add(self, number: int, item: Evidence) -> str | None:
        """Keep the item read at line ``number``; the part of its kind it is loaded with: a document's
        type, "" for one whose type is not a non-empty string or that is defective or breaks its schema
        (such a document is loaded with every rule reading documents: each reports it, or may visit it),
        None for the items of other kinds (not split)."""
        item = upgraded(item)
        if item.defect is None and not self.checked and item.kind in self.kinds:
            problems = self.kinds.validate(item)
            if problems:
                broken = "; ".join(problems)
                self.invalid.append((number, f"{item.kind} {item.source}: {broken}"))
                item = dataclasses.replace(item, defect=f"data does not match its schema: {broken}")
        part = None
        if item.kind == DOCUMENT_KIND:
            named = item.data.get("type")
            part = named if item.defect is None and isinstance(named, str) else ""
        data = item.data
        names = self._kept.get(item.kind, self._watched)
        if names is not None and item.defect is None:
            data = {name: data[name] for name in names if name in data}
        stamp = format_timestamp(item.collected_at)
        row = (item.kind, item.source, item.scope, item.collector, stamp, data, item.defect, item.id)
        unit = (item.kind, part or "")
        pending = self._pending.setdefault(unit, [])
        pending.append(row)
        if len(pending) >= self.CHUNK:
            self._write(unit)
        return part

    def items(self, unit: Unit, compact: Compact) -> Iterator[Evidence]:
        """The items of ``unit`` in bundle order, as :meth:`add` kept them, their values shared with equal
        ones already loaded (``compact``); each keeps the id of the whole item (findings cite what the
        bundle holds) and its reference made with it, not between the findings citing it."""
        for pending in list(self._pending):  # indexing is over: none held while the rules run
            self._write(pending)
        handle, decompress = self._file, zstandard.ZstdDecompressor().decompress
        new, put = object.__new__, object.__setattr__
        text, moment, mapping, data_of = compact.text, compact.moment, compact.mapping, compact.data
        names = self._kept.get(unit[0], self._watched)
        for offset, length in self._chunks.get(unit, ()):
            handle.seek(offset)
            rows: list[_Row] = marshal.loads(decompress(handle.read(length)))
            for kind, source, scope, collector, stamp, data, defect, id_ in rows:
                kind, stamp = text(kind), text(stamp)
                item = new(Evidence)  # every field as add() checked it: no check to run again
                put(item, "kind", kind)
                put(item, "source", source)
                put(item, "scope", mapping(scope))
                put(item, "collector", text(collector))
                put(item, "collected_at", moment(parse_timestamp(stamp)))
                put(item, "data", data if names is None or defect is not None else data_of(data, names))
                put(item, "defect", defect)
                put(item, "_id", id_)
                put(item, "_ref", EvidenceRef(id=id_, kind=kind, source=source, collected_at=stamp))
                yield item

    def _write(self, unit: Unit) -> None:
        payload = self._compress(marshal.dumps(self._pending.pop(unit)))
        self._file.seek(self._end)
        self._file.write(payload)
        self._chunks.setdefault(unit, []).append((self._end, len(payload)))
        self._end += len(payload)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> UnitFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CollectedUnits:
    """A scan's evidence kept in a :class:`UnitFile` as the store takes it (``collect``'s ``on_evidence``)
    instead of in memory: each item once (by id, as the scan kept in memory does), counted by kind and
    part (:class:`BundleTally`, for the streamed evaluation's plan), its id kept for the scan's manifest."""

    def __init__(self, units: UnitFile) -> None:
        self.units = units
        self.tally = BundleTally()
        self._seen: set[str] = set()
        self._order: list[tuple[str, str, str]] = []  # kind, source and id of each item

    def add(self, items: Iterable[Evidence]) -> None:
        for item in items:
            if item.id in self._seen:
                continue
            self._seen.add(item.id)
            self._order.append((item.kind, item.source, item.id))
            self.tally.add(item, self.units.add(len(self._order), item))

    def evidence_ids(self) -> tuple[str, ...]:
        """The ids in the order of the evidence a scan holds in memory (``collect``: kind, source, id)."""
        return tuple(id_ for _, _, id_ in sorted(self._order))
