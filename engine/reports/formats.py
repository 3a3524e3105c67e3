"""The built-in output formats: plugin ``formats``, registered by ``annexa_reporters`` like any other."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from annexa.plugins import ReporterSpec, hookimpl


def _lazy(module: str, name: str) -> Callable[[Mapping[str, Any]], str]:
    """The renderer ``module.name``, imported when a report is rendered: every command loads this plugin,
    and the renderers' imports (Jinja2, markdown-it) are a tenth of a second that most never use."""

    def render(document: Mapping[str, Any]) -> str:
        function: Callable[[Mapping[str, Any]], str] = getattr(importlib.import_module(module), name)
        return function(document)

    return render


render_text = _lazy("annexa.reports.text", "render_text")
render_json = _lazy("annexa.reports.canonical", "render_json")
render_html = _lazy("annexa.reports.readiness", "render_html")
render_junit = _lazy("annexa.reports.junit", "render_junit")
render_sarif = _lazy("annexa.reports.sarif", "render_sarif")
render_sarif_all = _lazy("annexa.reports.sarif", "render_sarif_all")
render_oscal = _lazy("annexa.reports.oscal", "render_oscal")
render_csv = _lazy("annexa.reports.csvtable", "render_csv")
render_markdown = _lazy("annexa.reports.markdown", "render_markdown")


@hookimpl
def annexa_reporters() -> Iterator[ReporterSpec]:
    yield ReporterSpec(name="text", suffix=".txt", render=render_text, description="terminal summary")
    yield ReporterSpec(
        name="json", suffix=".json", render=render_json, description="the canonical result (JSON Schema)"
    )
    yield ReporterSpec(
        name="html", suffix=".html", render=render_html, description="self-contained readiness report"
    )
    yield ReporterSpec(
        name="junit",
        suffix=".junit.xml",
        render=render_junit,
        description="JUnit XML, a test case per finding",
    )
    yield ReporterSpec(
        name="sarif",
        suffix=".sarif",
        render=render_sarif,
        description="SARIF 2.1.0 for code scanning: failing, inconclusive and errored checks",
    )
    yield ReporterSpec(
        name="sarif_all",
        suffix=".all.sarif",
        render=render_sarif_all,
        description="SARIF 2.1.0 with every check, passes as kind: pass (an audit trail, not for upload)",
    )
    yield ReporterSpec(
        name="oscal", suffix=".oscal.json", render=render_oscal, description="OSCAL assessment-results"
    )
    yield ReporterSpec(name="csv", suffix=".csv", render=render_csv, description="one row per finding")
    yield ReporterSpec(
        name="markdown", suffix=".md", render=render_markdown, description="summary for a PR comment"
    )
