"""`annexa controls` and the catalog data behind it: rules, derived automation level, mappings, status."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from annexa.audit.coverage import Automation, automation_level
from annexa.cli.main import main
from annexa.contract.catalog import load_catalog

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = "2026-11-23T00:00:00Z"


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


@pytest.mark.parametrize(
    ("kinds", "level"),
    [
        ({"document", "aws.sagemaker.endpoint"}, Automation.MACHINE),
        ({"mlflow.model_version"}, Automation.MACHINE),
        ({"document", "attestation"}, Automation.DOCUMENTS),
        ({"attestation"}, Automation.ATTESTATION),
        (set(), Automation.NONE),
    ],
)
def test_automation_level_follows_the_evidence_kinds(kinds: set[str], level: Automation) -> None:
    assert automation_level(kinds) is level


def test_without_configuration_the_builtin_pack_is_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no annexa.yaml here
    code, text = _run("controls", "--format", "json")
    assert code == 0
    payload = json.loads(text)
    assert payload["scan"] is None
    rows = payload["controls"]
    assert [row["id"] for row in rows] == list(load_catalog().ids)
    assert all(row["rules"] for row in rows), "every Annex A control is covered by the built-in pack"
    assert all(row["status"] is None for row in rows)
    for row in rows:
        assert row["automation"] == automation_level(row["kinds"]).value
        assert all(rule.startswith(row["id"] + "/") for rule in row["rules"])
    a_3_3 = next(row for row in rows if row["id"] == "A.3.3")
    assert "attestation" in a_3_3["kinds"]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("controls") / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("out", "__pycache__"))
    _, text = _run("scan", "-c", str(root / "annexa.yaml"), "--now", NOW, "--format", "json")
    return root, json.loads(text)


def test_after_a_scan_each_control_shows_its_latest_status(scanned: tuple[Path, dict[str, Any]]) -> None:
    root, result = scanned
    code, text = _run("controls", "-c", str(root / "annexa.yaml"), "--format", "json")
    assert code == 0
    payload = json.loads(text)
    assert payload["scan"] == result["scan"]["id"]
    assert {row["id"]: row["status"] for row in payload["controls"]} == {
        c["id"]: c["status"] for c in result["controls"]
    }


def test_text_output_has_one_line_per_control(scanned: tuple[Path, dict[str, Any]]) -> None:
    root, _ = scanned
    code, text = _run("controls", "-c", str(root / "annexa.yaml"))
    assert code == 0
    lines = [line for line in text.splitlines() if line.startswith("A.")]
    assert len(lines) == 38
    assert any(line.startswith("A.10.4") and " N/A " in line for line in lines)
    assert "status: latest scan " in text


def test_every_control_maps_to_both_frameworks_with_known_items() -> None:
    catalog = load_catalog()
    assert set(catalog.frameworks) == {"eu-ai-act", "nist-ai-rmf"}
    for control in catalog.controls:
        frameworks = {m.framework for m in control.mappings}
        assert frameworks == {"eu-ai-act", "nist-ai-rmf"}, control.id
        for mapping in control.mappings:
            assert mapping.relationship in ("supports", "related"), (control.id, mapping)
            assert mapping.source in catalog.mapping_sources
            assert mapping.title
    nist = {m.item for c in catalog.controls for m in c.mappings if m.framework == "nist-ai-rmf"}
    assert nist == {"GOVERN", "MAP", "MEASURE", "MANAGE"}


def test_clauses_are_kept_apart_from_annex_a() -> None:
    catalog = load_catalog()
    assert len(catalog.ids) == 38
    assert all(clause_id.startswith("CL.") for clause_id in catalog.clause_ids)
    assert not set(catalog.ids) & set(catalog.clause_ids)
    assert set(catalog.rule_target_ids) == set(catalog.ids) | set(catalog.clause_ids)
