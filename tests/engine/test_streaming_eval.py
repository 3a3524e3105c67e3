"""Evaluation that streams (`annexa evaluate --evidence BUNDLE --stream`, annexa.app.streaming): the same
result file, to the byte, as the in-memory evaluation, on the demo estate's collected bundle and on the
benchmark's synthetic estate (benchmarks/bench_scale.py) with gaps, a kind not collected, a defective item
and an item breaking its schema; and a lower peak memory where the rules read disjoint kinds.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from annexa.app.compact import Compact
from annexa.app.spill import Spill, in_memory_order
from annexa.app.streaming import batched, rule_groups
from annexa.cli.main import main
from annexa.files.jsonwriter import Stream, write_json
from annexa.lang.language import evaluate
from annexa.model.evidence import Bundle, Evidence, index_bundle, write_bundle

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_scale  # the benchmark's own estate, so the test and the figures share it

NOW = "2026-11-23T00:00:00Z"
ANNEXA = Path(sys.executable).with_name("annexa")


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Any, tuple[Evidence, ...]]:
    """Host, configuration, rule set (the full Annex A pack) and the demo estate's evidence."""
    return bench_scale.seed_evidence(tmp_path_factory.mktemp("estate"))


def evaluated(
    bundle: Path, out: Path, capsys: pytest.CaptureFixture[str], *flags: str
) -> tuple[int, bytes, str, str]:
    """Exit code, JSON result file, text result and standard error of `annexa evaluate` with ``flags``."""
    args = ["evaluate", "--evidence", str(bundle), *flags]
    code = main([*args, "--format", "json", "-o", str(out)])
    err = capsys.readouterr().err
    assert main([*args, "--format", "text"]) == code
    text = capsys.readouterr().out
    return code, out.read_bytes(), text, err


def assert_same(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *flags: str
) -> dict[str, Any]:
    memory = evaluated(bundle, tmp_path / "memory.json", capsys, *flags)
    streamed = evaluated(bundle, tmp_path / "streamed.json", capsys, *flags, "--stream")
    assert streamed == memory  # exit code, result file to the byte, text, warnings
    result: dict[str, Any] = json.loads(memory[1])
    assert len(result["findings"]) > 20  # a real evaluation
    return result


def test_the_demo_estates_collected_bundle_gives_the_same_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = bench_scale.demo_config(tmp_path)
    bundle = tmp_path / "bundle.jsonl"
    assert main(["collect", "-c", str(config), "--now", NOW, "-o", str(bundle)]) == 0
    capsys.readouterr()
    result = assert_same(bundle, tmp_path, capsys)
    assert {f["status"] for f in result["findings"]} >= {"pass", "fail", "inconclusive"}
    # With the configuration too (its exceptions and applicability applied to the streamed findings), and
    # indented: the spilled findings are encoded as the writer indents them.
    result = assert_same(bundle, tmp_path, capsys, "-c", str(config), "--now", NOW, "--pretty")
    assert any(f["waiver"] for f in result["findings"])  # an exception of the configuration applied


@pytest.mark.parametrize("header", ["collected", "no collected"])
def test_the_synthetic_estate_with_gaps_missing_kinds_and_broken_items_gives_the_same_result(
    estate: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str
) -> None:
    host, _, ruleset, seed = estate
    items = bench_scale.synthetic_estate(seed, 3000)
    documents = [item for item in items if item.kind == "document"]
    cards = [item for item in items if item.kind == "model_card"]
    items.append(dataclasses.replace(documents[5], source=documents[5].source + "#broken", defect="garbled"))
    # A model card whose model_name is a number breaks the kind's schema: defective, and warned about.
    items.insert(7, dataclasses.replace(cards[3], data={**cards[3].data, "model_name": 42}))
    # What only the observations read (no rule of the pack reads a document's own review interval): stale
    # by it, and naming a system outside the declared scope.
    watched = {**documents[6].data, "review_interval_days": 1, "ai_systems": ["outside-the-scope"]}
    items.append(dataclasses.replace(documents[6], source=documents[6].source + "#watched", data=watched))
    schemas = {k: s for spec in host.collectors().values() for k, s in spec.kinds.items()}
    collected: dict[str, str | None] | None = dict.fromkeys(sorted(ruleset.kinds_read))
    assert collected is not None
    collected["mlflow.run"] = "mlflow: connection refused"  # attempted and failed
    del collected["aws.log_group"]  # never attempted
    bundle = tmp_path / "bundle.jsonl"
    write_bundle(
        bundle,
        Bundle(
            evidence=tuple(items),
            collected=collected if header == "collected" else None,
            schemas={kind: schemas[kind] for kind in ruleset.kinds_read if kind in schemas},
            gaps={"document": ("documents ./more: unreadable folder",), "model_card": ("cards: timeout",)},
        ),
    )
    result = assert_same(bundle, tmp_path, capsys, "--now", NOW)
    messages = [f["message"] for f in result["findings"]]
    assert any("cannot be used as evidence: garbled" in message for message in messages)
    assert any("data does not match its schema" in message for message in messages)
    assert len(result["invalid_evidence"]) == 1
    assert any(f["status"] == "inconclusive" for f in result["findings"])
    if header == "collected":
        assert any("mlflow: connection refused" in message for message in messages)
    watched_codes = {
        o["code"] for o in result["observations"] if o["evidence"]["source"].endswith("#watched")
    }
    assert watched_codes == {"scope_drift", "stale_evidence"}  # computed as the items pass, the same


