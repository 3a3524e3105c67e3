"""Rule test cases: YAML files of evidence and the exact findings one rule must give (style D.10).

```yaml
rule: A.2.2/ai_policy_current
now: "2026-11-23T00:00:00Z"        # optional
params: {review_period: 180d}      # optional
collected: [document]              # optional: default, every kind the rule reads
evidence: [{kind: document, source: "...", data: {...}}]
expect: {pass: ["..."], fail: [], not_applicable: [null]}
```
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from annexa.contract.kinds import KindRegistry
from annexa.lang.language import compile_rules, evaluate, load_rule_sources
from annexa.lang.ruleset import RuleSet
from annexa.model.errors import EngineError
from annexa.model.evidence import Evidence, EvidenceFormatError, parse_timestamp
from annexa.model.findings import Status

DEFAULT_NOW = datetime(2026, 11, 23, tzinfo=UTC)
_STATUSES = {status.value for status in Status}


@dataclass(frozen=True, slots=True)
class CaseResult:
    path: str
    rule_id: str
    passed: bool
    problems: tuple[str, ...]
    rule_found: bool = True  # False: the rules under test hold no rule of that id


class RuleTestError(EngineError):
    """A rule test file is malformed."""


def _load_case(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleTestError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("rule"), str):
        raise RuleTestError(f"{path}: a rule test is a mapping with `rule`, `evidence` and `expect`")
    expect = raw.get("expect")
    if not isinstance(expect, dict) or not set(expect) <= _STATUSES:
        raise RuleTestError(f"{path}: `expect` maps statuses ({', '.join(sorted(_STATUSES))}) to subjects")
    return raw


def _evidence(path: Path, raw: Iterable[Any], now: datetime) -> list[Evidence]:
    items = []
    for number, entry in enumerate(raw or (), start=1):
        if not isinstance(entry, dict):
            raise RuleTestError(f"{path}: evidence item {number} is not a mapping")
        filled = {
            "scope": {},
            "collector": "ruletest 1",
            "collected_at": now.isoformat().replace("+00:00", "Z"),
            **entry,
        }
        try:
            items.append(Evidence.from_dict(filled))
        except EvidenceFormatError as exc:
            raise RuleTestError(f"{path}: evidence item {number}: {exc}") from exc
    return items


def run_case(
    path: Path, rule_paths: Iterable[str], kinds: KindRegistry, cache: dict[Any, RuleSet]
) -> CaseResult:
    raw = _load_case(path)
    rule_id = raw["rule"]
    now_text = raw.get("now")
    now = parse_timestamp(str(now_text)) if now_text else DEFAULT_NOW
    params = raw.get("params") or {}
    key = (tuple(rule_paths), tuple(sorted((k, str(v)) for k, v in params.items())))
    if key not in cache:
        cache[key] = compile_rules(
            load_rule_sources(list(rule_paths)), kinds, {k: str(v) for k, v in params.items()}
        )
    ruleset = cache[key]
    rules = [rule for rule in ruleset.rules if rule.id == rule_id]
    if not rules:
        problem = f"no rule {rule_id} in {', '.join(rule_paths)}"
        return CaseResult(str(path), rule_id, False, (problem,), rule_found=False)
    rule = rules[0]
    items = _evidence(path, raw.get("evidence") or (), now)
    problems = []
    for item in items:
        problems += [f"evidence {item.source}: {p}" for p in kinds.validate(item)]
    collected_kinds = raw.get("collected")
    kinds_collected = rule.kinds if collected_kinds is None else frozenset(collected_kinds)
    collected: Mapping[str, str | None] = dict.fromkeys(kinds_collected)
    single = RuleSet(
        rules=(rule,), params=ruleset.params, diagnostics=(), digest=ruleset.digest, sources=ruleset.sources
    )
    findings = evaluate(single, items, now=now, collected=collected)
    actual = sorted((f.status.value, f.subject or "") for f in findings)
    expected = sorted(
        (status, subject or "") for status, subjects in raw["expect"].items() for subject in (subjects or [])
    )
    if actual != expected:
        problems.append(f"expected {_describe(expected)}, got {_describe(actual)}")
        problems += [f"  {f.status.value} {f.subject}: {f.message}" for f in findings]
    return CaseResult(str(path), rule_id, not problems, tuple(problems))


def _describe(pairs: list[tuple[str, str]]) -> str:
    return "; ".join(f"{status} {subject or '(whole scope)'}" for status, subject in pairs) or "no findings"


def discover(paths: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        found += sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    return found
