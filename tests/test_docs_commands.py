"""Every shell command shown in README.md and docs/*.md runs as written.

Commands are the lines of fenced ```sh / ```bash / ```shell / ```console blocks and the lines after a `$ `
prompt in any block; a trailing `# comment` is not part of the command, and a line that is only a comment
is output or explanation. Each document's commands run in order, as a reader would type them, with
`annexa` on the PATH, in a fresh copy of examples/ (the demo estate) prepared as PREPARED says. A command
that cannot run here is in NOT_RUN with its reason; there is no other way to skip one, and a NOT_RUN entry
that no longer matches a command fails the test.

The copy of the demo estate leaves out the AWS account and the MLflow registry (the `aws` and `mlflow`
collectors): `make demo` serves them on fixed ports (5055, 5100) that other test runs may hold, and the
commands here are about the command line, not about those collectors (tests/test_demo.py scans the whole
estate against its own servers). Their rules are inconclusive, as the README's sample output shows.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))
SHELL_FENCES = ("sh", "bash", "shell", "console")

# Commands that are not run, each with why. Keyed by (document, command as written).
NOT_RUN: dict[tuple[str, str], str] = {
    ("README.md", "make demo"): "sets up a virtual environment and starts moto and MLflow on fixed ports; "
    "tests/test_demo.py runs its steps (seed the estate on servers of its own, scan, verify, report)",
    (
        "README.md",
        "make test",
    ): "runs the whole test suite, this test included (CI runs it as `bash .ci/run`)",
    ("docs/reports.md", "ANNEXA_UPDATE_GOLDEN=1 .venv/bin/pytest tests/reports/test_report_formats.py"): (
        "rewrites tests/reports/golden in the working tree; the suite runs the same test without the variable"
    ),
    (
        "docs/signing.md",
        "annexa verify --trusted-key keys/annexa-signing.pub.pem --witness s3://audit-witness/annexa/head.dsse.json",
    ): "needs an S3 bucket holding a signed head; tests/engine/test_signing.py runs it against moto",
}

# Commands run before a document's own, to give it the state its text presumes.
PREPARED: dict[str, tuple[str, ...]] = {
    # "the scan before it" (report latest~1) presumes a history.
    "docs/reports.md": ("annexa scan -c annexa.yaml",),
    # An auditor bundle is exported from a signed scan and verified with the producer's public key.
    "docs/signing.md": (
        "annexa keys generate -o producer/annexa-signing.pem",
        "annexa scan -c annexa.yaml --sign-key producer/annexa-signing.pem",
        "cp producer/annexa-signing.pub.pem producer.pub.pem",
    ),
}

# Commands that run in the repository itself (read-only), not in the copy of the demo estate.
IN_REPOSITORY = {"git diff tests/reports/golden"}

# For the commands that judge the estate, exit codes 1 and 2 are results (nonconformities, inconclusive
# evidence), not failures: the demo estate has both on purpose. Every other command must exit 0.
RESULT_CODES = {0, 1, 2}
JUDGING = ("annexa scan ", "annexa report ", "annexa evaluate ", "annexa collect ")


@dataclass(frozen=True, slots=True)
class Command:
    document: str  # relative to the repository
    line: int
    text: str


def shell_commands(path: Path) -> list[Command]:
    """The commands a document shows (see the module docstring for what counts)."""
    document = path.relative_to(REPO).as_posix()
    found: list[Command] = []
    fence: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else stripped.removeprefix("```").strip().lower()
            continue
        if fence is None:
            continue
        if stripped.startswith("$ "):
            text = stripped.removeprefix("$ ")
        elif fence in SHELL_FENCES and fence != "console":
            text = stripped
        else:
            continue
        text = re.sub(r"\s+#\s.*$", "", text).strip()  # a trailing comment explains, it is not typed
        if text and not text.startswith("#"):
            found.append(Command(document, number, text))
    return found


ALL = [command for path in DOCUMENTS for command in shell_commands(path)]
BY_DOCUMENT: dict[str, list[Command]] = {}
for _command in ALL:
    BY_DOCUMENT.setdefault(_command.document, []).append(_command)


def test_commands_are_found() -> None:
    documents = {command.document for command in ALL}
    assert {"README.md", "docs/reports.md", "docs/cli.md"} <= documents
    assert len(ALL) >= 10


def test_every_command_not_run_has_a_reason_and_still_exists() -> None:
    shown = {(command.document, command.text) for command in ALL}
    stale = [key for key in NOT_RUN if key not in shown]
    assert not stale, f"NOT_RUN names commands the documents no longer show: {stale}"
    assert all(reason.strip() for reason in NOT_RUN.values())


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of examples/ without the services' collectors and without earlier output."""
    root = tmp_path / "examples"
    shutil.copytree(REPO / "examples", root, ignore=shutil.ignore_patterns("out", "__pycache__"))
    config = root / "annexa.yaml"
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    for name in ("aws", "mlflow"):
        raw["collectors"].pop(name)
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return root


