"""An auditor downloads the auditor bundle of a signed scan from the dashboard, and it verifies offline
with the producer's public key, as one written by `annexa export` does."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from servekit import copy_demo, create_token, run_cli, serve

pytestmark = pytest.mark.slow


def test_an_auditor_downloads_a_bundle_that_verifies_offline(tmp_path: Path) -> None:
    project = copy_demo(tmp_path / "demo")
    key = tmp_path / "keys" / "annexa-signing.pem"
    assert run_cli("keys", "generate", "-o", str(key))[0] == 0
    code, _ = run_cli("scan", "-c", str(project.config), "--sign-key", str(key), "--format", "json")
    assert code == 1
    store = str(project.store)
    auditor, viewer = create_token(store, "Audrey", "auditor"), create_token(store, "Victor", "viewer")
    with serve(store, "-c", str(project.config)) as url:
        path = url + "/api/v1/scans/latest/bundle"
        assert (
            requests.get(path, headers={"Authorization": f"Bearer {viewer}"}, timeout=60).status_code == 403
        )
        answer = requests.get(path, headers={"Authorization": f"Bearer {auditor}"}, timeout=120)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/zip"
        assert answer.headers["content-disposition"].startswith('attachment; filename="annexa-')
        audit = requests.get(
            url + "/api/v1/audit", headers={"Authorization": f"Bearer {auditor}"}, timeout=60
        )
        assert audit.json()["entries"][0]["action"] == "bundle.export"
        assert audit.json()["entries"][0]["actor"] == "Audrey"
    bundle = tmp_path / "downloaded.zip"
    bundle.write_bytes(answer.content)
    public = key.with_name("annexa-signing.pub.pem")
    code, out = run_cli("verify-bundle", str(bundle), "--trusted-key", str(public))
    assert code == 0, out
    # Without the configuration the scan was recorded with, the dashboard cannot reproduce a bundle.
    with serve(store) as url:
        headers = {"Authorization": f"Bearer {auditor}"}
        refused = requests.get(url + "/api/v1/scans/latest/bundle", headers=headers, timeout=60)
        assert refused.status_code == 409
        assert "-c" in refused.json()["error"]
