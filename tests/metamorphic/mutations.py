"""Mutations that make one evidence file worse, per file format: pure functions of the file's bytes.

Each mutation returns the mutated bytes, or None when the file is deleted. ``mutants(path, family, data)``
lists every mutant of one file, named ``<path>:<mutation>`` ("governance/policies/ai-policy.md:demote").
What "worse" means comes from ../shared/reference/verdicts.md: the file is deleted, cannot be parsed
(garble), has its sections emptied or filled with TBD (hollow), loses its metadata (strip-metadata), is
demoted from approved to draft (demote), is aged (age: every review, approval, attestation, expiry and
next-review date moved back to 2000-01-01, past any maximum age; docs/freshness.md), or loses one field
(drop-KEY).

Families (see tests/metamorphic/estate.py, ``evidence_files``):

- ``markdown``: a governance document with YAML front matter;
- ``modelcard``: a Hugging Face style card (README.md with YAML metadata);
- ``attestation``, ``sidecar`` (``*.meta.yaml``) and ``yaml`` (any other YAML record, such as an inventory):
  a mapping, or a list of mappings;
- ``pdf`` and ``docx``: office documents with their metadata in the PDF info dictionary, or in the DOCX
  core and custom properties;
- ``other``: any other file (delete and garble only).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

# The document fields whose loss is worth a mutant of its own (front matter keys).
REQUIRED_FIELDS = ("id", "type", "status", "owner", "approver", "approved_on", "last_reviewed", "ai_systems")
TBD = "TBD"


@dataclass(frozen=True, slots=True)
class Mutant:
    path: str  # POSIX, relative to the estate root
    mutation: str  # "delete", "garble", "hollow-tbd", "drop-owner", ...
    content: bytes | None  # None: the file is deleted

    @property
    def id(self) -> str:
        return f"{self.path}:{self.mutation}"


Mutation = tuple[str, bytes | None]


def mutants(path: str, family: str, data: bytes) -> tuple[Mutant, ...]:
    """Every mutant of one file; a mutation that would not change the file is left out."""
    found = (Mutant(path, name, content) for name, content in MUTATIONS[family](data))
    return tuple(m for m in found if m.content != data)


# -- text and YAML helpers ------------------------------------------------------------------------------


def _text(data: bytes) -> str:
    return data.decode("utf-8")


def split_front_matter(text: str) -> tuple[str, str, str] | None:
    """(opening ``---`` line, the YAML between, the closing line and everything after), or None."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return lines[0], "".join(lines[1:index]), "".join(lines[index:])
    return None


_UNTERMINATED = 'summary: "an unterminated quote\n'
_STATUS_APPROVED = re.compile(
    r"^(\s*(?:-\s+)?status:[ \t]*)([\"']?)approved\2([ \t]*(?:#.*)?)$", re.MULTILINE
)


def garble_yaml(text: str) -> str:
    """A line that opens a double-quoted string and never closes it: no YAML parser gets past it."""
    return text + ("" if text.endswith("\n") or not text else "\n") + _UNTERMINATED


def demote_yaml(text: str) -> str | None:
    """``status: approved`` -> ``status: draft`` (every occurrence); None when there is none."""
    demoted, count = _STATUS_APPROVED.subn(r"\1\2draft\2\3", text)
    return demoted if count else None


# The dates an item's age runs from, and those it must be reviewed or renewed by (docs/freshness.md): the
# `age` mutation moves every one of them back to AGED_DATE, past any maximum age a configuration sets.
AGED_KEYS = ("last_reviewed", "approved_on", "attested_on", "expires", "next_review_due")
AGED_DATE = "2000-01-01"
_AGED = re.compile(
    r"^(\s*(?:-\s+)?(?:" + "|".join(AGED_KEYS) + r"):[ \t]*)([\"']?)[0-9]{4}-[0-9]{2}-[0-9]{2}\2",
    re.MULTILINE,
)


def age_yaml(text: str) -> str | None:
    """Every date of AGED_KEYS set to AGED_DATE (quotes kept); None when there is none."""
    aged, count = _AGED.subn(lambda m: f"{m.group(1)}{m.group(2)}{AGED_DATE}{m.group(2)}", text)
    return aged if count else None


