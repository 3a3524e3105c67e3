"""``--format oscal``: an OSCAL assessment-results document (NIST OSCAL 1.1).

One result per scan. Every annexa finding is an OSCAL observation (method ``TEST``, its stable id as the
``finding-id`` property, its evidence as relevant-evidence); every assessed or not-applicable control
becomes an OSCAL finding targeting the control's objective, related to the observations it rests on.

Every reference resolves inside the document. ``import-ap`` points at a back-matter resource for the rule
pack (its SHA-256 digest and the annexa version that ran it): annexa has no separate assessment plan, the
rule pack is the plan. Each evidence item an observation cites is a back-matter resource (kind, source,
collector, time; the item's SHA-256 in the store, and for a document its repository path and file hash),
and relevant-evidence points at it with ``#uuid``.

A control's verdict goes where OSCAL expects it: ``target.status`` has ``state`` (satisfied only when the
control passes), ``reason`` (``pass``, ``fail``, or ``other`` for inconclusive, errored and
not-applicable) and ``remarks`` saying why. A not-applicable control also has ``implementation-status:
not-applicable`` with the declared reason (satisfied, as OSCAL tools read a justified exclusion). A waived
failure is a risk with status ``deviation-approved`` carrying the justification, approver and expiry,
which the control's finding names in ``related-risks``.

UUIDs are derived (uuid5), so the same scan always renders the same document.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from annexa.reports.document import controls_and_clauses

OSCAL_VERSION: Final = "1.1.2"
PROPERTY_NS: Final = "https://annexa.dev/ns/oscal"
_NAMESPACE: Final = uuid.UUID("6f1c3a52-8d0e-5b57-a3a4-0b9d7e51c2f1")
_REPORTED: Final = ("pass", "fail", "inconclusive", "error", "not_applicable")
_REASON: Final = {"pass": "pass", "fail": "fail"}  # anything else: "other", with remarks saying why
_DECLARED: Final = "control declared not applicable: "  # how the scan notes a declared exclusion
_REMARKED: Final = 5  # findings quoted in a status's remarks; the rest are counted


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x00".join(parts)))


def _token_text(value: object) -> str:
    """OSCAL strings may not start or end with whitespace, nor span lines."""
    return " ".join(str(value).split())


def _prop(name: str, value: object) -> dict[str, str]:
    return {"name": name, "ns": PROPERTY_NS, "value": _token_text(value)}


def _sha256(value: str) -> dict[str, str]:
    return {"algorithm": "SHA-256", "value": value}


def _resource_uuid(*parts: str) -> str:
    """A back-matter resource's uuid: derived like the others, but in version 4 form. OSCAL accepts version
    4 and 5 alike, and compliance-trestle recognises a ``#uuid`` reference only in version 4 form."""
    return str(uuid.UUID(bytes=uuid.uuid5(_NAMESPACE, "\x00".join(parts)).bytes, version=4))


def evidence_resource_uuid(evidence_id: str) -> str:
    """The back-matter resource of an evidence item: the same item has the same uuid in every document."""
    return _resource_uuid("evidence", evidence_id)


def _evidence_resource(ref: Mapping[str, Any], item: Mapping[str, Any] | None) -> dict[str, Any]:
    props = [
        _prop("evidence-kind", ref["kind"]),
        _prop("source", ref["source"]),
        _prop("collected-at", ref["collected_at"]),
    ]
    if item is not None:
        props.append(_prop("collector", item["collector"]))
    # The item as the store holds it, by content: `annexa verify` checks the store against these digests.
    rlinks = [{"href": f"urn:sha256:{ref['id']}", "hashes": [_sha256(ref["id"])]}]
    data = (item or {}).get("data") or {}
    if ref["source"].startswith("file:") and isinstance(data.get("sha256"), str):
        path = ref["source"].removeprefix("file:").partition("#")[0]
        # The path relative to the configuration's folder, as a URI reference (a file name may hold anything).
        rlinks.append({"href": quote(path, safe="/"), "hashes": [_sha256(data["sha256"])]})
    return {
        "uuid": evidence_resource_uuid(ref["id"]),
        "title": _token_text(ref["source"]),
        "description": f"Evidence item ({ref['kind']}) {ref['source']}, collected {ref['collected_at']}.",
        "props": props,
        "rlinks": rlinks,
    }


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
            "href": f"#{evidence_resource_uuid(ref['id'])}",
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


def _risk(finding: Mapping[str, Any], observation_uuid: str, scan_key: str) -> dict[str, Any]:
    """A waived finding: the organization accepted the deviation, for a time, on someone's authority."""
    waiver = finding["waiver"]
    return {
        "uuid": _uuid(scan_key, "risk", finding["id"]),
        "title": f"Waived: {_token_text(finding['rule'])}",
        "description": finding["message"] or finding["rule"],
        "statement": f"{waiver['justification']} (approved by {waiver['approved_by']}, "
        f"expires {waiver['expires']})",
        "props": [_prop("finding-id", finding["id"]), _prop("waived-until", waiver["expires"])],
        "status": "deviation-approved",
        "related-observations": [{"observation-uuid": observation_uuid}],
    }


def _quoted(findings: list[Mapping[str, Any]], text: str) -> str:
    lines = [f"{f['rule']}: {_token_text(f['message'] or f['note'] or f['status'])}" for f in findings]
    more = f" (and {len(lines) - _REMARKED} more)" if len(lines) > _REMARKED else ""
    return f"{text} " + "; ".join(lines[:_REMARKED]) + more if lines else text


