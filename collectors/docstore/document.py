"""One ``document`` item's data from a file's bytes and metadata, whichever store holds the file.

The folder, S3 and Confluence sources all build their items here, so a rule sees the same shape
from any store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath

from annexa.collectors.docstore.fields import Naming, RawField, build_data, is_marked
from annexa.collectors.docstore.formats import (
    FORMAT_BY_SUFFIX,
    ParsedFile,
    read_docx,
    read_markdown,
    read_pdf,
)
from annexa.model.evidence import JSONValue

READERS: dict[str, Callable[[bytes, str, Naming], ParsedFile]] = {
    "markdown": read_markdown,
    "pdf": read_pdf,
    "docx": read_docx,
}


def format_of(name: str) -> str:
    """The document format a file name's suffix says: markdown, pdf, docx or other."""
    return FORMAT_BY_SUFFIX.get(PurePosixPath(name).suffix.lower(), "other")


def parse_payload(payload: bytes, rel: str, fmt: str, naming: Naming | None = None) -> ParsedFile:
    """Metadata and structure of a file's bytes; raises ``UnreadableFile`` naming ``rel``. Names are read
    as fields through ``naming`` (the organisation's ``field_map``)."""
    return READERS[fmt](payload, rel, naming or Naming()) if fmt in READERS else ParsedFile(fields={})


# How to mark a document with metadata, by where it is kept.
_HOW_TO_MARK = {
    "markdown": "add front matter with at least type, id, status and owner (see docs/collectors.md), or a "
    "sidecar {sidecar} next to it",
    "docx": "set the document properties (Category = type, Status = status, custom properties such as "
    "Owner and Approver), or add a 'Document control' table (Document ID, Owner, Status, Approved by) at the "
    "top, or a sidecar {sidecar} next to it (see docs/collectors.md)",
    "pdf": "set document information keys (/DocType, /DocId, /Status, /Owner, /Approver) when exporting, or "
    "add a sidecar {sidecar} next to it (see docs/collectors.md)",
    "s3": "set object tags annexa:type and annexa:status (or user metadata x-amz-meta-annexa-type and "
    "-status), or mark the file itself (front matter, document properties; see docs/collectors.md)",
    "confluence": "add a doctype- label and a Page Properties table with Status, Owner and Approver rows "
    "(see docs/collectors.md)",
    "other": "add a sidecar {sidecar} next to it with at least type, id, status and owner "
    "(see docs/collectors.md)",
}


def unmarked_problem(rel: str, fmt: str, store: str) -> str:
    """The one problem line for a document without recognisable metadata: what is missing, how to add it."""
    how = _HOW_TO_MARK.get(store if store in ("s3", "confluence") else fmt, _HOW_TO_MARK["other"])
    name = rel.rsplit("/", 1)[-1]
    return f"no document metadata (no type, no status): {how.format(sidecar=name + '.meta.yaml')}"


def document_data(
    *,
    parsed: ParsedFile,
    fields: Mapping[str, RawField],
    rel: str,
    fmt: str,
    payload: bytes,
    store: str,
    fallback_title: str,
    report: Callable[[str], None],
    naming: Naming | None = None,
) -> dict[str, JSONValue]:
    """The ``document`` data every store shares; ``fields`` are the file's own fields overlaid with
    the store's (sidecar, object metadata and tags, page properties). ``git`` is left null.

    A document without recognisable metadata (no type, no status, nor a near miss of either) gets one
    problem line saying how to mark it, where it is kept."""
    for note in parsed.notes:
        report(note)
    if not is_marked(fields):
        report(unmarked_problem(rel, fmt, store))
    data = build_data(fields, report, naming)
    if data["title"] is None:
        data["title"] = parsed.title or fallback_title
    data.update(
        path=rel,
        format=fmt,
        sha256=hashlib.sha256(payload).hexdigest(),
        size_bytes=len(payload),
        headings=list(parsed.headings),
        empty_sections=list(parsed.empty_sections),
        store=store,
        git=None,
    )
    return data
