"""No internal names reach a user (issue 16): the demo estate's text report words every near miss and
every failing or inconclusive finding without rule variables, rule-language conditions or the
``metadata.``/``extra[...]`` paths of the evidence model."""

from __future__ import annotations

import re
from typing import Any

from annexa.plugins import ReporterSpec
from annexa.reports.formats import annexa_reporters

pytest_plugins = ["reportfixtures"]

# A rule variable's field (`r.status`, `reg.metadata`), a metadata or extra path, a rule-language
# operator or construct.
INTERNAL = re.compile(
    r"\b[a-z]{1,3}\.(?:metadata|extra|type|status|id|approver|ai_systems|headings|empty_sections|"
    r"last_reviewed|approved_on|next_review_due|attested_on)\b"
    r"|\bmetadata\.|\bextra\[|==|!=|\bsatisfy\b|\bmatches \"|review_period\b|attestation_validity\b"
    r"|is unknown \(a field it reads"
)


def test_the_demo_text_report_shows_no_internal_names(document: dict[str, Any]) -> None:
    spec: ReporterSpec = next(s for s in annexa_reporters() if s.name == "text")
    text = spec.render(document)
    findings = [line for line in text.splitlines() if line.lstrip().startswith(("FAIL", "INCONCLUSIVE"))]
    assert any("closest document:" in line for line in findings)  # near misses are there, worded
    leaks = [(match.group(0), line.strip()[:160]) for line in findings for match in INTERNAL.finditer(line)]
    assert not leaks
    assert "its `out_of_scope_use` metadata is not given" in text
    assert "its status is not approved" in text
    assert 'it has no filled section whose heading contains "limitation"' in text
