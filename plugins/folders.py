"""Helpers for collectors of files: a configured folder source, and its per-file git history.

Collectors may not import each other, so the built-in ``documents`` and ``modelcards`` collectors (and
any third-party collector of files, perhaps kept in git) share these from ``annexa.plugins``.
A source entry is ``{path: folder}`` (a plain folder, which may happen to be in git) or ``{git: folder}``
(a folder that must be inside a git work tree, whose history is then required).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from annexa.plugins.types import CollectorError, CollectRequest

GIT_TIMEOUT_SECONDS = 120

# Record separator before each commit, unit separator between its fields; names follow NUL-separated.
_FORMAT = "%x1e%cI%x1f%an"


@dataclass(frozen=True, slots=True)
class FileHistory:
    last_commit_at: str  # ISO 8601 UTC with Z
    last_commit_author: str
    commits: int


@dataclass(frozen=True, slots=True)
class FolderSource:
    """One ``{path: ...}`` or ``{git: ...}`` entry of a collector's ``sources``, resolved."""

    given: str  # as written in the configuration: the evidence scope
    root: Path
    label: str  # the root folder's name, which prefixes every evidence source
    git_required: bool
    is_git: bool  # inside a git work tree, whether or not the entry asked for git

    def history(self, request: CollectRequest) -> dict[str, FileHistory]:
        """Per-file history (empty outside git). When git fails, a ``git`` source fails the run; a
        plain folder is still collected, its history left out and reported as a problem."""
        if not self.is_git:
            return {}
        try:
            return read_history(self.root)
        except CollectorError as exc:
            if self.git_required:
                raise
            request.report_problem(f"file:{self.label}", f"{exc.message}; commit history left out")
            return {}


def resolve_folder_source(entry: Mapping[str, Any], base_path: str, what: str) -> FolderSource:
    """The folder of ``entry`` (relative paths from ``base_path``), checked before anything is read.

    :raises CollectorError: the folder is missing, not a folder, or (``git``) not inside a work tree;
        ``what`` names the source in the message ("document source 'x' does not exist ...").
    """
    git_required = "git" in entry
    given = str(entry["git"] if git_required else entry["path"])
    root = Path(given) if Path(given).is_absolute() else Path(base_path) / given
    if not root.is_dir():
        state = "does not exist" if not root.exists() else "is not a folder"
        raise CollectorError(
            f"{what} source {given!r} {state} (looked at {root})",
            hint="paths are relative to the folder of the configuration file",
        )
    is_git = find_work_tree(root.resolve()) is not None
    if git_required and not is_git:
        raise CollectorError(
            f"{what} source {given!r} is not inside a git repository (no .git found at {root} or above)",
            hint="use {path: ...} for a plain folder, or run 'git init' there",
        )
    label = root.resolve().name or "root"
    return FolderSource(given=given, root=root, label=label, git_required=git_required, is_git=is_git)


def find_work_tree(folder: Path) -> Path | None:
    """The nearest folder at or above ``folder`` holding ``.git`` (a directory, or a file for worktrees)."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def read_history(folder: Path) -> dict[str, FileHistory]:
    """History of every file under ``folder`` that git tracks, keyed by POSIX path relative to ``folder``.

    Renames are not followed (``--no-renames``): a renamed file's history starts at the rename.
    A shallow clone reports only the commits it holds.
    """
    if _git(folder, "rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode != 0:
        return {}  # a repository without commits: nothing is tracked yet
    output = _git(folder, "log", "-z", "--no-renames", "--no-color", f"--format={_FORMAT}", "--name-only",
                  "--relative", "--", ".").stdout  # fmt: skip
    latest: dict[str, tuple[str, str]] = {}
    counts: dict[str, int] = {}
    for record in output.split("\x1e")[1:]:
        header, _, names = record.partition("\x00")
        committed, author = header.split("\x1f", 1)
        when = datetime.fromisoformat(committed).astimezone(UTC).isoformat().replace("+00:00", "Z")
        for name in names.split("\x00"):
            path = name.strip("\n")
            if path:
                counts[path] = counts.get(path, 0) + 1
                latest.setdefault(path, (when, author))  # git log lists the newest commit first
    return {path: FileHistory(when, author, counts[path]) for path, (when, author) in latest.items()}


def _git(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = ["git", "-C", str(folder), *args]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CollectorError(
            "git is not installed or not on PATH", hint="install git, or list the folder as {path: ...}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise CollectorError(f"git {args[0]} in {folder} took longer than {GIT_TIMEOUT_SECONDS} s") from exc
    if check and done.returncode != 0:
        raise CollectorError(
            f"git {args[0]} failed in {folder}: {done.stderr.strip() or f'exit status {done.returncode}'}",
            hint="check that the folder is a readable git work tree (git may refuse a repository owned by "
            "another user: see 'git config safe.directory')",
        )
    return done