def yaml_keys(text: str) -> list[tuple[int | None, str]]:
    """(entry, key) of every key of a mapping (entry None) or of each mapping in a list (entry 0, 1, ...)."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if isinstance(node, yaml.MappingNode):
        return [(None, key.value) for key, _ in node.value]
    if isinstance(node, yaml.SequenceNode):
        return [
            (index, key.value)
            for index, item in enumerate(node.value)
            if isinstance(item, yaml.MappingNode)
            for key, _ in item.value
        ]
    return []


_LINE_REST = re.compile(r"[ \t]*(?:#[^\n]*)?\n?")


def drop_yaml_key(text: str, key: str, entry: int | None = None) -> str:
    """``text`` without ``key`` (and its value, however many lines), in the mapping or list entry ``entry``.

    Works on the text, so comments and the formatting of every other key stay as written.
    """
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    mapping = node if entry is None else node.value[entry]
    for key_node, value_node in mapping.value:
        if key_node.value != key:
            continue
        start, end = key_node.start_mark.index, value_node.end_mark.index
        line_start = text.rfind("\n", 0, start) + 1
        in_list_item = bool(text[line_start:start].strip())  # "- key: ...": the "- " stays
        if not in_list_item:
            start = line_start  # the key starts its line: the whole line goes
        if end > 0 and text[end - 1] != "\n":
            match = _LINE_REST.match(text, end)
            end = match.end() if match else end
        if in_list_item and len(mapping.value) == 1:
            return text[:start] + "{}\n" + text[end:]
        if in_list_item:  # the entry's next key moves up onto the "- " line
            while end < len(text) and text[end] in " \t":
                end += 1
        return text[:start] + text[end:]
    raise KeyError(key)


def _drops(text: str, keys: Callable[[str], bool] = lambda key: True) -> Iterator[Mutation]:
    entries = yaml_keys(text)
    several = len({entry for entry, _ in entries}) > 1
    for entry, key in entries:
        if keys(key):
            name = f"drop-{key}" + (f"#{entry + 1}" if several and entry is not None else "")
            yield name, drop_yaml_key(text, key, entry).encode()


# -- Markdown (governance documents and model cards) ---------------------------------------------------------

_ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def hollow_markdown(text: str, filler: str) -> str:
    """Front matter and headings kept; every section's body replaced by ``filler`` ("" empties it)."""
    split = split_front_matter(text)
    head, body = ("", text) if split is None else (split[0] + split[1], split[2])
    closing = ""
    if split is not None:
        closing, _, body = body.partition("\n")
        closing += "\n"
    out: list[str] = []
    fence: str | None = None
    for line in body.splitlines():
        if fence is not None:
            fence = None if line.strip().startswith(fence) else fence
            continue
        opened = _FENCE.match(line)
        if opened:
            fence = opened.group(1)[0] * 3
            continue
        if _ATX.match(line):
            out.append(line + "\n\n" + (f"{filler}\n\n" if filler else ""))
    return head + closing + "".join(out)


def strip_front_matter(text: str) -> str | None:
    split = split_front_matter(text)
    if split is None:
        return None
    return split[2].partition("\n")[2]


def garble_front_matter(text: str) -> str:
    split = split_front_matter(text)
    if split is None:
        return "---\n" + text  # front matter opened and never closed
    return split[0] + garble_yaml(split[1]) + split[2]


def demote_front_matter(text: str) -> str | None:
    split = split_front_matter(text)
    demoted = None if split is None else demote_yaml(split[1])
    return None if split is None or demoted is None else split[0] + demoted + split[2]


def age_front_matter(text: str) -> str | None:
    split = split_front_matter(text)
    aged = None if split is None else age_yaml(split[1])
    return None if split is None or aged is None else split[0] + aged + split[2]


def _front_matter_drops(text: str, keys: Callable[[str], bool]) -> Iterator[Mutation]:
    split = split_front_matter(text)
    if split is None:
        return
    for name, front in _drops(split[1], keys):
        yield name, (split[0] + front.decode() + split[2]).encode()


def markdown_mutations(data: bytes, *, drop: Callable[[str], bool]) -> Iterator[Mutation]:
    text = _text(data)
    yield "delete", None
    yield "garble", garble_front_matter(text).encode()
    yield "hollow-tbd", hollow_markdown(text, TBD).encode()
    yield "hollow-empty", hollow_markdown(text, "").encode()
    stripped = strip_front_matter(text)
    if stripped is not None:
        yield "strip-metadata", stripped.encode()
    demoted = demote_front_matter(text)
    if demoted is not None:
        yield "demote", demoted.encode()
    aged = age_front_matter(text)
    if aged is not None:
        yield "age", aged.encode()
    yield from _front_matter_drops(text, drop)


