"""``annexa evaluate``: evaluate rules over an evidence bundle or a stored scan, offline."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import io
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from annexa.app.streaming import Policy, Streamed
    from annexa.app.timings import Timings
    from annexa.contract.freshness import FreshnessLimits
    from annexa.contract.kinds import KindRegistry
    from annexa.lang.ruleset import RuleSet
    from annexa.model.evidence import Bundle, Evidence
    from annexa.plugins.config import Config


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from annexa.cli.options import add_config_option, add_store_option

    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate rules over an evidence bundle, offline",
        description="Evaluate rules over an evidence bundle (JSON Lines, one evidence item per line, "
        'optionally headed by {"annexa_bundle": 1, "collected": ..., "schemas": ...}).',
    )
    parser.add_argument(
        "--rules",
        action="append",
        dest="rule_paths",
        metavar="PATH",
        help="rule files or folders, or builtin:annex_a (repeatable; default: the configuration's, else "
        "builtin:annex_a)",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--evidence", type=Path, metavar="FILE.jsonl", help="evidence bundle")
    source.add_argument(
        "--scan",
        metavar="REF",
        help="a recorded scan (latest, latest~N, an id or digest prefix) to re-evaluate",
    )
    # With a configuration (given, or annexa.yaml here): its rules and parameters (unless --rules or
    # --param say otherwise), its store for --scan, and its exceptions and applicability, as `scan` does.
    add_config_option(parser, needed=False)
    add_store_option(parser)
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a rule parameter (repeatable)",
    )
    parser.add_argument("--now", help="evaluation time (ISO 8601; default: the bundle's newest collected_at)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--pretty", action="store_true", help="with --format json: indent the result (compact by default)"
    )
    parser.add_argument("-o", "--output", type=Path, help="write the result here instead of standard output")
    parser.add_argument(
        "--no-plugins",
        action="store_true",
        help="use only the schemas carried by the bundle, not the installed collectors'",
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
        help="with --evidence: read the bundle a few evidence kinds at a time instead of whole, so memory "
        "is bounded by the largest group of kinds the rules read together; the same result",
    )
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="processes to read and evaluate with (default on Linux: one per CPU, at most 4, for a bundle of "
        f"{MIN_FORKED_MB} MB or a scan of {MIN_FORKED_ITEMS:,} items and more; 1: this process alone): the "
        "bundle read in parts and the rules shared out, the same result to the byte",
    )
    parser.add_argument(
        "--executor",
        default="local",
        metavar="local|dask://HOST:PORT",
        help="where the rules are evaluated: here (default), or partitioned by rule group over the workers "
        "of a Dask scheduler, with the same findings (needs annexa[dask])",
    )
    parser.add_argument(
        "--executor-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with dask://: how long to wait while the cluster has no worker before stopping with exit 3 "
        "(default 60)",
    )
    parser.set_defaults(run=run)


MIN_FORKED_MB = 8
MIN_FORKED_ITEMS = 10_000
"""Below these, ``--jobs`` defaults to 1: forking and handing work back cost more than they save."""


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"bad --jobs {text!r}: write a whole number of processes, 1 or more")
    return int(text)


def _jobs_for(args: argparse.Namespace, size: int, threshold: int) -> int:
    """The processes to use: ``--jobs`` when given, else one per CPU once ``size`` reaches ``threshold``
    (and never more than one where processes cannot be forked, nor with Dask evaluating)."""
    from annexa.app.workers import can_fork, default_jobs

    if not can_fork() or args.executor.strip().startswith("dask://"):
        return 1
    if args.jobs is not None:
        return int(args.jobs)
    return default_jobs() if size >= threshold else 1


def run(args: argparse.Namespace) -> int:
    from annexa.app.executor_choice import evaluate_where
    from annexa.app.executors import ClusterError
    from annexa.app.forked import evaluate_forked, read_forked
    from annexa.app.result import build_result
    from annexa.app.timings import Timings
    from annexa.app.wiring import compile_pack, kind_registry, make_host
    from annexa.app.workers import WorkerError
    from annexa.cli.commands.rules import parse_params
    from annexa.cli.options import optional_config, store_location
    from annexa.contract.freshness import DEFAULT_LIMITS, stale_evidence
    from annexa.model.diagnostics import DiagnosticError
    from annexa.model.errors import EngineError
    from annexa.model.evidence import (
        EvidenceFormatError,
        parse_timestamp,
        read_bundle,
        read_bundle_header,
    )
    from annexa.model.exitcodes import ExitCode
    from annexa.model.observations import scope_drift

    timings = Timings(enabled=args.timings)
    clock: datetime | None = None  # a stored scan's own clock
    recorded_digest: str | None = None  # the rule pack a stored scan was evaluated with
    config_host, config = (None, None) if args.no_plugins and args.config is None else optional_config(args)
    # Streamed (annexa.app.streaming): the bundle is indexed once the rules are compiled (each document
    # filed under its type) and read a few kinds at a time.
    streamed = bool(args.stream and args.evidence and not args.executor.strip().startswith("dask://"))
    # In memory: the bundle's header first, its items once the rules are compiled (see _Preparer).
    whole = bool(args.evidence) and not streamed
    try:
        if args.evidence:
            bundle = read_bundle_header(args.evidence)  # a line or two: not a step of its own
        else:
            with timings.step("read"):
                bundle, clock, recorded_digest = stored_scan(store_location(args, config)[0], args.scan)
    except (EvidenceFormatError, EngineError) as error:
        print(f"annexa: error: {error}", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    if not args.evidence:
        # The evidence lives until the command ends and holds no cycle: left out of every later garbage
        # collection, which otherwise walks its millions of objects again while the rules compile (100,000
        # items: compile 1.4 -> 0.4 s CPU, and read + compile 3.7 -> 2.0 s against collecting as usual).
        gc.freeze()
    try:
        with timings.step("compile"):
            host = None if args.no_plugins else (config_host or make_host())
            kinds = kind_registry(host, bundle.schemas)
            rule_paths = args.rule_paths or (list(config.rule_paths) if config is not None else [])
            params = {**(config.params if config is not None else {}), **parse_params(args.param)}
            limits = config.freshness if config is not None else DEFAULT_LIMITS
            ruleset = compile_pack(rule_paths, kinds, params, host, freshness=limits)
    except DiagnosticError as error:
        print(error.render(), file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    if streamed:
        return _run_streamed(args, ruleset, kinds, config, limits, timings)
    if whole:
        jobs = _jobs_for(args, _size_of(args.evidence), MIN_FORKED_MB << 20)
        prepare = _Preparer(ruleset, kinds)
        try:
            with timings.step("read"):  # and validate: each item is checked as it is read
                if jobs > 1:
                    bundle = read_forked(args.evidence, prepare, jobs)
                else:
                    bundle = read_bundle(args.evidence, prepare)
        except WorkerError as error:  # a reading process lost (killed, out of memory): not the input
            print(f"annexa: error: {error}", file=sys.stderr)
            return int(ExitCode.INTERNAL_ERROR)
        except (EvidenceFormatError, EngineError) as error:
            print(f"annexa: error: {error}", file=sys.stderr)
            return int(ExitCode.USAGE_ERROR)
        gc.freeze()  # as for a stored scan above: the items outlive every later collection
        items, invalid = list(bundle.evidence), prepare.invalid
    else:
        with timings.step("validate"):
            items, invalid = _validated(bundle, kinds)
        jobs = _jobs_for(args, len(items), MIN_FORKED_ITEMS)
    _warn_invalid(invalid)
    if args.now:
        now = parse_timestamp(args.now)
    elif clock is not None:
        now = clock
    elif bundle.evidence:
        now = max(item.collected_at for item in bundle.evidence)
    else:
        print("annexa: error: --now is needed for an empty bundle", file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    if recorded_digest is not None and recorded_digest != ruleset.digest:
        print(
            f"annexa: warning: the scan was evaluated with rule pack {recorded_digest[:12]}, these rules are "
            f"{ruleset.digest[:12]}: findings may differ",
            file=sys.stderr,
        )
    if jobs > 1:
        try:
            with timings.step("evaluate"):
                spilled = evaluate_forked(
                    ruleset,
                    items,
                    now=now,
                    collected=bundle.collected,
                    gaps=bundle.gaps,
                    limits=limits,
                    policy=_policy(config, now),
                    pretty=args.pretty,
                    jobs=jobs,
                    invalid=invalid,
                )
        except WorkerError as error:  # a process lost (killed, out of memory): not the input
            print(f"annexa: error: {error}", file=sys.stderr)
            return int(ExitCode.INTERNAL_ERROR)
        return _write_spilled(args, spilled, ruleset, now, timings)
    with timings.step("evaluate"):
        try:
            findings = evaluate_where(
                args.executor,
                ruleset,
                kinds,
                items,
                now=now,
                collected=bundle.collected,
                gaps=bundle.gaps,
                host=host,
                timeout=args.executor_timeout,
            )
        except ClusterError as error:  # the infrastructure, not the input
            print(f"annexa: error: {error}", file=sys.stderr)
            return int(ExitCode.INTERNAL_ERROR)
    if config is not None:
        from annexa.app.scan import apply_policy

        findings = apply_policy(findings, config, now)
    with timings.step("result"):
        result = build_result(
            findings,
            ruleset.rules_by_control(),
            now=now,
            ruleset_digest=ruleset.digest,
            extra={
                "invalid_evidence": invalid,
                "observations": [
                    o.to_dict() for o in (*scope_drift(items), *stale_evidence(items, limits, now))
                ],
            },
            stream=args.format == "json",
        )
    with timings.step("write"):
        _write(args, result)
    return int(result["summary"]["exit_code"])


def _run_streamed(
    args: argparse.Namespace,
    ruleset: RuleSet,
    kinds: KindRegistry,
    config: Config | None,
    limits: FreshnessLimits,
    timings: Timings,
) -> int:
    """The rest of ``run`` over a bundle evaluated a few kinds at a time (annexa.app.streaming)."""
    from annexa.app.streaming import evaluate_streamed
    from annexa.app.units import UnitFile
    from annexa.model.errors import EngineError
    from annexa.model.evidence import EvidenceFormatError, index_bundle, parse_timestamp
    from annexa.model.exitcodes import ExitCode

    with UnitFile(kinds, ruleset.fields_read) as units:
        try:
            with timings.step("read"):
                index = index_bundle(args.evidence, units.add)
        except (EvidenceFormatError, EngineError) as error:
            print(f"annexa: error: {error}", file=sys.stderr)
            return int(ExitCode.USAGE_ERROR)
        if args.now:
            now = parse_timestamp(args.now)
        elif index.newest is not None:
            now = index.newest
        else:
            print("annexa: error: --now is needed for an empty bundle", file=sys.stderr)
            return int(ExitCode.USAGE_ERROR)
        with timings.step("evaluate"):
            streamed = evaluate_streamed(
                index, units, ruleset, now=now, limits=limits, policy=_policy(config, now), pretty=args.pretty
            )
    _warn_invalid(streamed.invalid)
    return _write_spilled(args, streamed, ruleset, now, timings)


def _policy(config: Config | None, now: datetime) -> Policy | None:
    """The configuration's exceptions and applicability, given one rule's findings at a time."""
    if config is None:
        return None
    from annexa.app.scan import rule_policy

    return rule_policy(config, now)


def _write_spilled(
    args: argparse.Namespace, spilled: Streamed, ruleset: RuleSet, now: datetime, timings: Timings
) -> int:
    """The result of an evaluation whose findings were spilled (streamed or forked), written."""
    from annexa.app.result import build_result
    from annexa.app.spill import in_memory_order
    from annexa.files.jsonwriter import Stream

    try:
        with timings.step("result"):
            # The summary and roll-up from the findings' stand-ins; the findings themselves read back from
            # the spill as they are written (already encoded for JSON, as dictionaries for the text report).
            result = build_result(
                spilled.findings,
                ruleset.rules_by_control(),
                now=now,
                ruleset_digest=ruleset.digest,
                extra={
                    "invalid_evidence": spilled.invalid,
                    "observations": [o.to_dict() for o in spilled.observations],
                },
                stream=True,
            )
            order = in_memory_order(ruleset)
            spill = spilled.spill
            if args.format == "json":
                result["findings"] = Stream(spill.records(order), encoded=True)
            else:
                result["findings"] = Stream(spill.dicts(order))
        with timings.step("write"):
            _write(args, result)
    finally:
        spilled.spill.close()
    return int(result["summary"]["exit_code"])


def _warn_invalid(invalid: list[str]) -> None:
    for problem in invalid:
        print(
            f"annexa: warning: evidence breaks its schema and counts as defective: {problem}", file=sys.stderr
        )


def _validated(bundle: Bundle, kinds: KindRegistry) -> tuple[list[Evidence], list[str]]:
    """The bundle's items, those breaking their kind's schema made defective, and what each broke.

    Documents recorded by an older annexa are read in today's shape first (``annexa.contract.upgrade``:
    type-specific fields from ``extra`` into ``metadata``, renamed types), keeping their stored ids."""
    from annexa.contract.upgrade import upgraded

    invalid: list[str] = []
    return [_checked(upgraded(item), kinds, invalid) for item in bundle.evidence], invalid


def _checked(item: Evidence, kinds: KindRegistry, invalid: list[str]) -> Evidence:
    """``item``, made defective when it breaks its kind's schema (what it broke added to ``invalid``)."""
    problems = kinds.validate(item) if item.defect is None and item.kind in kinds else []
    if problems:
        # Kept as a defective item of its kind, as the scan does: every rule reading the kind fails on
        # it, so a broken item can never make a rule pass by dropping out.
        invalid.append(f"{item.kind} {item.source}: {'; '.join(problems)}")
        item = dataclasses.replace(item, defect=f"data does not match its schema: {'; '.join(problems)}")
    return item


