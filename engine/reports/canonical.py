"""``--format json``: the canonical result document itself (schema: ``annexa/data/result.schema.json``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def render_json(document: Mapping[str, Any]) -> str:
    """The report document as indented JSON, keys in the model's order."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
