"""``annexa report``: render a recorded scan in any format; also the output options ``scan`` shares."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from annexa.plugins.host import PluginHost
    from annexa.reports import OutputPlan
    from annexa.reports.gate import Condition


class _FormatsAction(argparse.Action):
    """``--format html,sarif`` and ``--format html --format sarif`` mean the same."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: Any = None
    ) -> None:
        names = [name.strip() for name in str(values).split(",") if name.strip()]
        setattr(namespace, self.dest, [*getattr(namespace, self.dest), *names])


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``--format`` (repeatable), ``--output`` and ``--fail-on``, the same for ``scan`` and ``report``."""
    parser.add_argument(
        "--format",
        action=_FormatsAction,
        dest="formats",
        default=[],
        metavar="FORMAT[,FORMAT...]",
        help="text (default), json, html, junit, sarif, oscal, csv, markdown, or a plugin's format; "
        "comma-separated or repeated, e.g. --format html,sarif (see docs/reports.md)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write the report to this file, or each format to DIR/annexa-report.<suffix> when PATH is a "
        "folder or ends in '/'; the text summary is then printed (alone: the JSON result to PATH)",
    )
    parser.add_argument(
        "--fail-on",
        action="append",
        default=[],
        metavar="STATE[:SEVERITY]",
        help="CI gate deciding the exit code: fail, new or inconclusive, each at a minimum severity "
        "(info, low, medium, high, critical), comma-separated or repeated; 'none' always exits 0. "
        "Example: --fail-on new:high",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from annexa.cli.options import add_config_option, add_store_option

    parser = subparsers.add_parser(
        "report",
        help="render a recorded scan as HTML, JSON, JUnit, SARIF, OSCAL, CSV or Markdown",
        description="Render a scan recorded in the store (with its drift from the scan before it and the "
        "trend over the history) in one or more formats.",
    )
    parser.add_argument(
        "scan", nargs="?", default="latest", help="latest (default), latest~N, a scan id or a digest prefix"
    )
    add_config_option(parser, needed=False)
    add_store_option(parser)
    add_output_arguments(parser)
    parser.set_defaults(run=run)


def prepare_outputs(args: argparse.Namespace, host: PluginHost) -> tuple[OutputPlan, Any] | int:
    """The output plan and the ``--fail-on`` conditions, or the usage exit code after saying why."""
    from annexa.model.exitcodes import ExitCode
    from annexa.reports import FailOnError, OutputError, parse_fail_on, plan_outputs

    try:
        plan = plan_outputs(args.formats, args.output, host.reporters())
        conditions = parse_fail_on(args.fail_on)
    except (OutputError, FailOnError) as error:
        print(f"annexa: error: {error}", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    return plan, conditions


def deliver(
    plan: OutputPlan,
    document: Mapping[str, Any],
    conditions: tuple[Condition, ...] | None,
    *,
    after_text: Iterable[str] = (),
) -> int:
    """Print and write the reports, then judge the exit code (``--fail-on`` or the result's own)."""
    from annexa.reports.gate import judge
    from annexa.reports.output import write_reports

    for spec in plan.printed:
        sys.stdout.write(spec.render(document))
        if spec.name == "text":
            for line in after_text:
                print(line)
    for path in write_reports(plan, document):
        print(f"report: {path}")
    verdict = judge(document, conditions)
    for reason in verdict.reasons:
        print(f"annexa: {reason}", file=sys.stderr)
    return int(verdict.exit_code)


def run(args: argparse.Namespace) -> int:
    from annexa.app.wiring import make_host
    from annexa.cli.options import optional_config, store_location
    from annexa.reports import report_document
    from annexa.reports.stored import stored_result
    from annexa.store import open_store

    host, config = optional_config(args)
    organization = config.organization if config is not None else ""
    store_path, evidence = store_location(args, config)
    prepared = prepare_outputs(args, host or make_host())
    if isinstance(prepared, int):
        return prepared
    plan, conditions = prepared
    with open_store(store_path, evidence=evidence, create=False) as store:
        freshness = config.freshness if config is not None else None
        result = stored_result(store, args.scan, organization=organization, freshness=freshness)
        document = report_document(result, store=store, scan=args.scan)
    return deliver(plan, document, conditions)
