"""``annexa collect``: gather the evidence the selected rules read into a bundle, without evaluating."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from annexa.cli.commands.scan import QUIET_HELP, add_config_arguments

    parser = subparsers.add_parser(
        "collect",
        help="collect evidence into a bundle (JSON Lines) for offline evaluation",
        description="Collect the evidence the selected rules read and write it as an evidence bundle, "
        "which `annexa evaluate --evidence` re-evaluates offline.",
    )
    add_config_arguments(parser)
    parser.add_argument("-o", "--output", type=Path, required=True, help="bundle file to write (.jsonl)")
    parser.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.app.scan import collect, default_progress, plan
    from annexa.cli.commands.scan import load
    from annexa.model.evidence import write_bundle
    from annexa.model.exitcodes import ExitCode

    loaded = load(args)
    if isinstance(loaded, int):
        return loaded
    host, config, ruleset, now = loaded
    planned = plan(ruleset, config, host.collectors())
    collection = collect(config, host, planned, now=now, progress=default_progress(quiet=args.quiet))
    count = write_bundle(args.output, collection.bundle())
    for problem in collection.problems:
        print(f"problem: {problem}", file=sys.stderr)
    failed = {kind: error for kind, error in collection.collected.items() if error}
    print(
        f"{count} evidence item(s) written to {args.output}"
        + (f"; {len(failed)} kind(s) not collected" if failed else "")
    )
    return int(ExitCode.INCONCLUSIVE if failed else ExitCode.CONFORMANT)
