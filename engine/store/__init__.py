"""The evidence store and scan history: content-addressed files, an SQLite index, a hash chain.

Layout of a store directory (``.annexa/`` by default)::

    evidence/ab/abcdef....json    Evidence.canonical(); the name is its SHA-256 (= Evidence.id)
    evidence/packs/1234....pack   many such objects in one file (a batch of 256 or more new items),
                                  each listed by its SHA-256; the pack is named by its own SHA-256
    manifests/12/1234....json     one scan manifest (canonical JSON), named by its SHA-256
    findings/56/5678....json      one scan's findings (the canonical JSON of their list), named by its
                                  SHA-256, which the manifest holds (version 1 manifests: inline)
    attestations/12/1234....json  the signature of a manifest (a DSSE envelope), named by its digest
    index.sqlite                  scans, findings and evidence (WAL mode), for history and drift queries
    HEAD                          digest of the newest recorded manifest (detects a truncated index)

The files are the record; the index orders and finds them. Each manifest names the digest of the
previous one, so rewriting any past scan breaks every later link, and :meth:`Store.verify` names the
first broken item. Every file write is atomic (temp file + rename) and a scan becomes part of the
history only when its index row commits, so a process killed at any moment leaves either the whole scan
or an orphan manifest file that verify reports as a note, never a broken chain.

Findings come back from :meth:`Store.load_scan` as :class:`~annexa.model.findings.Finding` objects (not
dicts). To re-evaluate an old scan: ``scan = store.load_scan(ref)``, then
``evaluate(ruleset, store.evidence_of(scan), now=scan.record.finished_at,
collected=scan.record.collected_by_kind())`` with the rule pack whose digest is
``scan.record.rule_pack_digest``.
"""

from __future__ import annotations

from pathlib import Path

from annexa.store.base import DEFAULT_STORE, SHARED_SCHEMES, Store
from annexa.store.directory import DirectoryStore
from annexa.store.manifest import (
    SCHEMA_VERSION,
    CollectionStatus,
    ScanRecord,
    ScanSummary,
    StoredScan,
    StoreError,
    build_manifest,
    finding_from_manifest,
    finding_to_manifest,
    new_scan_id,
    record_from_manifest,
)
from annexa.store.verification import VerifyProblem, VerifyReport, verify_store

__all__ = [
    "DEFAULT_STORE",
    "SCHEMA_VERSION",
    "CollectionStatus",
    "DirectoryStore",
    "ScanRecord",
    "ScanSummary",
    "Store",
    "StoreError",
    "StoredScan",
    "VerifyProblem",
    "VerifyReport",
    "build_manifest",
    "finding_from_manifest",
    "finding_to_manifest",
    "new_scan_id",
    "open_store",
    "record_from_manifest",
    "verify_store",
]


def open_store(
    location: str | Path = DEFAULT_STORE, *, create: bool = True, evidence: str | None = None
) -> Store:
    """Open the store at ``location``: a folder (the embedded store) or ``postgresql://...`` (the
    shared store, whose evidence locker ``evidence`` names: ``s3://bucket/prefix`` or a folder;
    needed only when the store is created, as the index remembers it).

    :raises StoreError: no store there (with ``create=False``), or it cannot be opened.
    """
    text = str(location)
    if text.startswith(SHARED_SCHEMES):
        from annexa.store.postgres import PostgresStore  # psycopg only when asked for

        return PostgresStore.open_url(text, create=create, evidence=evidence)
    if evidence is not None:
        raise StoreError(
            f"store.evidence ({evidence}) needs a shared store: set store.url to postgresql://..."
        )
    return DirectoryStore.open(text, create=create)
