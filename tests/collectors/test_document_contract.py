"""A document's type-specific metadata, read as the evidence contract declares it (issue 16).

The fields the contract declares for the document's type go to ``metadata``, each present (null when not
given); a value of another type or outside the allowed values is a problem line on the item, with "did
you mean" for values, and is read as not given (kept as written in ``extra``), never silently accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from annexa.collectors import docstore
from annexa.collectors.docstore.schema import DOCUMENT_SCHEMA
from annexa.contract.kinds import KindRegistry
from annexa.contract.yamlsrc import parse_yaml
from annexa.model.diagnostics import DiagnosticError
from annexa.plugins import CollectorSpec, load_contract
from annexa.plugins.config import config_from_document

SPEC: CollectorSpec = next(iter(docstore.annexa_collectors()))
KINDS = KindRegistry({"document": DOCUMENT_SCHEMA})


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def collect(kit: Any, root: Path, **config: Any) -> Any:
    run = kit.run(SPEC, {"sources": [{"path": root.name}], **config}, base_path=root.parent)
    for item in run.evidence:  # whatever was read, the item is valid against the document kind's schema
        assert KINDS.validate(item) == [], item.source
    return run


HEAD = "---\nid: X-1\nstatus: approved\nowner: Risk\napprover: Board\n"

REQUIRED = "metadata required by the evidence contract is not given"


def others(run: Any) -> list[str]:
    """The run's problem lines but those on required metadata not given (tested on their own below)."""
    return [message for message in run.messages() if REQUIRED not in message]


def test_declared_fields_go_to_metadata_each_present_the_rest_to_extra(kit: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "gov" / "record.md",
        f"{HEAD}type: ai-system-record\nsuppliers: [OpenAI]\nuse_approved_on: 2026-03-12\n"
        "cost_centre: CC-12\n---\n# Record\n",
    )
    run = collect(kit, tmp_path / "gov")
    [item] = run.evidence
    declared = [f.name for f in load_contract().document_type("ai-system-record").fields]  # type: ignore[union-attr]
    assert list(item.data["metadata"]) == declared
    assert item.data["metadata"]["suppliers"] == ["OpenAI"]
    assert item.data["metadata"]["use_approved_on"] == "2026-03-12"
    assert item.data["metadata"]["accountable_executive"] is None  # not given
    assert item.data["extra"] == {"cost_centre": "CC-12"}
    assert others(run) == []


def test_a_type_without_declared_metadata_has_an_empty_metadata(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "gov" / "p.md", f"{HEAD}type: ai-policy\nsuppliers: [OpenAI]\n---\n# P\n")
    [item] = collect(kit, tmp_path / "gov").evidence
    # suppliers is metadata of ai-system-record, not of an ai-policy: kept as the policy's own key
    assert (item.data["metadata"], item.data["extra"]) == ({}, {"suppliers": ["OpenAI"]})


def test_a_value_outside_the_allowed_values_is_told_with_did_you_mean_and_not_given(
    kit: Any, tmp_path: Path
) -> None:
    write(tmp_path / "gov" / "vv.md", f"{HEAD}type: ai-vv-report\nresult: passed\n---\n# V\n")
    write(tmp_path / "gov" / "obj.md", f"{HEAD}type: ai-objectives\nscope: [development, usage]\n---\n# O\n")
    run = collect(kit, tmp_path / "gov")
    items = run.by_path()
    assert items["vv.md"].data["metadata"] == {"result": None}
    assert items["vv.md"].data["extra"] == {"result": "passed"}  # as written, for the reader
    assert items["obj.md"].data["metadata"] == {"scope": None}  # one wrong value: the list is not given
    assert others(run) == [
        "obj.md: line 7: key 'scope': scope 'usage' is not one of development, use; did you mean 'use'? If "
        "'usage' means use here, say so with collectors.documents.value_aliases: {scope: {'usage': use}}; "
        "read as not given",
        "vv.md: line 7: key 'result': result 'passed' is not one of pass, fail; did you mean 'pass'? If "
        "'passed' means pass here, say so with collectors.documents.value_aliases: "
        "{result: {'passed': pass}}; read as not given",
    ]


def test_value_aliases_and_spelling_of_allowed_values(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "gov" / "vv.md", f"{HEAD}type: ai-vv-report\nresult: Passed\n---\n# V\n")
    write(
        tmp_path / "gov" / "aia.md",
        f"{HEAD}type: ai-impact-assessment\nsocietal_impact: Not significant\n---\n",
    )
    run = collect(kit, tmp_path / "gov", value_aliases={"result": {"passed": "pass"}})
    items = run.by_path()
    assert items["vv.md"].data["metadata"]["result"] == "pass"
    assert items["aia.md"].data["metadata"]["societal_impact"] == "not_significant"  # case and spacing
    assert others(run) == []


