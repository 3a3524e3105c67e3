"""``--format html``: the readiness report, one self-contained HTML file an auditor opens first.

The page is the Jinja2 template ``templates/readiness.html.j2``, rendered with autoescape on: every value
from the document (evidence, messages, file names) is escaped by the template engine, not by hand, and
only the stylesheet and the script (files of this package) are marked safe. Jinja2 replaces the
f-strings that built the page before: one place states the markup, and a forgotten ``escape()`` can no
longer let an evidence value through. This module only shapes the data: which AI system a finding is
about, each system's controls and open nonconformities, the trend chart's geometry.

The inline script only filters and opens details for printing, reading ``data-*`` attributes and setting
``hidden``/``open``. A Content-Security-Policy allows that one script (by its hash), inline styles and
``data:`` images only: no inline event handler runs and nothing is fetched from the network, so even a
value that slipped past escaping could neither run nor call home.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

from annexa.model.findings import is_observation
from annexa.reports.document import controls_and_clauses

if TYPE_CHECKING:
    from jinja2 import Environment

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
# A control's status from its findings, worst first (annexa.model.findings.rollup_status, on strings).
_WORST_FIRST: Final = ("fail", "error", "inconclusive", "pass", "not_applicable")
# Remediation is advice for what is not yet right: not shown on a pass or a declared exclusion.
_SETTLED: Final = frozenset({"pass", "not_applicable"})
# Trend chart geometry (px): bar, gap between bars, plot height, margins.
_BAR, _GAP, _PLOT, _TOP, _BOTTOM, _LEFT = 26, 14, 160, 10, 40, 34


@cache
def _asset(name: str) -> str:
    return resources.files("annexa.reports").joinpath(f"templates/{name}").read_text(encoding="utf-8")


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    environment = Environment(
        loader=PackageLoader("annexa.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    environment.filters["pretty"] = lambda value: json.dumps(
        value, indent=2, ensure_ascii=False, sort_keys=True
    )
    return environment


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


def worst(statuses: Iterable[str]) -> str:
    """The roll-up of statuses, worst first; nothing at all is not assessed."""
    present = set(statuses)
    return next((status for status in _WORST_FIRST if status in present), "not_assessed")


def control_status_for(findings: Sequence[Mapping[str, Any]]) -> str:
    """A control's status from some of its findings, as the scan rolls controls up: a waived finding
    counts as passing, and supporting evidence alone decides nothing (inconclusive)."""
    primary = [f for f in findings if f.get("weight") != "supporting"]
    if not primary:
        declared = bool(findings) and all(f["status"] == "not_applicable" for f in findings)
        return "not_applicable" if declared else "inconclusive"
    return worst("pass" if f["waiver"] is not None else f["status"] for f in primary)


def is_open_nonconformity(finding: Mapping[str, Any]) -> bool:
    """A failing finding, not waived, on primary evidence: what opens a nonconformity (annexa.audit)."""
    return finding["status"] == "fail" and finding["waiver"] is None and not is_observation(finding)


def tick_labels(started: Sequence[str]) -> list[list[str]]:
    """The trend axis labels: the day (with its year when the history spans years), and under it the time
    where two scans share that day."""
    with_year = len({stamp[:4] for stamp in started}) > 1
    days = [stamp[:10] if with_year else stamp[5:10] for stamp in started]
    shared = Counter(stamp[:10] for stamp in started)
    return [
        [day, stamp[11:16]] if shared[stamp[:10]] > 1 else [day]
        for day, stamp in zip(days, started, strict=True)
    ]


def trend_chart(history: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The geometry of a stacked bar chart of control statuses per scan (drawn as inline SVG)."""
    if not history:
        return None
    total = max(sum(point["controls"].values()) for point in history) or 1
    labels = tick_labels([str(point["started_at"]) for point in history])
    bars = []
    for index, point in enumerate(history):
        y = float(_TOP + _PLOT)
        rects = []
        for status in STATUSES:
            number = point["controls"].get(status, 0)
            if not number:
                continue
            h = _PLOT * number / total
            y -= h
            label = f"{point['scan']} ({point['started_at']}): {number} {_LABEL[status]}"
            rects.append({"y": f"{y:.1f}", "h": f"{h:.1f}", "fill": _COLOUR[status], "label": label})
        bars.append({"x": _LEFT + index * (_BAR + _GAP), "rects": rects, "label": labels[index]})
    return {
        "width": _LEFT + len(history) * (_BAR + _GAP) + 10,
        "height": _PLOT + _TOP + _BOTTOM,
        "top": _TOP,
        "base": _TOP + _PLOT,
        "bar": _BAR,
        "total": total,
        "bars": bars,
    }


