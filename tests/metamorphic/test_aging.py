"""Stale evidence never improves a status: the `age` mutants of the demo estate, on their own.

The whole suite (test_monotonic, marked slow) runs them among every other mutant; this runs only them, in
one process, so a change to freshness can be checked in a minute. Each aged file must also read back with
its dates moved back, and the scan must report it stale (or, for an attestation, expired).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from annexa.collectors.docstore.formats import read_markdown
from annexa.collectors.modelcards.markdown import read_card
from annexa.contract.freshness import stale_evidence

from .estate import EstateScanner, copy_estate, evidence_files
from .mutations import AGED_DATE, AGED_KEYS, Mutant, mutants
from .run import improvements


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_estate(tmp_path_factory.mktemp("aging") / "estate")


@pytest.fixture(scope="module")
def aged(estate: Path) -> list[tuple[Mutant, str]]:
    return [
        (mutant, found.family)
        for found in evidence_files(estate)
        for mutant in mutants(found.path, found.family, (estate / found.path).read_bytes())
        if mutant.mutation == "age"
    ]


def test_every_dated_document_and_attestation_is_aged(aged: list[tuple[Mutant, str]]) -> None:
    families = {family for _, family in aged}
    assert {"markdown", "attestation"} <= families, families
    for mutant, family in aged:
        assert mutant.content is not None
        if family == "markdown":
            fields = {key: raw.value for key, raw in read_markdown(mutant.content, "x").fields.items()}
            dated = [str(fields[k]) for k in ("last_reviewed", "approved_on") if fields.get(k) is not None]
        elif family == "modelcard":
            dated = [str(read_card(mutant.content, "x").metadata.get("last_reviewed"))]
        else:
            loaded = yaml.safe_load(mutant.content)
            entries = loaded if isinstance(loaded, list) else [loaded]
            dated = [str(e[k]) for e in entries for k in AGED_KEYS if e.get(k) is not None]
        assert dated, mutant.id
        assert all(value == AGED_DATE for value in dated), (mutant.id, dated)


def test_aging_evidence_never_improves_a_control_and_is_reported(
    estate: Path, aged: list[tuple[Mutant, str]]
) -> None:
    scanner = EstateScanner(estate)
    first = scanner.scan()
    baseline = first.statuses()
    sources = " ".join(item.source for item in first.collection.evidence)
    found = []
    for mutant, _ in aged:
        path = estate / mutant.path
        original = path.read_bytes()
        assert mutant.content is not None
        path.write_bytes(mutant.content)
        try:
            scan = scanner.scan()
            found += improvements(mutant.id, baseline, scan.statuses())
            reported = stale_evidence(scan.collection.evidence, scanner.config.freshness, scanner.now)
            # A sidecar's dates are its document's: the item is the PDF or DOCX it describes.
            # A file no rule reads (a dataset card, here) is collected by no collector: nothing to report.
            described = mutant.path.removesuffix(".meta.yaml")
            if described in sources:
                assert any(described in o.evidence.source for o in reported), mutant.id
        finally:
            path.write_bytes(original)
    assert not found, "\n".join(map(str, found))
