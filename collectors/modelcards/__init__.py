"""The built-in ``modelcards`` collector: Hugging Face style model and dataset cards.

Cards live in folders or git repositories (README.md with YAML metadata and Markdown sections); each
becomes a ``model_card`` or ``dataset_card`` item named after the registered model or dataset it
documents, so rules can join them to registry evidence.
"""

from __future__ import annotations

from collections.abc import Iterator

from annexa.collectors.modelcards.collector import NAME, VERSION, ModelCardsCollector
from annexa.collectors.modelcards.schema import (
    CONFIG_SCHEMA,
    DATASET_CARD,
    DATASET_CARD_SCHEMA,
    MODEL_CARD,
    MODEL_CARD_SCHEMA,
)
from annexa.plugins import CollectorSpec, hookimpl

__all__ = ["CONFIG_SCHEMA", "DATASET_CARD", "MODEL_CARD", "ModelCardsCollector", "annexa_collectors"]


@hookimpl
def annexa_collectors() -> Iterator[CollectorSpec]:
    yield CollectorSpec(
        name=NAME,
        version=VERSION,
        kinds={MODEL_CARD: MODEL_CARD_SCHEMA, DATASET_CARD: DATASET_CARD_SCHEMA},
        config_schema=CONFIG_SCHEMA,
        factory=ModelCardsCollector,
        description="Hugging Face style model and dataset cards in folders and git repositories.",
    )
