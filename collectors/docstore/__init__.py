"""The built-in ``documents`` collector: governance documents in folders, git repositories, S3 prefixes
and Confluence spaces.

Markdown front matter, PDF document information, DOCX core and custom properties and "Document control"
tables, and ``NAME.meta.yaml`` sidecars all map onto the field set of the catalog's
``conventions.document_metadata``; ``field_map`` and ``value_aliases`` in the configuration map an
organisation's own names onto it, and near misses are told with "did you mean".

The collector and its readers (pypdf, python-docx, boto3, requests for Confluence) are imported when a
collection runs, so registering the plugin costs only its schemas (``tests/test_import_cost.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from annexa.collectors.docstore.schema import CONFIG_SCHEMA, DOCUMENT_SCHEMA, KIND, NAME, VERSION
from annexa.plugins import CollectorSpec, hookimpl

if TYPE_CHECKING:
    from annexa.collectors.docstore.collector import DocumentsCollector

__all__ = ["CONFIG_SCHEMA", "DOCUMENT_SCHEMA", "KIND", "DocumentsCollector", "annexa_collectors"]


@hookimpl
def annexa_collectors() -> Iterator[CollectorSpec]:
    yield CollectorSpec(
        name=NAME,
        version=VERSION,
        kinds={KIND: DOCUMENT_SCHEMA},
        config_schema=CONFIG_SCHEMA,
        factory=_collector,
        description="Governance documents (Markdown, PDF, DOCX) in folders, git repositories, S3 prefixes "
        "and Confluence spaces.",
        scopes=source_scopes,
    )


def source_scopes(config: Mapping[str, Any]) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    """Each configured source is a scope: sources share nothing, so they can be collected apart."""
    return tuple(
        (_scope_name(entry, index), {**config, "sources": [entry]})
        for index, entry in enumerate(config.get("sources", ()))
    )


def _scope_name(entry: Mapping[str, Any], index: int) -> str:
    if "confluence" in entry:
        from annexa.collectors.docstore.confluence import confluence_scope

        return confluence_scope(entry["confluence"])
    return str(entry.get("path") or entry.get("git") or entry.get("s3") or f"source {index}")


def _collector() -> DocumentsCollector:
    from annexa.collectors.docstore.collector import DocumentsCollector

    return DocumentsCollector()


def __getattr__(name: str) -> Any:
    if name == "DocumentsCollector":
        from annexa.collectors.docstore.collector import DocumentsCollector

        return DocumentsCollector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
