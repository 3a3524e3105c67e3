"""``annexa export``: an auditor bundle of one signed scan (docs/signing.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from annexa.model.exitcodes import ExitCode

_EPILOG = """exit status: 0 the bundle was written; 4 the scan is unsigned or unknown, the configuration or
rules are not the ones the scan was recorded with, or the store cannot be read (nothing is written)."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write an auditor bundle of a signed scan",
        description="Write one zip holding a signed scan: its DSSE-signed manifest, the evidence it names, "
        "the rule pack and configuration that produced it, the Statement of Applicability, the readiness "
        "report and a README for the auditor. `annexa verify-bundle` checks it offline.",
        epilog=_EPILOG,
    )
    parser.add_argument("--scan", default="latest", help="the scan (latest, latest~N, an id or a prefix)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the bundle to write (.zip)")
    parser.add_argument(
        "-c", "--config", type=Path, default=Path("annexa.yaml"), metavar="FILE", help="configuration file"
    )
    parser.add_argument(
        "--store", default=None, metavar="LOCATION", help="store (default: the configuration's)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.app.auditbundle import bundle_files
    from annexa.app.wiring import make_host
    from annexa.plugins.config import load_config, read_disabled_plugins
    from annexa.reports.document import report_document
    from annexa.reports.readiness import render_html
    from annexa.reports.stored import stored_result
    from annexa.store import open_store
    from annexa.trust.bundle import write_bundle

    if not args.config.is_file():
        print(f"annexa: error: no configuration file {args.config} (the scan's own configuration is "
              "needed: its digest is signed)", file=sys.stderr)  # fmt: skip
        return int(ExitCode.USAGE_ERROR)
    host = make_host(blocked=read_disabled_plugins(args.config))
    config = load_config(args.config, host)
    with open_store(args.store or config.store_path, create=False) as store:
        files, index = bundle_files(store, args.scan, config, host)
        result = stored_result(
            store, index["manifest"], organization=config.organization, freshness=config.freshness
        )
        document = report_document(result, store=store, scan=index["manifest"])
    files["report.html"] = render_html(document).encode("utf-8")
    write_bundle(args.output, files, index)
    evidence = sum(1 for name in files if name.startswith("evidence/"))
    print(f"bundle {args.output}: scan {index['scan_id']} signed by key {index['signature']['keyid'][:16]}, "
          f"{evidence} evidence item(s), {len(index['rules'])} rule file(s)")  # fmt: skip
    return int(ExitCode.CONFORMANT)
