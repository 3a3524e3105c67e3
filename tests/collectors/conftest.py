"""Builders of real documents (Markdown, PDF, DOCX) and real git repositories for collector tests."""

from __future__ import annotations

import io
import os
import subprocess
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from annexa.model.evidence import Evidence
from annexa.plugins import CollectorSpec, CollectRequest

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class Run:
    """What one collection produced: the items, the problems and the defective items (kind, source,
    message: files that are there but cannot be read) reported through the request."""

    evidence: list[Evidence]
    problems: list[tuple[str, str]] = field(default_factory=list)
    defects: list[tuple[str, str, str]] = field(default_factory=list)

    def by_path(self) -> dict[str, Evidence]:
        return {str(item.data["path"]): item for item in self.evidence}

    def messages(self) -> list[str]:
        return [message for _, message in self.problems]


def run_collector(
    spec: CollectorSpec, config: Mapping[str, Any], *, base_path: Path, now: datetime = NOW
) -> Run:
    """Run ``spec``'s collector, validating config and every item against the declared schemas."""
    jsonschema.Draft202012Validator(spec.config_schema).validate(config)
    problems: list[tuple[str, str]] = []
    defects: list[tuple[str, str, str]] = []
    request = CollectRequest(
        config=config,
        kinds=frozenset(spec.kinds),
        now=now,
        base_path=str(base_path),
        report_problem=lambda source, message: problems.append((source, message)),
        report_defect=lambda kind, source, message: defects.append((kind, source, message)),
    )
    evidence = list(spec.factory().collect(request))
    for item in evidence:
        schema = spec.kinds[item.kind]
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(item.data)]
        assert not errors, f"{item.source}: {errors}"
        assert item.collected_at == now
    for kind, _, _ in defects:
        assert kind in spec.kinds, f"defective item of undeclared kind {kind!r}"
    return Run(evidence=evidence, problems=problems, defects=defects)


def markdown(front_matter: str | None, body: str) -> str:
    head = f"---\n{front_matter.strip()}\n---\n" if front_matter is not None else ""
    return head + body.lstrip("\n")


PdfLine = tuple[str, float]  # (text, font size): one line of a PDF page, set in Helvetica at that size


def make_pdf(
    path: Path,
    metadata: Mapping[str, str] | None = None,
    *,
    outline: Iterable[str] = (),
    pages: Iterable[Iterable[PdfLine]] = ((),),
) -> Path:
    """A PDF with an info dictionary, bookmarks (all to page 1) and pages of text lines, written top down
    as a word processor's export does (one ``Tm`` and ``Tj`` per line)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
        NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
    })  # fmt: skip
    font_ref = writer._add_object(font)  # pypdf has no public call for a shared resource object
    for lines in pages:
        page = writer.add_blank_page(width=595, height=842)
        ops, y = ["BT"], 800.0
        for text, size in lines:
            y -= size * 1.5
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"/F1 {size} Tf 1 0 0 1 72 {y} Tm ({escaped}) Tj")
        ops.append("ET")
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
        )
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if metadata:
        writer.add_metadata(dict(metadata))
    for title in outline:
        writer.add_outline_item(title=title, page_number=0)
    buffer = io.BytesIO()
    writer.write(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path


CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
CUSTOM_CT = "application/vnd.openxmlformats-officedocument.custom-properties+xml"


def make_docx(
    path: Path,
    *,
    core: Mapping[str, Any] | None = None,
    custom: Mapping[str, tuple[str, str]] | None = None,
    body: Iterable[tuple[int, str]] = (),
    build: Callable[[Any], None] | None = None,
) -> Path:
    """A DOCX with core properties, custom properties ``name -> (vt type, text)`` and a body of
    ``(heading level, text)`` paragraphs (level 0 is a normal paragraph). ``build``, if given, first writes
    to the ``docx.Document`` it is handed, with python-docx (tables, styles)."""
    import docx

    document = docx.Document()
    for name, value in (core or {}).items():
        setattr(document.core_properties, name, value)
    if build is not None:
        build(document)
    for level, text in body:
        if level:
            document.add_heading(text, level=level)
        else:
            document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    payload = buffer.getvalue()
    if custom:
        payload = _with_custom_properties(payload, custom)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


def _with_custom_properties(payload: bytes, custom: Mapping[str, tuple[str, str]]) -> bytes:
    """Add docProps/custom.xml with its content-type override and package relationship, as Word does."""
    props = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{pid}" name="{name}">'
        f"<vt:{vtype}>{text}</vt:{vtype}></property>"
        for pid, (name, (vtype, text)) in enumerate(custom.items(), start=2)
    )
    custom_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<Properties xmlns="{CUSTOM_NS}" xmlns:vt="{VT_NS}">{props}</Properties>'
    )
    source = zipfile.ZipFile(io.BytesIO(payload))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "[Content_Types].xml":
                override = f'<Override PartName="/docProps/custom.xml" ContentType="{CUSTOM_CT}"/>'
                data = data.replace(b"</Types>", override.encode() + b"</Types>")
            elif info.filename == "_rels/.rels":
                rel = f'<Relationship Id="rIdCustom1" Type="{CUSTOM_REL}" Target="docProps/custom.xml"/>'
                data = data.replace(b"</Relationships>", rel.encode() + b"</Relationships>")
            target.writestr(info, data)
        target.writestr("docProps/custom.xml", custom_xml)
    return out.getvalue()


class GitRepo:
    """A real repository whose commits carry fixed authors and dates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        full_env = {
            **os.environ,
            # The tester's own git configuration (signing, hooks, templates) must not leak in.
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Nobody",
            "GIT_AUTHOR_EMAIL": "nobody@example.com",
            "GIT_COMMITTER_NAME": "Nobody",
            "GIT_COMMITTER_EMAIL": "nobody@example.com",
            **(env or {}),
        }
        done = subprocess.run(
            ["git", "-C", str(self.root), *args], capture_output=True, text=True, env=full_env, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def commit(self, paths: Iterable[str], *, author: str, when: str, message: str = "change") -> None:
        self.git("add", "--", *paths)
        self.git(
            "commit", "-q", "-m", message,
            env={
                "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author.split()[0].lower()}@example.com",
                "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_NAME": author,
                "GIT_COMMITTER_EMAIL": f"{author.split()[0].lower()}@example.com", "GIT_COMMITTER_DATE": when,
            },
        )  # fmt: skip

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


class Kit:
    """The builders above, handed to tests as the ``kit`` fixture (test modules do not import conftest)."""

    now = NOW
    run = staticmethod(run_collector)
    markdown = staticmethod(markdown)
    make_pdf = staticmethod(make_pdf)
    make_docx = staticmethod(make_docx)


@pytest.fixture(scope="session")  # stateless, so module fixtures may build files with it too
def kit() -> Kit:
    return Kit()


@pytest.fixture
def git_repo(tmp_path: Path) -> Callable[[str], GitRepo]:
    def make(name: str = "repo") -> GitRepo:
        return GitRepo(tmp_path / name)

    return make
