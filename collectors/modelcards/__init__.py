"""The built-in ``modelcards`` collector: Hugging Face style model and dataset cards.

Cards live in folders or git repositories (README.md with YAML metadata and Markdown sections); each
becomes a ``model_card`` or ``dataset_card`` item named after the registered model or dataset it
documents, so rules can join them to registry evidence.

The collector and its card reader are imported when a collection runs, so registering the plugin costs
only its schemas (``tests/test_import_cost.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from annexa.collectors.modelcards.schema import (
    CONFIG_SCHEMA,
    DATASET_CARD,
    DATASET_CARD_SCHEMA,
    MODEL_CARD,
    MODEL_CARD_SCHEMA,
    NAME,
    VERSION,
)
from annexa.plugins import CollectorSpec, hookimpl

if TYPE_CHECKING:
    from annexa.collectors.modelcards.collector import ModelCardsCollector

__all__ = ["CONFIG_SCHEMA", "DATASET_CARD", "MODEL_CARD", "ModelCardsCollector", "annexa_collectors"]


@hookimpl
def annexa_collectors() -> Iterator[CollectorSpec]:
    yield CollectorSpec(
        name=NAME,
        version=VERSION,
        kinds={MODEL_CARD: MODEL_CARD_SCHEMA, DATASET_CARD: DATASET_CARD_SCHEMA},
        config_schema=CONFIG_SCHEMA,
        factory=_collector,
        description="Hugging Face style model and dataset cards in folders and git repositories.",
    )


def _collector() -> ModelCardsCollector:
    from annexa.collectors.modelcards.collector import ModelCardsCollector

    return ModelCardsCollector()


def __getattr__(name: str) -> Any:
    if name == "ModelCardsCollector":
        from annexa.collectors.modelcards.collector import ModelCardsCollector

        return ModelCardsCollector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
