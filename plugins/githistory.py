"""Per-file commit history of a folder inside a git work tree, read with one ``git log`` call.

A helper for collector authors: collectors may not import each other, so the built-in ``documents``
and ``modelcards`` collectors (and any third-party collector of files kept in git) share it from here.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from annexa.plugins.types import CollectorError

GIT_TIMEOUT_SECONDS = 120

# Record separator before each commit, unit separator between its fields; names follow NUL-separated.
_FORMAT = "%x1e%cI%x1f%an"


@dataclass(frozen=True, slots=True)
class FileHistory:
    last_commit_at: str  # ISO 8601 UTC with Z
    last_commit_author: str
    commits: int


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
