"""The Statement of Applicability: per Annex A control, applicable or not and why, and how it stands.

Built from the configuration's ``applicability`` and ``exceptions`` and one recorded scan. The output is
deterministic (catalog order, sorted lists, the scan's own clock and no other timestamp), so two SoA
versions kept in version control diff line by line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from annexa.contract.catalog import Catalog, load_catalog
from annexa.files.tablecell import csv_cell, markdown_cell
from annexa.model.evidence import format_timestamp
from annexa.model.findings import ControlResult, Finding

SOA_SCHEMA_VERSION = 1
NOT_DECLARED = "not declared in the configuration; applicable by default"

# How a control's roll-up status reads in an SoA.
IMPLEMENTATION = {
    "pass": "implemented",
    "fail": "not implemented",
    "inconclusive": "unverified (evidence missing)",
    "error": "unverified (rule error)",
    "not_applicable": "not applicable",
    "not_assessed": "not assessed",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Declaration:
    """What the organisation declared about one control (``applicability`` in annexa.yaml)."""

    applicable: bool
    justification: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExceptionInForce:
    rule: str
    subject: str | None
    justification: str
    approved_by: str
    expires: str  # ISO date


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanInfo:
    scan_id: str
    at: str  # the scan's clock (ISO 8601, UTC)
    rule_pack_digest: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.scan_id, "at": self.at, "rule_pack_digest": self.rule_pack_digest}


@dataclass(frozen=True, slots=True, kw_only=True)
class SoaRow:
    id: str
    group: str
    title: str
    applicable: bool
    justification: str
    status: str  # the control's roll-up status, or not_assessed without a scan
    implementation: str
    rules: tuple[str, ...]
    evidence: tuple[str, ...]  # ids (SHA-256) of the evidence items the findings rest on
    observations: int  # supporting evidence that is missing or failing: counted, never the status
    exceptions: tuple[ExceptionInForce, ...]
    eu_ai_act: tuple[str, ...]
    nist_ai_rmf: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group": self.group,
            "title": self.title,
            "applicable": self.applicable,
            "justification": self.justification,
            "status": self.status,
            "implementation": self.implementation,
            "rules": list(self.rules),
            "evidence": list(self.evidence),
            "observations": self.observations,
            "exceptions": [
                {
                    "rule": e.rule,
                    "subject": e.subject,
                    "justification": e.justification,
                    "approved_by": e.approved_by,
                    "expires": e.expires,
                }
                for e in self.exceptions
            ],
            "eu_ai_act": list(self.eu_ai_act),
            "nist_ai_rmf": list(self.nist_ai_rmf),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Soa:
    organization: str
    scan: ScanInfo | None
    rows: tuple[SoaRow, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SOA_SCHEMA_VERSION,
            "organization": self.organization,
            "scan": None
            if self.scan is None
            else {
                "id": self.scan.scan_id,
                "at": self.scan.at,
                "rule_pack_digest": self.scan.rule_pack_digest,
            },
            "controls": [row.to_dict() for row in self.rows],
        }


def build_soa(
    *,
    organization: str,
    declarations: Mapping[str, Declaration],
    exceptions: Iterable[ExceptionInForce],
    scan: ScanInfo | None,
    controls: Iterable[ControlResult] = (),
    findings: Iterable[Finding] = (),
    catalog: Catalog | None = None,
) -> Soa:
    """One row per Annex A control in catalog order; exceptions are those in force at the scan's date."""
    catalog = catalog or load_catalog()
    results = {result.id: result for result in controls}
    evidence: dict[str, set[str]] = {}
    for finding in findings:
        evidence.setdefault(finding.control_id, set()).update(ref.id for ref in finding.evidence)
    waivers: dict[str, list[ExceptionInForce]] = {}
    for exception in exceptions:
        waivers.setdefault(exception.rule.split("/", 1)[0], []).append(exception)
    rows = []
    for control in catalog.controls:
        declared = declarations.get(control.id)
        result = results.get(control.id)
        status = "not_assessed" if result is None else result.status.value
        rows.append(
            SoaRow(
                id=control.id,
                group=control.group,
                title=control.title,
                applicable=True if declared is None else declared.applicable,
                justification=NOT_DECLARED if declared is None else declared.justification.strip(),
                status=status,
                implementation=IMPLEMENTATION[status],
                rules=() if result is None else tuple(sorted(result.rules)),
                evidence=tuple(sorted(evidence.get(control.id, ()))),
                observations=0 if result is None else result.counts.get("observations", 0),
                exceptions=tuple(
                    sorted(waivers.get(control.id, []), key=lambda e: (e.rule, e.subject or "", e.expires))
                ),
                eu_ai_act=tuple(m.item for m in control.mappings if m.framework == "eu-ai-act"),
                nist_ai_rmf=tuple(m.item for m in control.mappings if m.framework == "nist-ai-rmf"),
            )
        )
    return Soa(organization=organization, scan=scan, rows=tuple(rows))


