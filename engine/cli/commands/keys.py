"""``annexa keys``: make the Ed25519 key pair that signs scans (docs/signing.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from annexa.model.exitcodes import ExitCode

_EPILOG = """exit status: 0 the key pair was written; 4 a file exists already (a key is never overwritten)
or cannot be written."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="make the key pair that signs scans",
        description="Manage the Ed25519 keys that sign recorded scans (DSSE envelopes around in-toto "
        "statements). Sign with `annexa scan --sign-key FILE` (or `signing: {key: FILE}` in annexa.yaml); "
        "verify with `annexa verify --trusted-key FILE.pub.pem`.",
    )
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION")
    generate = actions.add_parser(
        "generate",
        help="write a new private key (mode 0600) and its public key beside it",
        description="Write a new Ed25519 private key (PKCS#8 PEM, mode 0600) to --output and its public key "
        "to the same name ending .pub.pem. Keep the private key out of the store and out of version "
        "control; give the public key to whoever verifies. The key can also be handed to a scan through an "
        "environment variable: `--sign-key env:NAME` with the PEM text in NAME.",
        epilog=_EPILOG,
    )
    generate.add_argument(
        "-o", "--output", type=Path, default=Path("annexa-signing.pem"), help="private key file to write"
    )
    generate.set_defaults(run=run_generate)
    parser.set_defaults(run=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return int(ExitCode.USAGE_ERROR)


def run_generate(args: argparse.Namespace) -> int:
    from annexa.trust import generate_keypair

    public, keyid = generate_keypair(args.output)
    print(f"private key: {args.output} (mode 0600: keep it secret)")
    print(f"public key:  {public} (give it to verifiers: annexa verify --trusted-key {public})")
    print(f"key id:      {keyid}")
    return int(ExitCode.CONFORMANT)
