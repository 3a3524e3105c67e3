"""Hollow documents: sections that say nothing (empty, placeholders, a repeated heading, text hidden in
comments) are reported as empty in Markdown, PDF, DOCX and Confluence alike; and documents that are there
but cannot be read are defective items, never absences."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from annexa.collectors import docstore
from annexa.plugins import CollectorSpec, TextBlock, empty_sections, has_content, markdown_blocks, sections
from annexa.plugins.testing import execute_collector

SPEC: CollectorSpec = next(iter(docstore.annexa_collectors()))

HOLLOW_POLICY = """---
id: POL-AI-009
type: ai-policy
status: approved
---
# AI risk policy

## Purpose

Purpose

## Scope

TBD

## Effective date

[insert date]

## Owner

**Owner:** <insert owner>

## Roles

{{ roles_table }}

## Review

To be determined.

## Exceptions

N/A

<!-- ## Limitations

Text in a comment is not read. -->

## Escalation

<!-- Describe the escalation path. -->

## Examples

````markdown
```yaml
## Not a heading: inside a four-backtick fence
```
````

## Objectives

- FIXME
- Coming soon
- Lorem ipsum dolor sit amet.
- XXX

## Risks

Card fraud models can wrongly decline customers; analysts review each decline.
"""


def collect(kit: Any, root: Path) -> Any:
    return kit.run(SPEC, {"sources": [{"path": root.name}]}, base_path=root.parent)


def test_a_markdown_policy_full_of_placeholders(kit: Any, tmp_path: Path) -> None:
    (tmp_path / "gov").mkdir()
    (tmp_path / "gov" / "risk-policy.md").write_text(HOLLOW_POLICY, encoding="utf-8")
    run = collect(kit, tmp_path / "gov")
    assert run.problems == []
    [item] = run.evidence
    # The commented heading and the heading inside the fence are not headings.
    assert item.data["headings"] == [
        "AI risk policy", "Purpose", "Scope", "Effective date", "Owner", "Roles", "Review", "Exceptions",
        "Escalation", "Examples", "Objectives", "Risks",
    ]  # fmt: skip
    # "N/A" is an answer in a policy's exceptions; a code block is text; the rest is hollow.
    assert item.data["empty_sections"] == [
        "Purpose", "Scope", "Effective date", "Owner", "Roles", "Review", "Escalation", "Objectives",
    ]  # fmt: skip


def test_a_section_is_empty_when_all_its_subsections_are(kit: Any, tmp_path: Path) -> None:
    (tmp_path / "gov").mkdir()
    (tmp_path / "gov" / "p.md").write_text(
        "# P\n\n## Principles\n\n### Fairness\n\nFairness\n\n### Transparency\n\nTBC\n\n"
        "## Controls\n\n### Access\n\nTODO\n\n### Logging\n\nEvery decision is logged for a year.\n",
        encoding="utf-8",
    )
    [item] = collect(kit, tmp_path / "gov").evidence
    assert item.data["empty_sections"] == ["Principles", "Fairness", "Transparency", "Access"]


def test_a_pdf_whose_sections_all_say_tbd(kit: Any, tmp_path: Path) -> None:
    hollow = [
        ("AI policy", 18), ("1. Purpose", 14), ("TBD", 11), ("2. Scope", 14), ("TBD", 11),
        ("3. Roles", 14), ("TBD", 11),
    ]  # fmt: skip
    # Bookmarks name the headings, as a word processor's export has them.
    kit.make_pdf(
        tmp_path / "gov" / "bookmarked.pdf",
        {"/Title": "AI policy", "/DocType": "ai-policy"},
        outline=["Purpose", "Scope", "Roles"],
        pages=[hollow],
    )
    # Without bookmarks, the lines set larger than the body text are the headings.
    kit.make_pdf(
        tmp_path / "gov" / "plain.pdf", {"/Title": "AI policy", "/DocType": "ai-policy"}, pages=[hollow]
    )
    run = collect(kit, tmp_path / "gov")
    assert run.problems == []
    items = run.by_path()
    assert items["bookmarked.pdf"].data["headings"] == ["Purpose", "Scope", "Roles"]
    assert items["bookmarked.pdf"].data["empty_sections"] == ["Purpose", "Scope", "Roles"]
    assert items["plain.pdf"].data["headings"] == ["AI policy", "1. Purpose", "2. Scope", "3. Roles"]
    assert items["plain.pdf"].data["empty_sections"] == ["AI policy", "1. Purpose", "2. Scope", "3. Roles"]


def test_pdf_sections_over_pages_with_running_footers(kit: Any, tmp_path: Path) -> None:
    footer = ("Acme Corp - internal", 8)
    kit.make_pdf(
        tmp_path / "gov" / "policy.pdf",
        outline=["Purpose", "Scope", "Roles and responsibilities of the AI governance board"],
        pages=[
            [("Purpose", 14), ("Why Acme uses AI, and the limits it sets.", 11), ("Scope", 14),
             ("[insert scope]", 11), footer, ("Page 1 of 2", 8)],
            # A heading wrapped over two lines is still found; the footer fills no section.
            [("Roles and responsibilities of the AI", 14), ("governance board", 14), ("To be defined.", 11),
             footer, ("Page 2 of 2", 8)],
        ],
    )  # fmt: skip
    [item] = collect(kit, tmp_path / "gov").evidence
    assert item.data["empty_sections"] == ["Scope", "Roles and responsibilities of the AI governance board"]


def test_a_docx_whose_headings_have_placeholder_bodies(kit: Any, tmp_path: Path) -> None:
    kit.make_docx(
        tmp_path / "gov" / "raci.docx",
        core={"title": "AI roles"},
        body=[
            (1, "AI roles and responsibilities"),
            (0, "Who does what for the AI systems in scope."),
            (2, "Accountable"),
            (0, "[Insert name]"),
            (2, "Responsible"),
            (0, "Click or tap here to enter text."),
            (2, "Consulted"),
            (0, "Consulted"),
            (2, "Informed"),
            (0, ""),
            (2, "Escalation"),
            (0, "To be completed."),
            (2, "Review"),
            (0, "The board reviews this table every year."),
        ],
    )
    [item] = collect(kit, tmp_path / "gov").evidence
    assert item.data["empty_sections"] == [
        "Accountable",
        "Responsible",
        "Consulted",
        "Informed",
        "Escalation",
    ]


def test_an_unreadable_document_is_defective(
    kit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "gov"
    root.mkdir()
    locked = root / "locked.pdf"
    locked.write_bytes(b"%PDF-1.7")
    (root / "ok.md").write_text("# OK\n\nText.\n", encoding="utf-8")
    read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:  # chmod 000 does not stop root, so refuse as the OS would
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    run = collect(kit, root)
    assert [item.data["path"] for item in run.evidence] == ["ok.md"]
    assert run.defects == [
        ("document", "file:gov/locked.pdf", "locked.pdf: cannot be read (Permission denied)")
    ]


def test_a_broken_document_is_a_defective_item_through_the_host(tmp_path: Path) -> None:
    root = tmp_path / "gov"
    root.mkdir()
    (root / "policy.md").write_text("---\nid: POL-1\nstatus: [approved\n---\n# Policy\n", encoding="utf-8")
    (root / "policy.md.meta.yaml").write_text("owner: Risk\n", encoding="utf-8")
    (root / "record.docx").write_bytes(b"PK\x03\x04 not a zip")
    run = execute_collector(SPEC, config={"sources": [{"path": "gov"}]}, base_path=tmp_path)
    defective = {item.source: item for item in run.evidence}
    assert sorted(defective) == ["file:gov/policy.md", "file:gov/record.docx"]
    assert {item.kind for item in run.evidence} == {"document"}
    assert all(item.data == {} for item in run.evidence)
    assert defective["file:gov/policy.md"].defect == (
        "policy.md:3:18: not valid YAML: expected ',' or ']', but got '<stream end>'"
    )
    assert str(defective["file:gov/record.docx"].defect).startswith("record.docx: not a readable DOCX file (")


def test_metadata_values_that_say_nothing_are_not_given(tmp_path: Path) -> None:
    """A template's metadata left unfilled (TBD, "[insert ...]", {}, blanks) is no value: a rule asking for
    the value must not be satisfied by it. An empty list still says "none"."""
    root = tmp_path / "gov"
    root.mkdir()
    (root / "assessment.md").write_text(
        "---\nid: AIA-1\ntype: ai-impact-assessment\nstatus: approved\nowner: Risk\napprover: Board\n"
        "retention_class: TBD\ndata_resources: {}\nimpacts: {societal: '', individuals: '[insert groups]'}\n"
        "suppliers: []\nsources: [TBD, payments]\nlegal_basis: Contract (Art. 6(1)(b) GDPR)\n---\n# AIA\n",
        encoding="utf-8",
    )
    run = execute_collector(SPEC, config={"sources": [{"path": "gov"}]}, base_path=tmp_path)
    (item,) = run.evidence
    # The contract's fields of an ai-impact-assessment are in metadata, each present; the rest in extra.
    assert item.data["metadata"] == {
        "impacts": None,
        "retention_class": None,
        "retention_until": None,
        "societal_impact": None,
        "societal_impact_justification": None,
    }
    assert item.data["extra"] == {
        "data_resources": None,
        "legal_basis": "Contract (Art. 6(1)(b) GDPR)",
        "sources": ["payments"],
        "suppliers": [],
    }
    assert [d.message for d in run.diagnostics] == [
        # the type's declared fields first, in the contract's order, then the other keys
        "assessment.md: line 7: key 'retention_class' holds no value ('TBD'): read as not given",
        "assessment.md: line 9: key 'impacts' holds no value "
        "({'societal': '', 'individuals': '[insert groups]'}): read as not given",
        "assessment.md: line 8: key 'data_resources' holds no value ({}): read as not given",
    ]


# -- the shared reader and placeholder test -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says_something"),
    [
        ("", False),
        ("TBD", False),
        ("tbc.", False),
        ("TODO: name the owners", False),
        ("FIXME", False),
        ("XXX", False),
        ("Coming soon", False),
        ("To be defined", False),
        ("To be determined by the board.", False),
        ("[insert date]", False),
        ("Effective from [Insert date].", False),
        ("<insert owner>", False),
        ("{{ owner_name }}", False),
        ("{% if approved %}", False),
        ("[More Information Needed]", False),
        ("Lorem ipsum dolor sit amet", False),
        ("<!-- write the scope here -->", False),
        ("**Owner:** TBD", False),
        ("- Owner:", False),
        ("Scope", False),  # the heading, repeated
        ("2. Scope", False),
        ("N/A", True),  # an answer in a policy; a card collector says otherwise
        ("Not applicable: we do not buy AI systems.", True),
        ("Dates for the rollout are TBD by the board.", True),
        ("The scope is every AI system Acme operates.", True),
        ("See <https://intranet.example.com/scope>.", True),
        ("<https://intranet.example.com/scope>", True),
        ("**Owner:** Chief Risk Officer", True),
        ("The [Add-on rules](https://example.com/addon) apply.", True),
    ],
)
def test_what_says_something(body: str, says_something: bool) -> None:
    assert has_content([body], heading="Scope") is says_something
    blocks = markdown_blocks(f"# Policy\n\n## Scope\n\n{body}\n")
    assert ("Scope" in empty_sections(blocks)) is not says_something


def test_not_applicable_is_no_answer_where_the_collector_says_so() -> None:
    assert has_content(["N/A"]) is True
    assert has_content(["N/A"], not_applicable_is_content=False) is False
    assert has_content(["n/a - see the risk register"], not_applicable_is_content=False) is False


def test_restated_metadata_says_nothing() -> None:
    assert has_content(["- **License:** mit"], restated=["mit"]) is False
    assert has_content(["- **Language(s):** ['en', 'fr']"], restated=["en", "fr"]) is False
    assert has_content(["- **License:** mit", "- **Developed by:** Acme"], restated=["mit"]) is True
    assert has_content(["mit"], restated=["mit"]) is True  # only a Label: value line is a restatement


def test_markdown_blocks_follow_commonmark() -> None:
    text = (
        "Title\n=====\n\n<!--\n## Hidden\n-->\n\n````\n```\n## Fenced\n```\n````\n\n~~~\n# Tilde\n~~~\n\n"
        "| Name | Notes |\n|---|---|\n| a | b |\n\n## **Bold** `code` &amp; more <!-- x -->\n\n"
        "    # indented code\n"
    )
    blocks = markdown_blocks(text)
    assert [block for block in blocks if block.level] == [
        TextBlock(1, "Title"),
        TextBlock(2, "Bold code & more"),
    ]
    body = [block.text for block in blocks if not block.level]
    assert body == ["```\n## Fenced\n```\n", "# Tilde\n", "a", "b", "# indented code\n"]  # no header cells


def test_hostile_lines_are_judged_in_bounded_time() -> None:
    # CPU time, not wall time: a quadratic scan costs minutes of CPU, a loaded machine only wall time
    started = time.process_time()
    for line in ("{{" * 100_000, "[insert " * 50_000, "<!--" * 100_000, "{#" * 100_000, "a:" + " " * 100_000):
        has_content([line], heading="Scope")
    assert time.process_time() - started < 5


@settings(max_examples=500, deadline=None, derandomize=True)
@example(text="{{{}}", limit=0, marks=("{{", "}}"))  # one opening too far from its closing, the next not
@given(
    text=st.text(alphabet="{}#%a\n", max_size=40),
    limit=st.integers(0, 6),
    marks=st.sampled_from([("{#", "#}"), ("{{", "}}"), ("{%", "%}")]),
)
def test_enclosed_spans_are_those_of_the_bounded_lazy_expression(
    text: str, limit: int, marks: tuple[str, str]
) -> None:
    # What sections._enclosed replaced: a regular expression that tried `limit` characters after every
    # opening (quadratic on a hostile line); the spans must be the same.
    opening, closing = marks
    pattern = re.compile(f"{re.escape(opening)}.{{0,{limit}}}?{re.escape(closing)}", re.DOTALL)
    expected = [match.span() for match in pattern.finditer(text)]
    assert list(sections._enclosed(text, opening, closing, limit)) == expected
