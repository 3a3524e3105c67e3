"""The declared scope (clause 4.3): inline in annexa.yaml or from an inventory file named as authoritative.

A scope that is missing, empty or broken is never a smaller scope: every per-system rule becomes
inconclusive with the reason (verdicts.md, "Where the set of subjects comes from").
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from annexa.app.scan import UNDECLARED_SCOPE, collect, plan, policy_warnings
from annexa.app.wiring import compile_pack, kind_registry, make_host
from annexa.collectors import scope
from annexa.contract.yamlsrc import load_yaml
from annexa.model.diagnostics import DiagnosticError
from annexa.model.findings import Status
from annexa.plugins import CollectorSpec
from annexa.plugins.config import config_from_document
from annexa.plugins.testing import execute_collector

SPEC: CollectorSpec = next(iter(scope.annexa_collectors()))
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SYSTEMS = [
    {"id": "fraud-scoring", "name": "Fraud scoring", "owner": "Head of Risk", "lifecycle_stage": "operation"},
    {"id": "chatbot", "owner": "Head of Support", "lifecycle_stage": "deployment"},
]


def test_inline_systems_become_one_item_each() -> None:
    run = execute_collector(SPEC, config={"ai_systems": SYSTEMS}, now=NOW)
    assert [(i.kind, i.source) for i in run.evidence] == [
        ("ai_system", "scope:fraud-scoring"),
        ("ai_system", "scope:chatbot"),
    ]
    assert dict(run.by_source("scope:chatbot").data) == {
        "id": "chatbot",
        "name": None,
        "owner": "Head of Support",
        "lifecycle_stage": "deployment",
        "declared_in": "annexa.yaml",
    }


def test_a_csv_inventory_with_other_header_names(tmp_path: Path) -> None:
    (tmp_path / "systems.csv").write_text(
        "System ID,Name,Owner,Stage\nfraud-scoring,Fraud scoring,Head of Risk,Operation\n", encoding="utf-8"
    )
    run = execute_collector(SPEC, config={"inventory": "systems.csv"}, base_path=tmp_path, now=NOW)
    (item,) = run.evidence
    assert dict(item.data) == {
        "id": "fraud-scoring",
        "name": "Fraud scoring",
        "owner": "Head of Risk",
        "lifecycle_stage": "operation",
        "declared_in": "systems.csv",
    }


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("missing.yaml", None, "the scope inventory missing.yaml does not exist"),
        ("empty.yaml", "ai_systems: []\n", "the scope source empty.yaml declares no AI system"),
        ("bad.yaml", "ai_systems: [a: b: c]\n", "the scope inventory bad.yaml is not valid YAML"),
        ("flat.yaml", "just a string\n", "must be a list of AI systems"),
        (
            "row.csv",
            "id,owner,lifecycle_stage\nfraud,Risk,operation\n,Support,operation\n",
            "row.csv row 3 names no AI system id",
        ),
        (
            "stage.yaml",
            "- {id: fraud, owner: Risk, lifecycle: production}\n",
            "stage.yaml entry 1 (fraud): unknown lifecycle stage 'production' (expected one of design, "
            "development, verification, deployment, operation, retired); did you mean `operation`?",
        ),
        (
            "twice.yaml",
            "- {id: a, owner: o, stage: design}\n- {id: a, owner: p, stage: design}\n",
            "declares a twice",
        ),
        ("owner.yaml", "- {id: a, stage: design}\n", "entry 1 (a) names no owner"),
    ],
)
def test_a_broken_inventory_fails_the_whole_scope(
    tmp_path: Path, name: str, text: str | None, reason: str
) -> None:
    if text is not None:
        (tmp_path / name).write_text(text, encoding="utf-8")
    run = execute_collector(SPEC, config={"inventory": name}, base_path=tmp_path, now=NOW)
    assert run.evidence == ()
    (problem,) = run.diagnostics
    assert problem.code == "collector_error"
    assert reason in problem.message


PER_SYSTEM_RULE = """
control A.5.3 "Documentation of AI system impact assessments" {
  rule assessed "Every AI system in scope has an impact assessment" {
    for each s in ai_system
    require exists d in document where d.type == "ai-impact-assessment" and s.id in d.ai_systems
    message "no impact assessment lists {s.id}"
  }
}
"""


def scan_statuses(tmp_path: Path, config_text: str) -> tuple[dict[str | None, Any], list[str]]:
    """Collect and evaluate one per-system rule over an empty governance folder."""
    (tmp_path / "governance").mkdir(exist_ok=True)
    (tmp_path / "a_5_3.rule").write_text(PER_SYSTEM_RULE, encoding="utf-8")
    path = tmp_path / "annexa.yaml"
    path.write_text(textwrap.dedent(config_text), encoding="utf-8")
    host = make_host(autoload=False)
    config = config_from_document(load_yaml(path), host.collectors())
    ruleset = compile_pack([str(tmp_path / "a_5_3.rule")], kind_registry(host))
    planned = plan(ruleset, config, host.collectors())
    collection = collect(config, host, planned, now=NOW, fields=ruleset.fields_read)
    from annexa.lang.language import evaluate

    findings = evaluate(ruleset, collection.evidence, now=NOW, collected=collection.collected)
    return {f.subject: (f.status, f.message) for f in findings}, policy_warnings(config, ruleset)


CONFIG = """\
version: 1
collectors:
  documents: {sources: [{path: ./governance}]}
"""


def test_a_declared_system_without_its_evidence_fails_on_that_system(tmp_path: Path) -> None:
    found, warnings = scan_statuses(
        tmp_path,
        CONFIG + "scope:\n  ai_systems:\n    - {id: chatbot, owner: Support, lifecycle_stage: operation}\n",
    )
    assert found == {"scope:chatbot": (Status.FAIL, "no impact assessment lists chatbot")}
    assert warnings == []


def test_without_a_declared_scope_per_system_rules_are_inconclusive_and_say_why_once(tmp_path: Path) -> None:
    found, warnings = scan_statuses(tmp_path, CONFIG)
    assert found == {None: (Status.INCONCLUSIVE, f"evidence not collected (ai_system: {UNDECLARED_SCOPE})")}
    assert len(warnings) == 1
    assert "1 per-system rule(s) are inconclusive: no AI system scope is declared" in warnings[0]


def test_a_broken_scope_source_makes_per_system_rules_inconclusive(tmp_path: Path) -> None:
    found, _ = scan_statuses(tmp_path, CONFIG + "scope: {inventory: ./nowhere.csv}\n")
    ((status, message),) = found.values()
    assert status is Status.INCONCLUSIVE
    assert "the scope inventory ./nowhere.csv does not exist" in message


def test_scope_is_a_top_level_section_not_a_collector(tmp_path: Path) -> None:
    path = tmp_path / "annexa.yaml"
    path.write_text("version: 1\ncollectors:\n  scope: {inventory: x.csv}\n", encoding="utf-8")
    with pytest.raises(DiagnosticError) as caught:
        config_from_document(load_yaml(path), make_host(autoload=False).collectors())
    assert "scope" in caught.value.render()
    path.write_text(
        "version: 1\nscope: {ai_systems: [{id: a, owner: o, lifecycle_stage: live}]}\n", encoding="utf-8"
    )
    with pytest.raises(DiagnosticError) as caught:
        config_from_document(load_yaml(path), make_host(autoload=False).collectors())
    assert "lifecycle_stage" in caught.value.render()
