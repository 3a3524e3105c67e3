"""The extension API of annexa: the only module plugin authors import from."""

from __future__ import annotations

from annexa.evidence import Evidence
from annexa.plugins.types import (
    CollectorError,
    CollectorSpec,
    CollectRequest,
    Collector,
    DocumentReader,
    PluginError,
)

__all__ = [
    "Collector",
    "CollectorError",
    "CollectorSpec",
    "CollectRequest",
    "DocumentReader",
    "Evidence",
    "PluginError",
]