class _Preparer:
    """What ``annexa evaluate --evidence`` keeps of each item as the bundle is read, so that it never holds
    the bundle whole (100,000 items of the benchmark's estate: 448 -> about 115 MB after reading).

    Each item is read in today's shape and checked against its kind's schema as :func:`_validated` does,
    while it is whole; its id is computed then, from the whole item (findings cite what the bundle holds).
    A sound item then keeps only the top-level data fields some rule reads (``RuleSet.fields_read``, what
    a scan's collectors fetch, as the streamed evaluation keeps) and those the observations read
    (``SCOPE_DRIFT_FIELDS``, :func:`staleness_fields`), each value equal to the one read and of its type
    (equal ones shared): every reader of the items after this (the rules, the observations, ``now``) sees
    what it would have seen. A kind some rule reads whole, or that a rule reads without saying which
    fields, and a defective item, are kept whole. Only for the items :func:`read_bundle` has just made
    (the data of a sound one is cut in place)."""

    def __init__(self, ruleset: RuleSet, kinds: KindRegistry) -> None:
        from annexa.app.compact import Compact
        from annexa.contract.freshness import staleness_fields
        from annexa.contract.upgrade import upgraded
        from annexa.model.observations import SCOPE_DRIFT_FIELDS

        self.upgraded = upgraded
        self.kinds = kinds
        self.invalid: list[str] = []  # what each item found defective broke, in reading order
        observed = tuple(sorted(SCOPE_DRIFT_FIELDS | staleness_fields()))
        fields = ruleset.fields_read
        self.keep: dict[str, tuple[str, ...] | None] = {}
        for kind in ruleset.kinds_read:
            read = fields.get(kind)
            self.keep[kind] = None if read is None else tuple(sorted(read.union(observed)))
        self.observed = observed
        # Equal values held once, as the streamed evaluation holds them: statuses, dates, owners, headings
        # and empty lists repeat across documents (100,000 items: 247 -> 115 MB after reading).
        self.compact = Compact()

    def __call__(self, item: Evidence) -> Evidence:
        item = _checked(self.upgraded(item), self.kinds, self.invalid)
        names = self.keep.get(item.kind, self.observed)
        if names is None or item.defect is not None or type(item.data) is not dict:
            return item  # whole: read whole by a rule, defective, or not as read from JSON
        item.id  # noqa: B018  # computed from the whole item and kept
        # The item is the reader's own, seen by no one yet: its data is cut in place (as its id is cached)
        # rather than copied into a second item, which cost a tenth of the reading.
        object.__setattr__(item, "data", self.compact.data(item.data, names))
        return item


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the reading says why