def document_mutations(data: bytes) -> Iterator[Mutation]:
    return markdown_mutations(data, drop=lambda key: key in REQUIRED_FIELDS)


def modelcard_mutations(data: bytes) -> Iterator[Mutation]:
    """A card's metadata has no fixed required set: each top-level key is dropped in turn."""
    return markdown_mutations(data, drop=lambda key: True)


def yaml_mutations(data: bytes) -> Iterator[Mutation]:
    """Attestations, sidecars and other YAML records: delete, garble, demote, drop each key."""
    text = _text(data)
    yield "delete", None
    yield "garble", garble_yaml(text).encode()
    demoted = demote_yaml(text)
    if demoted is not None:
        yield "demote", demoted.encode()
    aged = age_yaml(text)
    if aged is not None:
        yield "age", aged.encode()
    yield from _drops(text)


def other_mutations(data: bytes) -> Iterator[Mutation]:
    yield "delete", None
    yield "garble", truncate(data)


def truncate(data: bytes) -> bytes:
    """The first half of the file: a PDF loses its cross-reference table, a DOCX its zip directory."""
    return data[: len(data) // 2]


# -- PDF ------------------------------------------------------------------------------------------


def _rewrite_pdf(data: bytes, change: Callable[..., None]) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    change(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _pdf_info(data: bytes) -> dict[str, str]:
    from pypdf import PdfReader

    return {str(key): str(value) for key, value in (PdfReader(io.BytesIO(data)).metadata or {}).items()}


def pdf_headings(data: bytes) -> list[tuple[int, str]]:
    """(depth, title) of the PDF's bookmarks, in order: the headings a PDF export keeps."""
    from pypdf import PdfReader

    found: list[tuple[int, str]] = []

    def walk(entries: list[Any], depth: int) -> None:
        for entry in entries:
            if isinstance(entry, list):
                walk(entry, depth + 1)
            else:
                found.append((depth, str(entry.title).strip()))

    walk(PdfReader(io.BytesIO(data)).outline, 0)
    return found


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def hollow_pdf(data: bytes, filler: str) -> bytes:
    """The first page shows the headings (the bookmarks' titles), each followed by ``filler`` ("": by
    nothing), and the other pages nothing; bookmarks and metadata stay."""
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    lines = ["BT"]
    y = 770
    for depth, heading in pdf_headings(data):
        size = 18 if depth == 0 else 13
        lines.append(f"/HollowBold {size} Tf 1 0 0 1 72 {y} Tm {_pdf_string(heading)} Tj")
        y -= size + 8
        if filler:
            lines.append(f"/HollowText 11 Tf 1 0 0 1 72 {y} Tm {_pdf_string(filler)} Tj")
            y -= 19
    lines.append("ET")

    def font(base: str) -> DictionaryObject:
        return DictionaryObject({
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject(base),
        })  # fmt: skip

    def change(writer: Any) -> None:
        for number, page in enumerate(writer.pages):
            stream = DecodedStreamObject()
            stream.set_data("\n".join(lines).encode("latin-1") if number == 0 else b"")
            page[NameObject("/Contents")] = writer._add_object(stream)  # pypdf: no public API for it
            resources = page.get("/Resources")
            resources = DictionaryObject() if resources is None else resources.get_object()
            fonts = resources.get("/Font")
            fonts = DictionaryObject() if fonts is None else fonts.get_object()
            fonts[NameObject("/HollowBold")] = writer._add_object(font("/Helvetica-Bold"))
            fonts[NameObject("/HollowText")] = writer._add_object(font("/Helvetica"))
            resources[NameObject("/Font")] = fonts
            page[NameObject("/Resources")] = resources

    return _rewrite_pdf(data, change)


def set_pdf_info(data: bytes, info: dict[str, str] | None) -> bytes:
    """The same PDF with exactly ``info`` as its document information (None: no info dictionary)."""

    def change(writer: Any) -> None:
        writer.metadata = None
        if info:
            writer.add_metadata(info)

    return _rewrite_pdf(data, change)


def pdf_mutations(data: bytes) -> Iterator[Mutation]:
    yield "delete", None
    yield "garble", truncate(data)
    yield "hollow-tbd", hollow_pdf(data, TBD)
    yield "hollow-empty", hollow_pdf(data, "")
    yield "strip-metadata", set_pdf_info(data, None)
    info = _pdf_info(data)
    status = next((key for key in info if key.lower() == "/status"), None)
    if status is not None and info[status].strip().lower() == "approved":
        yield "demote", set_pdf_info(data, {**info, status: "draft"})
    for key in info:
        if key != "/Producer":  # pypdf writes its own on every save
            yield f"drop-{key.lstrip('/')}", set_pdf_info(data, {k: v for k, v in info.items() if k != key})


# -- DOCX -----------------------------------------------------------------------------------------

CORE_PART = "docProps/core.xml"
CUSTOM_PART = "docProps/custom.xml"
_CORE_ELEMENT = re.compile(r"<((?:cp|dc|dcterms):(\w+))\b[^>]*?(?:/>|>.*?</\1>)", re.DOTALL)
_CORE_ROOT = re.compile(r"<cp:coreProperties\b[^>]*>")
_CUSTOM_PROPERTY = re.compile(r"<property\b[^>]*\bname=\"([^\"]*)\"[^>]*>.*?</property>", re.DOTALL)
_CONTENT_STATUS = re.compile(r"(<cp:contentStatus>)\s*approved\s*(</cp:contentStatus>)", re.IGNORECASE)
_EMPTY_CORE = (
    b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
    b' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"/>'
)


def _zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info.filename) for info in archive.infolist()}


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, blob in parts.items():
            archive.writestr(
                zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), blob, zipfile.ZIP_DEFLATED
            )
    return buffer.getvalue()


