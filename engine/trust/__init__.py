"""Results an auditor can trust without trusting the store: signed scans, witnesses, auditor bundles.

Each recorded scan can be signed (Ed25519, :mod:`annexa.trust.keys`) as a DSSE envelope
(:mod:`annexa.trust.dsse`) around an in-toto Statement whose subjects are the evidence and whose predicate
is the scan result (:mod:`annexa.trust.statement`). The newest signed head is copied to witnesses outside
the store (:mod:`annexa.trust.witness`), and :mod:`annexa.trust.verify` checks signatures, the signed
chain and the witnesses. Above the store, below the application: it may import files, model, contract,
lang and store.
"""

from __future__ import annotations

from annexa.trust.keys import Signer, TrustedKey, TrustError, generate_keypair, load_signer, load_trusted_key

__all__ = ["Signer", "TrustError", "TrustedKey", "generate_keypair", "load_signer", "load_trusted_key"]
