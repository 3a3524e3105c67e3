"""``--format junit``: JUnit XML for CI dashboards, one test suite per control, one test case per finding.

``fail`` is a failure, ``inconclusive`` and ``error`` are errors (the check could not decide), a waived
failure and ``not_applicable`` are skipped with the reason. Each test case carries its stable finding id as
the first line of its standard output (``finding_id: ...``), so a dashboard tracks it across scans.

The document is valid against the Jenkins xUnit plugin's junit-10.xsd, the strictest of the JUnit
schemas CI servers apply: a test case holds no ``<properties>`` (the finding id and severity go to its
``<system-out>``), the root carries no ``timestamp`` or ``skipped`` (each suite does), and a suite's
``<properties>`` name its control, title and status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from annexa.model.findings import is_observation
from annexa.reports.document import controls_and_clauses

# Characters XML 1.0 cannot hold at all, even escaped; evidence may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: object) -> str:
    """Text safe for an XML 1.0 attribute or element (ElementTree escapes the rest)."""
    return _NOT_XML.sub("\ufffd", "" if value is None else str(value))


def _case_name(finding: Mapping[str, Any]) -> str:
    subject = f" [{finding['subject']}]" if finding["subject"] else ""
    return xml_text(f"{finding['rule']}{subject}")


def _details(finding: Mapping[str, Any]) -> str:
    lines = [finding["message"]]
    lines += [f"finding: {finding['id']}", f"severity: {finding['severity']}", f"rule: {finding['location']}"]
    lines += [f"evidence: {ref['source']} sha256:{ref['id']}" for ref in finding["evidence"]]
    if finding["missing"]:
        lines.append(f"missing: {', '.join(finding['missing'])}")
    if finding["remediation"]:
        lines.append(f"remediation: {finding['remediation']}")
    if finding["note"]:
        lines.append(f"note: {finding['note']}")
    return xml_text("\n".join(lines))


def render_junit(document: Mapping[str, Any]) -> str:
    """JUnit XML (the schema Jenkins, GitLab and most CI dashboards read)."""
    by_control: dict[str, list[Mapping[str, Any]]] = {}
    for finding in document["findings"]:
        by_control.setdefault(finding["control"], []).append(finding)
    root = ET.Element("testsuites", name="annexa", time="0")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for control in controls_and_clauses(document):
        findings = by_control.get(control["id"])
        if not findings:
            continue
        suite = ET.SubElement(
            root,
            "testsuite",
            name=xml_text(f"{control['id']} {control['title']}"),
            timestamp=document["evaluated_at"],
            time="0",
        )
        properties = ET.SubElement(suite, "properties")
        for name, value in (("control", control["id"]), ("title", control["title"])):
            ET.SubElement(properties, "property", name=name, value=xml_text(value))
        ET.SubElement(properties, "property", name="status", value=control["status"])
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for finding in findings:
            counts["tests"] += 1
            case = ET.SubElement(
                suite, "testcase", classname=control["id"], name=_case_name(finding), time="0"
            )
            status = finding["status"]
            message = xml_text(finding["message"])
            if finding["waiver"] is not None:
                counts["skipped"] += 1
                waiver = finding["waiver"]
                ET.SubElement(case, "skipped", message=xml_text(
                    f"waived until {waiver['expires']} by {waiver['approved_by']}: {waiver['justification']}"
                ))  # fmt: skip
            elif is_observation(finding):  # supporting evidence: reported, never a failing control
                counts["skipped"] += 1
                ET.SubElement(
                    case, "skipped", message=xml_text(f"observation (supporting evidence): {message}")
                )
            elif status == "fail":
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=message, type=finding["severity"]).text = _details(
                    finding
                )
            elif status in ("inconclusive", "error"):
                counts["errors"] += 1
                ET.SubElement(case, "error", message=message, type=status).text = _details(finding)
            elif status == "not_applicable":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=xml_text(finding["note"] or message))
            ET.SubElement(
                case, "system-out"
            ).text = f"finding_id: {finding['id']}\nseverity: {finding['severity']}"
        for key, value in counts.items():
            suite.set(key, str(value))
            if key in totals:
                totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
