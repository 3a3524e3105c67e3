"""``annexa scan`` end to end over real folders of Markdown documents and attestation YAML.

Most tests run the command in-process through :func:`annexa.cli.main.main`; the builders at the top are
shared with test_cli.py and test_result_schema.py.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from annexa.app.scan import apply_policy, collect, compile_for, plan
from annexa.cli.main import main
from annexa.lang.language import evaluate
from annexa.model.findings import Status
from annexa.plugins import CollectorSpec, CollectRequest, Evidence, hookimpl
from annexa.plugins.config import load_config
from annexa.plugins.host import PluginHost
from annexa.plugins.manager import PluginSource, make_plugin_manager
from annexa.store import open_store, verify_store

NOW = "2026-11-23T00:00:00Z"
NOW_DT = datetime(2026, 11, 23, tzinfo=UTC)
ANNEXA = Path(sys.executable).parent / "annexa"

POLICY_RULE = "A.2.2/policy_approved"
ATTESTED_RULE = "A.3.3/concern_attested"

RULES = """\
control A.2.2 "AI policy" {
  rule policy_approved "AI policies are approved" {
    severity high
    for each d in document where d.type == "ai-policy"
    require d.status == "approved"
    message "policy {d.path} is {d.status}"
    remediation "Have the policy approved."
  }
}

