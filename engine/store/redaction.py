"""Secrets out of evidence before it is stored: pure functions, no I/O.

Collectors describe resources, and resources carry secrets by accident: a container's environment holds
``DB_PASSWORD``, a tag holds a token, a description holds a pasted key. The store keeps evidence forever
and hands it to auditors, so every secret is replaced by ``[REDACTED:<reason>]`` before it is written.
The structure is kept (same keys, same list lengths) so rules that ask "is there a password set?" still
see a non-empty value, and redaction is idempotent, so redacting stored evidence again changes nothing.

Numbers and booleans under secret-looking keys are kept: ``minimum_password_length: 14`` or
``require_password: true`` are configuration facts that rules read, not secrets.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from annexa.model.evidence import Evidence, JSONValue

MARK_PREFIX: Final = "[REDACTED:"

# (reason, pattern, group to replace: 0 = the whole match). Order matters: private key blocks first so
# their base64 body is not cut up by the token patterns.
_PATTERNS: Final[tuple[tuple[str, re.Pattern[str], int], ...]] = (
    (
        "private_key",
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL
        ),
        0,
    ),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), 0),
    ("bearer_token", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)"), 1),
    ("aws_access_key_id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"), 0),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})\b"), 0),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), 0),
    ("slack_webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+"), 0),
    ("url_credentials", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@]+:([^\s/@]+)@"), 1),
    (
        "secret_assignment",
        re.compile(
            r"(?i)\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key"
            r"|client[_-]?secret)\s*[=:]\s*([^\s&;,'\"]+)"
        ),
        1,
    ),
)

# A bare 40-character AWS secret access key: mixed case and digits, so git SHAs and hex digests
# (lower-case hex) are never taken for one.
_AWS_SECRET: Final = re.compile(
    r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])"
    r"(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
)

_SECRET_WORDS: Final = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "apikey", "credential", "credentials", "passphrase"}
)
_SECRET_PAIRS: Final = frozenset({("api", "key"), ("private", "key"), ("access", "key"), ("auth", "key")})
# A key ending in one of these describes a secret (when it was used, how long it must be, which
# variable holds it), it does not hold one.
_METADATA_WORDS: Final = frozenset(
    {
        "last", "used", "length", "age", "policy", "enabled", "required", "count", "expires", "expiry",
        "expiration", "at", "date", "time", "set", "type", "env", "name", "names", "arn", "id", "ids",
        "version", "rotation", "rotated", "status", "present", "exists", "configured", "file", "path",
        "url", "uri", "ref", "reuse", "prevention", "hint", "ttl", "max", "min", "kind", "field", "header",
        "source", "provider", "method", "enforced", "days", "changed", "created", "updated",
    }
)  # fmt: skip
_NAME_KEYS: Final = ("name", "key", "Name", "Key")
_VALUE_KEYS: Final = ("value", "Value")


@dataclass(frozen=True, slots=True)
class Redaction:
    """The redacted item and how many values were replaced (0: ``evidence`` is the input itself)."""

    evidence: Evidence
    count: int


@functools.lru_cache(maxsize=8192)
def is_secret_key(name: str) -> bool:
    """Whether a mapping key or variable name (``DB_PASSWORD``, ``apiKey``) names a secret value."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    words = [word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word]
    if not words or words[-1] in _METADATA_WORDS:
        return False
    if any(word in _SECRET_WORDS for word in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def _mark(reason: str) -> str:
    return f"{MARK_PREFIX}{reason}]"


# What each pattern needs in a text before it can match there (its literal parts; "bearer" with the
# pattern's own case rule). Tested with substring searches, a fraction of a regex scan, so that the
# patterns run only on the few texts that have what they need; the bare AWS secret key needs 40 characters.
_BEARER_WORD: Final = re.compile(r"(?i)bearer")
_NEEDS: Final[dict[str, Callable[[str], bool]]] = {
    "private_key": lambda text: "-----BEGIN" in text,
    "jwt": lambda text: "eyJ" in text,
    "bearer_token": lambda text: _BEARER_WORD.search(text) is not None,
    "aws_access_key_id": lambda text: "AKIA" in text or "ASIA" in text,
    "github_token": lambda text: "gh" in text or "github_pat_" in text,
    "slack_token": lambda text: "xox" in text,
    "slack_webhook": lambda text: "hooks.slack.com" in text,
    "url_credentials": lambda text: "://" in text and "@" in text,
    "secret_assignment": lambda text: "=" in text or ":" in text,
}
_CHECKS: Final = tuple((_NEEDS[reason], pattern) for reason, pattern, _ in _PATTERNS)
_MARKS: Final = {reason: f"{MARK_PREFIX}{reason}]" for reason, _, _ in _PATTERNS}
_AWS_SECRET_MARK: Final = f"{MARK_PREFIX}aws_secret_access_key]"


def _may_hold_secret(text: str) -> bool:
    """Whether any pattern matches ``text`` (then :func:`redact_text` runs them all, as it always did)."""
    if text.isascii():  # where lower() agrees with the patterns' case-insensitive matching
        low = text.lower()
        if not (
            "key" in low or "passw" in low or "pwd" in low or "secret" in low or "token" in low
            or "bearer" in low or "://" in text or "eyJ" in text or "AKIA" in text or "ASIA" in text
            or "gh" in text or "github_pat_" in text or "xox" in text or "-----BEGIN" in text
        ):  # fmt: skip
            # None of the patterns' literals (secret_assignment's words, "bearer", the prefixes): only a
            # bare AWS secret key could be there, and it needs 40 characters.
            return len(text) >= 40 and _AWS_SECRET.search(text) is not None
    for needs, pattern in _CHECKS:
        if needs(text) and pattern.search(text) is not None:
            return True
    return len(text) >= 40 and _AWS_SECRET.search(text) is not None


def redact_text(text: str) -> tuple[str, int]:
    """Replace secret-looking substrings; returns the new text and the number of replacements."""
    if not _may_hold_secret(text):
        return text, 0
    count = 0
    for reason, pattern, group in _PATTERNS:
        mark = _MARKS[reason]

        def replace(match: re.Match[str], group: int = group, mark: str = mark) -> str:
            nonlocal count
            secret = match.group(group)
            if secret.startswith(MARK_PREFIX):
                return match.group(0)  # already redacted: keeps redaction idempotent
            count += 1
            start, end = match.span(group)
            offset = match.start(0)
            whole = match.group(0)
            return whole[: start - offset] + mark + whole[end - offset :]

        text = pattern.sub(replace, text)
    text, extra = _AWS_SECRET.subn(_AWS_SECRET_MARK, text)
    return text, count + extra


def _redact_value(value: JSONValue, secret: bool) -> tuple[JSONValue, int]:
    if isinstance(value, str):
        if secret and value and not value.startswith(MARK_PREFIX):
            return _mark("secret_field"), 1
        return redact_text(value)
    if isinstance(value, list):
        total = 0
        items: list[JSONValue] = []
        for element in value:
            new, count = _redact_value(element, secret)
            items.append(new)
            total += count
        return items, total
    if isinstance(value, dict):
        return _redact_mapping(value, secret)
    return value, 0  # numbers, booleans and null are facts about a secret, never the secret


def _redact_mapping(mapping: Mapping[str, JSONValue], secret: bool) -> tuple[dict[str, JSONValue], int]:
    total = 0
    result: dict[str, JSONValue] = {}
    # {"name": "DB_PASSWORD", "value": "..."}: the ECS environment and AWS tag-list shapes.
    named = next((mapping[k] for k in _NAME_KEYS if isinstance(mapping.get(k), str)), None)
    pair_secret = isinstance(named, str) and is_secret_key(named)
    for key, value in mapping.items():
        key_secret = secret or is_secret_key(key) or (pair_secret and key in _VALUE_KEYS)
        new, count = _redact_value(value, key_secret)
        result[key] = new
        total += count
    return result, total


def _may_need(value: JSONValue, secret: bool) -> bool:
    """Whether :func:`_redact_value` could change ``value``: the same walk, without building copies (nearly
    every item has nothing to redact, and building its data again cost more than looking)."""
    if isinstance(value, str):
        return bool(secret and value and not value.startswith(MARK_PREFIX)) or _may_hold_secret(value)
    if isinstance(value, list):
        return any(_may_need(element, secret) for element in value)
    if isinstance(value, dict):
        return _mapping_may_need(value, secret)
    return False


def _mapping_may_need(mapping: Mapping[str, JSONValue], secret: bool) -> bool:
    named = next((mapping[k] for k in _NAME_KEYS if isinstance(mapping.get(k), str)), None)
    pair_secret = isinstance(named, str) and is_secret_key(named)
    return any(
        _may_need(value, secret or is_secret_key(key) or (pair_secret and key in _VALUE_KEYS))
        for key, value in mapping.items()
    )


def redact_data(data: Mapping[str, JSONValue]) -> tuple[dict[str, JSONValue], int]:
    """Redact an evidence ``data`` mapping: secret-named keys and secret-looking strings."""
    return _redact_mapping(data, False)


def redact_evidence(item: Evidence) -> Redaction:
    """Redact ``data`` (keys and patterns) and ``source``/``scope``/``defect`` (patterns: URL credentials,
    keys)."""
    data, count = redact_data(item.data) if _mapping_may_need(item.data, False) else (item.data, 0)
    source, source_count = redact_text(item.source)
    scope: dict[str, str] = {}
    for key, value in item.scope.items():
        scope[key], scope_count = redact_text(value)
        source_count += scope_count
    defect = item.defect
    if defect is not None:  # a parse error may quote the broken line, secret and all
        defect, defect_count = redact_text(defect)
        source_count += defect_count
    total = count + source_count
    if total == 0:
        return Redaction(item, 0)
    redacted = Evidence(
        kind=item.kind,
        source=source,
        scope=scope,
        collector=item.collector,
        collected_at=item.collected_at,
        data=dict(data),
        defect=defect,
    )
    return Redaction(redacted, total)


# Upper-case letters to "U", the rest of an AWS secret key's alphabet to "a", everything else to " ".
_RUN_MAP: Final = bytes(
    0x55 if 65 <= c <= 90 else 0x61 if (97 <= c <= 122 or 48 <= c <= 57 or c in (0x2B, 0x2F)) else 0x20
    for c in range(256)
)
# In the translated form with a space put in front: a run (the characters between two spaces) of 40 or more
# that holds an upper-case letter. The search jumps from space to space; at each, the lookahead gives up
# within 40 characters and ``a*U`` within the run, so it reads each character a bounded number of times.
_LONG_RUN_WITH_UPPER: Final = re.compile(rb" (?=[aU]{40})a*U")


def needs_redaction(canonical: bytes) -> bool:
    """False only when :func:`redact_evidence` would return the item unchanged, judged on its canonical
    JSON (which a store computes anyway, for the id and the file): ASCII, none of the words a secret key
    name or a pattern needs (lower-cased), none of the patterns' literal prefixes, and no run of 40 or more
    characters of an AWS secret key's alphabet holding an upper-case letter. True means "maybe": the item
    then goes through :func:`redact_evidence` as always."""
    if not canonical.isascii():
        return True
    low = canonical.lower()
    # Written out rather than any() over a tuple: the generator cost as much as the searches themselves.
    if (
        b"key" in low or b"passw" in low or b"pwd" in low or b"secret" in low or b"token" in low
        or b"bearer" in low or b"credential" in low or b"passphrase" in low
        or b"://" in canonical or b"eyJ" in canonical or b"AKIA" in canonical or b"ASIA" in canonical
        or b"ghp_" in canonical or b"gho_" in canonical or b"ghu_" in canonical or b"ghs_" in canonical
        or b"ghr_" in canonical or b"github_pat_" in canonical or b"xox" in canonical
        or b"-----BEGIN" in canonical
    ):  # fmt: skip
        return True
    runs = canonical.translate(_RUN_MAP)
    return b"U" in runs and _LONG_RUN_WITH_UPPER.search(b" " + runs) is not None


# What is skipped, and why that is safe. (1) A whole item, when needs_redaction says no: every pattern
# and every secret key name needs one of the literals it looks for (lower-cased where the pattern ignores
# case; any non-ASCII byte sends the item down the full path), and the bare AWS key needs a 40-character
# run with an upper-case letter, so no string of the item can match. (2) Within an item, a value that is a
# number, a boolean or null (its own type at run time, see _redact_value): redaction never replaces
# those. Nothing is skipped by a field's type in the kind's schema (a boolean flag, an enum, a digest
# pattern): the store keeps items that break their schema too (a defective item is evidence as well), so
# the schema does not prove what a field holds; checking that it does would cost what the prefilter costs.
# tests/engine/test_redaction.py plants a secret in every string field of every kind's schema.
def redact_for_storage(item: Evidence) -> tuple[Evidence, str, bytes]:
    """The item as a store keeps it (redacted), with its id and canonical bytes, serialised once when
    there is nothing to redact (nearly always)."""
    digest, payload = item.stored_form()
    if not needs_redaction(payload):
        return item, digest, payload
    redacted = redact_evidence(item).evidence
    if redacted is item:
        return item, digest, payload
    return redacted, *redacted.stored_form()


def redact_all(items: Iterable[Evidence]) -> tuple[tuple[Evidence, ...], int]:
    """Redact every item; returns the items (same order) and the total number of replacements."""
    results = [redact_evidence(item) for item in items]
    return tuple(r.evidence for r in results), sum(r.count for r in results)
