"""``annexa controls``: the 38 Annex A controls, how each is checked, and (after a scan) its status."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

_STATUS_MARK = {
    None: "-",
    "pass": "PASS",
    "fail": "FAIL",
    "error": "ERROR",
    "inconclusive": "INCONCLUSIVE",
    "not_applicable": "N/A",
    "not_assessed": "not assessed",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from annexa.cli.options import add_config_option

    parser = subparsers.add_parser(
        "controls",
        help="list the Annex A controls with their rules, automation level and latest status",
        description="List the 38 Annex A controls: title, automation level (machine, documents, "
        "attestation; derived from the evidence kinds the rules read), the rules covering each and, "
        "when the store holds a scan, each control's status in the latest one.",
    )
    add_config_option(parser, needed=False)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.audit.coverage import coverage
    from annexa.cli.options import config_file
    from annexa.contract.catalog import roll_up_clauses
    from annexa.model.exitcodes import ExitCode

    loaded = load_pack_and_latest(config_file(args, needed=False))
    if isinstance(loaded, int):
        return loaded
    ruleset, latest = loaded
    statuses = {} if latest is None else {c.id: c for c in latest.record.controls}
    rows = coverage(ruleset.rules, statuses=statuses)
    # Main-body clauses (builtin:clauses), when selected: listed apart from the 38 Annex A controls.
    clauses = roll_up_clauses(() if latest is None else latest.record.findings, ruleset.rules_by_control())
    clause_status = {c.id: (c.status.value if latest is not None else None) for c in clauses}
    if args.format == "json":
        payload: dict[str, Any] = {
            "schema_version": 1,
            "scan": None if latest is None else latest.record.scan_id,
            "controls": [row.to_dict() for row in rows],
            "clauses": [
                {"id": c.id, "title": c.title, "rules": list(c.rules), "status": clause_status[c.id]}
                for c in clauses
            ],
        }
        print(json.dumps(payload, indent=2, sort_keys=True))
        return int(ExitCode.CONFORMANT)
    print(f"{'control':<9} {'automation':<11} {'status':<13} {'rules':>5}  title")
    for row in rows:
        status = _STATUS_MARK.get(row.status, row.status or "-")
        print(f"{row.id:<9} {row.automation.value:<11} {status:<13} {len(row.rules):>5}  {row.title}")
    if clauses:
        print()
        print(f"{'clause':<9} {'':<11} {'status':<13} {'rules':>5}  title (main body, apart from Annex A)")
        for clause in clauses:
            status = _STATUS_MARK.get(clause_status[clause.id], "-")
            print(f"{clause.id:<9} {'documents':<11} {status:<13} {len(clause.rules):>5}  {clause.title}")
    levels: dict[str, int] = {}
    for row in rows:
        levels[row.automation.value] = levels.get(row.automation.value, 0) + 1
    print()
    print("automation: " + ", ".join(f"{count} {level}" for level, count in sorted(levels.items())))
    print("status: " + (f"latest scan {latest.record.scan_id}" if latest else "no scan recorded yet"))
    return int(ExitCode.CONFORMANT)


def load_pack_and_latest(config_path: Path | None) -> tuple[Any, Any] | int:
    """The compiled rule pack (the config's, else the built-in one) and the store's latest scan, if any."""
    from annexa.app.scan import compile_for
    from annexa.app.wiring import DEFAULT_RULES, compile_pack, kind_registry, make_host
    from annexa.model.diagnostics import DiagnosticError
    from annexa.model.exitcodes import ExitCode
    from annexa.plugins.config import load_config, read_disabled_plugins
    from annexa.store import StoreError, open_store

    try:
        if config_path is not None and config_path.is_file():
            host = make_host(blocked=read_disabled_plugins(config_path))
            config = load_config(config_path, host)
            ruleset = compile_for(config, host)
            store_path: Path | None = Path(config.store_path)
        else:
            host = make_host()
            ruleset = compile_pack(list(DEFAULT_RULES), kind_registry(host), host=host)
            store_path = None
    except DiagnosticError as error:
        print(error.render(), file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    if store_path is None or not (store_path / "index.sqlite").is_file():
        return ruleset, None
    try:
        with open_store(store_path, create=False) as store:
            latest = store.load_scan("latest") if store.scans() else None
    except StoreError as error:
        print(f"annexa: error: {error}", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    return ruleset, latest
