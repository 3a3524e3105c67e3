"""Shared kinds, evidence builders and compile helpers for the rule-language tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from annexa.lang.language import KindRegistry, compile_rules, evaluate
from annexa.lang.ruleset import RuleSet, RuleSource
from annexa.model.diagnostics import Diagnostic, DiagnosticError
from annexa.model.evidence import Evidence
from annexa.model.findings import Finding

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

_ITEM = {
    "type": "object",
    "properties": {"k": {"type": "string"}, "v": {"type": "number"}, "on": {"type": "boolean"}},
    "additionalProperties": False,
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "svc": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "n": {"type": "number"},
            "m": {"type": "number"},
            "on": {"type": "boolean"},
            "owner": {"type": "string"},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            "labels": {"type": "array", "items": {"type": "string"}},
            "nums": {"type": "array", "items": {"type": "number"}},
            "created": {"type": "string", "format": "date"},
            "seen": {"type": "string", "format": "date-time"},
            "items": {"type": "array", "items": _ITEM},
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "members": {"type": "array", "items": _ITEM}},
                    "additionalProperties": False,
                },
            },
            "sub": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "string"}},
                "additionalProperties": False,
            },
            "blob": {},
        },
        "additionalProperties": False,
    },
    "model_version": {
        "type": "object",
        "properties": {
            "model_name": {"type": "string"},
            "version": {"type": "string"},
            "aliases": {"type": "array", "items": {"type": "string"}},
            "n": {"type": "number"},
        },
        "additionalProperties": False,
    },
    "model_card": {
        "type": "object",
        "properties": {
            "model": {"type": "string"},
            "updated": {"type": "string", "format": "date"},
            "n": {"type": "number"},
            "owner": {"type": "string"},
        },
        "additionalProperties": False,
    },
}

ALL_COLLECTED: dict[str, str | None] = dict.fromkeys(SCHEMAS)


def registry() -> KindRegistry:
    return KindRegistry(SCHEMAS)


def ev(kind: str, source: str, data: Mapping[str, Any], at: datetime = NOW) -> Evidence:
    return Evidence(kind=kind, source=source, scope={}, collector="tests 1", collected_at=at, data=dict(data))


def control(body: str, control_id: str = "A.6.2.8") -> str:
    """Wrap rule text in a control block."""
    return f'control {control_id} "test control" {{\n{body}\n}}\n'


def build(text: str, params: Mapping[str, Any] | None = None, path: str = "t.rule") -> RuleSet:
    return compile_rules([RuleSource(path, text)], registry(), params or {})


def diagnostics_of(
    text: str, params: Mapping[str, Any] | None = None, path: str = "t.rule"
) -> tuple[Diagnostic, ...]:
    with pytest.raises(DiagnosticError) as caught:
        build(text, params, path)
    return caught.value.diagnostics


def run(
    text: str,
    items: Sequence[Evidence],
    *,
    params: Mapping[str, Any] | None = None,
    collected: Mapping[str, str | None] | None = ALL_COLLECTED,
) -> tuple[Finding, ...]:
    return evaluate(build(text, params), items, now=NOW, collected=collected)


def one_rule(
    require: str,
    *,
    where: str | None = None,
    message: str = "failed {x.name}",
    kind: str = "svc",
    extra: str = "",
) -> str:
    """A rule over ``x in kind`` with the given require clause."""
    where_text = f" where {where}" if where else ""
    return control(
        f'  rule r "title r" {{\n    for each x in {kind}{where_text}\n    require {require}\n'
        f'    message "{message}"\n{extra}  }}'
    )


@pytest.fixture
def lang_kinds() -> KindRegistry:
    return registry()


def comparable(
    ruleset: RuleSet, items: Sequence[Evidence], *, witness_order: bool = True
) -> list[tuple[Any, ...]]:
    """Everything a finding says, as comparable values: two compiled forms of the same rules (a fast path
    and the plain code it must equal) are compared on this. The witness in its order, unless told not."""
    found = evaluate(ruleset, items, now=NOW, collected=ALL_COLLECTED)
    return [
        (
            f.rule_id,
            f.subject,
            f.status,
            f.message,
            list(f.witness.items()) if witness_order else dict(f.witness),
            f.missing,
            f.evidence,
            f.note,
        )
        for f in found
    ]


def svc_rules(requires: Sequence[str]) -> str:
    """A control with one rule per ``require`` text, each over ``x in svc``."""
    return control(
        "".join(
            f'  rule r{n} {{\n    for each x in svc\n    require {text}\n    message "{n} {{x.name}}"\n  }}\n'
            for n, text in enumerate(requires)
        )
    )


def svc_and_cards(
    services: Sequence[Mapping[str, Any]], cards: Sequence[Mapping[str, Any]]
) -> list[Evidence]:
    """The items of a differential join test: svc items s0, s1, ... and model cards c0, c1, ..."""
    items = [ev("svc", f"s{i}", d) for i, d in enumerate(services)]
    return items + [ev("model_card", f"c{i}", d) for i, d in enumerate(cards)]


def generated_without(requires: Sequence[str], method: str, replacement: Any) -> RuleSet:
    """The rules of :func:`svc_rules` with the code generator's ``method`` replaced while their code is
    generated (on first use, so here): the plain code a fast path switched off by ``replacement`` gives."""
    from annexa.lang.compiler import CodeGenerator

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CodeGenerator, method, replacement)
        plain = build(svc_rules(requires))
        for rule in plain.rules:
            rule.code.generated()
    return plain
