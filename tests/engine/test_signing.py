"""Signed scans (issue 17): every tampering a writer of the store can do without the signing key is named.

Each case runs on the directory store (witness: a file) and on the shared store (PostgreSQL index, S3
locker on moto; witness: an S3 object in a bucket with Object Lock). The store's own check
(``verify_store``) is shown to pass where a consistent rewrite fools it, and the signature check to fail
with the exact reason.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from test_store import T0, endpoint, finding_for, record  # shared builders, same folder
from test_store_shared import database, postgres_url  # noqa: F401  # fixtures: a real PostgreSQL

from annexa.cli.main import main
from annexa.model.evidence import canonical_json, sha256_hex
from annexa.model.findings import Status
from annexa.store import Store, open_store, verify_store
from annexa.store.locker import Area, object_key
from annexa.trust.attest import attester, publish_head
from annexa.trust.keys import Ed25519Signer, load_trusted_key
from annexa.trust.verify import TrustReport, verify_signatures
from annexa.trust.witness import FileWitness, S3Witness, Witness


@dataclass
class Backend:
    name: str
    location: str
    evidence: str | None
    witness: Witness
    scratch: Path
    s3: Any = None

    def open(self) -> Store:
        return open_store(self.location, create=False) if self.evidence else open_store(self.location)

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        """What a writer with access to the index can do."""
        if self.name == "directory":
            with sqlite3.connect(Path(self.location) / "index.sqlite") as db:
                db.execute(statement, params)
        else:
            import psycopg

            with psycopg.connect(self.location, autocommit=True) as db:
                db.execute(statement.replace("?", "%s"), params)

    def delete_scan_rows(self, seq: int) -> None:
        for table, column in (("findings", "scan_seq"), ("scan_evidence", "scan_seq"), ("scans", "seq")):
            self.sql(f"DELETE FROM {table} WHERE {column} = ?", (seq,))

    def delete(self, area: Area, digest: str) -> None:
        """What a writer with access to the locker can do."""
        if self.s3 is None:
            (Path(self.location) / object_key(area, digest)).unlink()
        else:
            self.s3.delete_object(Bucket="locker", Key=f"acme/{object_key(area, digest)}")

    def overwrite(self, area: Area, digest: str, payload: bytes) -> None:
        if self.s3 is None:
            path = Path(self.location) / object_key(area, digest)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payload)
        else:
            self.s3.put_object(Bucket="locker", Key=f"acme/{object_key(area, digest)}", Body=payload)


@pytest.fixture(params=["directory", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "directory":
        witness = FileWitness(tmp_path / "witness.json")
        yield Backend("directory", str(tmp_path / "store"), None, witness, tmp_path)
        return
    url = request.getfixturevalue("database")
    request.getfixturevalue("aws_env")
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="locker")
    s3.create_bucket(Bucket="witness", ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket="witness",
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}},
        },
    )
    open_store(url, evidence="s3://locker/acme").close()
    yield Backend(
        "postgresql", url, "s3://locker/acme", S3Witness.open("s3://witness/annexa/head.json"), tmp_path, s3
    )


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer(Ed25519PrivateKey.generate(), "test key")


def signed_scans(backend: Backend, signer: Ed25519Signer, count: int = 3) -> list[str]:
    """``count`` signed scans, each published to the backend's witness; their manifest digests."""
    digests = []
    with backend.open() as store:
        for day in range(count):
            at = T0 + timedelta(days=day)
            items = store.put_evidence([endpoint("fraud", capture=day > 0, at=at)])
            status = Status.PASS if day > 0 else Status.FAIL
            digest = store.record_scan(record(items, (status,), at=at), attest=attester(signer))
            assert publish_head(store, digest, [backend.witness]) == [
                f"signed head written to witness {backend.witness.location}"
            ]
            digests.append(digest)
    return digests


