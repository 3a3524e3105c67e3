"""Metadata where people keep it (issue 16): near-miss keys and values told with "did you mean", the
organisation's own names mapped by configuration, Word "Document control" tables, and one clear line for
a document nobody marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from annexa.collectors import docstore
from annexa.collectors.docstore.fields import parse_date
from annexa.collectors.docstore.schema import CLOSED_TYPE_FIELDS, METADATA_FIELDS, TYPE_FIELDS
from annexa.contract.yamlsrc import parse_yaml
from annexa.model.diagnostics import DiagnosticError
from annexa.plugins import CollectorSpec
from annexa.plugins.config import config_from_document

SPEC: CollectorSpec = next(iter(docstore.annexa_collectors()))
CATALOG = Path(__file__).resolve().parents[3] / "shared" / "reference" / "annex_a_catalog.yaml"
HINT = "It is kept in extra, which no rule reads: rename it, or map it with collectors.documents.field_map"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def collect(kit: Any, root: Path, **config: Any) -> Any:
    return kit.run(SPEC, {"sources": [{"path": root.name}], **config}, base_path=root.parent)


@pytest.mark.skipif(not CATALOG.is_file(), reason="the reference catalog is not next to this checkout")
def test_the_known_fields_are_the_catalogs_document_metadata() -> None:
    catalog = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    fields = catalog["conventions"]["document_metadata"]["fields"]
    assert tuple(fields) == METADATA_FIELDS
    properties = docstore.DOCUMENT_SCHEMA["properties"]
    assert set(METADATA_FIELDS) <= set(properties)


# --- near misses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("approved_by", "'approver'"),
        ("next_review", "'next_review_due'"),
        ("reviewed_on", "'last_reviewed'"),
        ("last_review", "'last_reviewed'"),
        ("approval_date", "'approved_on'"),
        ("doc_type", "'type'"),
        ("document_type", "'type'"),
        ("system", "'ai_systems'"),
        ("systems", "'ai_systems'"),
        ("ai_system", "'ai_systems'"),
        ("Owner", "'owner'"),  # the field in another case: said, not guessed
        ("aprover", "'approver'"),  # a typo
        ("review_date", "'last_reviewed' or 'next_review_due'"),  # either: never guessed
    ],
)
def test_a_near_miss_key_is_told_and_kept_in_extra(kit: Any, tmp_path: Path, key: str, meant: str) -> None:
    write(tmp_path / "gov" / "p.md", f"---\ntype: policy\nstatus: draft\n{key}: something\n---\n# P\n")
    run = collect(kit, tmp_path / "gov")
    [item] = run.evidence
    assert item.data["extra"] == {key: "something"}
    assert run.messages() == [
        f"p.md: line 4: key {key!r} is not a document field: did you mean {meant}? {HINT}"
    ]


def test_keys_named_for_more_than_a_field_are_no_near_misses(kit: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "gov" / "p.md",
        "---\ntype: policy\nstatus: draft\nuse_approved_on: 2026-01-01\neffective: 2026-02-01\n"
        "classification: internal\n---\n",
    )
    run = collect(kit, tmp_path / "gov")
    assert run.problems == []
    assert run.evidence[0].data["extra"] == {
        "classification": "internal",
        "effective": "2026-02-01",
        "use_approved_on": "2026-01-01",
    }


@pytest.mark.parametrize(
    ("written", "status", "problem"),
    [
        ("Approved", "approved", None),  # case is spelling: the same status
        ("In Review", "in-review", None),
        ("final", None, "'approved'? If 'final' means approved here, say so with "
         "collectors.documents.value_aliases: {status: {'final': approved}}"),
        ("published", None, "'approved'? If 'published' means approved here, say so with "
         "collectors.documents.value_aliases: {status: {'published': approved}}"),
        ("superseded", None, "'retired'? If 'superseded' means retired here, say so with "
         "collectors.documents.value_aliases: {status: {'superseded': retired}}"),
        ("aproved", None, "'approved'? If 'aproved' means approved here, say so with "
         "collectors.documents.value_aliases: {status: {'aproved': approved}}"),
        ("someday", None, ""),
    ],
)  # fmt: skip
def test_status_values_are_case_folded_and_near_misses_told(
    kit: Any, tmp_path: Path, written: str, status: str | None, problem: str | None
) -> None:
    write(tmp_path / "gov" / "p.md", f"---\ntype: policy\nstatus: {written}\n---\n")
    run = collect(kit, tmp_path / "gov")
    [item] = run.evidence
    assert item.data["status"] == status
    if problem is None:
        assert run.problems == []
        return
    base = f"p.md: line 3: status {written!r} is not one of draft, in-review, approved, retired"
    assert run.messages() == [base + (f"; did you mean {problem}" if problem else "")]
    assert item.data["extra"] == {"status": written}


# --- the organisation's own names -----------------------------------------------------------------

NAMES = {
    "field_map": {"approved_by": "approver", "review_date": "last_reviewed", "Document Owner": "owner"},
    "value_aliases": {
        "status": {"final": "approved", "Published": "approved"},
        "type": {"AI Policy": "ai-policy"},
        "ai_systems": {"Fraud Scoring": "fraud-scoring"},
    },
}


def test_field_map_and_value_aliases_apply_to_front_matter_and_sidecars(kit: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "gov" / "policy.md",
        "---\ntype: AI Policy\nstatus: FINAL\napproved_by: Executive Board\nreview_date: 2026-03-01\n"
        "document owner: Chief Risk Officer\nai_systems: [Fraud Scoring, support-chatbot]\n---\n# P\n",
    )
    write(tmp_path / "gov" / "scan.pdf.bin", "scanned")
    write(tmp_path / "gov" / "scan.pdf.bin.meta.yaml", "type: policy\nstatus: published\napproved_by: CFO\n")
    run = collect(kit, tmp_path / "gov", **NAMES)
    assert run.problems == []
    items = run.by_path()
    policy = items["policy.md"].data
    found = (policy["type"], policy["status"], policy["approver"], policy["last_reviewed"], policy["owner"])
    assert found == (
        "ai-policy", "approved", "Executive Board", "2026-03-01", "Chief Risk Officer",
    )  # fmt: skip
    assert policy["ai_systems"] == ["fraud-scoring", "support-chatbot"]
    assert policy["extra"] == {}
    scan = items["scan.pdf.bin"].data
    assert (scan["type"], scan["status"], scan["approver"]) == ("policy", "approved", "CFO")


def test_a_mapped_key_and_the_field_itself_in_one_source_is_told(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "gov" / "p.md", "---\ntype: policy\napprover: Board\napproved_by: CFO\n---\n")
    run = collect(kit, tmp_path / "gov", field_map={"approved_by": "approver"})
    [item] = run.evidence
    assert item.data["approver"] == "Board"  # the key spelt as the field wins
    assert run.messages() == [
        "p.md: line 4: key 'approved_by' also gives approver ('CFO'); line 3: key 'approver' is used"
    ]


def test_field_map_applies_to_pdf_information_and_docx_properties(kit: Any, tmp_path: Path) -> None:
    kit.make_pdf(
        tmp_path / "gov" / "a.pdf",
        {"/Subject": "ai-policy", "/State": "Final", "/SignedOffBy": "Board", "/Title": "A"},
    )
    kit.make_docx(
        tmp_path / "gov" / "b.docx",
        core={"title": "B", "subject": "policy", "content_status": "Published"},
        custom={"Sign-off Authority": ("lpwstr", "CFO")},
    )
    config = {
        "field_map": {"subject": "type", "state": "status", "signed_off_by": "approver",
                      "Sign-off Authority": "approver"},
        "value_aliases": {"status": {"final": "approved", "published": "approved"}},
    }  # fmt: skip
    run = collect(kit, tmp_path / "gov", **config)
    assert run.problems == []
    items = run.by_path()
    for name, approver, doc_type in (("a.pdf", "Board", "ai-policy"), ("b.docx", "CFO", "policy")):
        data = items[name].data
        assert (data["type"], data["status"], data["approver"]) == (doc_type, "approved", approver), name


def config_diagnostics(block: str) -> list[tuple[str, str, str | None]]:
    text = f"version: 1\ncollectors:\n  documents:\n    sources: [{{path: gov}}]\n{block}"
    with pytest.raises(DiagnosticError) as caught:
        config_from_document(parse_yaml(text, "annexa.yaml"), {"documents": SPEC})
    return [(str(d.span), d.message, d.help) for d in caught.value.diagnostics]


def test_an_unknown_target_field_is_a_configuration_error_with_did_you_mean() -> None:
    # the common fields and each document type's fields of the evidence contract
    fields = ", ".join(f"`{name}`" for name in (*METADATA_FIELDS, *TYPE_FIELDS))
    assert "suppliers" in TYPE_FIELDS
    assert config_diagnostics("    field_map: {approved_by: aprover, Review Date: last_reviewed}\n") == [(
        "annexa.yaml:5:30",
        f"`collectors.documents.field_map.approved_by`: expected one of {fields}, found `aprover`",
        "did you mean `approver`?",
    )]  # fmt: skip


def test_value_aliases_name_known_fields_and_statuses() -> None:
    assert config_diagnostics("    value_aliases:\n      stauts: {final: approved}\n")[0][1:] == (
        "unknown key `collectors.documents.value_aliases.stauts`",
        "did you mean `status`? known keys here: " + ", ".join(
            f"`{name}`" for name in sorted(("id", "type", "title", "version", "owner", "approver", "status",
                                            "ai_systems", "controls", "clauses", "related_policies",
                                            *CLOSED_TYPE_FIELDS))  # the contract's fields with allowed values
        ),
    )  # fmt: skip
    [(_, message, hint)] = config_diagnostics("    value_aliases:\n      status: {final: aproved}\n")
    assert message == (
        "`collectors.documents.value_aliases.status.final`: expected one of `draft`, `in-review`, "
        "`approved`, "
        "`retired`, found `aproved`"
    )
    assert hint == "did you mean `approved`?"


# --- Word "Document control" tables -----------------------------------------------------------------


def _table(document: Any, rows: list[list[str]], *, title: str | None = None) -> None:
    table = document.add_table(rows=len(rows) + (title is not None), cols=len(rows[0]))
    offset = 0
    if title is not None:
        table.cell(0, 0).merge(table.cell(0, len(rows[0]) - 1)).text = title
        offset = 1
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.cell(r + offset, c).text = text


def docx_fields(kit: Any, tmp_path: Path, build: Any, **props: Any) -> tuple[dict[str, Any], list[str]]:
    kit.make_docx(tmp_path / "gov" / "d.docx", build=build, **props)
    run = collect(kit, tmp_path / "gov")
    [item] = run.evidence
    keys = ("id", "type", "version", "status", "owner", "approver", "approved_on", "last_reviewed",
            "next_review_due", "extra")  # fmt: skip
    extra = {
        k: v for k, v in item.data["extra"].items() if k not in ("author", "created", "modified", "revision")
    }
    return {**{key: item.data[key] for key in keys[:-1]}, "extra": extra}, run.messages()


def test_a_document_control_table_in_label_value_pairs(kit: Any, tmp_path: Path) -> None:
    def build(document: Any) -> None:
        document.add_heading("Responsible AI Standard", level=1)
        _table(document, [
            ["Document ID", "STD-RAI-003", "Version", "2.0"],
            ["Owner", "Head of AI Governance", "Status", "Approved"],
            ["Approved by:", "AI Governance Board", "Date approved", "3 February 2026"],
            ["Last review", "February 3, 2026", "Review due", "2027-02-03"],
            ["Document type", "policy", "Classification", "Internal"],
        ])  # fmt: skip
        document.add_heading("Purpose", level=2)
        document.add_paragraph("Why the standard exists.")

    fields, messages = docx_fields(kit, tmp_path, build)
    assert messages == []
    assert fields == {
        "id": "STD-RAI-003", "type": "policy", "version": "2.0", "status": "approved",
        "owner": "Head of AI Governance", "approver": "AI Governance Board", "approved_on": "2026-02-03",
        "last_reviewed": "2026-02-03", "next_review_due": "2027-02-03",
        "extra": {"classification": "Internal"},
    }  # fmt: skip


def test_a_document_control_table_with_a_header_row(kit: Any, tmp_path: Path) -> None:
    def build(document: Any) -> None:
        document.add_paragraph("Version history")
        _table(document, [
            ["Version", "Owner", "Approved by", "Approval date", "Status"],
            ["1.1", "CISO", "Security Board", "1 March 2026", "In review"],
        ])  # fmt: skip

    fields, messages = docx_fields(kit, tmp_path, build, core={"category": "policy"})
    assert messages == []
    assert fields == {
        "id": None, "type": "policy", "version": "1.1", "status": "in-review", "owner": "CISO",
        "approver": "Security Board", "approved_on": "2026-03-01", "last_reviewed": None,
        "next_review_due": None, "extra": {},
    }  # fmt: skip


def test_a_table_of_roles_in_the_text_is_content_not_metadata(kit: Any, tmp_path: Path) -> None:
    def build(document: Any) -> None:
        document.add_heading("AI roles", level=1)
        document.add_heading("Responsibilities", level=2)
        document.add_paragraph("Each role below has these duties.")
        _table(document, [["Owner", "Accountable for the system"], ["Approver", "Signs off releases"]])

    fields, messages = docx_fields(kit, tmp_path, build, core={"category": "ai-roles-raci"})
    assert (fields["owner"], fields["approver"], fields["extra"], messages) == (None, None, {}, [])
    # A table captioned "Document control" is read wherever it is.

    def captioned(document: Any) -> None:
        document.add_heading("AI roles", level=1)
        document.add_heading("Annex", level=2)
        _table(document, [["Owner", "CRO"], ["Status", "Draft"]], title="Document control")

    (tmp_path / "gov" / "d.docx").unlink()
    fields, messages = docx_fields(kit, tmp_path, captioned, core={"category": "ai-roles-raci"})
    assert (fields["owner"], fields["status"], messages) == ("CRO", "draft", [])


def test_a_revision_history_is_no_document_control_table(kit: Any, tmp_path: Path) -> None:
    def build(document: Any) -> None:
        _table(document, [
            ["Version", "Status", "Owner", "Approver"],
            ["0.9", "Draft", "CRO", "-"],
            ["1.0", "Approved", "CRO", "Board"],
        ])  # fmt: skip

    fields, messages = docx_fields(kit, tmp_path, build, core={"category": "policy"})
    assert (fields["version"], fields["status"], fields["owner"], fields["extra"], messages) == (
        None, None, None, {}, [],
    )  # fmt: skip


def test_placeholders_in_a_document_control_table_are_not_values(kit: Any, tmp_path: Path) -> None:
    def build(document: Any) -> None:
        _table(document, [["Document ID", "POL-9"], ["Owner", "[Insert owner]"], ["Approved by", "TBD"],
                          ["Status", "Draft"]])  # fmt: skip

    fields, messages = docx_fields(kit, tmp_path, build, core={"category": "policy"})
    assert (fields["id"], fields["owner"], fields["approver"], fields["status"]) == (
        "POL-9",
        None,
        None,
        "draft",
    )
    assert messages == [
        "d.docx: DOCX document control table, row 'Owner': '[Insert owner]' is a placeholder, not a value; "
        "not read",
        "d.docx: DOCX document control table, row 'Approved by': 'TBD' is a placeholder, not a value; "
        "not read",
    ]


def test_custom_property_beats_the_table_which_beats_the_core_properties(kit: Any, tmp_path: Path) -> None:
    def build(document: Any) -> None:
        _table(document, [["Version", "2.0"], ["Status", "In review"], ["Owner", "Head of Risk"]])

    fields, messages = docx_fields(
        kit, tmp_path, build,
        core={"version": "1.0", "content_status": "Draft", "category": "policy"},
        custom={"Status": ("lpwstr", "Approved")},
    )  # fmt: skip
    assert messages == []
    # status: custom property over the table over contentStatus; version: the table over the core property.
    assert (fields["status"], fields["version"], fields["owner"]) == ("approved", "2.0", "Head of Risk")


def test_two_rows_giving_one_field_differently_are_told(kit: Any, tmp_path: Path) -> None:
    def build(document: Any) -> None:
        _table(document, [["Owner", "CRO"], ["Document owner", "CISO"], ["Status", "Draft"]])

    fields, messages = docx_fields(kit, tmp_path, build, core={"category": "policy"})
    assert fields["owner"] == "CRO"
    assert messages == [
        "d.docx: DOCX document control table, row 'Document owner' also gives owner ('CISO'); "
        "DOCX document control table, row 'Owner' is used"
    ]


# --- documents nobody marked ----------------------------------------------------------------------


def test_an_unmarked_document_gets_one_line_saying_how_to_mark_it(kit: Any, tmp_path: Path) -> None:
    kit.make_docx(tmp_path / "gov" / "policy.docx", core={"title": "Policy"}, body=[(1, "Policy")])
    write(tmp_path / "gov" / "diagram.vsdx", "binary-ish")
    write(tmp_path / "gov" / "typo.md", "---\ndoc_type: policy\n---\n")  # a near miss: told once, as such
    run = collect(kit, tmp_path / "gov")
    assert run.messages() == [
        "diagram.vsdx: no document metadata (no type, no status): add a sidecar diagram.vsdx.meta.yaml next "
        "to it with at least type, id, status and owner (see docs/collectors.md)",
        "policy.docx: no document metadata (no type, no status): set the document properties (Category = "
        "type, Status = status, custom properties such as Owner and Approver), or add a 'Document control' "
        "table (Document ID, Owner, Status, Approved by) at the top, or a sidecar policy.docx.meta.yaml next "
        "to it (see docs/collectors.md)",
        f"typo.md: line 2: key 'doc_type' is not a document field: did you mean 'type'? {HINT}",
    ]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-03-12", "2026-03-12"),
        ("12 March 2026", "2026-03-12"),
        ("12th Mar. 2026", "2026-03-12"),
        ("March 12, 2026", "2026-03-12"),
        ("Sept 1 2026", "2026-09-01"),
        ("D:20260312090000Z", "2026-03-12"),
        ("03/12/2026", None),  # March 12 or 3 December: not guessed
        ("31 February 2026", None),
        ("12 Smarch 2026", None),
    ],
)
def test_dates_with_the_month_in_words_are_read_and_numeric_ones_are_not(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso
