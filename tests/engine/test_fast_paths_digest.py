"""The fast paths give the findings of the straightforward ones, to the digest, on the demo estate and on
the benchmark's synthetic estate (benchmarks/bench_scale.py, grown to a few thousand items).

Straightforward: every null-key item a join candidate again (no null bucket), findings sorted by
sort_findings, evidence validated by jsonschema itself, the result written by json.dumps.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from annexa.app.result import build_result
from annexa.files.jsonwriter import write_json
from annexa.lang.compiler import CodeGenerator
from annexa.lang.language import evaluate
from annexa.model.evidence import Evidence, canonical_json
from annexa.model.findings import Finding, sort_findings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_scale  # the benchmark's own estate, so the test and the figures share it

NOW = datetime(2026, 11, 23, tzinfo=UTC)


Estates = tuple[Any, Any, Any, tuple[Evidence, ...], list[Evidence]]


@pytest.fixture(scope="module")
def estates(tmp_path_factory: pytest.TempPathFactory) -> Estates:
    """Host, configuration, rule set, the demo estate's evidence and the benchmark's estate grown from it."""
    host, config, ruleset, seed = bench_scale.seed_evidence(tmp_path_factory.mktemp("estate"))
    return host, config, ruleset, seed, bench_scale.synthetic_estate(seed, 3000)


def _digest(findings: tuple[Finding, ...]) -> str:
    return hashlib.sha256(canonical_json([finding.to_dict() for finding in findings])).hexdigest()


@pytest.mark.parametrize("estate", ["demo", "bench"])
def test_fast_and_straightforward_paths_agree_to_the_digest(estates: Estates, estate: str) -> None:
    host, config, ruleset, seed, grown = estates
    items = list(seed) if estate == "demo" else grown
    collected = dict.fromkeys(ruleset.kinds_read)
    fast = evaluate(ruleset, items, now=NOW, collected=collected)
    assert fast == sort_findings(fast)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CodeGenerator, "null_check", lambda *args: "")
        plain_rules = bench_scale.compile_for(config, host)
        for rule in plain_rules.rules:
            rule.code.generated()  # the code is generated on first use: here, with the bucket off
    assert not any("nulls=" in rule.code.source for rule in plain_rules.rules)
    plain = sort_findings(evaluate(plain_rules, items, now=NOW, collected=collected))
    assert _digest(fast) == _digest(plain)
    assert len(fast) > len(items) // 2  # a real evaluation, not an empty one

    result = build_result(fast, ruleset.rules_by_control(), now=NOW, ruleset_digest=ruleset.digest)
    streamed = io.BytesIO()
    write_json(build_result(fast, ruleset.rules_by_control(), now=NOW, ruleset_digest=ruleset.digest,
                            stream=True), streamed)  # fmt: skip
    assert json.loads(streamed.getvalue()) == json.loads(json.dumps(result, indent=2))


def test_fast_validation_gives_jsonschemas_problems_on_the_estate(estates: Estates) -> None:
    host, _, _, seed, grown = estates
    from annexa.app.wiring import kind_registry

    kinds = kind_registry(host)
    broken = [
        Evidence(kind=item.kind, source=f"{item.source}#broken", scope=item.scope, collector=item.collector,
                 collected_at=item.collected_at, data={**item.data, "title": 7, "status": ["x"]})
        for item in seed[:20]
    ]  # fmt: skip
    for item in [*grown[:2000], *broken]:
        if item.kind not in kinds:
            continue
        reference = jsonschema.Draft202012Validator(kinds.schema(item.kind))
        expected = [
            f"{'.'.join(str(p) for p in error.absolute_path) or '(data)'}: {error.message}"
            for error in sorted(reference.iter_errors(dict(item.data)), key=lambda e: list(map(str, e.path)))
        ]
        assert kinds.validate(item) == expected
    assert any(kinds.validate(item) for item in broken if item.kind in kinds)
