"""`annexa evaluate --evidence` in memory keeps of each item only what is read after the bundle is read: the
data fields some rule reads, those the observations read (scope drift, stale and expired evidence) and
the item's id, computed while it is whole. The result must be what the whole items give: the same result
as the streamed evaluation (which observes whole items), the observations those of the reference
functions over the whole bundle, the ids those of the whole items."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from annexa.cli.main import main
from annexa.contract.freshness import DEFAULT_LIMITS, stale_evidence
from annexa.model.evidence import parse_timestamp, read_bundle, read_bundle_header
from annexa.model.observations import scope_drift

NOW = "2026-11-23T00:00:00Z"
OPEN = {"type": "object"}
RULES = (
    'control A.5.2 "Owners" {\n'
    '  rule owned "Every document has an owner" {\n'
    "    for each d in document\n"
    "    require d.owner != null\n"
    '    message "{d.owner}"\n'
    "  }\n"
    '  rule versioned "Buckets keep versions" {\n'
    "    for each b in aws.s3_bucket\n"
    "    require b.versioning == true\n"
    '    message "{b.versioning}"\n'
    "  }\n"
    '  rule named "Cards name their model" {\n'
    "    for each c in model_card\n"
    "    require c.model_name != null\n"
    '    message "{c.model_name}"\n'
    "  }\n"
    "}\n"
)


def item(kind: str, source: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "source": source,
        "scope": {"store": "./governance"},
        "collector": "test 1",
        "collected_at": NOW,
        "data": data,
        **extra,
    }


ITEMS = [
    item("ai_system", "scope:fraud", {"id": "fraud", "owner": "Risk", "name": None}),
    # Stale by approved_on (no last_reviewed), shorter by its own review_interval_days; names a system
    # outside the scope; a big field no rule reads.
    item(
        "document",
        "file:policy.md",
        {
            "type": "ai-policy",
            "owner": "CISO",
            "approved_on": "2023-11-01",
            "last_reviewed": None,
            "review_interval_days": 30,
            "ai_systems": ["fraud", "pricing"],
            "headings": ["Purpose"] * 50,
            "sha256": "ab" * 32,
        },
    ),
    item("document", "file:fresh.md", {"type": "ai-policy", "owner": None, "last_reviewed": "2026-11-01"}),
    # Stale by git.last_commit_at (a nested field), the catalog's interval for model cards.
    item(
        "model_card",
        "file:cards/m.md",
        {"model_name": "m", "git": {"last_commit_at": "2022-01-01T00:00:00Z"}, "license": "mit"},
    ),
    # Expired on its own date; no rule reads attestations at all.
    item(
        "attestation",
        "file:attestations/a.yaml#A",
        {"control": "A.3.3", "attested_on": "2025-11-01", "expires": "2026-11-01", "statement": "x" * 500},
    ),
    # Names a system outside the scope with ai_system, a field no rule reads.
    item(
        "aws.s3_bucket", "arn:aws:s3:::models", {"versioning": False, "ai_system": "chat", "tags": {"a": "b"}}
    ),
    item("aws.s3_bucket", "arn:aws:s3:::logs", {"versioning": True}),
    item("document", "file:broken.md", {"owner": "x", "ai_systems": ["nope"]}, defect="garbled front matter"),
]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    kinds = ["ai_system", "document", "model_card", "attestation", "aws.s3_bucket"]
    header = {"annexa_bundle": 1, "collected": dict.fromkeys(kinds), "schemas": dict.fromkeys(kinds, OPEN)}
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in [header, *ITEMS]), encoding="utf-8")
    (tmp_path / "owners.rule").write_text(RULES, encoding="utf-8")
    return path


def evaluated(bundle: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, bytes, str]:
    out = bundle.parent / "result.json"
    rules = str(bundle.parent / "owners.rule")
    args = ["evaluate", "--evidence", str(bundle), "--rules", rules, "--no-plugins", "--now", NOW, *flags]
    code = main([*args, "--format", "json", "-o", str(out)])
    return code, out.read_bytes(), capsys.readouterr().err


def test_what_is_kept_of_each_item_gives_what_the_whole_items_give(
    bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    memory = evaluated(bundle, capsys)
    assert evaluated(bundle, capsys, "--stream") == memory  # the streamed evaluation observes whole items
    result = json.loads(memory[1])
    whole = read_bundle(bundle).evidence
    now = parse_timestamp(NOW)
    reference = [o.to_dict() for o in (*scope_drift(whole), *stale_evidence(whole, DEFAULT_LIMITS, now))]
    assert result["observations"] == reference
    # Each field the observations read was needed: drift by ai_systems and by ai_system, stale by
    # approved_on under the document's own interval and by a model card's git.last_commit_at, an expiry.
    assert {(o["code"], o["evidence"]["source"]) for o in reference} == {
        ("scope_drift", "file:policy.md"),
        ("scope_drift", "arn:aws:s3:::models"),
        ("stale_evidence", "file:policy.md"),
        ("stale_evidence", "file:cards/m.md"),
        ("expired_attestation", "file:attestations/a.yaml#A"),
    }
    assert any("its own review_interval_days" in o["message"] for o in reference)
    assert any(o.get("details", {}).get("basis") == "git.last_commit_at" for o in reference)
    # Findings cite the ids of the whole items, as read.
    ids = {item.source: item.id for item in whole}
    cited = [ref for finding in result["findings"] for ref in finding["evidence"]]
    assert {ref["source"] for ref in cited} >= {"file:policy.md", "arn:aws:s3:::models", "file:broken.md"}
    assert all(ref["id"] == ids[ref["source"]] for ref in cited)
    messages = {finding["message"] for finding in result["findings"]}
    assert any("cannot be used as evidence: garbled front matter" in message for message in messages)


def test_the_header_alone_is_the_bundles_header(bundle: Path, tmp_path: Path) -> None:
    whole = read_bundle(bundle)
    header = read_bundle_header(bundle)
    assert header.evidence == ()
    assert (header.collected, header.schemas, header.gaps) == (whole.collected, whole.schemas, whole.gaps)
    # A repeated header before any item replaces the first, as read_bundle reads it; no header: none.
    lines = bundle.read_text(encoding="utf-8").splitlines(keepends=True)
    second = {"annexa_bundle": 1, "collected": {"document": None}, "schemas": {}, "gaps": {"document": ["x"]}}
    twice = tmp_path / "twice.jsonl"
    twice.write_text(lines[0] + "\n" + json.dumps(second) + "\n" + "".join(lines[1:]), encoding="utf-8")
    assert read_bundle_header(twice).gaps == read_bundle(twice).gaps == {"document": ("x",)}
    bare = tmp_path / "bare.jsonl"
    bare.write_text("".join(lines[1:]), encoding="utf-8")
    assert read_bundle_header(bare).collected is None is read_bundle(bare).collected


def test_items_read_share_their_kinds_scopes_and_times_and_keep_their_ids(bundle: Path) -> None:
    items = read_bundle(bundle).evidence
    assert len({id(item.scope) for item in items}) == 1
    assert len({id(item.collected_at) for item in items}) == 1
    assert len({id(item.collector) for item in items}) == 1
    raw = [json.loads(line) for line in bundle.read_text(encoding="utf-8").splitlines()[1:]]
    for item, line in zip(items, raw, strict=True):
        assert item.to_dict() == line  # the same values as read one by one
    first = items[0]
    first_scope_before = dict(first.scope)
    assert (
        first.to_dict()["scope"] is not first.scope
    )  # to_dict copies: a caller cannot change the shared one
    assert first.scope == first_scope_before


def test_a_part_read_by_another_process_comes_back_with_every_field_of_every_item(tmp_path: Path) -> None:
    """A bundle part is handed back from a reading process pickled as rows of its items' fields
    (BundlePart.__reduce__): every field Evidence has (its cached id and reference too) must survive, so a
    field added to Evidence and not to the rows fails here rather than going missing in `--jobs` reads."""
    import pickle

    from annexa.model.evidence import BundlePart, Evidence, EvidenceFormatError, read_bundle_part

    path = tmp_path / "bundle.jsonl"
    lines = [
        {"annexa_bundle": 1, "collected": {"document": None}},
        item("document", "a.md", {"owner": "Ann", "nested": {"list": [1, 2.5, None]}}),
        {**item("document", "b.md", {"owner": None}), "defect": "unreadable"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    part = read_bundle_part(path)
    part.items[0].ref()  # cache the reference as well as the id
    part.items[1].id  # noqa: B018
    back = pickle.loads(pickle.dumps(BundlePart(part.items, part.header, 1, EvidenceFormatError("x"))))
    assert [item.__slots__ for item in back.items] == [Evidence.__slots__] * 2
    for mine, theirs in zip(part.items, back.items, strict=True):
        assert {name: getattr(theirs, name) for name in Evidence.__slots__} == {
            name: getattr(mine, name) for name in Evidence.__slots__
        }
    assert back.items[0]._ref is not None
    assert back.items[1]._id == part.items[1].id
    assert (back.header, back.header_line, str(back.error)) == (part.header, 1, "x")
