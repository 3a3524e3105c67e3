"""Last commit of each card in a git work tree, read with one ``git log`` call per source.

Collectors may not import each other, so this is a small copy of what the documents collector
does for its git stores (same fields, same semantics: renames not followed).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from annexa.plugins import CollectorError

GIT_TIMEOUT_SECONDS = 120
_FORMAT = "%x1e%cI%x1f%an"  # record separator per commit, unit separator between its fields


@dataclass(frozen=True, slots=True)
class FileHistory:
    last_commit_at: str  # ISO 8601 UTC with Z
    last_commit_author: str
    commits: int


def find_work_tree(folder: Path) -> Path | None:
    """The nearest folder at or above ``folder`` holding ``.git``."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def read_history(folder: Path) -> dict[str, FileHistory]:
    """History of every tracked file under ``folder``, keyed by POSIX path relative to it."""
    if _git(folder, "rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode != 0:
        return {}  # no commits yet
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
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CollectorError(
            "git is not installed or not on PATH", hint="list the folder as {path: ...}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise CollectorError(f"git {args[0]} in {folder} took longer than {GIT_TIMEOUT_SECONDS} s") from exc
    if check and done.returncode != 0:
        raise CollectorError(
            f"git {args[0]} failed in {folder}: {done.stderr.strip() or f'exit status {done.returncode}'}",
            hint="check that the folder is a readable git work tree (see 'git config safe.directory')",
        )
    return done
