"""Drift between two scans, matched by the stable finding id."""

from __future__ import annotations

from annexa.audit.drift import Change, compare
from annexa.model.diagnostics import Position, Span
from annexa.model.findings import ControlResult, ControlStatus, Finding, Severity, Status, Waiver

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


def test_every_category() -> None:
    old = [
        finding("a", Status.FAIL),  # still failing
        finding("b", Status.FAIL),  # fixed
        finding("c", Status.PASS),  # new failure
        finding("d", Status.PASS),  # unchanged
        finding("e", Status.PASS),  # pass -> inconclusive: changed
        finding("f", Status.FAIL),  # vanished
        finding("g", Status.FAIL),  # waived now: counts as fixed
        finding(None, Status.PASS, rule="A.10.2/reporting"),  # rule-level finding, unchanged
    ]
    new = [
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
