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

from annexa.collectors.docstore.fields import RawField, UnreadableFile, load_yaml_mapping, property_key
from annexa.plugins import TextBlock, has_content, markdown_blocks, split_front_matter
from annexa.plugins import empty_sections as find_empty_sections


@dataclass(frozen=True, slots=True)
class ParsedFile:
    fields: dict[str, RawField]
    headings: tuple[str, ...] = ()
    empty_sections: tuple[str, ...] = ()
    title: str | None = None  # the title the content itself shows (first level-1 heading)


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


def read_markdown(data: bytes, where: str) -> ParsedFile:
    try:
        front, body = split_front_matter(decode_text(data, where))
    except ValueError as exc:
        raise UnreadableFile(f"{where}:1: {exc}") from exc
    fields = {} if front is None else load_yaml_mapping(front, where=where, first_line=2)
    return structured(fields, markdown_blocks(body))


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


def read_pdf(data: bytes, where: str) -> ParsedFile:
    from pypdf import PdfReader
    from pypdf.generic import IndirectObject

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile(f"{where}: the PDF is encrypted; its metadata cannot be read")
        info = reader.metadata
        fields: dict[str, RawField] = {}
        for key in sorted(info or {}):
            value = info[key] if info is not None else None
            if isinstance(value, IndirectObject):
                value = value.get_object()
            name = property_key(str(key))
            fields[name] = RawField(value=_pdf_value(key, value), origin=f"PDF key {key}")
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


def read_docx(data: bytes, where: str) -> ParsedFile:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        fields = _core_properties(document.core_properties)
        for part in document.part.package.iter_parts():
            if part.content_type == CUSTOM_PROPERTIES_TYPE:
                fields.update(_custom_properties(part.blob, where))
        blocks = _docx_blocks(document)
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(f"{where}: not a readable DOCX file ({type(exc).__name__}: {exc})") from exc
    return structured(fields, blocks)


def _core_properties(core: Any) -> dict[str, RawField]:
    fields: dict[str, RawField] = {}

    def put(name: str, value: Any, prop: str) -> None:
        if value not in (None, ""):
            fields[name] = RawField(value=value, origin=f"DOCX core property {prop}")

    put("title", core.title, "title")
    put("type", core.category, "category")
    put("status", core.content_status, "contentStatus")
    put("version", core.version, "version")
    put("id", core.identifier, "identifier")
    put("author", core.author, "creator")
    put("subject", core.subject, "subject")
    put("keywords", core.keywords, "keywords")
    put("last_modified_by", core.last_modified_by, "lastModifiedBy")
    # python-docx returns naive datetimes for W3CDTF values, which are UTC by the OOXML spec.
    for name, moment in (("created", core.created), ("modified", core.modified)):
        if moment is not None:
            put(name, moment.replace(tzinfo=None).isoformat() + "Z", name)
    if "type" not in fields and "keywords" in fields:
        doc_type = keyword_type(fields["keywords"].value)
        if doc_type is not None:
            fields["type"] = RawField(value=doc_type, origin="DOCX core property keywords")
    return fields


def _custom_properties(blob: bytes, where: str) -> dict[str, RawField]:
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
        fields[property_key(name)] = RawField(value=value, origin=f"DOCX custom property {name!r}")
    return fields


def _docx_blocks(document: Any) -> list[TextBlock]:
    """Paragraphs in a heading style are headings; other paragraphs and table cells are body text."""
    from docx.table import Table

    blocks: list[TextBlock] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(TextBlock(0, cell.text) for row in item.rows for cell in row.cells)
            continue
        style = item.style.name if item.style is not None else ""
        heading = _HEADING_STYLE.match(style or "")
        if heading:
            blocks.append(TextBlock(int(heading.group(1)), " ".join(item.text.split())))
        else:
            blocks.append(TextBlock(0, item.text))
    return blocks
