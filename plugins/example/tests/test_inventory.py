"""Tests of the inventory collector, written with annexa's testing kit as any plugin author would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import annexa_inventory

from annexa.plugins.testing import check_collector_spec

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

CSV = """System ID,Name,Owner,Purpose,Lifecycle Stage,Risk Level,Data Sources,Suppliers
fraud-scoring,Fraud scoring,risk-team,Score card payments,operation,high,payments;chargebacks,AcmeML
chatbot,Support bot,,Answer customers,deployment,medium,tickets,LLM Corp;Vector Inc
,Nameless,x,y,design,low,,
legacy,Legacy model,ops,Old scoring,sunset,low,,
"""


def test_spec_honours_the_contract(annexa_host, register_plugin):
    register_plugin(annexa_inventory, name="inventory")
    spec = annexa_host.collectors()["inventory"]
    check_collector_spec(spec)
    assert set(spec.kinds) == {"inventory.ai_system"}


def test_collects_csv_and_reports_bad_rows(tmp_path: Path, annexa_host, register_plugin, run_collector):
    register_plugin(annexa_inventory, name="inventory")
    (tmp_path / "systems.csv").write_text(CSV, encoding="utf-8")
    run = run_collector(
        annexa_host.collectors()["inventory"], config={"path": "systems.csv"}, base_path=tmp_path, now=NOW
    )
    run.assert_kinds({"inventory.ai_system": 4})  # two systems, and two bad rows kept as defective items
    fraud = run.by_source("inventory:fraud-scoring")
    assert fraud.data["data_sources"] == ["payments", "chargebacks"]
    assert fraud.scope == {"inventory": "systems.csv"}
    assert fraud.collected_at == NOW
    assert fraud.defect is None
    assert run.by_source("inventory:chatbot").data["owner"] is None
    # A bad row is never dropped in silence: rules over the inventory fail on it, citing the row.
    nameless = run.by_source("inventory:systems.csv row 4")
    assert (nameless.data, nameless.defect) == ({}, "systems.csv row 4: no system id")
    legacy = run.by_source("inventory:legacy")
    assert legacy.defect is not None
    assert legacy.defect.startswith("systems.csv row 5: unknown lifecycle stage 'sunset'")
    assert sorted((d.source, d.code) for d in run.diagnostics) == [
        ("systems.csv row 4", "source_problem"),
        ("systems.csv row 5", "source_problem"),
    ]
    assert "sunset" in run.diagnostics[1].message


def test_a_duplicate_id_is_a_defective_row(tmp_path: Path, annexa_host, register_plugin, run_collector):
    register_plugin(annexa_inventory, name="inventory")
    (tmp_path / "systems.csv").write_text(
        "system id,name,owner\nfraud,Fraud scoring,risk\nfraud,Fraud scoring v2,\n", encoding="utf-8"
    )
    run = run_collector(
        annexa_host.collectors()["inventory"], config={"path": "systems.csv"}, base_path=tmp_path, now=NOW
    )
    assert run.by_source("inventory:fraud").data["owner"] == "risk"
    duplicate = run.by_source("inventory:systems.csv row 3")
    assert duplicate.defect == "systems.csv row 3: system id 'fraud' appears more than once; kept the first"


def test_an_inventory_that_cannot_be_parsed_is_one_defective_item(
    tmp_path: Path, annexa_host, register_plugin, run_collector
):
    register_plugin(annexa_inventory, name="inventory")
    (tmp_path / "systems.yaml").write_text("systems:\n  - {id: triage, name: [unclosed\n", encoding="utf-8")
    run = run_collector(
        annexa_host.collectors()["inventory"], config={"path": "systems.yaml"}, base_path=tmp_path, now=NOW
    )
    [item] = run.evidence
    assert (item.kind, item.source, item.data) == ("inventory.ai_system", "inventory:systems.yaml", {})
    assert item.defect is not None
    assert item.defect.startswith("systems.yaml: not valid YAML: while parsing a flow sequence")
    assert [d.code for d in run.diagnostics] == ["source_problem"]


def test_collects_yaml(tmp_path: Path, annexa_host, register_plugin, run_collector):
    register_plugin(annexa_inventory, name="inventory")
    (tmp_path / "systems.yaml").write_text(
        "systems:\n"
        "  - {id: triage, name: Triage, owner: clinical-ai, purpose: Sort cases,\n"
        "     stage: operation, risk: high, data_sources: [ehr], suppliers: []}\n",
        encoding="utf-8",
    )
    run = run_collector(
        annexa_host.collectors()["inventory"], config={"path": "systems.yaml"}, base_path=tmp_path, now=NOW
    )
    run.assert_no_diagnostics()
    assert run.by_source("inventory:triage").data["risk_level"] == "high"


def test_missing_file_is_a_collector_error(tmp_path: Path, annexa_host, register_plugin, run_collector):
    register_plugin(annexa_inventory, name="inventory")
    run = run_collector(
        annexa_host.collectors()["inventory"], config={"path": "nope.csv"}, base_path=tmp_path, now=NOW
    )
    assert run.evidence == ()
    assert [d.code for d in run.diagnostics] == ["collector_error"]
    assert run.diagnostics[0].kinds == ("inventory.ai_system",)


def test_an_ai_systems_key_and_a_stage_named_the_organisation_s_way(
    tmp_path: Path, annexa_host, register_plugin, run_collector
):
    register_plugin(annexa_inventory, name="inventory")
    (tmp_path / "systems.yaml").write_text(
        "ai_systems:\n"
        "  - {id: triage, owner: clinical-ai, stage: operation}\n"
        "  - {id: chat, owner: support, lifecycle: production}\n",
        encoding="utf-8",
    )
    run = run_collector(
        annexa_host.collectors()["inventory"], config={"path": "systems.yaml"}, base_path=tmp_path, now=NOW
    )
    assert run.by_source("inventory:triage").defect is None
    chat = run.by_source("inventory:chat")
    assert chat.defect is not None
    assert chat.defect.endswith(
        "unknown lifecycle stage 'production' (expected one of design, development, "
        "verification, deployment, operation, retired); did you mean `operation`?"
    )
