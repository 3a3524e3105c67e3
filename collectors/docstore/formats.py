"""Readers for the file formats the documents collector understands: Markdown, PDF and DOCX.

Each reader returns the file's raw metadata fields and its structure (headings, empty sections);
turning metadata into ``document`` data is :mod:`annexa.collectors.docstore.fields`' job.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from annexa.collectors.docstore.fields import RawField, UnreadableFile, load_yaml_mapping, property_key


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

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_NOT_PARAGRAPH = re.compile(r"^\s*(?:[-*+>|]|\d+[.)]\s|$)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_MARKUP = re.compile(r"^\s*(?:[-*+>|]|\d+[.)])\s*")
_PLACEHOLDER_START = re.compile(r"^[\s\[(*_`]*(?:tbd|todo|more information needed)\b", re.IGNORECASE)


def read_markdown(data: bytes, where: str) -> ParsedFile:
    lines = decode_text(data, where).splitlines()
    fields: dict[str, RawField] = {}
    body_start = 0
    if lines and lines[0].strip() == "---":
        closing = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if closing is None:
            raise UnreadableFile(f"{where}:1: front matter opened with '---' is never closed")
        fields = load_yaml_mapping("\n".join(lines[1:closing]), where=where, first_line=2)
        body_start = closing + 1
    blocks = _markdown_blocks(lines[body_start:])
    title = next((text for level, text in blocks if level == 1), None)
    return ParsedFile(fields=fields, title=title, **_sections(blocks))


def _markdown_blocks(lines: Sequence[str]) -> list[tuple[int, str]]:
    """(level, heading) for headings and (0, line) for body text, in order; code blocks are text."""
    blocks: list[tuple[int, str]] = []
    fence: str | None = None
    previous_blank = True
    for line in lines:
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            blocks.append((0, line))
            continue
        opened = _FENCE.match(line)
        if opened:
            fence = opened.group(1)[0] * 3
            blocks.append((0, line))
            previous_blank = False
            continue
        atx = _ATX.match(line)
        setext = _SETEXT.match(line)
        if atx:
            blocks.append((len(atx.group(1)), (atx.group(2) or "").strip()))
        elif (
            setext
            and not previous_blank
            and blocks
            and blocks[-1][0] == 0
            and not _NOT_PARAGRAPH.match(blocks[-1][1])
        ):
            # "Title\n=====" : the paragraph line above becomes the heading.
            blocks[-1] = (1 if setext.group(1)[0] == "=" else 2, blocks[-1][1].strip())
        else:
            blocks.append((0, line))
        previous_blank = not line.strip()
    return blocks


def _sections(blocks: Sequence[tuple[int, str]]) -> dict[str, tuple[str, ...]]:
    """Headings in order, and those whose section (up to the next heading of the same or a higher
    level, so subsections count) holds no real text."""
    headings: list[str] = []
    empty: list[str] = []
    for index, (level, heading) in enumerate(blocks):
        if level == 0:
            continue
        headings.append(heading)
        body: list[str] = []
        for inner_level, text in blocks[index + 1 :]:
            if 0 < inner_level <= level:
                break
            if inner_level == 0:
                body.append(text)
        if not has_content(body):
            empty.append(heading)
    return {"headings": tuple(headings), "empty_sections": tuple(empty)}


def has_content(lines: Iterable[str]) -> bool:
    """True when the text says something: not blank, not markup, not only placeholders.

    A line that *starts* with TBD / TODO / [More Information Needed] is a placeholder ("TODO: add
    owners"); one that merely mentions TBD later ("dates are TBD until Q3") is real text.
    Any "lorem ipsum" marks filler text.
    """
    text = _HTML_COMMENT.sub("", "\n".join(lines))
    for line in text.splitlines():
        stripped = _MARKUP.sub("", line)
        while _MARKUP.match(stripped) and stripped:
            stripped = _MARKUP.sub("", stripped)
        if not re.search(r"\w", stripped):
            continue
        if "lorem ipsum" in stripped.lower() or _PLACEHOLDER_START.match(stripped):
            continue
        return True
    return False


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
        headings = tuple(_outline_titles(reader.outline))
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(f"{where}: not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if page_count == 0:
        raise UnreadableFile(f"{where}: the PDF has no pages")
    # PDF text extraction does not keep section boundaries reliably, so no section is judged empty.
    return ParsedFile(fields=fields, headings=headings)


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


def _outline_titles(outline: Iterable[Any]) -> Iterable[str]:
    for entry in outline:
        if isinstance(entry, list):
            yield from _outline_titles(entry)
        else:
            yield str(entry.title).strip()


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
    title = next((text for level, text in blocks if level == 1), None)
    return ParsedFile(fields=fields, title=title, **_sections(blocks))


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


def _docx_blocks(document: Any) -> list[tuple[int, str]]:
    from docx.table import Table

    blocks: list[tuple[int, str]] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend((0, cell.text) for row in item.rows for cell in row.cells)
            continue
        style = item.style.name if item.style is not None else ""
        heading = _HEADING_STYLE.match(style or "")
        if heading:
            blocks.append((int(heading.group(1)), item.text.strip()))
        else:
            blocks.append((0, item.text))
    return blocks
