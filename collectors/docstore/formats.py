"""Readers for the file formats the documents collector understands: Markdown, PDF and DOCX.

Each reader returns the file's raw metadata fields and its structure (headings, empty sections);
turning metadata into ``document`` data is :mod:`annexa.collectors.docstore.fields`' job.
"""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from annexa.collectors.docstore.fields import (
    CONTROL_LABELS,
    KNOWN_FIELDS,
    Naming,
    RawField,
    UnreadableFile,
    add_field,
    label_words,
    load_yaml_mapping,
    normal_name,
)
from annexa.collectors.docstore.schema import LIST_FIELDS
from annexa.plugins import FrontMatterError, TextBlock, has_content, markdown_blocks, read_front_matter
from annexa.plugins import empty_sections as find_empty_sections


@dataclass(frozen=True, slots=True)
class ParsedFile:
    fields: dict[str, RawField]
    headings: tuple[str, ...] = ()
    empty_sections: tuple[str, ...] = ()
    title: str | None = None  # the title the content itself shows (first level-1 heading)
    notes: tuple[str, ...] = ()  # problems found while reading that do not make the file unreadable


FORMAT_BY_SUFFIX = {".md": "markdown", ".markdown": "markdown", ".pdf": "pdf", ".docx": "docx"}


def decode_text(data: bytes, where: str) -> str:
    """UTF-8 text of a file that must be text; binary content is named precisely."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise UnreadableFile(f"{where}: binary content (NUL byte at offset {nul}), not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableFile(
            f"{where}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc
    return text.removeprefix("\ufeff")


# --- Markdown ---------------------------------------------------------------------------------------


def read_markdown(data: bytes, where: str, naming: Naming | None = None) -> ParsedFile:
    """Front matter (after a byte order mark or blank lines, CRLF or not) and the sections of the body."""
    try:
        front = read_front_matter(decode_text(data, where))
    except FrontMatterError as exc:
        raise UnreadableFile(f"{where}:{exc.line}: {exc.message}") from exc
    fields = (
        {}
        if front.text is None
        else load_yaml_mapping(front.text, where=where, first_line=front.line, naming=naming)
    )
    return structured(fields, markdown_blocks(front.body))


def structured(fields: dict[str, RawField], blocks: Sequence[TextBlock]) -> ParsedFile:
    """A file's fields with the structure of its text: headings, empty sections, the first level-1
    heading as the title the content shows."""
    return ParsedFile(
        fields=fields,
        headings=tuple(block.text for block in blocks if block.level),
        empty_sections=find_empty_sections(blocks),
        title=next((block.text for block in blocks if block.level == 1), None),
    )


# --- PDF ------------------------------------------------------------------------------------------


def read_pdf(data: bytes, where: str, naming: Naming | None = None) -> ParsedFile:
    """Document information keys (``/Title``, ``/Keywords``, custom ``/DocType``, ``/Status``, ``/Approver``,
    ...) as fields, read like property names; headings from the bookmarks, else from font sizes."""
    from pypdf import PdfReader
    from pypdf.generic import IndirectObject

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile(f"{where}: the PDF is encrypted; its metadata cannot be read")
        info = reader.metadata
        naming = naming or Naming()
        fields: dict[str, RawField] = {}
        for key in sorted(info or {}):
            value = info[key] if info is not None else None
            if isinstance(value, IndirectObject):
                value = value.get_object()
            name = naming.key(str(key), "property")
            raw = RawField(value=_pdf_value(key, value), origin=f"PDF key {key}", name=str(key))
            add_field(fields, name, raw)
        if "type" not in fields and "keywords" in fields:
            doc_type = keyword_type(fields["keywords"].value)
            if doc_type is not None:
                fields["type"] = RawField(value=doc_type, origin="PDF key /Keywords")
        page_count = len(reader.pages)  # walks the page tree: a broken one is a corrupt file
        outline = list(_outline_entries(reader, reader.outline, 1))
        lines = _pdf_lines(reader)
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(f"{where}: not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if page_count == 0:
        raise UnreadableFile(f"{where}: the PDF has no pages")
    blocks = _place_outline(lines, outline) if outline else _sized_headings(lines)
    parsed = structured(fields, blocks)
    return ParsedFile(fields=fields, headings=parsed.headings, empty_sections=parsed.empty_sections)


_PAGE_NUMBER = re.compile(r"^\W*(?:page\s*)?\d+(?:\s*(?:of|/)\s*\d+)?\W*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _PdfLine:
    page: int
    text: str
    size: float  # the rendered font size of most of its characters, in points


class _PageText:
    """One page's text lines with their sizes, from pypdf's text visitor (fragments, ``\\n`` ending lines)."""

    def __init__(self, page: int) -> None:
        self.page = page
        self.lines: list[_PdfLine] = []
        self._parts: list[tuple[str, float]] = []

    def visit(self, text: str, cm: Sequence[float], tm: Sequence[float], font: Any, size: float) -> None:
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])  # Tf size 1 scaled by Tm is common
        rendered = round(float(size) * (scale or 1.0) * 2) / 2
        for index, piece in enumerate(text.split("\n")):
            if index:
                self.flush()
            if piece:
                self._parts.append((piece, rendered))

    def flush(self) -> None:
        text = " ".join("".join(piece for piece, _ in self._parts).split())
        if text:
            chars: dict[float, int] = {}
            for piece, size in self._parts:
                chars[size] = chars.get(size, 0) + len(piece.strip())
            self.lines.append(_PdfLine(self.page, text, max(chars, key=lambda s: (chars[s], s))))
        self._parts.clear()


def _pdf_lines(reader: Any) -> list[_PdfLine]:
    """Text lines of every page with their font size. Page numbers, and running headers and footers (a
    line that recurs on most pages, numbers aside), are left out: they cannot fill a section."""
    lines: list[_PdfLine] = []
    for number, page in enumerate(reader.pages):
        text = _PageText(number)
        page.extract_text(visitor_text=text.visit)
        text.flush()
        lines += text.lines
    lines = [line for line in lines if not _PAGE_NUMBER.match(line.text)]
    pages = len(reader.pages)
    if pages < 2:
        return lines
    seen: dict[str, set[int]] = {}
    for line in lines:
        seen.setdefault(re.sub(r"\d+", "#", line.text.lower()), set()).add(line.page)
    running = {text for text, where in seen.items() if len(where) >= max(2, pages / 2)}
    return [line for line in lines if re.sub(r"\d+", "#", line.text.lower()) not in running]


def _outline_entries(
    reader: Any, outline: Iterable[Any], level: int
) -> Iterable[tuple[int, str, int | None]]:
    """(level, title, page index) of each bookmark; a list after an entry holds that entry's children."""
    for entry in outline:
        if isinstance(entry, list):
            yield from _outline_entries(reader, entry, level + 1)
            continue
        try:
            page: int | None = reader.get_destination_page_number(entry)
        except Exception:  # a bookmark to nowhere still names a heading
            page = None
        yield min(level, 6), " ".join(str(entry.title).split()), page


