"""A `where` opening with ``inner.key == outer.path or P`` is a join too, and gives exactly the findings
of visiting every candidate.

Such a disjunction is false on an item whose key is another scalar than the outer value and on which P
is false, whatever else the `where` says: the compiler skips those items, P being worked out once per
evaluation (annexa.lang.compiler.CodeGenerator.either). The differential test compiles the same rules
with that narrowing switched off and requires identical findings, witnesses (in order) included.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from conftest import (
    ALL_COLLECTED,
    NOW,
    build,
    comparable,
    control,
    ev,
    generated_without,
    svc_and_cards,
    svc_rules,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annexa.lang import compiler, runtime
from annexa.lang.language import evaluate
from annexa.lang.ruleset import RuleSet
from annexa.model.findings import Status

REQUIRES = [
    "exists c in model_card where c.model == x.name or c.n >= 2",
    'exists c in model_card where (c.model == x.name or c.owner == "a") and c.n >= 1',
    # P raises on a card whose `updated` is not a date: such a card is always visited.
    "exists c in model_card where (x.name == c.model or age(c.updated) <= 365d) and c.n >= 1",
    # The key in the middle, and the rest of the `where` reading the outer item too.
    'exists c in model_card where (c.n == 3 or c.model == x.owner or c.owner == "b") and c.owner != x.name',
    "count(c in model_card where c.model == x.name or c.n == 0) >= 1",
    'all c in model_card where c.model == x.name or c.owner == "a" satisfy c.n >= 1',
    "not exists c in model_card where c.model == x.name or c.n == 2",
    # A constant join (c.owner == "a") narrowed further by the disjunction.
    'exists c in model_card where (c.model == x.name or c.n >= 2) and c.owner == "a"',
    # Not narrowed: the disjunct reading the outer item is no equality of its own.
    'exists c in model_card where (c.owner == "a" and c.model == x.name) or c.n == 1',
    # The outer item of a nested quantifier (not recorded in the witness).
    'all k in x.labels satisfy exists c in model_card where c.model == k or c.owner == "b"',
]

WORDS = st.sampled_from(["a", "b", "ab"])
SVC = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(WORDS, st.just(["a"])),  # a list: a lookup no index holds
        "owner": WORDS,
        "labels": st.lists(st.one_of(WORDS, st.none()), max_size=2),
    },
)
CARD = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(WORDS, st.just(["a"]), st.none()),  # a list and a null: keys no index holds
        "owner": WORDS,
        "n": st.integers(0, 3),
        "updated": st.sampled_from(["2026-11-01", "2020-01-01", "soon"]),
    },
)


@functools.cache
def _rulesets() -> tuple[RuleSet, RuleSet]:
    """The rules compiled as they are, and with the narrowing switched off."""
    plain = generated_without(REQUIRES, "either", lambda self, expr, kind, iterable, outer: iterable)
    assert not any("_either(" in rule.code.source for rule in plain.rules)
    return build(svc_rules(REQUIRES)), plain


def test_the_narrowing_is_used_where_a_where_opens_with_a_keyed_disjunction() -> None:
    ruleset, _ = _rulesets()
    used = sorted(rule.name for rule in ruleset.rules if "_either(" in rule.code.source)
    assert used == [f"r{n}" for n in range(len(REQUIRES)) if n != 8]


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(services=st.lists(SVC, max_size=4), cards=st.lists(CARD, max_size=6))
def test_narrowed_disjunction_gives_the_findings_of_visiting_every_candidate(
    services: list[dict[str, Any]], cards: list[dict[str, Any]]
) -> None:
    items = svc_and_cards(services, cards)
    fast, plain = _rulesets()
    assert comparable(fast, items) == comparable(plain, items)


def test_a_skipped_item_still_writes_the_outer_value_into_the_witness() -> None:
    """The only effect of a skipped card was the witness entry `x.name`: kept, and at its place."""
    text = control(
        "  rule r {\n    for each x in svc\n"
        "    require exists c in model_card where c.model == x.name or c.n == 1\n  }\n"
    )
    items = [ev("svc", "s", {"name": "a"}), ev("model_card", "c", {"model": "b", "n": 0})]
    (finding,) = evaluate(build(text), items, now=NOW, collected=ALL_COLLECTED)
    assert finding.status is Status.FAIL
    assert list(finding.witness) == ["x.name", "exists c in model_card"]
    assert finding.witness["x.name"] == "a"


def test_null_and_unknown_keys_never_pass_and_keep_the_verdict_unknown() -> None:
    text = control(
        "  rule r {\n    for each x in svc\n"
        "    require not exists c in model_card where c.model == x.name or c.n == 1\n  }\n"
    )
    # A card without a model is unknown for every system (null == "a"), so `not exists` is unknown too;
    # a system without a name likewise. Skipping either would turn the verdict into a pass.
    cases = {
        "null key": ([{"name": "a"}], [{"n": 0}, {"model": "b", "n": 0}]),
        "null lookup": ([{}], [{"model": "b", "n": 0}]),
        "null n": ([{"name": "a"}], [{"model": "b"}]),  # false or unknown: unknown, however the key falls
    }
    for name, (services, cards) in cases.items():
        items = [ev("svc", f"s{i}", d) for i, d in enumerate(services)]
        items += [ev("model_card", f"c{i}", d) for i, d in enumerate(cards)]
        (finding,) = evaluate(build(text), items, now=NOW, collected=ALL_COLLECTED)
        assert finding.status is Status.FAIL, name
    for model in ("b", ["a"]):  # another scalar, or a list (never equal to a string), and P false
        items = [ev("svc", "s", {"name": "a"}), ev("model_card", "c", {"model": model, "n": 0})]
        (finding,) = evaluate(build(text), items, now=NOW, collected=ALL_COLLECTED)
        assert finding.status is Status.PASS  # the disjunction is false, so `not exists` holds


def test_a_keyed_disjunction_costs_one_pass_not_one_per_outer_item(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every account with its own trail, a few organisation trails: candidates grow with the items."""
    visited = 0
    plain_either = runtime.either

    def counting(*args: Any) -> Any:
        nonlocal visited
        found = list(plain_either(*args))
        visited += len(found)
        return found

    monkeypatch.setitem(compiler.RUNTIME_NAMES, "_either", counting)
    text = control(
        "  rule r {\n    for each x in svc\n"
        '    require exists c in model_card where (c.model == x.name or c.owner == "org") and c.n >= 1\n  }\n'
    )
    n = 2000
    items = [ev("svc", f"s{i:05d}", {"name": f"m{i}"}) for i in range(n)]
    items += [
        ev("model_card", f"c{i:05d}", {"model": f"m{i}", "owner": "team", "n": i % 2}) for i in range(n)
    ]
    items += [ev("model_card", f"org{i}", {"model": "org", "owner": "org", "n": 0}) for i in range(3)]
    found = evaluate(build(text), items, now=NOW, collected=ALL_COLLECTED)
    assert visited <= 4 * n
    assert sum(f.status is Status.PASS for f in found) == n // 2
