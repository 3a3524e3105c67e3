"""The commands around a scan: configuration and rule errors, rules check/list, collect + evaluate."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_scan import (  # shared builders, same folder
    ANNEXA,
    ATTESTED_RULE,
    NOW,
    POLICY_RULE,
    Project,
    cli,
    only,
    policy,
    write_document,
)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


def run_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANNEXA_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [str(ANNEXA), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False
    )


def statuses(result: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return sorted((f["id"], f["rule"], f["status"], f["subject"]) for f in result["findings"])


# --- configuration and rule errors --------------------------------------------------------------------


def test_unknown_key_and_bad_date_exit_4_with_positions(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.config.write_text(
        "version: 1\n"
        "colectors: {}\n"
        "exceptions:\n"
        f"  - rule: {POLICY_RULE}\n"
        "    justification: Under review.\n"
        "    approved_by: CRO\n"
        "    expires: 2027-13-45\n",
        encoding="utf-8",
    )
    code, out, err = cli(capsys, "scan", "-c", str(project.config), "--now", NOW)
    assert code == 4
    assert out == ""
    assert f"{project.config}:2:1: error[E603]: unknown key `colectors`" in err
    assert "did you mean `collectors`?" in err
    assert f"{project.config}:7:14: error[E604]: `exceptions[0].expires`" in err
    assert not project.store.exists(), "a scan with a broken configuration must not create the store"


def test_missing_configuration_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "scan", "-c", str(tmp_path / "annexa.yaml"))
    assert code == 4
    assert "no configuration file" in err


def test_rule_syntax_error_exits_4_with_a_caret(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    (project.rules / "broken.rule").write_text(
        'control A.9.2 "Responsible use" {\n  rule r "t" {\n    require count(x in document ==\n  }\n}\n',
        encoding="utf-8",
    )
    code, out, err = cli(capsys, "scan", "-c", str(project.config), "--now", NOW)
    assert code == 4
    assert out == ""
    assert re.search(rf"{re.escape(str(project.rules / 'broken.rule'))}:3:33: error\[E1\d\d\]", err), err
    caret_lines = [line for line in err.splitlines() if line.strip() and set(line.strip()) == {"^"}]
    assert caret_lines, err
    assert not project.store.exists()


def test_rules_check_reports_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "a.rule").write_text(
        'control A.2.2 "x" {\n'
        '  rule r "t" {\n'
        "    for each d in document\n"
        "    require d.nosuch == 1\n"
        '    message "m"\n'
        "  }\n"
        '  rule s "t" {\n'
        '    require exists a in attestaton where a.control == "A.3.3"\n'
        '    message "m"\n'
        "  }\n"
        "}\n",
        encoding="utf-8",
    )
    (folder / "b.rule").write_text(
        'control A.3.3 "y" {\n  rule q "t" {\n    require 1 === 1\n  }\n}\n', encoding="utf-8"
    )
    code, out, err = cli(capsys, "rules", "check", str(folder))
    assert code == 4
    assert "unknown field `nosuch`" in err
    assert "unknown evidence kind `attestaton`" in err
    assert "did you mean `attestation`?" in err
    assert re.search(r"b\.rule:3:\d+: error", err), err
    assert "3 error(s)" in err
    code, out, _ = cli(capsys, "rules", "check", str(folder), "--format", "json")
    assert code == 4
    diagnostics = json.loads(out)["diagnostics"]
    assert len([d for d in diagnostics if d["level"] == "error"]) == 3


def test_rules_check_and_list_on_good_rules(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "rules", "check", str(project.rules))
    assert code == 0
    assert "2 rule(s) in 1 file(s): ok" in out
    code, out, _ = cli(capsys, "rules", "list", str(project.rules))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["rule", "severity", "title"]
    assert lines[1].split()[:2] == [POLICY_RULE, "high"]
    assert lines[2].split()[:2] == [ATTESTED_RULE, "medium"]
    code, out, _ = cli(capsys, "rules", "list", str(project.rules), "--format", "json")
    rows = json.loads(out)["rules"]
    assert [(r["rule"], r["control"], r["kinds"]) for r in rows] == [
        (POLICY_RULE, "A.2.2", ["document"]),
        (ATTESTED_RULE, "A.3.3", ["attestation"]),
    ]
    assert rows[0]["location"].endswith("policies.rule:2:8")


# --- collect, then evaluate offline -------------------------------------------------------------------


def collect_bundle(project: Project, capsys: pytest.CaptureFixture[str]) -> Path:
    bundle = project.root / "bundle.jsonl"
    code, out, err = cli(capsys, "collect", "-c", str(project.config), "--now", NOW, "-o", str(bundle))
    assert code == 0, err
    documents = len(list(project.docs.rglob("*.md")))
    assert out == f"{documents + 1} evidence item(s) written to {bundle}\n"
    header, *items = (json.loads(line) for line in bundle.read_text(encoding="utf-8").splitlines())
    assert header["collected"] == {"attestation": None, "document": None}
    assert len(items) == documents + 1
    return bundle


def evaluate(
    project: Project, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any] | None, str]:
    code, out, err = cli(
        capsys, "evaluate", "--evidence", str(bundle), "--rules", str(project.rules), "--now", NOW,
        "--format", "json",
    )  # fmt: skip
    return code, (json.loads(out) if out.strip() else None), err


def test_collect_then_evaluate_gives_the_scans_findings(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    write_document(project.docs, "policies/draft-policy.md", policy("draft", id="POL-AI-002"))
    write_document(project.docs, "policies/other.md", {**policy(), "type": "procedure"})
    bundle = collect_bundle(project, capsys)
    code, evaluated, err = evaluate(project, bundle, capsys)
    assert code == 1, err
    assert evaluated is not None
    scan_code, scanned, _ = project.scan(capsys)
    assert scan_code == 1
    assert statuses(evaluated) == statuses(scanned)
    assert [f["evidence"] for f in evaluated["findings"]] == [f["evidence"] for f in scanned["findings"]]
    assert evaluated["invalid_evidence"] == []


def test_collect_keeps_which_kinds_failed(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.write_config(docs_path="annexa.yaml")  # a file where a folder should be: collection fails
    bundle = project.root / "bundle.jsonl"
    code, out, err = cli(capsys, "collect", "-c", str(project.config), "--now", NOW, "-o", str(bundle))
    assert code == 2
    assert "1 kind(s) not collected" in out
    assert "is not a folder" in err
    code, evaluated, _ = evaluate(project, bundle, capsys)
    assert code == 2
    assert evaluated is not None
    assert only(evaluated, POLICY_RULE)["status"] == "inconclusive"
    assert "is not a folder" in only(evaluated, POLICY_RULE)["message"]
    assert only(evaluated, ATTESTED_RULE)["status"] == "pass"


def test_evaluate_rejects_a_malformed_bundle_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = collect_bundle(project, capsys)
    lines = bundle.read_text(encoding="utf-8").splitlines()
    lines.insert(2, '{"kind": "document", "source": ')
    bundle.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, evaluated, err = evaluate(project, bundle, capsys)
    assert code == 4
    assert evaluated is None
    assert f"{bundle}:3:" in err
    assert "not valid JSON" in err


def test_evidence_that_breaks_its_schema_is_reported_and_fails_as_defective(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = collect_bundle(project, capsys)
    bad = {
        "kind": "document",
        "source": "file:governance/policies/forged.md",
        "scope": {},
        "collector": "documents 0.1.0",
        "collected_at": NOW,
        "data": {"type": "ai-policy", "status": "approved", "path": "policies/forged.md", "title": 7},
    }
    with bundle.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(bad) + "\n")
    code, evaluated, err = evaluate(project, bundle, capsys)
    assert code == 1  # the broken item is a defective document: it cannot pass for a policy
    assert evaluated is not None
    assert (
        "evidence breaks its schema and counts as defective: document file:governance/policies/forged.md"
        in err
    )
    [invalid] = evaluated["invalid_evidence"]
    assert invalid.startswith("document file:governance/policies/forged.md: ")
    forged = [f for f in evaluated["findings"] if f["subject"] == "file:governance/policies/forged.md"]
    assert forged
    assert {f["status"] for f in forged} == {"fail"}
    assert all("cannot be used as evidence: data does not match its schema" in f["message"] for f in forged)


# --- as a process -------------------------------------------------------------------------------------


def test_scan_process_exit_status_and_streams(project: Project) -> None:
    project.set_policy_status("draft")
    done = run_process("scan", "-c", str(project.config), "--now", NOW, "--format", "json")
    assert done.returncode == 1, done.stderr
    # stderr is piped, not a terminal: plain progress lines, one per collector, no live display.
    lines = done.stderr.splitlines()
    assert lines
    assert all(line.startswith("annexa: ") for line in lines), lines
    assert any(line.startswith("annexa: collected documents in ") for line in lines), lines
    assert "\x1b[" not in done.stderr  # no terminal control codes in a log
    quiet = run_process("scan", "-c", str(project.config), "--now", NOW, "--format", "json", "--quiet")
    assert quiet.returncode == 1
    # Only what is not progress stays (the signing note of the record): no line per collector, no plan.
    assert not [line for line in quiet.stderr.splitlines() if " collected " in line or "rules read" in line]
    assert len(quiet.stderr.splitlines()) < len(lines)
    result = json.loads(done.stdout)
    assert only(result, POLICY_RULE)["status"] == "fail"
    done = run_process("verify", "--store", str(project.store))
    assert done.returncode == 0, done.stdout


def test_scan_process_with_relative_paths_from_another_folder(project: Project, tmp_path: Path) -> None:
    """Paths in annexa.yaml resolve against its folder, not the working directory."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_process("scan", "-c", str(project.config), "--now", NOW, cwd=elsewhere)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project.store / "HEAD").is_file()
    assert list(elsewhere.iterdir()) == []


def test_configuration_error_as_a_process(project: Project) -> None:
    project.config.write_text("version: 2\n", encoding="utf-8")
    done = run_process("scan", "-c", str(project.config))
    assert done.returncode == 4
    assert done.stdout == ""
    assert f"{project.config}:1:10: error" in done.stderr
    assert "Traceback" not in done.stderr
