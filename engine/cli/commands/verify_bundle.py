"""``annexa verify-bundle``: check an auditor bundle offline, signatures, digests and findings."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from annexa.model.exitcodes import ExitCode

_EPILOG = """exit status: 0 the bundle verifies: the signature by the trusted key, every digest, and the
findings re-evaluated from its evidence match the signed findings digest; 1 it does not (the first broken
item is named: a signature by another key, an altered or swapped file, an unknown algorithm, findings that
differ); 4 the bundle or the key cannot be read (not a zip, truncated, no index). Nothing is written."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify-bundle",
        help="check an auditor bundle offline",
        description="Verify an auditor bundle written by `annexa export` without the store that produced "
        "it: the DSSE signature against a public key you trust, the digest of every file, and the findings, "
        "re-evaluated from the bundle's evidence and rules, against the signed findings digest.",
        epilog=_EPILOG,
    )
    parser.add_argument("bundle", type=Path, help="the bundle (.zip)")
    parser.add_argument(
        "--trusted-key",
        type=Path,
        required=True,
        metavar="PUBLIC_KEY",
        help="the producer's Ed25519 public key (PEM), obtained from them directly",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.app.auditbundle import reevaluate
    from annexa.app.wiring import make_host
    from annexa.store.verification import VerifyProblem
    from annexa.trust.bundle import check_bundle, read_bundle
    from annexa.trust.keys import load_trusted_key

    key = load_trusted_key(args.trusted_key)
    bundle = read_bundle(args.bundle)
    checked = check_bundle(bundle, key)
    recomputed = None
    if not checked.problems and checked.predicate is not None:
        recomputed = reevaluate(checked, make_host(), bundle.path)
        signed = str(checked.predicate.get("findings_digest"))
        if recomputed != signed:
            checked.problems.append(VerifyProblem(path=f"{bundle.path}!manifest.json", message="the findings "
                                                  "re-evaluated from the bundle's evidence and rules differ "
                                                  "from the signed findings", expected=signed,
                                                  actual=recomputed))  # fmt: skip
    ok = not checked.problems
    predicate = checked.predicate or {}
    if args.format == "json":
        print(json.dumps({"ok": ok, "bundle": bundle.path, "scan_id": predicate.get("scan_id"),
                          "trusted_key": key.keyid, "findings_digest": recomputed,
                          "problems": [{"path": p.path, "message": p.message, "expected": p.expected,
                                        "actual": p.actual} for p in checked.problems]},
                         indent=2, sort_keys=True))  # fmt: skip
    elif ok:
        print(f"bundle {bundle.path}: VERIFIED: scan {predicate.get('scan_id')} signed by trusted key "
              f"{key.keyid[:16]}; {len(checked.evidence)} evidence item(s) and every digest check out; "
              f"findings re-evaluated offline: same digest {recomputed}")  # fmt: skip
    else:
        print(f"bundle {bundle.path}: BROKEN ({len(checked.problems)} problem(s))")
        print(f"first broken item: {checked.problems[0]}")
        for problem in checked.problems[1:]:
            print(f"  also: {problem}")
    return int(ExitCode.CONFORMANT if ok else ExitCode.NONCONFORMITIES)
