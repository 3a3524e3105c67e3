"""The built-in ``attestations`` collector: people stating in YAML that a manual control is in place.

A file holds one attestation (a mapping) or several (a list of mappings)::

    id: ATT-A.3.3-2026
    control: A.3.3
    statement: Concerns can be raised anonymously through the ethics hotline; each is triaged in 5 days.
    attested_by: Dana Whitfield
    role: Head of Compliance
    attested_on: 2026-03-02
    expires: 2027-03-02
    links: [https://intranet.example/ethics-hotline]
    ai_systems: [fraud-scoring]

The collector checks shape, not truth or currency: an expired or unknown-control attestation is
still evidence; the rules decide what it is worth.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annexa.model.evidence import Evidence, JSONValue
from annexa.plugins import CollectorError, CollectorSpec, CollectRequest, hookimpl

if TYPE_CHECKING:
    import yaml

NAME = "attestations"
VERSION = "0.1.0"
KIND = "attestation"

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "collectors.attestations",
    "type": "object",
    "properties": {
        "path": {"type": "string", "minLength": 1, "description": "Folder of attestation YAML files."}
    },
    "required": ["path"],
    "additionalProperties": False,
}

_DATE: dict[str, Any] = {"type": "string", "format": "date"}
_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

ATTESTATION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "attestation",
    "description": "A named person's statement that a manual control is in place.",
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "As written, else FILE-STEM (or FILE-STEM#N in a list)."},
        "control": {"type": "string", "description": "Annex A control id as written, e.g. A.3.3."},
        "statement": {"type": "string"},
        "attested_by": {"type": "string"},
        "role": {"type": "string"},
        "attested_on": _DATE,
        "expires": {"type": ["string", "null"], "format": "date"},
        "links": _STRINGS,
        "ai_systems": _STRINGS,
        "path": {"type": "string", "description": "POSIX path of the file relative to the folder."},
    },
    "required": [
        "id",
        "control",
        "statement",
        "attested_by",
        "role",
        "attested_on",
        "expires",
        "links",
        "ai_systems",
        "path",
    ],
    "additionalProperties": False,
}

REQUIRED_KEYS = ("control", "statement", "attested_by", "role", "attested_on")
OPTIONAL_KEYS = ("id", "expires", "links", "ai_systems")
KNOWN_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS
YAML_SUFFIXES = (".yaml", ".yml")


class InvalidAttestation(CollectorError):
    """One attestation (or a whole file) cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class _Value:
    value: Any
    text: str | None  # the scalar as written: "A.10" must not become the float 10.0's "10.0"
    line: int


class AttestationsCollector:
    """Reads attestation files; checks their shape only, never whether they are current or true."""

    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        if request.kinds and KIND not in request.kinds:  # an empty set asks for every kind
            return
        given = str(request.config["path"])
        root = Path(given) if Path(given).is_absolute() else Path(request.base_path) / given
        if not root.is_dir():
            what = "does not exist" if not root.exists() else "is not a folder"
            raise CollectorError(
                f"attestation folder {given!r} {what} (looked at {root})",
                hint="paths are relative to the folder of the configuration file",
            )
        label = root.resolve().name or "root"
        for rel in _yaml_files(root):
            source = f"file:{label}/{rel}"
            stem = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            try:
                entries = _load(root / rel, rel)
            except InvalidAttestation as exc:
                _defective(request, _file_source(root / rel, source, stem), exc.message)
                request.report_problem(source, exc.message)
                continue
            for index, (line, node) in enumerate(entries, start=1):
                fallback_id = stem if len(entries) == 1 else f"{stem}#{index}"
                try:
                    data = _attestation(node, rel, line, fallback_id, request, source)
                except InvalidAttestation as exc:
                    _defective(request, f"{source}#{_entry_id(node, fallback_id)}", exc.message)
                    request.report_problem(source, exc.message)
                    continue
                yield Evidence(
                    kind=KIND,
                    source=f"{source}#{data['id']}",
                    scope={"store": given},
                    collector=f"{NAME} {VERSION}",
                    collected_at=request.now,
                    data=data,
                )


def _defective(request: CollectRequest, source: str, message: str) -> None:
    """An attestation that is there but unreadable or malformed: a defective ``attestation``, which every
    rule over attestations fails on, never an absence."""
    request.report_defect(KIND, source, message)


