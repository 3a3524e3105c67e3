"""Redaction: planted secrets never reach the store's files; facts about secrets stay readable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annexa.model.evidence import Evidence
from annexa.store import open_store, verify_store
from annexa.store.redaction import is_secret_key, redact_all, redact_evidence, redact_text

AKIA = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END RSA PRIVATE KEY-----"
DB_PASSWORD = "hunter2-Corr3ct-Horse"
TAG_PASSWORD = "s3cr3t-tag-value"
URL_PASSWORD = "pa55w0rdInUrl"
QUERY_TOKEN = "qtok-998877665544"

SECRETS = (AKIA, AWS_SECRET, JWT, GITHUB, SLACK, "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo", DB_PASSWORD,
           TAG_PASSWORD, URL_PASSWORD, QUERY_TOKEN)  # fmt: skip


def planted() -> Evidence:
    return Evidence(
        kind="aws.sagemaker.endpoint",
        source="arn:aws:sagemaker:eu-west-1:123456789012:endpoint/fraud",
        scope={"account": "123456789012", "region": "eu-west-1"},
        collector="aws 0.3.0",
        collected_at=datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        data={
            "name": "fraud",
            "container": {
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud:1.4",
                "environment": {
                    "DB_PASSWORD": DB_PASSWORD,
                    "AWS_ACCESS_KEY_ID": AKIA,
                    "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
                    "MLFLOW_TRACKING_URI": f"https://svc:{URL_PASSWORD}@mlflow.internal:5000",
                    "LOG_LEVEL": "info",
                    "TOKEN_ENV": "GITHUB_TOKEN",
                },
                "env_list": [
                    {"name": "SLACK_TOKEN", "value": SLACK},
                    {"name": "REGION", "value": "eu-west-1"},
                ],
            },
            "tags": {"environment": "production", "password": TAG_PASSWORD, "owner": "ml-platform"},
            "tag_list": [{"Key": "api_key", "Value": "k-12345"}, {"Key": "team", "Value": "fraud"}],
            "description": f"call with Authorization: Bearer {JWT} or ?token={QUERY_TOKEN}&x=1",
            "notes": [f"deploy key {GITHUB}", PEM],
            "password_policy": {
                "minimum_password_length": 14,
                "require_symbols": True,
                "password_reuse_prevention": 24,
            },
            "password_last_used": "2026-11-01T00:00:00Z",
            "model_sha": "3f786850e387550fdab836ed7e6dc881de23001b",
            "max_tokens": 4096,
            "empty_secret": "",
        },
    )


def test_planted_secrets_are_redacted_and_structure_kept() -> None:
    result = redact_evidence(planted())
    data: Any = result.evidence.data
    env = data["container"]["environment"]
    assert env["DB_PASSWORD"] == "[REDACTED:secret_field]"
    assert env["AWS_ACCESS_KEY_ID"] == "[REDACTED:aws_access_key_id]"
    assert env["AWS_SECRET_ACCESS_KEY"] == "[REDACTED:secret_field]"
    assert env["MLFLOW_TRACKING_URI"] == "https://svc:[REDACTED:url_credentials]@mlflow.internal:5000"
    assert env["LOG_LEVEL"] == "info"
    assert env["TOKEN_ENV"] == "GITHUB_TOKEN"  # names a variable, holds no secret
    assert data["container"]["env_list"] == [
        {"name": "SLACK_TOKEN", "value": "[REDACTED:secret_field]"},
        {"name": "REGION", "value": "eu-west-1"},
    ]
    assert data["tags"] == {
        "environment": "production",
        "password": "[REDACTED:secret_field]",
        "owner": "ml-platform",
    }
    assert data["tag_list"][0] == {"Key": "api_key", "Value": "[REDACTED:secret_field]"}
    assert data["tag_list"][1] == {"Key": "team", "Value": "fraud"}
    assert data["description"] == (
        "call with Authorization: Bearer [REDACTED:jwt] or ?token=[REDACTED:secret_assignment]&x=1"
    )
    assert data["notes"] == ["deploy key [REDACTED:github_token]", "[REDACTED:private_key]"]
    # Facts about secrets that rules read stay as they were.
    assert data["password_policy"] == {
        "minimum_password_length": 14,
        "require_symbols": True,
        "password_reuse_prevention": 24,
    }
    assert data["password_last_used"] == "2026-11-01T00:00:00Z"
    assert data["model_sha"] == "3f786850e387550fdab836ed7e6dc881de23001b"  # hex digests are not AWS keys
    assert data["max_tokens"] == 4096
    assert data["empty_secret"] == ""
    assert result.count == 11
    assert result.evidence.id != planted().id
    # Idempotent: redacting again finds nothing and returns the very same item.
    again = redact_evidence(result.evidence)
    assert again.count == 0
    assert again.evidence is result.evidence


def test_secrets_never_reach_the_store_files(tmp_path: Path) -> None:
    root = tmp_path / ".annexa"
    store = open_store(root)
    (stored,) = store.put_evidence([planted()])
    blob = b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    for secret in SECRETS:
        assert secret.encode() not in blob, secret
    assert b"[REDACTED:" in blob
    assert store.load_evidence(stored.id) == stored
    assert verify_store(store).ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {AKIA} used", "key [REDACTED:aws_access_key_id] used"),
        ("ASIAY34FZKBOKMUTVV7A", "[REDACTED:aws_access_key_id]"),
        (AWS_SECRET, "[REDACTED:aws_secret_access_key]"),
        ("password=hunter2; user=bob", "password=[REDACTED:secret_assignment]; user=bob"),
        ("API_KEY: abc123", "API_KEY: [REDACTED:secret_assignment]"),
        ("bearer abcdefgh12345678", "bearer [REDACTED:bearer_token]"),
        (SLACK, "[REDACTED:slack_token]"),
        ("https://hooks.slack.com/services/T000/B000/XXXX", "[REDACTED:slack_webhook]"),
        ("-----BEGIN PRIVATE KEY-----\nMIIB", "[REDACTED:private_key]"),
        ("postgres://app:pw@db:5432/x", "postgres://app:[REDACTED:url_credentials]@db:5432/x"),
        ("plain text with token count 5", "plain text with token count 5"),
        ("git 3f786850e387550fdab836ed7e6dc881de23001b", "git 3f786850e387550fdab836ed7e6dc881de23001b"),
        ("arn:aws:iam::123456789012:role/AROAEXAMPLEID", "arn:aws:iam::123456789012:role/AROAEXAMPLEID"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text)[0] == expected


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True),
        ("apiKey", True),
        ("client_secret", True),
        ("GITHUB_TOKEN", True),
        ("private_key", True),
        ("credentials", True),
        ("password_last_used", False),
        ("minimum_password_length", False),
        ("token_env", False),
        ("secret_arn", False),
        ("max_tokens", False),
        ("environment", False),
        ("keyboard", False),
    ],
)
def test_is_secret_key(name: str, secret: bool) -> None:
    assert is_secret_key(name) is secret


def test_redact_all_counts_and_keeps_clean_items() -> None:
    clean = Evidence(
        kind="document",
        source="governance/policy.pdf",
        scope={"store": "local"},
        collector="documents 0.1.0",
        collected_at=datetime(2026, 11, 22, tzinfo=UTC),
        data={"title": "AI policy"},
    )
    items, count = redact_all([clean, planted()])
    assert items[0] is clean
    assert count == 11


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=60),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["password", "token", "name", "value", "x", "apiKey", "Key"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(_json, st.sampled_from(["", f"token={QUERY_TOKEN} ", AKIA, JWT]))
def test_redaction_is_idempotent(data: Any, planted_text: str) -> None:
    item = Evidence(
        kind="k.x",
        source="s",
        scope={},
        collector="c 1",
        collected_at=datetime(2026, 1, 1, tzinfo=UTC),
        data={"payload": data, "text": planted_text + "tail"},
    )
    once = redact_evidence(item)
    twice = redact_evidence(once.evidence)
    assert twice.count == 0
    assert twice.evidence == once.evidence
    for secret in (QUERY_TOKEN, AKIA, JWT):
        assert secret not in str(once.evidence.data["text"])


# Every secret shape redact_text recognises in free text, whatever the key it sits under.
PLANT = (f"{AKIA} {AWS_SECRET} {JWT} {GITHUB} {SLACK} {PEM} password={DB_PASSWORD} "
         f"https://ci:{URL_PASSWORD}@db.example.org/x Bearer {QUERY_TOKEN}")  # fmt: skip


def _string_paths(schema: Any, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every place a string can sit in data valid under ``schema``: keys, ``[]`` for a list element."""
    if not isinstance(schema, dict):
        return []
    found: list[tuple[object, ...]] = []
    types = schema.get("type", [])
    if "string" in (types if isinstance(types, list) else [types]) or "enum" in schema:
        found.append(path)
    for name, inner in schema.get("properties", {}).items():
        found += _string_paths(inner, (*path, name))
    if isinstance(schema.get("additionalProperties"), dict):
        found += _string_paths(schema["additionalProperties"], (*path, "undeclared_note"))
    if isinstance(schema.get("items"), dict):
        found += _string_paths(schema["items"], (*path, []))
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []) + schema.get("allOf", []):
        found += _string_paths(branch, path)
    return found


