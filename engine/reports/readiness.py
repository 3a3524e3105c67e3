"""``--format html``: the readiness report, one self-contained HTML file an auditor opens first.

Everything is rendered here with :func:`html.escape`; the inline script only filters, reading ``data-*``
attributes and setting ``hidden``. A Content-Security-Policy allows that one script (by its hash), inline
styles and ``data:`` images only: no inline event handler runs and nothing is fetched from the network,
so even a value that slipped past escaping could neither run nor call home.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from html import escape
from importlib import resources
from typing import Any, Final

from annexa.model.findings import is_observation
from annexa.reports.document import controls_and_clauses

STATUSES: Final = ("pass", "fail", "inconclusive", "error", "not_applicable", "not_assessed")
_LABEL: Final = {
    "pass": "pass",
    "fail": "fail",
    "inconclusive": "inconclusive",
    "error": "error",
    "not_applicable": "not applicable",
    "not_assessed": "not assessed",
}
_COLOUR: Final = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "inconclusive": "#9a6700",
    "error": "#8250df",
    "not_applicable": "#6e7781",
    "not_assessed": "#afb8c1",
}


@cache
def _asset(name: str) -> str:
    return resources.files("annexa.reports").joinpath(f"templates/{name}").read_text(encoding="utf-8")


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _badge(status: str, text: str | None = None) -> str:
    return f'<span class="badge s-{_e(status)}">{_e(text or _LABEL.get(status, status))}</span>'


def _json_attr(values: Iterable[str]) -> str:
    return _e(json.dumps(sorted(set(values))))


def _pretty(value: object) -> str:
    return _e(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


def ai_systems_of(data: Mapping[str, Any]) -> set[str]:
    """AI systems an evidence item is about: ``ai_systems`` (list), ``ai_system``, or ``tags.ai_system``."""
    found: set[str] = set()
    listed = data.get("ai_systems")
    if isinstance(listed, list):
        found.update(str(item) for item in listed if item)
    tags = data.get("tags")
    for value in (data.get("ai_system"), tags.get("ai_system") if isinstance(tags, Mapping) else None):
        if isinstance(value, str) and value:
            found.add(value)
    return found


def finding_systems(finding: Mapping[str, Any], items: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The AI systems of the finding's subject (its own evidence first, else everything it cites)."""
    cited = [items[ref["id"]] for ref in finding["evidence"] if ref["id"] in items]
    own = [item for item in cited if item["source"] == finding["subject"]] or cited
    systems: set[str] = set()
    for item in own:
        data = item.get("data")
        if not isinstance(data, Mapping):
            continue
        if item.get("kind") == "ai_system" and isinstance(data.get("id"), str):
            systems.add(data["id"])  # a declared system of the scope: the subject of per-system rules
        else:
            systems |= ai_systems_of(data)
    return systems


def trend_svg(history: Sequence[Mapping[str, Any]]) -> str:
    """A stacked bar chart of control statuses per scan, as inline SVG (no script, no fetch)."""
    if not history:
        return '<p class="muted">No scan history in the store.</p>'
    bar, gap, height, top, bottom, left = 26, 14, 160, 10, 40, 34
    total = max(sum(point["controls"].values()) for point in history) or 1
    width = left + len(history) * (bar + gap) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height + top + bottom}" '
        f'viewBox="0 0 {width} {height + top + bottom}" aria-label="control statuses per scan">',
        f'<text x="0" y="{top + 8}">{total}</text><text x="0" y="{top + height}">0</text>',
    ]
    for index, point in enumerate(history):
        x = left + index * (bar + gap)
        y = top + height
        for status in STATUSES:
            number = point["controls"].get(status, 0)
            if not number:
                continue
            h = height * number / total
            y -= h
            label = f"{point['scan']}: {number} {_LABEL[status]}"
            parts.append(
                f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" fill="{_COLOUR[status]}">'
                f"<title>{_e(label)}</title></rect>"
            )
        day = str(point["started_at"])[5:10]
        parts.append(f'<text x="{x}" y="{top + height + 14}">{_e(day)}</text>')
    parts.append("</svg>")
    legend = " ".join(_badge(status) for status in STATUSES)
    return "".join(parts) + f"<p>{legend}</p>"


