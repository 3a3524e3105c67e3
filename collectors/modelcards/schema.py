"""JSON Schemas of the model-card collector: its configuration and the ``model_card`` and
``dataset_card`` kinds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annexa.collectors.modelcards.sections import DATASET_SECTIONS, MODEL_SECTIONS

NAME = "modelcards"  # the collector's name in annexa.yaml and in evidence
VERSION = "0.1.0"
MODEL_CARD = "model_card"
DATASET_CARD = "dataset_card"

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "collectors.modelcards",
    "type": "object",
    "properties": {
        "sources": {
            "type": "array",
            "minItems": 1,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "description": "A folder of cards; a git work tree is detected automatically.",
                        "properties": {"path": {"type": "string", "minLength": 1}},
                        "required": ["path"],
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "description": "A folder of cards that must be inside a git work tree.",
                        "properties": {"git": {"type": "string", "minLength": 1}},
                        "required": ["git"],
                        "additionalProperties": False,
                    },
                ]
            },
        },
        "file_names": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "default": ["README.md", "MODEL_CARD.md", "DATASET_CARD.md"],
            "description": "File names (any case) that hold a card; every other file is ignored.",
        },
    },
    "required": ["sources"],
    "additionalProperties": False,
}

_TEXT_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
_GIT: dict[str, Any] = {
    "oneOf": [
        {"type": "null"},
        {
            "type": "object",
            "properties": {
                "last_commit_at": {"type": "string", "format": "date-time"},
                "last_commit_author": {"type": "string"},
                "commits": {"type": "integer", "minimum": 1},
            },
            "required": ["last_commit_at", "last_commit_author", "commits"],
            "additionalProperties": False,
        },
    ]
}


def _sections_schema(names: Mapping[str, object]) -> dict[str, Any]:
    section = {
        "type": "object",
        "properties": {"heading": _TEXT_OR_NULL, "filled": {"type": "boolean"}},
        "required": ["heading", "filled"],
        "additionalProperties": False,
    }
    name_list: dict[str, Any] = {"type": "array", "items": {"enum": list(names)}}
    return {
        "sections": {
            "type": "object",
            "description": "Each expected section: the heading that stands for it (null if absent) and "
            "whether it holds real text (placeholders such as [More Information Needed] do not count).",
            "properties": dict.fromkeys(names, section),
            "required": list(names),
            "additionalProperties": False,
        },
        "filled_sections": {**name_list, "description": "Expected sections present and filled."},
        "empty_sections": {**name_list, "description": "Expected sections present but empty or placeholder."},
        "missing_sections": {**name_list, "description": "Expected sections with no heading at all."},
    }


_COMMON: dict[str, Any] = {
    "path": {"type": "string", "description": "POSIX path of the card file relative to the source root."},
    "title": {**_TEXT_OR_NULL, "description": "The first level-1 heading."},
    "license": _TEXT_OR_NULL,
    "language": _STRINGS,
    "tags": _STRINGS,
    "owner": {
        **_TEXT_OR_NULL,
        "description": "Metadata key owner (not a Hugging Face key; annexa convention).",
    },
    "last_reviewed": {**_TEXT_OR_NULL, "format": "date", "description": "Metadata key last_reviewed."},
    "headings": {**_STRINGS, "description": "Heading texts in card order."},
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "size_bytes": {"type": "integer", "minimum": 0},
    "store": {"enum": ["folder", "git"]},
    "git": _GIT,
    "extra": {"type": "object", "description": "Other metadata keys, JSON-safe (dates as ISO strings)."},
}
_COMMON_REQUIRED = [*_COMMON, "sections", "filled_sections", "empty_sections", "missing_sections"]

_RESULT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "model": _TEXT_OR_NULL,
        "task": _TEXT_OR_NULL,
        "dataset": _TEXT_OR_NULL,
        "metric": {"type": "string"},
        "value": {"type": ["number", "string", "null"]},
    },
    "required": ["model", "task", "dataset", "metric", "value"],
    "additionalProperties": False,
}

MODEL_CARD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": MODEL_CARD,
    "description": "One Hugging Face style model card (README.md with YAML metadata) in a folder or git "
    "repository.",
    "type": "object",
    "properties": {
        "model_name": {
            "type": "string",
            "description": "Registered model name the card documents: metadata model_name, else the "
            "first model-index name, else the card's folder name. Joins mlflow.registered_model.name.",
        },
        **_COMMON,
        "datasets": _STRINGS,
        "base_model": _STRINGS,
        "library_name": _TEXT_OR_NULL,
        "pipeline_tag": _TEXT_OR_NULL,
        "metrics": {**_STRINGS, "description": "Metric names from metadata metrics and model-index results."},
        "evaluation_results": {"type": "array", "items": _RESULT, "description": "model-index results."},
        **_sections_schema(MODEL_SECTIONS),
    },
    "required": [
        "model_name", *_COMMON_REQUIRED, "datasets", "base_model", "library_name", "pipeline_tag", "metrics",
        "evaluation_results",
    ],
    "additionalProperties": False,
}  # fmt: skip

DATASET_CARD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": DATASET_CARD,
    "description": "One Hugging Face style dataset card in a folder or git repository.",
    "type": "object",
    "properties": {
        "dataset_name": {
            "type": "string",
            "description": "Metadata dataset_name, else the card's folder name.",
        },
        "pretty_name": _TEXT_OR_NULL,
        **_COMMON,
        "task_categories": _STRINGS,
        "size_categories": _STRINGS,
        "source_datasets": _STRINGS,
        **_sections_schema(DATASET_SECTIONS),
    },
    "required": [
        "dataset_name", "pretty_name", *_COMMON_REQUIRED, "task_categories", "size_categories",
        "source_datasets",
    ],
    "additionalProperties": False,
}  # fmt: skip
