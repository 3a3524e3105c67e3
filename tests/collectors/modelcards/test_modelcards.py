"""The modelcards collector against real card files and real git repositories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from annexa.collectors import modelcards
from annexa.plugins import CollectorError, CollectorSpec
from annexa.plugins.testing import check_collector_spec, execute_collector

SPEC: CollectorSpec = next(iter(modelcards.annexa_collectors()))
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "modelcards"

# The Hugging Face model card template as `huggingface_hub` renders it with no values filled in.
HF_TEMPLATE = """---
license: mit
tags: []
---

# Model Card for {{ model_id | default("Model ID", true) }}

<!-- Provide a quick summary of what the model is/does. -->

## Model Details

### Model Description

<!-- Provide a longer summary of what this model is. -->

- **Developed by:** [More Information Needed]
- **Funded by [optional]:** [More Information Needed]
- **Model type:** [More Information Needed]
- **Language(s) (NLP):** [More Information Needed]

## Uses

### Direct Use

[More Information Needed]

### Out-of-Scope Use

[More Information Needed]

## Bias, Risks, and Limitations

[More Information Needed]

### Recommendations

Users (both direct and downstream) should be made aware of the risks, biases and limitations of the model.

## Training Details

### Training Data

[More Information Needed]

## Evaluation

### Testing Data, Factors & Metrics

#### Metrics

[More Information Needed]

### Results

[More Information Needed]
"""

FILLED = """---
model_name: credit-risk
license: apache-2.0
language: en
datasets: [acme/loans]
base_model: [google-bert/bert-base-uncased]
metrics: [accuracy, {type: f1}]
last_reviewed: 2026-10-01
owner: Model Risk
risk_tier: high
model-index:
  - name: credit-risk-hf
    results:
      - task: {type: text-classification, name: Default prediction}
        dataset: {name: Loans 2025, type: acme/loans}
        metrics:
          - {type: accuracy, value: 0.91}
          - {type: auc, value: .nan}
---
# Credit risk

## Intended uses & limitations

Scores loan applications for analyst review. It does not work for business loans.

## Out-of-scope use

Automated rejection without human review.

## Ethical considerations

Approval rates differ by age band; monitored monthly.

## Training and evaluation data

Loans 2020-2025, 1.2 M applications.

## Evaluation results

Accuracy 0.91 on the 2025 holdout.

## Model description

A fine-tuned BERT classifier.
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def collect(kit: Any, root: Path, **config: Any) -> Any:
    return kit.run(SPEC, {"sources": [{"path": str(root)}], **config}, base_path=root.parent)


def test_spec_is_valid() -> None:
    check_collector_spec(SPEC)


def test_the_unfilled_hugging_face_template_has_every_section_empty(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "cards", "churn-model/README.md", HF_TEMPLATE)
    (item,) = collect(kit, tmp_path / "cards").evidence
    assert item.kind == "model_card"
    assert item.source == "file:cards/churn-model/README.md"
    assert item.data["model_name"] == "churn-model"  # no metadata name: the folder's
    assert item.data["license"] == "mit"
    assert item.data["filled_sections"] == []
    assert item.data["empty_sections"] == [
        "model_description", "intended_use", "out_of_scope_use", "limitations", "bias_risks",
        "training_data", "evaluation",
    ]  # fmt: skip
    # The template's own sentence under Recommendations ("Users ... should be made aware of the risks")
    # is boilerplate, so it does not fill the bias/risk section above it.
    assert item.data["sections"]["bias_risks"] == {"heading": "Bias, Risks, and Limitations", "filled": False}


def test_a_filled_card_reads_metadata_results_and_sections(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "cards", "credit/README.md", FILLED)
    run = collect(kit, tmp_path / "cards")
    (item,) = run.evidence
    data = item.data
    assert data["model_name"] == "credit-risk"  # metadata model_name beats the model-index name
    assert data["language"] == ["en"]
    assert data["datasets"] == ["acme/loans"]
    assert data["base_model"] == ["google-bert/bert-base-uncased"]
    assert data["metrics"] == ["accuracy", "f1", "auc"]
    assert data["evaluation_results"] == [
        {"model": "credit-risk-hf", "task": "text-classification", "dataset": "Loans 2025",
         "metric": "accuracy", "value": 0.91},
        {"model": "credit-risk-hf", "task": "text-classification", "dataset": "Loans 2025",
         "metric": "auc", "value": "nan"},
    ]  # fmt: skip
    assert data["last_reviewed"] == "2026-10-01"
    assert data["owner"] == "Model Risk"
    assert data["extra"] == {"risk_tier": "high"}
    assert data["missing_sections"] == []
    assert data["empty_sections"] == []
    assert data["sections"]["limitations"] == {"heading": "Intended uses & limitations", "filled": True}
    assert data["sections"]["bias_risks"]["heading"] == "Ethical considerations"
    assert data["git"] is None
    assert data["store"] == "folder"
    assert run.problems == []


