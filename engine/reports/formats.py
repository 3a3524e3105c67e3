"""The built-in output formats: plugin ``formats``, registered by ``annexa_reporters`` like any other."""

from __future__ import annotations

from collections.abc import Iterator

from annexa.plugins import ReporterSpec, hookimpl
from annexa.reports.canonical import render_json
from annexa.reports.csvtable import render_csv
from annexa.reports.junit import render_junit
from annexa.reports.markdown import render_markdown
from annexa.reports.oscal import render_oscal
from annexa.reports.readiness import render_html
from annexa.reports.sarif import render_sarif
from annexa.reports.text import render_text


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
    yield ReporterSpec(name="sarif", suffix=".sarif", render=render_sarif, description="SARIF 2.1.0")
    yield ReporterSpec(
        name="oscal", suffix=".oscal.json", render=render_oscal, description="OSCAL assessment-results"
    )
    yield ReporterSpec(name="csv", suffix=".csv", render=render_csv, description="one row per finding")
    yield ReporterSpec(
        name="markdown", suffix=".md", render=render_markdown, description="summary for a PR comment"
    )
