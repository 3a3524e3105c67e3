"""Fuzz: damaged Markdown, PDF and DOCX files give an UnreadableFile message or a document, nothing else."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from annexa.collectors.docstore.fields import UnreadableFile
from annexa.collectors.docstore.formats import ParsedFile, read_docx, read_markdown, read_pdf

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

MARKDOWN = b"""---
id: POL-001
type: ai-policy
status: approved
approver: Board
last_reviewed: 2026-05-04
ai_systems: [fraud-scoring]
---
# AI policy

## Purpose

Text.
"""


def damage(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Flip, drop or cut bytes at the drawn positions: damage a file meets on disk or in transit."""
    buffer = bytearray(data)
    for position, action, value in edits:
        if not buffer:
            break
        at = position % len(buffer)
        if action == 0:
            buffer[at] = value
        elif action == 1:
            del buffer[at : at + value % 64 + 1]
        else:
            del buffer[at:]
    return bytes(buffer)


EDITS = st.lists(
    st.tuples(st.integers(0, 1 << 20), st.integers(0, 2), st.integers(0, 255)), min_size=1, max_size=6
)


def parse_or_refuse(reader: object, data: bytes) -> ParsedFile | None:
    refused: UnreadableFile | None = None
    try:
        return reader(data, "fuzz.bin")  # type: ignore[operator,no-any-return]
    except UnreadableFile as exc:
        refused = exc
    assert str(refused).startswith("fuzz.bin")  # the message names the file
    return None


@pytest.fixture(scope="module")
def pdf_bytes(tmp_path_factory: pytest.TempPathFactory, kit: Any) -> bytes:
    path = kit.make_pdf(
        tmp_path_factory.mktemp("pdf") / "p.pdf",
        {
            "/Title": "AI policy",
            "/DocType": "ai-policy",
            "/Status": "approved",
            "/LastReviewed": "2026-05-04",
        },
        outline=["Purpose", "Scope"],
    )
    return path.read_bytes()


@pytest.fixture(scope="module")
def docx_bytes(tmp_path_factory: pytest.TempPathFactory, kit: Any) -> bytes:
    path = kit.make_docx(
        tmp_path_factory.mktemp("docx") / "d.docx",
        core={"title": "AI policy", "category": "ai-policy"},
        custom={"Status": ("lpwstr", "approved"), "LastReviewed": ("lpwstr", "2026-05-04")},
        body=[(1, "Purpose"), (0, "Text."), (1, "Scope"), (0, "More.")],
    )
    return path.read_bytes()


def test_the_undamaged_files_parse(pdf_bytes: bytes, docx_bytes: bytes) -> None:
    assert read_markdown(MARKDOWN, "m.md").fields
    assert read_pdf(pdf_bytes, "p.pdf").fields
    assert read_docx(docx_bytes, "d.docx").fields


@FUZZ
@given(EDITS)
@example(edits=[(4, 0, 1)])  # a control character in the front matter once escaped as a yaml ReaderError
def test_damaged_markdown(edits: list[tuple[int, int, int]]) -> None:
    parse_or_refuse(read_markdown, damage(MARKDOWN, edits))


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_as_markdown(data: bytes) -> None:
    parse_or_refuse(read_markdown, data)


@FUZZ
@given(EDITS)
def test_damaged_pdf(pdf_bytes: bytes, edits: list[tuple[int, int, int]]) -> None:
    parse_or_refuse(read_pdf, damage(pdf_bytes, edits))


@FUZZ
@given(EDITS)
def test_damaged_docx(docx_bytes: bytes, edits: list[tuple[int, int, int]]) -> None:
    parse_or_refuse(read_docx, damage(docx_bytes, edits))


@FUZZ
@given(
    st.sampled_from(["word/document.xml", "docProps/core.xml", "docProps/custom.xml", "[Content_Types].xml"]),
    EDITS,
)
def test_docx_with_a_damaged_part(docx_bytes: bytes, part: str, edits: list[tuple[int, int, int]]) -> None:
    """Damage inside one XML part of an intact ZIP: the parser, not the unzipper, meets the garbage."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, damage(data, edits) if info.filename == part else data)
    parse_or_refuse(read_docx, out.getvalue())


def test_an_enormous_markdown_document_is_read_in_bounded_time(tmp_path: Path) -> None:
    import time

    body = b"## Section\n\n" + b"Lorem ipsum dolor sit amet. " * 40 + b"\n\n"
    data = MARKDOWN + body * 20_000  # about 12 MB, 40,000 sections
    started = time.perf_counter()
    parsed = read_markdown(data, "huge.md")
    assert time.perf_counter() - started < 20
    assert parsed.fields