def exceptions_in_force(exceptions: Iterable[Any], on: date) -> tuple[ExceptionInForce, ...]:
    """Config exceptions (``RuleException``) still waiving on ``on``, the scan's date."""
    return tuple(
        ExceptionInForce(
            rule=e.rule,
            subject=e.subject,
            justification=e.justification,
            approved_by=e.approved_by,
            expires=e.expires.isoformat(),
        )
        for e in exceptions
        if e.in_force(on)
    )


def scan_info(scan_id: str, started_at: datetime, rule_pack_digest: str) -> ScanInfo:
    return ScanInfo(scan_id=scan_id, at=format_timestamp(started_at), rule_pack_digest=rule_pack_digest)


# --- rendering -----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "control",
    "group",
    "title",
    "applicable",
    "justification",
    "status",
    "implementation",
    "rules",
    "evidence",
    "observations",
    "exceptions",
    "eu_ai_act",
    "nist_ai_rmf",
)


def render_json(soa: Soa) -> str:
    return json.dumps(soa.to_dict(), indent=2, sort_keys=True) + "\n"


def render_csv(soa: Soa) -> str:
    """One row per control; lists joined with "; ". Cells starting with = + - @ are quoted against
    spreadsheet formula injection (a justification is free text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in soa.rows:
        writer.writerow(
            [
                csv_cell(value)
                for value in (
                    row.id,
                    row.group,
                    row.title,
                    "yes" if row.applicable else "no",
                    row.justification,
                    row.status,
                    row.implementation,
                    "; ".join(row.rules),
                    "; ".join(row.evidence),
                    str(row.observations),
                    "; ".join(_exception_text(e) for e in row.exceptions),
                    "; ".join(row.eu_ai_act),
                    "; ".join(row.nist_ai_rmf),
                )
            ]
        )
    return buffer.getvalue()


def render_markdown(soa: Soa) -> str:
    lines = ["# Statement of Applicability (ISO/IEC 42001:2023 Annex A)", ""]
    if soa.organization:
        lines.append(f"Organisation: {markdown_cell(soa.organization)}  ")
    if soa.scan is None:
        lines.append("Implementation status: no scan recorded yet.")
    else:
        lines.append(f"Scan: `{soa.scan.scan_id}` at {soa.scan.at}  ")
        lines.append(f"Rule pack: `{soa.scan.rule_pack_digest[:12]}`")
    applicable = sum(1 for row in soa.rows if row.applicable)
    lines += [
        "",
        f"{applicable} of {len(soa.rows)} controls applicable; "
        + ", ".join(f"{count} {name}" for name, count in _implementation_counts(soa.rows)),
        "",
        "| Control | Title | Applicable | Justification | Implementation | Evidence | Observations "
        "| Exceptions in force |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in soa.rows:
        evidence = ", ".join(f"`{ref[:12]}`" for ref in row.evidence) or "-"
        exceptions = "; ".join(markdown_cell(_exception_text(e)) for e in row.exceptions) or "-"
        lines.append(
            f"| {row.id} | {markdown_cell(row.title)} | {'yes' if row.applicable else 'no'} "
            f"| {markdown_cell(row.justification)} | {row.implementation} | {evidence} "
            f"| {row.observations or '-'} | {exceptions} |"
        )
    lines += [
        "",
        "Evidence ids are SHA-256 prefixes of the stored evidence items (`annexa verify` checks them).",
        "Observations: supporting evidence missing or failing, never what decides the implementation.",
    ]
    return "\n".join(lines) + "\n"


def _implementation_counts(rows: Sequence[SoaRow]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.implementation] = counts.get(row.implementation, 0) + 1
    return [(name, counts[name]) for name in IMPLEMENTATION.values() if name in counts]


def _exception_text(exception: ExceptionInForce) -> str:
    subject = f" [{exception.subject}]" if exception.subject else ""
    return (
        f"{exception.rule}{subject} until {exception.expires}, approved by {exception.approved_by}: "
        f"{exception.justification.strip()}"
    )
