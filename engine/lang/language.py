"""The rule language's public face: load rule files, compile them once, evaluate them over evidence."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from annexa.contract.catalog import Catalog, load_catalog
from annexa.contract.fields import Contract, load_contract
from annexa.contract.freshness import FreshnessLimits
from annexa.contract.kinds import ANY, KindRegistry
from annexa.lang import syntax as s
from annexa.lang.checker import BUILTIN_FUNCTIONS, Checker
from annexa.lang.compiler import compile_rule, quantified_sources
from annexa.lang.defines import expand_defines
from annexa.lang.evaluator import evaluate
from annexa.lang.parser import parse, parse_expression
from annexa.lang.reads import check_metadata_reads, metadata_reads
from annexa.lang.ruleset import CompiledRule, RuleSet, RuleSource
from annexa.lang.syntax import LiteralValue
from annexa.model.diagnostics import Diagnostic, DiagnosticError, Level, Position, Span
from annexa.model.findings import Severity

__all__ = [
    "CompiledRule",
    "KindRegistry",
    "RuleSet",
    "RuleSource",
    "compile_rules",
    "evaluate",
    "load_rule_sources",
    "parse_param_value",
]

BUILTIN_PREFIX = "builtin:"


def load_rule_sources(paths: Sequence[str]) -> tuple[RuleSource, ...]:
    """Read rule files: ``builtin:annex_a`` (the shipped pack), a folder (every ``*.rule``) or a file."""
    sources: list[RuleSource] = []
    problems: list[Diagnostic] = []
    for given in paths:
        if given.startswith(BUILTIN_PREFIX):
            pack = given.removeprefix(BUILTIN_PREFIX)
            folder = resources.files("annexa.rules").joinpath(pack)
            if not folder.is_dir():
                problems.append(_unreadable(given, f"no built-in rule pack `{pack}`"))
                continue
            entries = sorted(folder.iterdir(), key=lambda e: e.name)
            sources.extend(
                RuleSource(f"{given}/{entry.name}", entry.read_text(encoding="utf-8"))
                for entry in entries
                if entry.name.endswith(".rule")
            )
            continue
        path = Path(given)
        files = sorted(path.rglob("*.rule")) if path.is_dir() else [path]
        for file in files:
            try:
                sources.append(RuleSource(str(file), file.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(_unreadable(str(file), f"cannot read rule file: {exc}"))
    if problems:
        raise DiagnosticError(problems)
    return tuple(sources)


def _unreadable(path: str, message: str) -> Diagnostic:
    return Diagnostic(code="E500", message=message, span=Span(path, Position(1, 1), Position(1, 1)))


def parse_param_value(text: str) -> LiteralValue:
    """``--param review_period=180d``: the value is a literal of the rule language; bare words are strings."""
    try:
        expr = parse_expression(text, "<param>")
    except DiagnosticError:
        return text
    if isinstance(expr, s.Literal):
        return expr.value
    if isinstance(expr, s.Unary) and expr.op == "-" and isinstance(expr.operand, s.Literal):
        value = expr.operand.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value
    return text


def compile_rules(
    sources: Iterable[RuleSource],
    kinds: KindRegistry,
    params: Mapping[str, Any] | None = None,
    *,
    catalog: Catalog | None = None,
    functions: Mapping[str, tuple[int, Callable[..., Any]]] | None = None,
    contract: Contract | None = None,
    freshness: FreshnessLimits | None = None,
) -> RuleSet:
    """Parse, check and compile rule files; raise :class:`DiagnosticError` with every error found.

    ``params`` overrides parameter defaults; string values are read as rule-language literals, so
    ``{"review_period": "180d"}`` is a duration. ``functions`` adds pure functions (name -> arity,
    callable) that rules may call, as plugins contribute them. ``freshness`` is the maximum age of evidence
    that ``fresh(x)`` compares with (annexa.yaml's ``freshness``; the catalog's defaults when None).
    """
    source_list = sorted(sources, key=lambda source: source.path)
    texts = {source.path: source.text for source in source_list}
    files: list[s.RuleFile] = []
    diagnostics: list[Diagnostic] = []
    for source in source_list:
        try:
            files.append(parse(source.text, source.path))
        except DiagnosticError as error:
            diagnostics.extend(error.diagnostics)
    extra = functions or {}
    files, expansion_problems = expand_defines(files, [*BUILTIN_FUNCTIONS, *extra])
    diagnostics.extend(expansion_problems)
    checker = Checker(
        kinds, catalog or load_catalog(), {name: (arity, ANY) for name, (arity, _) in extra.items()}
    )
    if freshness is not None:
        checker.resolution.freshness = freshness
    overrides = {k: parse_param_value(v) if isinstance(v, str) else v for k, v in (params or {}).items()}
    checker.check_params(files, overrides)
    checker.check_controls(files)
    diagnostics.extend(checker.diagnostics)
    # What each rule reads of a document's `metadata` (and `extra`), checked against the evidence contract
    # (E309/W403).
    metadata: dict[int, frozenset[tuple[str, str]]] = {}
    if not any(d.level is Level.ERROR for d in diagnostics):
        contract = contract or load_contract()
        for rule_file in files:
            for control in rule_file.controls:
                for rule in control.rules:
                    reads = metadata_reads(rule, checker.resolution.kind_sources)
                    diagnostics.extend(check_metadata_reads(reads, contract))
                    metadata[id(rule)] = frozenset(
                        (doc_type, read.dotted)
                        for read in reads
                        if read.root == "metadata"
                        for doc_type in read.types or ("",)
                    )
    if any(d.level is Level.ERROR for d in diagnostics):
        raise DiagnosticError(diagnostics, texts)
    callables = {name: function for name, (_, function) in extra.items()}
    rules: list[CompiledRule] = []
    for rule_file in files:
        for control in rule_file.controls:
            for rule in control.rules:
                compiled = _compile(control, rule, checker, callables, len(rules))
                rules.append(replace(compiled, metadata=metadata.get(id(rule), frozenset())))
    digest = hashlib.sha256()
    for path, text in texts.items():
        digest.update(path.encode() + b"\0" + text.encode() + b"\0")
    return RuleSet(
        rules=tuple(sorted(rules, key=lambda r: r.id)),
        params=dict(checker.resolution.param_values),
        diagnostics=tuple(d for d in diagnostics if d.level is Level.WARNING),
        digest=digest.hexdigest(),
        sources=texts,
        freshness=checker.resolution.freshness,
    )


def _compile(
    control: s.ControlDecl,
    rule: s.RuleDecl,
    checker: Checker,
    functions: dict[str, Callable[..., Any]],
    number: int,
) -> CompiledRule:
    resolution = checker.resolution
    sources = quantified_sources(rule)
    kinds = frozenset(
        resolution.kind_sources[id(node)] for node in sources if id(node) in resolution.kind_sources
    )
    subject_kind = resolution.kind_sources.get(id(rule.for_each.source)) if rule.for_each else None
    loop_source = rule.for_each.source if rule.for_each else None
    quantified = frozenset(
        resolution.kind_sources[id(node)]
        for node in sources
        if node is not loop_source and id(node) in resolution.kind_sources
    )
    fields_read = resolution.fields_read.get(id(rule), {})
    return CompiledRule(
        id=f"{control.id}/{rule.name}",
        name=rule.name,
        control_id=control.id,
        title=rule.title or rule.name.replace("_", " "),
        severity=Severity(rule.severity[0]) if rule.severity else Severity.MEDIUM,
        span=rule.name_span,
        kinds=kinds,
        quantified_kinds=quantified,
        fields={kind: _frozen(fields_read.get(kind, set())) for kind in kinds},
        subject_kind=subject_kind,
        expect_at_least=rule.expect_at_least[0] if rule.expect_at_least else None,
        allow_empty=s.render(rule.allow_empty) if rule.allow_empty is not None else None,
        weight=_weight(rule, checker.catalog),
        evidence=tuple(signal for signal, _ in rule.evidence),
        sought=_sought(rule.for_each, subject_kind),
        remediation=rule.remediation,
        code=compile_rule(rule, resolution, functions, f"rule_{number}"),
    )


def _weight(rule: s.RuleDecl, catalog: Catalog) -> str:
    signals = [catalog.evidence_signal(signal) for signal, _ in rule.evidence]
    if signals and all(signal is not None and signal.weight == "supporting" for signal in signals):
        return "supporting"
    return "primary"


def _sought(loop: s.ForEach | None, kind: str | None) -> str | None:
    if loop is None or kind is None:
        return None
    return kind if loop.where is None else f"{kind} where {s.render(loop.where)}"


def _frozen(fields: set[str] | None) -> frozenset[str] | None:
    return None if fields is None else frozenset(fields)
