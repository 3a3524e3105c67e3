"""Evidence that is partly missing (a dropped item, a denied account) can fail a rule but never pass it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from annexa.app.scan import collect, plan
from annexa.contract.kinds import KindRegistry
from annexa.lang.language import compile_rules, evaluate
from annexa.lang.ruleset import RuleSource
from annexa.model.evidence import Bundle, read_bundle, write_bundle
from annexa.model.findings import Status
from annexa.plugins import CollectorSpec, CollectRequest, Evidence, hookimpl
from annexa.plugins.config import load_config
from annexa.plugins.host import PluginHost
from annexa.plugins.manager import PluginSource, make_plugin_manager
from annexa.store import ScanRecord
from annexa.store.manifest import FindingsObject, build_manifest, record_from_manifest

NOW = datetime(2026, 11, 23, tzinfo=UTC)
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "encrypted": {"type": "boolean"}},
    "required": ["name", "encrypted"],
}
RULES = """control A.7.5 "t" {
  rule encrypted {
    for each b in bucket
    require b.encrypted
    message "{b.name} is not encrypted"
  }
  rule some_bucket {
    require exists b in bucket where b.name == "logs"
    message "no log bucket"
  }
  rule unencrypted_listed {
    for each b in bucket where not b.encrypted
    require exists o in bucket where o.name != b.name and o.encrypted
    message "{b.name} has no encrypted sibling"
  }
}
"""


def bucket(label: str, **data: object) -> Evidence:
    return Evidence(
        kind="bucket",
        source=f"arn:aws:s3:::{label}",
        scope={},
        collector="buckets 1",
        collected_at=NOW,
        data=data,
    )


class PartialCollector:
    """Account 111 answers; account 222 denies listing, and one item of 111 breaks the schema."""

    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        yield bucket("logs", name="logs", encrypted=True)
        yield bucket("raw", name="raw", encrypted=False)
        yield bucket("broken", name="broken", encrypted="yes")  # not a boolean: dropped by the host
        request.report_gap("bucket", "222222222222/eu-west-1", "AccessDenied: s3:ListAllMyBuckets")


class BucketPlugin:
    @hookimpl
    def annexa_collectors(self) -> Iterable[CollectorSpec]:
        yield CollectorSpec(
            name="buckets", version="1", kinds={"bucket": SCHEMA}, config_schema={}, factory=PartialCollector
        )


def scan_collection(tmp_path: Path) -> tuple[object, object]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a_7_5.rule").write_text(RULES, encoding="utf-8")
    (tmp_path / "annexa.yaml").write_text(
        "version: 1\norganization: T\ncollectors:\n  buckets: {}\nrules: {paths: [rules]}\n", encoding="utf-8"
    )
    pm = make_plugin_manager(autoload=False, builtins=())
    pm.register_plugin(
        BucketPlugin(), "buckets", source=PluginSource.DISTRIBUTION, distribution="b", version="1"
    )
    host = PluginHost(pm)
    config = load_config(tmp_path / "annexa.yaml", host)
    ruleset = compile_rules([RuleSource("a_7_5.rule", RULES)], KindRegistry({"bucket": SCHEMA}))
    return ruleset, collect(config, host, plan(ruleset, config, host.collectors()), now=NOW)


def test_gaps_turn_passes_inconclusive_and_keep_failures(tmp_path: Path) -> None:
    ruleset, collection = scan_collection(tmp_path)
    assert collection.gaps == {  # type: ignore[attr-defined]
        "bucket": ("buckets 222222222222/eu-west-1: AccessDenied: s3:ListAllMyBuckets",)
    }
    findings = evaluate(
        ruleset,  # type: ignore[arg-type]
        collection.evidence,  # type: ignore[attr-defined]
        now=NOW,
        collected=collection.collected,  # type: ignore[attr-defined]
        gaps=collection.gaps,  # type: ignore[attr-defined]
    )
    by_subject = {(f.rule_id, f.subject): f for f in findings}
    # The verdicts on collected buckets rest on their own items and stand; the missing ones are unassessed.
    assert by_subject[("A.7.5/encrypted", "arn:aws:s3:::raw")].status is Status.FAIL
    assert by_subject[("A.7.5/encrypted", "arn:aws:s3:::logs")].status is Status.PASS
    unassessed = by_subject[("A.7.5/encrypted", None)]
    assert unassessed.status is Status.INCONCLUSIVE
    assert "222222222222/eu-west-1" in unassessed.message
    # An item that breaks its schema is no gap but a defective bucket: every rule over buckets fails on it.
    broken = by_subject[("A.7.5/encrypted", "arn:aws:s3:::broken")]
    assert broken.status is Status.FAIL
    assert broken.message == (
        "bucket arn:aws:s3:::broken cannot be used as evidence: data does not match its schema: "
        "encrypted: 'yes' is not of type 'boolean'"
    )
    assert by_subject[("A.7.5/some_bucket", "arn:aws:s3:::broken")].status is Status.FAIL
    # `exists` over an incomplete kind: the missing bucket might be the one sought.
    some = by_subject[("A.7.5/some_bucket", None)]
    assert some.status is Status.INCONCLUSIVE
    assert some.note is not None
    assert "the missing items may decide this rule" in some.note
    # A verdict that an `exists` over the incomplete kind decided may be wrong either way: inconclusive.
    assert by_subject[("A.7.5/unencrypted_listed", "arn:aws:s3:::raw")].status is Status.INCONCLUSIVE
    clean = evaluate(ruleset, collection.evidence, now=NOW, collected=collection.collected)  # type: ignore[arg-type, attr-defined]
    assert {f.status for f in clean} == {Status.PASS, Status.FAIL}


def test_gaps_survive_the_bundle_and_the_manifest(tmp_path: Path) -> None:
    ruleset, collection = scan_collection(tmp_path)
    path = tmp_path / "bundle.jsonl"
    write_bundle(path, collection.bundle())  # type: ignore[attr-defined]
    assert read_bundle(path).gaps == collection.gaps  # type: ignore[attr-defined]
    record = ScanRecord(
        scan_id="20261123T000000Z-00000000",
        started_at=NOW,
        finished_at=NOW,
        rule_pack_digest=ruleset.digest,  # type: ignore[attr-defined]
        config_digest="0" * 64,
        evidence_ids=(),
        findings=(),
        controls=(),
        collection=collection.statuses(),  # type: ignore[attr-defined]
    )
    reloaded = record_from_manifest(
        build_manifest(record, sequence=1, previous=None, findings=FindingsObject(sha256="0" * 64, count=0))
    )
    assert reloaded.gaps_by_kind() == collection.gaps  # type: ignore[attr-defined]
    assert reloaded.collected_by_kind() == {"bucket": None}


def test_a_bundle_with_a_malformed_gaps_header_is_refused(tmp_path: Path) -> None:
    import pytest

    from annexa.model.evidence import EvidenceFormatError

    path = tmp_path / "b.jsonl"
    path.write_text('{"annexa_bundle": 1, "collected": {}, "schemas": {}, "gaps": {"bucket": "x"}}\n')
    with pytest.raises(EvidenceFormatError, match="'gaps' must map kinds to lists of reasons"):
        read_bundle(path)
    assert Bundle(evidence=()).gaps == {}
