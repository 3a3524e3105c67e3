"""Signing a scan as the store records it, and publishing its signed head to the witnesses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from annexa.model.evidence import canonical_json
from annexa.store.base import Attest, Store
from annexa.trust.dsse import envelope_bytes, sign_envelope
from annexa.trust.keys import Signer
from annexa.trust.statement import scan_statement
from annexa.trust.witness import Witness, publish


def attester(signer: Signer) -> Attest:
    """The ``attest`` argument of :meth:`Store.record_scan`: a DSSE envelope around the scan's statement."""

    def attest(digest: str, manifest: dict[str, Any], findings: Iterable[Mapping[str, Any]]) -> bytes:
        statement = scan_statement(digest, manifest, findings)
        return envelope_bytes(sign_envelope(canonical_json(statement), signer))

    return attest


def publish_head(store: Store, digest: str, witnesses: Sequence[Witness]) -> list[str]:
    """Copy the attestation of scan ``digest`` to every witness; returns what to tell the user."""
    envelope = store.read_attestation(digest)
    if envelope is None:
        return [f"scan {digest[:12]} is unsigned: nothing to write to the witnesses"]
    lines = []
    for witness in witnesses:
        if publish(witness, envelope):
            lines.append(f"signed head written to witness {witness.location}")
        else:
            lines.append(f"witness {witness.location} holds a later head already (a concurrent scan)")
    return lines
