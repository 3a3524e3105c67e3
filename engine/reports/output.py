"""Where each requested format goes (``--format`` and ``--output``), and writing the reports.

* no ``--output``: each format is printed; two file formats at once need ``--output DIR``;
* ``--output DIR`` (an existing folder, or a path ending in ``/``): each format but ``text`` is written
  to ``DIR/annexa-report<suffix>`` and the text summary is printed;
* ``--output FILE``: the one format other than ``text`` (``json`` when none was asked for) is written
  there and the text summary is printed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from annexa.files.atomic import atomic_write_text
from annexa.model.errors import EngineError
from annexa.plugins import ReporterSpec

REPORT_STEM: Final = "annexa-report"


class OutputError(EngineError):
    """Formats and output path that do not fit together, or a format nobody registered."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputPlan:
    printed: tuple[ReporterSpec, ...]  # rendered to standard output, in order
    written: tuple[tuple[ReporterSpec, Path], ...]  # rendered to files

    @property
    def needs_store(self) -> bool:
        """Whether any format other than text is rendered (only those read evidence items and history)."""
        return any(spec.name != "text" for spec in (*self.printed, *(s for s, _ in self.written)))


def _is_folder(output: str) -> bool:
    return output.endswith(("/", os.sep)) or Path(output).is_dir()


def plan_outputs(
    formats: Sequence[str], output: str | None, reporters: Mapping[str, ReporterSpec]
) -> OutputPlan:
    """Decide where each format goes. :raises OutputError: unknown format, or too many for one file."""
    names = list(dict.fromkeys(formats or ["text"]))  # repeated --format counts once
    unknown = [name for name in names if name not in reporters]
    if unknown:
        raise OutputError(
            f"unknown format {unknown[0]!r}; choose from {', '.join(sorted(reporters))} "
            "(plugins add more: see `annexa plugins`)"
        )
    files = [name for name in names if name != "text"]
    if output is None:
        if len(files) > 1:
            raise OutputError(f"formats {', '.join(files)} cannot share standard output: pass --output DIR/")
        return OutputPlan(printed=tuple(reporters[name] for name in names), written=())
    if _is_folder(output):
        folder = Path(output)
        written = tuple((reporters[n], folder / f"{REPORT_STEM}{reporters[n].suffix}") for n in files)
        return OutputPlan(printed=(reporters["text"],), written=written)
    if len(files) > 1:
        raise OutputError(
            f"--output {output} is one file but {len(files)} formats were asked for ({', '.join(files)}): "
            "pass a folder (--output DIR/)"
        )
    return OutputPlan(
        printed=(reporters["text"],), written=((reporters[(files or ["json"])[0]], Path(output)),)
    )


def write_reports(plan: OutputPlan, document: Mapping[str, Any]) -> tuple[Path, ...]:
    """Render and atomically write the plan's files; returns their paths."""
    for spec, path in plan.written:
        atomic_write_text(path, spec.render(document))
    return tuple(path for _, path in plan.written)


def write_readiness_report(
    store_path: str | Path, destination: str | Path, *, scan: str = "latest", organization: str = ""
) -> Path:
    """Write the HTML readiness report of a stored scan (``make demo`` calls this last); returns its path."""
    from annexa.reports.document import report_document
    from annexa.reports.readiness import render_html
    from annexa.reports.stored import stored_result
    from annexa.store import open_store

    with open_store(store_path, create=False) as store:
        result = stored_result(store, scan, organization=organization)
        document = report_document(result, store=store, scan=scan)
    path = Path(destination)
    atomic_write_text(path, render_html(document))
    return path.resolve()