def _planted_at(path: tuple[object, ...], text: str) -> Any:
    if not path:
        return text
    step, rest = path[0], path[1:]
    return [_planted_at(rest, text)] if isinstance(step, list) else {step: _planted_at(rest, text)}


def test_a_secret_planted_in_any_string_field_of_any_kind_is_redacted() -> None:
    """The store's fast paths (the canonical-bytes prefilter, the walk skipping numbers and booleans) never
    skip a string field: a secret in any string of any kind's schema, enums and digest-patterned fields
    included (evidence that breaks its schema is stored too, as a defective item), never reaches the
    stored bytes, and neither does one in the source, a scope value or a defect."""
    from annexa.app.wiring import kind_registry, make_host
    from annexa.store.redaction import redact_for_storage

    kinds = kind_registry(make_host(autoload=False))
    cores = [s for s in SECRETS if s not in (TAG_PASSWORD,)]  # TAG_PASSWORD needs a tag's name
    checked = 0
    for kind in kinds.kinds:
        paths = _string_paths(kinds.schema(kind))
        assert paths, kind  # every kind has string fields: a schema walk that finds none is broken
        for path in paths:
            item = Evidence(kind=kind, source="arn:aws:x", scope={"account": "1"}, collector="t 1",
                            collected_at=datetime(2026, 11, 22, tzinfo=UTC),
                            data=_planted_at(path, PLANT))  # fmt: skip
            stored, digest, payload = redact_for_storage(item)
            assert stored is not item, (kind, path)
            assert stored.id == digest, (kind, path)
            leaked = [s for s in cores if s in payload.decode()]
            assert not leaked, (kind, path, leaked)
            checked += 1
        envelope = Evidence(kind=kind, source=f"s3://x {PLANT}", scope={"account": PLANT},
                            collector="t 1", collected_at=datetime(2026, 11, 22, tzinfo=UTC), data={},
                            defect=PLANT)  # fmt: skip
        payload = redact_for_storage(envelope)[2].decode()
        assert not [s for s in cores if s in payload], kind
    assert checked > 200  # the walk reached the fields of all the kinds


@pytest.mark.parametrize(
    ("text", "maybe"),
    [
        ("a" * 64, False),  # a digest: lower-case hex, however long
        ("Ab1/" * 9 + "Ab1", False),  # 39 characters of a key's alphabet: one short
        ("Ab1/" * 10, True),  # 40: could be a bare AWS secret key
        ("x " + "Ab1/" * 10 + " y", True),
        ("ab1/" * 10 + "-" + "AB", False),  # the upper-case letters are in another run
    ],
)
def test_the_stored_form_prefilter_finds_every_run_a_bare_aws_key_could_be(text: str, maybe: bool) -> None:
    from annexa.store.redaction import needs_redaction

    assert needs_redaction(f'{{"data":{{"note":"{text}"}}}}'.encode()) is maybe
