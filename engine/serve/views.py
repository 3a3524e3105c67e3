"""What each page shows, as plain data: the HTML pages render it and the JSON API returns it as is.

Nothing is re-derived here: control statuses come from the scans' own control results, nonconformities
from :func:`annexa.audit.nonconformities.build_register`, drift from :func:`annexa.audit.drift.compare`,
the SoA from :func:`annexa.audit.soa.build_soa`, and which AI system a finding is about from the readiness
report's :func:`annexa.reports.readiness.finding_systems`. A recorded scan never changes (its manifest is
named by its digest), so what is read of one is kept in memory and only new scans are read.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from annexa.audit.drift import compare
from annexa.audit.nonconformities import Action, Register, ScanView, build_register, scan_view
from annexa.audit.soa import Declaration, ExceptionInForce, build_soa, scan_info
from annexa.contract.catalog import Catalog, load_catalog
from annexa.model.evidence import format_timestamp
from annexa.model.findings import (
    ControlStatus,
    Finding,
    control_sort_key,
    effective_status,
    rollup_status,
)
from annexa.model.observations import SCOPE_KIND
from annexa.reports.readiness import finding_systems
from annexa.serve.state import ServeState, now_utc
from annexa.store import Store, StoredScan, StoreError

TREND_POINTS: Final = 30
HISTORY_POINTS: Final = 50
STATUSES: Final = tuple(status.value for status in ControlStatus)


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """What the configuration adds to the store (all optional: the store alone serves every page)."""

    organization: str = ""
    declarations: Mapping[str, Declaration] = field(default_factory=dict)
    actions: tuple[Action, ...] = ()
    exceptions: tuple[Any, ...] = ()  # the configuration's RuleException entries (in_force(date))


class NotFound(LookupError):
    """The page's subject (control, system, nonconformity, scan, evidence) does not exist."""


@dataclass(slots=True)
class _Latest:
    head: str
    scan: StoredScan
    items: dict[str, dict[str, Any]]  # the latest scan's evidence, by id
    systems: dict[str, dict[str, Any]]  # declared AI systems (id -> the ai_system item's data)
    finding_systems: dict[str, set[str]]  # finding id -> the systems it is about


