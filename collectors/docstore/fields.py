"""Turning the metadata a file carries (front matter, PDF info, DOCX properties) into ``document`` data."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import yaml

from annexa.collectors.docstore.schema import (
    ALIASED_FIELDS,
    CLOSED_TYPE_FIELDS,
    CONTRACT,
    DATE_FIELDS,
    LIST_FIELDS,
    METADATA_FIELDS,
    STATUSES,
    TEXT_FIELDS,
)
from annexa.model.evidence import JSONValue
from annexa.plugins import CollectorError, ContractField, has_content


class UnreadableFile(CollectorError):
    """A file (or its sidecar) cannot be parsed; the message already names the file and line."""


@dataclass(frozen=True, slots=True)
class RawField:
    """One metadata value as read, before normalisation."""

    value: Any
    origin: str  # where it was read, for problem messages: "line 7", "PDF key /Approver"
    text: str | None = None  # the scalar as written, when the format keeps it (YAML)
    name: str | None = None  # the name as written, when it is not the field's own (a label, a mapped key)
    # Other names of the same source that gave the same field and lost to this one (reported, not read).
    shadowed: tuple[RawField, ...] = ()

    def written(self, key: str) -> str:
        """The name this value was written under."""
        return self.name if self.name is not None else key


KNOWN_FIELDS = frozenset(METADATA_FIELDS)

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


def _by_spelling(spellings: Mapping[Any, tuple[str, ...]]) -> dict[str, Any]:
    """``{meaning: (spelling, ...)}`` turned round: spelling -> meaning."""
    return {spelling: meaning for meaning, names in spellings.items() for spelling in names}


# Row labels of a "Document control" table, as Word policy templates write them (lower case, words only).
CONTROL_LABELS: dict[str, str] = _by_spelling({
    "id": ("document id", "doc id", "document number", "document no", "doc no", "document ref",
           "document reference", "reference", "policy id", "policy number", "policy reference", "id"),
    "title": ("document title", "title", "policy title", "document name", "policy name"),
    "type": ("document type", "doc type", "type"),
    "version": ("version", "version number", "version no", "current version", "document version"),
    "status": ("status", "document status", "approval status"),
    "owner": ("owner", "document owner", "policy owner", "process owner", "accountable owner", "owned by"),
    "approver": ("approver", "approved by", "approval authority", "approving body", "approving authority",
                 "authorised by", "authorized by", "signed off by"),
    "approved_on": ("approval date", "approved on", "approved date", "date approved", "date of approval",
                    "sign off date"),
    "last_reviewed": ("last reviewed", "last review", "last review date", "date of last review",
                      "reviewed on", "date reviewed"),
    "next_review_due": ("next review", "next review date", "next review due", "review due",
                        "review due date", "due for review", "scheduled review"),
    "review_interval_days": ("review interval days", "review interval in days"),
    "ai_systems": ("ai systems", "ai system", "ai systems in scope"),
    "controls": ("annex a controls", "controls"),
    "related_policies": ("related policies", "related documents"),
})  # fmt: skip

# Names that are close to a field but not it: told with "did you mean", never read as the field (a guess
# would put a value where a rule trusts it). Several candidates: the name can mean either.
NEAR_MISSES: dict[str, tuple[str, ...]] = {
    **_by_spelling({
        ("approver",): ("approved_by", "approval_by", "approver_name", "signed_off_by", "authorised_by",
                        "authorized_by"),
        ("approved_on",): ("approval_date", "date_approved", "approved_date", "approved_at", "approval_on"),
        ("next_review_due",): ("next_review", "next_review_date", "review_due", "due_for_review",
                               "next_review_on"),
        ("last_reviewed",): ("reviewed_on", "last_review", "last_review_date", "reviewed", "date_reviewed",
                             "last_reviewed_on", "reviewed_at"),
        ("type",): ("doc_type", "document_type", "kind", "category", "doctype"),
        ("ai_systems",): ("system", "systems", "ai_system", "ai_system_ids", "ai_system_id"),
        ("id",): ("doc_id", "document_id", "identifier", "reference", "ref", "docid"),
        ("title",): ("document_title", "name"),
        ("owner",): ("document_owner", "policy_owner", "owned_by", "accountable_owner"),
        ("review_interval_days",): ("review_interval", "review_frequency", "review_cycle", "review_period"),
        ("controls",): ("annex_a", "annex_a_controls", "control_ids"),
        ("related_policies",): ("related", "related_documents", "references"),
        ("status",): ("state", "doc_status", "document_status", "approval_status"),
        ("version",): ("version_number", "doc_version", "document_version"),
    }),
    "review_date": ("last_reviewed", "next_review_due"),  # either, by organisation: never guessed
}  # fmt: skip

# Keys the formats themselves write (PDF info, DOCX core properties, store metadata): never near misses.
FORMAT_KEYS = frozenset({
    "author", "creator", "producer", "subject", "keywords", "created", "modified", "creation_date",
    "mod_date", "trapped", "last_modified_by", "revision", "labels", "confluence_status", "s3_metadata",
    "s3_tags",
})  # fmt: skip

# Status values that mean one of the statuses in many organisations, but are not it: said, not mapped.
STATUS_NEAR_MISSES: dict[str, str] = _by_spelling({
    "approved": ("final", "published", "released", "issued", "live", "active", "effective", "current",
                 "signed off", "signed-off", "ratified", "endorsed", "accepted"),
    "in-review": ("under review", "review", "for review", "pending approval", "pending", "awaiting approval",
                  "submitted"),
    "draft": ("wip", "work in progress", "working draft", "proposed", "initial draft", "new"),
    "retired": ("obsolete", "superseded", "withdrawn", "archived", "deprecated", "expired", "inactive",
                "cancelled", "canceled"),
})  # fmt: skip

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def normal_name(name: str) -> str:
    """``/LastReviewed``, ``Last Reviewed``, ``last-reviewed`` -> ``last_reviewed`` (no aliases)."""
    key = _CAMEL.sub("_", name.lstrip("/").strip())
    return re.sub(r"[\s\-.:]+", "_", key).strip("_").lower()


def property_key(name: str) -> str:
    """``/LastReviewed``, ``Last Reviewed``, ``last-reviewed`` -> ``last_reviewed`` (aliases applied)."""
    key = normal_name(name)
    return PROPERTY_ALIASES.get(key, key)


def label_words(label: str) -> str:
    """A table label as compared with :data:`CONTROL_LABELS`: "Approved by:" -> "approved by"."""
    return " ".join(re.sub(r"[^\w]+", " ", label.replace("_", " ")).lower().split())


def _fold(value: str) -> str:
    return " ".join(value.casefold().split())


@dataclass(frozen=True, slots=True)
class Naming:
    """How names map onto fields: the organisation's own names (``collectors.documents.field_map`` and
    ``value_aliases``) first, then the spellings each format uses.

    A name's *scheme* says which spellings apply: ``yaml`` (front matter, sidecars: the name is the field,
    exactly), ``property`` (PDF info keys, DOCX custom properties, store metadata: spelling normalised,
    :data:`PROPERTY_ALIASES`) or ``label`` (rows of a document-control table: :data:`CONTROL_LABELS`).
    """

    field_map: Mapping[str, str] = field(default_factory=dict)  # normalised own name -> field
    value_aliases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # field -> folded -> value

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Naming:
        return cls(
            field_map={normal_name(str(k)): str(v) for k, v in (config.get("field_map") or {}).items()},
            value_aliases={
                str(name): {_fold(str(k)): str(v) for k, v in aliases.items()}
                for name, aliases in (config.get("value_aliases") or {}).items()
            },
        )

    def mapped(self, name: str) -> str | None:
        """The field the organisation's ``field_map`` maps ``name`` to, if it does."""
        return self.field_map.get(normal_name(name))

    def key(self, name: str, scheme: str) -> str:
        """The field (or ``extra`` key) a name written under ``scheme`` stands for."""
        mapped = self.mapped(name)
        if mapped is not None:
            return mapped
        if scheme == "yaml":
            return name
        if scheme == "label":
            return CONTROL_LABELS.get(label_words(name)) or property_key(name)
        return property_key(name)

    def value(self, name: str, value: Any) -> Any:
        """``value`` with the organisation's alias for it, if any (case and spacing do not matter)."""
        aliases = self.value_aliases.get(name)
        if aliases and isinstance(value, str):
            return aliases.get(_fold(value), value)
        return value


