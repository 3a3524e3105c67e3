"""``--format sarif``: SARIF 2.1.0 that GitHub code scanning accepts (and ``sarif_all`` for an audit trail).

A code-scanning alert is something to act on, so ``sarif`` carries a result only for a finding that is
not settled: a failure (``kind: fail``, ``level`` from its severity; an observation is a note), an
inconclusive finding (``kind: review``: a person must decide) and a rule that errored (``kind: open``).
Passing and not-applicable checks are left out: uploaded as alerts they would bury the failures.
``sarif_all`` adds them as ``kind: pass`` and ``kind: notApplicable`` for those who ask for every check.

Locations are what a repository can resolve. A finding resting on a document points at the document's
file, its path relative to the configuration's folder (where the document stores' paths start, and in a
repository that keeps ``annexa.yaml`` at its root, the repository root). A finding about a cloud resource,
a registered model or a declared AI system has no file of its own: it points at the configuration that
declared the scope (:data:`CONFIG_FILE`) and names the resource as a logical location. The rule's own
source (``builtin:annex_a/...``) is no repository path and is kept as a property.

Each rule descriptor has the catalog's control objective as ``fullDescription``, the rule's remediation
as ``help`` and a ``helpUri``. ``partialFingerprints`` hash (rule, subject), so GitHub matches an alert
across scans even when its message or evidence changes; a waived failure carries an accepted suppression.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from annexa import __version__
from annexa.contract.catalog import load_catalog
from annexa.model.findings import is_observation
from annexa.reports.document import controls_and_clauses

SARIF_SCHEMA: Final = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI: Final = "https://github.com/annexa/annexa"
# Rule packs shipped with annexa (``builtin:NAME/FILE``) live in the source tree at rules/NAME/FILE.
BUILTIN_SOURCE: Final = f"{INFORMATION_URI}/blob/main/rules/"
# Where a finding with no document of its own is shown: the configuration declaring the scope it is about.
CONFIG_FILE: Final = "annexa.yaml"
# uuid5 namespace for result guids: the same finding id always gives the same guid.
_NAMESPACE: Final = uuid.UUID("1b0f5f0e-3c5e-5b8e-9a4e-2f8a6c0d4e42")
_KIND: Final = {
    "pass": "pass",
    "fail": "fail",
    "not_applicable": "notApplicable",
    "inconclusive": "review",
    "error": "open",
}
_ALERTS: Final = frozenset({"fail", "inconclusive", "error"})
_LEVEL: Final = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub's security-severity (0.0-10.0) sorts alerts; its bands: >9 critical, 7-8.9 high, 4-6.9 medium.
_SECURITY_SEVERITY: Final = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
FINGERPRINT: Final = "annexaRuleSubject/v1"


def split_location(location: str) -> tuple[str, int, int]:
    """``path:line:col`` (the form ``Span`` prints) as its parts; line and column are 1-based."""
    path, line, column = location.rsplit(":", 2)
    return path, int(line), int(column)


def rule_source_uri(location: str) -> str | None:
    """A browsable address of a rule's source: a shipped pack's file in the project's repository."""
    path = split_location(location)[0]
    if path.startswith("builtin:"):
        return BUILTIN_SOURCE + quote(path.removeprefix("builtin:"), safe="/")
    return None


def subject_fingerprint(rule: str, subject: str | None) -> str:
    """The alert's identity for GitHub: the rule and what it is about, never the message or evidence."""
    return hashlib.sha256(f"{rule}\x00{subject or ''}".encode()).hexdigest()[:32]


def _level(finding: Mapping[str, Any]) -> str:
    """A failure's level is its severity's; an observation (supporting evidence) is a note. SARIF allows a
    level other than ``none`` only on ``kind: fail``."""
    if finding["status"] != "fail":
        return "none"
    return "note" if is_observation(finding) else _LEVEL[finding["severity"]]


def _file_path(source: str) -> tuple[str, str | None] | None:
    """``file:governance/x.yaml#ATT-1`` -> (``governance/x.yaml``, ``ATT-1``); None for a non-file source."""
    if not source.startswith("file:"):
        return None
    path, _, fragment = source.removeprefix("file:").partition("#")
    return path, fragment or None


def _physical(uri: str) -> dict[str, Any]:
    # The document as a whole: its evidence has no line of its own, and GitHub wants a start line.
    return {"artifactLocation": {"uri": quote(uri, safe="/")}, "region": {"startLine": 1}}


