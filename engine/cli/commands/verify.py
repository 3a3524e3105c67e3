"""``annexa verify``: recompute every digest in the store and the hash chain of scans."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annexa.cli.options import add_config_option, add_store_option, open_configured_store
from annexa.model.exitcodes import ExitCode

if TYPE_CHECKING:
    from annexa.trust.verify import TrustReport

_EPILOG = """exit status: 0 the store is intact; 1 (the code for nonconformities) the store is broken, the
first broken item is named, or (with --trusted-key) a signature, the signed chain or a witness does
not check out, the reason is named; 4 no store at the given path, or a key or witness cannot be read."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the evidence store and scan history for tampering",
        description="Recompute the digest of every evidence file, scan manifest and scan's findings, check "
        "them against the index, and check the hash chain of scans; name the first broken item.",
        epilog=_EPILOG,
    )
    parser.add_argument(
        "scan", nargs="?", default=None, help="check the chain up to this scan and only its evidence"
    )
    add_config_option(parser, needed=False)
    add_store_option(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--trusted-key",
        type=Path,
        default=None,
        metavar="PUBLIC_KEY",
        help="check every scan's signature with this Ed25519 public key (PEM), and the signed chain: a "
        "removed signature, another signer or a gap in the signed sequence fails",
    )
    parser.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="PATH|s3://BUCKET/KEY",
        help="a copy of the signed head kept outside the store (repeatable; needs --trusted-key): a deleted "
        "last scan, a rolled-back HEAD or a rewritten chain fails",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.store import verify_store
    from annexa.trust import load_trusted_key
    from annexa.trust.verify import verify_signatures
    from annexa.trust.witness import open_witness

    if args.witness and args.trusted_key is None:
        print("annexa: error: --witness needs --trusted-key (a witness holds a signed head)", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    key = None if args.trusted_key is None else load_trusted_key(args.trusted_key)
    witnesses = [open_witness(location) for location in args.witness]
    with open_configured_store(args) as store:
        report = verify_store(store, args.scan)
        trust = verify_signatures(store, key, witnesses)
    ok = report.ok and trust.ok
    if args.format == "json":
        payload = {**report.to_dict(), "ok": ok, "signatures": trust.to_dict()}
        print(json.dumps(payload, indent=2, sort_keys=True))
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
        _print_signatures(trust)
    return int(ExitCode.CONFORMANT if ok else ExitCode.NONCONFORMITIES)


def _print_signatures(trust: TrustReport) -> None:
    if trust.ok:
        print(f"signatures: {'OK' if trust.keyid else 'UNCHECKED'} ({trust.summary()})")
    else:
        print(f"signatures: BROKEN ({len(trust.problems)} problem(s); {trust.summary()})")
        print(f"first broken item: {trust.problems[0]}")
        for problem in trust.problems[1:]:
            print(f"  also: {problem}")
    unsigned = [scan for scan in trust.scans if scan.state == "unsigned"]
    if unsigned and trust.ok:
        print(f"unsigned: {', '.join(f'#{scan.seq}' for scan in unsigned)} (results not signed by any key)")
    for note in trust.notes:
        print(f"note: {note}")
