"""``annexa verify``: recompute every digest in the store and the hash chain of scans."""

from __future__ import annotations

import argparse
import json
from typing import Any

from annexa.model.exitcodes import ExitCode
from annexa.store import verify_store

_EPILOG = """exit status: 0 the store is intact; 1 (the code for nonconformities) the store is broken, the
first broken item is named; 4 no store at the given path."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the evidence store and scan history for tampering",
        description="Recompute the digest of every evidence file and scan manifest and check the hash "
        "chain of scans; name the first broken item.",
        epilog=_EPILOG,
    )
    parser.add_argument(
        "scan", nargs="?", default=None, help="check the chain up to this scan and only its evidence"
    )
    parser.add_argument(
        "--store", default=".annexa", help="store: a folder or a postgresql:// URL (default: .annexa)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.store import open_store

    with open_store(args.store, create=False) as store:
        report = verify_store(store, args.scan)
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        checked = f"{report.scans_checked} scan(s), {report.evidence_checked} evidence file(s)"
        if report.ok:
            print(f"store {store.location}: OK ({checked} verified)")
        else:
            print(f"store {store.location}: BROKEN ({len(report.problems)} problem(s) in {checked})")
            print(f"first broken item: {report.problems[0]}")
            for problem in report.problems[1:]:
                print(f"  also: {problem}")
        for note in report.notes:
            print(f"note: {note}")
    return int(ExitCode.CONFORMANT if report.ok else ExitCode.NONCONFORMITIES)
