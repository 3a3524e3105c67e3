"""The demo estate (examples/) scanned in process, without its AWS account and MLflow registry.

The metamorphic suite scans the estate hundreds of times, so a scan here is only what decides a
control's status: collect the offline sources (documents, attestations, model cards), evaluate the rule
pack, apply the configuration's policy (applicability and exceptions) and roll the findings up. Nothing
is recorded in a store and the clock is fixed. The rule pack is compiled once per
:class:`EstateScanner` and reused for every scan.

Regression tests use it too::

    root = copy_estate(tmp_path / "estate")
    (root / "governance/policies/ai-policy.md").unlink()
    assert EstateScanner(root).scan().statuses()["A.2.2"] != "pass"
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from annexa.app.executors import LocalExecutor
from annexa.app.scan import Collection, apply_policy, collect, compile_for, plan
from annexa.app.wiring import make_host
from annexa.contract.catalog import roll_up, roll_up_clauses
from annexa.lang.language import evaluate
from annexa.model.evidence import Evidence
from annexa.model.findings import ControlResult, ControlStatus, Finding
from annexa.plugins.config import load_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIG_NAME = "annexa.yaml"
NOW = datetime(2026, 11, 23, tzinfo=UTC)  # the demo's clock, as in tests/test_demo.py

# Collectors that need a server (moto, an MLflow tracking server): left out of the offline estate.
ONLINE_COLLECTORS = ("aws", "mlflow")

# What examples/ holds besides evidence: the configuration, the demo's scripts and what a demo run writes.
_NOT_EVIDENCE_DIRS = frozenset({"estate", "out", "__pycache__"})

# How good a control's status looks (docs: ../shared/reference/verdicts.md, "Order and monotonicity").
STATUS_RANK: Mapping[str, int] = {
    "pass": 3,
    "not_applicable": 2,
    "waived": 1,
    "inconclusive": 0,
    "error": 0,
    "fail": 0,
    "not_assessed": 0,  # no rule covers the control: never better than a verdict
}


def control_status(result: ControlResult) -> str:
    """The status a control shows, on the order pass > not_applicable > waived > inconclusive/error/fail.

    ``roll_up`` counts a waived finding as passing (:func:`annexa.model.findings.effective_status`), so a
    control whose every non-passing finding is waived rolls up to ``pass``; its ``counts["waived"]``
    says how many findings were waived. That control is "waived" here: it passes only by exception,
    which looks worse than passing on evidence. Every other status is the rolled-up one.
    """
    if result.status is ControlStatus.PASS and result.counts.get("waived", 0) > 0:
        return "waived"
    return result.status.value


def is_improvement(before: str, after: str) -> bool:
    """True when ``after`` ranks above ``before`` (see :data:`STATUS_RANK`)."""
    return STATUS_RANK[after] > STATUS_RANK[before]


def copy_estate(destination: Path, source: Path = EXAMPLES) -> Path:
    """Copy the estate to ``destination`` (which must not exist) with an offline configuration.

    The copy's ``annexa.yaml`` keeps every top-level key of the original except the collectors in
    :data:`ONLINE_COLLECTORS`. Outside a git work tree, the scan does not depend on the checkout's history.
    """
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("out", "__pycache__"))
    write_offline_config(source / CONFIG_NAME, destination / CONFIG_NAME)
    return destination


def write_offline_config(original: Path, target: Path) -> None:
    raw: dict[str, Any] = yaml.safe_load(original.read_text(encoding="utf-8"))
    collectors = {k: v for k, v in (raw.get("collectors") or {}).items() if k not in ONLINE_COLLECTORS}
    offline = {key: (collectors if key == "collectors" else value) for key, value in raw.items()}
    target.write_text(yaml.safe_dump(offline, sort_keys=False, allow_unicode=True), encoding="utf-8")


@dataclass(frozen=True, slots=True, kw_only=True)
class EstateScan:
    """One in-process scan: what was collected, the findings after policy, and the control results."""

    collection: Collection
    findings: tuple[Finding, ...]
    controls: tuple[ControlResult, ...]

    def statuses(self) -> dict[str, str]:
        """Control (and clause) id -> :func:`control_status`."""
        return {result.id: control_status(result) for result in self.controls}

    def evidence(self, kind: str) -> tuple[Evidence, ...]:
        return tuple(item for item in self.collection.evidence if item.kind == kind)


class EstateScanner:
    """Scans one estate folder again and again: host, configuration and rule pack are built once.

    Collection reads the folder afresh on every :meth:`scan`, so a test may change a file in between.
    """

    def __init__(self, root: Path, *, now: datetime = NOW, reuse: EstateScanner | None = None) -> None:
        """``reuse``: take the plugin host and the compiled rule pack of that scanner (a copy of the same
        estate, whose configuration selects the same rules) instead of building them again."""
        self.root = root
        self.now = now
        # The built-in collectors only, never whatever plugins happen to be installed.
        self.host = reuse.host if reuse is not None else make_host(autoload=False)
        self.config = load_config(root / CONFIG_NAME, self.host)
        self.ruleset = reuse.ruleset if reuse is not None else compile_for(self.config, self.host)
        self.planned = plan(self.ruleset, self.config, self.host.collectors())

    def scan(self) -> EstateScan:
        collection = collect(
            self.config,
            self.host,
            self.planned,
            now=self.now,
            fields=self.ruleset.fields_read,
            executor=LocalExecutor(1),  # a handful of small folders: threads would only add overhead
        )
        findings = apply_policy(
            evaluate(
                self.ruleset,
                collection.evidence,
                now=self.now,
                collected=collection.collected,
                gaps=collection.gaps,
            ),
            self.config,
            self.now,
        )
        by_control = self.ruleset.rules_by_control()
        controls = roll_up(findings, by_control) + roll_up_clauses(findings, by_control)
        return EstateScan(collection=collection, findings=findings, controls=controls)


# -- the evidence files and their families ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    path: str  # POSIX, relative to the estate root: "governance/policies/ai-policy.md"
    family: str  # which mutations apply: see tests/metamorphic/mutations.py, MUTATIONS


def evidence_files(root: Path) -> tuple[EvidenceFile, ...]:
    """Every file of the estate that a scan reads, with its family (format and collector).

    Anything besides the configuration, the demo's scripts and its output counts, so a file added to the
    estate later (an AI system inventory, say) is mutated too, as generic YAML or Markdown.
    """
    raw = yaml.safe_load((root / CONFIG_NAME).read_text(encoding="utf-8"))
    collectors = raw.get("collectors") or {}
    cards = _folders(root, (collectors.get("modelcards") or {}).get("sources"))
    attestations = _folders(root, [collectors["attestations"]] if "attestations" in collectors else [])
    found = []
    for path in sorted(_files(root)):
        rel = path.relative_to(root).as_posix()
        found.append(EvidenceFile(rel, _family(path, cards, attestations)))
    return tuple(found)


def _folders(root: Path, entries: Any) -> tuple[Path, ...]:
    folders = []
    for entry in entries or ():
        given = entry.get("path") or entry.get("git") if isinstance(entry, dict) else None
        if given:
            folders.append((root / given).resolve())
    return tuple(folders)


def _files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if not path.is_file() or rel.as_posix() == CONFIG_NAME or path.suffix == ".py":
            continue
        if any(part in _NOT_EVIDENCE_DIRS or part.startswith(".") for part in rel.parts):
            continue
        yield path


def _under(path: Path, folders: tuple[Path, ...]) -> bool:
    return any(path.resolve().is_relative_to(folder) for folder in folders)


def _family(path: Path, cards: tuple[Path, ...], attestations: tuple[Path, ...]) -> str:
    name = path.name.lower()
    if _under(path, cards) and name.endswith(".md"):
        return "modelcard"
    if _under(path, attestations) and name.endswith((".yaml", ".yml")):
        return "attestation"
    if name.endswith(".meta.yaml"):
        return "sidecar"
    if name.endswith(".pdf"):
        return "pdf"
    if name.endswith(".docx"):
        return "docx"
    if name.endswith((".md", ".markdown")):
        return "markdown"
    if name.endswith((".yaml", ".yml")):
        return "yaml"  # an inventory or another YAML record the estate gains later
    return "other"
