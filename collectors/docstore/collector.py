"""The ``documents`` collector: one ``document`` evidence item per file in each configured folder."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annexa.collectors.docstore.fields import RawField, UnreadableFile, build_data, load_yaml_mapping
from annexa.collectors.docstore.formats import (
    FORMAT_BY_SUFFIX,
    ParsedFile,
    decode_text,
    read_docx,
    read_markdown,
    read_pdf,
)
from annexa.collectors.docstore.history import FileHistory, find_work_tree, read_history
from annexa.collectors.docstore.schema import KIND
from annexa.evidence import Evidence, JSONValue
from annexa.plugins import CollectorError, CollectRequest

NAME = "documents"
VERSION = "0.1.0"
SIDECAR_SUFFIX = ".meta.yaml"

_READERS: dict[str, Callable[[bytes, str], ParsedFile]] = {
    "markdown": read_markdown,
    "pdf": read_pdf,
    "docx": read_docx,
}


@dataclass(frozen=True, slots=True)
class Source:
    given: str  # as written in the configuration: the evidence scope
    root: Path
    label: str  # the root folder's name, which prefixes every evidence source
    git_required: bool


class DocumentsCollector:
    """Reads the metadata, structure and history of governance documents; judges none of it."""

    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        if request.kinds and KIND not in request.kinds:  # an empty set asks for every kind
            return
        # Resolve every source before yielding anything, so a bad path fails the run cleanly.
        sources = [_resolve(entry, request.base_path) for entry in request.config.get("sources", ())]
        for source in sources:
            yield from _collect_source(source, request)


def _resolve(entry: Mapping[str, Any], base_path: str) -> Source:
    git_required = "git" in entry
    given = str(entry["git"] if git_required else entry["path"])
    root = Path(given) if Path(given).is_absolute() else Path(base_path) / given
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a folder"
        raise CollectorError(
            f"document source {given!r} {what} (looked at {root})",
            hint="paths are relative to the folder of the configuration file",
        )
    label = root.resolve().name or "root"
    if git_required and find_work_tree(root.resolve()) is None:
        raise CollectorError(
            f"document source {given!r} is not inside a git repository (no .git found at {root} or above)",
            hint="use {path: ...} for a plain folder, or run 'git init' there",
        )
    return Source(given=given, root=root, label=label, git_required=git_required)


def _collect_source(source: Source, request: CollectRequest) -> Iterator[Evidence]:
    files, sidecars = _walk(source.root)
    is_git = find_work_tree(source.root.resolve()) is not None
    history: dict[str, FileHistory] = {}
    if is_git:
        try:
            history = read_history(source.root)
        except CollectorError as exc:
            if source.git_required:
                raise
            request.report_problem(f"file:{source.label}", f"{exc.message}; commit history left out")
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


def _source_id(source: Source, rel: str) -> str:
    return f"file:{source.label}/{rel}"


def _document(
    source: Source,
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
    fmt = FORMAT_BY_SUFFIX.get(path.suffix.lower(), "other")
    try:
        payload = path.read_bytes()
        parsed = _READERS[fmt](payload, rel) if fmt in _READERS else ParsedFile(fields={})
        fields = dict(parsed.fields)
        if sidecar is not None:
            sidecar_rel = sidecar.relative_to(source.root).as_posix()
            fields.update(_read_sidecar(sidecar, sidecar_rel))
    except UnreadableFile as exc:
        request.report_problem(source_id, exc.message)
        return None
    except OSError as exc:
        request.report_problem(source_id, f"{rel}: cannot be read ({exc.strerror or exc})")
        return None

    def report(message: str) -> None:
        request.report_problem(source_id, f"{rel}: {message}")

    data = build_data(fields, report)
    if data["title"] is None:
        data["title"] = parsed.title or path.stem
    found = history.get(rel)
    git: JSONValue = None
    if found is not None:
        git = {
            "last_commit_at": found.last_commit_at,
            "last_commit_author": found.last_commit_author,
            "commits": found.commits,
        }
    data.update(
        path=rel,
        format=fmt,
        sha256=hashlib.sha256(payload).hexdigest(),
        size_bytes=len(payload),
        headings=list(parsed.headings),
        empty_sections=list(parsed.empty_sections),
        store="git" if is_git else "folder",
        git=git,
    )
    return Evidence(
        kind=KIND,
        source=source_id,
        scope={"store": source.given},
        collector=f"{NAME} {VERSION}",
        collected_at=request.now,
        data=data,
    )


def _read_sidecar(path: Path, rel: str) -> dict[str, RawField]:
    fields = load_yaml_mapping(decode_text(path.read_bytes(), rel), where=rel, first_line=1)
    return {
        key: RawField(value=raw.value, origin=f"{rel} {raw.origin}", text=raw.text)
        for key, raw in fields.items()
    }
