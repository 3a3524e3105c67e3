"""A store recorded by an annexa whose manifests held their findings inline (manifest version 1).

``data/store_v1`` was written by annexa at commit 1dc8428, the last before findings became an object of
their own: two signed scans (``annexa scan --sign-key``) of the demo estate's governance, attestations
and model-card folders, a supplier assessment removed between them. Today's annexa reads those scans,
verifies them and their signatures, and records the next scan into the same chain in the new format.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from annexa.cli.main import main
from annexa.store import open_store

FIXTURE = Path(__file__).parent / "data" / "store_v1"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    """The old store (at the configuration's ``store.path``) with the folders it was scanned from."""
    shutil.copytree(FIXTURE / "store", tmp_path / "out" / ".annexa")
    shutil.copy(FIXTURE / "annexa.yaml", tmp_path / "annexa.yaml")
    for folder in ("governance", "attestations", "modelcards"):
        shutil.copytree(EXAMPLES / folder, tmp_path / folder)
    return tmp_path


def recorded_verdicts(name: str) -> list[list[str]]:
    """(finding id, status) of each finding the old annexa reported for that scan, sorted."""
    verdicts: list[list[str]] = json.loads((FIXTURE / f"{name}-verdicts.json").read_text())
    return verdicts


def test_old_scans_load_with_their_findings(estate: Path) -> None:
    with open_store(estate / "out" / ".annexa", create=False) as store:
        for reference, name in (("latest~1", "scan1"), ("latest", "scan2")):
            scan = store.load_scan(reference)
            assert store.read_manifest(scan.digest)["schema_version"] == 1
            loaded = sorted([f.id, f.status.value] for f in scan.record.findings)
            assert loaded == recorded_verdicts(name)
            assert store.evidence_of(scan)  # and the evidence each rested on
        assert recorded_verdicts("scan1") != recorded_verdicts("scan2")  # the removed document shows


def test_an_old_store_and_its_signatures_verify(estate: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(estate / "out" / ".annexa")
    assert main(["verify", "--store", store, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["scans_checked"] == 2
    assert main(["verify", "--store", store, "--trusted-key", str(FIXTURE / "signing.pub.pem")]) == 0
    capsys.readouterr()
    # Tampering with an old manifest's inline findings is still caught.
    with open_store(store, create=False) as opened:
        digest = opened.load_scan("latest").digest
    path = estate / "out" / ".annexa" / "manifests" / digest[:2] / f"{digest}.json"
    path.write_bytes(path.read_bytes().replace(b'"status":"fail"', b'"status":"pass"', 1))
    assert main(["verify", "--store", store]) == 1


def test_the_next_scan_continues_the_old_chain_in_the_new_format(
    estate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(estate / "annexa.yaml")
    assert main(["scan", "-c", config, "--now", "2026-12-01T09:00:00Z", "--format", "json", "-q"]) == 1
    result = json.loads(capsys.readouterr().out)
    changes = {(c["id"], c["change"]) for c in result["drift"]["findings"]}
    old = dict(map(tuple, recorded_verdicts("scan2")))
    # The supplier assessment removed before the second old scan is back: what it failed is fixed.
    fixed = {finding_id for finding_id, change in changes if change == "fixed"}
    assert fixed
    assert all(old[finding_id] != "pass" for finding_id in fixed)
    with open_store(estate / "out" / ".annexa", create=False) as store:
        history = store.scans()
        assert len(history) == 3
        new = store.read_manifest(history[2].digest)
        assert new["schema_version"] == 2
        assert new["previous"] == history[1].digest
        assert new["findings_object"]["count"] == len(result["findings"])
    assert main(["verify", "--store", str(estate / "out" / ".annexa")]) == 0
    capsys.readouterr()
    assert main(["diff", "--store", str(estate / "out" / ".annexa"), "latest~2", "latest"]) in (0, 1)
    assert "fixed" in capsys.readouterr().out
