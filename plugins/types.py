"""Registration records and the collector contract that plugin authors implement."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from annexa.model.evidence import Evidence

REPORT_TO_AUTHOR = "please report this to the plugin's author"
"""Ends every message about a contract violation: the user cannot fix it, the plugin's author can."""


class PluginError(Exception):
    """Root of the plugin system's errors (contract violations, broken plugins)."""


class CollectorError(Exception):
    """An expected collection failure (auth, throttling, missing permission, unreachable endpoint).

    The host turns it into an error record for the collector's scope: the kinds it would have produced
    are marked as not collected and the rules that read them become ``inconclusive``.
    """

    def __init__(self, message: str, *, hint: str | None = None, kinds: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.kinds = tuple(kinds)  # empty: every kind the collector was asked for


@runtime_checkable
class DocumentReader(Protocol):
    """Reads one document URI (``s3://``, ``confluence://``) into bytes plus metadata."""

    def read(self) -> tuple[bytes, Mapping[str, Any]]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectRequest:
    """What the host hands a collector for one run over one scope."""

    config: Mapping[str, Any]  # the collector's validated ``collectors.<name>`` block
    kinds: frozenset[str]  # the kinds the selected rules read; collect only these
    now: datetime  # the scan's clock; collectors never read the wall clock themselves
    base_path: str = "."  # folder of the configuration file, for relative paths
    # kind -> the top-level ``data`` fields the selected rules read. A kind missing here, or None, means
    # every field. Collectors may skip the API calls that only fill unread fields; schemas must then
    # leave those fields optional.
    fields: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    open_document: Callable[[str], DocumentReader | None] = field(default=lambda uri: None)
    report_problem: Callable[[str, str], None] = field(default=lambda source, message: None)
    """Report a non-fatal problem with one source (a corrupt PDF, bad front matter): source, message."""
    report_gap: Callable[[str, str, str], None] = field(default=lambda kind, scope, message: None)
    """Report that part of a kind could not be collected: kind, scope (``"222222222222/eu-west-1"``), why.
    Rules over that kind can still fail on what was collected, but none of them passes."""
    report_defect: Callable[[str, str, str], None] = field(default=lambda kind, source, message: None)
    """Report an item of ``kind`` that exists at ``source`` but cannot be read or parsed: kind, source, why.
    The host records it as a defective item of that kind (never a silent absence): every rule reading the
    kind fails on it, citing ``why``. Use it for a garbled file, not for a source that is unreachable
    (that is :attr:`report_gap`)."""
    report_figure: Callable[[str, int], None] = field(default=lambda name, value: None)
    """Report a count for the scan's figures (``api_calls``, ``throttled``): name, value. The host adds up
    the values a collector's tasks report under one name, except names starting ``peak_`` or ``max_``,
    of which it keeps the largest. Shown with the collector's run in the result and the text report."""


class Collector(Protocol):
    def collect(self, request: CollectRequest) -> Iterable[Evidence]:
        """Yield evidence items of the requested kinds; raise CollectorError on expected failures."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectorSpec:
    """A collector as a plugin declares it through the ``annexa_collectors`` hook."""

    name: str
    version: str
    kinds: Mapping[str, Mapping[str, Any]]  # evidence kind -> JSON Schema of its ``data``
    config_schema: Mapping[str, Any]
    factory: Callable[[], Collector]
    description: str = ""
    # Splits a validated configuration into independent parts, each (scope label, configuration), that
    # can be collected apart: on separate Dask workers, or side by side. None: the configuration is one
    # scope. Only for parts that share nothing (no cross-part checks such as duplicate detection).
    scopes: Callable[[Mapping[str, Any]], Sequence[tuple[str, Mapping[str, Any]]]] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleFunctionSpec:
    """An extra pure function for the rule language, as the ``annexa_rule_functions`` hook declares it.

    The function must be pure (no I/O, no clock): rules are re-evaluated offline months later and must
    give the same findings.
    """

    name: str  # how rules call it: lower_snake, unique across plugins and built-in functions
    function: Callable[..., Any]
    arity: int  # number of positional arguments the rule checker enforces
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReporterSpec:
    """An output format, as the ``annexa_reporters`` hook declares it."""

    name: str  # the value of ``--format``; lower case
    suffix: str  # file suffix of the written report, with the dot: ".html"
    render: Callable[[Mapping[str, Any]], str]  # the scan result as a JSON-shaped mapping -> file text
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrationSpec:
    """A plugin's settings, as the ``annexa_integrations`` hook declares them.

    An integration (a ticket tracker, a chat) is configured in annexa.yaml under ``integrations.<name>``;
    ``config_schema`` is the JSON Schema of that block, checked with the rest of the file, exactly as a
    collector's ``config_schema`` is for ``collectors.<name>``.
    """

    name: str  # the key under ``integrations``: lower_snake, unique across plugins
    version: str
    config_schema: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class NonconformityChange:
    """What one recorded scan did to one nonconformity of the register.

    ``change`` is ``opened`` (its first episode began in this scan), ``reopened`` (a later episode began:
    it had closed and failed again) or ``closed`` (this scan closed it: the finding passed, the control
    was declared not applicable, or a closure record took effect). ``nonconformity`` is its row of the
    register as ``annexa nonconformities --format json`` writes it (``id``, ``state``, ``rule``,
    ``control``, ``subject``, ``severity``, ``message``, ``closed_by``, ``closure``, ``owner``, ``due``,
    ``episodes`` ...; see docs/nonconformities.md).
    """

    change: str  # "opened" | "reopened" | "closed"
    nonconformity: Mapping[str, Any]

    @property
    def id(self) -> str:
        """The nonconformity's stable id (``NC-`` and the finding's id): the same across scans."""
        return str(self.nonconformity["id"])


@dataclass(frozen=True, slots=True, kw_only=True)
class NonconformityChanges:
    """What the ``annexa_nonconformities_changed`` hook receives after a recorded scan."""

    organization: str
    scan_id: str
    scanned_at: str  # the scan's clock, ISO 8601 UTC
    store: str  # where the scan was recorded (a folder or the shared store's URL)
    changes: tuple[NonconformityChange, ...]  # sorted by nonconformity id
    # Every nonconformity open after this scan (evidence withdrawn included), changed or not, as register
    # rows: a plugin that missed a scan (its tracker was down) can catch up from it.
    open: tuple[Mapping[str, Any], ...] = ()
    # Every nonconformity closed after this scan, as register rows: a plugin that missed the scan that
    # closed one can still close its ticket.
    closed: tuple[Mapping[str, Any], ...] = ()

    def of(self, change: str) -> tuple[NonconformityChange, ...]:
        """The changes of one sort: ``opened``, ``reopened`` or ``closed``."""
        return tuple(item for item in self.changes if item.change == change)