def test_values_of_another_type_are_told_and_not_given(kit: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "gov" / "record.md",
        f"{HEAD}type: ai-system-record\naccountable_executive: [CEO, CFO]\nuse_approved_on: soon\n"
        "suppliers: {OpenAI: hosting}\nintended_use: 42\n---\n# R\n",
    )
    write(
        tmp_path / "gov" / "sa.md",
        f"{HEAD}type: supplier-assessment\nsupplier: OpenAI\nai_requirements_in_contract: maybe\n---\n",
    )
    write(
        tmp_path / "gov" / "tpr.md",
        f"{HEAD}type: third-party-responsibility-matrix\nentries:\n- {{party: [A, B], responsibilities: x}}\n"
        "- {party: OpenAI, responsibilities: hosting}\n---\n",
    )
    run = collect(kit, tmp_path / "gov")
    items = run.by_path()
    record = items["record.md"].data
    assert record["metadata"]["accountable_executive"] is None
    assert record["metadata"]["use_approved_on"] is None
    assert record["metadata"]["suppliers"] is None
    assert record["metadata"]["intended_use"] == "42"  # a number written where text is asked is its text
    assert record["extra"] == {
        "accountable_executive": ["CEO", "CFO"],
        "suppliers": {"OpenAI": "hosting"},
        "use_approved_on": "soon",
    }
    assert items["sa.md"].data["metadata"]["ai_requirements_in_contract"] is None
    # One entry's member of the wrong type is not given; the other entries stay.
    assert items["tpr.md"].data["metadata"]["entries"] == [
        {"party": None, "responsibilities": "x"},
        {"party": "OpenAI", "responsibilities": "hosting"},
    ]
    assert others(run) == [
        "record.md: line 7: key 'accountable_executive': accountable_executive must be a single text value, "
        "not a list; read as not given",
        "record.md: line 8: key 'use_approved_on': use_approved_on 'soon' is not a date "
        "(expected YYYY-MM-DD); read as not given",
        "record.md: line 9: key 'suppliers': suppliers must be a list of text values, not a mapping; read as "
        "not given",
        "sa.md: line 8: key 'ai_requirements_in_contract': ai_requirements_in_contract 'maybe' is not true "
        "or false; read as not given",
        "tpr.md: line 7: key 'entries': entries[0].party must be a single text value, not a list; "
        "read as not given",
    ]


def test_office_properties_are_read_as_declared(kit: Any, tmp_path: Path) -> None:
    """DOCX custom properties and PDF keys hold text: "true", a date in words and a comma list are read as
    the boolean, date and list the contract declares."""
    kit.make_docx(
        tmp_path / "gov" / "sa.docx",
        core={"title": "SA", "category": "supplier-assessment", "content_status": "approved"},
        custom={
            "Owner": ("lpwstr", "Procurement"),
            "Supplier": ("lpwstr", "OpenAI"),
            "AI Requirements In Contract": ("lpwstr", "Yes"),
        },
    )
    kit.make_pdf(
        tmp_path / "gov" / "rec.pdf",
        {"/DocType": "ai-system-record", "/Status": "approved", "/Suppliers": "OpenAI, LabelCo",
         "/UseApprovedOn": "12 March 2026", "/Title": "R"},
    )  # fmt: skip
    run = collect(kit, tmp_path / "gov")
    items = run.by_path()
    assert items["sa.docx"].data["metadata"] == {"supplier": "OpenAI", "ai_requirements_in_contract": True}
    rec = items["rec.pdf"].data["metadata"]
    assert (rec["suppliers"], rec["use_approved_on"]) == (["OpenAI", "LabelCo"], "2026-03-12")


def test_field_map_names_type_specific_fields_and_near_misses_are_told(kit: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "gov" / "record.md",
        f"{HEAD}type: ai-system-record\nexec_sponsor: COO\nacountable_executive: CEO\n---\n# R\n",
    )
    run = collect(kit, tmp_path / "gov", field_map={"exec_sponsor": "accountable_executive"})
    [item] = run.evidence
    assert item.data["metadata"]["accountable_executive"] == "COO"
    assert others(run) == [
        "record.md: line 8: key 'acountable_executive' is not metadata the evidence contract declares for "
        "ai-system-record: did you mean 'accountable_executive'? It is kept in extra, which no rule reads: "
        "rename it, or map it with collectors.documents.field_map"
    ]


