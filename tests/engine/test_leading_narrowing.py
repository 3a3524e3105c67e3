"""A join whose `where` opens with a constant equality (``c.owner == "a" and c.model == x.name``) skips,
among the items found under the key, those the equality rules out: nothing else of the `where` runs on
them. The differential test evaluates the same rules with that switched off and requires identical
findings, witnesses (in order), evidence and errors."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from conftest import build, comparable, svc_and_cards, svc_rules
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annexa.lang import compiler, runtime
from annexa.lang.ruleset import RuleSet

REQUIRES = [
    'exists c in model_card where c.owner == "a" and c.model == x.name',
    'exists c in model_card where c.owner == "a" and c.model == x.name and age(c.updated) <= 365d',
    'exists c in model_card where c.owner == "a" and x.name == c.model and c.n >= x.n',
    'not exists c in model_card where c.owner == "b" and c.model == x.name and c.n == null',
    'count(c in model_card where c.owner == "a" and c.model == x.name) >= 1',
    # Not narrowed under the key: the constant equality is not the first conjunct (age() may raise first).
    'exists c in model_card where age(c.updated) <= 365d and c.owner == "a" and c.model == x.name',
    'all c in model_card where c.owner == "a" and c.model == x.name satisfy c.n >= 1',
]

WORDS = st.sampled_from(["a", "b", "ab"])
SVC = st.fixed_dictionaries({}, optional={"name": WORDS, "n": st.integers(0, 3)})
CARD = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(WORDS, st.just(["a"])),
        "owner": st.one_of(WORDS, st.none(), st.just(["a"]), st.just(1)),  # null, a list, a number
        "n": st.integers(0, 3),
        "updated": st.sampled_from(["2026-11-01", "2020-01-01", "soon"]),  # "soon": age() raises
    },
)


@functools.cache
def _rulesets() -> tuple[RuleSet, RuleSet]:
    """The rules as compiled, and the same code with the items under the key left as they are."""
    fast = build(svc_rules(REQUIRES))
    plain = build(svc_rules(REQUIRES))
    join = runtime.join_candidates

    def unnarrowed(*args: Any, narrow_all: bool = False, **kwargs: Any) -> Any:
        return join(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(compiler.RUNTIME_NAMES, "_join", unnarrowed)
        for rule in plain.rules:
            _ = rule.code.function  # compiled now, with the join that ignores narrow_all
    return fast, plain


def test_the_items_under_the_key_are_narrowed_only_where_the_equality_comes_first() -> None:
    fast, _ = _rulesets()
    used = sorted(rule.name for rule in fast.rules if "narrow_all=True" in rule.code.source)
    assert used == ["r0", "r1", "r2", "r3", "r4", "r6"]  # count and all too: the `where` is false there


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(services=st.lists(SVC, max_size=4), cards=st.lists(CARD, max_size=6))
def test_narrowing_under_the_key_gives_the_findings_of_visiting_every_candidate(
    services: list[dict[str, Any]], cards: list[dict[str, Any]]
) -> None:
    items = svc_and_cards(services, cards)
    fast, plain = _rulesets()
    assert comparable(fast, items) == comparable(plain, items)


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(services=st.lists(SVC, max_size=4), cards=st.lists(CARD, max_size=6))
def test_the_narrowed_items_are_the_same_whether_filtered_each_time_or_cached(
    services: list[dict[str, Any]], cards: list[dict[str, Any]]
) -> None:
    # The items under one key are filtered afresh when they are few (runtime._FILTERED_UP_TO) and cached
    # per key and value when many; with the threshold at 0 every key takes the cached path.
    items = svc_and_cards(services, cards)
    fast, plain = _rulesets()
    filtered = comparable(fast, items)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runtime, "_FILTERED_UP_TO", 0)
        cached = comparable(fast, items)
    assert filtered == cached == comparable(plain, items)
