"""``annexa keys generate``, ``annexa scan --sign-key`` / ``signing:`` and ``annexa verify --trusted-key``,
run as a user runs them on the demo estate's document and attestation folders."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from annexa.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = "2026-11-23T00:00:00Z"


def estate(tmp_path: Path, signing: dict[str, Any] | None = None) -> Path:
    for folder in ("governance", "attestations"):
        if not (tmp_path / folder).exists():
            shutil.copytree(EXAMPLES / folder, tmp_path / folder)
    raw = yaml.safe_load((EXAMPLES / "annexa.yaml").read_text(encoding="utf-8"))
    raw["collectors"] = {name: raw["collectors"][name] for name in ("documents", "attestations")}
    raw["store"] = {"path": "./store"}
    if signing is not None:
        raw["signing"] = signing
    path = tmp_path / "annexa.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_keys_generate_writes_a_private_key_only_its_owner_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private = tmp_path / "keys" / "annexa.pem"
    assert main(["keys", "generate", "-o", str(private)]) == 0
    out = capsys.readouterr().out
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    public = tmp_path / "keys" / "annexa.pub.pem"
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert "key id:" in out
    before = private.read_bytes()
    assert main(["keys", "generate", "-o", str(private)]) == 4  # a key is never overwritten
    assert "exists already: annexa never overwrites a key" in capsys.readouterr().err
    assert private.read_bytes() == before


def test_a_scan_signed_from_the_configuration_verifies_and_another_key_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "generate", "-o", str(tmp_path / "k.pem")]) == 0
    assert main(["keys", "generate", "-o", str(tmp_path / "other.pem")]) == 0
    config = estate(tmp_path, {"key": "k.pem", "witness": "witness/head.json"})
    capsys.readouterr()
    assert main(["scan", "-c", str(config), "--now", NOW, "--format", "json"]) in (0, 1, 2)
    err = capsys.readouterr().err
    assert "annexa: scan signed by key " in err
    assert "annexa: signed head written to witness " in err
    store, witness = str(tmp_path / "store"), str(tmp_path / "witness" / "head.json")

    assert main(["verify", "--store", store, "--trusted-key", str(tmp_path / "k.pub.pem"),
                 "--witness", witness]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "signatures: OK (1 scan(s) signed by trusted key" in out
    assert "the history reaches its signed head #1" in out

    assert main(["verify", "--store", store, "--trusted-key", str(tmp_path / "other.pub.pem"),
                 "--format", "json"]) == 1  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["signatures"]["scans"][0]["signature"] == "invalid"
    assert "signed by another key" in report["signatures"]["problems"][0]["message"]

    assert main(["verify", "--store", store]) == 0  # without a key: labelled, not checked
    assert "signatures: UNCHECKED (1 scan(s) signed (not checked: pass --trusted-key), 0 unsigned)" in (
        capsys.readouterr().out
    )


def test_a_key_from_the_environment_signs_and_unsigned_scans_are_labelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["keys", "generate", "-o", str(tmp_path / "k.pem")]) == 0
    config = estate(tmp_path)
    assert main(["scan", "-c", str(config), "--now", NOW, "--format", "json"]) in (0, 1, 2)
    assert "annexa: scan unsigned (no signing key" in capsys.readouterr().err
    monkeypatch.setenv("ANNEXA_TEST_SIGNING_KEY", (tmp_path / "k.pem").read_text())
    assert main(["scan", "-c", str(config), "--now", NOW, "--format", "json",
                 "--sign-key", "env:ANNEXA_TEST_SIGNING_KEY"]) in (0, 1, 2)  # fmt: skip
    assert "annexa: scan signed by key" in capsys.readouterr().err
    store = str(tmp_path / "store")
    assert main(["verify", "--store", store, "--trusted-key", str(tmp_path / "k.pub.pem")]) == 0
    out = capsys.readouterr().out
    assert "signatures: OK (1 scan(s) signed by trusted key" in out
    assert "1 unsigned" in out
    assert "unsigned: #1 (results not signed by any key)" in out

    assert main(["history", "--store", store, "--format", "json"]) == 0
    assert [s["signature"] for s in json.loads(capsys.readouterr().out)["scans"]] == ["unsigned", "signed"]
    assert main(["history", "--store", store]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("manifest      signature")
    assert [line.split()[-1] for line in lines[1:]] == ["unsigned", "signed"]

    monkeypatch.delenv("ANNEXA_TEST_SIGNING_KEY")
    assert main(["scan", "-c", str(config), "--now", NOW, "--sign-key", "env:ANNEXA_TEST_SIGNING_KEY"]) == 4
    assert "the environment variable ANNEXA_TEST_SIGNING_KEY is not set" in capsys.readouterr().err
    assert main(["verify", "--store", store, "--witness", "w.json"]) == 4
    assert "--witness needs --trusted-key" in capsys.readouterr().err


@pytest.mark.slow
def test_concurrent_signed_scans_are_all_signed_and_the_witness_keeps_the_newest_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import subprocess
    import sys

    assert main(["keys", "generate", "-o", str(tmp_path / "k.pem")]) == 0
    config = estate(tmp_path, {"key": "k.pem", "witness": "witness.json"})
    annexa = Path(sys.executable).parent / "annexa"
    scanners = [
        subprocess.Popen([str(annexa), "scan", "-c", str(config), "--now", NOW, "--format", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "CI": "1"})
        for _ in range(2)
    ]  # fmt: skip
    outputs = [scanner.communicate(timeout=240) for scanner in scanners]
    assert all(scanner.returncode in (0, 1, 2) for scanner in scanners), [e.decode() for _, e in outputs]
    capsys.readouterr()
    code = main(["verify", "--store", str(tmp_path / "store"), "--trusted-key", str(tmp_path / "k.pub.pem"),
                 "--witness", str(tmp_path / "witness.json")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "signatures: OK (2 scan(s) signed by trusted key" in out
    assert "the history reaches its signed head #2" in out
