"""A constant equality in a `where` narrows the items visited, and no verdict changes.

`for each` visits only the items its leading `x.type == "..."` can select; a join also drops, from the
items its first index cannot hold, those whose constant key holds another value. Items with no value at
the narrowing key stay candidates, so unknown stays unknown.
"""

from __future__ import annotations

from datetime import UTC, datetime

from annexa.contract.kinds import KindRegistry
from annexa.lang.language import compile_rules, evaluate
from annexa.lang.ruleset import RuleSource
from annexa.model.evidence import Evidence
from annexa.model.findings import Status

NOW = datetime(2026, 11, 23, tzinfo=UTC)
KINDS = KindRegistry(
    {
        "doc": {
            "type": "object",
            "properties": {
                "type": {"type": ["string", "null"]},
                "supplier": {"type": ["string", "null"]},
                "suppliers": {"type": ["array", "null"], "items": {"type": "string"}},
                "status": {"type": ["string", "null"]},
            },
        },
    }
)
RULE = """control A.10.3 "t" {
  rule assessed {
    for each r in doc where r.type == "record"
    require all p in r.suppliers satisfy exists d in doc
      where d.supplier == p and d.type == "assessment" and d.status == "approved"
    message "{r.suppliers}"
  }
}
"""


def doc(source: str, **data: object) -> Evidence:
    return Evidence(kind="doc", source=source, scope={}, collector="t 1", collected_at=NOW, data=data)


def verdicts(evidence: list[Evidence]) -> dict[str | None, tuple[Status, tuple[str, ...]]]:
    ruleset = compile_rules([RuleSource("a_10_3.rule", RULE)], KINDS)
    source = ruleset.rules[0].code.source
    assert "_join({}, ITEMS['doc'], None, INDEX[('doc', ('type',), False)], 'record')" in source
    assert "INDEX[('doc', ('supplier',), False)], ITEMS['doc'], v_p_" in source
    return {
        f.subject: (f.status, tuple(ref.id for ref in f.evidence))
        for f in evaluate(ruleset, evidence, now=NOW)
    }


def test_narrowed_loops_and_joins_give_the_plain_verdicts() -> None:
    approved = doc("d:acme", type="assessment", supplier="acme", status="approved")
    evidence = [
        doc("r:ok", type="record", suppliers=["acme"]),
        doc("r:missing", type="record", suppliers=["globex"]),
        doc("r:none", type=None, suppliers=["acme"]),  # unknown type: the where is not true, no finding
        approved,
        doc("d:policy", type="policy", supplier="globex", status="approved"),
        *(doc(f"p:{n}", type="policy") for n in range(50)),  # no supplier: cut by the type index
    ]
    found = verdicts(evidence)
    assert set(found) == {"r:ok", "r:missing"}
    assert found["r:ok"][0] is Status.PASS
    assert approved.id in found["r:ok"][1]
    assert found["r:missing"][0] is Status.FAIL


def test_an_assessment_of_unknown_type_keeps_the_verdict_unknown() -> None:
    # No supplier index entry matches globex, and this document's type is unknown: it stays a candidate,
    # so the verdict is "unknown" (missing), never a plain pass or a plain false.
    evidence = [
        doc("r:x", type="record", suppliers=["globex"]),
        doc("d:unknown", type=None, supplier=None, status="approved"),
    ]
    ruleset = compile_rules([RuleSource("a_10_3.rule", RULE)], KINDS)
    (finding,) = evaluate(ruleset, evidence, now=NOW)
    assert finding.status is Status.FAIL
    assert any("exists d in doc" in text for text in finding.missing)
