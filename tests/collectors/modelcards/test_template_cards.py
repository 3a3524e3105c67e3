"""Cards left as the official Hugging Face templates, rendered by ``huggingface_hub`` itself: boilerplate is
not content, so a template nobody filled in never counts as a filled card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData, ModelCard, ModelCardData

from annexa.collectors import modelcards
from annexa.plugins import CollectorSpec

SPEC: CollectorSpec = next(iter(modelcards.annexa_collectors()))
MODEL_SECTIONS = [
    "model_description", "intended_use", "out_of_scope_use", "limitations", "bias_risks", "training_data",
    "evaluation",
]  # fmt: skip
DATASET_SECTIONS = [
    "dataset_description", "intended_use", "dataset_structure", "collection", "personal_information",
    "bias_risks", "limitations",
]  # fmt: skip
MODEL_DATA = ModelCardData(
    license="mit",
    language=["en", "fr"],
    base_model="google-bert/bert-base-uncased",
    library_name="transformers",
    pipeline_tag="text-classification",
)


def collect_one(kit: Any, tmp_path: Path, text: str) -> Any:
    path = tmp_path / "cards" / "churn-model" / "README.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    run = kit.run(SPEC, {"sources": [{"path": "cards"}]}, base_path=tmp_path)
    assert run.defects == []
    (item,) = run.evidence
    return item


def test_the_model_card_template_left_as_it_is_is_not_filled(kit: Any, tmp_path: Path) -> None:
    card = ModelCard.from_template(MODEL_DATA, model_id="churn-model")
    item = collect_one(kit, tmp_path, str(card))
    assert item.kind == "model_card"
    assert item.data["license"] == "mit"
    # Every expected section has its heading, and none has more than the template put there: comments,
    # [More Information Needed], "Users (both direct and downstream) should be made aware ...", and
    # "**License:** mit" lines that only repeat the metadata.
    assert item.data["filled_sections"] == []
    assert item.data["empty_sections"] == MODEL_SECTIONS
    assert item.data["missing_sections"] == []
    assert item.data["sections"]["bias_risks"] == {"heading": "Bias, Risks, and Limitations", "filled": False}
    assert item.data["sections"]["model_description"] == {"heading": "Model Details", "filled": False}


def test_the_dataset_card_template_left_as_it_is_is_not_filled(kit: Any, tmp_path: Path) -> None:
    data = DatasetCardData(license="cc-by-4.0", language="en", pretty_name="Support conversations")
    item = collect_one(kit, tmp_path, str(DatasetCard.from_template(data)))
    assert item.kind == "dataset_card"
    assert item.data["pretty_name"] == "Support conversations"
    assert item.data["filled_sections"] == []
    assert item.data["empty_sections"] == DATASET_SECTIONS
    assert item.data["missing_sections"] == []


def test_a_template_filled_in_is_filled(kit: Any, tmp_path: Path) -> None:
    card = ModelCard.from_template(
        MODEL_DATA,
        model_id="churn-model",
        model_description="A gradient-boosted classifier that scores the churn risk of retail customers.",
        direct_use="Retention analysts rank customers for outreach.",
        out_of_scope_use="Pricing or credit decisions.",
        bias_risks_limitations="Scores are less accurate for customers with under three months of history.",
        training_data="Customer activity 2023-2025 from the CRM export.",
        results="AUC 0.84 on the 2025 holdout.",
    )
    item = collect_one(kit, tmp_path, str(card))
    assert item.data["filled_sections"] == MODEL_SECTIONS
    assert item.data["empty_sections"] == []


def test_only_the_sections_filled_in_count(kit: Any, tmp_path: Path) -> None:
    card = ModelCard.from_template(
        MODEL_DATA,
        model_id="churn-model",
        # What transformers writes into a card it generates by itself is boilerplate too.
        model_description="This is the model card of a 🤗 transformers model that has been pushed on the "
        "Hub. This model card has been automatically generated.",
        direct_use="Retention analysts rank customers for outreach.",
        training_data="TBD",
    )
    item = collect_one(kit, tmp_path, str(card))
    assert item.data["filled_sections"] == ["intended_use"]
    assert item.data["empty_sections"] == [name for name in MODEL_SECTIONS if name != "intended_use"]


def test_commented_out_headings_are_not_sections(kit: Any, tmp_path: Path) -> None:
    card = ModelCard.from_template(
        MODEL_DATA,
        model_id="churn-model",
        direct_use="Retention analysts rank customers for outreach.",
        training_data="Customer activity 2023-2025 from the CRM export.",
    )
    text = (
        str(card)
        # Headings an editor disabled: what follows them now belongs to the section above.
        .replace("## Bias, Risks, and Limitations", "<!-- ## Bias, Risks, and Limitations -->")
        .replace("### Training Data", "<!--\n### Training Data\n-->")
    )
    item = collect_one(kit, tmp_path, text)
    assert "Bias, Risks, and Limitations" not in item.data["headings"]
    assert "Training Data" not in item.data["headings"]
    assert item.data["sections"]["limitations"] == {"heading": None, "filled": False}
    assert item.data["missing_sections"] == ["limitations", "bias_risks", "training_data"]
    assert item.data["filled_sections"] == ["intended_use"]


def test_a_heading_in_a_four_backtick_fence_is_not_a_section(kit: Any, tmp_path: Path) -> None:
    text = (
        "---\nlicense: mit\n---\n# Churn model\n\n## Uses\n\nRetention analysts rank customers.\n\n"
        "## How to get started\n\n````markdown\n```python\n## Limitations\n```\n````\n"
    )
    item = collect_one(kit, tmp_path, text)
    assert item.data["headings"] == ["Churn model", "Uses", "How to get started"]
    assert "limitations" in item.data["missing_sections"]