def test_a_document_type_is_read_as_the_rules_know_it(kit: Any, tmp_path: Path) -> None:
    """Case and separators are spelling; a near miss of a known type is told, never guessed; an
    organisation's own type is kept as written without a word."""
    write(tmp_path / "gov" / "a.md", f"{HEAD}type: AI System Record\nsuppliers: []\n---\n# A\n")
    write(tmp_path / "gov" / "b.md", f"{HEAD}type: ai_vv_report\nresult: pass\n---\n# B\n")
    write(tmp_path / "gov" / "c.md", f"{HEAD}type: ai-system-recrd\nsuppliers: []\n---\n# C\n")
    write(tmp_path / "gov" / "d.md", f"{HEAD}type: board-minutes\n---\n# D\n")
    run = collect(kit, tmp_path / "gov")
    items = run.by_path()
    assert items["a.md"].data["type"] == "ai-system-record"
    assert items["a.md"].data["metadata"]["suppliers"] == []
    assert (items["b.md"].data["type"], items["b.md"].data["metadata"]) == (
        "ai-vv-report",
        {"result": "pass"},
    )
    assert items["c.md"].data["type"] == "ai-system-recrd"
    assert items["c.md"].data["extra"] == {"suppliers": []}
    assert items["d.md"].data["type"] == "board-minutes"
    assert others(run) == [
        "c.md: line 6: type 'ai-system-recrd' is not a document type the rules know: did you mean "
        "'ai-system-record'? If 'ai-system-recrd' means ai-system-record here, say so with "
        "collectors.documents.value_aliases: {type: {'ai-system-recrd': ai-system-record}}"
    ]


def test_a_renamed_type_is_read_as_its_new_name_with_a_note(kit: Any, tmp_path: Path) -> None:
    """A type annexa once named otherwise (before it took the reference catalog's names) still counts, as
    the new type, and the user is told to rename it."""
    write(tmp_path / "gov" / "m.md", f"{HEAD}type: AI Risk Assessment Procedure\n---\n# M\n")
    write(tmp_path / "gov" / "n.md", f"{HEAD}type: nonconformity-register\n---\n# N\n")
    run = collect(kit, tmp_path / "gov")
    items = run.by_path()
    assert items["m.md"].data["type"] == "ai-risk-assessment-methodology"
    assert items["n.md"].data["type"] == "nonconformity-record"
    assert others(run) == [
        "m.md: line 6: type 'AI Risk Assessment Procedure' was renamed 'ai-risk-assessment-methodology' (the "
        "reference catalog's name): read as ai-risk-assessment-methodology; rename it in the document, or "
        "map it with collectors.documents.value_aliases",
        "n.md: line 6: type 'nonconformity-register' was renamed 'nonconformity-record' (the reference "
        "catalog's name): read as nonconformity-record; rename it in the document, or map it with "
        "collectors.documents.value_aliases",
    ]


def test_required_metadata_not_given_is_one_problem_line_on_the_document(kit: Any, tmp_path: Path) -> None:
    """Issue 16: a document of a type whose required metadata is missing says so on its own item (one
    line naming each missing field); a field given but unreadable is told by its own line, not twice."""
    write(
        tmp_path / "gov" / "record.md",
        f"{HEAD}type: ai-system-record\naccountable_executive: CRO\nintended_use: Triage\n"
        "out_of_scope_use: Credit decisions\nuse_approved_by: Board\nuse_approved_on: soon\n---\n# R\n",
    )
    write(
        tmp_path / "gov" / "plan.md", f"{HEAD}type: ai-incident-communication-plan\nchannels: [email]\n---\n"
    )
    write(tmp_path / "gov" / "policy.md", f"{HEAD}type: ai-policy\n---\n# P\n")  # nothing type-specific
    write(tmp_path / "gov" / "draft.md", "---\nid: X-2\nstatus: draft\nowner: Risk\n---\n# D\n")  # no type
    run = collect(kit, tmp_path / "gov")
    assert [m for m in run.messages() if REQUIRED in m] == [
        "plan.md: ai-incident-communication-plan metadata required by the evidence contract is not given: "
        "audiences, timelines; the rules that read it cannot pass without it (docs/evidence.md lists each "
        "field)",
        "record.md: ai-system-record metadata required by the evidence contract is not given: data_sources, "
        "suppliers; the rules that read it cannot pass without it (docs/evidence.md lists each field)",
    ]
    assert others(run) == [
        "record.md: line 11: key 'use_approved_on': use_approved_on 'soon' is not a date (expected "
        "YYYY-MM-DD); read as not given"
    ]


def test_value_aliases_of_a_closed_field_map_onto_its_allowed_values() -> None:
    text = (
        "version: 1\ncollectors:\n  documents:\n    sources: [{path: gov}]\n"
        "    value_aliases:\n      result: {passed: passd}\n"
    )
    with pytest.raises(DiagnosticError) as caught:
        config_from_document(parse_yaml(text, "annexa.yaml"), {"documents": SPEC})
    (problem,) = caught.value.diagnostics
    assert problem.message == (
        "`collectors.documents.value_aliases.result.passed`: expected one of `pass`, `fail`, found `passd`"
    )
