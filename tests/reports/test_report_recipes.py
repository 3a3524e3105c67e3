"""The scheduling recipes (docs/recipes): valid files, real annexa commands, a store kept between runs."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from reportkit import copy_demo, serve_hook

from annexa.cli.main import build_parser

RECIPES = Path(__file__).resolve().parents[2] / "docs" / "recipes"
BIN = Path(sys.executable).parent
_ANNEXA_CALL = re.compile(r"(?<![\w./-])annexa\s(?:[^;&|)\n]|\n\s)*")


def annexa_calls(shell: str) -> list[list[str]]:
    """Every ``annexa ...`` invocation in a shell command line, as argv without the program name."""
    calls = []
    for match in _ANNEXA_CALL.finditer(shell):
        words = shlex.split(match.group(0))
        words = words[: words.index(">>")] if ">>" in words else words
        words = [w for w in words if w not in ("then", "fi")]
        calls.append(words[1:])
    return calls


def parse(argv: list[str]) -> Any:
    """Parse with annexa's own parser: an unknown command or flag fails the test."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on a bad flag
        pytest.fail(f"`annexa {' '.join(argv)}` is not a valid annexa command line ({exc})")


def cron_entries() -> list[tuple[list[str], str, str]]:
    entries = []
    for line in (RECIPES / "annexa.cron").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            fields = line.split(None, 6)
            entries.append((fields[:5], fields[5], fields[6]))
    return entries


def test_cron_line_is_well_formed() -> None:
    [(schedule, user, command)] = cron_entries()
    assert all(re.fullmatch(r"[0-9*/,-]+", field) for field in schedule)
    assert user == "annexa"
    calls = [parse(argv) for argv in annexa_calls(command)]
    assert [call.command for call in calls] == ["verify", "scan"]
    assert calls[1].formats == ["html", "json", "markdown"]
    assert command in (RECIPES.parent / "scheduling.md").read_text(encoding="utf-8"), "docs show another line"


def test_cron_command_twice_keeps_history_and_drift(tmp_path: Path) -> None:
    project = copy_demo(tmp_path / "srv")
    config = yaml.safe_load(project.config.read_text(encoding="utf-8"))
    config["store"]["path"] = ".annexa"
    project.config.write_text(yaml.safe_dump(config), encoding="utf-8")
    [(_, _, command)] = cron_entries()
    log = tmp_path / "scan.log"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    with serve_hook() as hook:
        local = command.replace("cd /srv/annexa", f"cd {shlex.quote(str(project.root))}")
        local = re.sub(r"--notify \S+", f"--notify {hook.url}", local)
        local = local.replace("/var/log/annexa/scan.log", str(log))
        for _ in range(2):
            done = subprocess.run(["/bin/sh", "-c", local], env=env, timeout=240, check=False)
            assert done.returncode in (0, 1, 2), log.read_text(encoding="utf-8")
    history = subprocess.run(
        [str(BIN / "annexa"), "history", "--store", str(project.root / ".annexa"), "--format", "json"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert len(json.loads(history.stdout)["scans"]) == 2
    report = json.loads((project.root / "reports" / "annexa-report.json").read_text(encoding="utf-8"))
    assert len(report["history"]) == 2
    assert report["drift"] is not None
    counts = report["drift"]["counts"]
    assert counts["unchanged"] + counts["still_failing"] == len(report["findings"])
    assert (project.root / "reports" / "annexa-report.html").is_file()
    assert hook.bodies[0]["text"].count("first recorded scan") == 1
    assert "since the previous scan: 0 new failure(s)" in hook.bodies[1]["text"]


def test_github_actions_workflow_keeps_the_store() -> None:
    workflow = yaml.safe_load((RECIPES / "github-actions.yml").read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"]
    steps = workflow["jobs"]["scan"]["steps"]
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore@"))
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save@"))
    assert restore["with"]["path"] == save["with"]["path"] == ".annexa"
    assert save["if"] == "always()"
    assert save["with"]["key"].startswith(restore["with"]["restore-keys"])
    assert steps.index(restore) < steps.index(save)
    calls = [parse(argv) for step in steps for argv in annexa_calls(step.get("run", ""))]
    assert [call.command for call in calls] == ["verify", "scan"]
    verify, scan = calls
    assert verify.store == ".annexa"
    assert scan.output == "reports/"
    assert scan.fail_on == ["new:high"]
    sarif = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert sarif["with"]["sarif_file"] == "reports/annexa-report.sarif"
    assert "sarif" in scan.formats
    assert workflow["permissions"]["security-events"] == "write"


def test_kubernetes_cronjob_keeps_the_store_on_a_volume(tmp_path: Path) -> None:
    from annexa.app.wiring import make_host
    from annexa.plugins.config import load_config

    documents = list(yaml.safe_load_all((RECIPES / "kubernetes-cronjob.yaml").read_text(encoding="utf-8")))
    by_kind = {doc["kind"]: doc for doc in documents}
    assert set(by_kind) == {"PersistentVolumeClaim", "ConfigMap", "CronJob"}
    cronjob = by_kind["CronJob"]
    assert cronjob["apiVersion"] == "batch/v1"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert (
        volumes["store"]["persistentVolumeClaim"]["claimName"]
        == by_kind["PersistentVolumeClaim"]["metadata"]["name"]
    )
    assert volumes["config"]["configMap"]["name"] == by_kind["ConfigMap"]["metadata"]["name"]
    [container] = pod["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert container["command"][0] == "annexa"
    scan = parse(container["command"][1:])
    assert scan.command == "scan"
    assert str(scan.config).startswith(mounts["config"] + "/")
    assert scan.output.startswith(mounts["store"] + "/")
    config_file = tmp_path / "annexa.yaml"
    config_file.write_text(by_kind["ConfigMap"]["data"]["annexa.yaml"], encoding="utf-8")
    config = load_config(config_file, make_host())
    assert str(config.store_path).startswith(mounts["store"] + "/")
    [verify] = [parse(argv) for init in pod["initContainers"] for argv in annexa_calls(init["command"][-1])]
    assert verify.command == "verify"
    assert verify.store == str(config.store_path)