def add_field(fields: dict[str, RawField], key: str, raw: RawField) -> None:
    """Put ``raw`` under ``key`` in the fields of one source. When two names of that source give the same
    field, the one spelt as the field wins (else the first) and the other is kept for a problem line."""
    held = fields.get(key)
    if held is None:
        fields[key] = raw
        return
    if raw.written(key) == key and held.written(key) != key:
        held, raw = raw, held
    fields[key] = replace(held, shadowed=(*held.shadowed, raw, *raw.shadowed))


def near_miss(key: str, name: str | None = None) -> tuple[str, ...]:
    """The fields an unknown key (``name`` as written) was probably meant to be; empty when none is close."""
    if key in KNOWN_FIELDS or key in FORMAT_KEYS:
        return ()
    for candidate in (key, normal_name(name or key)):
        if candidate in KNOWN_FIELDS:
            return (candidate,)  # "Owner", "last-reviewed": the field, spelt otherwise
        if candidate in NEAR_MISSES:
            return NEAR_MISSES[candidate]
    normal = normal_name(key)
    return tuple(
        meant
        for meant in difflib.get_close_matches(normal, sorted(KNOWN_FIELDS), n=1, cutoff=0.8)
        # "use_approved_on", "owner_team": a field named for more than the field, on purpose, not a typo.
        if f"_{meant}_" not in f"_{normal}_"
    )


