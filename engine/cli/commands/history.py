"""``annexa history``: the recorded scans, oldest first, with counts per finding status."""

from __future__ import annotations

import argparse
import json
from typing import Any

from annexa.cli.options import add_config_option, add_store_option, open_configured_store
from annexa.model.exitcodes import ExitCode

_COLUMNS = ("pass", "fail", "inconclusive", "not_applicable", "error")


def _signature_states(store: Any) -> dict[str, str]:
    """Manifest digest -> signed or unsigned (not verified: `annexa verify --trusted-key` does that)."""
    from annexa.trust.verify import signature_states  # cryptography only when the command runs

    return signature_states(store)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history",
        help="list recorded scans",
        description="List the scans recorded in the store, oldest first: time, findings per status and "
        "the manifest digest that chains them.",
    )
    add_config_option(parser, needed=False)
    add_store_option(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.store import SCHEMA_VERSION

    with open_configured_store(args) as store:
        scans = store.scans()
        signatures = _signature_states(store)
    if args.format == "json":
        listed = [{**scan.to_dict(), "signature": signatures.get(scan.digest, "unsigned")} for scan in scans]
        payload = {"schema_version": SCHEMA_VERSION, "scans": listed}
        print(json.dumps(payload, indent=2, sort_keys=True))
        return int(ExitCode.CONFORMANT)
    if not scans:
        print(f"no scans recorded in {store.location}")
        return int(ExitCode.CONFORMANT)
    header = ("#", "scan", "finished", *(name[:14] for name in _COLUMNS), "manifest", "signature")
    rows = [
        (
            str(s.seq),
            s.scan_id,
            s.finished_at,
            *(str(s.counts.get(n, 0)) for n in _COLUMNS),
            s.digest[:12],
            signatures.get(s.digest, "unsigned"),
        )
        for s in scans
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return int(ExitCode.CONFORMANT)