def _locations(finding: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The primary location (first cited document, else the configuration) and the other documents."""
    files: list[tuple[str, str | None]] = []
    for ref in finding["evidence"]:
        found = _file_path(ref["source"])
        if found and found not in files:
            files.append(found)
    logical: list[dict[str, Any]] = []
    subject = finding["subject"]
    if subject:
        logical.append({"fullyQualifiedName": subject, "kind": "resource"})
    elif not files:
        logical.append({"fullyQualifiedName": finding["control"], "kind": "module"})
    if files and files[0][1]:
        logical.append({"fullyQualifiedName": f"{files[0][0]}#{files[0][1]}", "kind": "element"})
    primary: dict[str, Any] = {"physicalLocation": _physical(files[0][0] if files else CONFIG_FILE)}
    if logical:
        primary["logicalLocations"] = logical
    related = [
        {"id": position, "physicalLocation": _physical(path), "message": {"text": "evidence"}}
        for position, (path, _) in enumerate(files[1:], 1)
    ]
    return [primary], related


def _result(finding: Mapping[str, Any], rule_index: int) -> dict[str, Any]:
    locations, related = _locations(finding)
    result: dict[str, Any] = {
        "ruleId": finding["rule"],
        "ruleIndex": rule_index,
        "kind": _KIND[finding["status"]],
        "level": _level(finding),
        "message": {"text": finding["message"] or finding["rule"]},
        "guid": str(uuid.uuid5(_NAMESPACE, finding["id"])),
        "fingerprints": {"annexaFindingId/v1": finding["id"]},
        "partialFingerprints": {FINGERPRINT: subject_fingerprint(finding["rule"], finding["subject"])},
        "locations": locations,
        "properties": {
            "findingId": finding["id"],
            "control": finding["control"],
            "status": finding["status"],
            "severity": finding["severity"],
            "subject": finding["subject"],
            "evidence": finding["evidence"],
            "witness": finding["witness"],
            "missing": finding["missing"],
            "ruleLocation": finding["location"],
        },
    }
    if related:
        result["relatedLocations"] = related
    if finding.get("note"):
        result["properties"]["note"] = finding["note"]
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


def _descriptor(rule: str, findings: list[Mapping[str, Any]], titles: Mapping[str, str]) -> dict[str, Any]:
    control = rule.split("/", 1)[0]
    title = titles.get(control, control)
    catalogued = load_catalog().control(control)
    objective = catalogued.objective.strip() if catalogued else title
    first = findings[0]
    remediation = first["remediation"] or f"Provide the evidence {control} asks for: {objective}"
    help_uri = rule_source_uri(first["location"])
    descriptor: dict[str, Any] = {
        "id": rule,
        "name": rule.split("/", 1)[1],
        "shortDescription": {"text": f"ISO/IEC 42001 {control}: {title}"},
        "fullDescription": {"text": f"ISO/IEC 42001 {control} ({title}): {objective}"},
        "help": {
            "text": remediation,
            "markdown": f"**Remediation.** {remediation}\n\n*Control objective ({control}).* {objective}",
        },
        "defaultConfiguration": {"level": _LEVEL[first["severity"]]},
        "properties": {
            "control": control,
            "severity": first["severity"],
            "security-severity": _SECURITY_SEVERITY[first["severity"]],
            "tags": ["iso42001", control],
            "ruleLocation": first["location"],
        },
    }
    if help_uri:
        descriptor["helpUri"] = help_uri
    return descriptor


def _render(document: Mapping[str, Any], *, every_check: bool) -> str:
    titles = {control["id"]: control["title"] for control in controls_and_clauses(document)}
    shown = [f for f in document["findings"] if every_check or f["status"] in _ALERTS]
    by_rule: dict[str, list[Mapping[str, Any]]] = {}
    for finding in shown:
        by_rule.setdefault(finding["rule"], []).append(finding)
    rule_ids = sorted(by_rule)
    index = {rule: position for position, rule in enumerate(rule_ids)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "annexa",
                "version": document["annexa_version"],
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_descriptor(rule, by_rule[rule], titles) for rule in rule_ids],
            }
        },
        "results": [_result(finding, index[finding["rule"]]) for finding in shown],
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
            "findingCounts": document["summary"]["findings"],
        },
    }
    if document.get("scan"):
        # GitHub reads ``category/run``: the category ``annexa/`` is the same on every scan, so a scan's
        # alerts replace the previous scan's; the run part is the scan id.
        run["automationDetails"] = {"id": f"annexa/{document['scan']['id']}"}
    sarif = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"


def render_sarif(document: Mapping[str, Any]) -> str:
    """Failing, inconclusive and errored findings as one SARIF 2.1.0 run of the tool ``annexa``."""
    return _render(document, every_check=False)


def render_sarif_all(document: Mapping[str, Any]) -> str:
    """Every finding, passes (``kind: pass``) and not-applicable checks included."""
    return _render(document, every_check=True)
