"""Evidence as organisations keep it, written by others and not for annexa (issue 16).

The estate under ``estate/`` is shaped the way a governance team keeps its documents: an AI policy in
Markdown with no front matter and its metadata in a sidecar, committee minutes nobody marked, a model card
saved by a Windows editor (byte order mark, a blank line before the metadata, CRLF), and an attestation
dated with ``date:``. The Word procedure (a "Document control" table and custom properties spelt the
organisation's way) and the exported PDF (document information keys) are built here, with python-docx
and pypdf, as the tools that write them do. Each test states the exact fields collected and the exact
problem lines a user reads.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from annexa.collectors import attestations, docstore, modelcards
from annexa.plugins import CollectorSpec

ESTATE = Path(__file__).resolve().parent / "estate"
DOCUMENTS: CollectorSpec = next(iter(docstore.annexa_collectors()))
CARDS: CollectorSpec = next(iter(modelcards.annexa_collectors()))
ATTESTATIONS: CollectorSpec = next(iter(attestations.annexa_collectors()))

# How this organisation names things, told to annexa once instead of rewriting its documents.
ORGANISATION_NAMES: dict[str, Any] = {
    "field_map": {"approved_by": "approver", "Document Owner": "owner"},
    "value_aliases": {"status": {"final": "approved", "published": "approved"}},
}
METADATA = (
    "id", "type", "title", "version", "status", "owner", "approver", "approved_on", "last_reviewed",
    "review_interval_days", "next_review_due", "ai_systems", "controls", "clauses", "related_policies",
    "extra",
)  # fmt: skip


def metadata(item: Any) -> dict[str, Any]:
    return {key: item.data[key] for key in METADATA}


def _procedure_body(document: Any) -> None:
    """A Word procedure as policy templates lay it out: title, a "Document control" table, sections."""
    document.add_paragraph("AI System Impact Assessment Procedure", style="Title")
    rows = [
        ("Document ID", "PROC-AIIA-002"),
        ("Version", "1.3"),
        ("Document owner", "Head of AI Governance"),
        ("Approved by", "AI Governance Board"),
        ("Approval date", "14 January 2026"),
        ("Next review", "14 January 2027"),
        ("Status", "Final"),
        ("Classification", "Internal"),
    ]
    table = document.add_table(rows=len(rows) + 1, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Document control"
    for index, (label, value) in enumerate(rows, start=1):
        table.cell(index, 0).text = label
        table.cell(index, 1).text = value
    document.add_heading("1. Purpose", level=1)
    document.add_paragraph("How we assess the impact of an AI system on individuals, groups and society.")
    document.add_heading("2. When an assessment is due", level=1)
    document.add_paragraph("Before a system is deployed, and after each significant change to it.")


@pytest.fixture
def estate(kit: Any, tmp_path: Path) -> Path:
    """The estate in a plain folder (not the annexa repository, whose git history would be read)."""
    root = tmp_path / "estate"
    shutil.copytree(ESTATE, root)
    kit.make_docx(
        root / "governance" / "impact-assessment-procedure.docx",
        core={
            "title": "AI System Impact Assessment Procedure",
            "author": "J. Okafor",
            "last_modified_by": "M. Jensen",
            "revision": 7,
        },
        custom={
            "Document Type": ("lpwstr", "ai-impact-assessment-procedure"),
            "Approved By": ("lpwstr", "AI Governance Board"),
            "Document Owner": ("lpwstr", "Head of AI Governance"),
            "AI Systems": ("lpwstr", "fraud-scoring, support-chatbot"),
        },
        build=_procedure_body,
    )
    kit.make_pdf(
        root / "governance" / "supplier-requirements.pdf",
        {
            "/Title": "Third-party AI Supplier Requirements",
            "/Author": "Procurement Office",
            "/Subject": "What we require of suppliers of AI components",
            "/Keywords": "supplier, procurement, AI",
            "/Creator": "Microsoft Word",
            # Custom keys as a document management system's PDF export writes them.
            "/Type": "policy",
            "/DocId": "POL-SUP-004",
            "/Status": "Published",
            "/Owner": "Head of Procurement",
            "/Approver": "Chief Operating Officer",
            "/ApprovedOn": "D:20260201090000Z",
            "/ReviewDate": "D:20270201000000Z",
        },
        outline=["Purpose", "Requirements"],
        pages=[[
            ("Third-party AI Supplier Requirements", 18), ("Purpose", 14),
            ("Suppliers tell us how their models were trained and evaluated.", 11), ("Requirements", 14),
            ("Each supplier names a contact for AI incidents.", 11),
        ]],
    )  # fmt: skip
    return root


def collect_documents(kit: Any, estate: Path, **names: Any) -> Any:
    return kit.run(DOCUMENTS, {"sources": [{"path": "governance"}], **names}, base_path=estate)


EXPECTED_POLICY = {
    "id": "POL-AI-001",
    "type": "ai-policy",
    "title": "Artificial Intelligence Policy",
    "version": "2.1",
    "status": "approved",  # written "Approved": the same status in another case
    "owner": "Chief Risk Officer",
    "approver": "Executive Committee",
    "approved_on": "2026-03-12",
    "last_reviewed": "2026-03-12",
    "review_interval_days": None,
    "next_review_due": None,  # written as next_review: told, not guessed
    "ai_systems": ["fraud-scoring", "support-chatbot"],
    "controls": [],
    "clauses": [],
    "related_policies": ["POL-SEC-001", "POL-PRIV-002", "POL-SUP-004"],
    "extra": {"next_review": "2027-03-12"},
}
EXPECTED_PROCEDURE = {
    "id": "PROC-AIIA-002",  # document control table
    "type": "ai-impact-assessment-procedure",  # custom property "Document Type"
    "title": "AI System Impact Assessment Procedure",  # core property
    "version": "1.3",  # table
    "status": "approved",  # table "Final", through value_aliases
    "owner": "Head of AI Governance",  # custom property "Document Owner", through field_map
    "approver": "AI Governance Board",  # custom property "Approved By", through field_map
    "approved_on": "2026-01-14",  # table "14 January 2026"
    "last_reviewed": None,
    "review_interval_days": None,
    "next_review_due": "2027-01-14",  # table "Next review"
    "ai_systems": ["fraud-scoring", "support-chatbot"],  # custom property
    "controls": [],
    "clauses": [],
    "related_policies": [],
    "extra": {
        "author": "J. Okafor",
        "classification": "Internal",
        "created": "2013-12-23T23:15:00Z",  # python-docx's template
        "last_modified_by": "M. Jensen",
        "modified": "2013-12-23T23:15:00Z",
        "revision": 7,
    },
}
EXPECTED_SUPPLIER_PDF = {
    "id": "POL-SUP-004",
    "type": "policy",
    "title": "Third-party AI Supplier Requirements",
    "version": None,
    "status": "approved",  # "Published", through value_aliases
    "owner": "Head of Procurement",
    "approver": "Chief Operating Officer",
    "approved_on": "2026-02-01",
    "last_reviewed": None,
    "review_interval_days": None,
    "next_review_due": None,
    "ai_systems": [],
    "controls": [],
    "clauses": [],
    "related_policies": [],
    "extra": {
        "author": "Procurement Office",  # who wrote it, not who owns it
        "creator": "Microsoft Word",
        "keywords": "supplier, procurement, AI",  # several keywords: no type from them
        "producer": "pypdf",
        "review_date": "D:20270201000000Z",
        "subject": "What we require of suppliers of AI components",
    },
}
NEXT_REVIEW_PROBLEM = (
    "file:governance/ai-policy.md",
    "ai-policy.md: ai-policy.md.meta.yaml line 11: key 'next_review' is not a document field: did you "
    "mean 'next_review_due'? It is kept in extra, which no rule reads: rename it, or map it with "
    "collectors.documents.field_map",
)
MINUTES_PROBLEM = (
    "file:governance/committee/2026-02-ai-committee-minutes.md",
    "committee/2026-02-ai-committee-minutes.md: no document metadata (no type, no status): add front "
    "matter with at least type, id, status and owner (see docs/collectors.md), or a sidecar "
    "2026-02-ai-committee-minutes.md.meta.yaml next to it",
)
REVIEW_DATE_PROBLEM = (
    "file:governance/supplier-requirements.pdf",
    "supplier-requirements.pdf: PDF key /ReviewDate is not a document field: did you mean "
    "'last_reviewed' or 'next_review_due'? It is kept in extra, which no rule reads: rename it, or map it "
    "with collectors.documents.field_map",
)


def test_governance_documents_with_the_organisations_names_mapped(kit: Any, estate: Path) -> None:
    run = collect_documents(kit, estate, **ORGANISATION_NAMES)
    items = run.by_path()
    assert sorted(items) == [
        "ai-policy.md",
        "committee/2026-02-ai-committee-minutes.md",
        "impact-assessment-procedure.docx",
        "supplier-requirements.pdf",
    ]
    assert metadata(items["ai-policy.md"]) == EXPECTED_POLICY
    assert items["ai-policy.md"].data["headings"] == [
        "Artificial Intelligence Policy", "1. Purpose", "2. Scope", "3. Policy statement",
        "4. Roles and responsibilities", "5. Related policies", "6. Exceptions", "7. Review",
    ]  # fmt: skip
    assert items["ai-policy.md"].data["empty_sections"] == []
    assert metadata(items["impact-assessment-procedure.docx"]) == EXPECTED_PROCEDURE
    assert items["impact-assessment-procedure.docx"].data["headings"] == [
        "1. Purpose",
        "2. When an assessment is due",
    ]
    assert metadata(items["supplier-requirements.pdf"]) == EXPECTED_SUPPLIER_PDF
    assert items["supplier-requirements.pdf"].data["headings"] == ["Purpose", "Requirements"]
    minutes = items["committee/2026-02-ai-committee-minutes.md"].data
    assert (minutes["title"], minutes["type"], minutes["status"], minutes["extra"]) == (
        "AI Committee minutes, February 2026", None, None, {},
    )  # fmt: skip
    # One line per thing to fix, each naming the file, the line or key, and what to do.
    assert sorted(run.problems) == [NEXT_REVIEW_PROBLEM, MINUTES_PROBLEM, REVIEW_DATE_PROBLEM]
    assert run.defects == []


def test_before_the_organisations_names_are_mapped_each_is_told(kit: Any, estate: Path) -> None:
    """The same estate with no field_map or value_aliases: nothing is guessed, everything is said."""
    run = collect_documents(kit, estate)
    items = run.by_path()
    procedure = metadata(items["impact-assessment-procedure.docx"])
    assert procedure == {
        **EXPECTED_PROCEDURE,
        # The table's "Approved by" and "Document owner" rows are read; the custom properties, spelt
        # otherwise, are kept aside. The table's status "Final" is no status.
        "status": None,
        "extra": {
            **EXPECTED_PROCEDURE["extra"],
            "approved_by": "AI Governance Board",
            "document_owner": "Head of AI Governance",
            "status": "Final",
        },
    }
    pdf = metadata(items["supplier-requirements.pdf"])
    assert pdf == {**EXPECTED_SUPPLIER_PDF, "status": None, "extra": {**EXPECTED_SUPPLIER_PDF["extra"],
                                                                      "status": "Published"}}  # fmt: skip
    assert sorted(run.problems) == sorted([
        NEXT_REVIEW_PROBLEM,
        MINUTES_PROBLEM,
        REVIEW_DATE_PROBLEM,
        ("file:governance/impact-assessment-procedure.docx",
         "impact-assessment-procedure.docx: DOCX custom property 'Approved By' is not a document field: did "
         "you mean 'approver'? It is kept in extra, which no rule reads: rename it, or map it with "
         "collectors.documents.field_map"),
        ("file:governance/impact-assessment-procedure.docx",
         "impact-assessment-procedure.docx: DOCX custom property 'Document Owner' is not a document field: "
         "did you mean 'owner'? It is kept in extra, which no rule reads: rename it, or map it with "
         "collectors.documents.field_map"),
        ("file:governance/impact-assessment-procedure.docx",
         "impact-assessment-procedure.docx: DOCX document control table, row 'Status': status 'Final' is "
         "not one of draft, in-review, approved, retired; did you mean 'approved'? If 'Final' means "
         "approved here, say so with collectors.documents.value_aliases: {status: {'Final': approved}}"),
        ("file:governance/supplier-requirements.pdf",
         "supplier-requirements.pdf: PDF key /Status: status 'Published' is not one of draft, in-review, "
         "approved, retired; did you mean 'approved'? If 'Published' means approved here, say so with "
         "collectors.documents.value_aliases: {status: {'Published': approved}}"),
    ])  # fmt: skip


def test_a_model_card_saved_with_a_bom_a_blank_line_and_crlf_keeps_its_metadata(
    kit: Any, estate: Path
) -> None:
    card_file = estate / "modelcards" / "fraud-scoring" / "README.md"
    raw = card_file.read_bytes()
    # The fixture is what a Windows editor wrote; if git or an editor normalised it, this test would
    # prove nothing, so say so.
    assert raw.startswith(b"\xef\xbb\xbf\r\n---\r\n"), raw[:20]
    assert raw.count(b"\r\n") == raw.count(b"\n")
    run = kit.run(CARDS, {"sources": [{"path": "modelcards"}]}, base_path=estate)
    assert run.problems == []
    assert run.defects == []
    [card] = run.evidence
    assert card.kind == "model_card"
    data = {key: value for key, value in card.data.items() if key not in ("sha256", "size_bytes")}
    assert data == {
        "path": "fraud-scoring/README.md",
        "title": "Model Card for fraud-scoring",
        "model_name": "fraud-scoring",
        "license": "apache-2.0",
        "language": ["en"],
        "tags": ["tabular-classification", "fraud-detection"],
        "owner": "Head of Fraud Analytics",
        "last_reviewed": "2026-09-15",
        "datasets": ["acme/transactions-2025"],
        "base_model": [],
        "library_name": "sklearn",
        "pipeline_tag": None,
        "metrics": ["roc_auc"],
        "evaluation_results": [{
            "model": "fraud-scoring", "task": "tabular-classification", "dataset": "acme/transactions-2025",
            "metric": "roc_auc", "value": 0.947,
        }],
        "headings": [
            "Model Card for fraud-scoring", "Model Details", "Model Description", "Uses", "Direct Use",
            "Out-of-Scope Use", "Bias, Risks, and Limitations", "Training Details", "Training Data",
            "Evaluation", "Results",
        ],
        "sections": {
            "model_description": {"heading": "Model Details", "filled": True},
            "intended_use": {"heading": "Uses", "filled": True},
            "out_of_scope_use": {"heading": "Out-of-Scope Use", "filled": True},
            "limitations": {"heading": "Bias, Risks, and Limitations", "filled": True},
            "bias_risks": {"heading": "Bias, Risks, and Limitations", "filled": True},
            "training_data": {"heading": "Training Data", "filled": True},
            "evaluation": {"heading": "Evaluation", "filled": True},
        },
        "filled_sections": [
            "model_description", "intended_use", "out_of_scope_use", "limitations", "bias_risks",
            "training_data", "evaluation",
        ],
        "empty_sections": [],
        "missing_sections": [],
        "store": "folder",
        "git": None,
        "extra": {},
    }  # fmt: skip


def test_an_attestation_dated_with_date_is_defective_and_says_which_key_was_meant(
    kit: Any, estate: Path
) -> None:
    run = kit.run(ATTESTATIONS, {"path": "attestations"}, base_path=estate)
    assert run.evidence == []
    message = (
        "concerns-hotline.yaml:2: attestation lacks attested_on; line 9 has 'date': "
        "did you mean 'attested_on'?"
    )
    # One line, on the defective item every rule over attestations fails on: not "none attested" plus a
    # schema problem somewhere else.
    assert run.defects == [("attestation", "file:attestations/concerns-hotline.yaml#ATT-A.3.3-2026", message)]
    assert run.problems == [("file:attestations/concerns-hotline.yaml", message)]
