"""Meta-tests of the built-in Annex A rule pack as a whole (the fixture runner tests each rule's verdicts).

The pack must compile cleanly against the evidence kinds annexa can collect today, every rule must have a
pass and a fail fixture, and every Annex A control must be either ruled or listed with a reason in
NOT_AUTOMATED.yaml: no silent gaps.
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

from annexa.catalog import load_catalog
from annexa.language import KindRegistry, RuleSet, compile_rules, load_rule_sources
from annexa.plugins.manager import PluginHost, make_plugin_manager

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "annex_a"
EXAMPLE_PLUGIN = REPO / "plugins" / "example" / "annexa_inventory" / "__init__.py"
PACK = "builtin:annex_a"
CONTROL_ID = re.compile(r"\bA\.\d+(?:\.\d+)+\b")


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
def kinds() -> KindRegistry:
    host = PluginHost(make_plugin_manager(autoload=False))
    schemas: dict[str, Mapping[str, Any]] = {}
    for spec in host.collectors().values():
        schemas.update(spec.kinds)
    assert {"document", "attestation"} <= schemas.keys(), "built-in collectors must declare these kinds"
    schemas.update(_example_plugin_kinds())
    return KindRegistry(schemas)


@pytest.fixture(scope="module")
def ruleset(kinds: KindRegistry) -> RuleSet:
    return compile_rules(load_rule_sources([PACK]), kinds)


def _pack_folder() -> Path:
    return Path(str(resources.files("annexa.rules").joinpath("annex_a")))


def _not_automated() -> list[dict[str, Any]]:
    entries = yaml.safe_load((_pack_folder() / "NOT_AUTOMATED.yaml").read_text(encoding="utf-8"))
    assert isinstance(entries, list), "NOT_AUTOMATED.yaml holds a list of {control, reason} entries"
    return entries


def test_pack_compiles_without_diagnostics(ruleset: RuleSet) -> None:
    # Errors raise DiagnosticError in the fixture; warnings (unused bindings, missing messages) land here.
    assert [str(d) for d in ruleset.diagnostics] == []
    assert len(ruleset.rules) >= 38


def test_pack_reads_only_kinds_that_exist_today(ruleset: RuleSet) -> None:
    assert ruleset.kinds_read == {"document", "attestation", "inventory.ai_system"}


def test_every_rule_names_a_valid_control(ruleset: RuleSet) -> None:
    valid = set(load_catalog().ids)
    assert sorted({rule.control_id for rule in ruleset.rules} - valid) == []


def test_rule_texts_mention_only_valid_control_ids() -> None:
    """Attestation rules select by control id in a string: a typo there would silently never match."""
    valid = set(load_catalog().ids)
    wrong = {
        (path.name, found)
        for path in sorted(_pack_folder().glob("*.rule"))
        for found in CONTROL_ID.findall(path.read_text(encoding="utf-8"))
        if found not in valid
    }
    assert sorted(wrong) == []


def test_attestation_rules_ask_for_their_own_control() -> None:
    for path in sorted(_pack_folder().glob("a_*.rule")):
        text = path.read_text(encoding="utf-8")
        control = "A." + ".".join(path.stem.split("_")[1:])
        for asked in re.findall(r'\.control == "([^"]+)"', text):
            assert asked == control, f"{path.name} asks for attestations of {asked}"


def test_one_control_per_file_and_params_in_one_place() -> None:
    for path in sorted(_pack_folder().glob("*.rule")):
        text = path.read_text(encoding="utf-8")
        controls = re.findall(r"^control\s+(\S+)", text, flags=re.MULTILINE)
        params = re.findall(r"^param\s+(\w+)", text, flags=re.MULTILINE)
        if path.name == "params.rule":
            assert controls == [], "params.rule holds parameters only"
            assert params, "params.rule declares the pack's parameters"
        else:
            assert re.fullmatch(r"a(_\d+)+", path.stem), f"unexpected rule file {path.name}"
            assert len(controls) == 1, f"{path.name} must hold exactly one control"
            assert params == [], f"{path.name}: declare parameters in params.rule"


def test_every_rule_is_documented(ruleset: RuleSet) -> None:
    for rule in ruleset.rules:
        assert rule.title != rule.name.replace("_", " "), f"{rule.id} has no title"
        assert rule.remediation, f"{rule.id} has no remediation"


def test_every_catalog_control_is_ruled_or_explained(ruleset: RuleSet) -> None:
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


def test_every_rule_has_pass_and_fail_fixtures(ruleset: RuleSet) -> None:
    missing = [
        f"{rule.id}: {name}"
        for rule in ruleset.rules
        for name in ("pass.yaml", "fail.yaml")
        if not (FIXTURES / rule.control_id / rule.name / name).is_file()
    ]
    assert missing == []


def test_fixtures_belong_to_existing_rules(ruleset: RuleSet) -> None:
    """A renamed rule must take its fixtures along; stale fixture folders would test nothing."""
    known = {rule.id for rule in ruleset.rules}
    for path in sorted(FIXTURES.glob("*/*/*.yaml")):
        assert path.stem in ("pass", "fail", "not_applicable", "inconclusive"), path
        declared = yaml.safe_load(path.read_text(encoding="utf-8"))["rule"]
        assert declared == f"{path.parent.parent.name}/{path.parent.name}", path
        assert declared in known, f"{path} tests unknown rule {declared}"
