"""Evidence freshness (issue 17): each kind's maximum age, stale and expired evidence reported as
observations, and `fresh(x)` for rules that require fresh evidence."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from test_scan import NOW, Project, attestation, cli, policy, write_document  # shared builders

from annexa.app.result import build_result, render_text
from annexa.contract.freshness import (
    CATALOG_REVIEW_INTERVAL,
    DEFAULT_LIMITS,
    DurationError,
    FreshnessLimits,
    assess,
    parse_duration,
    stale_evidence,
)
from annexa.contract.kinds import KindRegistry
from annexa.lang.language import compile_rules, evaluate
from annexa.lang.ruleset import RuleSource
from annexa.model.diagnostics import DiagnosticError
from annexa.model.evidence import Evidence
from annexa.model.findings import Status

CLOCK = datetime(2026, 11, 23, tzinfo=UTC)
THREE_YEARS_AGO = "2023-11-01"


def item(kind: str, source: str, collected_at: datetime = CLOCK, **data: Any) -> Evidence:
    return Evidence(kind=kind, source=source, scope={}, collector="t 1", collected_at=collected_at, data=data)


def document(source: str, **data: Any) -> Evidence:
    return item("document", source, **{"type": "ai-policy", **data})


# --- what "age" is, and the limits --------------------------------------------------------------------


def test_durations_are_written_as_in_the_rule_language() -> None:
    assert parse_duration("365d") == timedelta(days=365)
    assert parse_duration("12w") == timedelta(weeks=12)
    assert parse_duration("36h") == timedelta(hours=36)
    for bad in ("1 year", "365", "d", "-5d", ""):
        with pytest.raises(DurationError, match="is not a duration"):
            parse_duration(bad)


def test_a_document_is_as_old_as_its_review_not_its_collection() -> None:
    """Re-collected today, approved three years ago: three years old, hence stale."""
    state = assess(document("file:p.md", approved_on=THREE_YEARS_AGO), DEFAULT_LIMITS, CLOCK)
    assert state.basis == "approved_on"
    assert state.age == CLOCK - datetime(2023, 11, 1, tzinfo=UTC)
    assert state.limit == CATALOG_REVIEW_INTERVAL
    assert state.stale
    assert state.fresh is False
    reviewed = assess(
        document("file:p.md", approved_on=THREE_YEARS_AGO, last_reviewed="2026-06-01"), DEFAULT_LIMITS, CLOCK
    )
    assert (reviewed.basis, reviewed.stale, reviewed.fresh) == ("last_reviewed", False, True)


def test_an_undated_document_has_no_age_and_is_never_fresh() -> None:
    """Removing the dates must not make a document fresh: its age is unknown, not its collection time."""
    state = assess(document("file:p.md"), DEFAULT_LIMITS, CLOCK)
    assert state.age is None
    assert state.fresh is None
    assert not state.stale
    assert stale_evidence([document("file:p.md")], DEFAULT_LIMITS, CLOCK) == ()


def test_machine_evidence_is_as_old_as_its_collection_and_has_no_default_limit() -> None:
    old = item("aws.s3.bucket", "arn:aws:s3:::b", collected_at=CLOCK - timedelta(days=40))
    state = assess(old, DEFAULT_LIMITS, CLOCK)
    assert (state.basis, state.age, state.limit, state.fresh) == (
        "collected_at",
        timedelta(days=40),
        None,
        True,
    )
    limited = FreshnessLimits(kinds={"aws.s3.bucket": timedelta(days=30)})
    assert assess(old, limited, CLOCK).fresh is False
    (observation,) = stale_evidence([old], limited, CLOCK)
    assert observation.code == "stale_evidence"
    assert observation.details == {
        "basis": "collected_at",
        "dated": "2026-10-14T00:00:00Z",
        "age_days": 40,
        "limit": "30d",
    }
    assert (
        "40 day(s) old by its collected_at, beyond the 30d limit for kind aws.s3.bucket"
        in observation.message
    )


def test_document_type_limit_first_and_a_document_may_only_shorten_its_own() -> None:
    limits = FreshnessLimits(
        kinds={"document": timedelta(days=365)}, document_types={"ai-policy": timedelta(days=90)}
    )
    policy_doc = document("file:p.md", last_reviewed="2026-07-01")  # 145 days
    other = item("document", "file:r.md", type="concern-register", last_reviewed="2026-07-01")
    assert assess(policy_doc, limits, CLOCK).fresh is False
    assert assess(other, limits, CLOCK).fresh is True
    # Its own review_interval_days shortens the limit ...
    assert assess(
        item("document", "f", type="x", last_reviewed="2026-07-01", review_interval_days=30), limits, CLOCK
    ).stale
    (shortened,) = stale_evidence(
        [item("document", "f", type="x", last_reviewed="2026-07-01", review_interval_days=30)], limits, CLOCK
    )
    assert "beyond the 30d limit for its own review_interval_days" in shortened.message
    (same,) = stale_evidence(
        [document("f", approved_on=THREE_YEARS_AGO, review_interval_days=365)], DEFAULT_LIMITS, CLOCK
    )
    assert "beyond the 365d limit for kind document" in same.message
    # ... and never lengthens it: evidence cannot declare itself fresh.
    long = document("file:p.md", last_reviewed="2026-07-01", review_interval_days=3650)
    assert assess(long, limits, CLOCK).limit == timedelta(days=90)


def test_attestations_expire_on_their_own_date() -> None:
    def attest(expires: str | None, attested_on: str = "2026-10-01") -> Evidence:
        return item(
            "attestation", f"file:{expires}.yaml", attested_on=attested_on, expires=expires, control="A.3.3"
        )

    assert assess(attest("2026-11-23"), DEFAULT_LIMITS, CLOCK).fresh is True  # valid through its expiry day
    assert assess(attest(None), DEFAULT_LIMITS, CLOCK).fresh is True
    expired = attest("2026-11-22")
    assert assess(expired, DEFAULT_LIMITS, CLOCK).fresh is False
    (observation,) = stale_evidence([expired, attest("2027-01-01")], DEFAULT_LIMITS, CLOCK)
    assert observation.code == "expired_attestation"
    assert observation.message.startswith(
        "attestation file:2026-11-22.yaml expired on 2026-11-22 (1 day(s) ago)"
    )
    assert observation.details["expires"] == "2026-11-22"
    # An attestation without an expiry still ages past its kind's limit (the catalog's review interval).
    (old,) = stale_evidence([attest(None, attested_on="2025-01-01")], DEFAULT_LIMITS, CLOCK)
    assert old.code == "stale_evidence"


def test_defective_items_are_not_reported_stale() -> None:
    broken = Evidence(
        kind="document",
        source="file:x.md",
        scope={},
        collector="t 1",
        collected_at=CLOCK,
        data={"approved_on": THREE_YEARS_AGO},
        defect="garbled",
    )
    assert stale_evidence([broken], DEFAULT_LIMITS, CLOCK) == ()


# --- fresh(x) in rules --------------------------------------------------------------------------------

KINDS = KindRegistry(
    {
        "document": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "status": {"type": "string"},
                "approved_on": {"type": ["string", "null"], "format": "date"},
                "last_reviewed": {"type": ["string", "null"], "format": "date"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        }
    }
)
FRESH_RULE = """control A.2.2 "t" {
  rule policy_fresh {
    for each d in document
    require d.status == "approved" and fresh(d)
    message "stale"
  }
}
"""
EXISTS_RULE = """control A.2.2 "t" {
  rule some_fresh_policy {
    require exists d in document where d.type == "ai-policy" and fresh(d)
    message "no fresh ai-policy"
  }
}
"""


def statuses(
    rule: str, evidence: list[Evidence], limits: FreshnessLimits | None = None
) -> dict[str | None, Status]:
    ruleset = compile_rules([RuleSource("a.rule", rule)], KINDS, freshness=limits)
    return {f.subject: f.status for f in evaluate(ruleset, evidence, now=CLOCK)}


def test_fresh_is_false_for_stale_unknown_for_undated_true_otherwise() -> None:
    found = statuses(
        FRESH_RULE,
        [
            document("file:fresh.md", status="approved", last_reviewed="2026-06-01"),
            document("file:stale.md", status="approved", approved_on=THREE_YEARS_AGO),
            document("file:undated.md", status="approved"),
        ],
    )

    def status_of(name: str) -> list[Status]:
        return [status for subject, status in found.items() if subject and subject.endswith(name)]

    assert status_of("fresh.md") == [Status.PASS]
    assert status_of("stale.md") == [Status.FAIL]
    # Unknown age never passes: three-valued logic keeps it from passing (unknown is reported as not met).
    assert status_of("undated.md") in ([Status.FAIL], [Status.INCONCLUSIVE])
    # The finding says what decided it: the value of fresh(d), or that it is unknown.
    ruleset = compile_rules([RuleSource("a.rule", FRESH_RULE)], KINDS)
    stale, undated = evaluate(
        ruleset,
        [
            document("file:stale.md", status="approved", approved_on=THREE_YEARS_AGO),
            document("file:undated.md", status="approved"),
        ],
        now=CLOCK,
    )
    assert stale.witness["fresh(d)"] is False
    assert "fresh(d)" in undated.missing


def test_the_configured_limit_reaches_fresh() -> None:
    evidence = [document("file:p.md", status="approved", last_reviewed="2026-07-01")]  # 145 days old
    assert list(statuses(EXISTS_RULE, evidence).values()) == [Status.PASS]
    tight = FreshnessLimits(document_types={"ai-policy": timedelta(days=90)})
    assert list(statuses(EXISTS_RULE, evidence, tight).values()) == [Status.FAIL]


def test_fresh_of_a_date_after_the_clock_is_an_error_not_fresh() -> None:
    found = statuses(FRESH_RULE, [document("file:p.md", status="approved", last_reviewed="2027-06-01")])
    assert list(found.values()) == [Status.ERROR]


@pytest.mark.parametrize(
    "expression",
    ["fresh(d.status)", 'fresh("x")', "exists t in d.tags where fresh(t)"],
)
def test_fresh_takes_an_evidence_item_only(expression: str) -> None:
    rule = f"""control A.2.2 "t" {{
  rule r {{
    for each d in document
    require {expression}
    message "m"
  }}
}}
"""
    with pytest.raises(DiagnosticError) as caught:
        compile_rules([RuleSource("a.rule", rule)], KINDS)
    assert any(d.code == "E203" and "takes an evidence item" in d.message for d in caught.value.diagnostics)


def test_aging_evidence_never_makes_fresh_true() -> None:
    """The metamorphic property on the built-in: moving a date back never turns false or unknown into true."""
    for limit in (30, 365):
        limits = FreshnessLimits(kinds={"document": timedelta(days=limit)})
        for days_ago in range(0, 800, 7):
            younger = document("f", last_reviewed=(CLOCK - timedelta(days=days_ago)).date().isoformat())
            older = document("f", last_reviewed=(CLOCK - timedelta(days=days_ago + 30)).date().isoformat())
            if assess(younger, limits, CLOCK).fresh is not True:
                assert assess(older, limits, CLOCK).fresh is not True


# --- configuration, the result and the reports ---------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


def test_a_bad_duration_in_annexa_yaml_exits_4_with_its_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write_config(extra="freshness:\n  kinds:\n    attestation: 1 year\n")
    code, out, err = cli(capsys, "scan", "-c", str(project.config), "--now", NOW)
    assert code == 4
    assert out == ""
    assert f"{project.config}:10:18: error[E604]: `freshness.kinds.attestation`: expected a duration" in err
    assert not project.store.exists()


def test_stale_and_expired_evidence_in_the_scan_result_text_and_html(
    project: Project, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_document(
        project.docs, "policies/ai-policy.md", policy(approved_on=THREE_YEARS_AGO, last_reviewed=None)
    )
    expired = {**attestation(), "expires": "2026-11-01"}
    (project.attestations / "a-3-3.yaml").write_text(yaml.safe_dump(expired), encoding="utf-8")
    project.write_config(extra="freshness:\n  document_types:\n    ai-policy: 180d\n")
    _, result, _ = project.scan(capsys)
    observations = {o["code"]: o for o in result["observations"]}
    assert set(observations) == {"stale_evidence", "expired_attestation"}
    stale = observations["stale_evidence"]
    assert stale["details"]["basis"] == "approved_on"
    assert stale["details"]["limit"] == "180d"
    assert stale["details"]["age_days"] == (CLOCK - datetime(2023, 11, 1, tzinfo=UTC)).days
    assert "limit for document type ai-policy" in stale["message"]
    assert result["summary"]["stale_evidence"] == 2
    schema = json.loads(resources.files("annexa").joinpath("data/result.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(result)
    text = render_text(result)
    assert "  stale_evidence: ai-policy file:" in text
    assert "(2 evidence item(s) stale or expired" in text
    out = tmp_path / "report.html"
    cli(capsys, "scan", "-c", str(project.config), "--now", NOW, "--format", "html", "-o", str(out))
    html = out.read_text(encoding="utf-8")
    assert (
        "<strong>expired_attestation</strong>: attestation file:attestations/a-3-3.yaml#ATT-A.3.3-2026 "
        "expired on 2026-11-01" in html
    )
    assert "<strong>stale_evidence</strong>: ai-policy file:" in html


def test_summary_counts_only_freshness_observations() -> None:
    stale = stale_evidence([document("file:p.md", approved_on=THREE_YEARS_AGO)], DEFAULT_LIMITS, CLOCK)
    result = build_result(
        (), {}, now=CLOCK, ruleset_digest="0" * 64, extra={"observations": [o.to_dict() for o in stale]}
    )
    assert result["summary"]["stale_evidence"] == 1
    assert json.loads(json.dumps(result))["observations"][0]["details"]["limit"] == "365d"


def test_a_dask_worker_compiles_the_rules_with_the_scans_limits() -> None:
    """Workers compile the pack again from its text: the limits travel in the RulePack, or fresh(x) there
    would judge by the defaults and the cluster's findings would differ from a local evaluation."""
    pytest.importorskip("distributed")
    from annexa.app.dask_executor import RulePack, _worker_ruleset

    tight = FreshnessLimits(document_types={"ai-policy": timedelta(days=90)})
    evidence = [document("file:p.md", status="approved", last_reviewed="2026-07-01")]  # 145 days old

    def pack_of(limits: FreshnessLimits | None) -> RulePack:
        ruleset = compile_rules([RuleSource("a.rule", EXISTS_RULE)], KINDS, freshness=limits)
        return RulePack(
            sources=tuple(ruleset.sources.items()),
            params=dict(ruleset.params),
            schemas={kind: KINDS.schema(kind) for kind in KINDS.kinds},
            plugins=False,
            blocked=(),
            digest=ruleset.digest,
            freshness=ruleset.freshness,
        )

    tight_pack, default_pack = pack_of(tight), pack_of(None)
    assert tight_pack.cache_key() != default_pack.cache_key()
    worker = _worker_ruleset(tight_pack)
    assert worker.freshness == tight
    assert [f.status for f in evaluate(worker, evidence, now=CLOCK)] == [Status.FAIL]
    assert [f.status for f in evaluate(_worker_ruleset(default_pack), evidence, now=CLOCK)] == [Status.PASS]
