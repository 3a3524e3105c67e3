"""Running one collector the way the host does, checking every item it yields against the contract.

The scan's executors (in-process, or on Dask workers) and the plugin authors' test kit all go through
:func:`collect_checked`, so a collector is judged the same wherever it runs.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from annexa.contract.validation import data_validator
from annexa.model.evidence import Evidence
from annexa.plugins.types import REPORT_TO_AUTHOR, Collector, CollectorError, CollectorSpec, CollectRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionProblem:
    """Something that went wrong while running one collector; not tied to a file position.

    ``code`` is ``collector_error`` (the collector raised CollectorError: its kinds are not collected),
    ``invalid_evidence`` (an item broke the contract: an item of a declared kind is kept as a defective
    item, see :attr:`Evidence.defect`; anything else is dropped), ``collection_gap`` (the collector
    could not collect one scope of a kind, through ``request.report_gap``) or ``source_problem`` (the
    collector reported a non-fatal problem with one source through ``request.report_problem``). The
    first three leave ``kinds`` incomplete: see :attr:`leaves_gap`.
    """

    code: str
    collector: str
    source: str | None
    message: str
    hint: str | None = None
    kinds: tuple[str, ...] = ()

    @property
    def leaves_gap(self) -> bool:
        """Evidence of ``kinds`` is missing because of this problem (a dropped item, a failed scope)."""
        return self.code in ("invalid_evidence", "collection_gap") and bool(self.kinds)

    def __str__(self) -> str:
        where = f" {self.source}" if self.source else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.collector}{where}: {self.code}: {self.message}{hint}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionOutcome:
    evidence: tuple[Evidence, ...]
    problems: tuple[CollectionProblem, ...]
    failed_kinds: Mapping[str, str] = field(default_factory=dict)  # kind -> error message
    figures: Mapping[str, int] = field(default_factory=dict)  # name -> count: CollectRequest.report_figure


def collect_checked(spec: CollectorSpec, request: CollectRequest) -> CollectionOutcome:
    """Run one collector the way the host does, checking every item against the contract.

    Each item must be an :class:`Evidence` of a kind the spec declares and the request asked for, with
    a timezone-aware ``collected_at`` and ``data`` valid against the kind's schema; items that are not
    are dropped and reported. A :class:`CollectorError` ends the run of this collector: the evidence
    yielded before it is kept, and its kinds are reported as not collected.
    """
    problems: list[CollectionProblem] = []

    def report_problem(source: str, message: str) -> None:
        problems.append(
            CollectionProblem(code="source_problem", collector=spec.name, source=source, message=message)
        )

    def report_gap(kind: str, scope: str, message: str) -> None:
        problems.append(
            CollectionProblem(
                code="collection_gap", collector=spec.name, source=scope, message=message, kinds=(kind,)
            )
        )

    evidence: list[Evidence] = []

    def report_defect(kind: str, source: str, message: str) -> None:
        if kind not in spec.kinds or (request.kinds and kind not in request.kinds):
            invalid(source, f"reported a defective item of kind {kind!r}, which it was not asked for")
            return
        evidence.append(defective(kind, source, message))

    def defective(kind: str, source: str, message: str) -> Evidence:
        return Evidence(
            kind=kind,
            source=source,
            scope={},
            collector=f"{spec.name} {spec.version}",
            collected_at=request.now,
            data={},
            defect=message,
        )

    def invalid(source: str | None, message: str, kind: str | None = None) -> None:
        problems.append(
            CollectionProblem(
                code="invalid_evidence",
                collector=spec.name,
                source=source,
                message=message,
                hint=REPORT_TO_AUTHOR,
                kinds=(kind,) if kind else (),
            )
        )

    figures: dict[str, int] = {}

    def report_figure(name: str, value: int) -> None:
        figures[name] = merge_figure(name, figures.get(name), int(value))

    request = dataclasses.replace(
        request,
        report_problem=report_problem,
        report_gap=report_gap,
        report_defect=report_defect,
        report_figure=report_figure,
    )
    # Compiled once per schema and process (annexa.contract.validation): microseconds per valid item, and
    # jsonschema's own errors for an item that is not.
    validators = {kind: data_validator(schema) for kind, schema in spec.kinds.items()}
    failed: dict[str, str] = {}
    try:
        collector = _instantiate(spec)
        for item in collector.collect(request):
            if not isinstance(item, Evidence):
                invalid(None, f"yielded {type(item).__name__}, not Evidence")
                continue
            if item.kind not in spec.kinds:
                invalid(item.source, f"yielded undeclared kind {item.kind!r}")
                continue
            if request.kinds and item.kind not in request.kinds:
                invalid(item.source, f"yielded kind {item.kind!r}, which was not requested")
                continue
            if not isinstance(item.collected_at, datetime) or item.collected_at.utcoffset() is None:
                evidence.append(defective(item.kind, item.source, "collected_at has no time zone"))
                invalid(item.source, "collected_at is not a timezone-aware datetime")
                continue
            errors = sorted(validators[item.kind].iter_errors(item.data), key=lambda e: list(e.absolute_path))
            if errors:
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in e.absolute_path) or '(data)'}: {e.message}"
                    for e in errors[:5]
                )
                # The item exists but breaks its kind's contract: it stays in as a defective item of
                # its kind, so that every rule reading the kind fails on it rather than passing without it.
                evidence.append(
                    defective(item.kind, item.source, f"data does not match its schema: {detail}")
                )
                invalid(item.source, f"{item.kind} data does not match its schema: {detail}")
                continue
            evidence.append(item)
    except CollectorError as exc:
        kinds = exc.kinds or tuple(sorted(request.kinds or spec.kinds))
        for kind in kinds:
            failed[kind] = exc.message
        problems.append(
            CollectionProblem(
                code="collector_error",
                collector=spec.name,
                source=None,
                message=exc.message,
                hint=exc.hint,
                kinds=tuple(kinds),
            )
        )
    return CollectionOutcome(
        evidence=tuple(evidence), problems=tuple(problems), failed_kinds=failed, figures=figures
    )


def merge_figure(name: str, old: int | None, new: int) -> int:
    """Two reports of one figure as one: the larger for ``peak_*`` and ``max_*`` names, else the sum."""
    if old is None:
        return new
    return max(old, new) if name.startswith(("peak_", "max_")) else old + new


# Collectors import their SDKs on first use, in the executor's threads. CPython breaks an import deadlock
# between threads by handing one of them a partially initialised module, so two collectors whose SDKs
# share a package with import cycles (botocore and requests both import urllib3) can crash each other on
# their first use: "cannot import name ... from partially initialized module". First uses take turns,
# and the shared HTTP stack is imported whole before any collector starts.
_FIRST_USE = threading.Lock()


def _instantiate(spec: CollectorSpec) -> Collector:
    with _FIRST_USE:
        importlib.import_module("annexa.plugins.http")  # urllib3, which requests and botocore share
        return spec.factory()
