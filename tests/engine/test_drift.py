"""Drift between two scans, matched by the stable finding id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_store_shared import database, postgres_url  # noqa: F401  # fixtures: a real PostgreSQL

from annexa.audit.drift import Change, compare
from annexa.model.diagnostics import Position, Span
from annexa.model.findings import ControlResult, ControlStatus, Finding, Severity, Status, Waiver
from annexa.reports.stored import drift_between
from annexa.store import ScanRecord, Store, new_scan_id, open_store

SPAN = Span("rules/annex_a/a_6_2_8.rule", Position(1, 1), Position(9, 2))


def finding(
    subject: str | None, status: Status, *, rule: str = "A.6.2.8/capture", waived: bool = False
) -> Finding:
    return Finding(
        rule_id=rule,
        control_id=rule.split("/")[0],
        status=status,
        severity=Severity.HIGH,
        message=f"{subject}: {status.value}",
        subject=subject,
        rule_span=SPAN,
        waiver=Waiver(justification="retiring", approved_by="CISO", expires="2027-03-31") if waived else None,
    )


def control(cid: str, status: ControlStatus) -> ControlResult:
    return ControlResult(id=cid, title=cid, group=cid[:3], status=status, rules=(), counts={})


OLD = [
    finding("a", Status.FAIL),  # still failing
    finding("b", Status.FAIL),  # fixed
    finding("c", Status.PASS),  # new failure
    finding("d", Status.PASS),  # unchanged
    finding("e", Status.PASS),  # pass -> inconclusive: changed
    finding("f", Status.FAIL),  # vanished
    finding("g", Status.FAIL),  # waived now: counts as fixed
    finding(None, Status.PASS, rule="A.10.2/reporting"),  # rule-level finding, unchanged
]
NEW = [
    finding("a", Status.FAIL),
    finding("b", Status.PASS),
    finding("c", Status.FAIL),
    finding("d", Status.PASS),
    finding("e", Status.INCONCLUSIVE),
    finding("g", Status.FAIL, waived=True),
    finding("h", Status.FAIL),  # new subject, failing: a new failure
    finding("i", Status.NOT_APPLICABLE),  # new subject, not failing
    finding(None, Status.PASS, rule="A.10.2/reporting"),
]


def test_every_category() -> None:
    old, new = OLD, NEW
    drift = compare(old, new)
    by_subject = {c.subject: c.change for c in drift.findings}
    assert by_subject == {
        "a": Change.STILL_FAILING,
        "b": Change.FIXED,
        "c": Change.NEW_FAILURE,
        "d": Change.UNCHANGED,
        "e": Change.CHANGED,
        "f": Change.VANISHED,
        "g": Change.FIXED,
        "h": Change.NEW_FAILURE,
        "i": Change.NEW_SUBJECT,
        None: Change.UNCHANGED,
    }
    assert [c.subject for c in drift.new_failures] == ["c", "h"]
    assert [c.subject for c in drift.new_subjects] == ["h", "i"]
    assert [c.subject for c in drift.vanished] == ["f"]
    assert drift.vanished[0].before is Status.FAIL
    assert drift.vanished[0].after is None
    # Sorted by control (A.6 before A.10, numerically), rule, subject.
    assert drift.findings[-1].control_id == "A.10.2"
    assert drift.counts()["fixed"] == 2
    assert all(item["change"] != "unchanged" for item in drift.to_dict()["findings"])


def test_control_status_changes() -> None:
    drift = compare(
        [],
        [],
        old_controls=[control("A.6.2.8", ControlStatus.FAIL), control("A.5.2", ControlStatus.PASS)],
        new_controls=[control("A.6.2.8", ControlStatus.PASS), control("A.5.2", ControlStatus.PASS),
                      control("A.10.2", ControlStatus.INCONCLUSIVE)],
    )  # fmt: skip
    assert [(c.id, c.before, c.after) for c in drift.controls] == [
        ("A.6.2.8", ControlStatus.FAIL, ControlStatus.PASS),
        ("A.10.2", None, ControlStatus.INCONCLUSIVE),
    ]


def test_identical_scans_have_no_drift() -> None:
    findings = [finding(s, Status.FAIL if s == "x" else Status.PASS) for s in ("x", "y", "z")]
    drift = compare(findings, findings)
    assert {c.change for c in drift.findings} == {Change.UNCHANGED, Change.STILL_FAILING}
    assert drift.new_failures == drift.fixed == drift.vanished == ()


# -- the drift of two recorded scans, from the store's index ---------------------------------------------


def recorded_drift(store: Store, old: list[Finding], new: list[Finding]) -> dict[str, Any]:
    """drift_between two scans recorded with these findings (and a control that is fixed between them)."""
    digests = []
    for day, findings in enumerate((old, new)):
        at = datetime(2026, 11, 1 + day, tzinfo=UTC)
        status = ControlStatus.PASS if day else ControlStatus.FAIL
        record = ScanRecord(
            scan_id=new_scan_id(at),
            started_at=at,
            finished_at=at,
            rule_pack_digest="a" * 64,
            config_digest="b" * 64,
            evidence_ids=(),
            findings=tuple(findings),
            controls=(control("A.6.2.8", status),),
        )
        digests.append(store.record_scan(record))
    return drift_between(store, digests[0], digests[1])


def expected_drift(old: list[Finding], new: list[Finding]) -> dict[str, Any]:
    controls = {"old_controls": (control("A.6.2.8", ControlStatus.FAIL),)}
    return compare(old, new, **controls, new_controls=(control("A.6.2.8", ControlStatus.PASS),)).to_dict()


@pytest.mark.parametrize("backend", ["directory", "postgresql"])
def test_both_stores_give_the_drift_of_every_category(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    location, evidence = str(tmp_path / "store"), None
    if backend == "postgresql":
        location, evidence = request.getfixturevalue("database"), str(tmp_path / "locker")
    with open_store(location, evidence=evidence) as store:
        assert recorded_drift(store, OLD, NEW) == expected_drift(OLD, NEW)


STATUSES = list(Status)
SUBJECTS = [None, *"abcdefgh"]
RULES = ["A.6.2.8/capture", "A.10.2/reporting", "A.4.2/inventory"]


@st.composite
def scan_findings(draw: st.DrawFn) -> list[Finding]:
    """A scan's findings: some rules and subjects (each pair once), any status, some waived."""
    keys = draw(st.sets(st.tuples(st.sampled_from(RULES), st.sampled_from(SUBJECTS)), max_size=14))
    return [
        finding(subject, draw(st.sampled_from(STATUSES)), rule=rule, waived=draw(st.booleans()))
        for rule, subject in sorted(keys, key=lambda key: (key[0], key[1] or ""))
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=scan_findings(), new=scan_findings())
def test_the_index_gives_the_drift_the_findings_give(
    tmp_path: Path, old: list[Finding], new: list[Finding]
) -> None:
    """drift_between (the index's rows, only the changes held) is compare() of the recorded findings."""
    with open_store(tmp_path / f"s{uuid.uuid4().hex}") as store:
        assert recorded_drift(store, old, new) == expected_drift(old, new)