def script_hash(script: str) -> str:
    """The CSP source expression that allows exactly this inline script."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _json_attr(values: Iterable[str]) -> str:
    return json.dumps(sorted(set(values)))


def _groups(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    groups = []
    for group in document["groups"]:
        readiness = group["readiness"]
        present = [s for s in STATUSES if group["counts"].get(s)]
        total = sum(group["counts"][s] for s in present) or 1
        stack = [
            {
                "status": s,
                "width": f"{100 * group['counts'][s] / total:.1f}",
                "label": f"{group['counts'][s]} {_LABEL[s]}",
            }
            for s in present
        ]
        groups.append(
            {
                **group,
                "share": "n/a" if readiness is None else f"{round(readiness * 100)}%",
                "width": 0 if readiness is None else round(readiness * 100),
                "stack": stack,
                "stack_label": ", ".join(part["label"] for part in stack) or "no controls",
            }
        )
    return groups


def _finding_view(finding: Mapping[str, Any], systems: set[str]) -> dict[str, Any]:
    qualifier = " (waived)" if finding["waiver"] else ""
    if is_observation(finding):
        qualifier += " (observation: supporting evidence)"
    settled = finding["status"] in _SETTLED and finding["waiver"] is None
    return {
        **finding,
        "qualifier": qualifier,
        "systems_json": _json_attr(systems),
        "remediation": None if settled else finding["remediation"],
        "rule_name": finding["rule"].split("/", 1)[-1],
    }


def _systems(
    document: Mapping[str, Any],
    items: Mapping[str, Mapping[str, Any]],
    systems_by_finding: Mapping[str, set[str]],
) -> list[dict[str, Any]]:
    """Each AI system the scope declares (its ``ai_system`` evidence): what an audit team prepares by."""
    declared = sorted(
        (
            item
            for item in items.values()
            if item["kind"] == "ai_system" and isinstance(item["data"], Mapping)
        ),
        key=lambda item: str(item["data"].get("id", item["source"])),
    )
    titles = {c["id"]: c["title"] for c in controls_and_clauses(document)}
    order = {c["id"]: n for n, c in enumerate(controls_and_clauses(document))}
    views = []
    for item in declared:
        data = item["data"]
        system = str(data.get("id") or item["source"].removeprefix("scope:"))
        mine = [f for f in document["findings"] if system in systems_by_finding[f["id"]]]
        by_control: dict[str, list[Mapping[str, Any]]] = {}
        for finding in mine:
            by_control.setdefault(finding["control"], []).append(finding)
        controls = [
            {
                "id": control,
                "title": titles.get(control, control),
                "status": control_status_for(findings),
                "findings": [_finding_view(f, {system}) for f in findings],
            }
            for control, findings in sorted(by_control.items(), key=lambda pair: order.get(pair[0], 10**6))
        ]
        counts = Counter(control["status"] for control in controls)
        evidence = [
            {
                "id": other["id"],
                "source": other["source"],
                "kind": other["kind"],
                "status": other["data"].get("status") if isinstance(other["data"], Mapping) else None,
                "owner": other["data"].get("owner") if isinstance(other["data"], Mapping) else None,
            }
            for other in sorted(items.values(), key=lambda i: (i["kind"] != "ai_system", i["source"]))
            if other["id"] == item["id"]
            or (isinstance(other["data"], Mapping) and system in ai_systems_of(other["data"]))
        ]
        views.append(
            {
                "id": system,
                "name": data.get("name") or system,
                "owner": data.get("owner"),
                "stage": data.get("lifecycle_stage"),
                "status": worst(control["status"] for control in controls),
                "counts": {status: counts.get(status, 0) for status in STATUSES},
                "controls": controls,
                "evidence": evidence,
                "nonconformities": [f for f in mine if is_open_nonconformity(f)],
            }
        )
    return views


def render_html(document: Mapping[str, Any]) -> str:
    """The readiness report as one HTML file (inline CSS, script and SVG; no external resource)."""
    from markupsafe import Markup

    items = {item["id"]: item for item in document.get("evidence_items", [])}
    systems_by_finding = {f["id"]: finding_systems(f, items) for f in document["findings"]}
    control_systems: dict[str, set[str]] = {c["id"]: set() for c in controls_and_clauses(document)}
    by_control: dict[str, list[Mapping[str, Any]]] = {}
    for finding in document["findings"]:
        control_systems.setdefault(finding["control"], set()).update(systems_by_finding[finding["id"]])
        by_control.setdefault(finding["control"], []).append(finding)
    controls = []
    for c in controls_and_clauses(document):
        findings = by_control.get(c["id"], [])
        cited = sorted({ref["id"] for f in findings for ref in f["evidence"] if ref["id"] in items})
        controls.append(
            {
                **c,
                "systems": sorted(control_systems[c["id"]]),
                "systems_json": _json_attr(control_systems[c["id"]]),
                "findings": [_finding_view(f, systems_by_finding[f["id"]]) for f in findings],
                "cited": [items[digest] for digest in cited],
            }
        )
    drift = document.get("drift")
    script = _asset("readiness.js")
    summary = document["summary"]
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {script_hash(script)}"
    return (
        _environment()
        .get_template("readiness.html.j2")
        .render(
            doc=document,
            scan=document.get("scan") or {},
            summary=summary,
            assessed=summary["catalog_controls"] - summary["controls"]["not_assessed"],
            organization=document.get("organization") or "annexa",
            statuses=STATUSES,
            labels=_LABEL,
            groups=_groups(document),
            systems=_systems(document, items, systems_by_finding),
            trend=trend_chart(document.get("history", [])),
            drift=drift,
            drift_text=", ".join(f"{n} {key.replace('_', ' ')}" for key, n in drift["counts"].items())
            if drift
            else "",
            moved=[c for c in drift["findings"] if c["change"] not in ("unchanged", "still_failing")]
            if drift
            else [],
            all_systems=sorted(set().union(*systems_by_finding.values())) if systems_by_finding else [],
            controls=controls,
            observations=document.get("observations") or [],
            collection=document.get("collection"),
            csp=csp,
            stylesheet=Markup(_asset("readiness.css")),  # this package's own files: markup by design
            script=Markup(script),
        )
    )
