"""``--format oscal``: an OSCAL assessment-results document (NIST OSCAL 1.1).

One result per scan. Every annexa finding is an OSCAL observation (method ``TEST``, its evidence as
relevant-evidence with the SHA-256, its stable id as the ``finding-id`` property); every assessed control
becomes an OSCAL finding targeting the control's objective, satisfied only when the control passes, and
related to the observations it rests on. UUIDs are derived (uuid5) from the scan and finding ids, so the
same scan always renders the same document.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Final

from annexa.reports.document import controls_and_clauses

OSCAL_VERSION: Final = "1.1.2"
PROPERTY_NS: Final = "https://annexa.dev/ns/oscal"
_NAMESPACE: Final = uuid.UUID("6f1c3a52-8d0e-5b57-a3a4-0b9d7e51c2f1")
_ASSESSED: Final = ("pass", "fail", "inconclusive", "error")


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x00".join(parts)))


def _token_text(value: object) -> str:
    """OSCAL strings may not start or end with whitespace, nor span lines."""
    return " ".join(str(value).split())


def _prop(name: str, value: object) -> dict[str, str]:
    return {"name": name, "ns": PROPERTY_NS, "value": _token_text(value)}


def _observation(finding: Mapping[str, Any], scan_key: str, collected: str) -> dict[str, Any]:
    props = [
        _prop("finding-id", finding["id"]),
        _prop("rule", finding["rule"]),
        _prop("status", finding["status"]),
        _prop("severity", finding["severity"]),
    ]
    if finding["subject"] and _token_text(finding["subject"]):
        props.append(_prop("subject", finding["subject"]))
    if finding["waiver"] is not None:
        props.append(_prop("waived-until", finding["waiver"]["expires"]))
    observation: dict[str, Any] = {
        "uuid": _uuid(scan_key, "observation", finding["id"]),
        "title": _token_text(finding["rule"]),
        "description": finding["message"] or finding["rule"],
        "props": props,
        "methods": ["TEST"],
        "types": ["finding"],
        "collected": collected,
    }
    evidence = [
        {
            "href": f"urn:sha256:{ref['id']}",
            "description": f"{ref['kind']} {ref['source']} collected {ref['collected_at']}",
            "props": [_prop("sha256", ref["id"])],
        }
        for ref in finding["evidence"]
    ]
    if evidence:
        observation["relevant-evidence"] = evidence
    remarks = [text for text in (finding["note"], finding["remediation"]) if text]
    if finding["waiver"] is not None:
        w = finding["waiver"]
        remarks.append(f"Waived by {w['approved_by']} until {w['expires']}: {w['justification']}")
    if remarks:
        observation["remarks"] = "\n\n".join(remarks)
    return observation


def render_oscal(document: Mapping[str, Any]) -> str:
    """The report document as OSCAL assessment-results JSON."""
    scan = document.get("scan")
    scan_key = scan["id"] if scan else document["evaluated_at"]
    when = document["evaluated_at"]
    organization = _token_text(document.get("organization") or "the organisation")
    observations = [_observation(f, scan_key, when) for f in document["findings"]]
    by_control: dict[str, list[str]] = {}
    for finding, observation in zip(document["findings"], observations, strict=True):
        by_control.setdefault(finding["control"], []).append(observation["uuid"])
    assessed = [c for c in controls_and_clauses(document) if c["status"] in _ASSESSED]
    findings = [
        {
            "uuid": _uuid(scan_key, "finding", control["id"]),
            "title": f"{control['id']} {_token_text(control['title'])}",
            "description": f"Annex A control {control['id']} is {control['status'].replace('_', ' ')} "
            f"({control['counts']['pass']} passing, {control['counts']['fail']} failing, "
            f"{control['counts']['waived']} waived findings).",
            "props": [_prop("control-status", control["status"])],
            "target": {
                "type": "objective-id",
                "target-id": f"{control['id']}_obj",
                "status": {"state": "satisfied" if control["status"] == "pass" else "not-satisfied"},
            },
            "related-observations": [{"observation-uuid": u} for u in by_control.get(control["id"], [])],
        }
        for control in assessed
    ]
    result: dict[str, Any] = {
        "uuid": _uuid(scan_key, "result"),
        "title": f"annexa scan {scan_key}",
        "description": f"Automated ISO/IEC 42001:2023 Annex A assessment of {organization}.",
        "start": when,
        "props": [_prop("ruleset-digest", document["ruleset_digest"])],
        "reviewed-controls": {
            "control-selections": [
                {"include-controls": [{"control-id": c["id"]} for c in assessed]}
                if assessed
                else {"include-all": {}}
            ]
        },
    }
    if observations:
        result["observations"] = observations
    if findings:
        result["findings"] = findings
    not_applicable = [c["id"] for c in document["controls"] if c["status"] == "not_applicable"]
    if not_applicable:
        result["remarks"] = "Not applicable: " + ", ".join(not_applicable)
    oscal = {
        "assessment-results": {
            "uuid": _uuid(scan_key, "assessment-results"),
            "metadata": {
                "title": f"ISO/IEC 42001 Annex A readiness: {organization}",
                "last-modified": when,
                "version": document["annexa_version"],
                "oscal-version": OSCAL_VERSION,
                "props": [_prop("annexa-version", document["annexa_version"])],
            },
            "import-ap": {"href": "#annexa-rule-pack", "remarks": f"rule pack {document['ruleset_digest']}"},
            "results": [result],
        }
    }
    return json.dumps(oscal, indent=2, ensure_ascii=False) + "\n"
