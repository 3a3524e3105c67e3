"""Integration: pip-install plugins/example (annexa-inventory) and find it through its entry point.

The distribution is installed with ``pip install --target`` into a temporary folder rather than into
the shared .venv, so no other test (or engineer) ever sees it; the folder is put on the path only for
this test and for the subprocesses it starts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from annexa.model.diagnostics import DiagnosticError
from annexa.plugins.config import load_config
from annexa.plugins.host import PluginHost
from annexa.plugins.manager import PluginStatus, make_plugin_manager
from annexa.plugins.testing import check_collector_spec, execute_collector

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("example")
    source = work / "src"
    shutil.copytree(
        ROOT / "plugins" / "example", source, ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        cwd=work,
        timeout=240,
    )
    return target


def env_with(target: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("ANNEXA_DISABLE_PLUGIN_AUTOLOAD", None)
    return env


def test_discovered_through_entry_point_and_collects(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.delenv("ANNEXA_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    host = PluginHost(make_plugin_manager(builtins=(), search_path=[str(installed)]))
    [record] = host.inventory()
    assert (record.name, record.distribution, record.version, record.status) == (
        "inventory",
        "annexa-inventory",
        "0.1.0",
        PluginStatus.ACTIVE,
    )
    assert record.collectors == (("inventory", ("inventory.ai_system",)),)
    spec = host.collectors()["inventory"]
    check_collector_spec(spec)

    (tmp_path / "inventory.csv").write_text(
        "system id,name,owner,purpose,lifecycle stage,risk level,data sources,suppliers\n"
        "fraud,Fraud scoring,risk,Scoring,operation,high,payments;disputes,AcmeML\n"
        "bot,Chat,,Support,deployment,extreme,,\n",
        encoding="utf-8",
    )
    (tmp_path / "annexa.yaml").write_text("version: 1\ncollectors:\n  inventory: {path: inventory.csv}\n")
    config = load_config(tmp_path / "annexa.yaml", host)
    run = execute_collector(spec, config=config.collectors["inventory"], base_path=config.base_path, now=NOW)
    run.assert_kinds({"inventory.ai_system": 2})  # the bad row is a defective item, not dropped
    assert run.by_source("inventory:bot").defect == (
        "inventory.csv row 3: unknown risk level 'extreme' (expected one of low, medium, high, unacceptable)"
    )
    item = run.by_source("inventory:fraud")
    assert item.data["suppliers"] == ["AcmeML"]
    assert item.scope == {"inventory": "inventory.csv"}
    assert [(d.source, d.code) for d in run.diagnostics] == [("inventory.csv row 3", "source_problem")]

    (tmp_path / "bad.yaml").write_text("version: 1\ncollectors:\n  inventory: {file: x.csv}\n")
    with pytest.raises(
        DiagnosticError, match=r"bad.yaml:3:15: error\[E603\]: unknown key `collectors.inventory.file`"
    ):
        load_config(tmp_path / "bad.yaml", host)


def test_annexa_plugins_command_lists_it(installed: Path) -> None:
    completed = subprocess.run(
        [str(BIN / "annexa"), "plugins", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
        env=env_with(installed),
        timeout=120,
    )
    plugins: list[dict[str, Any]] = json.loads(completed.stdout)["plugins"]
    inventory = next(p for p in plugins if p["name"] == "inventory")
    assert inventory["distribution"] == "annexa-inventory"
    assert inventory["status"] == "active"
    assert inventory["collectors"] == [{"name": "inventory", "kinds": ["inventory.ai_system"]}]


def test_example_own_test_suite_passes(installed: Path, tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    shutil.copytree(ROOT / "plugins" / "example" / "tests", tests)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        capture_output=True,
        text=True,
        env=env_with(installed),
        cwd=tmp_path,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "7 passed" in completed.stdout