def test_rule_groups_hold_every_rule_once_each_group_one_set_of_kinds(estate: Any) -> None:
    _, _, ruleset, _ = estate
    counts = {
        ("document", ""): 1000,
        ("ai_system", ""): 100,
        ("model_card", ""): 100,
        ("aws.log_group", ""): 500,
    }
    groups = rule_groups(ruleset, counts)
    assert sorted(rule.id for _, rules in groups for rule in rules) == sorted(r.id for r in ruleset.rules)
    assert all({kind for kind, _ in units} == rule.kinds for units, rules in groups for rule in rules)
    assert len({units for units, _ in groups}) == len(groups)
    assert groups == rule_groups(ruleset, counts)  # the same order on every run
    # The kinds without items come first, the biggest kinds last: few items are loaded at once.
    assert groups[-1][0] >= {("document", "")}
    # Batched: groups evaluated together until a kind with items can be dropped, every rule still once.
    batches = batched(groups, counts)
    assert sorted(rule.id for _, rules in batches for rule in rules) == sorted(r.id for r in ruleset.rules)
    assert len(batches) < len(groups)
    assert all({(kind, "") for kind in rule.kinds} <= units for units, rules in batches for rule in rules)


def index_lines(path: Path) -> None:
    index = index_bundle(path)
    assert sum(index.counts.values()) == len(path.read_bytes().splitlines()) - 1


PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_kb(*args: str) -> int:
    """Peak RSS of `annexa *args` in a fresh process, as the kernel reports it."""
    env = {**os.environ, "ANNEXA_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run([sys.executable, "-c", PEAK, str(ANNEXA), *args], capture_output=True, text=True,
                          env=env, check=True, timeout=600)  # fmt: skip
    return int(done.stdout.strip())