def _target_status(control: Mapping[str, Any], findings: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The objective's status: state, reason and, where the reason is no plain pass or fail, why."""
    status = control["status"]
    state = "satisfied" if status in ("pass", "not_applicable") else "not-satisfied"
    result: dict[str, Any] = {"state": state, "reason": _REASON.get(status, "other")}
    primary = [f for f in findings if f.get("weight") != "supporting"]
    if status == "inconclusive":
        undecided = [f for f in primary if f["status"] in ("inconclusive", "error") and not f["waiver"]]
        result["remarks"] = (
            _quoted(undecided, "Inconclusive: the evidence could not decide it.")
            if undecided
            else "Inconclusive: only supporting evidence was assessed, and supporting evidence never "
            "decides a control on its own."
        )
    elif status == "error":
        errored = [f for f in primary if f["status"] == "error"]
        result["remarks"] = _quoted(errored, "Not decided: a rule failed to evaluate.")
    elif status == "not_applicable":
        result["remarks"] = f"Declared not applicable: {_not_applicable_reason(findings)}"
    waived = [f for f in findings if f["waiver"] is not None]
    if waived and "remarks" not in result:
        result["remarks"] = _quoted(waived, "Passes with waived findings (see the related risks).")
    return result


def _not_applicable_reason(findings: list[Mapping[str, Any]]) -> str:
    notes = {_token_text(f["note"]) for f in findings if f["status"] == "not_applicable" and f["note"]}
    reasons = sorted(note.removeprefix(_DECLARED) for note in notes)
    return " ".join(reasons) if reasons else "declared not applicable in the configuration."


def render_oscal(document: Mapping[str, Any]) -> str:
    """The report document as OSCAL assessment-results JSON."""
    scan = document.get("scan")
    scan_key = scan["id"] if scan else document["evaluated_at"]
    when = document["evaluated_at"]
    organization = _token_text(document.get("organization") or "the organisation")
    observations = [_observation(f, scan_key, when) for f in document["findings"]]
    by_control: dict[str, list[tuple[Mapping[str, Any], str]]] = {}
    for finding, observation in zip(document["findings"], observations, strict=True):
        by_control.setdefault(finding["control"], []).append((finding, observation["uuid"]))
    risks = [
        _risk(finding, observation["uuid"], scan_key)
        for finding, observation in zip(document["findings"], observations, strict=True)
        if finding["waiver"] is not None
    ]
    risk_of = {risk["props"][0]["value"]: risk["uuid"] for risk in risks}
    reported = [c for c in controls_and_clauses(document) if c["status"] in _REPORTED]
    findings = []
    for control in reported:
        mine = by_control.get(control["id"], [])
        target: dict[str, Any] = {
            "type": "objective-id",
            "target-id": f"{control['id']}_obj",
            "status": _target_status(control, [f for f, _ in mine]),
        }
        if control["status"] == "not_applicable":
            reason = _not_applicable_reason([f for f, _ in mine])
            target["implementation-status"] = {"state": "not-applicable", "remarks": reason}
        oscal_finding: dict[str, Any] = {
            "uuid": _uuid(scan_key, "finding", control["id"]),
            "title": f"{control['id']} {_token_text(control['title'])}",
            "description": f"Annex A control {control['id']} is {control['status'].replace('_', ' ')} "
            f"({control['counts']['pass']} passing, {control['counts']['fail']} failing, "
            f"{control['counts']['waived']} waived findings).",
            "props": [_prop("control-status", control["status"])],
            "target": target,
            "related-observations": [{"observation-uuid": u} for _, u in mine],
        }
        related_risks = [{"risk-uuid": risk_of[f["id"]]} for f, _ in mine if f["id"] in risk_of]
        if related_risks:
            oscal_finding["related-risks"] = related_risks
        findings.append(oscal_finding)
    result: dict[str, Any] = {
        "uuid": _uuid(scan_key, "result"),
        "title": f"annexa scan {scan_key}",
        "description": f"Automated ISO/IEC 42001:2023 Annex A assessment of {organization}.",
        "start": when,
        "props": [_prop("ruleset-digest", document["ruleset_digest"])],
        "reviewed-controls": {
            "control-selections": [
                {"include-controls": [{"control-id": c["id"]} for c in reported]}
                if reported
                else {"include-all": {}}
            ]
        },
    }
    if observations:
        result["observations"] = observations
    if risks:
        result["risks"] = risks
    if findings:
        result["findings"] = findings
    rule_pack = {
        "uuid": _resource_uuid("rule-pack", document["ruleset_digest"]),
        "title": "annexa rule pack",
        "description": "The rules this assessment ran, which stand for its assessment plan: the compiled "
        f"pack's SHA-256 digest, evaluated by annexa {document['annexa_version']}.",
        "props": [
            _prop("ruleset-digest", document["ruleset_digest"]),
            _prop("annexa-version", document["annexa_version"]),
        ],
        "rlinks": [
            {
                "href": f"urn:sha256:{document['ruleset_digest']}",
                "hashes": [_sha256(document["ruleset_digest"])],
            }
        ],
    }
    items = {item["id"]: item for item in document.get("evidence_items", [])}
    refs = {ref["id"]: ref for finding in document["findings"] for ref in finding["evidence"]}
    resources = [rule_pack] + [_evidence_resource(refs[key], items.get(key)) for key in sorted(refs)]
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
            "import-ap": {
                "href": f"#{rule_pack['uuid']}",
                "remarks": f"annexa has no separate assessment plan: the rule pack "
                f"{document['ruleset_digest']} is the plan.",
            },
            "results": [result],
            "back-matter": {"resources": resources},
        }
    }
    return json.dumps(oscal, indent=2, ensure_ascii=False) + "\n"
