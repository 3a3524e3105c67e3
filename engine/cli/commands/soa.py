"""``annexa soa``: the Statement of Applicability from annexa.yaml and a recorded scan."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from annexa.cli.options import add_config_option

    parser = subparsers.add_parser(
        "soa",
        help="write the Statement of Applicability",
        description="Write the Statement of Applicability: per Annex A control, applicable or not with the "
        "justification from the configuration's `applicability` section, the implementation status from a "
        "recorded scan (default: the latest), the evidence ids behind it and the exceptions in force. The "
        "output is deterministic, so two versions diff cleanly.",
    )
    add_config_option(parser, needed=True)
    parser.add_argument(
        "--scan", default="latest", help="scan reference: latest, latest~N, scan id or digest"
    )
    parser.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown")
    parser.add_argument("-o", "--output", type=Path, help="write to this file (atomically) instead of stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.audit.soa import (
        Declaration,
        build_soa,
        exceptions_in_force,
        render_csv,
        render_json,
        render_markdown,
    )
    from annexa.audit.soa import scan_info as make_scan_info
    from annexa.cli.options import load_host_and_config, required_config_file
    from annexa.files.atomic import atomic_write_text
    from annexa.model.exitcodes import ExitCode
    from annexa.store import open_store

    _, config = load_host_and_config(required_config_file(args))  # errors: main() exits 4
    declarations = {
        a.control: Declaration(applicable=a.applicable, justification=a.justification)
        for a in config.applicability
    }
    has_store = (Path(config.store_path) / "index.sqlite").is_file()
    if not has_store and args.scan == "latest":
        print(f"annexa: warning: no scan in {config.store_path}; implementation status is not assessed",
              file=sys.stderr)  # fmt: skip
        soa = build_soa(organization=config.organization, declarations=declarations, exceptions=(), scan=None)
    else:
        # A StoreError (no store, unknown reference) reaches main(), which prints it and exits 4.
        with open_store(config.store_path, create=False) as store:
            stored = store.load_scan(args.scan)
        record = stored.record
        soa = build_soa(
            organization=config.organization,
            declarations=declarations,
            exceptions=exceptions_in_force(config.exceptions, record.started_at.date()),
            scan=make_scan_info(record.scan_id, record.started_at, record.rule_pack_digest),
            controls=record.controls,
            findings=record.findings,
        )
    render = {"markdown": render_markdown, "csv": render_csv, "json": render_json}[args.format]
    text = render(soa)
    if args.output:
        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return int(ExitCode.CONFORMANT)
