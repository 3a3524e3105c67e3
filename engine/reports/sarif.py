"""``--format sarif``: SARIF 2.1.0 for code-scanning dashboards.

One reporting descriptor per rule, one result per finding. ``kind`` carries the verdict (``pass``,
``fail``, ``notApplicable``; ``review`` for inconclusive, ``open`` for a rule that errored) and ``level``
the severity of a failure. A waived failure keeps ``kind: fail`` with an accepted external suppression.
The stable finding id is the result's fingerprint, so dashboards match a finding across scans.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Final

from annexa import __version__
from annexa.model.findings import is_observation
from annexa.reports.document import controls_and_clauses

SARIF_SCHEMA: Final = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI: Final = "https://github.com/annexa/annexa"
# uuid5 namespace for result guids: the same finding id always gives the same guid.
_NAMESPACE: Final = uuid.UUID("1b0f5f0e-3c5e-5b8e-9a4e-2f8a6c0d4e42")
_KIND: Final = {
    "pass": "pass",
    "fail": "fail",
    "not_applicable": "notApplicable",
    "inconclusive": "review",
    "error": "open",
}
_LEVEL: Final = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def split_location(location: str) -> tuple[str, int, int]:
    """``path:line:col`` (the form ``Span`` prints) as its parts; line and column are 1-based."""
    path, line, column = location.rsplit(":", 2)
    return path, int(line), int(column)


def _level(finding: Mapping[str, Any]) -> str:
    """A failure's level is its severity's; an observation (supporting evidence) is a note."""
    if is_observation(finding):
        return "note"
    return _LEVEL[finding["severity"]] if finding["status"] == "fail" else "none"


def _result(finding: Mapping[str, Any], rule_index: int) -> dict[str, Any]:
    path, line, column = split_location(finding["location"])
    result: dict[str, Any] = {
        "ruleId": finding["rule"],
        "ruleIndex": rule_index,
        "kind": _KIND[finding["status"]],
        "level": _level(finding),
        "message": {"text": finding["message"] or finding["rule"]},
        "guid": str(uuid.uuid5(_NAMESPACE, finding["id"])),
        "fingerprints": {"annexaFindingId/v1": finding["id"]},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": path},
                    "region": {"startLine": line, "startColumn": column},
                },
                "logicalLocations": [{"name": finding["subject"] or finding["control"], "kind": "resource"}],
            }
        ],
        "properties": {
            "findingId": finding["id"],
            "control": finding["control"],
            "status": finding["status"],
            "severity": finding["severity"],
            "subject": finding["subject"],
            "evidence": finding["evidence"],
            "witness": finding["witness"],
            "missing": finding["missing"],
        },
    }
    if finding["remediation"]:
        # Not a SARIF ``fix``: those describe artifact edits, and a remediation is an action for people.
        result["properties"]["remediation"] = finding["remediation"]
    if finding["waiver"] is not None:
        waiver = finding["waiver"]
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{waiver['justification']} (approved by {waiver['approved_by']}, "
                f"expires {waiver['expires']})",
            }
        ]
    return result


def render_sarif(document: Mapping[str, Any]) -> str:
    """The findings as one SARIF 2.1.0 run of the tool ``annexa``."""
    controls = controls_and_clauses(document)
    titles = {control["id"]: control["title"] for control in controls}
    severities: dict[str, str] = {}
    for finding in document["findings"]:
        severities.setdefault(finding["rule"], finding["severity"])
    rule_ids = sorted({rule for control in controls for rule in control["rules"]} | set(severities))
    index = {rule: position for position, rule in enumerate(rule_ids)}
    rules = []
    for rule in rule_ids:
        control = rule.split("/", 1)[0]
        descriptor: dict[str, Any] = {
            "id": rule,
            "name": rule.split("/", 1)[1],
            "shortDescription": {"text": f"ISO/IEC 42001 {control}: {titles.get(control, control)}"},
            "properties": {"control": control, "tags": ["iso42001", control]},
        }
        if rule in severities:
            descriptor["defaultConfiguration"] = {"level": _LEVEL[severities[rule]]}
            descriptor["properties"]["severity"] = severities[rule]
        rules.append(descriptor)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "annexa",
                "version": document["annexa_version"],
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "results": [_result(finding, index[finding["rule"]]) for finding in document["findings"]],
        "invocations": [
            {
                "executionSuccessful": True,
                "endTimeUtc": document["evaluated_at"],
                "exitCode": document["summary"]["exit_code"],
            }
        ],
        "properties": {
            "rulesetDigest": document["ruleset_digest"],
            "organization": document.get("organization"),
        },
    }
    if document.get("scan"):
        run["automationDetails"] = {"id": f"annexa/{document['scan']['id']}"}
    sarif = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"
