"""``annexa scan``: collect, store, evaluate, record and report, in one go."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from annexa.app.scan import Collection
    from annexa.model.evidence import Evidence
    from annexa.plugins.config import Config
    from annexa.plugins.host import PluginHost
    from annexa.reports import OutputPlan
    from annexa.reports.gate import Condition


QUIET_HELP = (
    "no progress on stderr: neither the display per collector (on a terminal) nor the plain lines (in CI "
    "or when piped); diagnostics and errors are still shown"
)


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    from annexa.cli.options import add_config_option

    add_config_option(parser, needed=True)
    parser.add_argument(
        "-p",
        dest="plugin_options",
        action="append",
        default=[],
        metavar="no:NAME",
        help="do not load the plugin NAME (repeatable)",
    )
    parser.add_argument("--now", help="the scan's clock (ISO 8601); default: the current time")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="collect evidence, evaluate the rules, record the scan and report",
        description="Run a scan: compile the selected rules, collect the evidence they read (concurrently), "
        "store it, evaluate, record the scan in the tamper-evident store and print a report.",
    )
    add_config_arguments(parser)
    from annexa.cli.commands.report import add_output_arguments

    add_output_arguments(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="dry run: collect, evaluate and report, but store nothing (no evidence, no scan in the history)",
    )
    parser.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="URL",
        help="POST the drift since the previous scan to this webhook (repeatable); a failure is reported, "
        "never fatal",
    )
    parser.add_argument(
        "--notify-format",
        choices=("json", "slack"),
        default="json",
        help='webhook body: json (default) or slack ({"text": ...}, Slack-compatible)',
    )
    parser.add_argument(
        "--executor",
        default="local",
        metavar="local|local:N|dask://HOST:PORT",
        help="where collectors run: a local thread pool (default), or the workers of a Dask scheduler "
        "(needs annexa[dask])",
    )
    parser.add_argument(
        "--executor-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with dask://: how long the scan waits while the cluster has no worker before it stops with "
        "exit 3 (default 60)",
    )
    parser.add_argument(
        "--timings",
        action="store_true",
        help="print each step's wall time, CPU time and peak memory to standard error",
    )
    parser.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="keep the collected evidence in a temporary file as it is stored, not in memory, and evaluate "
        "it a few evidence kinds at a time (local executor; the findings are still held, for the reports): "
        "the same recorded scan and result",
    )
    parser.add_argument(
        "--sign-key",
        default=None,
        metavar="FILE|env:NAME",
        help="sign the recorded scan with this Ed25519 private key (PEM file, or env:NAME for a variable "
        "holding it); default: signing.key in the configuration, else the scan is recorded unsigned",
    )
    parser.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="PATH|s3://BUCKET/KEY",
        help="also write the signed head here, outside the store (repeatable; adds to signing.witness)",
    )
    parser.set_defaults(run=run)


def load(args: argparse.Namespace) -> tuple[Any, Any, Any, Any] | int:
    """Host, configuration, rule set and the scan clock, or an exit code after printing diagnostics."""
    from annexa.app.scan import compile_for, policy_warnings, utc_now
    from annexa.app.wiring import make_host
    from annexa.cli.options import check_local_paths, config_file
    from annexa.model.diagnostics import DiagnosticError
    from annexa.model.evidence import parse_timestamp
    from annexa.model.exitcodes import ExitCode
    from annexa.plugins.config import load_config, read_disabled_plugins

    args.config = config_file(args, needed=True)  # none: main() says so and exits 4
    blocked = [*read_disabled_plugins(args.config)]
    blocked += [option.removeprefix("no:") for option in args.plugin_options]
    host = make_host(blocked=blocked)
    try:
        config = load_config(args.config, host)
        check_local_paths(config)  # a source that is not there: exit 4 before anything is collected
        ruleset = compile_for(config, host)
    except DiagnosticError as error:
        print(error.render(), file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    for warning in policy_warnings(config, ruleset):
        print(f"annexa: warning: {warning}", file=sys.stderr)
    now = parse_timestamp(args.now) if args.now else utc_now()
    return host, config, ruleset, now


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "no_record", False):
        return _run(args)
    # A dry run records into a throw-away store (the reports that read evidence from a store work as
    # usual) and removes it: the configured store is not opened, so nothing is stored and no drift shown.
    import tempfile

    with tempfile.TemporaryDirectory(prefix="annexa-dry-run-") as folder:
        args.dry_run_store = folder
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from annexa.app.result import build_result
    from annexa.app.scan import apply_policy, collect, config_digest, default_progress, plan, utc_now
    from annexa.app.timings import Timings
    from annexa.contract.catalog import roll_up
    from annexa.contract.freshness import stale_evidence
    from annexa.model.observations import scope_drift
    from annexa.reports.stored import drift_between
    from annexa.store import ScanRecord, open_store
    from annexa.store.manifest import new_scan_id

    timings = Timings(enabled=getattr(args, "timings", False))
    with timings.step("compile"):
        loaded = load(args)
    if isinstance(loaded, int):
        return loaded
    host, config, ruleset, now = loaded
    if getattr(args, "dry_run_store", None):
        import dataclasses

        # Nothing signed either: a dry run's head must not reach a witness outside the store.
        unsigned = {key: value for key, value in config.raw.items() if key != "signing"}
        config = dataclasses.replace(config, store_path=args.dry_run_store, store_evidence=None, raw=unsigned)
        args.sign_key, args.witness = None, []
    from annexa.cli.commands.report import prepare_outputs

    prepared = prepare_outputs(args, host)
    if isinstance(prepared, int):
        return prepared
    output_plan, fail_on = prepared
    from annexa.trust.settings import signing_settings

    signing = signing_settings(
        config.raw.get("signing"),
        base=Path(config.base_path),
        key=getattr(args, "sign_key", None),
        witnesses=getattr(args, "witness", ()),
    )
    progress = default_progress(quiet=getattr(args, "quiet", False))
    started = now  # the scan's clock: `annexa evaluate --scan` re-evaluates at this moment
    planned = plan(ruleset, config, host.collectors())
    if progress:
        progress(
            f"{len(ruleset.rules)} rules read {len(ruleset.kinds_read)} evidence kind(s); "
            f"running {len(planned)} collector(s)"
        )
    from contextlib import ExitStack

    from annexa.app.executor_choice import open_executor
    from annexa.app.executors import ClusterError
    from annexa.app.wiring import kind_registry
    from annexa.model.exitcodes import ExitCode

    executor = open_executor(args.executor, timeout=getattr(args, "executor_timeout", None))
    kinds = kind_registry(host)
    # Streamed (annexa.app.streaming): the evidence goes from the collectors to the store and a temporary
    # file of units, never held here, and is evaluated a few kinds at a time. Dask evaluates in memory.
    streamed = bool(getattr(args, "stream", False)) and not args.executor.strip().startswith("dask://")
    with open_store(config.store_path, evidence=config.store_evidence) as store, ExitStack() as cleanup:
        kept = None
        on_evidence: Callable[[tuple[Evidence, ...]], object] = store.put_evidence
        if streamed:
            from annexa.app.units import CollectedUnits, UnitFile

            kept = CollectedUnits(cleanup.enter_context(UnitFile(kinds, ruleset.fields_read, checked=True)))
            keep = kept.add
            store.hold_stored(False)  # each item is stored once, and held nowhere

            def on_evidence(items: tuple[Evidence, ...]) -> None:
                keep(store.put_evidence(items))

        with timings.step("collect"):
            try:
                # Only the fields the rules read: a recorded scan proves these rules, and collecting less
                # is faster. Evidence streams into the store task by task, so what a killed scan collected
                # is kept.
                collection = collect(
                    config,
                    host,
                    planned,
                    now=now,
                    progress=progress,
                    fields=ruleset.fields_read,
                    executor=executor,
                    on_evidence=on_evidence,
                    keep=kept is None,
                )
            except ClusterError as exc:  # the infrastructure, not the input: exit 3, nothing recorded
                print(f"annexa: error: {exc}", file=sys.stderr)
                return int(ExitCode.INTERNAL_ERROR)
            finally:
                executor.close()
        if timings.enabled:  # what the collectors counted (API calls, throttling answers) beside the times
            from annexa.app.executors import figure_lines
            from annexa.app.timings import PREFIX

            for line in figure_lines(collection.runs):
                print(f"{PREFIX} {line}", file=sys.stderr)
        if kept is not None:
            with timings.step("evaluate"):
                from annexa.app.scan import rule_policy
                from annexa.app.streaming import evaluate_streamed

                index = kept.tally.index(
                    Path(config.store_path), collection.collected, collection.schemas, collection.gaps
                )
                evaluated = evaluate_streamed(
                    index,
                    kept.units,
                    ruleset,
                    now=now,
                    limits=config.freshness,
                    policy=rule_policy(config, now),
                    keep=True,
                )
            findings, observations = evaluated.findings, evaluated.observations
            evidence_ids = kept.evidence_ids()
        else:
            with timings.step("store"):
                stored = store.put_evidence(collection.evidence)  # idempotent: the items as stored, in order
            with timings.step("evaluate"):
                from annexa.app.executor_choice import evaluate_where

                try:  # on the cluster that collected when --executor is dask://, else here
                    found = evaluate_where(
                        args.executor,
                        ruleset,
                        kinds,
                        stored,
                        now=now,
                        collected=collection.collected,
                        gaps=collection.gaps,
                        host=host,
                        timeout=getattr(args, "executor_timeout", None),
                    )
                except ClusterError as exc:
                    print(f"annexa: error: {exc}", file=sys.stderr)
                    return int(ExitCode.INTERNAL_ERROR)
                findings = apply_policy(found, config, now)
            observations = (*scope_drift(stored), *stale_evidence(stored, config.freshness, now))
            evidence_ids = tuple(item.id for item in stored)
        controls = roll_up(findings, ruleset.rules_by_control())
        previous = store.scans()[-1].scan_id if store.scans() else None
        record = ScanRecord(
            scan_id=new_scan_id(started),
            started_at=started,
            finished_at=utc_now(),
            rule_pack_digest=ruleset.digest,
            config_digest=config_digest(config),
            evidence_ids=evidence_ids,
            findings=findings,
            controls=controls,
            collection=collection.statuses(),
            collector_versions={run.collector: run.version for run in collection.runs},
        )
        with timings.step("record"):
            digest = store.record_scan(record, attest=signing.attest)
            for line in signing.after_record(store, digest):
                print(f"annexa: {line}", file=sys.stderr)
        drift = None if previous is None else drift_between(store, previous, digest)
    result = build_result(
        findings,
        ruleset.rules_by_control(),
        now=now,
        ruleset_digest=ruleset.digest,
        extra={
            "organization": config.organization,
            "scan": {"id": record.scan_id, "manifest": digest, "store": _store_shown(args, config)},
            "collection": {
                "runs": [
                    {
                        "collector": r.collector,
                        "version": r.version,
                        "kinds": list(r.kinds),
                        "items": r.items,
                        "seconds": round(r.seconds, 3),
                        "error": r.error,
                        **({"figures": dict(r.figures)} if r.figures else {}),
                    }
                    for r in collection.runs
                ],
                "not_collected": {k: v for k, v in sorted(collection.collected.items()) if v},
                "gaps": {kind: list(reasons) for kind, reasons in collection.gaps.items()},
                "problems": [str(p) for p in collection.problems],
                "redactions": collection.redactions,
            },
            "drift": drift,
            "observations": [o.to_dict() for o in observations],
        },
    )
    with timings.step("report"):
        return _report(args, host, config, result, record.scan_id, output_plan, fail_on, collection, digest)


def _store_shown(args: argparse.Namespace, config: Config) -> str:
    """The store the result names: a dry run's throw-away folder is no store to go back to."""
    return NOT_RECORDED if getattr(args, "dry_run_store", None) else config.store_path


