"""Rule conditions worded for a user (annexa.lang.wording, issue 16): what kept a near miss out, in terms
of the document's own fields, never as rule-language text."""

from __future__ import annotations

import pytest

from annexa.lang.wording import condition, item_var, reason, sought

CURRENT = [
    'd.type == "ai-policy"',
    'd.status == "approved"',
    "age(d.last_reviewed) <= review_period"
    " or (d.last_reviewed == null and age(d.approved_on) <= review_period)",
]


@pytest.mark.parametrize(
    ("conjunct", "result", "data", "expected"),
    [
        ('d.type == "ai-policy"', False, {}, "its type is not ai-policy"),
        ('d.status == "approved"', False, {}, "its status is not approved"),
        (
            'd.metadata.out_of_scope_use matches "\\\\S"',
            False,
            {},
            "its `out_of_scope_use` metadata is empty",
        ),
        (
            'd.metadata.out_of_scope_use matches "\\\\S"',
            None,
            {"metadata": {"out_of_scope_use": None}},
            "its `out_of_scope_use` metadata is not given",
        ),
        ('d.extra["cost_centre"] == "CC-1"', False, {}, 'its own `cost_centre` field is not "CC-1"'),
        ("d.next_review_due >= now", False, {}, "its `next_review_due` is in the past"),
        ("len(d.ai_systems) > 0", False, {}, "its `ai_systems` is empty"),
        ('"support-chatbot" in d.ai_systems', False, {}, 'its `ai_systems` does not list "support-chatbot"'),
        (
            'exists h in d.headings where lower(h) contains "rollback" and h not in d.empty_sections',
            False,
            {},
            'it has no filled section whose heading contains "rollback"',
        ),
        (
            CURRENT[2],
            None,
            {"last_reviewed": None, "approved_on": None},
            "its `last_reviewed` and its `approved_on` are not given",
        ),
    ],
)
def test_a_reason_is_worded_from_the_items_fields(
    conjunct: str, result: bool | None, data: dict[str, object], expected: str
) -> None:
    assert reason(conjunct, result, data, "d", None) == expected


def test_the_item_is_the_variable_the_conditions_are_about() -> None:
    assert item_var(CURRENT) == "d"
    assert item_var(['r.type == "ai-system-record"', "s.id in r.ai_systems"]) == "r"


def test_the_subject_and_nested_items_are_named_by_kind() -> None:
    worded = reason(
        'all x in r.metadata.suppliers satisfy exists d in document where d.type == "supplier-assessment" '
        "and d.metadata.supplier == x and s.id in d.ai_systems",
        False,
        {},
        "r",
        "ai_system",
    )
    assert worded == (
        "for some entry of its `suppliers` metadata, there is no document of which that document's type is "
        "supplier-assessment and that document's `supplier` metadata is the entry and that document's "
        "`ai_systems` lists the ai system's `id`"
    )


def test_what_was_sought_and_when_empty_is_accepted() -> None:
    assert sought('document where d.type == "ai-policy" and d.status == "approved"') == (
        "a document of which its type is ai-policy and its status is approved"
    )
    assert sought("ai_system") == "an ai system"
    assert condition('exists c in model_card where c.owner == "registry"') == (
        'there is a model card of which that model card\'s `owner` is "registry"'
    )


def test_text_that_does_not_parse_is_worded_generically() -> None:
    assert reason("d.type ==", False, {}, "d", None) == "it does not meet the rule's condition"
