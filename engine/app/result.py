"""The canonical result model of an evaluation, from which every output format is rendered."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from itertools import compress, repeat
from operator import attrgetter, eq, is_not, or_
from typing import Any

from annexa import __version__
from annexa.contract.catalog import group_summary, load_catalog, roll_up, roll_up_clauses
from annexa.contract.freshness import CODES as STALE_CODES
from annexa.files.jsonwriter import Stream
from annexa.lang.evaluator import NOT_COLLECTED_PREFIX, NOT_CONFIGURED
from annexa.model.evidence import format_timestamp
from annexa.model.exitcodes import ExitCode
from annexa.model.findings import (
    ControlResult,
    ControlStatus,
    Finding,
    Status,
    effective_status,
    is_observation,
)

RESULT_SCHEMA_VERSION = 1


def exit_code_for(findings: Iterable[Finding]) -> ExitCode:
    """1 on any failure not waived, else 2 when anything is inconclusive or errored, else 0."""
    return _tally(list(findings))[3]


_STATUS_VALUE = attrgetter("status.value")
_WEIGHT = attrgetter("weight")
_WAIVER = attrgetter("waiver")


def _tally(findings: list[Finding]) -> tuple[Counter[str], int, int, ExitCode]:
    """The findings per status value, the waived ones, the observations and the exit code, in one pass.

    Each finding is looked at in C (``map`` over attribute getters); only the rare waived or
    supporting-evidence findings are looked at one by one, since they do not count towards the exit code
    as they are: an observation never does, and a waived failure counts as a pass (effective_status).
    """
    counts = Counter(map(_STATUS_VALUE, findings))
    waived = sum(map(is_not, map(_WAIVER, findings), repeat(None)))
    unusual = map(
        or_,
        map(eq, map(_WEIGHT, findings), repeat("supporting")),
        map(is_not, map(_WAIVER, findings), repeat(None)),
    )
    observations = 0
    deciding = counts.copy()  # the statuses that decide the exit code
    for finding in compress(findings, unusual):
        if finding.observation:
            observations += 1
        if finding.observation or finding.waived:
            deciding[finding.status.value] -= 1
            if not finding.observation:
                deciding[effective_status(finding).value] += 1
    if deciding[Status.FAIL.value] > 0:
        code = ExitCode.NONCONFORMITIES
    elif deciding[Status.INCONCLUSIVE.value] > 0 or deciding[Status.ERROR.value] > 0:
        code = ExitCode.INCONCLUSIVE
    else:
        code = ExitCode.CONFORMANT
    return counts, waived, observations, code


def build_result(
    findings: tuple[Finding, ...],
    rules_by_control: Mapping[str, Iterable[str]],
    *,
    now: datetime,
    ruleset_digest: str,
    extra: Mapping[str, Any] | None = None,
    stream: bool = False,
) -> dict[str, Any]:
    """The result document. With ``stream``, its findings are a :class:`~annexa.files.jsonwriter.Stream`
    encoded a batch at a time as :func:`~annexa.files.jsonwriter.write_json` writes them."""
    controls = roll_up(findings, rules_by_control)
    counts = summary(findings, controls)
    if extra is not None and "observations" in extra:
        # Stale evidence and expired attestations are counted apart from the supporting-evidence
        # observations: they judge the evidence, not a control (docs/freshness.md). Only where the run
        # looked at the evidence: a scan re-read from the store (annexa report SCAN) has no observations.
        observed = extra["observations"] or ()
        counts["stale_evidence"] = sum(1 for o in observed if o.get("code") in STALE_CODES)
    # Clause findings stay in `findings`; their roll-up is reported apart from the Annex A controls.
    clauses = roll_up_clauses(findings, rules_by_control)
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "annexa_version": __version__,
        "evaluated_at": format_timestamp(now),
        "ruleset_digest": ruleset_digest,
        "summary": counts,
        "groups": group_summary(controls),
        "controls": [control.to_dict() for control in controls],
        "findings": Stream(findings, encode=Finding.to_encodable, fallback=Finding.to_dict)
        if stream
        else [f.to_dict() for f in findings],
        **({"clauses": [clause.to_dict() for clause in clauses]} if clauses else {}),
        **(extra or {}),
    }


def summary(findings: Iterable[Finding], controls: Iterable[ControlResult]) -> dict[str, Any]:
    control_counts = {status.value: 0 for status in ControlStatus}
    for control in controls:
        control_counts[control.status.value] += 1
    counts, waived, observations, code = _tally(list(findings))
    finding_counts = {status.value: counts[status.value] for status in Status}
    return {
        "exit_code": int(code),
        "controls": control_counts,
        "findings": finding_counts,
        "waived": waived,
        "observations": observations,
        "catalog_controls": len(load_catalog().controls),
    }


_MARK = {
    "pass": "PASS",
    "fail": "FAIL",
    "error": "ERROR",
    "inconclusive": "INCONCLUSIVE",
    "not_applicable": "N/A",
    "not_assessed": "not assessed",
}


def _unconfigured(findings: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Finding id -> the kinds it lacks, for the inconclusive findings whose every missing kind has no
    configured collector (not those where a collector ran and failed: each of those is worth a line)."""
    found = {}
    for finding in findings:
        message = finding["message"]
        if finding["status"] != "inconclusive" or not message.startswith(NOT_COLLECTED_PREFIX):
            continue
        reasons = message.removeprefix(NOT_COLLECTED_PREFIX).removesuffix(")").split("; ")
        kinds = [reason.removesuffix(f": {NOT_CONFIGURED}") for reason in reasons]
        if all(reason.endswith(f": {NOT_CONFIGURED}") for reason in reasons):
            found[finding["id"]] = tuple(kinds)
    return found


