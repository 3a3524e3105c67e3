"""Fuzz: a damaged configuration or evidence bundle gives a located error message, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annexa.app.wiring import make_host
from annexa.model.diagnostics import DiagnosticError
from annexa.model.evidence import EvidenceFormatError, read_bundle
from annexa.plugins.config import load_config

E = TypeVar("E", bound=Exception)
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIG = (EXAMPLES / "annexa.yaml").read_text(encoding="utf-8")
HOST = make_host(autoload=False)
BUNDLE = (
    '{"annexa_bundle": 1, "collected": {"document": null}, "schemas": {"document": {"type": "object"}}}\n'
    '{"kind": "document", "source": "file:a.md", "scope": {}, "collector": "documents 1",'
    ' "collected_at": "2026-11-23T00:00:00Z", "data": {"id": "POL-1", "status": "approved"}}\n'
)


@st.composite
def mutated(draw: st.DrawFn, text: str, alphabet: str) -> str:
    for _ in range(draw(st.integers(1, 5))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        width = draw(st.integers(1, 12))
        action = draw(st.sampled_from(["delete", "duplicate", "insert"]))
        if action == "delete":
            text = text[:at] + text[at + width :]
        elif action == "duplicate":
            text = text[:at] + text[at : at + width] * 2 + text[at + width :]
        else:
            text = text[:at] + draw(st.sampled_from(list(alphabet))) + text[at:]
    return text


def refusal(action: Callable[[], object], expected: type[E]) -> E | None:
    """The expected error ``action`` raised, or None; any other exception fails the test."""
    try:
        action()
    except expected as error:
        return error
    return None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(mutated(CONFIG, ":-{}[]\"'&*!|>#@ \n\t0123456789xyz"))
def test_damaged_configuration(scratch: Path, text: str) -> None:
    path = scratch / "annexa.yaml"
    path.write_text(text, encoding="utf-8")
    refused = refusal(lambda: load_config(path, HOST), DiagnosticError)
    if refused is not None:
        assert refused.diagnostics
        assert "annexa.yaml" in refused.render()


@FUZZ
@given(mutated(BUNDLE, '{}[]":,\n 0123456789nulltruefalse'))
def test_damaged_bundle(scratch: Path, text: str) -> None:
    path = scratch / "bundle.jsonl"
    path.write_text(text, encoding="utf-8")
    refused = refusal(lambda: read_bundle(path), EvidenceFormatError)
    assert refused is None or "bundle.jsonl:" in str(refused)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_bundle(scratch: Path, data: bytes) -> None:
    path = scratch / "bundle.jsonl"
    path.write_bytes(data)
    refused = refusal(lambda: read_bundle(path), EvidenceFormatError)
    assert refused is None or "bundle.jsonl:" in str(refused)


def test_a_bundle_line_that_is_not_utf8_is_located(scratch: Path) -> None:
    path = scratch / "latin1.jsonl"
    path.write_bytes(BUNDLE.encode() + b'{"kind": "caf\xe9"}\n')
    with pytest.raises(EvidenceFormatError, match=r"latin1\.jsonl:3:14: not UTF-8 text \(byte 0xe9\)"):
        read_bundle(path)
