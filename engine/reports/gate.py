"""``--fail-on``: CI gates that decide the exit code from a scan's findings and drift.

Grammar (conditions separated by commas, or repeat the option)::

    fail-on   := condition ("," condition)*
    condition := "none" | state [":" severity]
    state     := "fail" | "new" | "inconclusive"
    severity  := "info" | "low" | "medium" | "high" | "critical"   (the minimum; default info)

``fail``: a failing finding that is not waived; ``new``: one that fails now and did not fail in the
previous scan (every failure of a first scan is new); ``inconclusive``: an inconclusive or errored finding.
A met ``fail`` or ``new`` condition exits 1, a met ``inconclusive`` one exits 2, otherwise 0. ``none``
always exits 0 (report only). Without ``--fail-on`` the exit code is the result's own (1 on any failure,
else 2 on anything inconclusive).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from annexa.model.errors import EngineError
from annexa.model.exitcodes import ExitCode
from annexa.model.findings import Severity, is_observation

_SEVERITY_RANK = {severity.value: rank for rank, severity in enumerate(Severity)}
_STATES = ("fail", "new", "inconclusive")


class FailOnError(EngineError):
    """A ``--fail-on`` value that does not follow the grammar."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    state: str  # fail | new | inconclusive
    severity: str  # the minimum severity that counts

    def __str__(self) -> str:
        return f"{self.state}:{self.severity}"


@dataclass(frozen=True, slots=True, kw_only=True)
class GateVerdict:
    exit_code: ExitCode
    reasons: tuple[str, ...]  # one line per met condition, for the log


def parse_fail_on(values: Iterable[str]) -> tuple[Condition, ...] | None:
    """Parse ``--fail-on`` values; ``None`` when no value was given, ``()`` for ``none``.

    :raises FailOnError: naming the bad condition and the grammar.
    """
    texts = [part.strip() for value in values for part in value.split(",")]
    if not texts:
        return None
    conditions: list[Condition] = []
    for text in texts:
        if text == "none":
            continue
        state, colon, severity = text.partition(":")
        severity = severity if colon else "info"
        if state not in _STATES or severity not in _SEVERITY_RANK:
            raise FailOnError(
                f"bad --fail-on condition {text!r}: write STATE[:SEVERITY] with STATE one of "
                f"{', '.join(_STATES)} and SEVERITY one of {', '.join(_SEVERITY_RANK)} (or 'none')"
            )
        conditions.append(Condition(state=state, severity=severity))
    if "none" in texts and conditions:
        raise FailOnError("--fail-on none cannot be combined with other conditions")
    return tuple(conditions)


def judge(result: Mapping[str, Any], conditions: tuple[Condition, ...] | None) -> GateVerdict:
    """The exit code of a scan under ``conditions`` (the result's own code when they are ``None``)."""
    if conditions is None:
        return GateVerdict(exit_code=ExitCode(result["summary"]["exit_code"]), reasons=())
    findings = [f for f in result["findings"] if not is_observation(f)]  # observations gate nothing
    failing = [f for f in findings if f["status"] == "fail" and f["waiver"] is None]
    drift = result.get("drift")
    if drift is None:
        new = failing  # a first scan: nothing failed before it
    else:
        new_ids = {item["id"] for item in drift["findings"] if item["change"] == "new_failure"}
        new = [f for f in failing if f["id"] in new_ids]
    pools = {
        "fail": failing,
        "new": new,
        "inconclusive": [f for f in findings if f["status"] in ("inconclusive", "error")],
    }
    reasons = []
    code = ExitCode.CONFORMANT
    for condition in conditions:
        floor = _SEVERITY_RANK[condition.severity]
        met = [f for f in pools[condition.state] if _SEVERITY_RANK[f["severity"]] >= floor]
        if not met:
            continue
        reasons.append(
            f"--fail-on {condition}: {len(met)} finding(s), first {met[0]['id']} ({met[0]['rule']})"
        )
        if condition.state == "inconclusive":
            if code is ExitCode.CONFORMANT:
                code = ExitCode.INCONCLUSIVE
        else:
            code = ExitCode.NONCONFORMITIES
    return GateVerdict(exit_code=code, reasons=tuple(reasons))
