"""``annexa diff``: what changed between two recorded scans (default: the previous and the latest)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from annexa.cli.options import add_config_option, add_store_option, open_configured_store
from annexa.model.exitcodes import ExitCode

_SECTIONS = (
    ("new_failure", "new failures"),
    ("fixed", "fixed"),
    ("still_failing", "still failing"),
    ("changed", "other status changes"),
    ("new_subject", "new subjects"),
    ("vanished", "vanished subjects"),
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="compare two recorded scans",
        description="Compare the findings and control statuses of two scans. A and B are scan ids, "
        "manifest digests, unique prefixes of either, or latest / latest~N.",
    )
    parser.add_argument("a", nargs="?", default="latest~1", help="older scan (default: latest~1)")
    parser.add_argument("b", nargs="?", default="latest", help="newer scan (default: latest)")
    add_config_option(parser, needed=False)
    add_store_option(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.reports.stored import drift_between
    from annexa.store import SCHEMA_VERSION

    with open_configured_store(args) as store:  # the drift from the index: neither scan's findings read
        old, new = store.load_scan(args.a, findings=False), store.load_scan(args.b, findings=False)
        drift = drift_between(store, old.digest, new.digest)
    if args.format == "json":
        payload = {
            "schema_version": SCHEMA_VERSION,
            "a": {"scan_id": old.record.scan_id, "manifest": old.digest},
            "b": {"scan_id": new.record.scan_id, "manifest": new.digest},
            **drift,
        }
        print(json.dumps(payload, indent=2, sort_keys=True))
        return int(ExitCode.CONFORMANT)
    print(f"{old.record.scan_id} ({old.digest[:12]}) -> {new.record.scan_id} ({new.digest[:12]})")
    counts = drift["counts"]
    print(
        ", ".join(f"{counts[key]} {title}" for key, title in _SECTIONS) + f", {counts['unchanged']} unchanged"
    )
    for key, title in _SECTIONS:
        items = [item for item in drift["findings"] if item["change"] == key]
        if not items:
            continue
        print(f"\n{title}:")
        for item in items:
            subject, before, after = item["subject"] or "(rule)", item["before"] or "-", item["after"] or "-"
            print(f"  {item['rule']}  {subject}  {before} -> {after}")
    if drift["controls"]:
        print("\ncontrols:")
        for control in drift["controls"]:
            print(f"  {control['id']}  {control['before'] or '-'} -> {control['after'] or '-'}")
    return int(ExitCode.CONFORMANT)