def _entry_id(node: dict[str, _Value], fallback_id: str) -> str:
    """The id an entry's item would have had: its ``id`` as written when that is text, else the fallback."""
    given = node.get("id")
    if given is not None and isinstance(given.value, str | int | float) and not isinstance(given.value, bool):
        text = given.value.strip() if isinstance(given.value, str) else given.text
        if text:
            return text
    return fallback_id


_ID_LINE = re.compile(r"^id:[ \t]*(?P<id>[^#\n]*?)[ \t]*(?:#.*)?$", re.MULTILINE)


def _file_source(path: Path, source: str, stem: str) -> str:
    """The source of the item a file that cannot be read as attestations stands for.

    A file holds one attestation (``file:…#ID``, the id as written, else the file stem) or a list of
    them. When the text shows one top-level ``id:`` and no list, the item it would have given is named
    exactly, so a finding on that attestation follows it when it breaks; otherwise the file itself.
    """
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return f"{source}#{stem}"
    if re.search(r"^-(?:[ \t]|$)", text, re.MULTILINE):
        return source  # a list: which attestations it held cannot be told
    ids = [match.group("id").strip("'\"") for match in _ID_LINE.finditer(text)]
    if len(ids) == 1 and ids[0]:
        return f"{source}#{ids[0]}"
    return f"{source}#{stem}" if not ids else source


