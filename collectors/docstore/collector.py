"""The ``documents`` collector: one ``document`` evidence item per file in each configured folder."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from annexa.collectors.docstore.confluence import collect_confluence, confluence_scope
from annexa.collectors.docstore.document import document_data, format_of, parse_payload
from annexa.collectors.docstore.fields import Naming, RawField, UnreadableFile, load_yaml_mapping
from annexa.collectors.docstore.formats import decode_text
from annexa.collectors.docstore.s3 import collect_s3
from annexa.collectors.docstore.schema import KIND, NAME, VERSION
from annexa.model.evidence import Evidence
from annexa.plugins import CollectorError, CollectRequest, FileHistory, FolderSource, resolve_folder_source

SIDECAR_SUFFIX = ".meta.yaml"


class DocumentsCollector:
    """Reads the metadata, structure and history of governance documents; judges none of it."""

    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        if request.kinds and KIND not in request.kinds:  # an empty set asks for every kind
            return
        entries = list(request.config.get("sources", ()))
        # Resolve every folder before yielding anything, so a bad path fails the run cleanly.
        folders = {
            index: resolve_folder_source(entry, request.base_path, "document")
            for index, entry in enumerate(entries)
            if "path" in entry or "git" in entry
        }
        for index, entry in enumerate(entries):
            if index in folders:
                yield from _collect_source(folders[index], request)
            else:
                yield from _collect_remote(entry, request)


def _collect_remote(entry: Mapping[str, Any], request: CollectRequest) -> Iterator[Evidence]:
    if "s3" in entry:
        scope, items = str(entry["s3"]), collect_s3(entry, request)
    else:
        settings = entry["confluence"]
        scope, items = confluence_scope(settings), collect_confluence(settings, request)
    try:
        yield from items
    except CollectorError as exc:
        # One unreachable store must not sink the others. Its documents become a gap: rules over
        # documents can still fail on what was read, but none passes on a partial view.
        request.report_gap(KIND, scope, exc.message + (f" ({exc.hint})" if exc.hint else ""))


def _collect_source(source: FolderSource, request: CollectRequest) -> Iterator[Evidence]:
    files, sidecars = _walk(source.root)
    is_git, history = source.is_git, source.history(request)
    for rel in sorted(sidecars.keys() - _sidecar_targets(files, sidecars).values()):
        request.report_problem(_source_id(source, rel), f"{rel}: sidecar has no document next to it")
    targets = _sidecar_targets(files, sidecars)
    for rel in files:
        item = _document(source, rel, sidecars.get(targets.get(rel, "")), history, is_git, request)
        if item is not None:
            yield item


def _walk(root: Path) -> tuple[list[str], dict[str, Path]]:
    """Documents and sidecars under ``root`` as sorted POSIX paths; hidden entries are skipped."""
    files: list[str] = []
    sidecars: dict[str, Path] = {}
    for folder, dirs, names in os.walk(root):
        # Sorting in place also fixes the walk order; hidden folders (.git) are pruned here.
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(names):
            # "~$x.docx" are Office lock files, not documents.
            if name.startswith((".", "~$")):
                continue
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if name.endswith(SIDECAR_SUFFIX):
                sidecars[rel] = path
            elif path.is_file():
                files.append(rel)
    return sorted(files), sidecars


def _sidecar_targets(files: list[str], sidecars: Mapping[str, Path]) -> dict[str, str]:
    """Document -> its sidecar: ``policy.pdf.meta.yaml`` first, else ``policy.meta.yaml``."""
    targets: dict[str, str] = {}
    for rel in files:
        full = rel + SIDECAR_SUFFIX
        stem = rel.rsplit(".", 1)[0] + SIDECAR_SUFFIX if "." in rel.rsplit("/", 1)[-1] else full
        for candidate in (full, stem):
            if candidate in sidecars:
                targets[rel] = candidate
                break
    return targets


def _source_id(source: FolderSource, rel: str) -> str:
    return f"file:{source.label}/{rel}"


def _document(
    source: FolderSource,
    rel: str,
    sidecar: Path | None,
    history: Mapping[str, FileHistory],
    is_git: bool,
    request: CollectRequest,
) -> Evidence | None:
    source_id = _source_id(source, rel)
    path = source.root / rel
    if path.is_symlink() and not path.resolve().is_relative_to(source.root.resolve()):
        request.report_problem(source_id, f"{rel}: symbolic link to a file outside the source; skipped")
        return None
    fmt = format_of(rel)
    naming = Naming.from_config(request.config)
    try:
        payload = path.read_bytes()
        parsed = parse_payload(payload, rel, fmt, naming)
        fields = dict(parsed.fields)
        if sidecar is not None:
            sidecar_rel = sidecar.relative_to(source.root).as_posix()
            fields.update(_read_sidecar(sidecar, sidecar_rel, naming))
    except UnreadableFile as exc:
        _defective(request, source_id, exc.message)
        return None
    except OSError as exc:
        _defective(request, source_id, f"{rel}: cannot be read ({exc.strerror or exc})")
        return None

    def report(message: str) -> None:
        request.report_problem(source_id, f"{rel}: {message}")

    data = document_data(
        parsed=parsed, fields=fields, rel=rel, fmt=fmt, payload=payload,
        store="git" if is_git else "folder", fallback_title=path.stem, report=report, naming=naming,
    )  # fmt: skip
    found = history.get(rel)
    if found is not None:
        data["git"] = {
            "last_commit_at": found.last_commit_at,
            "last_commit_author": found.last_commit_author,
            "commits": found.commits,
        }
    return Evidence(
        kind=KIND,
        source=source_id,
        scope={"store": source.given},
        collector=f"{NAME} {VERSION}",
        collected_at=request.now,
        data=data,
    )


def _defective(request: CollectRequest, source_id: str, message: str) -> None:
    """A document that is there but cannot be read (nor its sidecar): a defective ``document``, which
    every rule over documents fails on, and the same message among the collection's problems."""
    request.report_defect(KIND, source_id, message)
    request.report_problem(source_id, message)


def _read_sidecar(path: Path, rel: str, naming: Naming) -> dict[str, RawField]:
    """A ``NAME.meta.yaml`` next to a document: front matter for files that cannot carry any. Read as
    front matter is (a byte order mark, CRLF; a key repeated is an error), and it overrides the file's own."""
    return load_yaml_mapping(
        decode_text(path.read_bytes(), rel), where=rel, first_line=1, naming=naming, origin=rel
    )
