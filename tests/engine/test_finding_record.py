"""A finding is a tuple-backed record (cheap to build) that behaves as the frozen dataclass it was, and the
result's fast paths (to_encodable, the batched writer, the one-pass tally) give what the plain ones gave."""

from __future__ import annotations

import copy
import dataclasses
import gc
import io
import json
import pickle
from typing import Any

import orjson
import pytest
from conftest import NOW, build, ev

from annexa.app.result import build_result, exit_code_for
from annexa.files import jsonwriter
from annexa.files.jsonwriter import Stream, write_json
from annexa.lang.language import evaluate
from annexa.model.diagnostics import Position, Span
from annexa.model.evidence import EvidenceRef
from annexa.model.exitcodes import ExitCode
from annexa.model.findings import (
    ControlStatus,
    Finding,
    Severity,
    Status,
    Waiver,
    effective_status,
    new_finding,
)

SPAN = Span("t.rule", Position(2, 3), Position(2, 9))
REF = EvidenceRef(id="ab" * 32, kind="svc", source="s1", collected_at="2026-11-23T12:00:00Z")


def finding(**changes: Any) -> Finding:
    fields: dict[str, Any] = {
        "rule_id": "A.6.2.8/r",
        "control_id": "A.6.2.8",
        "status": Status.FAIL,
        "severity": Severity.HIGH,
        "message": "svc s1 fails",
        "subject": "s1",
        "rule_span": SPAN,
        "evidence": (REF,),
        "witness": {"x.name": "é", "x.n": None, "x.when": "2026-01-01"},
        "missing": ("x.n",),
        "remediation": "fix it",
        "note": "missing field(s): x.n",
    }
    return Finding(**{**fields, **changes})


def test_a_finding_behaves_as_the_frozen_dataclass_it_was() -> None:
    one = finding()
    assert dataclasses.is_dataclass(one)
    assert [f.name for f in dataclasses.fields(one)] == [
        "rule_id", "control_id", "status", "severity", "message", "subject", "rule_span", "evidence",
        "witness", "missing", "remediation", "waiver", "note", "weight",
    ]  # fmt: skip
    assert (one.status, one.subject, one.evidence, one.waiver, one.weight) == (
        Status.FAIL, "s1", (REF,), None, "primary",
    )  # fmt: skip
    # Defaults as before: a finding made with only the required fields has an empty witness of its own.
    bare = Finding(rule_id="r", control_id="A.5.2", status=Status.PASS, severity=Severity.LOW, message="m",
                   subject=None, rule_span=SPAN)  # fmt: skip
    assert (bare.evidence, bare.witness, bare.missing, bare.note) == ((), {}, (), None)
    waived = dataclasses.replace(one, waiver=Waiver(justification="j", approved_by="a", expires="2027-01-01"))
    assert waived.waived
    assert not one.waived
    assert waived.status is Status.FAIL
    assert waived != one
    assert dataclasses.replace(waived, waiver=None) == one
    assert one == new_finding(tuple(one))
    assert one != tuple(one)  # a finding equals findings only, as the dataclass did
    for same in (pickle.loads(pickle.dumps(waived)), copy.copy(waived), copy.deepcopy(waived)):
        assert same == waived
        assert type(same) is Finding
    assert dataclasses.asdict(one)["rule_span"] == {"path": "t.rule", "start": {"line": 2, "column": 3},
                                                    "end": {"line": 2, "column": 9}}  # fmt: skip
    assert repr(one).startswith("Finding(rule_id='A.6.2.8/r', control_id='A.6.2.8', status=<Status.FAIL")
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.status = Status.PASS  # type: ignore[misc]
    with pytest.raises(TypeError):
        sorted([one, waived])  # type: ignore[type-var]  # findings sort by sort_key, never as tuples
    with pytest.raises(TypeError):
        hash(one)


def test_enum_values_and_hashes_are_unchanged_in_use() -> None:
    assert [s.value for s in Status] == ["pass", "fail", "inconclusive", "not_applicable", "error"]
    assert Status("fail") is Status.FAIL
    assert Severity["HIGH"].value == "high"
    assert ControlStatus.NOT_ASSESSED.value == "not_assessed"
    assert {Status.PASS: 1}[Status.PASS] == 1
    assert pickle.loads(pickle.dumps(Status.ERROR)) is Status.ERROR


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"waiver": Waiver(justification="accepted", approved_by="CRO", expires="2027-03-31")},
        {"evidence": (), "witness": {}, "missing": (), "subject": None, "status": Status.INCONCLUSIVE},
        {"witness": {"x.list": [1, "two", None], "x.obj": {"k": 2.5e-7}}, "weight": "supporting"},
    ],
)
def test_to_encodable_writes_what_to_dict_writes(changes: dict[str, Any]) -> None:
    one = finding(**changes)
    assert orjson.dumps(one.to_encodable()) == orjson.dumps(one.to_dict())


def _plain(elements: list[Any]) -> bytes:
    """The findings list as the writer wrote it before batches: each to_dict on its own."""
    return b"[" + b",".join(jsonwriter.encode(f.to_dict(), False, 0) for f in elements) + b"]"


