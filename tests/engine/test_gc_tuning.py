"""Reading a bundle and evaluating tune the cyclic garbage collector for their own run only: whatever
the caller had (enabled or not, thresholds, a freeze of its own) is what it has afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from annexa.lang.language import KindRegistry, compile_rules, evaluate
from annexa.lang.ruleset import RuleSource
from annexa.model.evidence import Bundle, Evidence, read_bundle, write_bundle

NOW = datetime(2026, 11, 23, tzinfo=UTC)
RULE = 'control A.6.2.6 "docs" {\n  rule named {\n    for each m in mv\n    require m.name != null\n  }\n}\n'


@pytest.fixture
def restored() -> Iterator[None]:
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    gc.unfreeze()  # an in-process `annexa evaluate` run before froze what it loaded
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    (gc.enable if enabled else gc.disable)()


def _items(count: int) -> list[Evidence]:
    return [
        Evidence(
            kind="mv", source=f"mv-{i}", scope={}, collector="t 1", collected_at=NOW, data={"name": None}
        )
        for i in range(count)
    ]


@pytest.mark.usefixtures("restored")
@pytest.mark.parametrize("enabled", [True, False])
def test_reading_a_bundle_leaves_the_collector_as_it_was(tmp_path: Path, enabled: bool) -> None:
    path = tmp_path / "b.jsonl"
    write_bundle(path, Bundle(evidence=tuple(_items(3))))
    (gc.enable if enabled else gc.disable)()
    assert len(read_bundle(path).evidence) == 3
    assert gc.isenabled() is enabled
    with pytest.raises(Exception, match="cannot read"):
        read_bundle(tmp_path / "absent.jsonl")
    assert gc.isenabled() is enabled


@pytest.mark.usefixtures("restored")
def test_evaluation_restores_thresholds_and_freezes_only_its_own() -> None:
    ruleset = compile_rules([RuleSource("t.rule", RULE)], KindRegistry({"mv": {"type": "object"}}))
    gc.set_threshold(700, 10, 10)
    assert gc.get_freeze_count() == 0
    findings = evaluate(ruleset, _items(5), now=NOW, collected={"mv": None})
    assert [f.status.value for f in findings] == ["fail"] * 5
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0  # its freeze undone
    gc.freeze()  # a caller's own freeze stays
    frozen = gc.get_freeze_count()
    evaluate(ruleset, _items(5), now=NOW, collected={"mv": None})
    assert gc.get_freeze_count() == frozen
