"""Each mutation of the demo estate does what its name says, checked with the collectors' own readers.

Without these checks a mutation that silently changed nothing (a garble the parser forgives, a drop that
missed its key) would make the metamorphic property hold for the wrong reason.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from annexa.collectors.docstore.fields import UnreadableFile
from annexa.collectors.docstore.formats import read_docx, read_markdown, read_pdf
from annexa.collectors.modelcards.markdown import UnreadableCard, read_card

from .estate import copy_estate, evidence_files
from .mutations import REQUIRED_FIELDS, TBD, Mutant, mutants, pdf_headings

YAML_FAMILIES = ("attestation", "sidecar", "yaml")
_PROPERTIES_NOT_READ = frozenset({"revision"})  # DOCX core properties the documents collector ignores


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_estate(tmp_path_factory.mktemp("mutations") / "estate")


@pytest.fixture(scope="module")
def files(estate: Path) -> dict[str, tuple[str, bytes]]:
    """path -> (family, original bytes)."""
    return {f.path: (f.family, (estate / f.path).read_bytes()) for f in evidence_files(estate)}


@pytest.fixture(scope="module")
def all_mutants(files: dict[str, tuple[str, bytes]]) -> tuple[Mutant, ...]:
    return tuple(m for path, (family, data) in files.items() for m in mutants(path, family, data))


def _of(all_mutants: tuple[Mutant, ...], files: dict[str, tuple[str, bytes]], prefix: str) -> list[Any]:
    """(mutant, family, original bytes) of every mutant whose mutation starts with ``prefix``."""
    return [(m, *files[m.path]) for m in all_mutants if m.mutation.startswith(prefix)]


def _metadata(family: str, data: bytes) -> dict[str, Any]:
    """The metadata a collector reads from a file of ``family``, as plain values."""
    if family == "markdown":
        return {key: raw.value for key, raw in read_markdown(data, "x").fields.items()}
    if family == "modelcard":
        return read_card(data, "x").metadata
    if family == "pdf":
        return {key: raw.value for key, raw in read_pdf(data, "x").fields.items()}
    if family == "docx":
        return {key: raw.value for key, raw in read_docx(data, "x").fields.items()}
    loaded = yaml.safe_load(data)
    return loaded if isinstance(loaded, dict) else {"entries": loaded}


def test_the_estate_has_every_format(files: dict[str, tuple[str, bytes]]) -> None:
    families = {family for family, _ in files.values()}
    assert {"markdown", "modelcard", "attestation", "sidecar", "pdf", "docx"} <= families
    assert "other" not in families, [p for p, (f, _) in files.items() if f == "other"]


def test_every_file_is_deleted_and_garbled(
    files: dict[str, tuple[str, bytes]], all_mutants: tuple[Mutant, ...]
) -> None:
    ids = {m.id for m in all_mutants}
    missing = [f"{p}:{m}" for p in files for m in ("delete", "garble") if f"{p}:{m}" not in ids]
    assert not missing
    assert all(m.content is None for m in all_mutants if m.mutation == "delete")
    assert len(ids) == len(all_mutants), "mutant ids are unique"


def test_garbled_files_cannot_be_read(all_mutants: tuple[Mutant, ...], files: dict[str, Any]) -> None:
    readers: dict[str, Callable[[bytes], object]] = {
        "markdown": lambda data: read_markdown(data, "x"),
        "modelcard": lambda data: read_card(data, "x"),
        "pdf": lambda data: read_pdf(data, "x"),
        "docx": lambda data: read_docx(data, "x"),
        **dict.fromkeys(YAML_FAMILIES, lambda data: yaml.safe_load(data)),
    }
    readable = []
    for mutant, family, _ in _of(all_mutants, files, "garble"):
        try:
            readers[family](mutant.content)
        except (UnreadableFile, UnreadableCard, yaml.YAMLError):
            continue
        readable.append(mutant.id)
    assert not readable


def test_a_dropped_field_is_gone_and_the_rest_kept(
    all_mutants: tuple[Mutant, ...], files: dict[str, Any]
) -> None:
    wrong = []
    for mutant, family, original in _of(all_mutants, files, "drop-"):
        before, after = _metadata(family, original), _metadata(family, mutant.content)
        key = mutant.mutation.removeprefix("drop-").split("#")[0]
        if family in ("markdown", "modelcard", "sidecar", "yaml") or (
            family == "attestation" and "#" not in mutant.mutation
        ):
            expected = {k: v for k, v in before.items() if k != key}
        elif family == "attestation":  # one entry of a list of attestations
            index = int(mutant.mutation.split("#")[1]) - 1
            entries = [dict(entry) for entry in before["entries"]]
            entries[index].pop(key)
            expected = {"entries": entries}
        else:  # pdf, docx: a property is not a field; the fields read from it go, nothing else changes
            kept = all(k in before and before[k] == v for k, v in after.items())
            gone = len(after) < len(before) or key in _PROPERTIES_NOT_READ
            expected = after if kept and gone else before
        if after != expected:
            wrong.append(mutant.id)
    assert not wrong


def test_front_matter_drops_are_the_required_fields(
    all_mutants: tuple[Mutant, ...], files: dict[str, Any]
) -> None:
    dropped = {
        m.mutation.removeprefix("drop-")
        for m in all_mutants
        if files[m.path][0] == "markdown" and m.mutation.startswith("drop-")
    }
    assert dropped == set(REQUIRED_FIELDS)


def test_demoted_documents_are_drafts(all_mutants: tuple[Mutant, ...], files: dict[str, Any]) -> None:
    demoted = _of(all_mutants, files, "demote")
    assert demoted
    for mutant, family, original in demoted:
        before, after = _metadata(family, original), _metadata(family, mutant.content)
        assert str(before["status"]).lower() == "approved", mutant.id
        assert after == {**before, "status": "draft"}, mutant.id


def test_documents_whose_status_is_approved_are_all_demoted(
    all_mutants: tuple[Mutant, ...], files: dict[str, Any]
) -> None:
    demoted = {m.path for m in all_mutants if m.mutation == "demote"}
    approved = set()
    for path, (family, data) in files.items():
        if family in ("markdown", "docx", "sidecar") and _metadata(family, data).get("status") == "approved":
            approved.add(path)
    assert approved == demoted


def test_stripped_files_carry_no_metadata(all_mutants: tuple[Mutant, ...], files: dict[str, Any]) -> None:
    stripped = _of(all_mutants, files, "strip-metadata")
    assert {family for _, family, _ in stripped} == {"markdown", "modelcard", "pdf", "docx"}
    for mutant, family, _ in stripped:
        assert _metadata(family, mutant.content) == {}, mutant.id


def test_hollowed_sections_hold_nothing(all_mutants: tuple[Mutant, ...], files: dict[str, Any]) -> None:
    """Headings and metadata stay; every section is empty (by the documents collector's own reading)."""
    from pypdf import PdfReader

    readers = {"markdown": read_markdown, "modelcard": read_markdown, "docx": read_docx, "pdf": read_pdf}
    hollowed = _of(all_mutants, files, "hollow-")
    assert {family for _, family, _ in hollowed} == set(readers)
    for mutant, family, original in hollowed:
        content = mutant.content
        assert _metadata(family, content) == _metadata(family, original), mutant.id
        before, after = readers[family](original, "x"), readers[family](content, "x")
        assert after.headings == before.headings, mutant.id
        assert set(after.empty_sections) == set(after.headings), mutant.id
        if family == "pdf":
            assert pdf_headings(content) == pdf_headings(original), mutant.id
            text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
            headings = {title for _, title in pdf_headings(original)}
            assert {line.strip() for line in text.splitlines()} - headings <= {"", TBD}, mutant.id
