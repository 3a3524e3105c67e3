"""The compiled validator (jsonschema-rs) never accepts what jsonschema rejects, and every message and
path for broken evidence is still jsonschema's own."""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
import pytest
from conftest import NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annexa.app.wiring import make_host
from annexa.contract import validation
from annexa.contract.kinds import KindRegistry
from annexa.contract.validation import DataValidator, data_validator
from annexa.model.evidence import Evidence

HANDMADE: dict[str, dict[str, Any]] = {
    "numbers": {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 0, "exclusiveMaximum": 10},
            "x": {"type": ["number", "null"]},
            "flag": {"enum": [1, True, "yes", None]},
            "tags": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True},
            "id": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,8}$"},
            "account": {"type": "string", "pattern": "^\\d{3}$"},
        },
        "required": ["n"],
        "additionalProperties": False,
        "dependentRequired": {"x": ["flag"]},
    },
    "choices": {
        "oneOf": [
            {"type": "object", "properties": {"kind": {"const": "a"}}, "required": ["kind"]},
            {"type": "object", "properties": {"kind": {"const": "b"}, "v": {"type": "boolean"}}},
        ],
        "$defs": {"s": {"type": "string"}},
        "properties": {"name": {"$ref": "#/$defs/s"}},
    },
}


@functools.cache
def builtin_schemas() -> dict[str, dict[str, Any]]:
    return {
        kind: dict(schema)
        for spec in make_host().collectors().values()
        for kind, schema in spec.kinds.items()
    }


STRINGS = st.sampled_from(["", "a", "abc", "x_1", "Ab", "123", "٣٣٣", "2026-01-01", "yes", "b", "a\n"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 12), st.sampled_from([1.0, 2.5, 2**70, -0.0]), STRINGS
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "kind", "v"]), inner, max_size=2)
    ),
    max_leaves=6,
)


def instances(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by ``schema``: valid but for patterns, formats and bounds."""
    if not isinstance(schema, dict) or depth > 4:
        return JSON
    if "enum" in schema:
        shaped: st.SearchStrategy[Any] = st.sampled_from(schema["enum"])
    elif "const" in schema:
        shaped = st.just(schema["const"])
    else:
        declared = schema.get("type")
        names = [declared] if isinstance(declared, str) else list(declared or ["object"])
        options = []
        for name in names:
            if name == "object":
                props = schema.get("properties") or {}
                needed = set(schema.get("required") or ())
                options.append(
                    st.fixed_dictionaries(
                        {key: instances(props.get(key, {}), depth + 1) for key in sorted(needed)},
                        optional={
                            k: instances(sub, depth + 1) for k, sub in props.items() if k not in needed
                        },
                    )
                )
            elif name == "array":
                options.append(st.lists(instances(schema.get("items", {}), depth + 1), max_size=3))
            elif name == "string":
                options.append(STRINGS)
            elif name in ("integer", "number"):
                options.append(st.integers(-2, 12) | st.sampled_from([0.5, 3.0, 2**70]))
            elif name == "boolean":
                options.append(st.booleans())
            elif name == "null":
                options.append(st.none())
        shaped = st.one_of(*options) if options else JSON
    return shaped


def _broken(value: Any, key: str, replacement: Any) -> Any:
    if isinstance(value, dict):
        return {**value, key: replacement}
    return value


def objects(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Mostly valid values, the same with one field replaced by any JSON value, and shapeless ones."""
    keys = st.sampled_from([*(schema.get("properties") or {}), "extra"])
    return st.one_of(
        instances(schema),
        st.builds(_broken, instances(schema), keys, JSON),
        st.dictionaries(keys, JSON, max_size=4),
    )


def _messages(validator: Any, data: Any) -> list[tuple[list[Any], str]]:
    return sorted((list(map(str, e.absolute_path)), e.message) for e in validator.iter_errors(data))


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_validator_agrees_with_jsonschema(data: st.DataObject) -> None:
    schemas = {**builtin_schemas(), **HANDMADE}
    kind = data.draw(st.sampled_from(sorted(schemas)))
    schema = schemas[kind]
    value = data.draw(objects(schema))
    reference = jsonschema.Draft202012Validator(schema)
    fast = data_validator(schema, jsonschema.Draft202012Validator)
    assert _messages(fast, value) == _messages(reference, value), kind


def test_built_in_kinds_are_accelerated() -> None:
    if validation.jsonschema_rs is None:
        pytest.skip("jsonschema-rs is not installed")
    slow = [kind for kind, schema in builtin_schemas().items() if not data_validator(schema).accelerated]
    assert slow == []
    assert data_validator(HANDMADE["numbers"]).accelerated


@pytest.mark.parametrize("pattern", ["^\\s+$", "^[^a]$", "\\bword\\b", "(?i)abc", "^\\D$", "^(?=a)"])
def test_patterns_where_the_regex_dialects_differ_go_to_jsonschema(pattern: str) -> None:
    schema = {"type": "string", "pattern": pattern}
    assert not DataValidator(schema, jsonschema.Draft202012Validator).accelerated


def test_remote_refs_and_unknown_keywords_go_to_jsonschema() -> None:
    assert not DataValidator(
        {"$ref": "https://example.org/s.json"}, jsonschema.Draft202012Validator
    ).accelerated
    assert not DataValidator({"unevaluatedProperties": False}, jsonschema.Draft202012Validator).accelerated


def test_kind_registry_keeps_its_messages() -> None:
    kinds = KindRegistry({"numbers": HANDMADE["numbers"]})
    item = Evidence(
        kind="numbers", source="s", scope={}, collector="t 1", collected_at=NOW,
        data={"n": 10, "tags": ["a", "a"], "id": "Bad", "extra": 1},
    )  # fmt: skip
    assert kinds.validate(item) == [
        "(data): Additional properties are not allowed ('extra' was unexpected)",
        "id: 'Bad' does not match '^[a-z][a-z0-9_-]{0,8}$'",
        "n: 10 is greater than or equal to the maximum of 10",
        "tags: ['a', 'a'] has non-unique elements",
    ]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "strin"},
        {"type": "string", "pattern": "(?<name>a)"},  # ECMA-262 named group: not a Python regex
        {"type": "string", "minLength": -1},
        {"properties": {"a": {"type": 3}}},
        {"required": "a"},
        {"patternProperties": {"(": {}}},
    ],
)
def test_a_broken_schema_gets_jsonschemas_own_error(schema: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.SchemaError) as expected:
        jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(jsonschema.SchemaError) as found:
        validation.check_schema(schema, jsonschema.Draft202012Validator)
    assert (found.value.message, list(found.value.absolute_path)) == (
        expected.value.message,
        list(expected.value.absolute_path),
    )


def test_valid_schemas_pass_the_fast_check() -> None:
    for schema in [*builtin_schemas().values(), *HANDMADE.values()]:
        jsonschema.Draft202012Validator.check_schema(schema)
        validation.check_schema(schema, jsonschema.Draft202012Validator)
    if validation.jsonschema_rs is not None:
        assert all(
            validation._meta_valid_fast(schema, jsonschema.Draft202012Validator)
            for schema in builtin_schemas().values()
        )
