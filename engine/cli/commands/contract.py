"""``annexa contract``: the evidence contract as Markdown (docs/evidence.md is its output)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from annexa.cli.options import add_config_option

    parser = subparsers.add_parser(
        "contract",
        help="print the evidence contract: every field rules may read, and which rules read it",
        description="Print the evidence contract as Markdown: per evidence kind (and per document type) "
        "each field's type, whether it is required, its allowed values, the catalog evidence signals that "
        "name it and the rules of the pack that read it. docs/evidence.md is this output.",
    )
    parser.add_argument(
        "paths", nargs="*", help="rule files or folders (default: the configuration's, else builtin:annex_a)"
    )
    add_config_option(parser, needed=False)
    parser.add_argument("--format", choices=("markdown",), default="markdown")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from annexa.app.contract_docs import render_markdown
    from annexa.app.wiring import compile_pack, kind_registry, make_host
    from annexa.cli.options import optional_config
    from annexa.contract.fields import load_contract
    from annexa.model.exitcodes import ExitCode

    host, config = optional_config(args) if not args.paths else (None, None)
    host = host or make_host()
    kinds = kind_registry(host)
    paths = args.paths or (list(config.rule_paths) if config is not None else [])
    ruleset = compile_pack(paths, kinds, config.params if config is not None else {}, host)
    print(render_markdown(load_contract(), kinds, ruleset), end="")
    return int(ExitCode.CONFORMANT)