@pytest.mark.parametrize("count", [0, 1, jsonwriter.BATCH, jsonwriter.BATCH + 1, 2 * jsonwriter.BATCH + 7])
def test_batches_write_what_one_element_at_a_time_wrote(count: int) -> None:
    # One finding orjson refuses (an integer beyond 64 bits) in the second batch: that batch is written
    # an element at a time, the standard library taking that one, and the others are unaffected.
    findings = [finding(subject=f"s{n}", witness={"x.n": 2**70 if n == jsonwriter.BATCH + 3 else n})
                for n in range(count)]  # fmt: skip
    out = io.BytesIO()
    write_json({"findings": Stream(findings, encode=Finding.to_encodable, fallback=Finding.to_dict)}, out)
    assert out.getvalue() == b'{"findings":' + _plain(findings) + b"}"
    pretty = io.BytesIO()
    write_json({"findings": Stream(findings, encode=Finding.to_encodable, fallback=Finding.to_dict)}, pretty,
               pretty=True)  # fmt: skip
    expected = json.dumps({"findings": [f.to_dict() for f in findings]}, indent=2, ensure_ascii=False)
    assert pretty.getvalue().decode("utf-8") == expected + "\n"


def test_fragments_are_written_as_they_are_in_batches() -> None:
    texts = [orjson.Fragment(orjson.dumps({"n": n})) for n in range(jsonwriter.BATCH + 2)]
    out = io.BytesIO()
    write_json({"a": Stream(texts)}, out)
    assert json.loads(out.getvalue()) == {"a": [{"n": n} for n in range(jsonwriter.BATCH + 2)]}


def _reference_exit_code(findings: list[Finding]) -> ExitCode:
    """exit_code_for as it was written before the one-pass tally."""
    statuses = {effective_status(f) for f in findings if not f.observation}
    if Status.FAIL in statuses:
        return ExitCode.NONCONFORMITIES
    if statuses & {Status.INCONCLUSIVE, Status.ERROR}:
        return ExitCode.INCONCLUSIVE
    return ExitCode.CONFORMANT


def test_tally_gives_the_exit_code_and_counts_of_the_plain_definitions() -> None:
    waiver = Waiver(justification="j", approved_by="a", expires="2027-01-01")
    kinds = [
        {"status": status, "waiver": w, "weight": weight}
        for status in Status
        for w in (None, waiver)
        for weight in ("primary", "supporting")
    ]
    # Every subset of up to three kinds of finding, each present twice.
    cases = [[kinds[i]] for i in range(len(kinds))]
    cases += [[kinds[i], kinds[j]] for i in range(len(kinds)) for j in range(i, len(kinds))]
    cases += [[kinds[i], kinds[j], kinds[k]] for i in range(0, len(kinds), 3) for j in range(1, len(kinds), 4)
              for k in range(2, len(kinds), 5)]  # fmt: skip
    ruleset = build('control A.6.2.8 "t" {\n  rule r { for each x in svc require x.n > 1 }\n}\n')
    for case in [[], *cases]:
        findings = [finding(subject=f"s{n}", **kind) for n, kind in enumerate(case * 2)]
        assert exit_code_for(findings) == _reference_exit_code(findings), case
        summary = build_result(tuple(findings), ruleset.rules_by_control(), now=NOW, ruleset_digest="0")[
            "summary"
        ]
        assert summary["exit_code"] == int(_reference_exit_code(findings))
        assert summary["findings"] == {s.value: sum(f.status is s for f in findings) for s in Status}
        assert summary["waived"] == sum(f.waived for f in findings)
        assert summary["observations"] == sum(f.observation for f in findings)


def test_evaluated_findings_are_findings_of_the_rule() -> None:
    ruleset = build('control A.6.2.8 "t" {\n  rule r { for each x in svc require x.n > 1 }\n}\n')
    items = [ev("svc", "s1", {"n": 2}), ev("svc", "s2", {"n": 0}), ev("svc", "s3", {})]
    found = evaluate(ruleset, items, now=NOW, collected={"svc": None})
    assert all(type(f) is Finding for f in found)
    assert [(f.subject, f.status, f.missing, f.note) for f in found] == [
        ("s1", Status.PASS, (), None),
        ("s2", Status.FAIL, (), None),
        ("s3", Status.FAIL, ("x.n",), "missing field(s): x.n"),
    ]
    assert found[0] == dataclasses.replace(found[0])


class _Unreadable(dict[str, Any]):
    """Data whose reading fails in a way no rule catches: the evaluation stops with the error."""

    def get(self, *args: Any) -> Any:
        raise RuntimeError("unreadable")


@pytest.mark.parametrize("enabled", [True, False])
def test_evaluation_leaves_the_collector_as_it_was(enabled: bool) -> None:
    # Evaluation pauses collections while each rule runs (when the freeze is its own): whatever the
    # caller had, enabled or not and frozen or not, is what it has afterwards, even when a rule fails.
    ruleset = build('control A.6.2.8 "t" {\n  rule r { for each x in svc require x.n > 1 }\n}\n')
    items = [ev("svc", f"s{n}", {"n": n}) for n in range(5)]
    frozen = gc.get_freeze_count()
    (gc.enable if enabled else gc.disable)()
    try:
        found = evaluate(ruleset, items, now=NOW, collected={"svc": None})
        assert [f.status for f in found] == [Status.FAIL, Status.FAIL, Status.PASS, Status.PASS, Status.PASS]
        assert gc.isenabled() is enabled
        unreadable = dataclasses.replace(items[0], source="s9", data=_Unreadable())
        with pytest.raises(RuntimeError, match="unreadable"):
            evaluate(ruleset, [*items, unreadable], now=NOW, collected={"svc": None})
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() == frozen
    finally:
        gc.enable()