def render_text(result: Mapping[str, Any], *, verbose: bool = False) -> str:
    """A terminal summary: one line per control, then the findings that need attention."""
    lines = [f"{'control':<10} {'status':<13} title"]
    lines += [f"{c['id']:<10} {_MARK[c['status']]:<13} {c['title']}" for c in result["controls"]]
    if result.get("clauses"):
        lines.append("")
        lines.append(f"{'clause':<10} {'status':<13} title (main body, apart from Annex A)")
        lines += [f"{c['id']:<10} {_MARK[c['status']]:<13} {c['title']}" for c in result["clauses"]]
    attention = [f for f in result["findings"] if f["status"] != "pass" or verbose]
    # Rules over kinds that no configured collector produces are one line, not one line each: a scan of the
    # documents alone would otherwise list every AWS and MLflow rule. Every other format lists each one.
    unconfigured = {} if verbose else _unconfigured(attention)
    if attention:
        lines.append("")
        lines.append("findings:")
    if unconfigured:
        kinds = sorted({kind for kinds in unconfigured.values() for kind in kinds})
        lines.append(
            f"  {_MARK['inconclusive']} {len(unconfigured)} rule(s) read evidence no configured collector "
            f"produces: {', '.join(kinds)} (see docs/collectors.md; --format json lists each finding)"
        )
    for finding in attention:
        if finding["status"] == "not_applicable" and not verbose:
            continue
        if finding["id"] in unconfigured:
            continue
        waived = " (waived)" if finding["waiver"] else ""
        if is_observation(finding):
            waived += " (observation: supporting evidence)"
        subject = f" [{finding['subject']}]" if finding["subject"] else ""
        lines.append(f"  {_MARK[finding['status']]}{waived} {finding['rule']}{subject}: {finding['message']}")
        if finding["missing"]:
            lines.append(f"      missing: {', '.join(finding['missing'])}")
    observations = result.get("observations") or []
    if observations:
        lines.append("")
        lines.append("observations:")
        lines += [f"  {o['code']}: {o['message']}" for o in observations]
    stale = result["summary"].get("stale_evidence")
    if stale:
        lines.append(f"  ({stale} evidence item(s) stale or expired: see docs/freshness.md)")
    counts = result["summary"]["controls"]
    lines.append("")
    lines.append(
        "controls: "
        + ", ".join(f"{counts[k]} {_MARK[k].lower()}" for k in _MARK if counts.get(k))
        + f" (of {result['summary']['catalog_controls']})"
    )
    return "\n".join(lines)
