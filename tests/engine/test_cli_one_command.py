"""`annexa COMMAND ...` builds the parser of that command alone: the same parsing and help, fewer imports."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import pytest

from annexa.cli.main import COMMAND_MODULES, _command_of, build_parser

COMMANDS = [module.replace("_", "-") for module in COMMAND_MODULES]


def _help(only: str | None, argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser(only).parse_args(argv)
    return out.getvalue()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_alone_parses_and_helps_as_in_the_whole_parser(command: str) -> None:
    assert _command_of([command, "--help"]) == command
    assert _help(command, [command, "--help"]) == _help(None, [command, "--help"])


def test_rules_check_arguments_parse_the_same() -> None:
    argv = ["--debug", "rules", "check", "--format", "json", "--param", "a=b", "rules/x.rule"]
    assert _command_of(argv) == "rules"
    assert vars(build_parser("rules").parse_args(argv)) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv",
    [[], ["--help"], ["-h", "rules"], ["--version"], ["rulez", "check"], ["verify_bundle", "x"]],
    ids=["nothing", "help", "help-first", "version", "unknown", "module-name"],
)
def test_help_version_and_unknown_words_get_the_whole_parser(argv: list[str]) -> None:
    assert _command_of(argv) is None


def test_rules_check_imports_no_other_command() -> None:
    probe = (
        "import sys\nfrom annexa.cli.main import main\n"
        "code = main(['rules', 'check', 'builtin:annex_a'])\n"
        "print(code, sorted(m for m in sys.modules if m.startswith('annexa.cli.commands.')))"
    )
    command = [sys.executable, "-c", probe]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "0 ['annexa.cli.commands.rules']"
