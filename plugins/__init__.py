"""The extension API of annexa: the only module plugin authors import from.

``HttpRetry`` is imported on first use (it subclasses urllib3's ``Retry``): registering a plugin must not
load an HTTP stack that only collecting needs (``tests/test_import_cost.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annexa.contract.fields import ContractField, load_contract, metadata_schema
from annexa.model.evidence import Evidence
from annexa.plugins.folders import (
    FileHistory,
    FolderSource,
    find_work_tree,
    read_history,
    resolve_folder_source,
)
from annexa.plugins.hookspecs import hookimpl
from annexa.plugins.sections import (
    FrontMatter,
    FrontMatterError,
    TextBlock,
    empty_sections,
    has_content,
    markdown_blocks,
    read_front_matter,
    split_front_matter,
)
from annexa.plugins.types import (
    Collector,
    CollectorError,
    CollectorSpec,
    CollectRequest,
    DocumentReader,
    IntegrationSpec,
    NonconformityChange,
    NonconformityChanges,
    PluginError,
    ReporterSpec,
    RuleFunctionSpec,
)

if TYPE_CHECKING:
    from annexa.plugins.http import HttpRetry

__all__ = [
    "CollectRequest",
    "Collector",
    "CollectorError",
    "CollectorSpec",
    "ContractField",
    "DocumentReader",
    "Evidence",
    "FileHistory",
    "FolderSource",
    "FrontMatter",
    "FrontMatterError",
    "HttpRetry",
    "IntegrationSpec",
    "NonconformityChange",
    "NonconformityChanges",
    "PluginError",
    "ReporterSpec",
    "RuleFunctionSpec",
    "TextBlock",
    "empty_sections",
    "find_work_tree",
    "has_content",
    "hookimpl",
    "load_contract",
    "markdown_blocks",
    "metadata_schema",
    "read_front_matter",
    "read_history",
    "resolve_folder_source",
    "split_front_matter",
]


def __getattr__(name: str) -> Any:
    if name == "HttpRetry":
        from annexa.plugins.http import HttpRetry

        return HttpRetry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
