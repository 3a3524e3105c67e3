"""Turning the metadata a file carries (front matter, PDF info, DOCX properties) into ``document`` data."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml

from annexa.collectors.docstore.schema import STATUSES
from annexa.evidence import JSONValue
from annexa.plugins import CollectorError


class UnreadableFile(CollectorError):
    """A file (or its sidecar) cannot be parsed; the message already names the file and line."""


@dataclass(frozen=True, slots=True)
class RawField:
    """One metadata value as read, before normalisation."""

    value: Any
    origin: str  # where it was read, for problem messages: "line 7", "PDF key /Approver"
    text: str | None = None  # the scalar as written, when the format keeps it (YAML)


TEXT_FIELDS = ("id", "type", "title", "version", "owner", "approver")
DATE_FIELDS = ("approved_on", "last_reviewed", "next_review_due")
LIST_FIELDS = ("ai_systems", "controls", "related_policies")
KNOWN_FIELDS = frozenset((*TEXT_FIELDS, *DATE_FIELDS, *LIST_FIELDS, "status", "review_interval_days"))

# Spellings seen in PDF info dictionaries and DOCX custom properties, whose key names are free-form.
PROPERTY_ALIASES = {
    "doc_type": "type",
    "document_type": "type",
    "doc_id": "id",
    "document_id": "id",
    "ai_system": "ai_systems",
    "approval_date": "approved_on",
    "next_review": "next_review_due",
}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def property_key(name: str) -> str:
    """``/LastReviewed``, ``Last Reviewed``, ``last-reviewed`` -> ``last_reviewed`` (aliases applied)."""
    key = _CAMEL.sub("_", name.lstrip("/").strip())
    key = re.sub(r"[\s\-.]+", "_", key).lower()
    return PROPERTY_ALIASES.get(key, key)


def load_yaml_mapping(text: str, *, where: str, first_line: int) -> dict[str, RawField]:
    """Parse YAML that must be a mapping; keys keep their line numbers and scalars their text.

    ``first_line`` is the 1-based file line on which ``text`` starts, so messages point into the
    file the user edits (front matter starts on line 2 of a Markdown file).
    """
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters before any parsing
        raise UnreadableFile(f"{where}:{first_line}: not valid YAML: {' '.join(str(exc).split())}") from exc
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        if not isinstance(node, yaml.MappingNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
            raise UnreadableFile(
                f"{where}:{node.start_mark.line + first_line}: "
                f"expected a mapping of keys to values, found {kind}"
            )
        fields: dict[str, RawField] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + first_line
            if not isinstance(key_node, yaml.ScalarNode):
                raise UnreadableFile(f"{where}:{line}: keys must be plain names")
            key = key_node.value
            if key in fields:
                raise UnreadableFile(f"{where}:{line}: duplicate key {key!r} (first on {fields[key].origin})")
            plain = isinstance(value_node, yaml.ScalarNode) and not value_node.style
            fields[key] = RawField(
                value=_construct(loader, value_node, where, line),
                origin=f"line {line}",
                text=value_node.value if plain else None,
            )
        return fields
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"{mark.line + first_line}:{mark.column + 1}" if mark is not None else str(first_line)
        problem = exc.problem or exc.context or "invalid YAML"
        raise UnreadableFile(f"{where}:{line}: not valid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise UnreadableFile(f"{where}:{first_line}: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()


def _construct(loader: yaml.SafeLoader, node: yaml.Node, where: str, line: int) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:
        # A date-shaped scalar that is no date ("2026-13-45") makes PyYAML raise ValueError: keep the
        # text, so the field is reported as not a date instead of the whole file as unreadable.
        if isinstance(node, yaml.ScalarNode):
            return node.value
        raise UnreadableFile(f"{where}:{line}: invalid value ({exc})") from exc


def json_safe(value: Any) -> JSONValue:
    """A JSON-serialisable copy of a YAML or PDF value; dates become ISO strings, sets sorted lists."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=str)
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def parse_date(value: Any) -> str | None:
    """An ISO ``YYYY-MM-DD`` for a date, a datetime, an ISO string or a PDF date (``D:20260115...``)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    pdf = re.fullmatch(r"D:(\d{4})(\d{2})(\d{2}).*", text)
    if pdf:
        text = "-".join(pdf.groups())
    for parse in (date.fromisoformat, lambda raw: datetime.fromisoformat(raw.replace("Z", "+00:00")).date()):
        try:
            return parse(text).isoformat()
        except ValueError:
            continue
    return None


def build_data(fields: Mapping[str, RawField], report: Callable[[str], None]) -> dict[str, JSONValue]:
    """The metadata part of a ``document`` item.

    A value that cannot be normalised is reported, left null, and kept as written in ``extra``.
    """
    data: dict[str, JSONValue] = {}
    extra: dict[str, JSONValue] = {}
    for name in TEXT_FIELDS:
        data[name] = _text(name, fields.get(name), report, extra)
    data["status"] = _status(fields.get("status"), report, extra)
    for name in DATE_FIELDS:
        data[name] = _date(name, fields.get(name), report, extra)
    data["review_interval_days"] = _interval(fields.get("review_interval_days"), report, extra)
    for name in LIST_FIELDS:
        data[name] = _strings(name, fields.get(name), report)
    for name, raw in sorted(fields.items()):
        if name not in KNOWN_FIELDS:
            extra[name] = json_safe(raw.value)
    data["extra"] = dict(sorted(extra.items()))
    return data


def _text(
    name: str, raw: RawField | None, report: Callable[[str], None], extra: dict[str, JSONValue]
) -> str | None:
    if raw is None or raw.value is None:
        return None
    if isinstance(raw.value, str):
        return raw.value.strip() or None
    if isinstance(raw.value, bool | int | float | date):
        # ``version: 1.10`` must stay "1.10", not the float 1.1: take the scalar as written when known.
        return raw.text if raw.text is not None else str(json_safe(raw.value))
    report(f"{raw.origin}: {name} must be a single text value, not a {type(raw.value).__name__}")
    extra[name] = json_safe(raw.value)
    return None


def _status(raw: RawField | None, report: Callable[[str], None], extra: dict[str, JSONValue]) -> str | None:
    if raw is None or raw.value is None:
        return None
    if isinstance(raw.value, str):
        status = re.sub(r"[\s_]+", "-", raw.value.strip().lower())
        if status in STATUSES:
            return status
    report(f"{raw.origin}: status {raw.value!r} is not one of {', '.join(STATUSES)}")
    extra["status"] = json_safe(raw.value)
    return None


def _date(
    name: str, raw: RawField | None, report: Callable[[str], None], extra: dict[str, JSONValue]
) -> str | None:
    if raw is None or raw.value is None or raw.value == "":
        return None
    parsed = parse_date(raw.value)
    if parsed is None:
        report(f"{raw.origin}: {name} {json_safe(raw.value)!r} is not a date (expected YYYY-MM-DD)")
        extra[name] = json_safe(raw.value)
    return parsed


def _interval(raw: RawField | None, report: Callable[[str], None], extra: dict[str, JSONValue]) -> int | None:
    if raw is None or raw.value is None:
        return None
    value = raw.value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*(?:d|days?)?\s*", value)
        if match:
            return int(match.group(1))
    report(f"{raw.origin}: review_interval_days {json_safe(value)!r} is not a whole number of days")
    extra["review_interval_days"] = json_safe(value)
    return None


def _strings(name: str, raw: RawField | None, report: Callable[[str], None]) -> list[JSONValue]:
    if raw is None or raw.value is None:
        return []
    value = raw.value
    if isinstance(value, str):
        # PDF and DOCX properties are flat strings: "fraud-scoring, support-chatbot".
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        report(f"{raw.origin}: {name} must be a list of text values, not a {type(value).__name__}")
        return []
    items: list[JSONValue] = []
    for item in value:
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            if str(item).strip():
                items.append(str(item).strip())
        else:
            report(f"{raw.origin}: {name} entry {json_safe(item)!r} is not a text value; skipped")
    return items
