"""Compiled rules: what the compiler hands the evaluator and every report (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from annexa.contract.freshness import DEFAULT_LIMITS, FreshnessLimits
from annexa.lang.compiler import RuleCode
from annexa.lang.syntax import LiteralValue
from annexa.model.diagnostics import Diagnostic, Span
from annexa.model.findings import Severity


@dataclass(frozen=True, slots=True)
class RuleSource:
    path: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledRule:
    id: str  # "A.6.2.8/endpoint_data_capture"
    name: str
    control_id: str
    title: str
    severity: Severity
    span: Span
    kinds: frozenset[str]  # every evidence kind the rule reads
    # kind -> the top-level data fields the rule reads; None when it uses an item as a whole
    fields: Mapping[str, frozenset[str] | None]
    subject_kind: str | None  # the kind of `for each`, whose items are the subjects
    quantified_kinds: frozenset[str]  # kinds read by exists / all / count inside the rule
    expect_at_least: int | None
    allow_empty: str | None  # the `allow empty when` condition, as text
    # "supporting" when every catalog evidence signal the rule names is supporting: its failures are
    # observations, never a failing control (verdicts.md, "Primary and supporting evidence").
    weight: str
    evidence: tuple[str, ...]  # the catalog evidence signals the rule checks ("A.2.2-E1")
    sought: str | None  # what the `for each` selects, as text: `document where d.type == "ai-policy"`
    remediation: str | None
    code: RuleCode
    # (document type, metadata path) read under a document's `extra`, e.g. ("ai-system-record",
    # "suppliers"); the type is "" when the rule does not select one (docs/evidence.md).
    metadata: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSet:
    rules: tuple[CompiledRule, ...]
    params: Mapping[str, LiteralValue]
    diagnostics: tuple[Diagnostic, ...]  # warnings; errors raise instead
    digest: str  # SHA-256 over the rule sources, in path order
    sources: Mapping[str, str]
    # The maximum age of evidence the rules were compiled with (`fresh(x)`); a Dask worker compiling the
    # pack again must be given the same.
    freshness: FreshnessLimits = DEFAULT_LIMITS

    @property
    def kinds_read(self) -> frozenset[str]:
        return frozenset().union(*(rule.kinds for rule in self.rules)) if self.rules else frozenset()

    @property
    def fields_read(self) -> dict[str, frozenset[str] | None]:
        """Kind -> the top-level data fields any rule reads (None: all), so collectors fetch no more."""
        merged: dict[str, frozenset[str] | None] = {}
        for rule in self.rules:
            for kind, fields in rule.fields.items():
                if kind in merged and merged[kind] is None:
                    continue
                merged[kind] = None if fields is None else (merged.get(kind) or frozenset()) | fields
        return merged

    def rules_by_control(self) -> dict[str, tuple[str, ...]]:
        grouped: dict[str, list[str]] = {}
        for rule in self.rules:
            grouped.setdefault(rule.control_id, []).append(rule.id)
        return {control: tuple(ids) for control, ids in grouped.items()}
