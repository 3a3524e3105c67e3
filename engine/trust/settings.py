"""How a scan signs: the key and witnesses from ``--sign-key``/``--witness`` and ``signing:`` in annexa.yaml.

```yaml
signing:
  key: keys/annexa-signing.pem     # or env:ANNEXA_SIGNING_KEY (the PEM text in that variable)
  witness: [/mnt/backup/annexa-head.json, s3://audit-bucket/annexa/HEAD.dsse.json]
```

The command line's ``--sign-key`` replaces the configured key; its ``--witness`` adds to the configured
witnesses. Without a key the scan is recorded unsigned (and labelled so by verify and history).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annexa.store.base import Attest, Store
from annexa.trust.attest import attester, publish_head
from annexa.trust.keys import Signer, TrustError, load_signer
from annexa.trust.witness import Witness, open_witness


@dataclass(frozen=True, slots=True)
class Signing:
    signer: Signer | None
    witnesses: tuple[Witness, ...] = ()

    @property
    def attest(self) -> Attest | None:
        return None if self.signer is None else attester(self.signer)

    def after_record(self, store: Store, digest: str) -> list[str]:
        """Publish the signed head to the witnesses; the lines to print after the scan."""
        if self.signer is None:
            return ["scan unsigned (no signing key: see `annexa keys generate`)"]
        return [f"scan signed by key {self.signer.keyid[:16]}", *publish_head(store, digest, self.witnesses)]


def signing_settings(
    block: Mapping[str, Any] | None, *, base: Path, key: str | None = None, witnesses: Sequence[str] = ()
) -> Signing:
    """The signing a scan does. :raises TrustError: the key cannot be read, or witnesses without a key."""
    block = block or {}
    reference = key or block.get("key")
    configured = block.get("witness") or []
    locations = [*([configured] if isinstance(configured, str) else configured), *witnesses]
    if reference is None:
        if locations:
            raise TrustError(
                "a witness holds the signed head: give a signing key (--sign-key or signing.key)"
            )
        return Signing(signer=None)
    return Signing(
        signer=load_signer(str(reference), base=base),
        witnesses=tuple(open_witness(str(location), base=base) for location in locations),
    )
