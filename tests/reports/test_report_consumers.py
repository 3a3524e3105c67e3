"""Each format as the tool that consumes it reads it: GitHub's SARIF rules (Microsoft's SARIF Multitool),
Jenkins' xUnit schema (junit-10.xsd) and junitparser, compliance-trestle's OSCAL models.

The Multitool comes from npm (`make node-tools`, also run by .ci/run, installs it into build/node-tools);
CI fails rather than skips without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from reportkit import DemoProject

from annexa.model.findings import is_observation
from annexa.reports.formats import annexa_reporters
from annexa.reports.sarif import CONFIG_FILE, FINGERPRINT

pytest_plugins = ["reportfixtures"]

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
NODE_TOOLS = ROOT / "build" / "node-tools" / "node_modules"
# The npm package's own launcher runs the binary through a shell, which splits "Gh;Sarif" at the `;`:
# the platform package's binary is called directly.
MULTITOOL = NODE_TOOLS / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"
REPORTERS = {spec.name: spec for spec in annexa_reporters()}


def render(name: str, document: dict[str, Any]) -> str:
    return REPORTERS[name].render(document)


def require_tool(path: Path, hint: str) -> Path:
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is not installed ({hint})")
        pytest.skip(f"{path.name} not installed: {hint}")
    return path


def multitool_errors(path: Path, tmp_path: Path) -> list[str]:
    """The Multitool's GitHub and SARIF rules on ``path``: its error and warning results, as text."""
    tool = require_tool(MULTITOOL, "make node-tools")
    out = tmp_path / f"{path.stem}.validation.sarif"
    completed = subprocess.run(
        [str(tool), "validate", "--rule-kind", "Gh;Sarif", "--output", str(out), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert out.is_file(), completed.stdout
    results = json.loads(out.read_text(encoding="utf-8"))["runs"][0]["results"]
    return [
        f"{r['ruleId']} {r.get('level', 'warning')}: {r['message']}"
        for r in results
        if r.get("level", "warning") in ("error", "warning")
    ]


def test_the_multitool_fails_the_old_shape(tmp_path: Path) -> None:
    """The check has teeth: a rule with no fullDescription nor help is an error under GitHub's rules."""
    path = tmp_path / "bare.sarif"
    rule = {"id": "A.2.2/x", "shortDescription": {"text": "x"}}
    result = {
        "ruleId": "A.2.2/x",
        "ruleIndex": 0,
        "message": {"text": "x"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.md"}}}],
    }
    run = {"tool": {"driver": {"name": "annexa", "rules": [rule]}}, "results": [result]}
    path.write_text(json.dumps({"version": "2.1.0", "runs": [run]}), encoding="utf-8")
    assert any("GH2012" in error for error in multitool_errors(path, tmp_path))


@pytest.mark.parametrize("name", ["sarif", "sarif_all"])
def test_sarif_passes_githubs_rules(name: str, document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / f"annexa-report{REPORTERS[name].suffix}"
    path.write_text(render(name, document), encoding="utf-8")
    assert multitool_errors(path, tmp_path) == []


def test_sarif_alerts_only_on_what_needs_acting_on(document: dict[str, Any]) -> None:
    results = json.loads(render("sarif", document))["runs"][0]["results"]
    unsettled = [f for f in document["findings"] if f["status"] in ("fail", "inconclusive", "error")]
    assert [r["properties"]["findingId"] for r in results] == [f["id"] for f in unsettled]
    assert {r["kind"] for r in results} == {"fail", "review"}
    assert all(r["level"] == "none" for r in results if r["kind"] != "fail")
    every = json.loads(render("sarif_all", document))["runs"][0]["results"]
    assert len(every) == len(document["findings"])
    assert {r["kind"] for r in every} == {"pass", "fail", "review", "notApplicable"}


def test_sarif_locations_resolve_in_the_repository(document: dict[str, Any], demo: DemoProject) -> None:
    """Every artifact is a file of the scanned project, relative to its root; cloud and scope subjects are
    logical locations on the configuration that declared them."""
    run = json.loads(render("sarif_all", document))["runs"][0]
    uris = set()
    for result in run["results"]:
        for location in result["locations"] + result.get("relatedLocations", []):
            uri = location["physicalLocation"]["artifactLocation"]["uri"]
            assert ":" not in uri, uri
            assert not uri.startswith("/"), uri
            uris.add(unquote(uri))
        if result["properties"]["subject"]:
            names = [loc["fullyQualifiedName"] for loc in result["locations"][0]["logicalLocations"]]
            assert result["properties"]["subject"] in names
    assert CONFIG_FILE in uris
    assert "governance/policies/ai-policy.md" in uris
    assert "attestations/customer-and-supplier.yaml" in uris
    assert sorted(u for u in uris if not (demo.root / u).is_file()) == []


def test_sarif_rules_carry_description_help_and_fingerprints(document: dict[str, Any]) -> None:
    run = json.loads(render("sarif", document))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == sorted({r["ruleId"] for r in run["results"]})
    remediation = {f["rule"]: f["remediation"] for f in document["findings"]}
    for rule in rules:
        assert rule["fullDescription"]["text"].startswith(f"ISO/IEC 42001 {rule['properties']['control']} (")
        assert rule["help"]["text"] == remediation[rule["id"]]
        assert rule["helpUri"].startswith("https://github.com/annexa/annexa/blob/main/rules/annex_a/")
        assert (ROOT / "rules" / rule["helpUri"].split("/blob/main/rules/", 1)[1]).is_file()
    fingerprints = [(r["ruleId"], r["properties"]["subject"], r["partialFingerprints"][FINGERPRINT])
                    for r in run["results"]]  # fmt: skip
    by_pair = {(rule, subject): print_ for rule, subject, print_ in fingerprints}
    assert len(set(by_pair.values())) == len(by_pair)  # one fingerprint per (rule, subject) ...
    # ... that a changed message or new evidence does not move.
    changed = [{**f, "message": "reworded", "evidence": [], "id": "0" * 16} for f in document["findings"]]
    again = json.loads(render("sarif", {**document, "findings": changed}))["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in again] == [r["partialFingerprints"] for r in run["results"]]


def test_junit_is_valid_against_jenkins_xunit_junit_10_xsd(document: dict[str, Any]) -> None:
    import xmlschema

    schema = xmlschema.XMLSchema10(DATA / "junit-10.xsd")
    text = render("junit", document)
    errors = [f"{error.path}: {error.reason}" for error in schema.iter_errors(text)]
    assert errors == []
    # The schema has teeth: the shape before (properties inside a test case) is rejected.
    bad = text.replace(
        "<system-out>", "<properties><property name='a' value='b'/></properties><system-out>", 1
    )
    assert not schema.is_valid(bad)


def test_junit_reads_in_junitparser(document: dict[str, Any], tmp_path: Path) -> None:
    from junitparser import Error, Failure, JUnitXml, Skipped

    path = tmp_path / "annexa-report.junit.xml"
    path.write_text(render("junit", document), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    cases = [case for suite in xml for case in suite]
    assert len(cases) == len(document["findings"])
    by_id = {case.system_out.splitlines()[0].removeprefix("finding_id: "): case for case in cases}
    for finding in document["findings"]:
        kinds = {type(result) for result in by_id[finding["id"]].result}
        if finding["waiver"] or is_observation(finding) or finding["status"] == "not_applicable":
            assert kinds == {Skipped}, finding["id"]
        elif finding["status"] == "fail":
            assert kinds == {Failure}, finding["id"]
        elif finding["status"] in ("inconclusive", "error"):
            assert kinds == {Error}, finding["id"]
        else:
            assert kinds == set(), finding["id"]
    xml.update_statistics()
    failing = [f for f in document["findings"] if f["status"] == "fail" and not f["waiver"]]
    assert xml.failures == len([f for f in failing if not is_observation(f)])


def _zulu(value: Any) -> Any:
    """Trestle writes UTC as +00:00 where annexa writes Z: the same instant."""
    if isinstance(value, dict):
        return {key: _zulu(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_zulu(item) for item in value]
    return value.replace("+00:00", "Z") if isinstance(value, str) else value


def test_oscal_round_trips_through_compliance_trestle(document: dict[str, Any], tmp_path: Path) -> None:
    """trestle imports the document into a workspace, validates it (schema, duplicates, links: a reference
    to no back-matter resource, or a resource nothing references, is a warning) and writes it back."""
    trestle = Path(sys.executable).parent / "trestle"
    source = tmp_path / "annexa-report.oscal.json"
    source.write_text(render("oscal", document), encoding="utf-8")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    for args in (["init"], ["import", "-f", str(source), "-o", "demo"], ["validate", "-a"]):
        done = subprocess.run(
            [str(trestle), *args], cwd=workspace, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr
    written = json.loads((workspace / "assessment-results" / "demo" / "assessment-results.json").read_text())
    assert _zulu(written) == json.loads(source.read_text(encoding="utf-8"))


def test_oscal_references_all_resolve(document: dict[str, Any], demo: DemoProject) -> None:
    raw = json.loads(render("oscal", document))["assessment-results"]
    resources = {resource["uuid"]: resource for resource in raw["back-matter"]["resources"]}
    result = raw["results"][0]
    observations = {o["uuid"] for o in result["observations"]}
    risks = {r["uuid"] for r in result["risks"]}
    # import-ap: the rule pack, with its digest and the annexa version that ran it.
    pack = resources[raw["import-ap"]["href"].removeprefix("#")]
    props = {p["name"]: p["value"] for p in pack["props"]}
    assert props == {
        "ruleset-digest": document["ruleset_digest"],
        "annexa-version": document["annexa_version"],
    }
    assert pack["rlinks"][0]["hashes"] == [{"algorithm": "SHA-256", "value": document["ruleset_digest"]}]
    # Every evidence item cited is a resource; a document's resource names its file and the file's hash.
    cited = {ref["id"] for f in document["findings"] for ref in f["evidence"]}
    hrefs = [e["href"] for o in result["observations"] for e in o.get("relevant-evidence", [])]
    assert all(h.removeprefix("#") in resources for h in hrefs)
    assert len(set(hrefs)) == len(cited) == len(resources) - 1
    files = [link for r in resources.values() for link in r["rlinks"] if not link["href"].startswith("urn:")]
    assert len(files) >= 40
    for link in files:
        content = (demo.root / unquote(link["href"])).read_bytes()
        assert link["hashes"] == [{"algorithm": "SHA-256", "value": hashlib.sha256(content).hexdigest()}]
    for finding in result["findings"]:
        assert {r["observation-uuid"] for r in finding["related-observations"]} <= observations
        assert {r["risk-uuid"] for r in finding.get("related-risks", [])} <= risks


def test_oscal_says_why_a_control_is_not_plainly_passed_or_failed(document: dict[str, Any]) -> None:
    result = json.loads(render("oscal", document))["assessment-results"]["results"][0]
    targets = {f["target"]["target-id"].removesuffix("_obj"): f for f in result["findings"]}
    statuses = {c["id"]: c["status"] for c in document["controls"]}
    for control, finding in targets.items():
        status = finding["target"]["status"]
        if statuses[control] in ("pass", "fail"):
            assert status["reason"] == statuses[control]
        else:
            assert status["reason"] == "other"
            assert status["remarks"]
    assert targets["A.4.5"]["target"]["status"]["remarks"].startswith("Inconclusive: the evidence could not")
    assert "evidence not collected (aws.sagemaker_endpoint" in targets["A.4.5"]["target"]["status"]["remarks"]
    assert "only supporting evidence" in targets["A.4.4"]["target"]["status"]["remarks"]
    excluded = targets["A.10.4"]["target"]
    assert excluded["implementation-status"]["state"] == "not-applicable"
    assert excluded["implementation-status"]["remarks"].startswith("Acme sells no AI product or service")
    # The waived failure: an approved deviation the control's finding names, with who and until when.
    waived = next(f for f in document["findings"] if f["waiver"])
    risk_uuids = {r["risk-uuid"] for r in targets[waived["control"]]["related-risks"]}
    (risk,) = [r for r in result["risks"] if r["uuid"] in risk_uuids]
    assert risk["status"] == "deviation-approved"
    assert waived["waiver"]["approved_by"] in risk["statement"]
    assert waived["waiver"]["expires"] in risk["statement"]


def test_sarif_category_is_the_same_on_every_scan(document: dict[str, Any]) -> None:
    """GitHub derives the category from automationDetails.id up to its last `/` (upload-sarif's `category`
    input does not override an id in the file): the same category each scan, so alerts carry over."""
    first = json.loads(render("sarif", document))["runs"][0]["automationDetails"]["id"]
    later = {**document, "scan": {**document["scan"], "id": "20261201T090000Z-00000009"}}
    second = json.loads(render("sarif", later))["runs"][0]["automationDetails"]["id"]
    assert first != second
    assert first.rsplit("/", 1)[0] == second.rsplit("/", 1)[0] == "annexa"
