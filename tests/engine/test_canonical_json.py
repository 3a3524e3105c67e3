"""canonical_json (orjson where it provably writes json's bytes) against its definition, json.dumps.

Evidence ids are the SHA-256 of these bytes and every stored item is verified against its id, so the fast
writer must give the very bytes of the reference for every value, and raise where the reference raises.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from annexa.model.evidence import Evidence, canonical_json, reference_canonical_json

PROPERTY = settings(max_examples=700, deadline=None, suppress_health_check=list(HealthCheck))


class Text(str):
    pass


class Number(int):
    pass


class Mapping_(dict[str, Any]):
    pass


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Name(enum.StrEnum):
    ALICE = "alice"


# Every code point, lone surrogates and control characters included.
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()))
TEXT = st.one_of(
    st.text(),
    ANY_TEXT,
    st.text(
        st.sampled_from(["\x00", "\x1f", "\x7f", '"', "\\", "/", "\u2028", "\ufeff", "\uffff", "\U0001f600"])
    ),
)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(-(2**64), 2**64),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30]),
    st.floats(),  # NaN and the infinities included: json refuses them, so must canonical_json
    st.sampled_from([1e-05, 1e16, 1e15, 0.1, -0.0, 5e-324, 1.0, 123456789012345678.0]),
)
ODD = st.one_of(
    TEXT.map(Text),
    st.integers().map(Number),
    st.sampled_from([Colour.RED, Level.HIGH, Name.ALICE, uuid.UUID(int=7), Decimal("1.5")]),
    st.sampled_from([date(2026, 1, 2), datetime(2026, 1, 2, tzinfo=UTC), b"bytes", {1, 2}]),
)
LEAVES = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
KEYS = st.one_of(TEXT, st.integers(), st.booleans(), st.none(), st.floats(), TEXT.map(Text))


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=6).map(tuple),
        st.dictionaries(TEXT, children, max_size=6),
        st.dictionaries(KEYS, children, max_size=4),
        st.dictionaries(TEXT, children, max_size=4).map(Mapping_),
        st.dictionaries(TEXT, children, max_size=4).map(OrderedDict),
    )


JSONISH = st.recursive(LEAVES, containers, max_leaves=40)
ANYTHING = st.recursive(st.one_of(LEAVES, ODD), containers, max_leaves=40)


def outcome(write: Any, value: Any) -> tuple[str, object]:
    """What ``write`` gives for ``value``: its bytes, or the type and message of what it raised."""
    try:
        return "bytes", write(value)
    except (TypeError, ValueError, RecursionError) as error:  # UnicodeEncodeError is a ValueError
        return type(error).__name__, str(error)


@PROPERTY
@given(JSONISH)
@example({"\uffff": 1, "\U00010000": 2, "z": 3, "é": 4})  # code point order, not UTF-16's
@example({"a": [1, {"b": None, "a": True}], "n": 2**64 - 1, "m": -(2**63)})
@example({"x": 1e-05, "y": [float("nan")]})
@example({"s": "\ud800"})
@example([{"deep": [[[[[]]]]]}])
def test_same_bytes_as_json_for_json_values(value: Any) -> None:
    assert outcome(canonical_json, value) == outcome(reference_canonical_json, value)


@PROPERTY
@given(ANYTHING)
@example({"k": uuid.UUID(int=7)})  # orjson writes UUIDs, enums and dates; json refuses them
@example({"k": Colour.RED})
@example({"k": [Level.HIGH, Name.ALICE]})
@example({"k": date(2026, 1, 2)})
@example(Mapping_(b=1, a=2))
def test_same_bytes_or_same_error_for_any_value(value: Any) -> None:
    assert outcome(canonical_json, value) == outcome(reference_canonical_json, value)


def test_nesting_deeper_than_orjson_takes_is_written_by_json() -> None:
    value: Any = "leaf"
    for _ in range(400):
        value = [value]
    assert canonical_json(value) == reference_canonical_json(value)
    value = {"a": {}}
    value["a"]["self"] = value
    assert outcome(canonical_json, value) == outcome(reference_canonical_json, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [True, None, "é\n"]}, b'{"a":[true,null,"\xc3\xa9\\n"],"b":1}'),
        ({"x": 1e-05, "y": 1e16}, b'{"x":1e-05,"y":1e+16}'),
        ({"big": 2**70}, b'{"big":1180591620717411303424}'),
    ],
)
def test_known_bytes(value: Any, expected: bytes) -> None:
    assert canonical_json(value) == expected


def test_evidence_ids_are_those_recorded_before() -> None:
    """An id as every earlier annexa computed it (json.dumps): stored items keep verifying."""
    item = Evidence.from_dict(
        {
            "kind": "aws.s3_bucket",
            "source": "arn:aws:s3:::models-ü",
            "scope": {"region": "eu-west-1", "account": "123456789012"},
            "collector": "aws 0.3.0",
            "collected_at": "2026-11-23T00:00:00Z",
            "data": {"name": "models", "versioning": True, "tags": {"z": "1", "a": None}, "size": 2**40},
        }
    )
    payload = reference_canonical_json(item.to_dict())
    assert item.canonical() == payload
    assert item.id == hashlib.sha256(payload).hexdigest() == GOLDEN_ID
    with_float = Evidence.from_dict({**item.to_dict(), "data": {"ratio": 1e-05}})
    assert with_float.canonical() == reference_canonical_json(with_float.to_dict())
    assert b'"ratio":1e-05' in with_float.canonical()


# The id as json.dumps gave it before canonical_json used orjson.
GOLDEN_ID = "ec0338995d1b1ffa0d032fcc9b84bf16f69c7e79012f539287ce61b18dee1df4"
