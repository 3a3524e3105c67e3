"""Every rule test case under tests/rules/annex_a/ passes against the built-in rule pack (style D.10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from annexa.diagnostics import DiagnosticError
from annexa.kinds import KindRegistry
from annexa.language import RuleSet
from annexa.ruletest import discover, run_case
from annexa.wiring import DEFAULT_RULES, kind_registry, make_host

CASES_DIR = Path(__file__).parent / "annex_a"
CASES = discover([str(CASES_DIR)]) if CASES_DIR.is_dir() else []


@pytest.fixture(scope="module")
def builtin_kinds() -> KindRegistry:
    # Built-in collectors only: an installed third-party plugin must not change what the pack means.
    return kind_registry(make_host(autoload=False))


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
