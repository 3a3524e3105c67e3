"""The ``annexa`` command: the composition root that wires commands to the engine.

Each command lives in its own module under ``annexa.cli.commands`` and exposes ``register(subparsers)``;
modules keep heavy imports (boto3, the plugin manager) inside their run functions so that
``annexa --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from annexa import __version__
from annexa.model.errors import EngineError
from annexa.model.exitcodes import ExitCode

# Order is the order of ``annexa --help``.
COMMAND_MODULES = (
    "scan",
    "collect",
    "evaluate",
    "rules",
    "plugins",
    "verify",
    "keys",
    "export",
    "verify_bundle",
    "history",
    "diff",
    "controls",
    "soa",
    "nonconformities",
    "init",
    "report",
    "contract",
    "serve",
)


_EPILOG = """exit status: 0 conformant, 1 nonconformities, 2 inconclusive (evidence missing or a collector
failed), 3 internal error or a plugin crash, 4 bad input (usage, configuration, rule syntax, evidence format).
See docs/cli.md."""

_DEBUG_HELP = "on an internal error, print the traceback (also ANNEXA_DEBUG=1)"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with ``only`` (a command :data:`COMMAND_MODULES` names) that command
    alone: parsing ``annexa rules check`` needs only the rules command's module, not all eighteen."""
    parser = argparse.ArgumentParser(
        prog="annexa",
        description="Check an AI management system against ISO/IEC 42001:2023 Annex A, with evidence.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"annexa {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES if only is None else (only.replace("-", "_"),):
        try:
            module = importlib.import_module(f"annexa.cli.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"annexa.cli.commands.{name}":
                raise
            continue  # a command whose module has not landed yet
        module.register(subparsers)
    for command in subparsers.choices.values():
        # `annexa scan --debug` as well as `annexa --debug scan`; SUPPRESS keeps the global one's value.
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names, when its first word is one (else None: help, --version, a typo, which
    need every command's parser to be answered as before)."""
    first = next((word for word in argv if not word.startswith("-")), None)
    if first is None or first.replace("-", "_") not in COMMAND_MODULES or "_" in first:
        return None
    before = argv[: list(argv).index(first)]
    return first if all(word == "--debug" for word in before) else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(_command_of(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors; our contract says 4
        code = exc.code if isinstance(exc.code, int) else 0
        return int(ExitCode.USAGE_ERROR) if code == 2 else code
    if not getattr(args, "run", None):
        parser.print_help()
        return int(ExitCode.USAGE_ERROR)
    from annexa.cli.options import ConfigurationError
    from annexa.model.diagnostics import DiagnosticError  # after parsing: `annexa --help` stays fast

    try:
        return int(args.run(args))
    except DiagnosticError as exc:  # a configuration or rule file with problems, located
        print(exc.render(), file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    except (EngineError, ConfigurationError) as exc:
        print(f"annexa: error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `annexa history | head`: the reader left; say nothing more and do not print a traceback.
        sys.stderr.close()
        return 0
    except Exception as exc:  # the last line of defence: one line and a hint, never a bare traceback
        return _internal_error(exc, debug=bool(getattr(args, "debug", False)))


def _internal_error(exc: Exception, *, debug: bool) -> int:
    """Exit 3 for a bug in annexa or a crash in a plugin: one line saying which, and how to learn more."""
    import traceback

    from annexa.plugins.types import PluginError

    debug = debug or os.environ.get("ANNEXA_DEBUG", "") not in ("", "0")
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    plugin = _plugin_of(exc)
    if plugin:
        what = f"plugin {plugin} failed"
        hint = f"disable it with `-p no:{plugin}` or `plugins: {{disabled: [{plugin}]}}` in annexa.yaml"
    elif isinstance(exc, PluginError):  # a contract violation the host noticed; its message names the plugin
        what = "plugin error"
        hint = "`annexa plugins` lists the plugins; disable one with `-p no:NAME`"
    else:
        what = "internal error"
        hint = "this is a bug in annexa: please report it with the traceback"
    print(f"annexa: {what}: {type(exc).__name__}: {exc}", file=sys.stderr)
    if not debug:
        hint += "; run again with --debug (or ANNEXA_DEBUG=1) for the traceback"
    print(f"  hint: {hint}", file=sys.stderr)
    return int(ExitCode.INTERNAL_ERROR)


def _plugin_of(exc: BaseException) -> str | None:
    """The installed plugin (entry point of group ``annexa``) whose code raised ``exc``, innermost first."""
    import importlib.util
    import traceback
    from importlib.metadata import entry_points

    roots = {}
    for entry in entry_points(group="annexa"):
        try:
            spec = importlib.util.find_spec(entry.value.split(":")[0])
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin:
            origin = Path(spec.origin)
            roots[entry.name] = str(origin.parent if origin.name == "__init__.py" else origin.with_suffix(""))
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        for name, root in roots.items():
            if frame.filename == root + ".py" or frame.filename.startswith(root + os.sep):
                return name
    return None


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