class Views:
    """Page data over one store and the dashboard's state; safe to share between requests."""

    def __init__(
        self, store: Store, state: ServeState, policy: Policy, *, expect_every: timedelta | None = None
    ) -> None:
        self.store = store
        self.state = state
        self.policy = policy
        self.expect_every = expect_every
        self.catalog: Catalog = load_catalog()
        self._lock = threading.RLock()
        self._views: dict[str, ScanView] = {}  # manifest digest -> what the register needs of it
        self._order: list[tuple[int, str, str, str]] = []  # (seq, scan id, digest, finished_at), oldest first
        self._latest: _Latest | None = None
        self._register: tuple[tuple[str, int], Register] | None = None

    # -- reading the history, incrementally ----------------------------------------------------------

    def _refresh(self) -> None:
        rows = self.store.query(
            "SELECT seq, scan_id, manifest, finished_at FROM scans WHERE seq > ? ORDER BY seq",
            (self._order[-1][0] if self._order else 0,),
        )
        for seq, scan_id, digest, finished in rows:
            record = self.store.load_scan(str(digest)).record
            self._views[str(digest)] = scan_view(record)
            self._order.append((int(seq), str(scan_id), str(digest), str(finished)))

    def history(self) -> list[tuple[int, str, str, str]]:
        with self._lock:
            self._refresh()
            return list(self._order)

    def _latest_scan(self) -> _Latest | None:
        order = self.history()
        if not order:
            return None
        head = order[-1][2]
        with self._lock:
            if self._latest is not None and self._latest.head == head:
                return self._latest
            scan = self.store.load_scan(head)
            items = {item.id: item.to_dict() for item in self.store.evidence_of(scan)}
            for finding in scan.record.findings:
                for ref in finding.evidence:
                    if ref.id not in items:
                        items[ref.id] = self.store.load_evidence(ref.id).to_dict()
            systems = {
                str(item["data"]["id"]): dict(item["data"])
                for item in items.values()
                if item["kind"] == SCOPE_KIND and isinstance(item["data"].get("id"), str)
            }
            attributed = {f.id: finding_systems(f.to_dict(), items) for f in scan.record.findings}
            self._latest = _Latest(head=head, scan=scan, items=items, systems=systems,
                                   finding_systems=attributed)  # fmt: skip
            return self._latest

    def actions(self) -> tuple[Action, ...]:
        """The dashboard's corrective actions first (most recent word), then the configuration's."""
        written = tuple(
            Action(rule=a.rule, control=None, subject=a.subject, owner=a.owner, action=a.notes, due=a.due)
            for a in self.state.actions().values()
        )
        return written + self.policy.actions

    def register(self) -> Register:
        order = self.history()
        key = (order[-1][2] if order else "", self.state.version())
        with self._lock:
            if self._register is None or self._register[0] != key:
                views = [self._views[digest] for _, _, digest, _ in order]
                self._register = (key, build_register(views, self.actions(), self.catalog))
            return self._register[1]

    # -- pages ---------------------------------------------------------------------------------------

    def overview(self) -> dict[str, Any]:
        order = self.history()
        latest = self._latest_scan()
        register = self.register()
        trend = [
            {"scan": scan_id, "finished_at": finished, "controls": _status_counts(self._views[digest])}
            for _, scan_id, digest, finished in order[-TREND_POINTS:]
        ]
        if latest is None:
            return {"organization": self.policy.organization, "store": self.store.location, "scans": 0,
                    "latest_scan": None, "schedule": self._schedule(None), "groups": [], "systems": [],
                    "controls": {}, "trend": [], "nonconformities": register.figures}  # fmt: skip
        record = latest.scan.record
        open_by_finding = {nc.id.removeprefix("NC-") for nc in register.nonconformities if nc.is_open}
        systems = []
        for system_id, data in sorted(latest.systems.items()):
            mine = [f for f in record.findings if system_id in latest.finding_systems.get(f.id, set())]
            controls = _system_controls(mine)
            counts = dict.fromkeys(STATUSES, 0)
            for status in controls.values():
                counts[status] += 1
            assessed = len(controls) - counts["not_applicable"]
            systems.append({
                "id": system_id, "name": data.get("name"), "owner": data.get("owner"),
                "controls": counts, "readiness": round(counts["pass"] / assessed, 3) if assessed else None,
                "open_nonconformities": sum(1 for f in mine if f.id in open_by_finding),
            })  # fmt: skip
        return {
            "organization": self.policy.organization,
            "store": self.store.location,
            "scans": len(order),
            "latest_scan": _scan_dict(latest.scan),
            "schedule": self._schedule(record.finished_at),
            "groups": [dict(group) for group in register.groups],
            "systems": systems,
            "controls": _status_counts(self._views[latest.head]),
            "trend": trend,
            "nonconformities": dict(register.figures),
        }

    def _schedule(self, finished: datetime | None) -> dict[str, Any]:
        if self.expect_every is None:
            return {"expected_every_hours": None, "next_due": None, "overdue": False}
        hours = self.expect_every.total_seconds() / 3600
        if finished is None:
            return {"expected_every_hours": hours, "next_due": None, "overdue": True}
        due = finished + self.expect_every
        return {"expected_every_hours": hours, "next_due": format_timestamp(due), "overdue": now_utc() > due}

    def control(self, control_id: str) -> dict[str, Any]:
        control = self.catalog.control(control_id)
        if control is None:
            raise NotFound(f"no control {control_id} in the Annex A catalog")
        latest = self._latest_scan()
        findings, result = [], None
        if latest is not None:
            record = latest.scan.record
            result = next((c for c in record.controls if c.id == control_id), None)
            for finding in record.findings:
                if finding.control_id != control_id:
                    continue
                row = finding.to_dict()
                row["systems"] = sorted(latest.finding_systems.get(finding.id, ()))
                row["evidence"] = [
                    {**ref, "kind": latest.items.get(ref["id"], {}).get("kind")} for ref in row["evidence"]
                ]
                findings.append(row)
        history = [
            {"scan": scan_id, "finished_at": finished,
             "status": _control_status(self._views[digest], control_id)}
            for _, scan_id, digest, finished in self.history()[-HISTORY_POINTS:]
        ]  # fmt: skip
        register = self.register()
        return {
            "control": {
                "id": control.id,
                "title": control.title,
                "group": control.group,
                "objective": control.objective,
            },
            "status": "not_assessed" if result is None else result.status.value,
            "scan": None if latest is None else _scan_dict(latest.scan),
            "findings": findings,
            "waivers": [
                {"rule": f["rule"], "subject": f["subject"], **f["waiver"]} for f in findings if f["waiver"]
            ],
            "exception_requests": [e.to_dict() for e in self.state.exceptions() if e.control == control_id],
            "nonconformities": [nc.to_dict() for nc in register.nonconformities if nc.control == control_id],
            "history": list(reversed(history)),
        }

    def system(self, system_id: str) -> dict[str, Any]:
        latest = self._latest_scan()
        if latest is None or system_id not in latest.systems:
            raise NotFound(f"no declared AI system {system_id!r} in the latest scan")
        record = latest.scan.record
        mine = [f for f in record.findings if system_id in latest.finding_systems.get(f.id, set())]
        ids = {f.id for f in mine}
        controls = _system_controls(mine)
        register = self.register()
        return {
            "system": latest.systems[system_id],
            "scan": _scan_dict(latest.scan),
            "controls": [
                {"id": cid, "title": _title(self.catalog, cid), "status": status}
                for cid, status in sorted(controls.items(), key=lambda pair: control_sort_key(pair[0]))
            ],
            "findings": [f.to_dict() for f in mine],
            "nonconformities": [
                nc.to_dict()
                for nc in register.nonconformities
                if nc.is_open and nc.id.removeprefix("NC-") in ids
            ],
        }

    def systems(self) -> list[str]:
        latest = self._latest_scan()
        return [] if latest is None else sorted(latest.systems)

    def nonconformities(self) -> dict[str, Any]:
        register = self.register().to_dict()
        written = self.state.actions()
        for nc in register["nonconformities"]:
            action = written.get(nc["id"])
            nc["action_record"] = None if action is None else action.to_dict()
        return register

    def nonconformity(self, nc_id: str) -> dict[str, Any]:
        for nc in self.nonconformities()["nonconformities"]:
            if nc["id"] == nc_id:
                return dict(nc)
        raise NotFound(f"no nonconformity {nc_id}")

    def diff(self, a: str | None, b: str) -> dict[str, Any]:
        """Drift from ``a`` (default: the scan before the latest; the latest itself in a history of one)."""
        if a is None:
            a = "latest~1" if len(self.history()) > 1 else "latest"
        try:
            old, new = self.store.load_scan(a), self.store.load_scan(b)
        except StoreError as exc:
            raise NotFound(str(exc)) from exc
        drift = compare(old.record.findings, new.record.findings, old_controls=old.record.controls,
                        new_controls=new.record.controls)  # fmt: skip
        return {"a": _scan_dict(old), "b": _scan_dict(new), **drift.to_dict()}

    def soa(self) -> dict[str, Any]:
        latest = self._latest_scan()
        if latest is None:
            soa = build_soa(organization=self.policy.organization, declarations=self.policy.declarations,
                            exceptions=(), scan=None, catalog=self.catalog)  # fmt: skip
            return soa.to_dict()
        record = latest.scan.record
        return build_soa(
            organization=self.policy.organization,
            declarations=self.policy.declarations,
            exceptions=self.exceptions_in_force(record.started_at.date()),
            scan=scan_info(record.scan_id, record.started_at, record.rule_pack_digest),
            controls=record.controls,
            findings=record.findings,
            catalog=self.catalog,
        ).to_dict()

    def exceptions_in_force(self, on: date) -> tuple[ExceptionInForce, ...]:
        """The configuration's exceptions in force, then those approved here (only approved ones count)."""
        configured = [
            ExceptionInForce(rule=e.rule, subject=e.subject, justification=e.justification,
                             approved_by=e.approved_by, expires=e.expires.isoformat())
            for e in self.policy.exceptions if e.in_force(on)
        ]  # fmt: skip
        approved = [
            ExceptionInForce(rule=e.rule, subject=e.subject, justification=e.justification,
                             approved_by=e.decided_by or e.approver, expires=e.expires.isoformat())
            for e in self.state.exceptions() if e.in_force(on)
        ]  # fmt: skip
        return tuple(configured + approved)

    def evidence(self, digest: str) -> dict[str, Any]:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise NotFound(f"{digest!r} is not an evidence digest (64 hex digits)")
        try:
            item = self.store.load_evidence(digest)
        except StoreError as exc:
            raise NotFound(str(exc)) from exc
        return {"id": digest, "label": self.store.object_label("evidence", digest), **item.to_dict()}

    def scans(self) -> list[dict[str, Any]]:
        return [
            {"seq": seq, "scan_id": scan_id, "manifest": digest, "finished_at": finished}
            for seq, scan_id, digest, finished in reversed(self.history())
        ]


def _scan_dict(scan: StoredScan) -> dict[str, Any]:
    record = scan.record
    return {"id": record.scan_id, "seq": scan.seq, "manifest": scan.digest,
            "started_at": format_timestamp(record.started_at),
            "finished_at": format_timestamp(record.finished_at),
            "rule_pack_digest": record.rule_pack_digest}  # fmt: skip


def _status_counts(view: ScanView) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for control in view.controls:
        counts[control.status.value] += 1
    return counts


def _control_status(view: ScanView, control_id: str) -> str:
    return next((c.status.value for c in view.controls if c.id == control_id), "not_assessed")


def _system_controls(findings: Sequence[Finding]) -> dict[str, str]:
    """Each control's status over one system's findings: the engine's roll-up, observations left out."""
    by_control: dict[str, list[Finding]] = {}
    for finding in findings:
        if not finding.observation:
            by_control.setdefault(finding.control_id, []).append(finding)
    return {cid: rollup_status(effective_status(f) for f in items).value for cid, items in by_control.items()}


def _title(catalog: Catalog, control_id: str) -> str:
    control = catalog.control(control_id)
    return "" if control is None else control.title
