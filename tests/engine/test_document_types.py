"""RuleCode.document_types: the document types a rule's code can visit, by which streamed evaluation loads
documents (annexa.app.streaming). A type is given only where every iteration over documents the code makes
is narrowed by a leading `v.type == "..."`; anything else may visit any document (None)."""

from __future__ import annotations

import functools

import pytest

from annexa.app.wiring import kind_registry, make_host
from annexa.contract.kinds import KindRegistry
from annexa.lang.language import compile_rules
from annexa.lang.ruleset import RuleSource


@functools.cache
def _kinds() -> KindRegistry:
    return kind_registry(make_host(), {})


def types_of(require: str, loop: str = "for each s in ai_system") -> frozenset[str] | None:
    text = f'control A.5.2 "T" {{\n  rule r "R" {{\n    {loop}\n    require {require}\n  }}\n}}\n'
    (rule,) = compile_rules([RuleSource("t.rule", text)], _kinds()).rules
    return rule.code.document_types


@pytest.mark.parametrize(
    ("require", "expected"),
    [
        # Under the key of the subject, narrowed by the leading type: near misses too.
        ('exists d in document where d.type == "ai-policy" and s.id in d.ai_systems', {"ai-policy"}),
        ('exists d in document where "ai-policy" == d.type and d.status == "approved"', {"ai-policy"}),
        # The type as the key itself, and two quantifiers: their types together.
        (
            'exists d in document where d.type == "ai-policy" and '
            'exists p in document where p.type == "policy" and p.id in d.related_policies',
            {"ai-policy", "policy"},
        ),
        ('count(d in document where d.type == "ai-policy") >= 1', {"ai-policy"}),
        ('all d in document where d.type == "policy" satisfy d.status == "approved"', {"policy"}),
        # The type test not first: a conjunct before it runs on documents of every type.
        ('exists d in document where s.id in d.ai_systems and d.type == "ai-policy"', None),
        ('exists d in document where d.status == "approved"', None),
        ('exists d in document where d.type in ["ai-policy", "policy"]', None),
        ('exists d in document where d.type != "ai-policy"', None),
        # One narrowed iteration and one not: any document.
        (
            'exists d in document where d.type == "ai-policy" and exists e in document where e.status == "x"',
            None,
        ),
        # No document read at all.
        ('s.id != ""', frozenset()),
    ],
)
def test_document_types_of_the_rules_iterations(require: str, expected: set[str] | None) -> None:
    assert types_of(require) == (None if expected is None else frozenset(expected))


def test_a_for_each_over_documents_is_narrowed_by_its_leading_type() -> None:
    assert types_of('d.status == "approved"', 'for each d in document where d.type == "ai-policy"') == {
        "ai-policy"
    }
    assert types_of('d.status == "approved"', "for each d in document where d.status != null") is None
    assert types_of('d.status == "approved"', "for each d in document") is None


def test_the_built_in_pack_names_the_types_of_every_rule_reading_documents() -> None:
    # What lets streamed evaluation hold one group's documents at a time (1,000,000 items: issue 21).
    from annexa.app.wiring import compile_pack

    ruleset = compile_pack([], _kinds(), {}, make_host())
    untyped = [r.id for r in ruleset.rules if "document" in r.kinds and r.code.document_types is None]
    assert untyped == []