def _heading_words(text: str) -> tuple[str, ...]:
    words = re.findall(r"\w+", text.lower())
    while words and words[0].isdigit():  # "2.1 Scope" is the heading "Scope", numbered
        words.pop(0)
    return tuple(words)


def _place_outline(
    lines: Sequence[_PdfLine], outline: Sequence[tuple[int, str, int | None]]
) -> list[TextBlock]:
    """The bookmarks are the headings: each is found in the text (in order, from its page on; a title
    may wrap over up to three lines), and the lines up to the next one are its section. A bookmark whose
    title is not in the text has no section text."""
    words = [_heading_words(line.text) for line in lines]
    first_on_page: dict[int, int] = {}
    for index, line in enumerate(lines):
        first_on_page.setdefault(line.page, index)
    at: dict[int, tuple[int, list[TextBlock]]] = {}  # first line of a heading -> (lines it spans, headings)
    pending: list[TextBlock] = []
    position = 0
    for level, title, page in outline:
        wanted = _heading_words(title)
        start = max(position, first_on_page.get(page, position) if page is not None else position)
        found = _find_heading(words, wanted, start)
        if found is None:
            pending.append(TextBlock(level, title))
            continue
        index, span = found
        at[index] = (span, [*pending, TextBlock(level, title)])
        pending = []
        position = index + span
    blocks: list[TextBlock] = []
    skip = 0
    for index, line in enumerate(lines):
        if index in at:
            span, headings = at[index]
            blocks.extend(headings)
            skip = span
        if skip:
            skip -= 1
            continue
        blocks.append(TextBlock(0, line.text))
    blocks.extend(pending)
    return blocks


