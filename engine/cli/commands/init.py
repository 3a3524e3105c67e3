"""``annexa init``: scaffold a governance folder, an attestations folder and an annexa.yaml."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "init",
        help="scaffold a governance folder with draft documents and an annexa.yaml",
        description="Create, in DIR, a governance folder holding a draft template for every document type "
        "the rule pack expects, an attestations folder and an annexa.yaml. Existing files are never "
        "overwritten: if any would be, nothing is written. The drafts do not pass: the first scan lists "
        "what is still to do.",
    )
    parser.add_argument("directory", nargs="?", default=".", type=Path, metavar="DIR")
    parser.add_argument("--organization", default="TODO: organisation name", help="name for annexa.yaml")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.app.scaffold import plan_scaffold, write_scaffold
    from annexa.model.exitcodes import ExitCode

    # A ScaffoldError (files exist) reaches main(), which prints it and exits 4.
    written = write_scaffold(args.directory, plan_scaffold(args.organization))
    documents = sum(1 for path in written if path.parent.name == "governance")
    print(f"created {len(written)} files in {args.directory}: {documents} draft documents, annexa.yaml, "
          "attestations/")  # fmt: skip
    print(f"next: fill in the drafts, then `annexa scan -c {args.directory / 'annexa.yaml'}`")
    return int(ExitCode.CONFORMANT)
