"""Progress on stderr: a live display per collector on a terminal, plain lines in CI or a pipe, --quiet.

The terminal is a real pseudo-terminal (``pty``) that ``annexa scan`` runs on, as a user's shell would.
"""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_scan import ANNEXA, NOW, Project  # shared builders, same folder

from annexa.app.progress import LiveProgress, ScanProgress, default_progress, is_ci


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


def scan_on_a_terminal(project: Project, *extra: str, ci: str | None = None) -> tuple[int, str, str]:
    """Run ``annexa scan`` with stderr on a pseudo-terminal; returns (exit code, stdout, terminal text)."""
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update({"ANNEXA_DISABLE_PLUGIN_AUTOLOAD": "1", "TERM": "xterm-256color", "COLUMNS": "120"})
    if ci is not None:
        env["CI"] = ci
    leader, follower = pty.openpty()
    seen = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    command = [str(ANNEXA), "scan", "-c", str(project.config), "--now", NOW, "--format", "json", *extra]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower, env=env) as process:
        os.close(follower)
        stdout, _ = process.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(leader)
    return process.returncode, stdout.decode(), seen.decode(errors="replace")


def test_a_terminal_gets_a_live_display_per_collector(project: Project) -> None:
    code, stdout, terminal = scan_on_a_terminal(project)
    assert code == 0, terminal
    assert json.loads(stdout)["findings"]  # the report on stdout is untouched by the display
    assert "\x1b[" in terminal  # drawn with terminal control codes, redrawn in place
    assert "✓" in terminal  # a finished collector's spinner
    assert "documents" in terminal
    assert "item(s)" in terminal
    assert "annexa: collected documents in" not in terminal  # the bars replace the plain lines


def test_ci_on_a_terminal_gets_plain_lines(project: Project) -> None:
    code, _, terminal = scan_on_a_terminal(project, ci="true")
    assert code == 0, terminal
    assert "annexa: collected documents in" in terminal
    assert "✓" not in terminal


def test_quiet_on_a_terminal_draws_nothing(project: Project) -> None:
    code, _, terminal = scan_on_a_terminal(project, "--quiet")
    assert code == 0, terminal
    assert "item(s)" not in terminal
    assert "collected" not in terminal


def test_plain_lines_and_the_live_display_report_the_same_runs() -> None:
    plain = io.StringIO()
    lines = ScanProgress(plain)
    lines.collecting({"aws": 2, "documents": 1})
    lines.advanced("aws")
    lines.finished("documents", seconds=0.25, items=3, error=None)
    lines.finished("aws", seconds=1.5, items=0, error="access denied [s3:ListBuckets]")
    lines.close()
    assert plain.getvalue().splitlines() == [
        "annexa: collected documents in 0.2s: 3 item(s)",
        "annexa: collected aws in 1.5s: failed: access denied [s3:ListBuckets]",
    ]
    drawn = io.StringIO()
    live = LiveProgress(drawn)  # not a terminal: rich draws the final state once, on close
    live.collecting({"aws": 2, "documents": 1})
    live.advanced("documents")
    live.finished("documents", seconds=0.25, items=3, error=None)
    live.advanced("aws")
    live.advanced("aws")
    live.finished("aws", seconds=1.5, items=0, error="access denied [s3:ListBuckets]")
    live.close()
    text = drawn.getvalue()
    assert "3 item(s)" in text
    assert "failed: access denied [s3:ListBuckets]" in text  # brackets shown, not read as markup
    assert "2/2" in text
    assert "1/1" in text


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True), ("false", False), ("", False)])
def test_ci_variable(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert is_ci() is expected
    assert type(default_progress()) is ScanProgress  # pytest's stderr is no terminal: plain lines
    assert default_progress(quiet=True) is None


def test_help_does_not_import_rich() -> None:
    probe = (
        "import sys\nfrom annexa.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('rich' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().endswith("False")
