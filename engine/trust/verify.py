"""``annexa verify --trusted-key``: every scan's signature, the signed chain, and the witnesses.

The store's own verification (:func:`annexa.store.verify_store`) proves the files match their digests and
the chain links up; anyone with write access can still rewrite the whole chain consistently, or delete the
last scans and roll HEAD back. This check adds what such a writer cannot forge without the private key:

- each scan's attestation verifies with the trusted key and covers that scan's manifest;
- the signed sequence numbers run without a gap and each signed ``previous`` names the signed scan before;
- once a scan is signed, no later scan is unsigned (a removed signature is a problem, not a label);
- every witness's newest signed head is still in the history, at its place, and HEAD has not gone back.

Scans recorded before signing was turned on are reported as unsigned, never as verified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from annexa.store.base import Store
from annexa.store.verification import VerifyProblem
from annexa.trust.dsse import parse_envelope, verify_envelope
from annexa.trust.keys import TrustedKey, TrustError
from annexa.trust.statement import predicate_of
from annexa.trust.witness import Witness


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanSignature:
    seq: int
    scan_id: str
    digest: str
    state: str  # "verified", "unsigned", "signed" (present, not checked: no trusted key), "invalid"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustReport:
    keyid: str | None
    scans: tuple[ScanSignature, ...]
    problems: tuple[VerifyProblem, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, state: str) -> int:
        return sum(1 for scan in self.scans if scan.state == state)

    def summary(self) -> str:
        if self.keyid is None:
            return (f"{self.count('signed')} scan(s) signed (not checked: pass --trusted-key), "
                    f"{self.count('unsigned')} unsigned")  # fmt: skip
        verified, unsigned, invalid = self.count("verified"), self.count("unsigned"), self.count("invalid")
        return (f"{verified} scan(s) signed by trusted key {self.keyid[:16]}, {unsigned} unsigned, "
                f"{invalid} with a bad signature")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "trusted_key": self.keyid,
            "ok": self.ok,
            "scans": [
                {"seq": s.seq, "scan_id": s.scan_id, "manifest": s.digest, "signature": s.state}
                for s in self.scans
            ],
            "problems": [
                {"path": p.path, "message": p.message, "expected": p.expected, "actual": p.actual}
                for p in self.problems
            ],
            "notes": list(self.notes),
        }


def signature_states(store: Store) -> dict[str, str]:
    """Manifest digest -> ``signed`` or ``unsigned``, without checking signatures (for history)."""
    signed = store.object_digests("attestations")
    return {row[2]: "signed" if row[2] in signed else "unsigned" for row in store.chain_rows()}


def verify_signatures(store: Store, key: TrustedKey | None, witnesses: Sequence[Witness] = ()) -> TrustReport:
    """Check every scan's signature against ``key`` and the history against each witness's head.

    Without a key only labels the scans signed or unsigned (nothing is verified, nothing fails).
    """
    rows = store.chain_rows()
    if key is None:
        states = signature_states(store)
        scans = tuple(ScanSignature(seq=s, scan_id=i, digest=d, state=states[d]) for s, i, d, _ in rows)
        return TrustReport(keyid=None, scans=scans, problems=(), notes=())
    problems: list[VerifyProblem] = []
    notes: list[str] = []
    results: list[ScanSignature] = []
    previous_signed: tuple[int, str] | None = None  # (sequence, manifest digest) of the last signed scan
    unsigned_before: list[int] = []
    for seq, scan_id, digest, _ in rows:
        where = f"scan #{seq} {scan_id}"
        label = store.object_label("attestations", digest)
        payload = store.read_attestation(digest)
        if payload is None:
            results.append(ScanSignature(seq=seq, scan_id=scan_id, digest=digest, state="unsigned"))
            if previous_signed is None:
                unsigned_before.append(seq)
            else:
                problems.append(VerifyProblem(path=label, message=f"{where} is unsigned, though scan "
                                              f"#{previous_signed[0]} before it is signed (signature "
                                              "removed, or the scan replaced)"))  # fmt: skip
            continue
        try:
            predicate = predicate_of(verify_envelope(parse_envelope(payload, where), key, where), where)
        except TrustError as exc:
            results.append(ScanSignature(seq=seq, scan_id=scan_id, digest=digest, state="invalid"))
            problems.append(VerifyProblem(path=label, message=str(exc)))
            continue
        state = "verified"
        signed_digest = predicate["manifest"].get("sha256")
        signed_seq = predicate.get("sequence")
        if signed_digest != digest:
            state = "invalid"
            problems.append(VerifyProblem(path=label, message=f"{where}: the signature covers another "
                                          "manifest: this scan's manifest was replaced or the chain "
                                          "re-hashed", expected=signed_digest, actual=digest))  # fmt: skip
        elif signed_seq != seq:
            state = "invalid"
            problems.append(VerifyProblem(path=label, message=f"{where}: signed sequence number differs from "
                                          "the scan's place in the history", expected=str(signed_seq),
                                          actual=str(seq)))  # fmt: skip
        elif previous_signed is not None:
            before_seq, before_digest = previous_signed
            if seq != before_seq + 1:
                problems.append(VerifyProblem(path=label, message=f"{where}: gap in the signed sequence: "
                                              f"#{seq} follows #{before_seq} ({seq - before_seq - 1} "
                                              "scan(s) missing)", expected=str(before_seq + 1),
                                              actual=str(seq)))  # fmt: skip
            elif predicate.get("previous") != before_digest:
                problems.append(VerifyProblem(path=label, message=f"{where}: the signed link to the previous "
                                              "manifest does not name the signed scan before it",
                                              expected=before_digest,
                                              actual=str(predicate.get("previous"))))  # fmt: skip
        results.append(ScanSignature(seq=seq, scan_id=scan_id, digest=digest, state=state))
        previous_signed = (seq, digest)
    if previous_signed is None and rows:
        problems.append(VerifyProblem(path=store.location, message="no scan in the store is signed by "
                                      f"any key: nothing can be verified with trusted key "
                                      f"{key.keyid[:16]}"))  # fmt: skip
    elif unsigned_before:
        span = f"#{unsigned_before[0]}" + (f" to #{unsigned_before[-1]}" if len(unsigned_before) > 1 else "")
        notes.append(f"scan(s) {span} are unsigned (recorded before signing was turned on)")
    for witness in witnesses:
        _check_witness(store, key, witness, rows, problems, notes)
    return TrustReport(keyid=key.keyid, scans=tuple(results), problems=tuple(problems), notes=tuple(notes))


def _check_witness(store: Store, key: TrustedKey, witness: Witness, rows: list[tuple[int, str, str, Any]],
                   problems: list[VerifyProblem], notes: list[str]) -> None:  # fmt: skip
    where = f"witness {witness.location}"
    try:
        heads = witness.heads()
    except TrustError as exc:
        problems.append(VerifyProblem(path=witness.location, message=str(exc)))
        return
    if not heads:
        problems.append(VerifyProblem(path=witness.location, message=f"{where} holds no signed head "
                                      "(deleted, or never written: scan with a witness first)"))  # fmt: skip
        return
    best: Mapping[str, Any] | None = None
    for number, head in enumerate(heads):
        version = where if number == 0 else f"{where} (version {number + 1} from the newest)"
        try:
            predicate = predicate_of(verify_envelope(parse_envelope(head, version), key, version), version)
        except TrustError as exc:
            problems.append(VerifyProblem(path=witness.location, message=str(exc)))
            continue
        if best is None or int(predicate["sequence"]) > int(best["sequence"]):
            best = predicate
    if best is None:
        return
    seq, digest = int(best["sequence"]), str(best["manifest"]["sha256"])
    named = f"scan #{seq} {best.get('scan_id')} (manifest {digest[:12]})"
    by_seq = {row[0]: row[2] for row in rows}
    last = rows[-1][0] if rows else 0
    if seq > last:
        detail = f"the store's history ends at #{last}" if rows else "the store's history is empty"
        if store.has_object("manifests", digest):
            detail += "; that manifest is still in the locker, so the index was rolled back"
        problems.append(VerifyProblem(path=witness.location, message=f"history truncated: {where} names "
                                      f"{named}, but {detail} (last scan(s) deleted)",
                                      expected=f"#{seq}", actual=f"#{last}"))  # fmt: skip
        return
    if by_seq.get(seq) != digest:
        problems.append(VerifyProblem(path=witness.location, message=f"history rewritten: {where} names "
                                      f"{named}, the store holds another manifest at #{seq}",
                                      expected=digest, actual=by_seq.get(seq)))  # fmt: skip
        return
    current = store.read_head()
    position = {row[2]: row[0] for row in rows}
    if current is not None and current in position and position[current] < seq:
        problems.append(VerifyProblem(path="HEAD", message=f"HEAD rolled back: it names scan "
                                      f"#{position[current]}, {where} names {named}",
                                      expected=digest, actual=current))  # fmt: skip
    if last > seq:
        notes.append(f"{where} names #{seq}; {last - seq} later scan(s) were recorded without writing it")
    else:
        notes.append(f"{where}: the history reaches its signed head #{seq}")
