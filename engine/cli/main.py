"""The ``annexa`` command: the composition root that wires commands to the engine.

Each command lives in its own module under ``annexa.cli.commands`` and exposes ``register(subparsers)``;
modules keep heavy imports (boto3, the plugin manager) inside their run functions so that
``annexa --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="annexa",
        description="Check an AI management system against ISO/IEC 42001:2023 Annex A, with evidence.",
    )
    parser.add_argument("--version", action="version", version=f"annexa {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"annexa.cli.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"annexa.cli.commands.{name}":
                raise
            continue  # a command whose module has not landed yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors; our contract says 4
        code = exc.code if isinstance(exc.code, int) else 0
        return int(ExitCode.USAGE_ERROR) if code == 2 else code
    if not getattr(args, "run", None):
        parser.print_help()
        return int(ExitCode.USAGE_ERROR)
    try:
        return int(args.run(args))
    except EngineError as exc:
        print(f"annexa: error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `annexa history | head`: the reader left; say nothing more and do not print a traceback.
        sys.stderr.close()
        return 0


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
