"""The built-in ``documents`` collector: governance documents in folders and git repositories.

Markdown front matter, PDF document information, DOCX core and custom properties and ``NAME.meta.yaml``
sidecars all map onto the field set of the catalog's ``conventions.document_metadata``.
"""

from __future__ import annotations

from collections.abc import Iterator

from annexa.collectors.docstore.collector import NAME, VERSION, DocumentsCollector
from annexa.collectors.docstore.schema import CONFIG_SCHEMA, DOCUMENT_SCHEMA, KIND
from annexa.plugins import CollectorSpec, hookimpl

__all__ = ["CONFIG_SCHEMA", "DOCUMENT_SCHEMA", "KIND", "DocumentsCollector", "annexa_collectors"]


@hookimpl
def annexa_collectors() -> Iterator[CollectorSpec]:
    yield CollectorSpec(
        name=NAME,
        version=VERSION,
        kinds={KIND: DOCUMENT_SCHEMA},
        config_schema=CONFIG_SCHEMA,
        factory=DocumentsCollector,
        description="Governance documents (Markdown, PDF, DOCX) in folders and git repositories.",
    )