def _find_heading(
    words: Sequence[tuple[str, ...]], wanted: tuple[str, ...], start: int
) -> tuple[int, int] | None:
    """(first line, number of lines) of the heading ``wanted`` at or after line ``start``."""
    if not wanted:
        return None
    for index in range(start, len(words)):
        joined: tuple[str, ...] = ()
        for span, line in enumerate(words[index : index + 3], start=1):
            joined += line
            if joined == wanted:
                return index, span
            if not line or wanted[: len(joined)] != joined:
                break
    return None


def _sized_headings(lines: Sequence[_PdfLine]) -> list[TextBlock]:
    """Without bookmarks, the headings are the short lines set larger than the body text; the larger the
    size, the higher the level.

    The body size is the smallest size that carries a good share (15 %) of the text: footnotes are too
    few to count, and headings do not pass for body text in a document whose sections are all "TBD".
    A heading has at most twelve words and does not end like a sentence, so the last line of a paragraph
    set larger than a table is not taken for one.
    """
    if not lines:
        return []
    chars: dict[float, int] = {}
    for line in lines:
        chars[line.size] = chars.get(line.size, 0) + len(line.text)
    total = sum(chars.values())
    body = min(size for size, count in chars.items() if count >= 0.15 * total)

    def is_heading(line: _PdfLine) -> bool:
        return (
            line.size > body
            and len(line.text.split()) <= 12
            and not line.text.endswith((".", ",", ";", ":"))
            and bool(re.search(r"[^\W\d_]", line.text))
            and has_content([line.text])  # "TBD" set larger is still a placeholder, not a heading
        )

    sizes = sorted({line.size for line in lines if is_heading(line)}, reverse=True)
    levels = {size: min(index + 1, 6) for index, size in enumerate(sizes)}
    return [
        TextBlock(levels[line.size], line.text) if is_heading(line) else TextBlock(0, line.text)
        for line in lines
    ]


def _pdf_value(key: str, value: Any) -> Any:
    if key in ("/CreationDate", "/ModDate") and isinstance(value, str):
        return _pdf_timestamp(value) or str(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list):
        return [str(item) for item in value]
    return None if value is None else str(value)


def _pdf_timestamp(text: str) -> str | None:
    match = re.fullmatch(
        r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(Z|[+-]\d{2}'?\d{2}'?)?.*", text.strip()
    )
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    offset = (
        "+00:00"
        if zone in (None, "Z")
        else f"{zone[:3]}:{zone[-3:-1] if zone.endswith(chr(39)) else zone[-2:]}"
    )
    try:
        moment = datetime.fromisoformat(
            f"{year}-{month or '01'}-{day or '01'}T{hour or '00'}:{minute or '00'}:{second or '00'}{offset}"
        )
    except ValueError:
        return None
    return moment.isoformat()


def keyword_type(keywords: Any) -> str | None:
    """The document type carried by a keywords property: the only keyword, or a ``type:X`` one."""
    if not isinstance(keywords, str):
        return None
    words = [word.strip() for word in re.split(r"[,;]", keywords) if word.strip()]
    tagged = [
        word.split(":", 1)[1].strip() for word in words if word.lower().startswith(("type:", "doctype:"))
    ]
    if tagged:
        return tagged[0]
    return words[0] if len(words) == 1 else None


# --- DOCX -----------------------------------------------------------------------------------------

CUSTOM_PROPERTIES_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_HEADING_STYLE = re.compile(r"^heading (\d)$", re.IGNORECASE)