control A.3.3 "Reporting of concerns" {
  rule concern_attested "Concern reporting is attested" {
    severity medium
    require exists a in attestation where a.control == "A.3.3"
    message "nobody attests that concerns can be reported"
  }
}
"""


def write_document(folder: Path, name: str, front: Mapping[str, Any], body: str = "") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "---\n" + yaml.safe_dump(dict(front), sort_keys=False) + "---\n"
    text += body or f"# {front.get('title', name)}\n\n## Scope\n\nAll AI systems of the company.\n"
    path.write_text(text, encoding="utf-8")
    return path


def policy(status: str = "approved", **extra: Any) -> dict[str, Any]:
    return {
        "id": "POL-AI-001",
        "type": "ai-policy",
        "title": "AI policy",
        "version": "2.0",
        "status": status,
        "owner": "Head of AI Governance",
        "approver": "CEO",
        "approved_on": "2026-03-01",
        "last_reviewed": "2026-03-01",
        **extra,
    }


def attestation(control: str = "A.3.3") -> dict[str, Any]:
    return {
        "id": f"ATT-{control}-2026",
        "control": control,
        "statement": "Concerns can be raised anonymously through the ethics hotline.",
        "attested_by": "Dana Whitfield",
        "role": "Head of Compliance",
        "attested_on": "2026-03-02",
        "expires": "2027-03-02",
    }


class Project:
    """A tmp folder with governance documents, attestations, a rule folder, annexa.yaml and a store."""

    def __init__(self, root: Path, rules: str = RULES) -> None:
        self.root = root
        self.docs = root / "governance"
        self.attestations = root / "attestations"
        self.rules = root / "rules"
        self.store = root / "store"
        self.config = root / "annexa.yaml"
        self.rules.mkdir(parents=True)
        (self.rules / "policies.rule").write_text(rules, encoding="utf-8")
        write_document(self.docs, "policies/ai-policy.md", policy())
        self.attestations.mkdir()
        (self.attestations / "a-3-3.yaml").write_text(yaml.safe_dump(attestation()), encoding="utf-8")
        self.write_config()

    def write_config(
        self,
        *,
        documents: bool = True,
        attestations: bool = True,
        docs_path: str | None = None,
        extra: str = "",
    ) -> Path:
        lines = ["version: 1", "organization: Demo Ltd", "collectors:"]
        if documents:
            lines.append(f"  documents: {{sources: [{{path: {docs_path or 'governance'}}}]}}")
        if attestations:
            lines.append("  attestations: {path: attestations}")
        if not (documents or attestations):
            lines[-1] = "collectors: {}"
        lines += ["rules: {paths: [rules]}", "store: {path: store}"]
        self.config.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
        return self.config

    def set_policy_status(self, status: str) -> None:
        write_document(self.docs, "policies/ai-policy.md", policy(status))

    def scan(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any], str]:
        code, out, err = cli(capsys, "scan", "-c", str(self.config), "--now", NOW, "--format", "json", *extra)
        assert out.strip(), f"scan printed nothing (exit {code}); stderr:\n{err}"
        return code, json.loads(out), err


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def by_rule(result: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for finding in result["findings"]:
        found.setdefault(finding["rule"], []).append(finding)
    return found


def only(result: Mapping[str, Any], rule: str) -> dict[str, Any]:
    findings = by_rule(result).get(rule, [])
    assert len(findings) == 1, f"{rule}: expected one finding, got {findings}"
    return findings[0]


def control(result: Mapping[str, Any], control_id: str) -> dict[str, Any]:
    return next(c for c in result["controls"] if c["id"] == control_id)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


# --- end to end ---------------------------------------------------------------------------------------


def test_scan_passes_and_cites_evidence_that_is_in_the_store(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result, _ = project.scan(capsys)
    assert code == 0 == result["summary"]["exit_code"]
    policy_finding = only(result, POLICY_RULE)
    assert policy_finding["status"] == "pass"
    assert policy_finding["subject"] == "file:governance/policies/ai-policy.md"
    assert only(result, ATTESTED_RULE)["status"] == "pass"
    assert control(result, "A.2.2")["status"] == "pass"
    cited = [ref for finding in result["findings"] for ref in finding["evidence"]]
    assert {ref["kind"] for ref in cited} == {"document", "attestation"}
    with open_store(project.store, create=False) as store:
        for ref in cited:
            item = store.load_evidence(ref["id"])  # raises unless the file exists and matches its digest
            assert (item.id, item.kind, item.source) == (ref["id"], ref["kind"], ref["source"])
        scan = store.load_scan("latest")
        assert scan.record.scan_id == result["scan"]["id"]
        assert scan.digest == result["scan"]["manifest"]
        assert {ref["id"] for ref in cited} <= set(scan.record.evidence_ids)


def test_scan_exits_1_on_a_failing_rule(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.set_policy_status("draft")
    code, result, _ = project.scan(capsys)
    assert code == 1
    finding = only(result, POLICY_RULE)
    assert finding["status"] == "fail"
    assert finding["message"] == "policy policies/ai-policy.md is draft"
    assert finding["remediation"] == "Have the policy approved."
    assert control(result, "A.2.2")["status"] == "fail"
    assert control(result, "A.3.3")["status"] == "pass"


def test_scan_exits_2_when_a_kind_is_not_collected(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write_config(documents=False)
    code, result, _ = project.scan(capsys)
    assert code == 2
    assert only(result, POLICY_RULE)["status"] == "inconclusive"
    assert only(result, ATTESTED_RULE)["status"] == "pass"
    assert [run["collector"] for run in result["collection"]["runs"]] == ["attestations"]


def test_text_report_names_the_failure_and_the_scan(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.set_policy_status("draft")
    code, out, _ = cli(capsys, "scan", "-c", str(project.config), "--now", NOW)
    assert code == 1
    assert "A.2.2      FAIL" in out
    assert "FAIL A.2.2/policy_approved [file:governance/policies/ai-policy.md]: policy" in out
    assert f"recorded in {project.store}" in out


def test_verify_history_and_diff_after_scans(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    code, first, _ = project.scan(capsys)
    assert code == 0
    assert first["drift"] is None
    project.set_policy_status("draft")
    code, second, _ = project.scan(capsys)
    assert code == 1
    assert second["drift"]["counts"]["new_failure"] == 1
    project.set_policy_status("approved")
    code, third, _ = project.scan(capsys)
    assert code == 0

    code, out, _ = cli(capsys, "verify", "--store", str(project.store))
    assert code == 0, out
    assert "OK (3 scan(s)" in out

    code, out, _ = cli(capsys, "history", "--store", str(project.store), "--format", "json")
    assert code == 0
    scans = json.loads(out)["scans"]
    assert [s["scan_id"] for s in scans] == [first["scan"]["id"], second["scan"]["id"], third["scan"]["id"]]
    code, out, _ = cli(capsys, "history", "--store", str(project.store))
    assert code == 0
    assert all(r["scan"]["id"] in out for r in (first, second, third))

    code, out, _ = cli(
        capsys, "diff", "latest~2", "latest~1", "--store", str(project.store), "--format", "json"
    )
    assert code == 0
    drift = json.loads(out)
    assert [(f["rule"], f["change"], f["before"], f["after"]) for f in drift["findings"]] == [
        (POLICY_RULE, "new_failure", "pass", "fail")
    ]
    assert drift["controls"] == [{"id": "A.2.2", "before": "pass", "after": "fail"}]

    code, out, _ = cli(capsys, "diff", "--store", str(project.store))  # default: latest~1 -> latest
    assert code == 0
    assert "1 fixed" in out
    assert f"{POLICY_RULE}  file:governance/policies/ai-policy.md  fail -> pass" in out


# --- collector failures -------------------------------------------------------------------------------


def test_failing_collector_makes_only_its_rules_inconclusive(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    # A source that is not there at all is a configuration error (exit 4, test_cli); a file where a
    # folder should be fails at collection, like an unreadable share.
    (project.root / "not-a-folder").write_text("", encoding="utf-8")
    project.write_config(docs_path="not-a-folder")
    code, result, _ = project.scan(capsys)
    assert code == 2
    finding = only(result, POLICY_RULE)
    assert finding["status"] == "inconclusive"
    assert "documents: document source 'not-a-folder' is not a folder" in finding["message"]
    assert only(result, ATTESTED_RULE)["status"] == "pass"
    assert control(result, "A.2.2")["status"] == "inconclusive"
    assert control(result, "A.3.3")["status"] == "pass"
    assert set(result["collection"]["not_collected"]) == {"document"}
    runs = {run["collector"]: run for run in result["collection"]["runs"]}
    assert "is not a folder" in runs["documents"]["error"]
    assert runs["attestations"]["error"] is None
    assert runs["attestations"]["items"] == 1


class ExplodingCollector:
    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        yield Evidence(
            kind="vault.secret_store",
            source="vault:first",
            scope={},
            collector="vault 0.0.1",
            collected_at=request.now,
            data={"name": "first"},
        )
        raise RuntimeError("vault client bug: 'NoneType' object is not subscriptable")


class VaultPlugin:
    @hookimpl
    def annexa_collectors(self) -> Iterable[CollectorSpec]:
        yield CollectorSpec(
            name="vault",
            version="0.0.1",
            kinds={
                "vault.secret_store": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}},
                    "required": ["name"],
                    "additionalProperties": False,
                }
            },
            config_schema={"type": "object", "properties": {"url": {"type": "string"}}},
            factory=ExplodingCollector,
        )


def test_a_collector_that_crashes_does_not_sink_the_scan(project: Project) -> None:
    (project.rules / "vault.rule").write_text(
        'control A.4.4 "Tooling resources" {\n'
        '  rule vault_listed "Secret stores are listed" {\n'
        '    require exists s in vault.secret_store where s.name != ""\n'
        '    message "no secret store"\n  }\n}\n',
        encoding="utf-8",
    )
    project.write_config(extra="")
    text = project.config.read_text(encoding="utf-8")
    project.config.write_text(
        text.replace("collectors:\n", "collectors:\n  vault: {url: 'https://vault.example'}\n"),
        encoding="utf-8",
    )
    pm = make_plugin_manager(autoload=False)
    pm.register_plugin(
        VaultPlugin(), "vault", source=PluginSource.DISTRIBUTION, distribution="annexa-vault", version="0.0.1"
    )
    host = PluginHost(pm)
    config = load_config(project.config, host)
    ruleset = compile_for(config, host)
    planned = plan(ruleset, config, host.collectors())
    assert planned == {
        "attestations": frozenset({"attestation"}),
        "documents": frozenset({"document"}),
        "vault": frozenset({"vault.secret_store"}),
    }
    collection = collect(config, host, planned, now=NOW_DT)
    assert collection.collected["document"] is None
    assert collection.collected["attestation"] is None
    assert "collector crashed: RuntimeError: vault client bug" in str(
        collection.collected["vault.secret_store"]
    )
    # What the crashing collector yielded before the crash is not trusted as a complete collection.
    assert not any(item.kind == "vault.secret_store" for item in collection.evidence)
    [problem] = collection.problems
    assert (problem.collector, problem.code) == ("vault", "collector_error")
    findings = apply_policy(
        evaluate(ruleset, collection.evidence, now=NOW_DT, collected=collection.collected), config, NOW_DT
    )
    statuses = {f.rule_id: f.status for f in findings}
    assert statuses == {
        POLICY_RULE: Status.PASS,
        ATTESTED_RULE: Status.PASS,
        "A.4.4/vault_listed": Status.INCONCLUSIVE,
    }
    vault_finding = next(f for f in findings if f.rule_id == "A.4.4/vault_listed")
    assert "vault client bug" in vault_finding.message


# --- exceptions and applicability ---------------------------------------------------------------------


def exception_block(expires: str, subject: str | None = None) -> str:
    subject_line = f"    subject: {subject}\n" if subject else ""
    return (
        "exceptions:\n"
        f"  - rule: {POLICY_RULE}\n"
        f"{subject_line}"
        "    justification: Policy rewrite for the EU AI Act is under board review.\n"
        "    approved_by: Chief Risk Officer\n"
        f"    expires: {expires}\n"
    )


def test_an_exception_in_force_waives_the_failure(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.set_policy_status("draft")
    project.write_config(extra=exception_block("2026-11-23", "file:governance/policies/ai-policy.md"))
    code, result, _ = project.scan(capsys)
    finding = only(result, POLICY_RULE)
    assert finding["status"] == "fail"  # the real status is kept
    assert finding["waiver"] == {
        "justification": "Policy rewrite for the EU AI Act is under board review.",
        "approved_by": "Chief Risk Officer",
        "expires": "2026-11-23",  # in force on its expiry day
    }
    assert control(result, "A.2.2")["status"] != "fail"
    assert control(result, "A.2.2")["counts"]["waived"] == 1
    assert result["summary"]["waived"] == 1
    assert code == 0


def test_an_exception_for_another_subject_does_not_waive(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.set_policy_status("draft")
    project.write_config(extra=exception_block("2027-01-31", "file:governance/policies/other.md"))
    code, result, _ = project.scan(capsys)
    assert code == 1
    assert only(result, POLICY_RULE)["waiver"] is None


def test_an_expired_exception_no_longer_waives(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.set_policy_status("draft")
    project.write_config(extra=exception_block("2026-11-22"))
    code, result, _ = project.scan(capsys)
    assert code == 1
    finding = only(result, POLICY_RULE)
    assert finding["status"] == "fail"
    assert finding["waiver"] is None
    assert "expired on 2026-11-22" in finding["note"]
    assert control(result, "A.2.2")["status"] == "fail"


def test_declared_non_applicability_overrides_the_status(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.set_policy_status("draft")
    project.write_config(
        extra="applicability:\n"
        "  - control: A.2.2\n"
        "    applicable: false\n"
        "    justification: The group AI policy of the parent company applies.\n"
    )
    code, result, _ = project.scan(capsys)
    assert code == 0
    finding = only(result, POLICY_RULE)
    assert finding["status"] == "not_applicable"
    assert "The group AI policy of the parent company applies." in finding["note"]
    assert control(result, "A.2.2")["status"] == "not_applicable"
    assert only(result, ATTESTED_RULE)["status"] == "pass"


# --- crash safety and secrets -------------------------------------------------------------------------


@pytest.mark.slow
def test_sigkilled_scans_leave_a_store_that_verifies(tmp_path: Path) -> None:
    project = Project(tmp_path / "project")
    # Enough documents that a scan takes a while, so kills land in collection, storage and recording.
    for number in range(400):
        write_document(
            project.docs,
            f"policies/p{number:03d}.md",
            policy(("approved", "draft")[number % 2], id=f"POL-{number}"),
            body=f"# Policy {number}\n\n" + "## Section\n\nText of the section.\n" * 20,
        )
    command = [str(ANNEXA), "scan", "-c", str(project.config), "--now", NOW, "--format", "json"]
    env = {**os.environ, "ANNEXA_DISABLE_PLUGIN_AUTOLOAD": "1"}
    started = time.perf_counter()
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    full_scan = time.perf_counter() - started
    assert first.returncode == 1, first.stderr
    rng = random.Random(20261123)
    killed_running = 0
    for _ in range(20):  # at least 20 kill points, as the reliability brief asks
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        time.sleep(rng.uniform(0.05, full_scan * 0.95))
        killed_running += process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        verify = subprocess.run(
            [str(ANNEXA), "verify", "--store", str(project.store)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    assert killed_running >= 12, f"only {killed_running} kill(s) hit a running scan ({full_scan:.2f} s)"
    last = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert last.returncode == 1, last.stderr
    result = json.loads(last.stdout)
    assert len(by_rule(result)[POLICY_RULE]) == 401
    with open_store(project.store, create=False) as store:
        assert verify_store(store).ok
        assert store.scans()[-1].scan_id == result["scan"]["id"]


GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_KEY_ID = "AKIA" + "Z7Q4R2XK9TLM3WPB"


def test_planted_secrets_reach_neither_the_store_nor_the_output(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    write_document(
        project.docs,
        "policies/ai-policy.md",
        policy(api_token=GITHUB_TOKEN, deploy_key=f"id={AWS_KEY_ID}"),
        body=f"# AI policy\n\n## Access\n\nThe CI uses {GITHUB_TOKEN} and {AWS_KEY_ID}.\n",
    )
    code, result, _ = project.scan(capsys)
    assert code == 0
    assert result["collection"]["redactions"] >= 2
    _, text_out, _ = cli(capsys, "scan", "-c", str(project.config), "--now", NOW)
    for output in (json.dumps(result), text_out):
        assert GITHUB_TOKEN not in output
        assert AWS_KEY_ID not in output
    files = [path for path in project.store.rglob("*") if path.is_file()]
    assert any(path.suffix == ".json" for path in files)
    for path in files:  # evidence, manifests, the SQLite index and its WAL
        content = path.read_bytes()
        assert GITHUB_TOKEN.encode() not in content, path
        assert AWS_KEY_ID.encode() not in content, path
    with open_store(project.store, create=False) as store:
        items = store.evidence_of(store.load_scan("latest"))
    document = next(item for item in items if item.kind == "document")
    extra = document.data["extra"]
    assert isinstance(extra, dict)
    assert set(extra) >= {"api_token", "deploy_key"}
