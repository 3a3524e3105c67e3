"""Scope drift: evidence naming an AI system outside the declared scope is reported, not judged or dropped."""

from __future__ import annotations

from typing import Any

from conftest import NOW

from annexa.app.result import build_result, render_text
from annexa.model.evidence import Evidence
from annexa.model.observations import scope_drift


def item(kind: str, source: str, data: dict[str, Any], defect: str | None = None) -> Evidence:
    return Evidence(
        kind=kind, source=source, scope={}, collector="t 1", collected_at=NOW, data=data, defect=defect
    )


def system(system_id: str) -> Evidence:
    return item("ai_system", f"scope:{system_id}", {"id": system_id})


def test_evidence_naming_an_undeclared_system_is_scope_drift() -> None:
    evidence = [
        system("fraud"),
        system("chat"),
        item("document", "file:a.md", {"ai_systems": ["fraud", "legacy-ranker", "pricing"]}),
        item("document", "file:b.md", {"ai_systems": ["chat"]}),
        item("mlflow.registered_model", "mlflow://r/models/x", {"ai_system": "pricing"}),
        item("document", "file:broken.md", {}, defect="bad front matter"),
    ]
    found = scope_drift(evidence)
    assert [(o.code, o.evidence.source) for o in found] == [
        ("scope_drift", "file:a.md"),
        ("scope_drift", "mlflow://r/models/x"),
    ]
    assert found[0].message == (
        "document file:a.md names AI system(s) legacy-ranker, pricing, outside the declared scope "
        "(chat, fraud): add them to scope.ai_systems or correct the evidence"
    )


def test_no_declared_scope_no_drift() -> None:
    """Without a scope there is nothing to drift from; the undeclared scope is reported once, elsewhere."""
    assert scope_drift([item("document", "file:a.md", {"ai_systems": ["anything"]})]) == ()


def test_observations_are_shown_in_the_text_report() -> None:
    (observation,) = scope_drift([system("fraud"), item("document", "file:a.md", {"ai_systems": ["x"]})])
    result = build_result(
        (), {}, now=NOW, ruleset_digest="0" * 64, extra={"observations": [observation.to_dict()]}
    )
    assert "observations:\n  scope_drift: document file:a.md names AI system(s) x, outside" in render_text(
        result
    )
