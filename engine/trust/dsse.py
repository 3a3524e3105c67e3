"""DSSE envelopes (Dead Simple Signing Envelope, secure-systems-lab/dsse v1.0).

The signature is over ``PAE(payloadType, payload)``, never over the JSON of the envelope, so any DSSE
verifier (securesystemslib, in-toto, sigstore) checks annexa's signatures with the public key alone.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Final

from annexa.trust.keys import Signer, TrustedKey, TrustError

PAYLOAD_TYPE: Final = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """The pre-authentication encoding: ``DSSEv1 SP LEN(type) SP type SP LEN(body) SP body``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign_envelope(payload: bytes, signer: Signer, payload_type: str = PAYLOAD_TYPE) -> dict[str, Any]:
    signature = signer.sign(pae(payload_type, payload))
    return {
        "payload": base64.b64encode(payload).decode("ascii"),
        "payloadType": payload_type,
        "signatures": [{"keyid": signer.keyid, "sig": base64.b64encode(signature).decode("ascii")}],
    }


def envelope_bytes(envelope: Mapping[str, Any]) -> bytes:
    return (json.dumps(envelope, sort_keys=True, indent=2) + "\n").encode("utf-8")


def parse_envelope(payload: bytes, where: str) -> dict[str, Any]:
    """An envelope read from bytes, its shape checked. :raises TrustError: naming ``where``."""
    try:
        envelope = json.loads(payload)
    except ValueError as exc:
        raise TrustError(f"{where}: not a DSSE envelope (not JSON: {exc})") from exc
    if not isinstance(envelope, dict) or not isinstance(envelope.get("signatures"), list):
        raise TrustError(f"{where}: not a DSSE envelope (no signatures list)")
    if not isinstance(envelope.get("payload"), str) or not isinstance(envelope.get("payloadType"), str):
        raise TrustError(f"{where}: not a DSSE envelope (payload and payloadType must be strings)")
    return envelope


def verify_envelope(envelope: Mapping[str, Any], key: TrustedKey, where: str) -> dict[str, Any]:
    """The envelope's payload as JSON, once a signature by ``key`` verifies.

    :raises TrustError: the payload type is not in-toto, no signature is by ``key`` (naming the key ids
        that did sign), or the signature by ``key`` does not verify.
    """
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise TrustError(f"{where}: payload type {envelope.get('payloadType')!r} is not {PAYLOAD_TYPE}")
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TrustError(f"{where}: payload is not base64: {exc}") from exc
    signatures = [s for s in envelope["signatures"] if isinstance(s, dict)]
    mine = [s for s in signatures if s.get("keyid") == key.keyid]
    if not mine:
        others = ", ".join(sorted(str(s.get("keyid"))[:16] for s in signatures)) or "none"
        raise TrustError(f"{where}: signed by another key ({others}), not the trusted key "
                         f"{key.keyid[:16]} ({key.source})")  # fmt: skip
    message = pae(PAYLOAD_TYPE, payload)
    for signature in mine:
        try:
            raw = base64.b64decode(str(signature.get("sig")), validate=True)
        except (binascii.Error, ValueError):
            continue
        if key.verifies(message, raw):
            try:
                statement = json.loads(payload)
            except ValueError as exc:
                raise TrustError(f"{where}: signed payload is not JSON: {exc}") from exc
            if not isinstance(statement, dict):
                raise TrustError(f"{where}: signed payload is not a JSON object")
            return statement
    raise TrustError(f"{where}: the signature by key {key.keyid[:16]} does not verify (forged, or the "
                     "payload was altered after signing)")  # fmt: skip
