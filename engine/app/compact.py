"""Equal values of loaded evidence held once (:class:`Compact`): what an evaluation that keeps only the
fields its rules read (``annexa evaluate --evidence``, the streamed evaluation) holds of each item."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

_TEXT = frozenset({str})


class Compact:
    """Equal values of the loaded items held once: strings, lists of strings, mappings of strings to
    strings (scopes, empty metadata), collection times. Of 100,000 items of the benchmark's estate, 86 %
    are documents whose statuses, dates, owners, headings and empty lists repeat. The values are only
    read (the rules, the indexes and the findings never change the evidence), so sharing them is safe and
    every value stays equal to, and of the same type as, the one read. A field whose values seldom repeat
    (ids) is left alone once the first items of its kind show it, so as not to hold a memo of unique
    values."""

    TRIAL = 2000  # items of a kind whose fields are all shared before judging which fields repeat

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._lists: dict[tuple[str, ...], list[str]] = {}
        self._mappings: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        self._moments: dict[datetime, datetime] = {}
        # Per tuple of field names: the items seen and the values new to the memo per field, then
        # (after TRIAL items) the plan: each field with whether its values are shared.
        self._trials: dict[tuple[str, ...], tuple[list[int], list[int]]] = {}
        self._plans: dict[tuple[str, ...], tuple[tuple[str, bool], ...]] = {}
        self._rows: dict[tuple[str, ...], type] = {}  # per tuple of names: a class whose instances share keys

    def text(self, value: str) -> str:
        return self._texts.setdefault(value, value)

    def moment(self, value: datetime) -> datetime:
        return self._moments.setdefault(value, value)

    def mapping(self, value: Mapping[str, str]) -> Mapping[str, str]:
        if type(value) is not dict or not {*map(type, value.values())} <= _TEXT:
            return value
        key = tuple(value.items())
        shared = self._mappings.get(key)
        if shared is None:
            shared = self._mappings[key] = {self.text(k): self.text(v) for k, v in key}
        return shared

    def data(self, data: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
        """The fields ``names`` of ``data`` that it has, their values shared where values repeat."""
        plan = self._plans.get(names)
        if plan is None:
            return self._trial(data, names)
        # A plain dict sharing its keys with the others of its kind (PEP 412: an instance's __dict__ keeps
        # only its values while its keys come in the same order), 200 bytes for a document's 13 fields
        # instead of 472. An item lacking a field gets a dict of its own, as big as before, still a dict.
        kept: dict[str, Any] = self._rows[names]().__dict__
        texts, value = self._texts, self.value
        for name, share in plan:
            if name in data:
                found = data[name]
                if share:
                    kind = type(found)
                    if kind is str:
                        found = texts.setdefault(found, found)
                    elif kind is list or kind is dict:
                        found = value(found)
                kept[name] = found
        return kept

    def _trial(self, data: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
        seen, new = self._trials.setdefault(names, ([0], [0] * len(names)))
        kept = {}
        for position, name in enumerate(names):
            if name in data:
                before = len(self._texts) + len(self._lists) + len(self._mappings)
                kept[name] = self.value(data[name])
                new[position] += len(self._texts) + len(self._lists) + len(self._mappings) > before
        seen[0] += 1
        if seen[0] >= self.TRIAL:
            self._plans[names] = tuple(
                (name, new[position] * 2 <= seen[0]) for position, name in enumerate(names)
            )
            self._rows[names] = type("Fields", (), {})
            del self._trials[names]
        return kept

    def value(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return self._texts.setdefault(value, value)
        if kind is list:
            if {*map(type, value)} <= _TEXT:  # strings only (1, 1.0 and True are equal, and kept apart)
                key = tuple(value)
                shared = self._lists.get(key)
                if shared is None:
                    shared = self._lists[key] = [self.text(element) for element in key]
                return shared
            return [self.value(element) for element in value]
        if kind is dict:
            if {*map(type, value.values())} <= _TEXT:
                return self.mapping(value)
            return {self.text(k): self.value(v) for k, v in value.items()}
        return value
