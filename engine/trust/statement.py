"""The in-toto Statement (v1) a signed scan carries: what was assessed, and the verdicts' digests.

Subjects are the evidence items the scan rests on (``evidence/ab/abcd....json``, by SHA-256, as the store
names them); the predicate is the scan result: the manifest's digest and place in the chain (sequence,
previous manifest), the rule pack and configuration digests, the annexa version, the scan's time, the
digest of its findings, and the exceptions behind them with their approval (approver, justification,
expiry; and each expired exception that no longer waives). The manifest digest pins every byte of the
findings; the findings digest lets a bundle's reader re-evaluate and compare without the manifest's other
fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, Final

from annexa.model.evidence import canonical_json

STATEMENT_TYPE: Final = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE: Final = "https://annexa.dev/attestation/scan-result/v1"


def findings_digest(findings: Any) -> str:
    """SHA-256 of the canonical JSON of a manifest's findings list (the bytes of a version-2 manifest's
    findings object, see :func:`annexa.store.manifest.findings_chunks`)."""
    return hashlib.sha256(canonical_json(findings)).hexdigest()


def scan_statement(
    digest: str, manifest: Mapping[str, Any], findings: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """The statement for the manifest whose SHA-256 is ``digest``, whose findings (as manifest dicts, a
    stream read once) are ``findings``."""
    counts: dict[str, int] = {}
    exceptions = _Exceptions()
    for finding in findings:
        counts[finding["status"]] = counts.get(finding["status"], 0) + 1
        exceptions.add(finding)
    named = manifest.get("findings_object")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": f"evidence/{item[:2]}/{item}.json", "digest": {"sha256": item}}
            for item in manifest["evidence"]
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "scan_id": manifest["scan_id"],
            "sequence": manifest["sequence"],
            "previous": manifest["previous"],
            "manifest": {"sha256": digest},
            "rule_pack_digest": manifest["rule_pack_digest"],
            "config_digest": manifest["config_digest"],
            "annexa_version": manifest["annexa_version"],
            "started_at": manifest["started_at"],
            "finished_at": manifest["finished_at"],
            # the same digest either way: a version-2 findings object is their list's canonical JSON
            "findings_digest": findings_digest(manifest["findings"]) if named is None else named["sha256"],
            "counts": dict(sorted(counts.items())),
            "exceptions": exceptions.to_dict(),
        },
    }


class _Exceptions:
    """The accepted risks behind the verdicts, with their approval, gathered a finding at a time: each
    waiver in force (rule, subject, approver, justification, expiry), and each finding an expired
    exception no longer waives."""

    def __init__(self) -> None:
        self.waived: dict[bytes, dict[str, Any]] = {}
        self.expired: dict[bytes, dict[str, Any]] = {}

    def add(self, finding: Mapping[str, Any]) -> None:
        waiver = finding.get("waiver")
        if waiver is not None:
            entry = {"rule": finding["rule"], "subject": finding["subject"], **waiver}
            self.waived[canonical_json(entry)] = entry
        note = finding.get("note") or ""
        if note.startswith("exception expired on"):
            entry = {"rule": finding["rule"], "subject": finding["subject"], "note": note}
            self.expired[canonical_json(entry)] = entry

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "waived": [self.waived[key] for key in sorted(self.waived)],
            "expired": [self.expired[key] for key in sorted(self.expired)],
        }


def predicate_of(statement: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """The predicate, once the statement is checked to be an annexa scan result."""
    from annexa.trust.keys import TrustError

    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        raise TrustError(f"{where}: the signed statement is not an annexa scan result "
                         f"({statement.get('_type')!r}, {statement.get('predicateType')!r})")  # fmt: skip
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict) or not isinstance(predicate.get("manifest"), dict):
        raise TrustError(f"{where}: the signed statement has no scan-result predicate")
    return predicate
