"""Primary and supporting evidence: a rule's weight comes from the catalog signals it names, and a
supporting finding that does not pass is an observation, never a failing control (verdicts.md)."""

from __future__ import annotations

from conftest import NOW, build, diagnostics_of, ev

from annexa.app.result import build_result, exit_code_for
from annexa.audit.nonconformities import ScanView, build_register
from annexa.contract.catalog import roll_up
from annexa.lang.language import evaluate

RULES = """
control A.2.2 "AI policy" {
  rule primary_check "the policy" {
    evidence "A.2.2-E1"
    for each x in svc require x.on message "m"
  }
  rule supporting_check "its sections" {
    evidence "A.2.2-E2", "A.2.2-E3"
    for each x in svc require x.n > 1 message "sections of {x.name}"
  }
}
"""


def test_weight_comes_from_the_catalog_signals_a_rule_names() -> None:
    weights = {rule.name: rule.weight for rule in build(RULES).rules}
    assert weights == {"primary_check": "primary", "supporting_check": "supporting"}
    mixed = RULES.replace('"A.2.2-E2", "A.2.2-E3"', '"A.2.2-E1", "A.2.2-E2"')
    assert {rule.name: rule.weight for rule in build(mixed).rules}["supporting_check"] == "primary"


def test_a_supporting_failure_is_an_observation_not_a_failing_control() -> None:
    ruleset = build(RULES)
    findings = evaluate(ruleset, [ev("svc", "s1", {"on": True, "n": 0, "name": "p"})], now=NOW)
    supporting = next(f for f in findings if f.rule_id.endswith("supporting_check"))
    assert (supporting.status.value, supporting.weight, supporting.observation) == (
        "fail",
        "supporting",
        True,
    )
    (control,) = [c for c in roll_up(findings, ruleset.rules_by_control()) if c.id == "A.2.2"]
    assert (control.status.value, control.counts["observations"]) == ("pass", 1)
    assert exit_code_for(findings) == 0
    result = build_result(findings, ruleset.rules_by_control(), now=NOW, ruleset_digest="0" * 64)
    assert result["summary"]["observations"] == 1
    assert supporting.to_dict()["weight"] == "supporting"
    register = build_register(
        [ScanView(scan_id="s", at=NOW, findings=findings, rules_run=frozenset(f.rule_id for f in findings))]
    )
    assert register.nonconformities == ()


def test_the_primary_failure_still_fails_the_control() -> None:
    ruleset = build(RULES)
    findings = evaluate(ruleset, [ev("svc", "s1", {"on": False, "n": 5})], now=NOW)
    (control,) = [c for c in roll_up(findings, ruleset.rules_by_control()) if c.id == "A.2.2"]
    assert control.status.value == "fail"
    assert exit_code_for(findings) == 1


def test_supporting_evidence_alone_is_never_enough() -> None:
    only_supporting = RULES.replace('evidence "A.2.2-E1"', 'evidence "A.2.2-E4"')
    ruleset = build(only_supporting)
    findings = evaluate(ruleset, [ev("svc", "s1", {"on": True, "n": 5})], now=NOW)
    assert {f.status.value for f in findings} == {"pass"}
    (control,) = [c for c in roll_up(findings, ruleset.rules_by_control()) if c.id == "A.2.2"]
    assert control.status.value == "inconclusive"


def test_an_unknown_or_foreign_signal_is_a_compile_error() -> None:
    cases = (('"A.2.2-E9"', "did you mean `A.2.2-E4`?"), ('"A.2.3-E1"', "did you mean `A.2.2-E1`?"))
    for signal, hint in cases:
        (diagnostic,) = [d for d in diagnostics_of(RULES.replace('"A.2.2-E1"', signal)) if d.code == "E308"]
        assert "is not an evidence signal of control A.2.2" in diagnostic.message
        assert diagnostic.help is not None
        assert hint in diagnostic.help
