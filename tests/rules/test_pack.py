"""Meta-tests of the built-in Annex A rule pack as a whole (test_fixtures.py checks each rule's verdicts).

The base pack (``builtin:annex_a``) must compile cleanly against the evidence kinds of the built-in
collectors alone, every rule must have a pass and a fail fixture, and every Annex A control must be either
ruled or listed with a reason in NOT_AUTOMATED.yaml: no silent gaps. The optional inventory add-on
(``builtin:annex_a/inventory``) reads the example plugin's ``inventory.ai_system`` kind; it is compiled on
top of the base pack and its fixtures are run here, because the generic runner knows only the base pack.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from annexa.app.ruletest import discover, run_case
from annexa.app.wiring import kind_registry, make_host
from annexa.contract.catalog import load_catalog
from annexa.contract.kinds import KindRegistry
from annexa.lang.language import compile_rules, load_rule_sources
from annexa.lang.ruleset import RuleSet

REPO = Path(__file__).resolve().parents[2]
BASE_FIXTURES = Path(__file__).resolve().parent / "annex_a"
ADDON_FIXTURES = Path(__file__).resolve().parent / "annex_a_inventory"
EXAMPLE_PLUGIN = REPO / "plugins" / "example" / "annexa_inventory" / "__init__.py"
BASE = "builtin:annex_a"
ADDON = "builtin:annex_a/inventory"
CONTROL_ID = re.compile(r"\bA\.\d+(?:\.\d+)+\b")
ADDON_CASES = discover([str(ADDON_FIXTURES)]) if ADDON_FIXTURES.is_dir() else []


def _example_plugin_kinds() -> Mapping[str, Mapping[str, Any]]:
    """Kinds of the example inventory plugin, loaded from its source (it is a separate distribution)."""
    spec = importlib.util.spec_from_file_location("annexa_inventory_for_pack_tests", EXAMPLE_PLUGIN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kinds: dict[str, Mapping[str, Any]] = {}
    for collector in module.annexa_collectors():
        kinds.update(collector.kinds)
    return kinds


@pytest.fixture(scope="module")
def builtin_kinds() -> KindRegistry:
    return kind_registry(make_host(autoload=False))


@pytest.fixture(scope="module")
def inventory_kinds() -> KindRegistry:
    return kind_registry(make_host(autoload=False), extra=_example_plugin_kinds())


@pytest.fixture(scope="module")
def ruleset(builtin_kinds: KindRegistry) -> RuleSet:
    return compile_rules(load_rule_sources([BASE]), builtin_kinds)


@pytest.fixture(scope="module")
def with_addon(inventory_kinds: KindRegistry) -> RuleSet:
    return compile_rules(load_rule_sources([BASE, ADDON]), inventory_kinds)


def _pack_folder() -> Path:
    return Path(str(resources.files("annexa.rules").joinpath("annex_a")))


def _rule_files() -> list[Path]:
    folder = _pack_folder()
    return sorted([*folder.glob("*.rule"), *(folder / "inventory").glob("*.rule")])


def _not_automated() -> list[dict[str, Any]]:
    entries = yaml.safe_load((_pack_folder() / "NOT_AUTOMATED.yaml").read_text(encoding="utf-8"))
    assert isinstance(entries, list), "NOT_AUTOMATED.yaml holds a list of {control, reason} entries"
    return entries


def test_base_pack_compiles_without_diagnostics(ruleset: RuleSet) -> None:
    # Errors raise DiagnosticError in the fixture; warnings (unused bindings, missing messages) land here.
    assert [str(d) for d in ruleset.diagnostics] == []
    assert len(ruleset.rules) >= 38


def test_base_pack_reads_only_builtin_kinds(ruleset: RuleSet, builtin_kinds: KindRegistry) -> None:
    """A default install (no plugins) must be able to run the whole base pack."""
    assert ruleset.kinds_read == {
        "ai_system",  # the declared scope (the built-in scope collector)
        "document",
        "attestation",
        "model_card",
        "mlflow.registered_model",
        "mlflow.model_version",
        "mlflow.run",
        "aws.sagemaker_model_package",
        "aws.sagemaker_model",
        "aws.sagemaker_endpoint",
        "aws.sagemaker_monitoring_schedule",
        "aws.sagemaker_training_job",
        "aws.s3_bucket",
        "aws.account",
        "aws.cloudtrail_trail",
        "aws.log_group",
    }
    assert ruleset.kinds_read <= set(builtin_kinds.kinds)


def test_addon_compiles_on_top_of_the_base_pack(with_addon: RuleSet, ruleset: RuleSet) -> None:
    assert [str(d) for d in with_addon.diagnostics] == []
    added = [rule for rule in with_addon.rules if rule.id not in {r.id for r in ruleset.rules}]
    assert added, "the inventory add-on defines rules"
    for rule in added:
        assert "inventory.ai_system" in rule.kinds, f"{rule.id} belongs in the base pack"
        assert rule.name.startswith("inventory_"), f"{rule.id}: add-on rule names start with inventory_"


def test_every_rule_names_a_valid_control(with_addon: RuleSet) -> None:
    valid = set(load_catalog().ids)
    assert sorted({rule.control_id for rule in with_addon.rules} - valid) == []


def test_rule_texts_mention_only_valid_control_ids() -> None:
    """Attestation rules select by control id in a string: a typo there would silently never match."""
    valid = set(load_catalog().ids)
    wrong = {
        (path.name, found)
        for path in _rule_files()
        for found in CONTROL_ID.findall(path.read_text(encoding="utf-8"))
        if found not in valid
    }
    assert sorted(wrong) == []


def test_attestation_rules_ask_for_their_own_control() -> None:
    for path in _rule_files():
        if path.name == "params.rule":
            continue
        control = "A." + ".".join(path.stem.split("_")[1:])
        for asked in re.findall(r'\.control == "([^"]+)"', path.read_text(encoding="utf-8")):
            assert asked == control, f"{path.name} asks for attestations of {asked}"


def test_one_control_per_file_and_params_in_one_place() -> None:
    for path in _rule_files():
        text = path.read_text(encoding="utf-8")
        controls = re.findall(r"^control\s+(\S+)", text, flags=re.MULTILINE)
        params = re.findall(r"^param\s+(\w+)", text, flags=re.MULTILINE)
        if path.name == "params.rule":
            assert path.parent == _pack_folder()
            assert controls == [], "params.rule holds parameters only"
            assert params, "params.rule declares the pack's parameters"
        else:
            assert re.fullmatch(r"a(_\d+)+", path.stem), f"unexpected rule file {path.name}"
            assert len(controls) == 1, f"{path.name} must hold exactly one control"
            assert params == [], f"{path.name}: declare parameters in params.rule"


def test_every_rule_is_documented(with_addon: RuleSet) -> None:
    for rule in with_addon.rules:
        assert rule.title != rule.name.replace("_", " "), f"{rule.id} has no title"
        assert rule.remediation, f"{rule.id} has no remediation"


def test_every_catalog_control_is_ruled_or_explained(ruleset: RuleSet) -> None:
    # The base pack alone must cover the catalog: the add-on is optional.
    catalog_ids = set(load_catalog().ids)
    assert len(catalog_ids) == 38
    ruled = set(ruleset.rules_by_control())
    explained: set[str] = set()
    for entry in _not_automated():
        assert set(entry) == {"control", "reason"}, entry
        assert entry["control"] in catalog_ids, f"NOT_AUTOMATED.yaml names unknown control {entry['control']}"
        assert str(entry["reason"]).strip(), f"{entry['control']} needs a reason"
        explained.add(entry["control"])
    assert sorted(ruled & explained) == [], "a control cannot be both ruled and not automated"
    assert sorted(catalog_ids - ruled - explained) == []


def test_every_rule_has_pass_and_fail_fixtures(with_addon: RuleSet, ruleset: RuleSet) -> None:
    base = {rule.id for rule in ruleset.rules}
    missing = [
        f"{rule.id}: {name}"
        for rule in with_addon.rules
        for name in ("pass.yaml", "fail.yaml")
        if not (
            (BASE_FIXTURES if rule.id in base else ADDON_FIXTURES) / rule.control_id / rule.name / name
        ).is_file()
    ]
    assert missing == []


@pytest.mark.parametrize("folder", [BASE_FIXTURES, ADDON_FIXTURES], ids=["base", "inventory"])
def test_fixtures_belong_to_existing_rules(folder: Path, with_addon: RuleSet) -> None:
    """A renamed rule must take its fixtures along; stale fixture folders would test nothing."""
    known = {rule.id for rule in with_addon.rules}
    for path in sorted(folder.glob("*/*/*.yaml")):
        assert path.stem in ("pass", "fail", "not_applicable", "inconclusive"), path
        declared = yaml.safe_load(path.read_text(encoding="utf-8"))["rule"]
        assert declared == f"{path.parent.parent.name}/{path.parent.name}", path
        assert declared in known, f"{path} tests unknown rule {declared}"


@pytest.mark.parametrize("case", ADDON_CASES, ids=[str(p.relative_to(ADDON_FIXTURES)) for p in ADDON_CASES])
def test_inventory_addon_case(case: Path, inventory_kinds: KindRegistry) -> None:
    result = run_case(case, [BASE, ADDON], inventory_kinds, _ADDON_CACHE)
    assert result.passed, "\n".join(result.problems)


_ADDON_CACHE: dict[Any, RuleSet] = {}  # one compile of base + add-on per parameter set, shared by the cases


# --- issue 6: coverage of the 38 controls, not-applicable fixtures, the main-body clauses pack ----------

CLAUSES = "builtin:clauses"
CLAUSE_FIXTURES = Path(__file__).resolve().parent / "clauses"
CLAUSE_CASES = discover([str(CLAUSE_FIXTURES)]) if CLAUSE_FIXTURES.is_dir() else []
_CLAUSE_CACHE: dict[Any, RuleSet] = {}


def _can_be_not_applicable(rule: Any) -> bool:
    """Only `allow empty when ...` can make a rule not applicable: an empty selection alone never does."""
    return rule.allow_empty is not None


def test_every_annex_a_control_has_a_rule(ruleset: RuleSet) -> None:
    missing = sorted(set(load_catalog().ids) - set(ruleset.rules_by_control()))
    assert missing == [], f"Annex A controls without any rule: {missing}"


def test_every_rule_that_can_be_not_applicable_has_a_not_applicable_fixture(ruleset: RuleSet) -> None:
    """Each rule file's owner adds the fixture; the list names the file to look at. Fixtures the other
    rules cannot pass (they are never not applicable) must not exist."""
    expected = {rule.id: _can_be_not_applicable(rule) for rule in ruleset.rules}
    wrong = [
        f"{rule.id} (rules/annex_a/{rule.control_id.lower().replace('.', '_')}.rule): "
        f"tests/rules/annex_a/{rule.control_id}/{rule.name}/not_applicable.yaml "
        + ("is missing" if expected[rule.id] else "cannot pass: the rule has no `allow empty when`")
        for rule in ruleset.rules
        if expected[rule.id]
        != (BASE_FIXTURES / rule.control_id / rule.name / "not_applicable.yaml").is_file()
    ]
    assert wrong == [], "not_applicable fixtures:\n  " + "\n  ".join(wrong)


def _statuses(ruleset: RuleSet, evidence: tuple[Any, ...]) -> dict[str, set[tuple[str, str | None]]]:
    from annexa.app.ruletest import DEFAULT_NOW
    from annexa.lang.evaluator import evaluate

    found: dict[str, set[tuple[str, str | None]]] = {rule.id: set() for rule in ruleset.rules}
    for finding in evaluate(ruleset, evidence, now=DEFAULT_NOW, collected=dict.fromkeys(ruleset.kinds_read)):
        found[finding.rule_id].add((finding.status.value, finding.subject))
    return found


def test_nothing_collected_is_never_a_pass(ruleset: RuleSet) -> None:
    """Every kind collected and empty: no rule passes or is not applicable (verdicts.md, "Empty sets")."""
    wrong = {
        rule_id: sorted(statuses, key=str)
        for rule_id, statuses in _statuses(ruleset, ()).items()
        if not statuses or {status for status, _ in statuses} - {"fail", "inconclusive"}
    }
    assert wrong == {}


def test_a_declared_system_without_evidence_fails_every_per_system_rule(ruleset: RuleSet) -> None:
    """A system in the declared scope with nothing about it is a finding on that system, in every rule that
    iterates over the scope (verdicts.md, "Where the set of subjects comes from")."""
    from annexa.app.ruletest import DEFAULT_NOW
    from annexa.model.evidence import Evidence

    system = Evidence(
        kind="ai_system",
        source="scope:orphan",
        scope={},
        collector="scope 0.1.0",
        collected_at=DEFAULT_NOW,
        data={
            "id": "orphan",
            "name": None,
            "owner": "Nobody",
            "lifecycle_stage": "operation",
            "declared_in": "t",
        },
    )
    per_system = [rule for rule in ruleset.rules if rule.subject_kind == "ai_system"]
    assert len(per_system) >= 10, "per-system rules must iterate over the declared scope (ai_system)"
    found = _statuses(ruleset, (system,))
    wrong = {rule.id: found[rule.id] for rule in per_system if ("fail", "scope:orphan") not in found[rule.id]}
    assert wrong == {}


# Kinds whose items a user can delete, demote or garble: a rule that takes its subjects from them would
# improve when a failing one is removed. Subjects come from the declared scope or from machine-collected
# inventories (cloud accounts, registries) instead; the exceptions below say what keeps them sound.
_DELETABLE_KINDS = frozenset({"document", "model_card", "dataset_card", "attestation"})
SUBJECTS_FROM_DOCUMENTS: Mapping[str, str] = {}


def test_subjects_come_from_the_declared_scope_not_from_deletable_evidence(ruleset: RuleSet) -> None:
    wrong = sorted(
        rule.id
        for rule in ruleset.rules
        if rule.subject_kind in _DELETABLE_KINDS and rule.id not in SUBJECTS_FROM_DOCUMENTS
    )
    assert wrong == [], "iterate over `ai_system` (or state why not in SUBJECTS_FROM_DOCUMENTS)"


@pytest.fixture(scope="module")
def with_clauses(builtin_kinds: KindRegistry) -> RuleSet:
    return compile_rules(load_rule_sources([BASE, CLAUSES]), builtin_kinds)


def test_clauses_pack_compiles_and_names_only_clauses(with_clauses: RuleSet, ruleset: RuleSet) -> None:
    assert [str(d) for d in with_clauses.diagnostics] == []
    base = {rule.id for rule in ruleset.rules}
    clause_rules = [rule for rule in with_clauses.rules if rule.id not in base]
    assert {rule.control_id for rule in clause_rules} == set(load_catalog().clause_ids)
    assert all(rule.title and rule.remediation for rule in clause_rules)
    assert not set(load_catalog().clause_ids) & {rule.control_id for rule in ruleset.rules}


def test_every_clause_rule_has_pass_and_fail_fixtures(with_clauses: RuleSet, ruleset: RuleSet) -> None:
    base = {rule.id for rule in ruleset.rules}
    missing = [
        f"{rule.id}: {name}"
        for rule in with_clauses.rules
        if rule.id not in base
        for name in ("pass.yaml", "fail.yaml")
        if not (CLAUSE_FIXTURES / rule.control_id / rule.name / name).is_file()
    ]
    assert missing == []


@pytest.mark.parametrize(
    "case", CLAUSE_CASES, ids=[str(p.relative_to(CLAUSE_FIXTURES)) for p in CLAUSE_CASES]
)
def test_clause_case(case: Path, builtin_kinds: KindRegistry) -> None:
    result = run_case(case, [BASE, CLAUSES], builtin_kinds, _CLAUSE_CACHE)
    assert result.passed, "\n".join(result.problems)


def test_every_rule_names_the_catalog_evidence_it_checks(with_addon: RuleSet) -> None:
    """A rule's weight (primary or supporting) comes from the catalog signals it names (verdicts.md)."""
    assert [rule.id for rule in with_addon.rules if not rule.evidence] == []
    assert {rule.weight for rule in with_addon.rules} == {"primary", "supporting"}


SHARED_CATALOG = REPO.parent / "shared" / "reference" / "annex_a_catalog.yaml"


@pytest.mark.skipif(not SHARED_CATALOG.is_file(), reason="the reference catalog lies beside the checkout")
def test_the_packaged_evidence_signals_are_the_reference_catalogs() -> None:
    reference = yaml.safe_load(SHARED_CATALOG.read_text(encoding="utf-8"))
    expected = {
        (c["id"], e["id"], e["weight"])
        for c in reference["controls"]
        for e in c.get("automatable_evidence", [])
    }
    packaged = {(c.id, e.id, e.weight) for c in load_catalog().controls for e in c.evidence}
    assert packaged == expected
