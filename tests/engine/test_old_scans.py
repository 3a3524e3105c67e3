"""Re-evaluating a scan recorded before documents had a ``metadata`` object (issue 16).

Such a scan holds each document's type-specific fields under ``extra`` and may name a document type by
its old name. ``annexa evaluate --scan`` reads those documents in today's shape (annexa.contract.upgrade)
and reaches the verdicts a scan of the same files reaches today; findings cite the items as stored.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from annexa.cli.main import main
from annexa.contract.upgrade import upgraded
from annexa.model.evidence import Evidence
from annexa.store import new_scan_id, open_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = "2026-11-23T00:00:00Z"
JSON = ("--format", "json")


def old_shape(item: Evidence, **changes: Any) -> Evidence:
    """A document as an annexa before the evidence contract stored it: no ``metadata``, its keys in
    ``extra``."""
    if item.kind != "document":
        return item
    data = dict(item.data)
    metadata = data.pop("metadata")
    assert isinstance(metadata, dict)
    data["extra"] = {**data["extra"], **{k: v for k, v in metadata.items() if v is not None}, **changes}
    return dataclasses.replace(item, data=data)


def verdicts(output: str) -> list[tuple[str, str | None, str]]:
    return sorted((f["rule"], f["subject"], f["status"]) for f in json.loads(output)["findings"])


@pytest.fixture
def scanned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str, str]:
    for folder in ("governance", "attestations", "modelcards"):
        shutil.copytree(EXAMPLES / folder, tmp_path / folder)
    shutil.copy(EXAMPLES / "annexa.yaml", tmp_path / "annexa.yaml")
    config = str(tmp_path / "annexa.yaml")
    assert main(["scan", "-c", config, "--now", NOW, "--format", "json"]) == 1
    return tmp_path / "out" / ".annexa", config, capsys.readouterr().out


def record_old_scan(store_path: Path, shape: Any) -> list[Evidence]:
    """The latest scan recorded again with its documents in the old shape, as an old annexa would have."""
    with open_store(str(store_path)) as store:
        scan = store.load_scan("latest")
        items = store.put_evidence([shape(item) for item in store.evidence_of(scan)])
        later = scan.record.started_at + timedelta(minutes=1)
        store.record_scan(
            dataclasses.replace(
                scan.record,
                scan_id=new_scan_id(later),
                started_at=later,
                finished_at=later,
                evidence_ids=tuple(sorted(item.id for item in items)),
                findings=(),
            )
        )
    return list(items)


def test_an_old_scan_re_evaluates_to_todays_verdicts(
    scanned: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, config, output = scanned
    items = record_old_scan(store, old_shape)
    documents = [item for item in items if item.kind == "document"]
    assert documents
    assert all("metadata" not in item.data for item in documents)
    assert any(item.data["extra"].get("suppliers") is not None for item in documents)  # really moved
    assert main(["evaluate", "--scan", "latest", "--store", str(store), "-c", config, *JSON]) == 1
    captured = capsys.readouterr()
    assert "breaks its schema" not in captured.err
    assert verdicts(captured.out) == verdicts(output)
    # Findings cite the items as the store holds them (old shape), so the auditor can verify them.
    stored = {item.id for item in items}
    cited = {ref["id"] for f in json.loads(captured.out)["findings"] for ref in f["evidence"]}
    assert cited
    assert cited <= stored


def test_an_old_value_of_another_type_makes_the_document_defective_with_the_schemas_message(
    scanned: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, config, _ = scanned

    def shape(item: Evidence) -> Evidence:
        if item.kind == "document" and item.data.get("type") == "ai-system-record":
            return old_shape(item, suppliers="OpenAI")  # an old estate's text where a list is declared
        return old_shape(item)

    record_old_scan(store, shape)
    assert main(["evaluate", "--scan", "latest", "--store", str(store), "-c", config, *JSON]) == 1
    captured = capsys.readouterr()
    warning = "annexa: warning: evidence breaks its schema and counts as defective: document file:"
    assert warning in captured.err
    assert "suppliers" in captured.err


def test_an_old_type_name_is_read_as_the_new_one_keeping_the_stored_id() -> None:
    from datetime import UTC, datetime

    item = Evidence(
        kind="document",
        source="file:governance/risk-method.md",
        scope={"source": "governance"},
        collector="documents 0.1.0",
        collected_at=datetime(2025, 1, 1, tzinfo=UTC),
        data={"type": "ai-risk-assessment-procedure", "extra": {"cost_centre": "CC-1"}},
    )
    new = upgraded(item)
    assert new.data["type"] == "ai-risk-assessment-methodology"
    assert (new.data["metadata"], new.data["extra"]) == ({}, {"cost_centre": "CC-1"})
    assert new.id == item.id
    record = dataclasses.replace(item, data={**item.data, "type": "ai-system-record"})
    moved = upgraded(dataclasses.replace(record, data={**record.data, "extra": {"suppliers": ["OpenAI"]}}))
    assert moved.data["metadata"]["suppliers"] == ["OpenAI"]
    assert moved.data["metadata"]["intended_use"] is None  # each declared field present
    assert moved.data["extra"] == {}
    current = upgraded(moved)
    assert current is moved  # today's shape is read as it is