def read_docx(data: bytes, where: str, naming: Naming | None = None) -> ParsedFile:
    """Fields from three places, the more explicit winning: core properties, then a document-control
    table in the body, then custom properties (docProps/custom.xml)."""
    import docx

    naming = naming or Naming()
    try:
        document = docx.Document(io.BytesIO(data))
        fields = _core_properties(document.core_properties, naming)
        table_fields, notes, metadata_tables = _control_table(document, naming)
        fields.update(table_fields)
        for part in document.part.package.iter_parts():
            if part.content_type == CUSTOM_PROPERTIES_TYPE:
                fields.update(_custom_properties(part.blob, where, naming))
        blocks = _docx_blocks(document, metadata_tables)
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(f"{where}: not a readable DOCX file ({type(exc).__name__}: {exc})") from exc
    parsed = structured(fields, blocks)
    return ParsedFile(
        fields=fields, headings=parsed.headings, empty_sections=parsed.empty_sections, title=parsed.title,
        notes=tuple(notes),
    )  # fmt: skip


def _core_properties(core: Any, naming: Naming) -> dict[str, RawField]:
    fields: dict[str, RawField] = {}

    def put(name: str, value: Any, prop: str) -> None:
        if value not in (None, ""):
            key = naming.mapped(prop) or name
            add_field(fields, key, RawField(value=value, origin=f"DOCX core property {prop}", name=prop))

    put("title", core.title, "title")
    put("type", core.category, "category")
    put("status", core.content_status, "contentStatus")
    put("version", core.version, "version")
    put("id", core.identifier, "identifier")
    put("author", core.author, "creator")
    put("subject", core.subject, "subject")
    put("keywords", core.keywords, "keywords")
    put("last_modified_by", core.last_modified_by, "lastModifiedBy")
    put("revision", core.revision or None, "revision")  # python-docx says 0 when there is none
    # python-docx returns naive datetimes for W3CDTF values, which are UTC by the OOXML spec.
    for name, moment in (("created", core.created), ("modified", core.modified)):
        if moment is not None:
            put(name, moment.replace(tzinfo=None).isoformat() + "Z", name)
    if "type" not in fields and "keywords" in fields:
        doc_type = keyword_type(fields["keywords"].value)
        if doc_type is not None:
            fields["type"] = RawField(value=doc_type, origin="DOCX core property keywords")
    return fields


# What introduces a document-control table when it is not at the top of the document.
_CONTROL_CAPTION = re.compile(
    r"\b(?:document|policy)\s+(?:control|information|details|properties|approval|management|history)\b"
    r"|\b(?:version|revision|change)\s+(?:control|history)\b|\bapprovals?\b",
    re.IGNORECASE,
)


def _control_table(document: Any, naming: Naming) -> tuple[dict[str, RawField], list[str], list[Any]]:
    """Fields from the "Document control" tables of a Word document, as policy templates lay them out:
    labels in the first column (or in label/value pairs of columns: ``Version | 1.2 | Owner | CRO``), or a
    header row of labels over one row of values. A table counts when two or more of its labels are known
    (:data:`CONTROL_LABELS` or the organisation's ``field_map``) and it comes before the document's first
    section, or is captioned so ("Document control", "Version control", "Approval"): a table of roles
    deep in the text ("Owner | accountable for ...") is content, not metadata. The first table to give a
    field wins. Placeholder values ("[Name]", "TBD") are not read, and said so. Also returns the tables
    read as metadata (their XML elements, held so that lxml keeps their identity), which are then no
    section's content."""
    from docx.table import Table

    fields: dict[str, RawField] = {}
    notes: list[str] = []
    metadata_tables: list[Any] = []
    headings, caption = 0, ""
    for item in document.iter_inner_content():
        if not isinstance(item, Table):
            text = " ".join(item.text.split())
            style = item.style.name if item.style is not None else ""
            headings += bool(_HEADING_STYLE.match(style or ""))
            caption = text or caption
            continue
        rows = [row for row in (_row_texts(row) for row in item.rows) if any(row)]
        titled = bool(rows) and len(set(rows[0])) == 1 and bool(_CONTROL_CAPTION.search(rows[0][0]))
        if titled:
            rows = rows[1:]
        pairs = _label_pairs(rows, naming)
        if pairs and (headings <= 1 or titled or _CONTROL_CAPTION.search(caption)):
            metadata_tables.append(item._tbl)
            for label, value, where in pairs:
                key = naming.key(label, "label")
                origin = f"DOCX document control table, {where} {label!r}"
                if not has_content([value]):
                    if key in KNOWN_FIELDS:
                        notes.append(f"{origin}: {value!r} is a placeholder, not a value; not read")
                    continue
                lines = [line.strip() for line in value.splitlines() if line.strip()]
                text = ", ".join(lines) if key in LIST_FIELDS else " ".join(lines)
                add_field(fields, key, RawField(value=text, origin=origin, text=text, name=label))
        caption = ""
    return fields, notes, metadata_tables


