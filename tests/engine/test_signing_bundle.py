"""``annexa export`` and ``annexa verify-bundle``: an auditor bundle verifies offline, without the store,
its signature checks with a third-party DSSE verifier (securesystemslib), and every bad input is named."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from test_signing_cli import NOW, estate  # shared builders, same folder
from test_store_shared import database, postgres_url  # noqa: F401  # fixtures: a real PostgreSQL

from annexa.cli.main import main


@pytest.fixture
def exported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    """A signed scan of the demo estate exported to a bundle; the estate and the store are then removed.
    Returns (bundle, public key)."""
    work = tmp_path / "producer"
    work.mkdir()
    assert main(["keys", "generate", "-o", str(tmp_path / "keys" / "k.pem")]) == 0
    config = estate(work, {"key": str(tmp_path / "keys" / "k.pem")})
    assert main(["scan", "-c", str(config), "--now", NOW, "--format", "json"]) in (0, 1, 2)
    bundle = tmp_path / "auditor" / "bundle.zip"
    bundle.parent.mkdir()
    capsys.readouterr()
    assert main(["export", "--scan", "latest", "-c", str(config), "-o", str(bundle)]) == 0
    assert "signed by key" in capsys.readouterr().out
    shutil.rmtree(work)  # the auditor has no access to the producer's estate or store
    return bundle, tmp_path / "keys" / "k.pub.pem"


def test_a_bundle_verifies_offline_and_reevaluates_to_the_signed_findings(
    exported: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, key = exported
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        index = json.loads(archive.read("bundle.json"))
        statement = json.loads(base64.b64decode(json.loads(archive.read("attestation.dsse.json"))["payload"]))
    assert {"README.md", "bundle.json", "attestation.dsse.json", "manifest.json", "config.json",
            "schemas.json", "soa.md", "report.html"} <= names  # fmt: skip
    evidence = {name for name in names if name.startswith("evidence/")}
    assert len(evidence) > 20
    assert {s["name"] for s in statement["subject"]} <= evidence
    assert index["signature"]["algorithm"] == "ed25519"
    assert main(["verify-bundle", str(bundle), "--trusted-key", str(key), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["findings_digest"] == statement["predicate"]["findings_digest"]
    assert report["scan_id"] == statement["predicate"]["scan_id"]


def test_a_third_party_dsse_verifier_accepts_the_bundles_signature(exported: tuple[Path, Path]) -> None:
    """securesystemslib (the in-toto project's crypto library) checks the envelope with no annexa code."""
    from cryptography.hazmat.primitives import serialization
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError
    from securesystemslib.signer import SSlibKey

    bundle, key_file = exported
    with zipfile.ZipFile(bundle) as archive:
        envelope = Envelope.from_dict(json.loads(archive.read("attestation.dsse.json")))
    public = serialization.load_pem_public_key(key_file.read_bytes())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    keyid = next(iter(envelope.signatures))
    key = SSlibKey(keyid, "ed25519", "ed25519", {"public": raw.hex()})
    assert set(envelope.verify([key], 1)) == {keyid}
    assert envelope.payload_type == "application/vnd.in-toto+json"
    assert json.loads(envelope.pae().split(b" ", 4)[4])["_type"] == "https://in-toto.io/Statement/v1"

    envelope.payload = envelope.payload.replace(b'"fail"', b'"pass"')  # a verdict changed after signing
    with pytest.raises(VerificationError):
        envelope.verify([key], 1)


def rewrite(bundle: Path, target: Path, change: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(target, "w") as out:
        for name in source.namelist():
            out.writestr(name, change.get(name, source.read(name)))
    return target


def run_verify(bundle: Path, key: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    before = sorted(bundle.parent.rglob("*"))
    code = main(["verify-bundle", str(bundle), "--trusted-key", str(key)])
    captured = capsys.readouterr()
    assert sorted(bundle.parent.rglob("*")) == before  # nothing written
    return code, captured.out, captured.err


def test_bad_bundles_are_named_with_their_exit_code(
    exported: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, key = exported
    folder = bundle.parent
    # Another key: exit 1, the envelope named.
    assert main(["keys", "generate", "-o", str(tmp_path / "other.pem")]) == 0
    capsys.readouterr()
    code, out, _ = run_verify(bundle, tmp_path / "other.pub.pem", capsys)
    assert code == 1
    assert (
        f"first broken item: {bundle}!attestation.dsse.json: attestation.dsse.json: signed by another key"
        in out
    )

    # Truncated: exit 4, the archive named.
    truncated = folder / "truncated.zip"
    truncated.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    code, _, err = run_verify(truncated, key, capsys)
    assert code == 4
    assert f"annexa: error: {truncated}: not a readable zip archive (truncated or damaged?)" in err

    # Swapped evidence, the index re-hashed to match: the file's name is its signed digest, so exit 1.
    with zipfile.ZipFile(bundle) as archive:
        evidence = sorted(n for n in archive.namelist() if n.startswith("evidence/"))
        index = json.loads(archive.read("bundle.json"))
        other = archive.read(evidence[1])
    index["files"][evidence[0]] = hashlib.sha256(other).hexdigest()
    swapped = rewrite(bundle, folder / "swapped.zip",
                      {evidence[0]: other, "bundle.json": json.dumps(index).encode()})  # fmt: skip
    code, out, _ = run_verify(swapped, key, capsys)
    assert code == 1
    assert (f"first broken item: {swapped}!{evidence[0]}: evidence content does not match its name (swapped "
            "or altered)") in out  # fmt: skip

    # An unknown algorithm: exit 1, the index named.
    index = json.loads(zipfile.ZipFile(bundle).read("bundle.json"))
    index["signature"]["algorithm"] = "rsa-pss-sha256"
    unknown = rewrite(bundle, folder / "unknown.zip", {"bundle.json": json.dumps(index).encode()})
    code, out, _ = run_verify(unknown, key, capsys)
    assert code == 1
    assert (f"first broken item: {unknown}!bundle.json: signature algorithm 'rsa-pss-sha256' is not "
            "supported (annexa signs and verifies ed25519 only)") in out  # fmt: skip

    # Not a bundle at all: exit 4.
    plain = folder / "plain.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("hello.txt", "hi")
    code, _, err = run_verify(plain, key, capsys)
    assert code == 4
    assert "no bundle.json in the archive: not an annexa auditor bundle" in err


def test_an_unsigned_scan_is_not_exported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = estate(tmp_path)
    assert main(["scan", "-c", str(config), "--now", NOW, "--format", "json"]) in (0, 1, 2)
    capsys.readouterr()
    assert main(["export", "-c", str(config), "-o", str(tmp_path / "b.zip")]) == 4
    assert "is unsigned: there is nothing an auditor could verify" in capsys.readouterr().err
    assert not (tmp_path / "b.zip").exists()


@pytest.mark.slow
def test_a_bundle_exported_from_the_shared_store_verifies_after_the_store_is_gone(
    tmp_path: Path, aws_env: str, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    import boto3
    import psycopg
    import yaml

    url = request.getfixturevalue("database")
    boto3.client("s3").create_bucket(Bucket="shared-evidence")
    assert main(["keys", "generate", "-o", str(tmp_path / "k.pem")]) == 0
    config = estate(tmp_path / "producer", {"key": str(tmp_path / "k.pem")})
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["store"] = {"url": url, "evidence": "s3://shared-evidence/acme"}
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["scan", "-c", str(config), "--now", NOW, "--format", "json"]) in (0, 1, 2)
    bundle = tmp_path / "bundle.zip"
    assert main(["export", "-c", str(config), "-o", str(bundle)]) == 0
    # The store goes away: the index is emptied, the bucket's objects deleted.
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP TABLE scan_evidence, findings, scans, evidence, settings")
    s3 = boto3.client("s3")
    for item in s3.list_objects_v2(Bucket="shared-evidence").get("Contents", ()):
        s3.delete_object(Bucket="shared-evidence", Key=item["Key"])
    capsys.readouterr()
    assert main(["verify-bundle", str(bundle), "--trusted-key", str(tmp_path / "k.pub.pem")]) == 0
    assert "VERIFIED" in capsys.readouterr().out
