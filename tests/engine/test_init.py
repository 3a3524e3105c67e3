"""`annexa init`: a scaffold with a draft for every expected document type, which a scan does not pass."""

from __future__ import annotations

import contextlib
import io
import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from annexa.app.scaffold import document_title, plan_scaffold
from annexa.cli.main import main
from annexa.contract.catalog import load_catalog

NOW = "2026-11-23T00:00:00Z"


def _rule_document_types() -> set[str]:
    """Every document type a rule of the built-in packs selects, read from the rule texts."""
    types: set[str] = set()
    for pack in ("annex_a", "annex_a/inventory", "clauses"):
        folder = resources.files("annexa.rules").joinpath(pack)
        for entry in folder.iterdir():
            if entry.name.endswith(".rule"):
                types |= set(re.findall(r'\.type == "([a-z0-9-]+)"', entry.read_text(encoding="utf-8")))
    return types


def test_the_catalog_lists_every_document_type_the_rules_select() -> None:
    """init scaffolds the catalog's expected documents: they must cover what the rules look for."""
    assert sorted(_rule_document_types() - set(load_catalog().expected_document_types())) == []


def test_scaffold_has_a_draft_for_every_expected_type(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path), "--organization", "Acme | AI"]) == 0
    expected = load_catalog().expected_document_types()
    written = sorted(path.stem for path in (tmp_path / "governance").glob("*.md"))
    assert written == sorted(expected)
    for doc_type in expected:
        text = (tmp_path / "governance" / f"{doc_type}.md").read_text(encoding="utf-8")
        front = yaml.safe_load(text.split("---\n")[1])
        assert front["type"] == doc_type
        assert front["status"] == "draft"
        assert front["approver"] is None
        assert "TODO" in text
    assert (tmp_path / "attestations").is_dir()
    config = yaml.safe_load((tmp_path / "annexa.yaml").read_text(encoding="utf-8"))
    assert config["organization"] == "Acme | AI"
    assert config["rules"]["paths"] == ["builtin:annex_a", "builtin:clauses"]


def test_first_scan_of_the_scaffold_shows_what_is_still_to_do(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path)]) == 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["scan", "-c", str(tmp_path / "annexa.yaml"), "--now", NOW, "--format", "json"])
    result = json.loads(out.getvalue())
    assert code == 1
    assert result["collection"]["problems"] == []  # every template reads cleanly
    statuses = {c["id"]: c["status"] for c in result["controls"]}
    assert "pass" not in statuses.values()
    assert sum(1 for status in statuses.values() if status == "fail") >= 30
    schema = json.loads(
        resources.files("annexa").joinpath("data/result.schema.json").read_text(encoding="utf-8")
    )
    jsonschema.Draft202012Validator(schema).validate(result)  # the clauses list is part of the contract
    assert [c["group"] for c in result["clauses"]] == ["CL"] * len(load_catalog().clause_ids)
    assert {c["id"]: c["status"] for c in result["clauses"]} == dict.fromkeys(
        load_catalog().clause_ids, "fail"
    )


def test_controls_lists_the_clauses_apart_after_a_scan_of_the_scaffold(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path)]) == 0
    config = str(tmp_path / "annexa.yaml")
    with contextlib.redirect_stdout(io.StringIO()):
        main(["scan", "-c", config, "--now", NOW])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["controls", "-c", config, "--format", "json"]) == 0
    payload = json.loads(out.getvalue())
    assert len(payload["controls"]) == 38
    assert [(c["id"], c["status"]) for c in payload["clauses"]] == [
        (clause_id, "fail") for clause_id in load_catalog().clause_ids
    ]


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "governance").mkdir()
    mine = tmp_path / "governance" / "ai-policy.md"
    mine.write_text("my real policy\n", encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["init", str(tmp_path)]) == 4
    assert "governance/ai-policy.md" in err.getvalue()
    assert "nothing was written" in err.getvalue()
    assert mine.read_text(encoding="utf-8") == "my real policy\n"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["ai-policy.md"]


def test_plan_is_sorted_and_titles_read_well() -> None:
    paths = [planned.path for planned in plan_scaffold("X")]
    assert paths == sorted(paths)
    assert document_title("ai-risk-register") == "AI risk register"
    assert document_title("aims-scope") == "AIMS scope"
    assert document_title("competence-matrix") == "Competence matrix"


def test_each_template_carries_the_metadata_the_contract_declares_for_its_type() -> None:
    from annexa.app.scaffold import plan_scaffold
    from annexa.contract.fields import load_contract

    contract = load_contract()
    checked = 0
    for planned in plan_scaffold("Acme"):
        if not planned.path.startswith("governance/"):
            continue
        front = yaml.safe_load(planned.text.split("---")[1])
        declared = contract.document_type(front["type"])
        for field in declared.fields if declared else ():
            assert field.name in front, (planned.path, field.name)
            assert front[field.name] is None, (planned.path, field.name)  # a draft fills nothing in
            checked += 1
    assert checked >= 30