def test_model_index_name_and_missing_sections(kit: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "cards",
        "x/README.md",
        "---\nmodel-index:\n  - name: from-index\n---\n# X\n\n## Uses\n\nFor X.\n",
    )
    (item,) = collect(kit, tmp_path / "cards").evidence
    assert item.data["model_name"] == "from-index"
    assert item.data["filled_sections"] == ["intended_use"]
    assert "limitations" in item.data["missing_sections"]
    assert item.data["sections"]["evaluation"] == {"heading": None, "filled": False}


@pytest.mark.parametrize(
    ("body", "filled"),
    [
        ("More Information Needed", False),
        ("[More Information Needed]", False),
        ("more information needed", False),
        ("TODO", False),
        ("- TODO: describe the intended users", False),
        ("TBD", False),
        ('{{ direct_use | default("[More Information Needed]", true)}}', False),
        ("[optional]", False),
        ("<Your description here>", False),
        ("- **Developed by:** [More Information Needed]", False),
        ("<!-- describe the uses -->", False),
        ("Lorem ipsum dolor sit amet.", False),
        ("| Use | Notes |\n|---|---|\n| [More Information Needed] | TBD |", False),
        ("TBC", False),
        ("FIXME: who uses it?", False),
        ("XXX", False),
        ("Coming soon.", False),
        ("To be completed by the model owner.", False),
        ("[insert the intended users]", False),
        ("Used by <insert team> for triage.", False),
        ("N/A", False),  # every model has an intended use, limitations and risks to state
        ("Not applicable.", False),
        ("Intended use", False),  # the heading repeated as its own text
        ("**Intended use**", False),
        ("<!-- ## Direct use\n\nAnalysts triage alerts with it. -->", False),
        (
            "This is the model card of a 🤗 transformers model that has been pushed on the Hub. "
            "This model card has been automatically generated.",
            False,
        ),
        ("Analysts triage alerts with it.", True),
        ("- **Developed by:** Acme Fraud team", True),
        ("Release dates are TBD, but the use is fraud triage.", True),
        ("| Use | Notes |\n|---|---|\n| Fraud triage | EU only |", True),
    ],
)
def test_placeholders_count_as_empty(kit: Any, tmp_path: Path, body: str, filled: bool) -> None:
    write(
        tmp_path / "cards",
        "m/README.md",
        f"# M\n\n## Intended use\n\n{body}\n\n## Limitations\n\nNone known.\n",
    )
    (item,) = collect(kit, tmp_path / "cards").evidence
    assert item.data["sections"]["intended_use"]["filled"] is filled
    assert item.data["sections"]["limitations"]["filled"] is True


def test_a_filled_out_of_scope_subsection_does_not_fill_the_intended_use(kit: Any, tmp_path: Path) -> None:
    card = (
        "# M\n\n## Uses\n\n### Direct Use\n\n[More Information Needed]\n\n"
        "### Out-of-Scope Use\n\nNo credit decisions.\n"
    )
    write(tmp_path / "cards", "m/README.md", card)
    (item,) = collect(kit, tmp_path / "cards").evidence
    assert item.data["sections"]["intended_use"]["filled"] is False
    assert item.data["sections"]["out_of_scope_use"] == {"heading": "Out-of-Scope Use", "filled": True}
    # Text of a subsection that stands for nothing else does count for its parent.
    write(
        tmp_path / "cards",
        "m/README.md",
        card.replace("### Direct Use\n\n[More Information Needed]", "### Who\n\nAnalysts."),
    )
    (item,) = collect(kit, tmp_path / "cards").evidence
    assert item.data["sections"]["intended_use"] == {"heading": "Uses", "filled": True}


def test_headings_inside_code_blocks_are_not_sections(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "cards", "m/README.md", "# M\n\n## Uses\n\n```\n## Limitations\n```\n")
    (item,) = collect(kit, tmp_path / "cards").evidence
    assert item.data["headings"] == ["M", "Uses"]
    assert item.data["sections"]["intended_use"]["filled"] is True  # the code block is its text


