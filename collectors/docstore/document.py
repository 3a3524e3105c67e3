"""One ``document`` item's data from a file's bytes and metadata, whichever store holds the file.

The folder, S3 and Confluence sources all build their items here, so a rule sees the same shape
from any store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath

from annexa.collectors.docstore.fields import RawField, build_data
from annexa.collectors.docstore.formats import (
    FORMAT_BY_SUFFIX,
    ParsedFile,
    read_docx,
    read_markdown,
    read_pdf,
)
from annexa.evidence import JSONValue

READERS: dict[str, Callable[[bytes, str], ParsedFile]] = {
    "markdown": read_markdown,
    "pdf": read_pdf,
    "docx": read_docx,
}


def format_of(name: str) -> str:
    """The document format a file name's suffix says: markdown, pdf, docx or other."""
    return FORMAT_BY_SUFFIX.get(PurePosixPath(name).suffix.lower(), "other")


def parse_payload(payload: bytes, rel: str, fmt: str) -> ParsedFile:
    """Metadata and structure of a file's bytes; raises ``UnreadableFile`` naming ``rel``."""
    return READERS[fmt](payload, rel) if fmt in READERS else ParsedFile(fields={})


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
) -> dict[str, JSONValue]:
    """The ``document`` data every store shares; ``fields`` are the file's own fields overlaid with
    the store's (sidecar, object metadata and tags, page properties). ``git`` is left null."""
    data = build_data(fields, report)
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
