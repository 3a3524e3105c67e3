"""Every rule test case under tests/rules/annex_a/ passes against the built-in rule pack (style D.10)."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from annexa.app.ruletest import discover, run_case
from annexa.app.wiring import DEFAULT_RULES, kind_registry, make_host
from annexa.contract.kinds import KindRegistry
from annexa.lang.ruleset import RuleSet
from annexa.model.diagnostics import DiagnosticError

CASES_DIR = Path(__file__).parent / "annex_a"
CASES = discover([str(CASES_DIR)]) if CASES_DIR.is_dir() else []


EXAMPLE_PLUGIN = (
    Path(__file__).resolve().parents[2] / "plugins" / "example" / "annexa_inventory" / "__init__.py"
)


def example_plugin_kinds() -> dict[str, Mapping[str, Any]]:
    """Kinds of the example inventory plugin (a separate distribution the pack reads), from its source."""
    spec = importlib.util.spec_from_file_location("annexa_inventory_for_fixture_tests", EXAMPLE_PLUGIN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        kind: schema for collector in module.annexa_collectors() for kind, schema in collector.kinds.items()
    }


@pytest.fixture(scope="module")
def builtin_kinds() -> KindRegistry:
    # Built-in collectors, not autoloaded distributions: whatever happens to be installed must not change
    # what the pack means. The pack also reads inventory.ai_system, which only the example plugin declares.
    return kind_registry(make_host(autoload=False), extra=example_plugin_kinds())


@pytest.fixture(scope="module")
def compiled() -> dict[Any, RuleSet]:
    """Shared compile cache: the pack is compiled once per parameter set, not once per case."""
    return {}


@pytest.mark.parametrize("case", CASES, ids=[str(p.relative_to(CASES_DIR)) for p in CASES])
def test_rule_case(case: Path, builtin_kinds: KindRegistry, compiled: dict[Any, RuleSet]) -> None:
    try:
        result = run_case(case, list(DEFAULT_RULES), builtin_kinds, compiled)
    except DiagnosticError as error:
        rendered = error.render()
    else:
        rendered = ""
    if rendered:  # failed outside the except block so the report is the diagnostics, not a traceback
        pytest.fail(f"the built-in pack does not compile:\n{rendered}", pytrace=False)
    if not result.passed:
        pytest.fail(f"{case} ({result.rule_id}):\n  " + "\n  ".join(result.problems), pytrace=False)