def _header(document: Mapping[str, Any]) -> str:
    scan = document.get("scan") or {}
    organization = document.get("organization") or "annexa"
    summary = document["summary"]
    cards = "".join(
        f'<div class="card">{_badge(status)}<b>{summary["controls"][status]}</b></div>' for status in STATUSES
    )
    assessed = summary["catalog_controls"] - summary["controls"]["not_assessed"]
    return (
        f"<header><h1>ISO/IEC 42001 Annex A readiness: {_e(organization)}</h1>"
        f'<div class="meta">evaluated {_e(document["evaluated_at"])} · scan {_e(scan.get("id", "-"))} · '
        f"manifest {_e(scan.get('manifest', '-'))} · rule pack {_e(document['ruleset_digest'])} · "
        f"annexa {_e(document['annexa_version'])}</div>"
        f'<div class="cards">{cards}<div class="card">waived findings<b>{summary["waived"]}</b></div>'
        f'<div class="card">assessed<b>{assessed} / {summary["catalog_controls"]}</b></div></div></header>'
    )


def _groups(document: Mapping[str, Any]) -> str:
    rows = []
    for group in document["groups"]:
        readiness = group["readiness"]
        share = "n/a" if readiness is None else f"{round(readiness * 100)}%"
        width = 0 if readiness is None else round(readiness * 100)
        counts = " ".join(
            _badge(status, f"{group['counts'][status]} {_LABEL[status]}")
            for status in STATUSES
            if group["counts"][status]
        )
        rows.append(
            f"<tr><td>{_e(group['id'])}</td><td>{_e(group['title'])}</td><td>{group['controls']}</td>"
            f'<td><span class="bar"><span style="width:{width}%"></span></span> {share}</td>'
            f"<td>{counts}</td></tr>"
        )
    return (
        '<h2 id="readiness">Readiness per Annex A group</h2><table><thead><tr><th>group</th><th>title</th>'
        "<th>controls</th><th>readiness (passing share of assessed)</th><th>statuses</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _changes(document: Mapping[str, Any]) -> str:
    drift = document.get("drift")
    title = '<h2 id="changes">Changes since the previous scan</h2>'
    if not drift:
        return title + '<p class="muted">First recorded scan: nothing to compare with.</p>'
    counts = drift["counts"]
    text = ", ".join(f"{counts[key]} {key.replace('_', ' ')}" for key in counts)
    moved = [c for c in drift["findings"] if c["change"] != "unchanged" and c["change"] != "still_failing"]
    rows = "".join(
        f"<tr><td>{_e(c['change'].replace('_', ' '))}</td><td><code>{_e(c['id'])}</code></td>"
        f"<td>{_e(c['control'])}</td><td>{_e(c['rule'])}</td><td>{_e(c['subject'])}</td>"
        f"<td>{_badge(c['before']) if c['before'] else '-'}</td>"
        f"<td>{_badge(c['after']) if c['after'] else '-'}</td></tr>"
        for c in moved
    )
    controls = "".join(
        f"<li>{_e(c['id'])}: {_badge(c['before']) if c['before'] else '-'} → "
        f"{_badge(c['after']) if c['after'] else '-'}</li>"
        for c in drift["controls"]
    )
    table = (
        "<table><thead><tr><th>change</th><th>finding</th><th>control</th><th>rule</th><th>subject</th>"
        f"<th>before</th><th>after</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else '<p class="muted">No finding changed status.</p>'
    )
    return f'{title}<p id="drift-counts">{_e(text)}</p>{table}' + (f"<ul>{controls}</ul>" if controls else "")


def _filters(document: Mapping[str, Any], systems: Iterable[str]) -> str:
    def options(values: Iterable[tuple[str, str]]) -> str:
        return '<option value="">all</option>' + "".join(
            f'<option value="{_e(value)}">{_e(text)}</option>' for value, text in values
        )

    groups = [(g["id"], f"{g['id']} {g['title']}") for g in document["groups"]]
    return (
        '<div class="filters" id="filters">'
        f'<label>status <select id="filter-status">{options((s, _LABEL[s]) for s in STATUSES)}</select>'
        "</label>"
        f'<label>AI system <select id="filter-system">{options((s, s) for s in sorted(systems))}</select>'
        "</label>"
        f'<label>group <select id="filter-group">{options(groups)}</select></label>'
        '<span id="filter-count" class="muted"></span></div>'
    )


def _matrix(document: Mapping[str, Any], control_systems: Mapping[str, set[str]]) -> str:
    rows = []
    for c in controls_and_clauses(document):
        counts = c["counts"]
        rows.append(
            f'<tr class="control-row" data-status="{_e(c["status"])}" data-group="{_e(c["group"])}" '
            f'data-systems="{_json_attr(control_systems[c["id"]])}"><td><a href="#control-{_e(c["id"])}">'
            f"{_e(c['id'])}</a></td><td>{_e(c['title'])}</td><td>{_badge(c['status'])}</td>"
            f"<td>{counts['pass']}</td><td>{counts['fail']}</td>"
            f"<td>{counts['inconclusive'] + counts['error']}</td><td>{counts['waived']}</td>"
            f"<td>{_e(', '.join(sorted(control_systems[c['id']])))}</td></tr>"
        )
    return (
        '<h2 id="matrix">Control matrix</h2><table id="control-matrix"><thead><tr><th>control</th>'
        "<th>title</th><th>status</th><th>pass</th><th>fail</th><th>inconclusive / error</th><th>waived</th>"
        f"<th>AI systems</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _finding_row(finding: Mapping[str, Any], systems: set[str]) -> str:
    extra = []
    if finding["missing"]:
        extra.append(f"<div>missing: <code>{_e(', '.join(finding['missing']))}</code></div>")
    if finding["remediation"]:
        extra.append(f"<div>remediation: {_e(finding['remediation'])}</div>")
    if finding["note"]:
        extra.append(f'<div class="muted">note: {_e(finding["note"])}</div>')
    if finding["waiver"]:
        w = finding["waiver"]
        extra.append(
            f'<div class="waiver">exception: {_e(w["justification"])} (approved by {_e(w["approved_by"])}, '
            f"expires {_e(w['expires'])})</div>"
        )
    if finding["witness"]:
        extra.append(f"<details><summary>witness</summary><pre>{_pretty(finding['witness'])}</pre></details>")
    evidence = " ".join(
        f'<a href="#ev-{_e(ref["id"])}" title="{_e(ref["source"])}"><code>{_e(ref["id"][:12])}</code></a>'
        for ref in finding["evidence"]
    )
    waived = " (waived)" if finding["waiver"] else ""
    if is_observation(finding):
        waived += " (observation: supporting evidence)"
    return (
        f'<tr class="finding" id="finding-{_e(finding["id"])}" data-status="{_e(finding["status"])}" '
        f'data-systems="{_json_attr(systems)}"><td><code>{_e(finding["id"])}</code></td>'
        f"<td>{_badge(finding['status'])}{_e(waived)}</td><td>{_e(finding['severity'])}</td>"
        f'<td>{_e(finding["rule"])}<div class="muted">{_e(finding["location"])}</div></td>'
        f"<td>{_e(finding['subject'])}</td><td>{_e(finding['message'])}{''.join(extra)}</td><td>{evidence}</td></tr>"
    )


def _evidence_item(item: Mapping[str, Any]) -> str:
    return (
        f'<li id="ev-{_e(item["id"])}"><b>{_e(item["source"])}</b> <span class="muted">{_e(item["kind"])} · '
        f"collected {_e(item['collected_at'])} by {_e(item['collector'])}</span>"
        f"<div>sha256 <code>{_e(item['id'])}</code></div>"
        f"<details><summary>data</summary><pre>{_pretty(item['data'])}</pre></details></li>"
    )


def _control_sections(
    document: Mapping[str, Any],
    items: Mapping[str, Mapping[str, Any]],
    systems_by_finding: Mapping[str, set[str]],
    control_systems: Mapping[str, set[str]],
) -> str:
    by_control: dict[str, list[Mapping[str, Any]]] = {}
    for finding in document["findings"]:
        by_control.setdefault(finding["control"], []).append(finding)
    sections = []
    for c in controls_and_clauses(document):
        findings = by_control.get(c["id"], [])
        rules = "".join(f"<li><code>{_e(rule)}</code></li>" for rule in c["rules"]) or "<li>none</li>"
        body = ""
        if findings:
            rows = "".join(_finding_row(f, systems_by_finding[f["id"]]) for f in findings)
            body += (
                "<table><thead><tr><th>finding</th><th>status</th><th>severity</th><th>rule</th>"
                f"<th>subject</th><th>message</th><th>evidence</th></tr></thead><tbody>{rows}</tbody></table>"
            )
            cited = sorted({ref["id"] for f in findings for ref in f["evidence"] if ref["id"] in items})
            if cited:
                body += "<h3>Evidence</h3><ul>" + "".join(_evidence_item(items[d]) for d in cited) + "</ul>"
        else:
            body = '<p class="muted">No automated finding for this control.</p>'
        sections.append(
            f'<section class="control" id="control-{_e(c["id"])}" data-status="{_e(c["status"])}" '
            f'data-group="{_e(c["group"])}" data-systems="{_json_attr(control_systems[c["id"]])}">'
            f"<h3>{_e(c['id'])} {_e(c['title'])} {_badge(c['status'])}</h3>"
            f'<div class="muted">rules:</div><ul>{rules}</ul>{body}</section>'
        )
    return '<h2 id="controls">Controls</h2>' + "".join(sections)


def _observations(document: Mapping[str, Any]) -> str:
    """What the scan noticed that is no verdict (scope drift): shown, never folded into a status."""
    observations = document.get("observations") or []
    if not observations:
        return ""
    rows = "".join(f"<li><strong>{_e(o['code'])}</strong>: {_e(o['message'])}</li>" for o in observations)
    return f'<h2 id="observations">Observations</h2><ul>{rows}</ul>'


def _collection(document: Mapping[str, Any]) -> str:
    collection = document.get("collection")
    if not collection:
        return ""
    rows = "".join(
        f"<tr><td>{_e(r['collector'])}</td><td>{_e(r['version'])}</td><td>{_e(', '.join(r['kinds']))}</td>"
        f"<td>{r['items']}</td><td>{_e(r['error'] or '')}</td></tr>"
        for r in collection["runs"]
    )
    problems = "".join(f"<li>{_e(p)}</li>" for p in collection["problems"])
    missing = "".join(f"<li>{_e(k)}: {_e(v)}</li>" for k, v in collection["not_collected"].items())
    return (
        '<h2 id="collection">Collection</h2><table><thead><tr><th>collector</th><th>version</th>'
        f"<th>kinds</th><th>items</th><th>error</th></tr></thead><tbody>{rows}</tbody></table>"
        + (f"<h3>Not collected</h3><ul>{missing}</ul>" if missing else "")
        + (f"<h3>Problems</h3><ul>{problems}</ul>" if problems else "")
        + f'<p class="muted">{collection["redactions"]} secret(s) redacted before storing.</p>'
    )


def script_hash(script: str) -> str:
    """The CSP source expression that allows exactly this inline script."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def render_html(document: Mapping[str, Any]) -> str:
    """The readiness report as one HTML file (inline CSS, script and SVG; no external resource)."""
    items = {item["id"]: item for item in document.get("evidence_items", [])}
    systems_by_finding = {f["id"]: finding_systems(f, items) for f in document["findings"]}
    control_systems: dict[str, set[str]] = {c["id"]: set() for c in controls_and_clauses(document)}
    for finding in document["findings"]:
        control_systems.setdefault(finding["control"], set()).update(systems_by_finding[finding["id"]])
    all_systems = set().union(*systems_by_finding.values()) if systems_by_finding else set()
    script = _asset("readiness.js")
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {script_hash(script)}"
    organization = document.get("organization") or "annexa"
    body = "".join(
        (
            _header(document),
            "<main>",
            _groups(document),
            '<h2 id="trend">Control statuses over the scan history</h2>',
            trend_svg(document.get("history", [])),
            _changes(document),
            _filters(document, all_systems),
            _matrix(document, control_systems),
            _control_sections(document, items, systems_by_finding, control_systems),
            _observations(document),
            _collection(document),
            f'<p class="muted">Generated by annexa {_e(document["annexa_version"])}.</p></main>',
        )
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Annex A readiness: {_e(organization)}</title><style>{_asset('readiness.css')}</style></head>"
        f"<body>{body}<script>{script}</script></body></html>\n"
    )
