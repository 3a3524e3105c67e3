"""Every format on the demo estate: golden files, schema validation, and stable finding ids everywhere.

Regenerate the golden files after an intended change (a rule message, the demo estate) with
``ANNEXA_UPDATE_GOLDEN=1 pytest tests/reports/test_report_formats.py`` and review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from annexa.model.findings import is_observation
from annexa.plugins import ReporterSpec
from annexa.reports.formats import annexa_reporters

pytest_plugins = ["reportfixtures"]

GOLDEN = Path(__file__).parent / "golden"
DATA = Path(__file__).parent / "data"
REPORTERS = {spec.name: spec for spec in annexa_reporters()}


def render(name: str, document: dict[str, Any]) -> str:
    spec: ReporterSpec = REPORTERS[name]
    return spec.render(document)


@pytest.mark.parametrize("name", sorted(REPORTERS))
def test_golden(name: str, document: dict[str, Any]) -> None:
    spec = REPORTERS[name]
    path = GOLDEN / f"demo{spec.suffix}"
    text = render(name, document)
    if os.environ.get("ANNEXA_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8", newline="")
    assert path.is_file(), f"no golden file {path}; run with ANNEXA_UPDATE_GOLDEN=1"
    expected = path.read_bytes().decode("utf-8")
    assert text == expected, f"{name} output differs from {path.name} (ANNEXA_UPDATE_GOLDEN=1 to regenerate)"


def test_rendering_is_deterministic(document: dict[str, Any]) -> None:
    for name in REPORTERS:
        assert render(name, document) == render(name, json.loads(json.dumps(document))), name


def test_json_matches_the_result_schema(document: dict[str, Any]) -> None:
    schema = json.loads(resources.files("annexa").joinpath("data/result.schema.json").read_text())
    rendered = json.loads(render("json", document))
    jsonschema.Draft202012Validator(schema).validate(rendered)
    assert rendered["evidence_items"]
    assert len(rendered["history"]) == 2
    assert rendered["drift"]["counts"]["new_failure"] >= 1
    assert rendered["drift"]["counts"]["fixed"] >= 1


@pytest.mark.parametrize("name", ["sarif", "sarif_all"])
def test_sarif_validates_against_the_sarif_2_1_0_schema(name: str, document: dict[str, Any]) -> None:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    sarif = json.loads(render(name, document))
    errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(sarif)]
    assert errors == []
    run = sarif["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
    waived = [r for r in run["results"] if r.get("suppressions")]
    assert waived
    assert all(r["kind"] == "fail" for r in waived)
    expected = {"pass", "fail", "notApplicable", "review"} if name == "sarif_all" else {"fail", "review"}
    assert {r["kind"] for r in run["results"]} == expected


def test_oscal_validates_against_nist_oscal_models(document: dict[str, Any]) -> None:
    from trestle.oscal.assessment_results import Model

    raw = json.loads(render("oscal", document))
    model = Model.model_validate(raw)
    result = model.assessment_results.results[0]
    assert result.observations is not None
    assert result.findings is not None
    assert len(result.observations) == len(document["findings"])
    states = {f.target.target_id: f.target.status.state.value for f in result.findings if f.target.status}
    assert states["A.9.4_obj"] == "not-satisfied"
    assert states["A.2.2_obj"] == "satisfied"
    observation_ids = {o.uuid for o in result.observations}
    for finding in result.findings:
        assert {r.observation_uuid for r in finding.related_observations or []} <= observation_ids


def test_junit_has_a_case_per_finding_grouped_by_control(document: dict[str, Any]) -> None:
    root = ET.fromstring(render("junit", document))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(document["findings"])
    failing = [
        f for f in document["findings"] if f["status"] == "fail" and not f["waiver"] and not is_observation(f)
    ]
    assert int(root.get("failures", "-1")) == len(failing) == len(root.findall(".//failure"))
    # An observation (supporting evidence) is no failure: a skipped case that says so.
    observed = [f for f in document["findings"] if is_observation(f)]
    assert observed, "the demo has supporting evidence missing"
    skipped = [s.get("message", "") for s in root.findall(".//skipped")]
    assert sum(m.startswith("observation (supporting evidence): ") for m in skipped) == len(observed)
    for suite in root.findall("testsuite"):
        control = suite.get("name", "").split(" ")[0]
        assert {case.get("classname") for case in suite.findall("testcase")} == {control}
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))
    waived = [f for f in document["findings"] if f["waiver"]]
    assert len(root.findall(".//skipped")) >= len(waived) >= 1


def test_every_format_carries_the_stable_finding_ids(document: dict[str, Any]) -> None:
    ids = {f["id"] for f in document["findings"]}
    failing = {f["id"] for f in document["findings"] if f["status"] == "fail" and not f["waiver"]}
    sarif = json.loads(render("sarif_all", document))
    assert {r["fingerprints"]["annexaFindingId/v1"] for r in sarif["runs"][0]["results"]} == ids
    junit = ET.fromstring(render("junit", document))
    assert {(case.findtext("system-out") or "").splitlines()[0] for case in junit.iter("testcase")} == {
        f"finding_id: {i}" for i in ids
    }
    oscal = json.loads(render("oscal", document))["assessment-results"]["results"][0]
    assert {p["value"] for o in oscal["observations"] for p in o["props"] if p["name"] == "finding-id"} == ids
    rows = list(csv.DictReader(io.StringIO(render("csv", document))))
    assert {row["finding_id"] for row in rows} == ids
    assert {f["id"] for f in json.loads(render("json", document))["findings"]} == ids
    html = render("html", document)
    assert all(f'id="finding-{i}"' in html for i in ids)
    markdown = render("markdown", document)
    assert all(f"`{i}`" in markdown for i in failing)


def test_evidence_values_are_escaped_in_every_format(document: dict[str, Any]) -> None:
    html = render("html", document)
    assert "<img" not in html.lower().replace("&lt;img", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in render("markdown", document)
    junit = render("junit", document)
    assert "<img" not in junit
    assert "&lt;img src=x onerror=alert(1)&gt;" in junit


def test_csv_neutralises_spreadsheet_formulas(document: dict[str, Any]) -> None:
    first = dict(document["findings"][0])
    first["message"] = '=HYPERLINK("http://x","click")'
    first["subject"] = "@SUM(1)"
    tampered = {**document, "findings": [first]}
    row = next(csv.DictReader(io.StringIO(render("csv", tampered))))
    assert row["message"].startswith("'=")
    assert row["subject"].startswith("'@")


def test_markdown_cannot_mention_or_inject(document: dict[str, Any]) -> None:
    first = dict(document["findings"][0])
    first.update(status="fail", waiver=None, message="ping @security-team | <script>x</script> [a](http://x)")
    text = render("markdown", {**document, "findings": [first]})
    line = next(line for line in text.splitlines() if first["id"] in line)
    assert "@security-team" not in line
    assert "@\u200bsecurity-team" in line
    assert "<script>" not in line
    assert "\\|" in line
    assert "\\[a\\]\\(http://x\\)" in line


def test_observations_are_shown_in_the_html_report_escaped(document: dict[str, Any]) -> None:
    drift = {
        "code": "scope_drift",
        "message": "document file:x.md names AI system(s) <img src=x onerror=alert(1)>, outside the scope",
        "evidence": document["findings"][0]["evidence"][0] if document["findings"][0]["evidence"] else {},
    }
    html = render("html", {**document, "observations": [drift]})
    assert '<h2 id="observations">Observations</h2>' in html
    assert "names AI system(s) &lt;img src=x onerror=alert(1)&gt;, outside" in html
    assert 'id="observations"' not in render("html", {**document, "observations": []})


def test_trend_labels_tell_scans_apart() -> None:
    from annexa.reports.readiness import tick_labels

    week = ["2026-11-16T09:00:00Z", "2026-11-23T09:00:00Z", "2026-11-23T15:30:00Z"]
    assert tick_labels(week) == [["11-16"], ["11-23", "09:00"], ["11-23", "15:30"]]
    new_year = ["2026-12-31T09:00:00Z", "2027-01-01T09:00:00Z"]
    assert tick_labels(new_year) == [["2026-12-31"], ["2027-01-01"]]
    # The same day of two years is two days, not one shared day.
    assert tick_labels(["2026-11-23T09:00:00Z", "2027-11-23T09:00:00Z"]) == [["2026-11-23"], ["2027-11-23"]]
