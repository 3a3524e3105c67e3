"""The checker records which top-level fields each rule reads, so collectors can skip the rest."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from annexa.app.scan import collect, compile_for, plan
from annexa.contract.kinds import KindRegistry
from annexa.lang.language import compile_rules
from annexa.lang.ruleset import RuleSource
from annexa.plugins import CollectorSpec, CollectRequest, Evidence, hookimpl
from annexa.plugins.config import load_config
from annexa.plugins.host import PluginHost
from annexa.plugins.manager import PluginSource, make_plugin_manager

KINDS = KindRegistry(
    {
        "bucket": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "encryption": {"type": ["object", "null"]},
                "versioning": {"type": ["string", "null"]},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "logging": {"type": ["object", "null"]},
            },
        },
        "trail": {
            "type": "object",
            "properties": {"bucket": {"type": "string"}, "logging": {"type": "boolean"}},
        },
    }
)
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def fields_of(rules: str) -> dict[str, frozenset[str] | None]:
    return compile_rules([RuleSource("t.rule", rules)], KINDS).fields_read


def test_attribute_index_and_message_reads_are_recorded_per_kind() -> None:
    fields = fields_of(
        'control A.7.5 "t" {\n'
        "  rule encrypted {\n"
        '    for each b in bucket where b.tags["env"] == "prod"\n'
        '    require b.encryption != null and b.versioning == "Enabled"\n'
        '    message "{b.name} is not protected"\n'
        "  }\n"
        "}\n"
    )
    assert fields == {"bucket": frozenset({"tags", "encryption", "versioning", "name"})}


def test_joins_record_the_fields_of_both_kinds_and_rules_merge() -> None:
    fields = fields_of(
        'control A.6.2.8 "t" {\n'
        "  rule trail_bucket_logged {\n"
        "    for each t in trail where t.logging\n"
        "    require exists b in bucket where b.name == t.bucket and b.logging != null\n"
        '    message "{t.bucket}"\n'
        "  }\n"
        "  rule versioned {\n"
        "    for each b in bucket\n"
        '    require b.versioning == "Enabled"\n'
        '    message "{b.name}"\n'
        "  }\n"
        "}\n"
    )
    assert fields == {
        "trail": frozenset({"logging", "bucket"}),
        "bucket": frozenset({"name", "logging", "versioning"}),
    }


def test_an_item_used_as_a_whole_asks_for_every_field() -> None:
    ruleset = compile_rules(
        [
            RuleSource(
                "t.rule",
                'control A.4.5 "t" {\n'
                "  rule listed {\n    for each b in bucket\n    require b != null\n"
                '    message "{b.name}"\n  }\n'
                "  rule trails {\n    for each t in trail\n    require t.logging\n"
                '    message "{t.bucket}"\n  }\n'
                "}\n",
            )
        ],
        KINDS,
    )
    assert ruleset.fields_read == {"bucket": None, "trail": frozenset({"logging", "bucket"})}
    assert {rule.name: dict(rule.fields) for rule in ruleset.rules} == {
        "listed": {"bucket": None},
        "trails": {"trail": frozenset({"logging", "bucket"})},
    }


class RecordingCollector:
    requests: ClassVar[list[CollectRequest]] = []

    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        self.requests.append(request)
        return iter(())


class BucketPlugin:
    @hookimpl
    def annexa_collectors(self) -> Iterable[CollectorSpec]:
        yield CollectorSpec(
            name="buckets",
            version="1.0",
            kinds={"bucket": KINDS.schema("bucket")},
            config_schema={"type": "object"},
            factory=RecordingCollector,
        )


def test_a_scan_tells_each_collector_the_fields_its_kinds_are_read_for(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a_7_5.rule").write_text(
        'control A.7.5 "t" {\n  rule versioned {\n    for each b in bucket\n'
        '    require b.versioning == "Enabled"\n    message "{b.name}"\n  }\n}\n',
        encoding="utf-8",
    )
    config_path = tmp_path / "annexa.yaml"
    config_path.write_text(
        "version: 1\norganization: T\ncollectors:\n  buckets: {}\nrules: {paths: [rules]}\n",
        encoding="utf-8",
    )
    pm = make_plugin_manager(autoload=False, builtins=())
    pm.register_plugin(
        BucketPlugin(), "buckets", source=PluginSource.DISTRIBUTION, distribution="b", version="1"
    )
    host = PluginHost(pm)
    config = load_config(config_path, host)
    ruleset = compile_for(config, host)
    planned = plan(ruleset, config, host.collectors())
    RecordingCollector.requests.clear()
    collect(config, host, planned, now=NOW, fields=ruleset.fields_read)
    collect(config, host, planned, now=NOW)
    narrow, everything = RecordingCollector.requests
    assert narrow.fields == {"bucket": frozenset({"versioning", "name"})}
    assert everything.fields == {}
