"""Benchmark: compiled rules vs the same predicates hand-written in Python, and join growth.

Run: .venv/bin/python benchmarks/bench_evaluate.py [items]   (prints figures; not a test)
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from annexa.lang.language import KindRegistry, compile_rules, evaluate
from annexa.lang.ruleset import RuleSource
from annexa.model.diagnostics import Position, Span
from annexa.model.evidence import Evidence
from annexa.model.findings import Finding, Severity, Status, sort_findings

NOW = datetime(2026, 11, 23, tzinfo=UTC)
SCHEMAS: dict[str, Any] = {
    "svc": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "n": {"type": "number"},
            "on": {"type": "boolean"},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            "labels": {"type": "array", "items": {"type": "string"}},
            "created": {"type": "string", "format": "date"},
            "capture": {
                "type": "object",
                "properties": {"enabled": {"type": "boolean"}, "pct": {"type": "number"}},
            },
        },
    },
    "mv": {"type": "object", "properties": {"model_name": {"type": "string"}, "version": {"type": "string"}}},
    "card": {
        "type": "object",
        "properties": {"model": {"type": "string"}, "updated": {"type": "string", "format": "date"}},
    },
}
# (rule name, require, message, witness paths read in order) -- the ten typical predicates.
PREDICATES = [
    ("eq", 'x.name == "svc-7"', "x.name"),
    ("ge", "x.n >= 50", "x.n"),
    ("nested", "x.capture.enabled", "x.capture.enabled"),
    ("tags", 'x.tags["env"] == "prod"', 'x.tags["env"]'),
    ("inlist", 'x.tags["env"] in ["prod", "staging"]', 'x.tags["env"]'),
    ("age", "age(x.created) <= 365d", "x.created"),
    ("matches", 'x.name matches "^svc-[0-9]+$"', "x.name"),
    ("combo", "x.on and (x.n > 10 or not x.capture.enabled)", "x.on"),
    ("len", "len(x.labels) >= 2", "x.labels"),
    ("combo2", 'not (x.on or x.tags["env"] == "dev") or x.capture.pct >= 20', "x.on"),
]


def rules_text() -> str:
    body = "".join(
        f"  rule {name} {{\n    for each x in svc\n    require {require}\n"
        f'    message "svc {{x.name}} fails {name}"\n  }}\n'
        for name, require, _ in PREDICATES
    )
    return f'control A.6.2.8 "bench" {{\n{body}}}\n'


def items(count: int) -> list[Evidence]:
    out = []
    for i in range(count):
        data: dict[str, Any] = {
            "name": f"svc-{i}",
            "n": i % 100,
            "on": i % 3 != 0,
            "tags": {"env": ("prod", "dev", "staging")[i % 3]},
            "labels": ["a", "b", "c"][: i % 4],
            "created": f"202{5 + i % 2}-0{1 + i % 9}-15",
            "capture": {"enabled": i % 2 == 0, "pct": i % 40} if i % 7 else {},
        }
        out.append(
            Evidence(
                kind="svc", source=f"svc-{i:06d}", scope={}, collector="bench 1", collected_at=NOW, data=data
            )
        )
    return out


# --- the same ten predicates, hand-written -----------------------------------------------------------

_NAME = re.compile("^svc-[0-9]+$")


def _date(text: Any) -> datetime | None:
    if text is None:
        return None
    day = date.fromisoformat(text)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _and(a: bool | None, b: Callable[[], bool | None]) -> bool | None:
    if a is False:
        return False
    c = b()
    return False if c is False else (True if a is True and c is True else None)


def _or(a: bool | None, b: Callable[[], bool | None]) -> bool | None:
    if a is True:
        return True
    c = b()
    return True if c is True else (False if a is False and c is False else None)


def _not(a: bool | None) -> bool | None:
    return None if a is None else not a


def hand(d: Any, w: dict[str, Any], name: str) -> bool | None:
    tags = d.get("tags") or {}
    capture = d.get("capture") or {}
    if name == "eq":
        v = w["x.name"] = d.get("name")
        return None if v is None else v == "svc-7"
    if name == "ge":
        v = w["x.n"] = d.get("n")
        return None if v is None else v >= 50
    if name == "nested":
        w["x.capture.enabled"] = capture.get("enabled")
        return w["x.capture.enabled"]  # type: ignore[no-any-return]
    if name in ("tags", "inlist"):
        v = w['x.tags["env"]'] = tags.get("env")
        return None if v is None else (v == "prod" if name == "tags" else v in ("prod", "staging"))
    if name == "age":
        w["x.created"] = d.get("created")
        moment = _date(d.get("created"))
        return None if moment is None else NOW - moment <= timedelta(days=365)
    if name == "matches":
        v = w["x.name"] = d.get("name")
        return None if v is None else _NAME.search(v) is not None
    if name == "len":
        v = w["x.labels"] = d.get("labels")
        return None if v is None else len(v) >= 2

    def rec(label: str, value: Any) -> Any:
        w[label] = value
        return value

    def n_gt() -> bool | None:
        v = rec("x.n", d.get("n"))
        return None if v is None else v > 10

    if name == "combo":
        return _and(
            rec("x.on", d.get("on")),
            lambda: _or(n_gt(), lambda: _not(rec("x.capture.enabled", capture.get("enabled")))),
        )

    def env_dev() -> bool | None:
        v = rec('x.tags["env"]', tags.get("env"))
        return None if v is None else v == "dev"

    def pct() -> bool | None:
        v = rec("x.capture.pct", capture.get("pct"))
        return None if v is None else v >= 20

    return _or(_not(_or(rec("x.on", d.get("on")), env_dev)), pct)


def hand_evaluate(evidence: list[Evidence]) -> tuple[Finding, ...]:
    findings = []
    ordered = sorted(evidence, key=lambda e: (e.source, e.id))
    for number, (name, _, _) in enumerate(PREDICATES):
        span = Span("bench.rule", Position(2 + 6 * number, 8), Position(2 + 6 * number, 8 + len(name)))
        for item in ordered:
            w: dict[str, Any] = {}
            result = hand(item.data, w, name)
            missing = tuple(sorted(k for k, v in w.items() if v is None))
            status = Status.PASS if result is True else Status.FAIL
            message = name if status is Status.PASS else f"svc {item.data.get('name')} fails {name}"
            findings.append(
                Finding(
                    rule_id=f"A.6.2.8/{name}",
                    control_id="A.6.2.8",
                    status=status,
                    severity=Severity.MEDIUM,
                    message=message,
                    subject=item.source,
                    rule_span=span,
                    evidence=(item.ref(),),
                    witness=w,
                    missing=missing,
                    note="missing field(s): " + ", ".join(missing)
                    if status is Status.FAIL and missing
                    else None,
                )
            )
    return sort_findings(findings)


def timed(function: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def join_case(n: int, kinds: KindRegistry) -> float:
    text = (
        'control A.6.2.6 "docs" {\n  rule cards {\n    for each mv in mv\n'
        "    require exists c in card where c.model == mv.model_name and age(c.updated) <= 365d\n"
        '    message "model {mv.model_name} has no card"\n  }\n}\n'
    )
    ruleset = compile_rules([RuleSource("join.rule", text)], kinds)
    evidence = [
        Evidence(
            kind="mv",
            source=f"mv-{i:06d}",
            scope={},
            collector="b 1",
            collected_at=NOW,
            data={"model_name": f"m{i}", "version": "1"},
        )
        for i in range(n)
    ]
    evidence += [
        Evidence(
            kind="card",
            source=f"card-{i:06d}",
            scope={},
            collector="b 1",
            collected_at=NOW,
            data={"model": f"m{i}", "updated": "2026-05-01"},
        )
        for i in range(0, n, 2)
    ]
    for item in evidence:
        item.ref()
    seconds, findings = timed(
        lambda: evaluate(ruleset, evidence, now=NOW, collected={"mv": None, "card": None}), 2
    )
    assert sum(f.status is Status.PASS for f in findings) == (n + 1) // 2
    return float(seconds)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    kinds = KindRegistry(SCHEMAS)
    start = time.perf_counter()
    ruleset = compile_rules([RuleSource("bench.rule", rules_text())], kinds)
    compile_seconds = time.perf_counter() - start
    evidence = items(count)
    for item in evidence:  # the store computes ids at collection time; keep hashing out of both timings
        item.ref()
    compiled_s, compiled = timed(lambda: evaluate(ruleset, evidence, now=NOW, collected={"svc": None}))
    hand_s, handwritten = timed(lambda: hand_evaluate(evidence))
    same = [
        (f.rule_id, f.subject, f.status, f.message, dict(f.witness), f.missing, f.evidence) for f in compiled
    ] == [
        (
            f.rule_id,
            f.subject,
            f.status,
            f.message if f.status is Status.FAIL else rule_title(f),
            dict(f.witness),
            f.missing,
            f.evidence,
        )
        for f in handwritten
    ]
    findings = len(compiled)
    print(f"compile 10 rules: {compile_seconds * 1000:.1f} ms")
    print(f"{'case':<44}{'seconds':>10}{'findings/s':>14}")
    label = f"annexa evaluate(), {count} items x 10 rules"
    print(f"{label:<44}{compiled_s:>10.3f}{findings / compiled_s:>14,.0f}")
    print(f"{f'hand-written Python, {count} items x 10':<44}{hand_s:>10.3f}{findings / hand_s:>14,.0f}")
    print(f"{'ratio annexa / hand-written':<44}{compiled_s / hand_s:>10.2f}")
    print(f"same findings (status, message, witness, missing, evidence): {same}")
    print()
    print(f"{'join N versions x N/2 cards':<30}{'seconds':>10}{'s per 1k':>12}{'ratio to N/2':>14}")
    previous = None
    for n in (5_000, 10_000, 20_000):
        seconds = join_case(n, kinds)
        ratio = f"{seconds / previous:.2f}" if previous else "-"
        print(f"{f'N = {n}':<30}{seconds:>10.3f}{seconds / n * 1000:>12.4f}{ratio:>14}")
        previous = seconds


def rule_title(finding: Finding) -> str:
    return finding.rule_id.split("/")[1]


if __name__ == "__main__":
    main()
