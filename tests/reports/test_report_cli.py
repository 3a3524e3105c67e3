"""``annexa scan --format/--output`` and ``annexa report``: where reports go; what a stored scan renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reportkit import SECOND_SCAN, DemoProject, copy_demo, load_document, run_cli

from annexa.model.exitcodes import ExitCode
from annexa.plugins import ReporterSpec, hookimpl
from annexa.plugins.host import PluginHost
from annexa.plugins.manager import make_plugin_manager
from annexa.reports import OutputError, plan_outputs
from annexa.reports.output import REPORT_STEM, write_readiness_report

pytest_plugins = ["reportfixtures"]


@pytest.fixture
def host() -> PluginHost:
    class Extra:
        @hookimpl
        def annexa_reporters(self) -> list[ReporterSpec]:
            return [ReporterSpec(name="count", suffix=".count", render=lambda d: f"{len(d['findings'])}\n")]

    pm = make_plugin_manager(autoload=False)
    pm.register(Extra(), name="extra")
    return PluginHost(pm)


def test_plan_stdout_folder_and_file(host: PluginHost, tmp_path: Path) -> None:
    reporters = host.reporters()
    assert "count" in reporters  # a plugin's format is a format like the built-ins
    plan = plan_outputs([], None, reporters)
    assert [s.name for s in plan.printed] == ["text"]
    assert not plan.needs_store
    plan = plan_outputs(["html", "sarif", "html"], f"{tmp_path}/out/", reporters)
    assert [s.name for s in plan.printed] == ["text"]
    assert [p.name for _, p in plan.written] == [f"{REPORT_STEM}.html", f"{REPORT_STEM}.sarif"]
    plan = plan_outputs([], str(tmp_path / "result.json"), reporters)  # --output alone: the JSON result
    assert [(s.name, p.name) for s, p in plan.written] == [("json", "result.json")]
    plan = plan_outputs(["count"], str(tmp_path / "n.txt"), reporters)
    assert [(s.name, p.name) for s, p in plan.written] == [("count", "n.txt")]
    with pytest.raises(OutputError, match="cannot share standard output"):
        plan_outputs(["json", "sarif"], None, reporters)
    with pytest.raises(OutputError, match="pass a folder"):
        plan_outputs(["json", "sarif"], str(tmp_path / "one.file"), reporters)
    with pytest.raises(OutputError, match="unknown format 'pdf'"):
        plan_outputs(["pdf"], None, reporters)


def test_scan_writes_every_format_and_report_rerenders_the_stored_scan(tmp_path: Path) -> None:
    project: DemoProject = copy_demo(tmp_path / "demo")
    out = project.root / "reports"
    formats = [arg for name in ("html", "json", "junit", "sarif", "oscal", "csv", "markdown")
               for arg in ("--format", name)]  # fmt: skip
    code, stdout = run_cli(
        "scan", "-c", str(project.config), "--now", SECOND_SCAN, *formats, "--output", f"{out}/"
    )
    assert code == 1
    assert "controls: " in stdout
    assert "A.9.4      FAIL" in stdout
    assert sum(line.startswith("report: ") for line in stdout.splitlines()) == 7
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == 7
    assert "annexa-report.html" in written
    from_scan = json.loads((out / "annexa-report.json").read_text(encoding="utf-8"))
    # `annexa report` renders the same findings and controls from the store alone.
    code, stdout = run_cli("report", "-c", str(project.config), "--format", "json")
    assert code == 1
    from_store = json.loads(stdout)
    for key in ("findings", "controls", "groups", "summary", "organization", "evidence_items", "history"):
        assert from_store[key] == from_scan[key], key
    assert from_store["scan"]["id"] == from_scan["scan"]["id"]
    code, stdout = run_cli("report", "latest", "--store", str(project.store), "--format", "markdown",
                           "--fail-on", "fail:critical")  # fmt: skip
    assert code == 0
    assert stdout.startswith("## ISO/IEC 42001 Annex A readiness")


def test_report_errors_are_usage_errors(tmp_path: Path) -> None:
    assert run_cli("report", "--store", str(tmp_path / "nowhere"))[0] == ExitCode.USAGE_ERROR
    project = copy_demo(tmp_path / "demo")
    assert run_cli("scan", "-c", str(project.config), "--now", SECOND_SCAN)[0] == 1
    assert run_cli("report", "latest~5", "--store", str(project.store))[0] == ExitCode.USAGE_ERROR
    assert run_cli("report", "--store", str(project.store), "--format", "pdf")[0] == ExitCode.USAGE_ERROR


def test_scan_output_file_alone_keeps_writing_the_json_result(tmp_path: Path) -> None:
    project = copy_demo(tmp_path / "demo")
    target = project.root / "out" / "result.json"
    code, stdout = run_cli("scan", "-c", str(project.config), "--now", SECOND_SCAN, "--output", str(target))
    assert code == 1
    assert stdout.startswith("control ")
    assert json.loads(target.read_text(encoding="utf-8"))["summary"]["controls"]["fail"] >= 1


def test_demo_readiness_report_function(demo: DemoProject, tmp_path: Path) -> None:
    path = write_readiness_report(demo.store, tmp_path / "out" / "report.html", organization="Acme AI (demo)")
    html = path.read_text(encoding="utf-8")
    assert path.is_absolute()
    assert html.startswith("<!DOCTYPE html>")
    assert "Acme AI (demo)" in html
    assert html.count('class="control"') == len(load_document(demo.store)["controls"])
