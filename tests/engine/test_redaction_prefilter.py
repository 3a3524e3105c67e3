"""Redaction looks for what each pattern needs before running it: exactly the texts the patterns match
are redacted, as when every pattern ran on every text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annexa.store import redaction

FRAGMENTS = st.sampled_from(
    [
        "password", "PassWord", " = ", ":", "=", "hunter2", "Bearer ", "bEaReR ", "abcdefgh12345678",
        "AKIA", "ASIA", "ABCDEFGHIJKLMNOP", "ghp_", "github_pat_", "x" * 30, "xoxb-", "1234567890",
        "https://", "user:pw@host", "hooks.slack.com/services/T0/B0/XYZ", "eyJhbGciOi", ".", "eyJzdWIi",
        "-----BEGIN RSA PRIVATE KEY-----", "MIIB", "-----END RSA PRIVATE KEY-----", "wJalrXUtnFEMI/K7MDENG",
        "/bPxRfiCYEXAMPLEKEY", "Ab1", " ", "\n", "é", "token:", "api-key=", "[REDACTED:jwt]",
        "pa\u017fsword=", "TOKEN",  # a long s: (?i) matches it with s, str.lower() does not
    ]
)  # fmt: skip


def _any_pattern(text: str) -> bool:
    patterns = [pattern for _, pattern, _ in redaction._PATTERNS]
    return any(p.search(text) for p in patterns) or redaction._AWS_SECRET.search(text) is not None


@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(FRAGMENTS, max_size=8))
def test_the_prefilter_passes_exactly_the_texts_a_pattern_matches(parts: list[str]) -> None:
    text = "".join(parts)
    assert redaction._may_hold_secret(text) == _any_pattern(text), text


VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(0, 9), st.lists(FRAGMENTS, max_size=3).map("".join)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["name", "value", "password", "note", "Key", "api_key_id", "x"]), inner
        ),
    ),
    max_leaves=10,
)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(st.sampled_from(["name", "value", "password", "env", "tags", "t"]), VALUES))
def test_data_with_nothing_to_redact_is_left_as_it_is_and_the_rest_is_redacted_as_before(data: dict) -> None:  # type: ignore[type-arg]
    walked, count = redaction.redact_data(data)
    if not redaction._mapping_may_need(data, False):
        assert (walked, count) == (data, 0)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.dictionaries(
        st.sampled_from(["name", "value", "password", "env", "tags", "t", "apiKey"]), VALUES
    ),
    source=st.lists(FRAGMENTS, max_size=3).map("".join),
)
def test_an_item_the_store_keeps_as_it_is_has_nothing_to_redact(data: dict, source: str) -> None:  # type: ignore[type-arg]
    from datetime import UTC, datetime

    from annexa.model.evidence import Evidence

    item = Evidence(kind="k", source=source or "s", scope={"account": source}, collector="c 1",
                    collected_at=datetime(2026, 1, 1, tzinfo=UTC), data=data)  # fmt: skip
    kept, digest, payload = redaction.redact_for_storage(item)
    expected = redaction.redact_evidence(item).evidence
    assert kept == expected
    assert (digest, payload) == (expected.id, expected.canonical())
    if not redaction.needs_redaction(item.canonical()):
        assert redaction.redact_evidence(item).count == 0
