"""Documents recorded by an older annexa, read in today's shape.

Scans recorded before the evidence contract had a ``metadata`` object hold their documents' type-specific
fields under ``extra`` (``extra.suppliers``), and documents of a type annexa has since renamed to the
reference catalog's name (``ai-risk-assessment-procedure``) under the old name. Re-evaluating such a scan
(``annexa evaluate --scan``, ``--evidence``) reads each of them as the collector would write it today:
the type renamed, and the keys the contract declares for the type moved from ``extra`` into
``metadata`` (each declared field present, null when not given). Values are moved as recorded, not
re-typed: one that is not of its declared type breaks the document schema, so the item counts as
defective and every rule reading documents fails on it, with the schema's message.

The upgraded item keeps the id of the item as stored, so that findings cite what the store holds and an
auditor can verify it; only the reading changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from annexa.contract.fields import DOCUMENT_KIND, METADATA, Contract, load_contract
from annexa.model.evidence import Evidence, JSONValue

__all__ = ["upgraded"]


def upgraded(item: Evidence, contract: Contract | None = None) -> Evidence:
    """``item`` as today's documents collector would shape it; ``item`` itself when nothing changes."""
    if item.kind != DOCUMENT_KIND or item.defect is not None or not isinstance(item.data, Mapping):
        return item
    contract = contract or load_contract()
    doc_type = item.data.get("type")
    renamed = contract.renamed_types.get(doc_type) if isinstance(doc_type, str) else None
    if renamed is None and METADATA in item.data:
        return item
    data = dict(item.data)
    if renamed is not None:
        data["type"] = doc_type = renamed
    if METADATA not in data:
        kept = data.get("extra")
        extra: dict[str, JSONValue] = dict(kept) if isinstance(kept, Mapping) else {}
        declared = contract.document_type(doc_type) if isinstance(doc_type, str) else None
        data[METADATA] = {f.name: extra.pop(f.name, None) for f in (declared.fields if declared else ())}
        data["extra"] = extra
    new = dataclasses.replace(item, data=data)
    object.__setattr__(new, "_id", item.id)  # the stored item's id: findings cite what the store holds
    return new