def test_streaming_holds_one_group_of_kinds_at_a_time(estate: Any, tmp_path: Path) -> None:
    """Log groups and CloudTrail trails, read by different rules: the streamed run holds one at a time,
    and spills the findings where the in-memory run holds them all until the result is written. (Both runs
    keep of an item only the fields the rules read, so the data the rules read is long on both kinds, the
    log groups' names and the trails' account ids: the in-memory run holds both, the streamed one either.)"""
    host, _, ruleset, seed = estate
    count = 15_000
    key = "arn:aws:kms:eu-west-1:1:key/" + "k" * 2000  # data no rule reads, as real items carry
    region = "eu-west-1"
    log_groups = [
        Evidence(kind="aws.log_group", source=f"log-group:{n}", scope={"account": "1"}, collector="aws",
                 collected_at=seed[0].collected_at,
                 data={"arn": f"log-group:{n}", "account_id": "1", "region": region,
                       "name": f"/aws/sagemaker/e{n}/{'n' * 1000}", "retention_days": 30 + n % 400,
                       "kms_key_id": key})
        for n in range(count)
    ]  # fmt: skip
    trails = [
        Evidence(kind="aws.cloudtrail_trail", source=f"trail/{n}", scope={"account": str(n)}, collector="aws",
                 collected_at=seed[0].collected_at,
                 data={"arn": f"trail/{n}", "account_id": f"{n}-{'a' * 1000}", "region": region, "name": "t",
                       "is_multi_region": n % 3 > 0, "log_file_validation": n % 2 > 0, "kms_key_id": key})
        for n in range(count)
    ]  # fmt: skip
    schemas = {k: s for spec in host.collectors().values() for k, s in spec.kinds.items()}
    bundle = tmp_path / "bundle.jsonl"
    write_bundle(
        bundle,
        Bundle(
            evidence=(*seed, *log_groups, *trails),
            collected=dict.fromkeys(ruleset.kinds_read),
            schemas={kind: schemas[kind] for kind in ruleset.kinds_read if kind in schemas},
        ),
    )
    index_lines(bundle)
    args = ["evaluate", "--evidence", str(bundle), "--now", NOW, "--format", "json"]
    # In one process (--jobs 1): forked processes would each hold part of what the in-memory run holds.
    memory = peak_kb(*args, "-o", str(tmp_path / "memory.json"), "--jobs", "1")
    streamed = peak_kb(*args, "-o", str(tmp_path / "streamed.json"), "--stream")
    assert (tmp_path / "streamed.json").read_bytes() == (tmp_path / "memory.json").read_bytes()
    result = json.loads((tmp_path / "memory.json").read_bytes())
    statuses = {(f["rule"].split("/")[1], f["status"]) for f in result["findings"]}
    assert ("sagemaker_log_retention", "pass") in statuses
    assert len(result["findings"]) > count  # a finding per log group
    assert streamed < memory * 0.9, (streamed, memory)


@pytest.mark.parametrize(
    "lines",
    [
        ["{not json"],  # a broken line
        ['{"annexa_bundle": 1}', '{"kind": "document"}'],  # an item lacking fields
        ["", '{"annexa_bundle": 1, "collected": {"document": 5}}'],  # a bad header after a blank line
        [],  # empty: --now is needed
    ],
)
def test_a_broken_or_empty_bundle_is_refused_with_the_same_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str]
) -> None:
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    outcomes = []
    for flags in ((), ("--stream",)):
        code = main(["evaluate", "--evidence", str(bundle), "--format", "json", *flags])
        outcomes.append((code, capsys.readouterr()))
    assert outcomes[0][0] != 0
    assert "annexa: error:" in outcomes[0][1].err
    assert outcomes[1] == outcomes[0]


