"""`annexa scan --stream`: the evidence kept in a temporary file as it is stored, not in memory, and
evaluated a few kinds at a time. The scan records and reports what the scan in memory does."""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from annexa.app.scan import collect, compile_for, plan
from annexa.app.units import CollectedUnits, UnitFile
from annexa.app.wiring import kind_registry, make_host
from annexa.cli.main import main
from annexa.model.evidence import Evidence
from annexa.plugins.config import load_config
from annexa.store import open_store, verify_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = "2026-11-23T00:00:00Z"

# The demo estate's own folders (documents, attestations, model cards, the declared scope), its
# applicability and an exception, without the services (AWS, MLflow): their kinds are simply not collected.
# The governance folder is listed twice, so that every document comes from two tasks: kept once.
CONFIG = """\
version: 1
organization: Acme AI (stream test)
scope:
  ai_systems:
    - {id: fraud-scoring, name: Card fraud scoring, owner: Head of Payments Risk, lifecycle_stage: operation}
    - {id: support-chatbot, name: Customer support chatbot, owner: Support lead, lifecycle_stage: operation}
    - {id: pricing-engine, name: Pricing engine, owner: Head of Pricing, lifecycle_stage: design}
collectors:
  documents:
    sources:
      - path: ./governance
      - path: ./governance
  attestations:
    path: ./attestations
  modelcards:
    sources:
      - path: ./modelcards
rules:
  paths: ["builtin:annex_a"]
  params:
    review_period: 365d
applicability:
  - control: A.10.4
    applicable: false
    justification: No AI product or service is sold.
exceptions:
  - rule: A.5.3/impact_assessment_per_system
    subject: "scope:support-chatbot"
    justification: Reassessment scheduled.
    approved_by: Chief Risk Officer
    expires: 2027-03-31
store:
  path: ./store
"""


def estate(root: Path) -> Path:
    for folder in ("governance", "attestations", "modelcards"):
        shutil.copytree(EXAMPLES / folder, root / folder)
    config = root / "annexa.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def scan(capsys: pytest.CaptureFixture[str], config: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["scan", "-c", str(config), "--now", NOW, "--format", "json", "-q", *extra])
    out = capsys.readouterr().out
    assert out.strip(), f"scan printed nothing (exit {code})"
    return code, json.loads(out)


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """The result without what differs between any two scans: the scan's id (also in the history), manifest
    and store, and how long each collector took."""
    shown = {key: value for key, value in result.items() if key != "scan"}
    shown["history"] = [{k: v for k, v in entry.items() if k != "scan"} for entry in result["history"]]
    shown["collection"] = {
        **result["collection"],
        "runs": [{k: v for k, v in run.items() if k != "seconds"} for run in result["collection"]["runs"]],
    }
    return shown


def test_a_streamed_scan_records_and_reports_what_the_scan_in_memory_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole, streamed = estate(tmp_path / "whole"), estate(tmp_path / "streamed")
    code, result = scan(capsys, whole)
    streamed_code, streamed_result = scan(capsys, streamed, "--stream")
    assert streamed_code == code
    assert comparable(streamed_result) == comparable(result)
    statuses = {finding["status"] for finding in result["findings"]}
    assert {"pass", "fail", "inconclusive", "not_applicable"} <= statuses  # a test of something
    assert result["observations"], "the estate shows scope drift or stale evidence: compared above"
    waived = [f for f in result["findings"] if f["waiver"] is not None]
    assert waived
    assert all(f["subject"] == "scope:support-chatbot" for f in waived)
    with open_store(str(whole.parent / "store"), create=False) as one:
        record = one.load_scan().record
    with open_store(str(streamed.parent / "store"), create=False) as other:
        streamed_record = other.load_scan().record
        assert verify_store(other).ok
        stored = other.evidence_of(other.load_scan())
    assert streamed_record.findings == record.findings
    assert streamed_record.controls == record.controls
    assert streamed_record.collection == record.collection
    # Each item once, in the order the scan in memory records them, every one in the store.
    assert streamed_record.evidence_ids == record.evidence_ids
    assert len(set(record.evidence_ids)) == len(record.evidence_ids) == len({item.id for item in stored})
    documents = sum(1 for item in stored if item.kind == "document")
    runs = {run["collector"]: run for run in streamed_result["collection"]["runs"]}
    assert documents > 10
    assert runs["documents"]["items"] == 2 * documents  # both sources collected, each document kept once


def test_re_evaluating_a_streamed_scan_gives_its_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = estate(tmp_path)
    _, result = scan(capsys, config, "--stream")
    capsys.readouterr()
    again_path = tmp_path / "again.json"
    main(["evaluate", "--scan", "latest", "-c", str(config), "--format", "json", "-o", str(again_path)])
    again = json.loads(again_path.read_text(encoding="utf-8"))
    assert again["findings"] == result["findings"]


def test_collect_without_keeping_hands_every_item_over(tmp_path: Path) -> None:
    config_path = estate(tmp_path)
    host = make_host()
    config = load_config(config_path, host)
    ruleset = compile_for(config, host)
    planned = plan(ruleset, config, host.collectors())
    kept = collect(config, host, planned, now=_now(), fields=ruleset.fields_read)
    handed: list[Any] = []
    streamed = collect(
        config, host, planned, now=_now(), fields=ruleset.fields_read, on_evidence=handed.extend, keep=False
    )
    assert streamed.evidence == ()
    assert {item.id for item in handed} == {item.id for item in kept.evidence}
    assert streamed.redactions == kept.redactions
    assert streamed.collected == kept.collected
    with pytest.raises(ValueError, match="needs on_evidence"):
        collect(config, host, planned, now=_now(), keep=False)


def test_a_streamed_collection_leaves_no_collected_item_alive(tmp_path: Path) -> None:
    """Neither the executor (its finished tasks) nor the store (what it stored) holds the items a streamed
    scan hands over: what lets its memory not follow the evidence."""
    config_path = estate(tmp_path)
    host = make_host()
    config = load_config(config_path, host)
    ruleset = compile_for(config, host)
    planned = plan(ruleset, config, host.collectors())
    gc.collect()
    before = _documents_alive()
    with (
        open_store(str(tmp_path / "store")) as store,
        UnitFile(kind_registry(host), ruleset.fields_read, checked=True) as units,
    ):
        store.hold_stored(False)
        kept = CollectedUnits(units)
        handed: set[str] = set()  # the ids of the items handed over so far
        earlier_alive: list[int] = []  # as each task's items come in: how many handed over before live on

        def hand_over(items: tuple[Evidence, ...]) -> None:
            gc.collect()
            now_handed = {id(item) for item in items}  # the governance folder twice: the same ids again
            earlier_alive.append(
                sum(
                    1
                    for o in gc.get_objects()
                    if type(o) is Evidence and id(o) not in now_handed and o.id in handed
                )
            )
            kept.add(store.put_evidence(items))
            handed.update(item.id for item in items)

        collect(
            config, host, planned, now=_now(), fields=ruleset.fields_read, on_evidence=hand_over, keep=False
        )
        gc.collect()
        assert kept.tally.counts["document"] > 10
        assert len(earlier_alive) >= 3  # both document sources, the attestations, the model cards
        assert max(earlier_alive) == 0
        assert _documents_alive() <= before


def _documents_alive() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is Evidence and o.kind == "document")


def _now() -> Any:
    from annexa.model.evidence import parse_timestamp

    return parse_timestamp(NOW)
