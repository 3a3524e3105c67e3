"""The evidence contract (issue 16): rules read only document metadata it declares, docs/evidence.md is
generated from it and the compiled pack, and it agrees with the reference catalog."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from annexa.app.contract_docs import metadata_readers, render_markdown, uncatalogued_fields
from annexa.app.scaffold import plan_scaffold
from annexa.app.wiring import compile_pack, kind_registry, make_host
from annexa.contract.fields import load_contract
from annexa.contract.kinds import KindRegistry
from annexa.lang.language import compile_rules
from annexa.lang.ruleset import RuleSet, RuleSource
from annexa.model.diagnostics import DiagnosticError, Level

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT.parent / "shared" / "reference" / "annex_a_catalog.yaml"
DOCS = ROOT / "docs" / "evidence.md"


@pytest.fixture(scope="module")
def kinds() -> KindRegistry:
    return kind_registry(make_host(autoload=False))


@pytest.fixture(scope="module")
def pack(kinds: KindRegistry) -> RuleSet:
    return compile_pack([], kinds, {}, make_host(autoload=False))


def rule(read: str, where: str = 'd.type == "ai-system-record"') -> str:
    return f"""
control A.3.2 "AI roles and responsibilities" {{
  rule executive_named "An AI system record names its accountable executive" {{
    require exists d in document where {where} and {read} matches "\\\\S"
    message "no record names an accountable executive"
  }}
}}
"""


def test_the_builtin_pack_reads_only_declared_metadata(pack: RuleSet) -> None:
    assert not [d for d in pack.diagnostics if d.code in ("E309", "W403")]
    read = {pair for r in pack.rules for pair in r.metadata}
    assert ("ai-system-record", "accountable_executive") in read
    assert ("ai-impact-assessment", "impacts.societal") in read
    assert ("third-party-responsibility-matrix", "entries[].party") in read
    assert all(doc_type for doc_type, _ in read), "every builtin metadata read selects its document type"


def test_the_builtin_pack_reads_no_extra_field() -> None:
    rules = sorted((ROOT / "rules" / "annex_a").rglob("*.rule"))
    assert rules
    assert not [
        (p.name, n) for p in rules for n, line in enumerate(p.read_text().splitlines(), 1) if ".extra" in line
    ]


def test_metadata_is_typed_from_the_contract(kinds: KindRegistry) -> None:
    """``d.metadata.suppliers`` is a list of strings to the checker: a clash is a type error, and a name no
    document type declares is an unknown field."""
    with pytest.raises(DiagnosticError) as caught:
        compile_rules([RuleSource("mine/a_3_2.rule", rule("d.metadata.suppliers"))], kinds)
    assert "E203" in {d.code for d in caught.value.diagnostics}
    with pytest.raises(DiagnosticError) as caught:
        compile_rules([RuleSource("mine/a_3_2.rule", rule("d.metadata.no_such_field"))], kinds)
    assert "E201" in {d.code for d in caught.value.diagnostics}


def test_a_misspelt_field_in_the_builtin_pack_is_an_error_with_did_you_mean(kinds: KindRegistry) -> None:
    source = RuleSource("builtin:annex_a/a_3_2.rule", rule('d.metadata["acountable_executive"]'))
    with pytest.raises(DiagnosticError) as caught:
        compile_rules([source], kinds)
    codes = {d.code for d in caught.value.diagnostics}
    assert "E201" in codes  # no document type declares it: the metadata object has no such field
    (problem,) = [d for d in caught.value.diagnostics if d.code == "E201"]
    assert "did you mean `accountable_executive`?" in (problem.help or "")
    assert (problem.span.path, problem.span.start.line) == ("builtin:annex_a/a_3_2.rule", 4)


def test_a_field_of_another_type_is_an_error_in_the_pack_and_a_warning_outside(kinds: KindRegistry) -> None:
    # `supplier` is declared for supplier-assessment, not for the ai-system-record the rule selects
    with pytest.raises(DiagnosticError) as caught:
        compile_rules([RuleSource("builtin:annex_a/a_3_2.rule", rule("d.metadata.supplier"))], kinds)
    (problem,) = [d for d in caught.value.diagnostics if d.code == "E309"]
    assert problem.level is Level.ERROR
    assert "ai-system-record" in problem.message
    assert "did you mean `suppliers`?" in (problem.help or "")
    ruleset = compile_rules([RuleSource("mine/a_3_2.rule", rule("d.metadata.supplier"))], kinds)
    assert [d.code for d in ruleset.diagnostics] == ["W403"]


def test_any_read_of_extra_in_the_builtin_pack_is_an_error(kinds: KindRegistry) -> None:
    with pytest.raises(DiagnosticError) as caught:
        compile_rules(
            [RuleSource("builtin:annex_a/a_3_2.rule", rule('d.extra["accountable_executive"]'))], kinds
        )
    (problem,) = [d for d in caught.value.diagnostics if d.code == "E309"]
    assert problem.help == "read it as `.metadata.accountable_executive`"
    with pytest.raises(DiagnosticError) as caught:
        compile_rules([RuleSource("builtin:annex_a/a_3_2.rule", rule('d.extra["cost_centre"]'))], kinds)
    (problem,) = [d for d in caught.value.diagnostics if d.code == "E309"]
    assert "never reads" in problem.message
    # A third party's rule may read its organisation's own keys, with a warning that the contract does
    # not declare them.
    ruleset = compile_rules([RuleSource("mine/a_3_2.rule", rule('d.extra["cost_centre"]'))], kinds)
    assert [d.code for d in ruleset.diagnostics] == ["W403"]


def test_without_a_type_any_declared_type_will_do(kinds: KindRegistry) -> None:
    ok = compile_rules(
        [RuleSource("builtin:x/a_3_2.rule", rule("d.metadata.supplier", 'd.status == "approved"'))], kinds
    )
    assert ok.rules[0].metadata == frozenset({("", "supplier")})
    with pytest.raises(DiagnosticError, match="E309"):
        # declared for supplier-assessment, not for the type the rule selects
        compile_rules([RuleSource("builtin:x/a_3_2.rule", rule("d.metadata.supplier"))], kinds)


def test_common_fields_and_nested_members(kinds: KindRegistry) -> None:
    with pytest.raises(DiagnosticError) as caught:
        compile_rules([RuleSource("builtin:x/a_3_2.rule", rule('d.extra["owner"]'))], kinds)
    assert "read it as `.owner`" in (caught.value.diagnostics[0].help or "")
    where = 'd.type == "ai-impact-assessment"'
    with pytest.raises(DiagnosticError) as caught:
        compile_rules([RuleSource("builtin:x/a_3_2.rule", rule("d.metadata.impacts.societl", where))], kinds)
    assert "did you mean `societal`?" in (caught.value.diagnostics[0].help or "")


def test_readers_are_computed_from_the_pack(pack: RuleSet) -> None:
    contract = load_contract()
    assert metadata_readers(pack, contract, "ai-system-record", "intended_use") == (
        "A.9.4/intended_use_documented",
    )
    assert metadata_readers(pack, contract, "ai-impact-assessment", "impacts") == (
        "A.5.4/individuals_assessed",
        "A.5.5/societal_impacts_assessed",
    )


def test_every_declared_field_is_read_or_named_by_the_catalog(pack: RuleSet) -> None:
    contract = load_contract()
    idle = [
        (t.name, f.name)
        for t in contract.document_types
        for f in t.fields
        if not f.catalog and not metadata_readers(pack, contract, t.name, f.name)
    ]
    assert not idle


def test_docs_evidence_md_is_current(kinds: KindRegistry, pack: RuleSet) -> None:
    expected = render_markdown(load_contract(), kinds, pack)
    assert DOCS.read_text(encoding="utf-8") == expected, "regenerate: annexa contract > docs/evidence.md"


@pytest.mark.skipif(not CATALOG.is_file(), reason="the reference catalog is not next to this checkout")
def test_the_contract_agrees_with_the_catalog(pack: RuleSet) -> None:
    catalog: Any = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    contract = load_contract()
    assert [f.name for f in contract.common] == list(catalog["conventions"]["document_metadata"]["fields"])
    calls = {
        signal["id"]: signal.get("call", "")
        for control in catalog["controls"]
        for signal in control.get("automatable_evidence", ())
    }
    wrong = [
        (doc_type.name, member.name, signal)
        for doc_type in contract.document_types
        for field in doc_type.fields
        for member in (field, *field.fields)
        for signal in member.catalog
        if not re.search(rf"\b{re.escape(member.name)}\b", calls.get(signal, ""))
    ]
    assert not wrong, f"these signals do not name these fields in their call: {wrong}"
    # The fields the pack reads that the catalog does not name: a finding for the catalog, kept explicit.
    assert {(t, f) for t, f, _ in uncatalogued_fields(contract, pack)} == {
        ("ai-system-record", "data_sources"),
        ("ai-system-record", "suppliers"),
        ("ai-impact-assessment", "societal_impact_justification"),
        ("policy", "ai_relevance_reviewed_on"),
        ("ai-vv-report", "result"),
        ("ai-incident-register", "incidents"),
        ("supplier-assessment", "supplier"),
    }


@pytest.mark.skipif(not CATALOG.is_file(), reason="the reference catalog is not next to this checkout")
def test_the_contracts_sections_are_the_catalogs_sections_filled() -> None:
    """Each section the contract asks of a document type is named by the sections_filled call of the signal
    it cites, and every sections_filled list of the catalog is in the contract (A.2.2-E2 leaves its headings
    to the organisation, so it names none)."""
    catalog: Any = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    calls = {
        signal["id"]: signal.get("call", "")
        for control in catalog["controls"]
        for signal in control.get("automatable_evidence", ())
    }
    declared = {
        (signal, section.topic)
        for doc_type in load_contract().document_types
        for section in doc_type.sections
        for signal in section.catalog
    }
    named = {
        (signal, topic)
        for signal, call in calls.items()
        for listed in re.findall(r"sections_filled\((?:headings=)?\[([^\]]*)\]", call)
        for topic in re.findall(r"'([^']+)'", listed)
    }
    assert declared == named


def test_annexa_init_writes_the_contracts_sections_as_headings() -> None:
    texts = {f.path: f.text for f in plan_scaffold("Acme")}
    for doc_type in load_contract().document_types:
        for section in doc_type.sections:
            text = texts[f"governance/{doc_type.name}.md"]
            assert re.search(rf"^## {re.escape(section.topic)}$", text, re.MULTILINE | re.IGNORECASE), (
                doc_type.name,
                section.topic,
            )


# --- document type names: contract, engine catalog, rules and the reference catalog agree -----------------

# Document types the engine keeps although the reference catalog's document_types lacks them, with why.
ENGINE_ONLY_TYPES = {
    "ai-incident-register": "A.8.4: the incidents of the period are those a current register lists, so "
    "deleting an ai-incident-record fails the control instead of shrinking the set to check; the catalog "
    "reads the ai-incident-records of the last 12 months and names no register",
}
# Documents a control expects that no rule of it selects yet, with why.
EXPECTED_UNCHECKED = {
    ("A.3.3", "concern-register"): "the catalog reads its metadata only (last_updated, period); A.3.3's "
    "rules check the procedure and an attestation",
    ("A.4.3", "dataset-record"): "A.4.3-E4 accepts the record's data_resources instead, which the rule reads",
    ("A.4.6", "training-record"): "competence evidence lives in HR systems; A.4.6 rests on the competence "
    "matrix and an attestation",
    ("A.4.6", "ai-system-record"): "its human_resources field is read by A.4.2; A.4.6 rests on the matrix",
    ("A.7.5", "dataset-record"): "provenance is read from the MLflow runs and SageMaker; A.7.3 reads the "
    "dataset-records",
    ("A.9.4", "ai-user-documentation"): "A.8.2 checks it; A.9.4 reads intended and out-of-scope use from the "
    "ai-system-record",
    ("A.10.4", "ai-user-documentation"): "A.8.2 checks it; A.10.4 reads the customer terms",
}
# Documents an Annex A control expects that the reference neither anchors to it nor names in its signals.
EXPECTED_BEYOND_REFERENCE = {
    ("A.7.3", "ai-system-record"): "its data_sources name the datasets whose dataset-records A.7.3 checks, "
    "so deleting a dataset-record fails instead of shrinking the set (a field the catalog does not name)",
    ("A.10.3", "ai-system-record"): "its suppliers name the parties A.10.3 wants assessed (A.10.3-E1 "
    "assesses 'each party in the responsibility matrix' without naming where they are listed)",
}
# Reference anchors of a main-body clause that annexa's clause rules do not expect, with why.
CLAUSE_ANCHORS_NOT_EXPECTED = {
    ("CL.6.1.3", "soa"): "annexa writes the Statement of Applicability itself (annexa soa)",
    ("CL.6.1.4", "ai-impact-assessment"): "the per-system assessments are checked by A.5.2 to A.5.5",
    ("CL.10.2", "ai-incident-record"): "incident records are checked by A.8.4",
}


def _selected_types(var: str, where: Any) -> set[str]:
    """The document types a `where` pins `var.type` to (`==` or `in [...]`, anywhere in it)."""
    from annexa.lang import syntax as s

    found: set[str] = set()
    for node in s.walk(where):
        if not isinstance(node, s.Binary) or node.op not in ("==", "in"):
            continue
        left, right = node.left, node.right
        if not (isinstance(left, s.Attr) and left.name == "type" and isinstance(left.target, s.Name)):
            left, right = right, left
        if not (isinstance(left, s.Attr) and left.name == "type" and isinstance(left.target, s.Name)):
            continue
        if left.target.name != var:
            continue
        values = right.items if isinstance(right, s.ListExpr) else (right,)
        found |= {v.value for v in values if isinstance(v, s.Literal) and isinstance(v.value, str)}
    return found


def _rule_types() -> dict[str, set[str]]:
    """Per control or clause id: the document types its rules select (`x in document where x.type ...`)."""
    from annexa.lang import syntax as s
    from annexa.lang.parser import parse

    by_control: dict[str, set[str]] = {}
    for path in sorted((ROOT / "rules").rglob("*.rule")):
        for control in parse(path.read_text(encoding="utf-8"), str(path)).controls:
            types = by_control.setdefault(control.id, set())
            for decl in control.rules:
                loops: list[Any] = [decl.for_each] if decl.for_each else []
                for expr in (decl.for_each.where if decl.for_each else None, decl.require, decl.allow_empty):
                    if expr is not None:
                        loops += [q for q in s.walk(expr) if isinstance(q, s.Quantifier)]
                for loop in loops:
                    if isinstance(loop.source, s.Name) and loop.source.name == "document" and loop.where:
                        types |= _selected_types(loop.var, loop.where)
    return by_control


@pytest.mark.skipif(not CATALOG.is_file(), reason="the reference catalog is not next to this checkout")
def test_document_types_agree_with_the_reference_catalog() -> None:
    """Issue 16: the contract's document types, the engine catalog's expected documents (Annex A and the
    main-body clauses), the types the rules select and the reference catalog's document_types are the same
    names; what the engine keeps beyond the reference is listed above with the reason."""
    from annexa.contract.catalog import load_catalog

    reference: Any = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    known = set(reference["conventions"]["document_types"])
    anchors: dict[str, set[str]] = {}
    for name, (_, cited) in reference["conventions"]["document_types"].items():
        for anchor in cited:
            anchors.setdefault(str(anchor), set()).add(name)
    catalog = load_catalog()
    expected = {c.id: set(c.expected_documents) for c in (*catalog.controls, *catalog.clauses)}
    contract = load_contract()
    rules = _rule_types()
    names = {
        "contract": {t.name for t in contract.document_types},
        "engine catalog": set().union(*expected.values()),
        "rules": set().union(*rules.values()),
    }
    unknown = {where: sorted(found - known - set(ENGINE_ONLY_TYPES)) for where, found in names.items()}
    assert not any(unknown.values()), f"not a document type of the reference catalog: {unknown}"
    assert set(ENGINE_ONLY_TYPES) <= names["rules"], "an engine-only type no rule reads: drop it"
    # Old names are only read as aliases, never used; each maps onto a reference type.
    assert not set(contract.renamed_types) & set().union(*names.values())
    assert set(contract.renamed_types.values()) <= known
    # Per control: the rules select what the control expects (but what is listed above), nothing else.
    for control_id, wanted in expected.items():
        unchecked = {t for (c, t) in EXPECTED_UNCHECKED if c == control_id}
        assert rules.get(control_id, set()) == wanted - unchecked, control_id
    # The reference's anchors: every type it anchors to an Annex A control is expected by that control;
    # for a main-body clause annexa checks, likewise unless listed above.
    for control in catalog.controls:
        assert anchors.get(control.id, set()) <= expected[control.id], control.id
    for clause in catalog.clauses:
        missing = anchors.get(clause.id.removeprefix("CL."), set()) - expected[clause.id]
        assert missing == {t for (c, t) in CLAUSE_ANCHORS_NOT_EXPECTED if c == clause.id}, clause.id
    # And a control expects only what the reference anchors to it or names in its evidence signals.
    for raw in reference["controls"]:
        text = yaml.safe_dump(raw)
        named = {t for t in known if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", text)}
        extra = expected[raw["id"]] - anchors.get(raw["id"], set()) - named - set(ENGINE_ONLY_TYPES)
        assert extra == {t for (c, t) in EXPECTED_BEYOND_REFERENCE if c == raw["id"]}, raw["id"]
