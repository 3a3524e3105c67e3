"""Each case reported in issue 15 ("sound verdicts"), as its own regression test on the demo estate.

Before the fix, each of these changes made a control look better. Now each must leave the control no
better than it was, and for the reason stated. The estate is scanned in process without its AWS and
MLflow parts (tests/metamorphic/estate.py), so only the offline controls are asserted.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from annexa.audit.nonconformities import ScanView, build_register
from annexa.model.findings import Finding, Status

from .estate import EstateScan, EstateScanner, copy_estate, is_improvement
from .mutations import garble_front_matter, hollow_pdf

INCIDENT = "governance/incidents/INC-2026-011-chatbot-refund-answers.md"
ASSESSMENT = "governance/systems/support-chatbot-impact-assessment.md"
RECORD = "governance/systems/support-chatbot-record.md"
AI_POLICY = "governance/policies/ai-policy.md"
CHATBOT = "scope:support-chatbot"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[EstateScanner, EstateScan]:
    scanner = EstateScanner(copy_estate(tmp_path_factory.mktemp("baseline") / "estate"))
    return scanner, scanner.scan()


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    return copy_estate(tmp_path / "estate")


def rescan(root: Path, baseline: tuple[EstateScanner, EstateScan]) -> EstateScan:
    return EstateScanner(root, reuse=baseline[0]).scan()


def assert_no_better(before: EstateScan, after: EstateScan, *controls: str) -> None:
    old, new = before.statuses(), after.statuses()
    better = {c: (old[c], new[c]) for c in controls if is_improvement(old[c], new[c])}
    assert better == {}


def failing(scan: EstateScan, control: str) -> list[Finding]:
    return [f for f in scan.findings if f.control_id == control and f.status is Status.FAIL and not f.waived]


def garble(path: Path) -> None:
    path.write_text(garble_front_matter(path.read_text(encoding="utf-8")), encoding="utf-8")


@pytest.mark.parametrize("change", ["delete", "garble"])
def test_losing_the_incident_record_does_not_close_a84(
    estate: Path, baseline: tuple[EstateScanner, EstateScan], change: str
) -> None:
    before = baseline[1]
    assert before.statuses()["A.8.4"] == "fail"
    (estate / INCIDENT).unlink() if change == "delete" else garble(estate / INCIDENT)
    after = rescan(estate, baseline)
    assert after.statuses()["A.8.4"] == "fail"
    if change == "delete":  # the register still lists the incident: its record is missing
        (finding,) = [f for f in failing(after, "A.8.4") if f.subject == CHATBOT]
        assert "ai-incident-register" in finding.message
        assert "incident-register-2026.md" in finding.message  # named as what came closest
    else:  # the garbled file is a defective document
        assert any(f.subject == f"file:{INCIDENT}" for f in failing(after, "A.8.4"))


def test_a_withdrawn_incident_keeps_its_nonconformity_open(
    estate: Path, baseline: tuple[EstateScanner, EstateScan]
) -> None:
    before = baseline[1]
    (estate / INCIDENT).unlink()
    after = rescan(estate, baseline)
    views = [
        ScanView(
            scan_id=f"scan-{n}",
            at=scan_time,
            findings=scan.findings,
            rules_run=frozenset(f.rule_id for f in scan.findings),
        )
        for n, (scan, scan_time) in enumerate(
            [(before, baseline[0].now), (after, baseline[0].now + timedelta(days=7))]
        )
    ]
    register = build_register(views)
    opened = [nc for nc in register.nonconformities if nc.rule.startswith("A.8.4/")]
    assert opened
    assert all(nc.is_open for nc in opened), [nc.to_dict() for nc in opened]


@pytest.mark.parametrize("change", ["delete", "garble"])
def test_losing_the_chatbot_assessment_does_not_pass_a55(
    estate: Path, baseline: tuple[EstateScanner, EstateScan], change: str
) -> None:
    (estate / ASSESSMENT).unlink() if change == "delete" else garble(estate / ASSESSMENT)
    after = rescan(estate, baseline)
    assert_no_better(baseline[1], after, "A.5.5", "A.5.3")
    assert after.statuses()["A.5.5"] == "fail"
    subjects = {f.subject for f in failing(after, "A.5.5")}
    assert (CHATBOT if change == "delete" else f"file:{ASSESSMENT}") in subjects


@pytest.mark.parametrize("change", ["delete", "garble"])
def test_losing_the_chatbot_record_keeps_it_in_scope(
    estate: Path, baseline: tuple[EstateScanner, EstateScan], change: str
) -> None:
    (estate / RECORD).unlink() if change == "delete" else garble(estate / RECORD)
    after = rescan(estate, baseline)
    assert_no_better(baseline[1], after, "A.9.4", "A.10.3", "A.5.3")
    for control in ("A.9.4", "A.10.3"):
        assert after.statuses()[control] == "fail"
    if change == "delete":
        assert CHATBOT in {f.subject for f in failing(after, "A.9.4")}


def test_a_broken_inventory_row_makes_per_system_controls_inconclusive(
    estate: Path, baseline: tuple[EstateScanner, EstateScan]
) -> None:
    (estate / "ai-systems.csv").write_text(
        "id,name,owner,lifecycle_stage\n"
        "fraud-scoring,Card fraud scoring,Head of Payments Risk,operation\n"
        ",Customer support chatbot,Head of Customer Support,operation\n",
        encoding="utf-8",
    )
    config = (estate / "annexa.yaml").read_text(encoding="utf-8")
    head, _, rest = config.partition("scope:\n")
    rest = rest[rest.index("collectors:") :]
    (estate / "annexa.yaml").write_text(
        head + "scope:\n  inventory: ai-systems.csv\n" + rest, encoding="utf-8"
    )
    after = EstateScanner(estate).scan()
    per_system = [f for f in after.findings if f.rule_id == "A.5.3/impact_assessment_per_system"]
    assert [(f.status, f.subject) for f in per_system] == [(Status.INCONCLUSIVE, None)]
    assert "ai-systems.csv row 3 names no AI system id" in per_system[0].message
    assert_no_better(baseline[1], after, *baseline[1].statuses())


def test_an_empty_governance_folder_passes_nothing(
    estate: Path, baseline: tuple[EstateScanner, EstateScan]
) -> None:
    for path in sorted((estate / "governance").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (estate / "governance").mkdir(exist_ok=True)
    after = rescan(estate, baseline)
    assert_no_better(baseline[1], after, *baseline[1].statuses())
    assert after.statuses()["A.8.2"] not in ("pass", "not_applicable")
    per_system = [f for f in after.findings if f.subject == CHATBOT]
    assert per_system
    assert {f.status for f in per_system} <= {Status.FAIL, Status.INCONCLUSIVE}
    assert not [f for f in after.findings if f.status is Status.NOT_APPLICABLE and f.control_id != "A.10.4"]


def test_demoting_the_ai_policy_fails_naming_the_draft(
    estate: Path, baseline: tuple[EstateScanner, EstateScan]
) -> None:
    path = estate / AI_POLICY
    path.write_text(
        path.read_text(encoding="utf-8").replace("status: approved", "status: draft", 1), encoding="utf-8"
    )
    after = rescan(estate, baseline)
    assert_no_better(baseline[1], after, "A.2.2", "A.2.3")
    assert after.statuses()["A.2.2"] == "fail"
    assert after.statuses()["A.2.3"] != "pass"


def test_a_pdf_policy_whose_sections_all_say_tbd_is_hollow(
    estate: Path, baseline: tuple[EstateScanner, EstateScan]
) -> None:
    """The AI policy kept as a PDF export (metadata in a sidecar), every section saying TBD."""
    pdf = estate / "governance/policies/privacy-policy.pdf"
    hollow = estate / "governance/policies/ai-policy.pdf"
    hollow.write_bytes(hollow_pdf(pdf.read_bytes(), "TBD"))
    front = (estate / AI_POLICY).read_text(encoding="utf-8").split("---")[1]
    (estate / "governance/policies/ai-policy.pdf.meta.yaml").write_text(front, encoding="utf-8")
    (estate / AI_POLICY).unlink()
    after = rescan(estate, baseline)
    (document,) = [e for e in after.evidence("document") if e.source.endswith("ai-policy.pdf")]
    assert document.data["headings"]
    assert set(document.data["empty_sections"]) >= set(document.data["headings"][1:])
    assert_no_better(baseline[1], after, "A.2.2")
    # "Sections filled" no longer passes. The catalog weighs it as supporting evidence (A.2.2-E2), so it
    # is an observation on the control rather than its failure.
    (filled,) = [f for f in after.findings if f.rule_id == "A.2.2/ai_policy_sections_filled"]
    assert (filled.status.value, filled.observation) == ("fail", True)


CARD = "modelcards/support-chatbot-intent/README.md"


def test_a_model_card_left_as_the_hugging_face_template_is_not_filled(
    estate: Path, baseline: tuple[EstateScanner, EstateScan]
) -> None:
    huggingface_hub = pytest.importorskip("huggingface_hub")
    path = estate / CARD
    front = path.read_text(encoding="utf-8").split("---")[1]
    data = huggingface_hub.ModelCardData(**{"license": "apache-2.0", "language": ["en", "de"]})
    template = str(huggingface_hub.ModelCard.from_template(data, model_id="support-chatbot-intent"))
    body = template.split("---", 2)[2]
    path.write_text(f"---{front}---{body}", encoding="utf-8")
    after = rescan(estate, baseline)
    (card,) = [e for e in after.evidence("model_card") if e.source.endswith(CARD)]
    assert "intended_use" not in card.data["filled_sections"]
    assert "limitations" not in card.data["filled_sections"]
    assert_no_better(baseline[1], after, "A.8.2", "A.6.2.7")
    assert after.statuses()["A.8.2"] == "fail"


def test_a_model_card_with_its_headings_commented_out_is_not_filled(
    estate: Path, baseline: tuple[EstateScanner, EstateScan]
) -> None:
    path = estate / CARD
    text = path.read_text(encoding="utf-8")
    for heading in ("## Uses", "### Direct Use", "## Bias, Risks, and Limitations"):
        text = text.replace(heading, f"<!-- {heading} -->")
    path.write_text(text, encoding="utf-8")
    after = rescan(estate, baseline)
    (card,) = [e for e in after.evidence("model_card") if e.source.endswith(CARD)]
    assert "limitations" not in card.data["filled_sections"]
    assert_no_better(baseline[1], after, "A.8.2", "A.6.2.7")


def test_the_baseline_is_what_the_demo_intends(baseline: tuple[EstateScanner, EstateScan]) -> None:
    """The cases above start from failures; this keeps them honest if the demo estate changes."""
    statuses = baseline[1].statuses()
    assert {c: statuses[c] for c in ("A.5.5", "A.8.4", "A.9.4", "A.10.3", "A.8.2")} == dict.fromkeys(
        ("A.5.5", "A.8.4", "A.9.4", "A.10.3", "A.8.2"), "fail"
    )
