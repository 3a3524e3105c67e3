"""The nonconformity register, replayed from a real store holding several recorded scans."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from annexa.app.scan import apply_policy
from annexa.audit.nonconformities import (
    REGISTER_SCHEMA_VERSION,
    SUBJECT_GONE,
    UNDECLARED_NOT_APPLICABLE,
    Action,
    ClosedBy,
    ClosureRecord,
    Register,
    age_band,
    build_register,
    render_csv,
    render_json,
    render_markdown,
    scan_view,
)
from annexa.cli.main import main
from annexa.model.diagnostics import Position, Span
from annexa.model.evidence import Evidence
from annexa.model.findings import ControlResult, ControlStatus, Finding, Severity, Status, Waiver
from annexa.plugins.config import Applicability, Config
from annexa.store import ScanRecord, Store, new_scan_id, open_store

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
CAPTURE = "A.6.2.8/endpoint_data_capture"
POLICY = "A.2.2/ai_policy_current"
SPAN = Span("rules/annex_a/a_6_2_8.rule", Position(1, 1), Position(2, 1))


def _evidence(subject: str, at: datetime) -> Evidence:
    return Evidence(
        kind="document", source=subject, scope={}, collector="test 1", collected_at=at, data={"id": subject}
    )


def _finding(
    rule: str, subject: str | None, status: Status, at: datetime, *, waived: bool = False
) -> Finding:
    return Finding(
        rule_id=rule,
        control_id=rule.split("/")[0],
        status=status,
        severity=Severity.HIGH if rule == CAPTURE else Severity.MEDIUM,
        message=f"{rule} {subject} is {status.value}",
        subject=subject,
        rule_span=SPAN,
        evidence=(_evidence(subject or rule, at).ref(),),
        waiver=Waiver(justification="accepted", approved_by="CRO", expires="2027-01-01") if waived else None,
    )


def _record(
    at: datetime, findings: Iterable[Finding], rules: Iterable[str] = (CAPTURE, POLICY)
) -> ScanRecord:
    found = tuple(findings)
    controls = []
    for rule in sorted(set(rules)):
        mine = [f for f in found if f.rule_id == rule]
        status = ControlStatus.FAIL if any(f.status is Status.FAIL for f in mine) else ControlStatus.PASS
        group = rule.split("/")[0].rsplit(".", 1)[0] if rule.count(".") == 2 else "A.6"
        controls.append(
            ControlResult(
                id=rule.split("/")[0], title="t", group=group, status=status, rules=(rule,), counts={}
            )
        )
    return ScanRecord(
        scan_id=new_scan_id(at),
        started_at=at,
        finished_at=at + timedelta(seconds=2),
        rule_pack_digest="a" * 64,
        config_digest="b" * 64,
        evidence_ids=(),
        findings=found,
        controls=tuple(controls),
    )


def _history(store: Store, records: Iterable[ScanRecord]) -> list[Any]:
    for record in records:
        store.put_evidence([_evidence(f.subject or f.rule_id, T0) for f in record.findings])
        store.record_scan(record)
    return [scan_view(store.load_scan(s.digest).record) for s in store.scans()]


@pytest.fixture
def store(tmp_path: Path) -> Iterable[Store]:
    with open_store(tmp_path / ".annexa") as opened:
        yield opened


def test_open_close_reopen_across_recorded_scans(store: Store) -> None:
    day = timedelta(days=1)
    ep1, ep2 = "arn:endpoint/fraud", "arn:endpoint/chat"
    views = _history(
        store,
        [
            _record(T0, [_finding(CAPTURE, ep1, Status.FAIL, T0), _finding(CAPTURE, ep2, Status.PASS, T0)]),
            _record(
                T0 + 10 * day,
                [_finding(CAPTURE, ep1, Status.PASS, T0), _finding(CAPTURE, ep2, Status.FAIL, T0)],
            ),
            _record(
                T0 + 20 * day,
                [_finding(CAPTURE, ep1, Status.FAIL, T0), _finding(CAPTURE, ep2, Status.FAIL, T0)],
            ),
        ],
    )
    register = build_register(views)
    by_subject = {nc.subject: nc for nc in register.nonconformities}
    fraud, chat = by_subject[ep1], by_subject[ep2]
    # the fraud endpoint: opened, fixed 10 days later, regressed: reopened under the same id
    assert fraud.state == "reopened"
    assert [(e.opened_at, e.closed_at) for e in fraud.episodes] == [
        (T0, T0 + 10 * day),
        (T0 + 20 * day, None),
    ]
    assert fraud.first_seen == T0
    assert fraud.last_seen == T0 + 20 * day
    assert fraud.age_days == 0  # the current episode opened at the latest scan
    assert chat.state == "open"
    assert chat.age_days == 10
    assert fraud.id == f"NC-{_finding(CAPTURE, ep1, Status.FAIL, T0).id}"
    figures = register.figures
    assert (figures["total"], figures["open"], figures["closed"], figures["reopened"]) == (2, 2, 0, 1)
    assert figures["mean_days_to_close"] == 10.0
    assert figures["open_by_age"]["0-30 days"] == 2
    assert register.as_of == T0 + 20 * day


def test_a_vanished_subject_leaves_it_open_as_evidence_withdrawn(store: Store) -> None:
    # Deleting the evidence that failed must not close the nonconformity (it used to: "closed").
    day = timedelta(days=1)
    views = _history(
        store,
        [
            _record(
                T0,
                [
                    _finding(CAPTURE, "arn:endpoint/old", Status.FAIL, T0),
                    _finding(POLICY, None, Status.FAIL, T0),
                ],
            ),
            # the capture rule was not part of this scan: its nonconformity stays open
            _record(T0 + 5 * day, [_finding(POLICY, None, Status.INCONCLUSIVE, T0)], rules=(POLICY,)),
            # the endpoint is gone (the rule ran, the subject vanished); the policy is still unproven
            _record(T0 + 40 * day, [_finding(POLICY, None, Status.INCONCLUSIVE, T0)]),
        ],
    )
    register = build_register(views)
    by_rule = {nc.rule: nc for nc in register.nonconformities}
    capture = by_rule[CAPTURE]
    assert capture.is_open
    assert capture.state == "evidence_withdrawn"
    assert len(capture.episodes) == 1
    assert capture.episodes[0].closed_at is None
    # withdrawn in the scan where the rule ran without the subject, not in the one that skipped the rule
    assert capture.episodes[0].withdrawn_in == views[2].scan_id
    assert capture.episodes[0].withdrawn_because == SUBJECT_GONE
    assert capture.note is not None
    assert capture.note.startswith(
        "the evidence this finding rested on is no longer collected; the nonconformity stays open until "
        "a passing finding or a closure record"
    )
    assert capture.age_days == 40  # it keeps ageing
    assert by_rule[POLICY].state == "open"  # inconclusive proves nothing: still open
    assert by_rule[POLICY].age_days == 40
    figures = register.figures
    assert (figures["open"], figures["evidence_withdrawn"], figures["closed"]) == (2, 1, 0)
    assert figures["closed_episodes"] == 0
    assert figures["open_by_age"] == {
        "0-30 days": 0,
        "31-90 days": 2,
        "91-180 days": 0,
        "over 180 days": 0,
    }
    row = capture.to_dict()
    assert (row["state"], row["closed_at"], row["closed_by"]) == ("evidence_withdrawn", None, None)
    assert row["evidence_withdrawn_in"] == views[2].scan_id
    assert row["episodes"][0]["evidence_withdrawn_in"] == views[2].scan_id


def test_a_withdrawn_subject_that_comes_back_failing_is_open_in_the_same_episode(store: Store) -> None:
    day = timedelta(days=1)
    views = _history(
        store,
        [
            _record(T0, [_finding(CAPTURE, "arn:a", Status.FAIL, T0)]),
            _record(T0 + day, []),
            _record(T0 + 2 * day, []),
            _record(T0 + 3 * day, [_finding(CAPTURE, "arn:a", Status.FAIL, T0)]),
        ],
    )
    (nc,) = build_register(views).nonconformities
    assert nc.state == "open"  # not "reopened": it never closed
    assert len(nc.episodes) == 1
    assert nc.episodes[0].opened_in == views[0].scan_id
    assert nc.episodes[0].withdrawn_in is None
    assert nc.note is None
    assert nc.last_seen == T0 + 3 * day


def test_a_withdrawn_subject_that_comes_back_passing_closes(store: Store) -> None:
    day = timedelta(days=1)
    views = _history(
        store,
        [
            _record(T0, [_finding(CAPTURE, "arn:a", Status.FAIL, T0)]),
            _record(T0 + day, []),
            _record(T0 + 4 * day, [_finding(CAPTURE, "arn:a", Status.PASS, T0)]),
        ],
    )
    register = build_register(views)
    (nc,) = register.nonconformities
    assert nc.state == "closed"
    (episode,) = nc.episodes
    assert (episode.closed_at, episode.closed_in) == (T0 + 4 * day, views[2].scan_id)
    assert episode.closed_by is ClosedBy.PASSED
    assert episode.closure == f"passed in scan {views[2].scan_id}"
    assert nc.to_dict()["closed_by"] == "passed"
    assert register.figures["closed_episodes_by"] == {
        "passed": 1,
        "declared_not_applicable": 0,
        "closure_record": 0,
    }
    assert register.figures["mean_days_to_close"] == 4.0


def test_not_applicable_without_a_declaration_does_not_close(store: Store) -> None:
    day = timedelta(days=1)
    undeclared = dataclasses.replace(
        _finding(CAPTURE, "arn:a", Status.NOT_APPLICABLE, T0), note="endpoint is not in production"
    )
    views = _history(
        store,
        [
            _record(T0, [_finding(CAPTURE, "arn:a", Status.FAIL, T0)]),
            _record(T0 + day, [undeclared]),
        ],
    )
    (nc,) = build_register(views).nonconformities
    assert nc.is_open
    assert nc.state == "evidence_withdrawn"
    assert nc.episodes[-1].withdrawn_because == UNDECLARED_NOT_APPLICABLE
    assert nc.episodes[-1].withdrawn_in == views[1].scan_id


def test_a_control_declared_not_applicable_closes_it_by_declaration(store: Store) -> None:
    day = timedelta(days=1)
    config = Config(
        path="annexa.yaml",
        base_path=".",
        version=1,
        organization="",
        collectors={},
        rule_paths=(),
        params={},
        applicability=(
            Applicability(control="A.6.2.8", applicable=False, justification="We run no endpoints."),
        ),
    )
    # the note is made the way a scan makes it, so the register and the scan cannot drift apart
    declared = apply_policy((_finding(CAPTURE, "arn:a", Status.FAIL, T0),), config, T0 + day)
    assert declared[0].status is Status.NOT_APPLICABLE
    views = _history(
        store,
        [
            _record(T0, [_finding(CAPTURE, "arn:a", Status.FAIL, T0)]),
            _record(T0 + day, declared),
            _record(T0 + 2 * day, [_finding(CAPTURE, "arn:a", Status.FAIL, T0)]),  # applicable again
        ],
    )
    (nc,) = build_register(views).nonconformities
    first, second = nc.episodes
    assert first.closed_by is ClosedBy.DECLARED_NOT_APPLICABLE
    assert first.closed_in == views[1].scan_id
    assert first.closure == "control declared not applicable: We run no endpoints."
    assert second.closed_at is None
    assert nc.state == "reopened"


def _closure(on: date) -> Action:
    return Action(
        rule=CAPTURE,
        control=None,
        subject="arn:a",
        owner="ML lead",
        action="enable capture",
        due=date(2026, 3, 1),
        closed=ClosureRecord(on=on, by="Jane Auditor", justification="endpoint decommissioned, ticket 42"),
    )


def test_a_closure_record_closes_and_a_later_failure_reopens(store: Store) -> None:
    day = timedelta(days=1)
    views = _history(
        store,
        [
            _record(T0, [_finding(CAPTURE, "arn:a", Status.FAIL, T0)]),
            _record(T0 + day, []),  # withdrawn: only a pass or a closure record can close it now
            _record(T0 + 5 * day, []),  # the first scan on or after the closure's date
            _record(T0 + 6 * day, []),
            _record(T0 + 9 * day, [_finding(CAPTURE, "arn:a", Status.FAIL, T0)]),
            _record(T0 + 10 * day, [_finding(CAPTURE, "arn:a", Status.FAIL, T0)]),
        ],
    )
    actions = [_closure((T0 + 3 * day).date())]
    # before the failure came back: closed by the record, as of the first scan on or after its date
    closed = build_register(views[:4], actions)
    (nc,) = closed.nonconformities
    assert nc.state == "closed"
    (episode,) = nc.episodes
    assert episode.closed_by is ClosedBy.CLOSURE_RECORD
    assert episode.closed_in == views[2].scan_id
    assert episode.closure_record == actions[0].closed
    assert episode.closure == (
        f"closure record by Jane Auditor on {(T0 + 3 * day).date().isoformat()}: "
        "endpoint decommissioned, ticket 42"
    )
    assert closed.figures["closed_episodes_by"]["closure_record"] == 1
    row = nc.to_dict()
    assert row["closed_by"] == "closure_record"
    assert row["episodes"][0]["closure_record"] == {
        "date": (T0 + 3 * day).date().isoformat(),
        "by": "Jane Auditor",
        "justification": "endpoint decommissioned, ticket 42",
    }
    # the failure afterwards opens a new episode; the record, already spent, never closes it again
    (nc,) = build_register(views, actions).nonconformities
    assert nc.state == "reopened"
    assert [e.closed_by for e in nc.episodes] == [ClosedBy.CLOSURE_RECORD, None]
    assert nc.age_days == 1
    assert nc.episodes[1].opened_in == views[4].scan_id
    assert nc.note is not None
    assert "predates this episode" in nc.note


def test_a_closure_record_dated_after_the_latest_scan_closes_nothing_yet(store: Store) -> None:
    views = _history(store, [_record(T0, [_finding(CAPTURE, "arn:a", Status.FAIL, T0)])])
    (nc,) = build_register(views, [_closure(date(2026, 2, 1))]).nonconformities
    assert nc.state == "open"
    assert nc.note == (
        "closure record of 2026-02-01 by Jane Auditor takes effect at the first scan on or after that date"
    )


def test_inconclusive_error_and_waived_findings_change_nothing(store: Store) -> None:
    day = timedelta(days=1)
    later = [
        [_finding(CAPTURE, "arn:a", Status.INCONCLUSIVE, T0), _finding(CAPTURE, "arn:b", Status.FAIL, T0)],
        [_finding(CAPTURE, "arn:a", Status.ERROR, T0), _finding(CAPTURE, "arn:b", Status.FAIL, T0)],
        [
            _finding(CAPTURE, "arn:a", Status.FAIL, T0, waived=True),
            _finding(CAPTURE, "arn:b", Status.INCONCLUSIVE, T0),
        ],
    ]
    views = _history(
        store,
        [
            _record(T0, [_finding(CAPTURE, "arn:a", Status.FAIL, T0)]),
            _record(T0 + day, []),  # arn:a withdrawn; inconclusive, error or a waiver do not undo that
            *(_record(T0 + (2 + n) * day, findings) for n, findings in enumerate(later)),
        ],
    )
    by_subject = {nc.subject: nc for nc in build_register(views).nonconformities}
    withdrawn, failing = by_subject["arn:a"], by_subject["arn:b"]
    assert withdrawn.state == "evidence_withdrawn"
    assert withdrawn.episodes[0].withdrawn_in == views[1].scan_id
    assert len(withdrawn.episodes) == 1
    assert failing.state == "open"  # opened in scan 3, then inconclusive: neither closed nor withdrawn
    assert len(failing.episodes) == 1
    assert failing.episodes[0].withdrawn_in is None


def test_renderings_show_the_state_and_how_it_closed(store: Store) -> None:
    day = timedelta(days=1)
    views = _history(
        store,
        [
            _record(
                T0, [_finding(CAPTURE, "arn:a", Status.FAIL, T0), _finding(CAPTURE, "arn:b", Status.FAIL, T0)]
            ),
            _record(T0 + day, [_finding(CAPTURE, "arn:b", Status.PASS, T0)]),
        ],
    )
    register: Register = build_register(views)
    payload = json.loads(render_json(register))
    assert payload["schema_version"] == REGISTER_SCHEMA_VERSION == 2
    rows = {row["subject"]: row for row in payload["nonconformities"]}
    assert rows["arn:a"]["state"] == "evidence_withdrawn"
    assert rows["arn:b"]["closed_by"] == "passed"
    parsed = {row["subject"]: row for row in csv.DictReader(io.StringIO(render_csv(register)))}
    assert parsed["arn:a"]["state"] == "evidence_withdrawn"
    assert parsed["arn:a"]["evidence_withdrawn_in"] == views[1].scan_id
    assert parsed["arn:a"]["note"].startswith("the evidence this finding rested on is no longer collected")
    assert parsed["arn:b"]["closed_by"] == "passed"
    text = render_markdown(register)
    assert "(2 open" not in text
    assert "- Nonconformities: 2 (1 open, of which 1 with evidence withdrawn; 1 closed;" in text
    assert "over 1 closed episode(s) (passed: 1)" in text
    (line,) = [row for row in text.splitlines() if row.startswith("| NC-") and "arn:a" in row]
    assert "| evidence withdrawn |" in line
    assert "no longer collected" in line


def test_waived_failures_open_nothing(store: Store) -> None:
    views = _history(store, [_record(T0, [_finding(CAPTURE, "arn:x", Status.FAIL, T0, waived=True)])])
    assert build_register(views).nonconformities == ()


def test_actions_match_rule_and_subject_first_then_rule_then_control(store: Store) -> None:
    views = _history(
        store,
        [
            _record(
                T0,
                [
                    _finding(CAPTURE, "arn:a", Status.FAIL, T0),
                    _finding(CAPTURE, "arn:b", Status.FAIL, T0),
                    _finding(POLICY, None, Status.FAIL, T0),
                ],
            )
        ],
    )
    actions = (
        Action(
            rule=None,
            control="A.2.2",
            subject=None,
            owner="CRO",
            action="approve the policy",
            due=date(2025, 12, 1),
        ),
        Action(
            rule=CAPTURE,
            control=None,
            subject=None,
            owner="ML lead",
            action="enable capture",
            due=date(2026, 3, 1),
        ),
        Action(
            rule=CAPTURE,
            control=None,
            subject="arn:b",
            owner="Chat team",
            action="retire it",
            due=date(2026, 2, 1),
        ),
    )
    register = build_register(views, actions)
    owners = {
        (nc.rule, nc.subject): (nc.action.owner if nc.action else None) for nc in register.nonconformities
    }
    assert owners == {(CAPTURE, "arn:a"): "ML lead", (CAPTURE, "arn:b"): "Chat team", (POLICY, None): "CRO"}
    overdue = {nc.rule for nc in register.nonconformities if nc.is_overdue}
    assert overdue == {POLICY}  # due 2025-12-01, before the scan of 2026-01-10
    assert register.figures["overdue"] == 1
    assert register.figures["without_owner"] == 0


def test_clause_findings_get_their_own_readiness_line(store: Store) -> None:
    audit = "CL.9.2/internal_audit_performed"
    views = _history(
        store,
        [_record(T0, [_finding(audit, None, Status.FAIL, T0), _finding(POLICY, None, Status.PASS, T0)])],
    )
    register = build_register(views)
    assert [nc.rule for nc in register.nonconformities] == [audit]
    assert register.clauses is not None
    assert register.clauses["counts"]["fail"] == 1
    assert register.clauses["counts"]["not_assessed"] == 8  # the other clauses' rules did not run here
    assert register.clauses["readiness"] == 0.0
    assert "| CL | Main-body clauses 4 to 10 | 9 | 0 | 1 | 0% |" in render_markdown(register)


def test_age_bands() -> None:
    assert [age_band(d) for d in (0, 30, 31, 90, 91, 180, 181)] == [
        "0-30 days",
        "0-30 days",
        "31-90 days",
        "31-90 days",
        "91-180 days",
        "91-180 days",
        "over 180 days",
    ]


def test_empty_history_gives_an_empty_register() -> None:
    register = build_register([])
    assert register.nonconformities == ()
    assert register.as_of is None
    assert register.figures["mean_days_to_close"] is None


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


def test_command_reads_the_store_and_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "annexa.yaml"
    config.write_text(
        "version: 1\n"
        "nonconformities:\n"
        "  - rule: A.6.2.8/endpoint_data_capture\n"
        "    owner: Head of ML | Platform\n"
        "    action: Enable data capture\n"
        "    due: 2026-02-01\n"
        "store:\n  path: ./.annexa\n",
        encoding="utf-8",
    )
    with open_store(tmp_path / ".annexa") as store:
        _history(
            store,
            [
                _record(
                    T0, [_finding(CAPTURE, "arn:a", Status.FAIL, T0), _finding(POLICY, None, Status.FAIL, T0)]
                ),
                _record(
                    T0 + timedelta(days=3),
                    [_finding(CAPTURE, "arn:a", Status.FAIL, T0), _finding(POLICY, None, Status.PASS, T0)],
                ),
            ],
        )
    code, text = _cli("nonconformities", "-c", str(config), "--format", "json")
    assert code == 0
    payload = json.loads(text)
    assert payload["scans"] == 2
    rows = {row["rule"]: row for row in payload["nonconformities"]}
    assert rows[CAPTURE]["owner"] == "Head of ML | Platform"
    assert rows[CAPTURE]["due"] == "2026-02-01"
    assert rows[CAPTURE]["age_days"] == 3
    assert rows[POLICY]["state"] == "closed"
    assert payload["figures"]["mean_days_to_close"] == 3.0
    code, text = _cli("nonconformities", "-c", str(config), "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [row["state"] for row in parsed] == ["open", "closed"]
    code, text = _cli("nonconformities", "-c", str(config))
    assert "Head of ML \\| Platform" in text  # escaped inside the Markdown table
    assert "Mean time to close: 3.0 days over 1 closed episode(s)" in text
    again = _cli("nonconformities", "-c", str(config), "--format", "json")[1]
    assert again == _cli("nonconformities", "-c", str(config), "--format", "json")[1]  # deterministic


def test_command_applies_a_closure_record_from_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "annexa.yaml"
    config.write_text(
        "version: 1\n"
        "nonconformities:\n"
        "  - rule: A.2.2/ai_policy_current\n"
        "    owner: CRO\n"
        "    action: Approve the policy\n"
        "    due: 2026-02-01\n"
        "  - rule: A.6.2.8/endpoint_data_capture\n"
        "    subject: arn:a\n"
        "    owner: ML lead\n"
        "    action: Retire the endpoint\n"
        "    due: 2026-02-01\n"
        "    closed:\n"
        "      date: 2026-01-12\n"
        "      by: Jane Auditor\n"
        "      justification: endpoint retired, change 7\n"
        "store:\n  path: ./.annexa\n",
        encoding="utf-8",
    )
    with open_store(tmp_path / ".annexa") as store:
        _history(
            store,
            [
                _record(
                    T0, [_finding(CAPTURE, "arn:a", Status.FAIL, T0), _finding(POLICY, None, Status.FAIL, T0)]
                ),
                _record(T0 + timedelta(days=3), [_finding(POLICY, None, Status.FAIL, T0)]),
            ],
        )
    code, text = _cli("nonconformities", "-c", str(config), "--format", "json")
    assert code == 0
    rows = {row["rule"]: row for row in json.loads(text)["nonconformities"]}
    assert rows[CAPTURE]["state"] == "closed"
    assert rows[CAPTURE]["closed_by"] == "closure_record"
    assert (
        rows[CAPTURE]["closure"] == "closure record by Jane Auditor on 2026-01-12: endpoint retired, change 7"
    )
    assert rows[POLICY]["state"] == "open"
    assert rows[POLICY]["owner"] == "CRO"


def test_config_rejects_a_closure_record_without_its_author(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "annexa.yaml"
    config.write_text(
        "version: 1\nnonconformities:\n  - control: A.6.2.8\n    owner: someone\n    action: fix it\n"
        "    due: 2026-02-01\n    closed:\n      date: 2026-01-12\n      justification: done\n",
        encoding="utf-8",
    )
    assert main(["nonconformities", "-c", str(config)]) == 4
    assert "missing required key `nonconformities[0].closed.by`" in capsys.readouterr().err


def test_config_rejects_an_action_naming_neither_rule_nor_control(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "annexa.yaml"
    config.write_text(
        "version: 1\nnonconformities:\n  - owner: someone\n    action: fix it\n    due: 2026-02-01\n",
        encoding="utf-8",
    )
    assert main(["nonconformities", "-c", str(config)]) == 4
    assert "error[E602]: `nonconformities[0]` needs `rule` or `control`" in capsys.readouterr().err


def test_without_a_store_the_command_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "annexa.yaml"
    config.write_text("version: 1\n", encoding="utf-8")
    assert main(["nonconformities", "-c", str(config)]) == 4
    assert "no annexa store" in capsys.readouterr().err