NOT_RECORDED = "(not recorded: --no-record)"


def _report(
    args: argparse.Namespace,
    host: PluginHost,
    config: Config,
    result: dict[str, Any],
    scan_id: str,
    output_plan: OutputPlan,
    fail_on: tuple[Condition, ...] | None,
    collection: Collection,
    digest: str,
) -> int:
    """Print and write the reports, notify, and return the exit code (``--fail-on`` or the result's)."""
    from annexa.cli.commands.report import deliver
    from annexa.reports import report_document
    from annexa.store import open_store

    if output_plan.needs_store:
        with open_store(config.store_path) as store:
            document = report_document(result, store=store, scan=scan_id)
    else:
        document = report_document(result)
    after_text = [f"problem: {problem}" for problem in collection.problems]
    from annexa.app.executors import figure_lines

    after_text += figure_lines(collection.runs)
    if getattr(args, "dry_run_store", None):
        after_text.append(f"scan {scan_id} not recorded (--no-record): nothing was stored")
    else:
        after_text.append(f"scan {scan_id} recorded in {config.store_path} (manifest {digest[:12]})")
    code = deliver(output_plan, document, fail_on, after_text=after_text)
    changes = None  # what the scan did to the nonconformity register: only for a recorded scan, if wanted
    if not getattr(args, "dry_run_store", None):
        from annexa.app.notify import nonconformity_changes, wants_nonconformity_changes

        if wants_nonconformity_changes(host, config, args.notify):
            with open_store(config.store_path) as store:
                changes = nonconformity_changes(store, config, scan_id)
    if args.notify:
        from annexa.app.notify import notify

        for url in args.notify:
            outcome = notify(url, result, payload_format=args.notify_format, nonconformities=changes)
            if not outcome.ok:
                print(
                    f"annexa: warning: notification to {outcome.url} failed after {outcome.attempts} "
                    f"attempt(s): {outcome.message}",
                    file=sys.stderr,
                )
    if changes is not None:
        for failure in host.nonconformities_changed(changes, config.integrations):
            print(f"annexa: warning: {failure}", file=sys.stderr)
    for failure in host.scan_finished(result):
        print(f"annexa: warning: {failure}", file=sys.stderr)
    return code