def _with_part(data: bytes, name: str, blob: bytes) -> bytes:
    return _zip({**_zip_parts(data), name: blob})


def without_custom_properties(parts: dict[str, bytes]) -> dict[str, bytes]:
    """The package without docProps/custom.xml: its part, its relationship and its content type."""
    kept = {name: blob for name, blob in parts.items() if name != CUSTOM_PART}
    kept["_rels/.rels"] = re.sub(
        rb"<Relationship\b[^>]*Target=\"/?docProps/custom\.xml\"[^>]*/>", b"", kept["_rels/.rels"]
    )
    kept["[Content_Types].xml"] = re.sub(
        rb"<Override\b[^>]*PartName=\"/docProps/custom\.xml\"[^>]*/>", b"", kept["[Content_Types].xml"]
    )
    return kept


_CONTROL_LABELS = frozenset(
    {"document", "document id", "version", "status", "owner", "approver", "approved by"}
)


def _is_control_table(table: Any) -> bool:
    """A "Document control" table: labels in its first column (Status, Owner, Version, ...)."""
    labels = {row.cells[0].text.strip().lower() for row in table.rows if row.cells}
    return len(labels & _CONTROL_LABELS) >= 2


def _edit_docx(data: bytes, change: Callable[[Any], None]) -> bytes:
    import docx

    document = docx.Document(io.BytesIO(data))
    change(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def control_rows(data: bytes) -> list[str]:
    """The labels of the rows of the document's control tables, in order."""
    import docx

    document = docx.Document(io.BytesIO(data))
    return [
        row.cells[0].text.strip()
        for table in document.tables
        if _is_control_table(table)
        for row in table.rows
        if row.cells and row.cells[0].text.strip()
    ]


def _without_control_row(label: str) -> Callable[[Any], None]:
    def change(document: Any) -> None:
        for table in document.tables:
            if _is_control_table(table):
                for row in list(table.rows):
                    if row.cells[0].text.strip() == label:
                        table._tbl.remove(row._tr)

    return change


def _demote_control_tables(document: Any) -> None:
    for table in document.tables:
        if _is_control_table(table):
            for row in table.rows:
                if (
                    row.cells[0].text.strip().lower() == "status"
                    and row.cells[-1].text.strip().lower() == "approved"
                ):
                    row.cells[-1].text = "draft"


def _without_control_tables(document: Any) -> None:
    for table in document.tables:
        if _is_control_table(table):
            element = table._element
            element.getparent().remove(element)


def strip_docx(data: bytes) -> bytes:
    """Core properties emptied, custom properties and document-control tables removed; the text stays."""
    parts = without_custom_properties(_zip_parts(_edit_docx(data, _without_control_tables)))
    parts[CORE_PART] = _EMPTY_CORE
    return _zip(parts)


def hollow_docx(data: bytes, filler: str) -> bytes:
    """Headings and the document-control table kept; every other paragraph and table cell says ``filler``
    ("" empties it)."""

    def change(document: Any) -> None:
        for paragraph in document.paragraphs:
            style = paragraph.style.name if paragraph.style is not None else ""
            if not (style or "").lower().startswith(("heading", "title")):
                paragraph.text = filler
        for table in document.tables:
            if not _is_control_table(table):
                for row in table.rows:
                    for cell in row.cells:
                        cell.text = filler

    return _edit_docx(data, change)


def docx_mutations(data: bytes) -> Iterator[Mutation]:
    yield "delete", None
    yield "garble", truncate(data)
    yield "hollow-tbd", hollow_docx(data, TBD)
    yield "hollow-empty", hollow_docx(data, "")
    yield "strip-metadata", strip_docx(data)
    parts = _zip_parts(data)
    core = _text(parts.get(CORE_PART, b""))
    custom = _text(parts.get(CUSTOM_PART, b""))
    demoted_core = _CONTENT_STATUS.sub(r"\1draft\2", core)
    demoted_custom = demote_custom_status(custom)
    tables_demoted = _edit_docx(data, _demote_control_tables)
    if demoted_core != core or demoted_custom != custom or control_rows(data):
        demoted = {**_zip_parts(tables_demoted), CORE_PART: demoted_core.encode()}
        if CUSTOM_PART in parts:
            demoted[CUSTOM_PART] = demoted_custom.encode()
        yield "demote", _zip(demoted)
    # One field dropped from the whole document: its custom property, its control-table row and the core
    # property that says the same, so that no other place still gives it.
    labels = {m.group(1).lower(): m.group(1) for m in _CUSTOM_PROPERTY.finditer(custom)}
    labels.update({label.lower(): label for label in control_rows(data) if label.lower() not in labels})
    covered = {_CORE_FOR_LABEL[label] for label in labels if label in _CORE_FOR_LABEL}
    for key, label in labels.items():
        without_row = _zip_parts(_edit_docx(data, _without_control_row(label)))
        if CUSTOM_PART in parts:
            without_row[CUSTOM_PART] = _drop_custom(custom, key).encode()
        element = _CORE_FOR_LABEL.get(key)
        if element is not None:
            without_row[CORE_PART] = _drop_core(core, element).encode()
        yield f"drop-{label.replace(' ', '_')}", _zip(without_row)
    root = _CORE_ROOT.search(core)
    for match in _CORE_ELEMENT.finditer(core, root.end() if root else 0):
        if not re.sub(r"<[^>]*>", "", match.group(0)).strip() or match.group(2) in covered:
            continue  # an empty element carries nothing to drop; a covered one went with its field
        yield (
            f"drop-{match.group(2)}",
            _with_part(data, CORE_PART, (core[: match.start()] + core[match.end() :]).encode()),
        )


# The core property that gives the same field as a control-table row or custom property of that label.
_CORE_FOR_LABEL = {
    "document": "identifier",
    "document id": "identifier",
    "version": "version",
    "status": "contentStatus",
}


def _drop_custom(custom: str, key: str) -> str:
    return _CUSTOM_PROPERTY.sub(lambda m: "" if m.group(1).lower() == key else m.group(0), custom)


def _drop_core(core: str, element: str) -> str:
    return re.sub(rf"<(cp|dc|dcterms):{element}\b[^>]*?(?:/>|>.*?</\1:{element}>)", "", core, flags=re.DOTALL)


def demote_custom_status(custom: str) -> str:
    return re.sub(
        r"(<property\b[^>]*\bname=\"status\"[^>]*>\s*<vt:\w+>)\s*approved\s*(</vt:\w+>)",
        r"\1draft\2",
        custom,
        flags=re.IGNORECASE,
    )


MUTATIONS: dict[str, Callable[[bytes], Iterator[Mutation]]] = {
    "markdown": document_mutations,
    "modelcard": modelcard_mutations,
    "attestation": yaml_mutations,
    "sidecar": yaml_mutations,
    "yaml": yaml_mutations,
    "pdf": pdf_mutations,
    "docx": docx_mutations,
    "other": other_mutations,
}
