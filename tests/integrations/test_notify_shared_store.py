"""Nonconformity notifications from a scan recorded in the shared store (a real PostgreSQL on 127.0.0.1):
the register is rebuilt from the PostgreSQL index as from a folder, and the store is named by its URL's
scheme and host only."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from githubfake import FakeGitHub, serve_github
from test_github_issues import DAYS, RULES, TOKEN, TOKEN_ENV, write_policy

from annexa.cli.main import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_store_shared import postgres_url  # noqa: F401 - the PostgreSQL server fixture

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with serve_github(FakeGitHub(token=TOKEN)) as fake:
        yield fake


@pytest.mark.slow
def test_a_scan_into_postgresql_opens_and_closes_the_issue(
    postgres_url: str,  # noqa: F811 - the fixture imported above
    github: FakeGitHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = f"annexa_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "policy.rule").write_text(RULES, encoding="utf-8")
    write_policy(tmp_path, "draft")
    config = tmp_path / "annexa.yaml"
    settings = {"repository": "acme/ai-governance", "token_env": TOKEN_ENV, "api_url": github.url}
    raw = {
        "version": 1,
        "organization": "Demo Ltd",
        "collectors": {"documents": {"sources": [{"path": "governance"}]}},
        "rules": {"paths": ["rules"]},
        "store": {"url": f"{postgres_url}/{name}", "evidence": str(tmp_path / "locker")},
        "integrations": {"github_issues": settings},
    }
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    assert main(["scan", "-c", str(config), "--now", DAYS[0], "--quiet"]) == 1
    [issue] = github.annexa_issues()
    host = postgres_url.removeprefix("postgresql://postgres@")
    assert f"(store: `postgresql://{host}/...`)" in issue["body"]
    write_policy(tmp_path, "approved")
    assert main(["scan", "-c", str(config), "--now", DAYS[1], "--quiet"]) == 0
    assert issue["state"] == "closed"
    assert "github_issues" not in capsys.readouterr().err
