"""``--format markdown``: a summary for a pull-request comment or a management review.

Evidence-derived text is escaped for GitHub-flavoured Markdown: table pipes, emphasis and link syntax, raw
HTML, and ``@`` (a zero-width space stops a value from mentioning a person or team in a PR comment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from annexa.model.findings import is_observation

MAX_LISTED: Final = 50  # findings listed per section; a PR comment is read, not searched
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")
_STATUS_ORDER: Final = ("pass", "fail", "inconclusive", "error", "not_applicable", "not_assessed")


def escape_markdown(value: object) -> str:
    """One line of plain text that renders as itself in a table cell or list item."""
    text = "" if value is None else " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    return text.replace("@", "@\u200b")


def _code(value: str) -> str:
    return "`" + value.replace("`", "'") + "`"


def _percent(readiness: float | None) -> str:
    return "n/a" if readiness is None else f"{round(readiness * 100)}%"


def render_markdown(document: Mapping[str, Any]) -> str:
    """The Markdown summary: status counts, readiness per group, changes, failing findings."""
    summary = document["summary"]
    organization = document.get("organization") or "annexa scan"
    lines = [f"## ISO/IEC 42001 Annex A readiness: {escape_markdown(organization)}", ""]
    scan = document.get("scan")
    where = f"scan {_code(scan['id'])}, " if scan else ""
    lines.append(
        f"{where}evaluated {document['evaluated_at']}, annexa {escape_markdown(document['annexa_version'])}"
    )
    lines += ["", "| controls | " + " | ".join(s.replace("_", " ") for s in _STATUS_ORDER) + " |"]
    lines.append("|---|" + "---:|" * len(_STATUS_ORDER))
    lines.append(
        f"| {summary['catalog_controls']} | "
        + " | ".join(str(summary["controls"][s]) for s in _STATUS_ORDER)
        + " |"
    )
    lines += [
        "",
        "### Readiness per Annex A group",
        "",
        "| group | title | readiness | pass | fail | other |",
    ]
    lines.append("|---|---|---:|---:|---:|---:|")
    for group in document["groups"]:
        counts = group["counts"]
        other = group["controls"] - counts["pass"] - counts["fail"]
        lines.append(
            f"| {group['id']} | {escape_markdown(group['title'])} | {_percent(group['readiness'])} | "
            f"{counts['pass']} | {counts['fail']} | {other} |"
        )
    lines += ["", *_changes(document), ""]
    findings = document["findings"]
    verdicts = [f for f in findings if not is_observation(f)]
    failing = [f for f in verdicts if f["status"] == "fail" and f["waiver"] is None]
    lines += _finding_table(f"Failing findings ({len(failing)})", failing)
    unsure = [f for f in verdicts if f["status"] in ("inconclusive", "error")]
    lines += _finding_table(f"Inconclusive or errored ({len(unsure)})", unsure)
    observations = [f for f in findings if is_observation(f)]
    if observations:
        lines += _finding_table(
            f"Observations: supporting evidence missing ({len(observations)})", observations
        )
    waived = [f for f in findings if f["waiver"] is not None]
    if waived:
        lines += [f"### Exceptions in force ({len(waived)})", ""]
        for f in waived:
            w = f["waiver"]
            lines.append(
                f"- {_code(f['id'])} {escape_markdown(f['rule'])} on {escape_markdown(f['subject'])}: "
                f"{escape_markdown(w['justification'])} (approved by {escape_markdown(w['approved_by'])}, "
                f"expires {escape_markdown(w['expires'])})"
            )
        lines.append("")
    lines.append(f"Exit code {summary['exit_code']}; {summary['waived']} waived finding(s).")
    return "\n".join(lines) + "\n"


def _changes(document: Mapping[str, Any]) -> list[str]:
    drift = document.get("drift")
    if not drift:
        return ["### Changes since the previous scan", "", "First recorded scan: nothing to compare with."]
    counts = drift["counts"]
    lines = [
        "### Changes since the previous scan",
        "",
        f"{counts['new_failure']} new failure(s), {counts['fixed']} fixed, {counts['still_failing']} still "
        f"failing, {counts['changed']} other change(s), {counts['new_subject']} new subject(s), "
        f"{counts['vanished']} vanished.",
    ]
    moved = [c for c in drift["findings"] if c["change"] in ("new_failure", "fixed", "changed", "vanished")]
    if moved:
        lines += ["", "| change | finding | control | rule | subject | before | after |"]
        lines.append("|---|---|---|---|---|---|---|")
        for c in moved[:MAX_LISTED]:
            lines.append(
                f"| {c['change'].replace('_', ' ')} | {_code(c['id'])} | {c['control']} | "
                f"{escape_markdown(c['rule'])} | {escape_markdown(c['subject'])} | {c['before'] or '-'} | "
                f"{c['after'] or '-'} |"
            )
        if len(moved) > MAX_LISTED:
            lines.append(f"\n... and {len(moved) - MAX_LISTED} more")
    for control in drift["controls"]:
        lines.append(f"- control {control['id']}: {control['before'] or '-'} -> {control['after'] or '-'}")
    return lines


def _finding_table(title: str, findings: list[Mapping[str, Any]]) -> list[str]:
    if not findings:
        return []
    lines = [f"### {title}", "", "| finding | control | severity | rule | subject | message |"]
    lines.append("|---|---|---|---|---|---|")
    lines.extend(
        f"| {_code(f['id'])} | {f['control']} | {f['severity']} | {escape_markdown(f['rule'])} | "
        f"{escape_markdown(f['subject'])} | {escape_markdown(f['message'])} |"
        for f in findings[:MAX_LISTED]
    )
    if len(findings) > MAX_LISTED:
        lines.append(f"\n... and {len(findings) - MAX_LISTED} more (see the HTML or CSV report)")
    lines.append("")
    return lines