def _run(text: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANNEXA_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-c", text], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.parametrize("document", sorted(BY_DOCUMENT))
def test_documented_commands_run_as_written(document: str, workspace: Path) -> None:
    for text in PREPARED.get(document, ()):
        done = _run(text, workspace)
        allowed = RESULT_CODES if text.startswith(JUDGING) else {0}
        assert done.returncode in allowed, f"preparing {document}: {text}\n{done.stderr}"
    ran = 0
    for command in BY_DOCUMENT[document]:
        if (command.document, command.text) in NOT_RUN:
            continue
        in_repository = command.text in IN_REPOSITORY
        done = _run(command.text, REPO if in_repository else workspace)
        allowed = RESULT_CODES if command.text.startswith(JUDGING) else {0}
        assert done.returncode in allowed, (
            f"{command.document}:{command.line}: `{command.text}` exited {done.returncode}\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
        ran += 1
    assert ran or all((c.document, c.text) in NOT_RUN for c in BY_DOCUMENT[document])


def test_install_hints_name_extras_that_exist() -> None:
    """`pip install 'annexa[X]'` anywhere in the code or the documents names an extra of pyproject.toml."""
    extras = set(
        tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
            "optional-dependencies"
        ]
    )
    named: dict[str, set[str]] = {}
    for folder in ("engine", "plugins", "collectors", "docs", "examples"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix in (".py", ".md") and "__pycache__" not in path.parts:
                for extra in re.findall(r"annexa\[([a-z0-9_-]+)\]", path.read_text(encoding="utf-8")):
                    named.setdefault(extra, set()).add(path.relative_to(REPO).as_posix())
    for extra in re.findall(r"annexa\[([a-z0-9_-]+)\]", (REPO / "README.md").read_text(encoding="utf-8")):
        named.setdefault(extra, set()).add("README.md")
    unknown = {extra: sorted(paths) for extra, paths in named.items() if extra not in extras}
    assert not unknown, f"install hints name extras pyproject.toml does not define: {unknown}"


def _synopses() -> list[tuple[str, str]]:
    """(document, text) of every `annexa ...` shown in inline code or in a fenced block's line."""
    found = []
    for path in DOCUMENTS:
        document = path.relative_to(REPO).as_posix()
        text = path.read_text(encoding="utf-8")
        spans = re.findall(r"`(annexa [^`]+)`", text)
        spans += re.findall(r"^\s*(?:\$ )?(annexa [^\n#]+)", text, flags=re.MULTILINE)
        found += [(document, span.strip()) for span in spans]
    return found


def test_every_option_a_document_names_exists() -> None:
    """Synopses such as `annexa soa [-c annexa.yaml] [--format markdown|csv|json] [-o FILE]` name options the
    command really has (they cannot run as written: the brackets are notation)."""
    from annexa.cli.main import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    wrong = []
    for document, text in _synopses():
        words = text.split()
        if len(words) < 2 or words[1] not in commands:
            continue
        command = commands[words[1]]
        for word in words[2:]:  # `annexa rules check`, `annexa serve token create`: the innermost command
            actions = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
            if not actions or word not in actions[0].choices:
                break
            command = actions[0].choices[word]
        options = {option for action in command._actions for option in action.option_strings}
        named = re.findall(r"(?<![\w/.:-])(--?[a-z][a-z-]*)", text)
        wrong += [f"{document}: `{text}`: {option}" for option in named if option not in options]
    assert not wrong, "\n".join(wrong)