def test_a_bundle_without_header_and_an_empty_one_with_now(
    estate: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, _, seed = estate
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_text("".join(json.dumps(item.to_dict()) + "\n" for item in seed), encoding="utf-8")
    assert_same(bundle, tmp_path, capsys)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    memory = evaluated(empty, tmp_path / "memory.json", capsys, "--now", NOW)
    assert evaluated(empty, tmp_path / "streamed.json", capsys, "--now", NOW, "--stream") == memory


def test_the_spill_gives_back_each_rules_findings_as_the_writer_encodes_them(estate: Any) -> None:
    """Read back in the order asked (rules of no finding skipped), with blocks smaller than a finding
    too; the findings array written from the spill is the one written from the findings."""
    _, _, ruleset, seed = estate
    findings = evaluate(ruleset, seed, now=seed[0].collected_at)
    by_rule: dict[str, list[Any]] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    order = in_memory_order(ruleset)
    assert [f for rule_id in order for f in by_rule.get(rule_id, ())] == list(findings)
    for pretty, per_record in ((False, Spill.FINDINGS_PER_RECORD), (False, 3), (True, 1)):
        spill = Spill(pretty=pretty)
        spill.FINDINGS_PER_RECORD = per_record  # compact: blocks of findings, a rule's last one shorter
        for rule_id in reversed(list(by_rule)):  # spilled in another order than read
            spill.add(rule_id, by_rule[rule_id])
        for block in (Spill.BLOCK, 64):
            spill.BLOCK = block
            records = [json.loads(b"[" + text + b"]") for text in spill.records(order)]
            assert max(map(len, records)) == (
                1 if pretty else min(per_record, max(map(len, by_rule.values())))
            )
            assert [f for record in records for f in record] == [
                json.loads(json.dumps(f.to_dict())) for f in findings
            ]
            assert list(spill.dicts(order)) == [f for record in records for f in record]
            written, expected = io.BytesIO(), io.BytesIO()
            write_json({"findings": Stream(spill.records(order), encoded=True)}, written, pretty=pretty)
            write_json(
                {"findings": Stream(map(type(findings[0]).to_dict, findings))}, expected, pretty=pretty
            )
            assert written.getvalue() == expected.getvalue()
        spill.close()


def test_each_line_is_parsed_once_the_items_loaded_from_the_unit_file(estate: Any, tmp_path: Path) -> None:
    """Indexing keeps every item (checked, cut, with its id) in the unit file: with the bundle gone after
    indexing, the streamed evaluation still gives the in-memory findings, every one."""
    from annexa.app.streaming import evaluate_streamed
    from annexa.app.units import UnitFile
    from annexa.app.wiring import kind_registry
    from annexa.contract.freshness import DEFAULT_LIMITS

    host, _, ruleset, seed = estate
    bundle = tmp_path / "bundle.jsonl"
    collected = dict.fromkeys(ruleset.kinds_read)
    write_bundle(bundle, Bundle(evidence=seed, collected=collected))
    now = seed[0].collected_at
    expected = [
        json.loads(json.dumps(f.to_dict())) for f in evaluate(ruleset, seed, now=now, collected=collected)
    ]
    with UnitFile(kind_registry(host, {}), ruleset.fields_read) as units:
        index = index_bundle(bundle, units.add)
        bundle.unlink()
        streamed = evaluate_streamed(index, units, ruleset, now=now, limits=DEFAULT_LIMITS)
    assert list(streamed.spill.dicts(in_memory_order(ruleset))) == expected
    assert len(streamed.findings) == len(expected) > 20
    streamed.spill.close()


def test_loaded_items_share_equal_values_and_keep_every_value_and_type() -> None:
    compact = Compact()
    names = ("flag", "headings", "id", "metadata", "number", "status", "text")
    rows = [
        {
            "flag": n % 2 == 0,
            "headings": ["Purpose", "Scope"],
            "id": f"DOC-{n}",  # unique: left alone once the trial shows it
            "metadata": {} if n % 3 else {"result": "pass", "nested": [1, 1.0, True, "1"]},
            "number": 1 if n % 2 else 1.0,
            "status": "approved",
            "text": "1" if n % 5 else None,
            **({"extra": "not kept"} if n == 7 else {}),
        }
        for n in range(Compact.TRIAL + 50)
    ]
    del rows[-1]["status"]  # an item lacking a field: its dict holds the others
    kept = [compact.data(row, names) for row in rows]
    for row, data in zip(rows, kept, strict=True):
        expected = {name: row[name] for name in names if name in row}
        assert data == expected
        assert type(data) is dict
        assert [type(v) for v in data.values()] == [type(expected[k]) for k in data]
        assert json.dumps(data, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert kept[0]["headings"] is kept[-1]["headings"]  # shared, before and after the trial
    assert kept[1]["metadata"] is kept[2]["metadata"] is kept[-2]["metadata"]  # {}, shared
    assert "status" not in kept[-1]
    plan = dict(compact._plans[names])
    assert plan["id"] is False
    assert plan["status"] is True


# Rules beside the pack for the documents-by-type test: a `for each` over documents of one type that selects
# none (its near-miss text counts every document collected), a rule whose code may visit any document (no
# leading type test: it loads them all), and a join whose `where` opens with the type under a key shared by
# more than CLOSEST_CANDIDATES documents (its near misses examine only those of the type).
TYPED_RULES = """
control A.6.2.2 "Typed rules" {
  rule no_such_type_selected "A document of a type nobody wrote" {
    severity low
    for each d in document where d.type == "no-such-type" and d.status == "approved"
    require d.title != null
  }
  rule any_document_approved "Some document is approved" {
    severity low
    require exists d in document where d.status == "approved" and d.type == "ai-policy"
  }
  rule crowded_system_has_a_runbook "The crowded system has an approved runbook" {
    severity low
    for each s in ai_system where s.id == "crowded"
    require exists d in document where d.type == "ai-operations-runbook" and s.id in d.ai_systems
      and d.status == "approved"
  }
}
"""


def test_documents_loaded_by_type_give_the_same_result(
    estate: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Streamed evaluation loads a group's documents by type (RuleCode.document_types): documents whose
    type is missing, null, empty, a number or a list, defective ones, ones breaking their schema and ones
    of an old type name are loaded with every rule that reads documents; the result is still the
    in-memory one to the byte."""
    host, _, ruleset, seed = estate
    items = bench_scale.synthetic_estate(seed, 1500)
    documents = [item for item in items if item.kind == "document"]
    systems = [item for item in items if item.kind == "ai_system"]
    odd: list[Evidence] = []
    for number, value in enumerate([None, "", 5, ["ai-policy"], "nonconformity-register", "meeting-notes"]):
        data = {**documents[number].data, "type": value}
        odd.append(
            dataclasses.replace(
                documents[number], source=f"{documents[number].source}#odd{number}", data=data
            )
        )
    untyped = {key: value for key, value in documents[10].data.items() if key != "type"}
    odd.append(dataclasses.replace(documents[10], source=documents[10].source + "#untyped", data=untyped))
    odd.append(dataclasses.replace(documents[11], source=documents[11].source + "#broken", defect="garbled"))
    breaking = {**documents[12].data, "status": 7}  # a typed document breaking its schema
    odd.append(dataclasses.replace(documents[12], source=documents[12].source + "#schema", data=breaking))
    # A declared system listed by 1,100 documents of other types, and by a draft runbook after them.
    crowded = dataclasses.replace(
        systems[0], source="scope:crowded", data={**systems[0].data, "id": "crowded"}
    )
    template = next(d for d in documents if d.data.get("type") == "ai-design-record")
    crowd = [
        dataclasses.replace(
            template,
            source=f"file:crowd/{number:05}.md",
            data={**template.data, "id": f"CROWD-{number}", "ai_systems": ["crowded"]},
        )
        for number in range(1100)
    ]
    runbook = next(d for d in documents if d.data.get("type") == "ai-operations-runbook")
    late = dataclasses.replace(
        runbook,
        source="file:crowd/zz-runbook.md",
        data={**runbook.data, "ai_systems": ["crowded"], "status": "draft"},
    )
    items = [*items, crowded, *odd, *crowd, late]
    schemas = {k: s for spec in host.collectors().values() for k, s in spec.kinds.items()}
    rules = tmp_path / "typed.rule"
    rules.write_text(TYPED_RULES, encoding="utf-8")
    bundle = tmp_path / "bundle.jsonl"
    write_bundle(
        bundle,
        Bundle(
            evidence=tuple(items),
            collected=dict.fromkeys(sorted(ruleset.kinds_read)),
            schemas={kind: schemas[kind] for kind in ruleset.kinds_read if kind in schemas},
        ),
    )
    flags = ("--now", NOW, "--rules", "builtin:annex_a", "--rules", str(rules))
    result = assert_same(bundle, tmp_path, capsys, *flags)
    messages = {
        f["rule"]: f["message"]
        for f in result["findings"]
        if "cannot be used as evidence" not in f["message"]  # not a defective item's own finding
    }
    breaking = sum(1 for problem in result["invalid_evidence"] if problem.startswith("document "))
    assert breaking >= 3  # the number, the list, the typed one with a number for a status
    sound = sum(1 for item in items if item.kind == "document") - 1 - breaking  # less the defective one
    # Every sound document counted, though only the part "" was loaded for this rule.
    assert f"{sound} document item(s) collected" in messages["A.6.2.2/no_such_type_selected"]
    crowded = messages["A.6.2.2/crowded_system_has_a_runbook"]
    assert "zz-runbook.md" in crowded  # past 1,000 documents of other types
    assert any("data does not match its schema" in f["message"] for f in result["findings"])
    # Loaded by type indeed: the typed rules need a few of the parts, the untyped one needs them all.
    from annexa.app.streaming import _needs
    from annexa.app.units import UnitFile
    from annexa.app.wiring import kind_registry

    with UnitFile(kind_registry(host, {}), ruleset.fields_read) as units:
        index = index_bundle(bundle, units.add)
    parts = index.parts["document"]
    assert {"", "ai-policy", "ai-design-record", "meeting-notes"} <= parts.keys()
    assert parts[""] == 7  # null, empty, a number, a list, no type at all, defective, schema-breaking
    assert "nonconformity-record" in parts  # the old name read as today's
    typed = next(r for r in ruleset.rules if r.id == "A.5.3/impact_assessment_per_system")
    assert {part for _, part in _needs(typed, index)} == {"", "ai-impact-assessment"}