def check(backend: Backend, signer: Ed25519Signer) -> tuple[bool, TrustReport]:
    """(the store's own verdict, the signature check's report); ``annexa verify --trusted-key --witness``
    is run as well and must exit and name the first problem accordingly."""
    key = backend.scratch / "trusted.pub.pem"
    key.write_bytes(signer.trusted().public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    with backend.open() as store:
        store_ok = verify_store(store).ok
        report = verify_signatures(store, load_trusted_key(key), [backend.witness])
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = main(["verify", "--store", backend.location, "--trusted-key", str(key),
                     "--witness", backend.witness.location])  # fmt: skip
    assert code == (0 if store_ok and report.ok else 1), output.getvalue()
    if not report.ok:
        assert f"signatures: BROKEN ({len(report.problems)} problem(s); " in output.getvalue()
        assert f"first broken item: {report.problems[0]}\n" in output.getvalue()
    return store_ok, report


def messages(report: TrustReport) -> list[str]:
    return [str(problem) for problem in report.problems]


def test_a_signed_history_verifies_against_its_key_and_witness(
    backend: Backend, signer: Ed25519Signer
) -> None:
    digests = signed_scans(backend, signer)
    store_ok, report = check(backend, signer)
    assert store_ok
    assert report.ok, messages(report)
    assert [(s.seq, s.digest, s.state) for s in report.scans] == [
        (1, digests[0], "verified"), (2, digests[1], "verified"), (3, digests[2], "verified")
    ]  # fmt: skip
    assert report.notes == (f"witness {backend.witness.location}: the history reaches its signed head #3",)


def test_a_deleted_last_scan_is_named_by_the_witness(backend: Backend, signer: Ed25519Signer) -> None:
    digests = signed_scans(backend, signer)
    # A consistent deletion: index rows, manifest, signature and HEAD, as a writer of the store could.
    backend.delete_scan_rows(3)
    backend.delete("manifests", digests[2])
    backend.delete("attestations", digests[2])
    with backend.open() as store:
        store.locker.put_head(digests[1])
    if backend.s3 is not None:
        # The witness bucket is under Object Lock: overwriting it with the older head adds a version and
        # hides nothing.
        backend.witness.put(json.dumps(json.loads(_attestation(backend, digests[1]))).encode())
    store_ok, report = check(backend, signer)
    assert store_ok  # the store alone cannot tell
    assert not report.ok
    first = messages(report)[0]
    assert first.startswith(f"{backend.witness.location}: history truncated: witness "
                            f"{backend.witness.location} names scan #3 ")  # fmt: skip
    assert f"(manifest {digests[2][:12]}), but the store's history ends at #2 (last scan(s) deleted)" in first


def test_an_index_rolled_back_over_a_kept_manifest_is_named(backend: Backend, signer: Ed25519Signer) -> None:
    digests = signed_scans(backend, signer)
    backend.delete_scan_rows(3)
    with backend.open() as store:
        store.locker.put_head(digests[1])
    store_ok, report = check(backend, signer)
    assert store_ok
    assert "that manifest is still in the locker, so the index was rolled back" in messages(report)[0]
    with backend.open() as store:
        assert any(note.startswith("1 signature(s) of manifests not in the history (interrupted scans)")
                   for note in verify_store(store).notes)  # fmt: skip


def test_a_rolled_back_head_is_named(backend: Backend, signer: Ed25519Signer) -> None:
    digests = signed_scans(backend, signer)
    with backend.open() as store:
        store.locker.put_head(digests[1])
    store_ok, report = check(backend, signer)
    assert store_ok  # a lagging HEAD is only a note to the store (an interrupted writer)
    assert messages(report) == [
        f"HEAD: HEAD rolled back: it names scan #2, witness {backend.witness.location} names scan #3 "
        f"{_scan_id(backend, 3)} (manifest {digests[2][:12]}) (expected {digests[2]}, found {digests[1]})"
    ]


def test_a_consistently_rehashed_chain_is_named(backend: Backend, signer: Ed25519Signer) -> None:
    digests = signed_scans(backend, signer)
    # Rewrite scan 1's verdict text and re-hash the whole chain: new manifests, links, index and HEAD, and
    # each old signature copied under the new name (the best a forger without the key can do).
    previous = None
    rewritten = []
    for seq, digest in enumerate(digests, start=1):
        raw = json.loads(_object(backend, "manifests", digest))
        if seq == 1:  # the findings object rewritten and named anew
            with backend.open() as store:
                findings = list(store.manifest_findings(raw))
            findings[0]["message"] = "all fine"
            raw["findings_object"]["sha256"] = sha256_hex(canonical_json(findings))
            backend.overwrite("findings", raw["findings_object"]["sha256"], canonical_json(findings))
        raw["previous"] = previous
        payload = canonical_json(raw)
        new = sha256_hex(payload)
        backend.overwrite("manifests", new, payload)
        backend.overwrite("attestations", new, _attestation(backend, digest))
        backend.sql("UPDATE scans SET manifest = ?, previous = ? WHERE seq = ?", (new, previous, seq))
        rewritten.append(new)
        previous = new
    with backend.open() as store:
        store.locker.put_head(rewritten[-1])
    store_ok, report = check(backend, signer)
    assert store_ok  # consistent: every digest and link checks out
    found = messages(report)
    assert (
        f"scan #1 {_scan_id(backend, 1)}: the signature covers another manifest: this scan's manifest "
        f"was replaced or the chain re-hashed (expected {digests[0]}, found {rewritten[0]})"
    ) in found[0]
    assert found[-1].startswith(f"{backend.witness.location}: history rewritten: witness ")
    assert found[-1].endswith(f"the store holds another manifest at #3 (expected {digests[2]}, found "
                              f"{rewritten[2]})")  # fmt: skip


def test_a_manifest_signed_by_another_key_is_named(backend: Backend, signer: Ed25519Signer) -> None:
    digests = signed_scans(backend, signer)
    forger = Ed25519Signer(Ed25519PrivateKey.generate(), "forger")
    manifest = json.loads(_object(backend, "manifests", digests[1]))
    with backend.open() as store:
        forged = attester(forger)(digests[1], manifest, store.manifest_findings(manifest))
    backend.overwrite("attestations", digests[1], forged)
    _, report = check(backend, signer)
    assert [s.state for s in report.scans] == ["verified", "invalid", "verified"]
    assert (
        f"scan #2 {_scan_id(backend, 2)}: signed by another key ({forger.keyid[:16]}), not the trusted key "
        f"{signer.keyid[:16]} ("  # then the file the trusted key was read from
    ) in messages(report)[0]


def test_a_gap_in_the_signed_sequence_is_named(backend: Backend, signer: Ed25519Signer) -> None:
    signed_scans(backend, signer)
    scan_id = _scan_id(backend, 3)
    backend.delete_scan_rows(2)
    _, report = check(backend, signer)
    assert any(
        f"scan #3 {scan_id}: gap in the signed sequence: #3 follows #1 (1 scan(s) missing) (expected 2, "
        "found 3)" in m
        for m in messages(report)
    ), messages(report)


def test_a_removed_signature_is_a_problem_not_a_label(backend: Backend, signer: Ed25519Signer) -> None:
    digests = signed_scans(backend, signer)
    backend.delete("attestations", digests[1])
    _, report = check(backend, signer)
    assert [s.state for s in report.scans] == ["verified", "unsigned", "verified"]
    assert (
        f"scan #2 {_scan_id(backend, 2)} is unsigned, though scan #1 before it is signed"
        in messages(report)[0]
    )


def test_unsigned_scans_are_labelled_and_never_verified(tmp_path: Path, signer: Ed25519Signer) -> None:
    with open_store(tmp_path / "store") as store:
        for day in range(2):  # two scans before signing was turned on, then one signed
            at = T0 + timedelta(days=day)
            items = store.put_evidence([endpoint("fraud", capture=True, at=at)])
            store.record_scan(record(items, (Status.PASS,), at=at), attest=attester(signer) if day else None)
        unchecked = verify_signatures(store, None)
        assert [s.state for s in unchecked.scans] == ["unsigned", "signed"]
        assert unchecked.summary() == "1 scan(s) signed (not checked: pass --trusted-key), 1 unsigned"
        checked = verify_signatures(store, signer.trusted())
        assert checked.ok
        assert [s.state for s in checked.scans] == ["unsigned", "verified"]
        assert checked.notes == ("scan(s) #1 are unsigned (recorded before signing was turned on)",)
    with open_store(tmp_path / "unsigned") as store:
        items = store.put_evidence([endpoint("fraud", capture=True)])
        store.record_scan(record(items, (Status.PASS,)))
        report = verify_signatures(store, signer.trusted())
        assert messages(report) == [f"{store.location}: no scan in the store is signed by any key: nothing "
                                    f"can be verified with trusted key {signer.keyid[:16]}"]  # fmt: skip


def _object(backend: Backend, area: Area, digest: str) -> bytes:
    with backend.open() as store:
        payload = store.read_object(area, digest)
    assert payload is not None
    return payload


def _attestation(backend: Backend, digest: str) -> bytes:
    return _object(backend, "attestations", digest)


def _scan_id(backend: Backend, seq: int) -> str:
    with backend.open() as store:
        return next(row[1] for row in store.chain_rows() if row[0] == seq)


def test_the_signed_statement_carries_each_exception_with_its_approval(tmp_path: Path) -> None:
    from dataclasses import replace

    from annexa.trust.dsse import parse_envelope, verify_envelope

    signer = Ed25519Signer(Ed25519PrivateKey.generate(), "test key")
    with open_store(tmp_path / "store") as store:
        waived_item, expired_item = store.put_evidence(
            [endpoint("fraud", capture=False), endpoint("churn", capture=False)]
        )
        base = record((waived_item, expired_item), (Status.FAIL, Status.FAIL))
        expired = replace(finding_for(expired_item, Status.FAIL),
                          note="exception expired on 2026-01-31; no longer waived")  # fmt: skip
        scan = replace(base, findings=(finding_for(waived_item, Status.FAIL, waived=True), expired))
        digest = store.record_scan(scan, attest=attester(signer))
        envelope = store.read_attestation(digest)
    assert envelope is not None
    predicate = verify_envelope(parse_envelope(envelope, "test"), signer.trusted(), "test")["predicate"]
    assert predicate["exceptions"] == {
        "waived": [{"rule": "A.6.2.8/endpoint_data_capture", "subject": waived_item.source,
                    "justification": "retiring", "approved_by": "CISO", "expires": "2027-03-31"}],
        "expired": [{"rule": "A.6.2.8/endpoint_data_capture", "subject": expired_item.source,
                     "note": "exception expired on 2026-01-31; no longer waived"}],
    }  # fmt: skip
