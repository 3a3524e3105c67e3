"""Front matter read leniently where that is safe (byte order mark, blank lines first, CRLF) and strictly
where it is not (a key given twice, a second ``---`` block, never closed), in documents and model cards
alike (issue 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from annexa.collectors import docstore, modelcards
from annexa.plugins import CollectorSpec, FrontMatterError, read_front_matter, split_front_matter

DOCUMENTS: CollectorSpec = next(iter(docstore.annexa_collectors()))
CARDS: CollectorSpec = next(iter(modelcards.annexa_collectors()))
FRONT = "---\nid: POL-1\ntype: policy\nstatus: approved\n---\n# Policy\n\nText.\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (FRONT, 2),
        ("\ufeff" + FRONT, 2),  # a byte order mark
        ("\n\n" + FRONT, 4),  # blank lines first
        ("  \n\t\n" + FRONT, 4),  # blank lines of spaces and tabs
        ("\ufeff\n" + FRONT, 3),  # a byte order mark, then a blank line
        ("\n\ufeff" + FRONT, 3),  # a blank line, then a byte order mark (two files pasted together)
        (FRONT.replace("\n", "\r\n"), 2),  # CRLF
        ("\ufeff\r\n" + FRONT.replace("\n", "\r\n"), 3),  # all three, as a Windows editor saves
        ("--- \n" + FRONT[4:], 2),  # a trailing space after the opening ---
    ],
)
def test_front_matter_is_found_after_a_bom_blank_lines_and_with_crlf(text: str, line: int) -> None:
    found = read_front_matter(text)
    assert found.text == "id: POL-1\ntype: policy\nstatus: approved"
    assert found.line == line
    assert found.body.replace("\r\n", "\n") == "# Policy\n\nText.\n"
    assert split_front_matter(text) == (found.text, found.body)


def test_a_text_without_front_matter_is_all_body() -> None:
    assert read_front_matter("\ufeff# Title\n\n---\n\nkey: not metadata\n") == (
        None, 1, "# Title\n\n---\n\nkey: not metadata\n",
    )  # fmt: skip
    assert read_front_matter("").text is None
    assert read_front_matter("\n\n").text is None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("---\nid: X\n", 1, "front matter opened with '---' on line 1 is never closed"),
        ("\n\n---\nid: X\n# Body\n", 3, "front matter opened with '---' on line 3 is never closed"),
        (
            "---\nid: X\n---\n---\nstatus: approved\n---\n# Body\n",
            4,
            "a second '---' block of metadata (lines 4-6) follows the front matter (lines 1-3); its keys "
            "would be lost: merge the two blocks",
        ),
        (
            "---\r\nid: X\r\n---\r\n\r\n---\r\nowner: Jo\r\napprover: Board\r\n...\r\n",
            5,
            "a second '---' block of metadata (lines 5-8) follows the front matter (lines 1-3); its keys "
            "would be lost: merge the two blocks",
        ),
    ],
)
def test_unsafe_front_matter_is_refused_with_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(FrontMatterError) as caught:
        read_front_matter(text)
    assert (caught.value.line, caught.value.message) == (line, message)


def test_a_thematic_break_after_the_front_matter_is_no_second_block() -> None:
    text = "---\nid: X\n---\n\n---\n\nA paragraph between two rules.\n\n---\n"
    found = read_front_matter(text)
    assert found.text == "id: X"
    assert found.body == "\n---\n\nA paragraph between two rules.\n\n---\n"


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# --- documents ----------------------------------------------------------------------------------------


def test_a_document_with_a_blank_line_bom_and_crlf_keeps_its_metadata(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "gov" / "policy.md", "\ufeff\r\n" + FRONT.replace("\n", "\r\n"))
    write(tmp_path / "gov" / "policy.md.meta.yaml", "\ufeffowner: Chief Risk Officer\r\napprover: Board\r\n")
    run = kit.run(DOCUMENTS, {"sources": [{"path": "gov"}]}, base_path=tmp_path)
    assert run.problems == []
    [item] = run.evidence
    assert {key: item.data[key] for key in ("id", "type", "status", "owner", "approver", "title")} == {
        "id": "POL-1",
        "type": "policy",
        "status": "approved",
        "owner": "Chief Risk Officer",
        "approver": "Board",
        "title": "Policy",
    }
    assert item.data["headings"] == ["Policy"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Line numbers count the blank lines before the front matter.
        (
            "\n\n---\nid: X\nstatus: draft\nid: Y\n---\n",
            "p.md:6: duplicate key 'id' (first on line 4): which value is meant cannot be told; keep one",
        ),
        (
            "---\nid: X\ntype: policy\n---\n\n---\nstatus: approved\n---\n# P\n",
            "p.md:6: a second '---' block of metadata (lines 6-8) follows the front matter (lines 1-4); its "
            "keys would be lost: merge the two blocks",
        ),
        ("\n---\nid: X\n", "p.md:2: front matter opened with '---' on line 2 is never closed"),
        ("\n\n---\nid: X\nstatus: [draft\n---\n", "p.md:5:15: not valid YAML: expected ',' or ']'"),
    ],
)
def test_unsafe_document_front_matter_makes_a_defective_document(
    kit: Any, tmp_path: Path, text: str, message: str
) -> None:
    write(tmp_path / "gov" / "p.md", text)
    run = kit.run(DOCUMENTS, {"sources": [{"path": "gov"}]}, base_path=tmp_path)
    assert run.evidence == []
    [(kind, source, defect)] = run.defects
    assert (kind, source) == ("document", "file:gov/p.md")
    assert defect.startswith(message), defect
    assert run.problems == [("file:gov/p.md", defect)]


def test_a_key_repeated_in_a_sidecar_makes_its_document_defective(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "gov" / "p.md", FRONT)
    write(tmp_path / "gov" / "p.md.meta.yaml", "status: approved\nowner: A\nstatus: draft\n")
    run = kit.run(DOCUMENTS, {"sources": [{"path": "gov"}]}, base_path=tmp_path)
    message = (
        "p.md.meta.yaml:3: duplicate key 'status' (first on line 1): which value is meant cannot be told; "
        "keep one"
    )
    assert run.evidence == []
    assert run.defects == [("document", "file:gov/p.md", message)]


# --- model cards --------------------------------------------------------------------------------------

CARD = "---\nmodel_name: fraud\nowner: Fraud Analytics\nlast_reviewed: 2026-09-15\n---\n# Fraud\n"


@pytest.mark.parametrize(
    "data",
    [
        "\n" + CARD,  # the case of issue 16: a blank line before the opening ---
        "\ufeff\n" + CARD,
        ("\ufeff\r\n" + CARD).replace("\n", "\r\n"),
    ],
)
def test_a_model_card_with_a_blank_line_before_its_metadata_keeps_it(
    kit: Any, tmp_path: Path, data: str
) -> None:
    write(tmp_path / "cards" / "fraud" / "README.md", data)
    run = kit.run(CARDS, {"sources": [{"path": "cards"}]}, base_path=tmp_path)
    assert run.problems == []
    [card] = run.evidence
    assert (card.data["model_name"], card.data["owner"], card.data["last_reviewed"], card.data["title"]) == (
        "fraud", "Fraud Analytics", "2026-09-15", "Fraud",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "\n---\nlicense: mit\nowner: A\nlicense: apache-2.0\n---\n# C\n",
            "README.md:5: duplicate key 'license' (first on line 3): which value is meant cannot be told; "
            "keep one",
        ),
        (
            "---\nlicense: mit\n---\n---\nowner: A\n---\n# C\n",
            "README.md:4: a second '---' block of metadata (lines 4-6) follows the front matter (lines 1-3); "
            "its keys would be lost: merge the two blocks",
        ),
    ],
)
def test_unsafe_card_metadata_makes_a_defective_card(
    kit: Any, tmp_path: Path, text: str, message: str
) -> None:
    write(tmp_path / "cards" / "c" / "README.md", text)
    run = kit.run(CARDS, {"sources": [{"path": "cards"}]}, base_path=tmp_path)
    assert run.evidence == []
    full = f"c/{message}"
    # A README.md may be either card: a defective item of both kinds.
    assert sorted(run.defects) == [
        ("dataset_card", "file:cards/c/README.md", full),
        ("model_card", "file:cards/c/README.md", full),
    ]
    assert run.problems == [("file:cards/c/README.md", full)]


def test_a_near_miss_card_key_is_told_and_kept_in_extra(kit: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "cards" / "fraud" / "README.md",
        "---\nlicence: mit\nreviewed_on: 2026-09-15\nModel_Owner: Fraud Analytics\nwidget: []\n"
        "license_name: acme-1.0\n---\n# Fraud\n",
    )
    run = kit.run(CARDS, {"sources": [{"path": "cards"}]}, base_path=tmp_path)
    [card] = run.evidence
    assert (card.data["license"], card.data["last_reviewed"], card.data["owner"]) == (None, None, None)
    assert card.data["extra"] == {
        "Model_Owner": "Fraud Analytics",
        "licence": "mit",
        "license_name": "acme-1.0",
        "reviewed_on": "2026-09-15",
        "widget": [],
    }
    # Hub keys (widget, license_name) are no near misses.
    assert run.messages() == [
        "fraud/README.md: line 2: key 'licence' is not a card field: did you mean 'license'? It is kept in "
        "extra, which no rule reads",
        "fraud/README.md: line 3: key 'reviewed_on' is not a card field: did you mean 'last_reviewed'? It is "
        "kept in extra, which no rule reads",
        "fraud/README.md: line 4: key 'Model_Owner' is not a card field: did you mean 'owner'? It is kept in "
        "extra, which no rule reads",
    ]
