"""`outer in inner.list` joins run on an index of list elements and keep three-valued results."""

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
        "system": {"type": "object", "properties": {"id": {"type": ["string", "null"]}}},
        "doc": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "systems": {"type": ["array", "null"], "items": {"type": "string"}},
            },
        },
    }
)
RULE = """control A.5.3 "t" {
  rule assessed {
    for each s in system
    require exists d in doc where s.id in d.systems and d.type == "impact"
    message "{s.id}"
  }
}
"""


def item(kind: str, source: str, **data: object) -> Evidence:
    return Evidence(kind=kind, source=source, scope={}, collector="t 1", collected_at=NOW, data=data)


def test_membership_join_is_indexed_and_matches_the_plain_meaning() -> None:
    ruleset = compile_rules([RuleSource("a_5_3.rule", RULE)], KINDS)
    assert ruleset.rules[0].code.joins == (("doc", ("systems",)),)
    evidence = [
        item("system", "s:fraud", id="fraud"),
        item("system", "s:chat", id="chat"),
        item("system", "s:none", id=None),
        item("doc", "d:1", type="impact", systems=["fraud", "other"]),
        item("doc", "d:2", type="policy", systems=["chat"]),
        item("doc", "d:3", type="impact", systems=[]),
    ]
    statuses = {f.subject: f.status for f in evaluate(ruleset, evidence, now=NOW)}
    # chat is only listed by a policy; a system without an id can never be shown to be assessed
    assert statuses == {"s:fraud": Status.PASS, "s:chat": Status.FAIL, "s:none": Status.FAIL}


def test_a_document_with_unknown_systems_keeps_the_verdict_unknown() -> None:
    ruleset = compile_rules([RuleSource("a_5_3.rule", RULE)], KINDS)
    evidence = [item("system", "s:chat", id="chat"), item("doc", "d:1", type="impact", systems=None)]
    (finding,) = evaluate(ruleset, evidence, now=NOW)
    assert finding.status is Status.FAIL
    assert "exists d in doc" in finding.missing  # unknown, not a plain false: the list was missing
