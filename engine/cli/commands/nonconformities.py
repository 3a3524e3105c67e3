"""``annexa nonconformities``: the register of nonconformities and corrective actions, from the history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from annexa.cli.options import add_config_option

    parser = subparsers.add_parser(
        "nonconformities",
        help="the nonconformity register and management-review figures, from the scan history",
        description="Build the nonconformity register from every recorded scan: each failing finding opens "
        "a nonconformity (stable id, first and last seen, age, severity, and the owner, corrective action "
        "and due date from the configuration's `nonconformities` section). It closes only when a later "
        "scan shows the finding passing, when the control is declared not applicable, or by a closure record "
        "(`closed: {date, by, justification}` on its entry); evidence that is no longer collected leaves it "
        "open as `evidence_withdrawn`. It reopens if it regresses. Markdown adds the figures a management "
        "review asks for: readiness per group, open nonconformities by age, mean time to close.",
    )
    add_config_option(parser, needed=True)
    parser.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown")
    parser.add_argument("-o", "--output", type=Path, help="write to this file (atomically) instead of stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.app.corrective_actions import configured_actions
    from annexa.audit.nonconformities import (
        build_register,
        render_csv,
        render_json,
        render_markdown,
        scan_view,
    )
    from annexa.cli.options import load_host_and_config, required_config_file
    from annexa.files.atomic import atomic_write_text
    from annexa.model.exitcodes import ExitCode
    from annexa.store import open_store

    _, config = load_host_and_config(required_config_file(args))  # errors: main() exits 4
    actions = configured_actions(config)
    # A missing store is a StoreError, which main() prints (exit 4).
    with open_store(config.store_path, create=False) as store:
        # A scan at a time: only the one being replayed is held, not the history's findings.
        views = (scan_view(store.load_scan(summary.digest).record) for summary in store.scans())
        register = build_register(views, actions)
    render = {"markdown": render_markdown, "csv": render_csv, "json": render_json}[args.format]
    text = render(register)
    if args.output:
        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return int(ExitCode.CONFORMANT)