def _yaml_files(root: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        found.extend(
            (Path(folder) / name).relative_to(root).as_posix()
            for name in names
            if name.endswith(YAML_SUFFIXES) and not name.startswith(".")
        )
    return sorted(found)


def _load(path: Path, rel: str) -> list[tuple[int, dict[str, _Value]]]:
    """The attestations of one file: (line, key -> value) for each mapping in it."""
    try:
        text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InvalidAttestation(f"{rel}: not UTF-8 text (byte offset {exc.start})") from exc
    except OSError as exc:
        raise InvalidAttestation(f"{rel}: cannot be read ({exc.strerror or exc})") from exc
    import yaml  # on the first file read: registering the collector does not need it

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InvalidAttestation(f"{rel}:1: the file is empty; expected an attestation mapping or a list")
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        entries: list[tuple[int, dict[str, _Value]]] = []
        for item in items:
            line = item.start_mark.line + 1
            if not isinstance(item, yaml.MappingNode):
                raise InvalidAttestation(
                    f"{rel}:{line}: expected an attestation mapping (control, statement, ...)"
                )
            mapping: dict[str, _Value] = {}
            for key_node, value_node in item.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise InvalidAttestation(f"{rel}:{key_line}: keys must be plain names")
                if key_node.value in mapping:
                    raise InvalidAttestation(f"{rel}:{key_line}: duplicate key {key_node.value!r}")
                plain = isinstance(value_node, yaml.ScalarNode) and not value_node.style
                mapping[key_node.value] = _Value(
                    value=_construct(loader, value_node, rel, key_line),
                    text=value_node.value if plain else None,
                    line=key_line,
                )
            entries.append((line, mapping))
        return entries
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "1"
        raise InvalidAttestation(f"{rel}:{where}: not valid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise InvalidAttestation(f"{rel}: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()


def _construct(loader: yaml.SafeLoader, node: yaml.Node, rel: str, line: int) -> Any:
    import yaml  # imported by _load already

    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:
        # PyYAML raises ValueError for date-shaped scalars that are no date ("2027-13-45"): keep the
        # text so the check below names the key and the value.
        if isinstance(node, yaml.ScalarNode):
            return node.value
        raise InvalidAttestation(f"{rel}:{line}: invalid value ({exc})") from exc


# Keys people write for a field, close to it but not it: told with "did you mean", never read as it (an
# attestation is a signed statement; its date is not guessed).
NEAR_MISSES = {
    **dict.fromkeys(("date", "attestation_date", "attested_at", "attested_date", "signed_on", "signed_at",
                     "date_attested", "signed", "on"), "attested_on"),
    **dict.fromkeys(("attester", "attestor", "signed_by", "attested", "by", "name", "signatory"),
                    "attested_by"),
    **dict.fromkeys(("title", "job_title", "position"), "role"),
    **dict.fromkeys(("expiry", "expires_on", "expiration", "expiry_date", "valid_until", "expiration_date"),
                    "expires"),
    **dict.fromkeys(("control_id", "controls", "annex_a"), "control"),
    **dict.fromkeys(("system", "systems", "ai_system"), "ai_systems"),
    **dict.fromkeys(("link", "url", "urls", "evidence", "references"), "links"),
    **dict.fromkeys(("text", "statement_text", "description", "claim"), "statement"),
}  # fmt: skip


def near_miss(key: str) -> str | None:
    """The attestation key ``key`` was probably meant to be, or None."""
    folded = re.sub(r"[\s\-]+", "_", key.strip()).lower()
    if folded in KNOWN_KEYS:
        return folded  # "Attested_On", "attested-on": the key, spelt otherwise
    if folded in NEAR_MISSES:
        return NEAR_MISSES[folded]
    close = difflib.get_close_matches(folded, KNOWN_KEYS, n=1, cutoff=0.8)
    return close[0] if close and f"_{close[0]}_" not in f"_{folded}_" else None


def _attestation(
    node: dict[str, _Value], rel: str, line: int, fallback_id: str, request: CollectRequest, source: str
) -> dict[str, JSONValue]:
    unknown = sorted(set(node) - {*REQUIRED_KEYS, *OPTIONAL_KEYS}, key=lambda key: node[key].line)
    meant = {key: near_miss(key) for key in unknown}
    missing = [key for key in REQUIRED_KEYS if key not in node or node[key].value in (None, "")]
    # A near miss of a missing key belongs in the message that says it is missing: one line, not two.
    told = {key for key in unknown if meant[key] in missing}
    for key in unknown:
        if key in told:
            continue
        hint = f"did you mean {meant[key]!r}?" if meant[key] else f"known: {', '.join(KNOWN_KEYS)}"
        # A typo such as "expiry" would silently make an attestation never expire: say so.
        request.report_problem(source, f"{rel}:{node[key].line}: unknown key {key!r} ignored ({hint})")
    if missing:
        hints = "".join(
            f"; line {node[key].line} has {key!r}: did you mean {meant[key]!r}?"
            for key in unknown
            if key in told
        )
        raise InvalidAttestation(f"{rel}:{line}: attestation lacks {', '.join(missing)}{hints}")
    data: dict[str, JSONValue] = {
        "id": _text(node["id"], "id", rel) if "id" in node and node["id"].value is not None else fallback_id,
        "control": _text(node["control"], "control", rel),
        "statement": _text(node["statement"], "statement", rel),
        "attested_by": _text(node["attested_by"], "attested_by", rel),
        "role": _text(node["role"], "role", rel),
        "attested_on": _date(node["attested_on"], "attested_on", rel),
        "expires": _date(node["expires"], "expires", rel)
        if "expires" in node and node["expires"].value is not None
        else None,
        "links": _strings(node.get("links"), "links", rel),
        "ai_systems": _strings(node.get("ai_systems"), "ai_systems", rel),
        "path": rel,
    }
    return data


def _text(item: _Value, key: str, rel: str) -> str:
    if isinstance(item.value, str):
        return item.value.strip()
    if isinstance(item.value, int | float) and not isinstance(item.value, bool) and item.text is not None:
        return item.text
    raise InvalidAttestation(f"{rel}:{item.line}: {key} must be text, not {_type_name(item.value)}")


def _date(item: _Value, key: str, rel: str) -> str:
    value = item.value
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise InvalidAttestation(f"{rel}:{item.line}: {key} must be a date (YYYY-MM-DD), not {value!r}")


def _strings(item: _Value | None, key: str, rel: str) -> list[JSONValue]:
    if item is None or item.value is None:
        return []
    if isinstance(item.value, str):
        return [item.value.strip()] if item.value.strip() else []
    if isinstance(item.value, list) and all(isinstance(entry, str) for entry in item.value):
        return [entry.strip() for entry in item.value if entry.strip()]
    raise InvalidAttestation(f"{rel}:{item.line}: {key} must be a list of text values")


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "a boolean", type(None): "empty"}.get(
        type(value), type(value).__name__
    )


@hookimpl
def annexa_collectors() -> Iterator[CollectorSpec]:
    yield CollectorSpec(
        name=NAME,
        version=VERSION,
        kinds={KIND: ATTESTATION_SCHEMA},
        config_schema=CONFIG_SCHEMA,
        factory=AttestationsCollector,
        description="Signed-off statements that manual controls are in place (YAML files).",
    )