def test_dataset_cards_are_told_apart_by_their_metadata(kit: Any, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    write(cards, "loans/README.md", "---\npretty_name: Loans\ntask_categories: tabular-classification\n"
          "size_categories: [1M<n<10M]\n---\n# Loans\n\n## Dataset Summary\n\nLoan applications.\n\n"
          "## Personal and Sensitive Information\n\n[More Information Needed]\n")  # fmt: skip
    write(cards, "declared/README.md", "---\ncard_type: dataset\ndataset_name: acme/declared\n---\n# D\n")
    write(cards, "bert/MODEL_CARD.md", "---\npretty_name: looks like a dataset\n---\n# B\n")
    write(cards, "odd/README.md", "---\ncard_type: pipeline\n---\n# O\n")
    run = collect(kit, cards)
    by_source = {item.source: item for item in run.evidence}
    loans = by_source["file:cards/loans/README.md"]
    assert loans.kind == "dataset_card"
    assert loans.data["dataset_name"] == "loans"
    assert loans.data["pretty_name"] == "Loans"
    assert loans.data["task_categories"] == ["tabular-classification"]
    assert loans.data["filled_sections"] == ["dataset_description"]
    assert loans.data["empty_sections"] == ["personal_information"]
    assert by_source["file:cards/declared/README.md"].data["dataset_name"] == "acme/declared"
    assert by_source["file:cards/bert/MODEL_CARD.md"].kind == "model_card"
    assert by_source["file:cards/odd/README.md"].kind == "model_card"
    assert run.messages() == [
        "odd/README.md: card_type 'pipeline' is neither 'model' nor 'dataset'; guessed from the metadata"
    ]


def test_only_the_requested_kinds_are_produced(kit: Any, tmp_path: Path) -> None:
    from annexa.plugins import CollectRequest

    write(tmp_path / "c", "m/README.md", "# M\n")
    write(tmp_path / "c", "d/README.md", "---\ncard_type: dataset\n---\n# D\n")
    request = CollectRequest(config={"sources": [{"path": str(tmp_path / "c")}]},
                             kinds=frozenset({"dataset_card"}), now=kit.now)  # fmt: skip
    assert [item.kind for item in SPEC.factory().collect(request)] == ["dataset_card"]
    request = CollectRequest(
        config={"sources": [{"path": "nowhere"}]}, kinds=frozenset({"document"}), now=kit.now
    )
    assert list(SPEC.factory().collect(request)) == []  # not asked: the bad path is not even looked at


def test_a_broken_card_is_reported_and_the_others_still_come(kit: Any, tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    write(cards, "a/README.md", "---\nlicense: mit\ntags: [unclosed\n---\n# A\n")
    write(cards, "b/README.md", "---\nlicense: mit\n# never closed\n")
    (cards / "c").mkdir()
    (cards / "c" / "README.md").write_bytes(b"# C\n\xff\xfe\n")
    write(cards, "d/README.md", "---\n- a list\n---\n")
    write(cards, "ok/README.md", "---\nlast_reviewed: someday\n---\n# OK\n")
    write(cards, "ok/notes.md", "# not a card file name\n")
    run = collect(kit, cards)
    assert [item.source for item in run.evidence] == ["file:cards/ok/README.md"]
    assert run.evidence[0].data["last_reviewed"] is None
    assert run.messages() == [
        "a/README.md:3: metadata is not valid YAML: expected ',' or ']', but got '<stream end>'",
        "b/README.md:1: front matter opened with '---' on line 1 is never closed",
        "c/README.md:2: not UTF-8 text (byte offset 4)",
        "d/README.md:2: metadata must be a mapping of keys to values",
        "ok/README.md: last_reviewed 'someday' is not a date (expected YYYY-MM-DD)",
    ]
    # Each broken card is there: a defective item, not an absence. A README.md whose metadata cannot be
    # read may be a model or a dataset card, so it is a defective item of both kinds.
    broken = {
        "a": "a/README.md:3: metadata is not valid YAML: expected ',' or ']', but got '<stream end>'",
        "b": "b/README.md:1: front matter opened with '---' on line 1 is never closed",
        "c": "c/README.md:2: not UTF-8 text (byte offset 4)",
        "d": "d/README.md:2: metadata must be a mapping of keys to values",
    }
    assert sorted(run.defects) == sorted(
        (kind, f"file:cards/{card}/README.md", message)
        for card, message in broken.items()
        for kind in ("dataset_card", "model_card")
    )


def test_a_broken_card_is_a_defective_item_through_the_host(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    write(cards, "fraud/MODEL_CARD.md", "---\nmodel_name: fraud\nlicense: [mit\n---\n# Fraud\n")
    write(cards, "loans/README.md", "---\nlicense: mit\n# never closed\n")
    config = {"sources": [{"path": "cards"}]}
    run = execute_collector(SPEC, config=config, base_path=tmp_path, kinds={"model_card"})
    # The file name says MODEL_CARD.md: one defective model card. Only model cards were asked for, so
    # the README.md is a defective model card only.
    assert sorted((item.kind, item.source, item.defect) for item in run.evidence) == [
        ("model_card", "file:cards/fraud/MODEL_CARD.md",
         "fraud/MODEL_CARD.md:3: metadata is not valid YAML: expected ',' or ']', but got '<stream end>'"),
        ("model_card", "file:cards/loans/README.md",
         "loans/README.md:1: front matter opened with '---' on line 1 is never closed"),
    ]  # fmt: skip
    assert all(item.data == {} for item in run.evidence)
    assert {d.code for d in run.diagnostics} == {"source_problem"}  # no contract violation


def test_an_unreadable_card_is_defective(kit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    card = write(tmp_path / "cards", "fraud/MODEL_CARD.md", "# Fraud\n")
    read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path == card:
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    run = collect(kit, tmp_path / "cards")
    assert run.evidence == []
    message = "fraud/MODEL_CARD.md: cannot be read (Permission denied)"
    assert run.defects == [("model_card", "file:cards/fraud/MODEL_CARD.md", message)]


def test_two_cards_for_one_model_are_reported(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "c", "a/README.md", "---\nmodel_name: fraud\n---\n# A\n")
    write(tmp_path / "c", "b/README.md", "---\nmodel_name: fraud\n---\n# B\n")
    run = collect(kit, tmp_path / "c")
    assert len(run.evidence) == 2
    assert run.problems == [
        ("file:c/b/README.md", "second model_card for 'fraud' (the first is file:c/a/README.md)")
    ]


def test_git_history_of_cards(kit: Any, git_repo: Callable[[str], Any]) -> None:
    repo = git_repo("cards")
    repo.write("fraud/README.md", "# Fraud\n")
    repo.commit(["fraud/README.md"], author="Ada Lovelace", when="2026-05-01T10:00:00+02:00")
    repo.write("fraud/README.md", "# Fraud\n\n## Uses\n\nTriage.\n")
    repo.commit(["fraud/README.md"], author="Grace Hopper", when="2026-09-01T10:00:00+00:00")
    repo.write("draft/README.md", "# Draft\n")  # not committed
    run = kit.run(SPEC, {"sources": [{"git": "cards"}]}, base_path=repo.root.parent)
    by_source = {item.source: item.data for item in run.evidence}
    assert by_source["file:cards/fraud/README.md"]["git"] == {
        "last_commit_at": "2026-09-01T10:00:00Z", "last_commit_author": "Grace Hopper", "commits": 2,
    }  # fmt: skip
    assert by_source["file:cards/draft/README.md"]["git"] is None
    assert by_source["file:cards/draft/README.md"]["store"] == "git"


def test_bad_sources_fail_the_run_precisely(kit: Any, tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match=r"model card source 'missing' does not exist"):
        kit.run(SPEC, {"sources": [{"path": "missing"}]}, base_path=tmp_path)
    (tmp_path / "plain").mkdir()
    with pytest.raises(CollectorError, match=r"'plain' is not inside a git repository"):
        kit.run(SPEC, {"sources": [{"git": "plain"}]}, base_path=tmp_path)


def test_example_cards(kit: Any) -> None:
    run = kit.run(SPEC, {"sources": [{"path": "modelcards"}]}, base_path=EXAMPLES.parent)
    by_name = {item.data.get("model_name") or item.data["dataset_name"]: item for item in run.evidence}
    assert set(by_name) == {
        "fraud-scoring", "support-chatbot-intent", "acme/transactions-2025", "acme/support-conversations",
    }  # fmt: skip
    for model in ("fraud-scoring", "support-chatbot-intent"):
        assert by_name[model].kind == "model_card"
        assert by_name[model].data["empty_sections"] == []
        assert by_name[model].data["missing_sections"] == []
    # The conversations dataset card is the demo's incomplete one: template residue in four sections.
    conversations = by_name["acme/support-conversations"]
    assert conversations.kind == "dataset_card"
    assert conversations.data["empty_sections"] == [
        "dataset_structure", "personal_information", "bias_risks", "limitations",
    ]  # fmt: skip
    assert conversations.data["sections"]["limitations"] == {
        "heading": "Bias, Risks, and Limitations",
        "filled": False,
    }
    assert run.problems == []