def _row_texts(row: Any) -> list[str]:
    """The texts of a row's cells, a cell merged across columns once."""
    texts: list[str] = []
    seen: list[Any] = []
    for cell in row.cells:
        if seen and cell._tc is seen[-1]:  # python-docx repeats a merged cell for each grid column
            continue
        seen.append(cell._tc)
        texts.append(cell.text.strip())
    return texts


def _label_pairs(rows: list[list[str]], naming: Naming) -> list[tuple[str, str, str]]:
    """(label, value, "row" or "column") of a table laid out as labels and values; empty if it is not one."""

    def is_label(text: str) -> bool:
        return bool(text) and (label_words(text) in CONTROL_LABELS or naming.mapped(text) is not None)

    if len(rows) == 2:
        header, values = rows
        known = [index for index, text in enumerate(header) if is_label(text)]
        if len(known) >= 2 and any(index % 2 for index in known) and not any(map(is_label, values)):
            return [
                (label, value, "column")
                for label, value in zip(header, values, strict=False)
                if label and value
            ]
    pairs = [
        (row[index], row[index + 1], "row")
        for row in rows
        for index in range(0, len(row) - 1, 2)
        # A value that is itself a label ("Version | Status | Owner | Approver") is a header row.
        if row[index] and row[index + 1] and normal_name(row[index]) and not is_label(row[index + 1])
    ]
    return pairs if sum(is_label(label) for label, _, _ in pairs) >= 2 else []


def _custom_properties(blob: bytes, where: str, naming: Naming) -> dict[str, RawField]:
    try:
        root = ET.fromstring(blob)
    except ET.ParseError as exc:
        raise UnreadableFile(f"{where}: docProps/custom.xml is not well-formed XML ({exc})") from exc
    fields: dict[str, RawField] = {}
    for prop in root:
        name = prop.get("name")
        if not name or len(prop) == 0:
            continue
        typed = prop[0]
        vtype = typed.tag.rsplit("}", 1)[-1]
        text = (typed.text or "").strip()
        value: Any = text
        if vtype in ("i1", "i2", "i4", "i8", "int", "ui1", "ui2", "ui4", "ui8", "uint") and re.fullmatch(
            r"-?\d+", text
        ):
            value = int(text)
        elif vtype == "bool":
            value = text.lower() in ("true", "1")
        elif vtype in ("r4", "r8", "decimal"):
            try:
                value = float(text)
            except ValueError:
                value = text
        key = naming.key(name, "property")
        add_field(fields, key, RawField(value=value, origin=f"DOCX custom property {name!r}", name=name))
    return fields


def _docx_blocks(document: Any, metadata_tables: list[Any]) -> list[TextBlock]:
    """Paragraphs in a heading style are headings; other paragraphs and table cells are body text, except
    the document-control tables, which are metadata: a section holding only one says nothing."""
    from docx.table import Table

    blocks: list[TextBlock] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            if not any(item._tbl is table for table in metadata_tables):
                blocks.extend(TextBlock(0, cell.text) for row in item.rows for cell in row.cells)
            continue
        style = item.style.name if item.style is not None else ""
        heading = _HEADING_STYLE.match(style or "")
        if heading:
            blocks.append(TextBlock(int(heading.group(1)), " ".join(item.text.split())))
        else:
            blocks.append(TextBlock(0, item.text))
    return blocks