def _write(args: argparse.Namespace, result: dict[str, Any]) -> None:
    from annexa.app.result import render_text
    from annexa.files.atomic import atomic_write_text, atomic_writer
    from annexa.files.jsonwriter import write_json

    if args.format == "json":
        # Written as a stream (annexa.files.jsonwriter): memory for the text does not grow with the findings.
        if args.output:
            with atomic_writer(args.output, buffering=1 << 20) as handle:
                write_json(result, handle, pretty=args.pretty)
        elif hasattr(sys.stdout, "buffer"):
            sys.stdout.flush()
            write_json(result, sys.stdout.buffer, pretty=args.pretty)
            sys.stdout.buffer.flush()
        else:  # a text-only standard output (redirected in process): the text at once
            text = io.BytesIO()
            write_json(result, text, pretty=args.pretty)
            sys.stdout.write(text.getvalue().decode("utf-8"))
    elif args.output:
        atomic_write_text(args.output, render_text(result) + "\n")
    else:
        print(render_text(result))


def stored_scan(store_path: str, reference: str) -> tuple[Bundle, datetime, str]:
    """A recorded scan as a bundle (its evidence and what was collected), its clock and its rule digest."""
    from annexa.model.evidence import Bundle
    from annexa.store import open_store

    with open_store(store_path, create=False) as store:
        scan = store.load_scan(reference, findings=False)  # re-evaluated: the old verdicts are not read
        bundle = Bundle(
            evidence=store.evidence_of(scan),
            collected=scan.record.collected_by_kind(),
            gaps=scan.record.gaps_by_kind(),
        )
        return bundle, scan.record.started_at, scan.record.rule_pack_digest