def is_marked(fields: Mapping[str, RawField]) -> bool:
    """Whether a file carries recognisable document metadata: a type or a status, or a near miss of one."""
    return any(
        key in ("type", "status") or {"type", "status"} & set(near_miss(key, raw.name))
        for key, raw in fields.items()
    )


def load_yaml_mapping(
    text: str, *, where: str, first_line: int, naming: Naming | None = None, origin: str = ""
) -> dict[str, RawField]:
    """Parse YAML that must be a mapping; keys keep their line numbers and scalars their text.

    ``first_line`` is the 1-based file line on which ``text`` starts, so messages point into the
    file the user edits (front matter starts on line 2 of a Markdown file). A key repeated is an error:
    which of the two values is meant cannot be told. Keys are read as fields through ``naming`` (the
    organisation's ``field_map``); ``origin`` prefixes each field's origin ("x.meta.yaml").
    """
    naming = naming or Naming()
    prefix = f"{origin} " if origin else ""
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
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + first_line
            if not isinstance(key_node, yaml.ScalarNode):
                raise UnreadableFile(f"{where}:{line}: keys must be plain names")
            name = key_node.value
            if name in lines:
                raise UnreadableFile(
                    f"{where}:{line}: duplicate key {name!r} (first on line {lines[name]}): "
                    "which value is meant cannot be told; keep one"
                )
            lines[name] = line
            plain = isinstance(value_node, yaml.ScalarNode) and not value_node.style
            key = naming.key(name, "yaml")
            add_field(
                fields,
                key,
                RawField(
                    value=_construct(loader, value_node, where, line),
                    origin=f"{prefix}line {line}",
                    text=value_node.value if plain else None,
                    name=None if name == key else name,
                ),
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


def unfilled_to_null(value: JSONValue) -> JSONValue:
    """A metadata value that says nothing is no value: a blank or placeholder text (TBD, ``[insert …]``),
    an empty mapping, or a mapping or list whose every entry says nothing becomes null, so that a rule
    asking for the value (``!= null``) is not satisfied by a template left unfilled. An empty list stays
    as written: ``suppliers: []`` states that there are none."""
    if isinstance(value, str):
        return value if has_content([value]) else None
    if isinstance(value, dict):
        kept = {key: unfilled_to_null(item) for key, item in value.items()}
        return kept if any(item is not None for item in kept.values()) else None
    if isinstance(value, list) and value:
        said: list[JSONValue] = [item for item in map(unfilled_to_null, value) if item is not None]
        return said or None
    return value


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


_MONTHS = {
    name: number
    for number, names in enumerate(
        (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")),
        start=1,
    )
    for name in names
}  # fmt: skip
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})")
_MONTH_DAY_YEAR = re.compile(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")


def parse_date(value: Any) -> str | None:
    """An ISO ``YYYY-MM-DD`` for a date, a datetime, an ISO string, a PDF date (``D:20260115...``) or a
    date with its month in words as Word tables hold them ("12 March 2026", "March 12, 2026"). Numeric
    dates such as 03/04/2026 are not read: day and month cannot be told apart."""
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
    return _worded_date(text.lower())


def _worded_date(text: str) -> str | None:
    for pattern, order in ((_DAY_MONTH_YEAR, (0, 1, 2)), (_MONTH_DAY_YEAR, (1, 0, 2))):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        day, month, year = (match.group(index + 1) for index in order)
        if month not in _MONTHS:
            return None
        try:
            return date(int(year), _MONTHS[month], int(day)).isoformat()
        except ValueError:
            return None
    return None


def build_data(
    fields: Mapping[str, RawField], report: Callable[[str], None], naming: Naming | None = None
) -> dict[str, JSONValue]:
    """The metadata part of a ``document`` item.

    The common fields are top-level; the type-specific fields the evidence contract declares for the
    document's type go to ``metadata``, each present (null when not given), typed as declared. A value
    that cannot be normalised, is of another type or is outside the allowed values is reported, left null,
    and kept as written in ``extra``. A key that is no field goes to ``extra``; when it is close to one,
    the user is told which ("did you mean").
    The organisation's ``value_aliases`` (in ``naming``) rename values before they are normalised.
    """
    naming = naming or Naming()
    fields = {
        key: replace(raw, value=_aliased(naming, key, raw.value))
        if key in ALIASED_FIELDS or key in CLOSED_TYPE_FIELDS
        else raw
        for key, raw in fields.items()
    }
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
    for key, raw in fields.items():
        for lost in raw.shadowed:
            if json_safe(lost.value) != json_safe(raw.value):
                report(
                    f"{_named(lost, key)} also gives {key} ({json_safe(lost.value)!r}); "
                    f"{_named(raw, key)} is used"
                )
    data["type"] = _document_type(data["type"], fields.get("type"), report)
    # The type-specific metadata the contract declares for the document's type, each field typed.
    doc_type = data["type"] if isinstance(data["type"], str) else None
    declared = CONTRACT.document_type(doc_type) if doc_type else None
    metadata: dict[str, JSONValue] = {}
    for field_ in declared.fields if declared else ():
        given = fields.get(field_.name)
        metadata[field_.name] = None if given is None else _declared(field_, given, report, extra)
    # A required field that is not there at all (one given but unreadable is told above).
    absent = [f.name for f in declared.fields if f.required and f.name not in fields] if declared else []
    if absent:
        report(
            f"{doc_type} metadata required by the evidence contract is not given: {', '.join(absent)}; the "
            "rules that read it cannot pass without it (docs/evidence.md lists each field)"
        )
    for name, raw in sorted(fields.items()):
        if name in KNOWN_FIELDS or name in metadata:
            continue
        value = json_safe(raw.value)
        extra[name] = unfilled_to_null(value)
        if extra[name] is None and value is not None:
            report(f"{_named(raw, name)} holds no value ({value!r}): read as not given")
        meant = near_miss(name, raw.name)
        what = "a document field"
        if not meant:
            meant = _type_near_miss(name, raw.name, declared)
            what = f"metadata the evidence contract declares for {doc_type}"
        if meant:
            report(
                f"{_named(raw, name)} is not {what}: "
                f"did you mean {' or '.join(repr(field) for field in meant)}? It is kept in extra, which "
                "no rule reads: rename it, or map it with collectors.documents.field_map"
            )
    data["metadata"] = metadata
    data["extra"] = dict(sorted(extra.items()))
    return data


def _document_type(value: JSONValue, raw: RawField | None, report: Callable[[str], None]) -> JSONValue:
    """A document type as the rules know it: case and separators are spelling ("AI System Record",
    "ai_system_record" are ai-system-record); a type annexa has renamed (the contract's renamed_types) is
    read as its new name, with a problem line; a near miss of a known type is told with "did you mean" and
    kept as written (it may be the organisation's own type: no rule reads it)."""
    if not isinstance(value, str) or raw is None or value in CONTRACT.type_names:
        return value
    spelt = re.sub(r"[\s_]+", "-", value.strip().lower())
    renamed = CONTRACT.renamed_types.get(spelt)
    if renamed is not None:
        report(
            f"{raw.origin}: type {value!r} was renamed {renamed!r} (the reference catalog's name): read as "
            f"{renamed}; rename it in the document, or map it with collectors.documents.value_aliases"
        )
        return renamed
    if spelt in CONTRACT.type_names:
        return spelt
    meant = difflib.get_close_matches(spelt, CONTRACT.type_names, n=1, cutoff=0.8)
    if meant:
        report(
            f"{raw.origin}: type {value!r} is not a document type the rules know: did you mean {meant[0]!r}? "
            f"If {value!r} means {meant[0]} here, say so with collectors.documents.value_aliases: "
            f"{{type: {{{value!r}: {meant[0]}}}}}"
        )
    return value


def _type_near_miss(key: str, name: str | None, declared: Any) -> tuple[str, ...]:
    """The declared type-specific field an unknown key is a misspelling of (``acountable_executive``)."""
    if declared is None or key in FORMAT_KEYS:
        return ()
    names = [field_.name for field_ in declared.fields]
    normal = normal_name(name or key)
    if normal in names:
        return (normal,)  # "Accountable Executive", "public-channel": the field, spelt otherwise
    return tuple(difflib.get_close_matches(normal, names, n=1, cutoff=0.85))


class _NotAsDeclared(ValueError):
    """A metadata value that is not of its declared type or not one of its allowed values."""


def _declared(
    field_: ContractField, raw: RawField, report: Callable[[str], None], extra: dict[str, JSONValue]
) -> JSONValue:
    """A type-specific field's value, typed as the contract declares it; a value that says nothing, is
    of another type or is outside the allowed values is reported and read as not given (null), and kept
    as written in ``extra``."""
    written = json_safe(raw.value)
    said = unfilled_to_null(written)
    if said is None:
        if written is not None:
            report(f"{_named(raw, field_.name)} holds no value ({written!r}): read as not given")
        return None
    problems: list[str] = []
    try:
        return _typed(field_, said, raw.text, field_.name, problems.append)
    except _NotAsDeclared as exc:
        report(f"{_named(raw, field_.name)}: {exc}; read as not given")
        extra[field_.name] = written
        return None
    finally:
        for problem in problems:
            report(f"{_named(raw, field_.name)}: {problem}")


def _typed(
    field_: ContractField, value: JSONValue, text: str | None, path: str, note: Callable[[str], None]
) -> JSONValue:
    """``value`` as ``field_`` declares it, or :class:`_NotAsDeclared`. Members of an object (or of each
    object of a list) that are not as declared are noted and read as null, the rest kept."""
    kind = field_.type
    if kind == "string":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _NotAsDeclared(f"{path} must be a single text value, not {_a(value)}")
        text_value = value.strip() if isinstance(value, str) else (text or str(value))
        return _allowed_value(field_, text_value, path)
    if kind == "date":
        parsed = parse_date(value)
        if parsed is None:
            raise _NotAsDeclared(f"{path} {value!r} is not a date (expected YYYY-MM-DD)")
        return parsed
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and _fold(value) in _BOOLEANS:
            return _BOOLEANS[_fold(value)]  # DOCX custom properties and PDF keys hold text
        raise _NotAsDeclared(f"{path} {value!r} is not true or false")
    if kind in ("integer", "number"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "number" and isinstance(value, float):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
            return int(value)
        raise _NotAsDeclared(
            f"{path} {value!r} is not {'a whole number' if kind == 'integer' else 'a number'}"
        )
    if kind == "list of strings":
        items = [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise _NotAsDeclared(f"{path} must be a list of text values, not {_a(value)}")
        listed: list[JSONValue] = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise _NotAsDeclared(f"{path} entry {item!r} is not a text value")
            listed.append(_allowed_value(field_, str(item).strip(), path))
        return listed
    if kind == "list of objects":
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise _NotAsDeclared(f"{path} must be a list of mappings (key: value entries), not {_a(value)}")
        entries = [item for item in value if isinstance(item, dict)]
        return [_members(field_, item, f"{path}[{index}]", note) for index, item in enumerate(entries)]
    if kind == "object":
        if not isinstance(value, dict):
            raise _NotAsDeclared(f"{path} must be a mapping (key: value entries), not {_a(value)}")
        return _members(field_, value, path, note)
    return value  # a member whose type the contract leaves open


def _members(
    field_: ContractField, value: dict[str, JSONValue], path: str, note: Callable[[str], None]
) -> JSONValue:
    kept = dict(value)
    for member in field_.fields:
        if kept.get(member.name) is None:
            continue
        try:
            kept[member.name] = _typed(member, kept[member.name], None, f"{path}.{member.name}", note)
        except _NotAsDeclared as exc:
            note(f"{exc}; read as not given")
            kept[member.name] = None
    return kept


_BOOLEANS = {"true": True, "yes": True, "y": True, "false": False, "no": False, "n": False}


def _allowed_value(field_: ContractField, value: str, path: str) -> str:
    """``value`` if the field allows it (case and spacing do not matter), else :class:`_NotAsDeclared`
    with the closest allowed value and how to map an organisation's own."""
    if not field_.allowed:
        return value
    spelt = {re.sub(r"[\s\-]+", "_", _fold(allowed)): allowed for allowed in field_.allowed}
    found = spelt.get(re.sub(r"[\s\-]+", "_", _fold(value)))
    if found is not None:
        return found
    meant = difflib.get_close_matches(value.lower(), list(field_.allowed), n=1, cutoff=0.6)
    hint = (
        f"; did you mean {meant[0]!r}? If {value!r} means {meant[0]} here, say so with "
        f"collectors.documents.value_aliases: {{{field_.name}: {{{value!r}: {meant[0]}}}}}"
        if meant
        else ""
    )
    raise _NotAsDeclared(f"{path} {value!r} is not one of {', '.join(field_.allowed)}{hint}")


def _a(value: JSONValue) -> str:
    """How a value's type is named in a problem line."""
    if isinstance(value, bool):
        return "true or false"
    return {dict: "a mapping", list: "a list", int: "a number", float: "a number", str: "a text"}.get(
        type(value), type(value).__name__
    )


def _named(raw: RawField, key: str) -> str:
    """Where a value was read and under which name: "line 4: key 'approved_by'", "DOCX custom property
    'Approved By'" (whose origin already names it)."""
    written = raw.written(key)
    return raw.origin if raw.origin.endswith((written, repr(written))) else f"{raw.origin}: key {written!r}"


def _aliased(naming: Naming, name: str, value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [naming.value(name, item) for item in value]
    if name in LIST_FIELDS and isinstance(value, str) and naming.value_aliases.get(name):
        return [naming.value(name, part.strip()) for part in value.split(",") if part.strip()]
    return naming.value(name, value)


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
    hint = ""
    if isinstance(raw.value, str):
        # Case and spacing are spelling ("Approved", "In review"): the same status, safely.
        status = re.sub(r"[\s_]+", "-", raw.value.strip().lower())
        if status in STATUSES:
            return status
        meant = STATUS_NEAR_MISSES.get(_fold(raw.value)) or next(
            iter(difflib.get_close_matches(status, STATUSES, n=1, cutoff=0.75)), None
        )
        if meant is not None:
            hint = (
                f"; did you mean {meant!r}? If {raw.value.strip()!r} means {meant} here, say so with "
                f"collectors.documents.value_aliases: {{status: {{{raw.value.strip()!r}: {meant}}}}}"
            )
    report(f"{raw.origin}: status {raw.value!r} is not one of {', '.join(STATUSES)}{hint}")
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
