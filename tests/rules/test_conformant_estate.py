"""A conformant estate written only from the evidence contract and the catalog passes (issue 16).

The estate is what ``annexa init`` writes (its templates come from the catalog's expected document types
and the contract's fields), filled in as a user following the contract would: every document approved and
current, every declared field given a value of its declared type (an allowed value where the contract
lists them), every section written, the scope declared, and an attestation for each control decided by
attestation. Only the references between documents, which the contract states in prose (a record's
``suppliers`` are parties of the responsibility matrix, its ``data_sources`` ids of dataset-records, the
register's ``incidents`` ids of incident records), are chosen here so that they agree.

Then: no control fails or errs, every control whose rules read only what the estate holds passes, and
removing any single required field from any document or attestation never improves a control's status.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from annexa.app.scaffold import EXAMPLE_SYSTEM, plan_scaffold
from annexa.contract.fields import ContractField, load_contract
from annexa.plugins import split_front_matter


def _estate_module() -> Any:
    """tests/metamorphic/estate.py (the in-process scanner of the metamorphic suite), loaded by path:
    tests/rules is not a package beside it."""
    path = Path(__file__).resolve().parents[1] / "metamorphic" / "estate.py"
    spec = importlib.util.spec_from_file_location("annexa_tests_metamorphic_estate", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


_ESTATE = _estate_module()
EstateScanner = _ESTATE.EstateScanner
is_improvement = _ESTATE.is_improvement

APPROVED = date(2026, 10, 1)  # the scanner's clock is 2026-11-23
NEXT_REVIEW = date(2027, 9, 1)
SUPPLIER = "Parla Labs"
# The references between documents the contract describes in prose: they must agree with each other.
REFERENCES: dict[str, Any] = {
    "suppliers": [SUPPLIER],
    "party": SUPPLIER,
    "supplier": SUPPLIER,
    "data_sources": ["DATASET-RECORD-001"],
    "incidents": ["AI-INCIDENT-RECORD-001"],
}
# The same for the common related_policies (A.2.3-E1, A.2.3-E2, A.2.4): the AI policy and the other
# policies reference each other, the management review lists the AI policy.
RELATED = {
    "ai-policy": ["POLICY-001"],
    "policy": ["AI-POLICY-001"],
    "management-review-minutes": ["AI-POLICY-001"],
}
OFFLINE_KINDS = frozenset({"document", "attestation", "ai_system"})  # what the written estate holds


def value_for(field: ContractField) -> Any:
    """A value of the field's declared type: an allowed one where the contract lists them, else its own
    description (a text that says something), a recent date, true."""
    if field.name in REFERENCES:
        return REFERENCES[field.name]
    members = {member.name: value_for(member) for member in field.fields}
    text = field.description or f"The {field.name.replace('_', ' ')}."
    match field.type:
        case "string" | "":
            return field.allowed[0] if field.allowed else text
        case "date":
            return APPROVED
        case "boolean":
            return True
        case "integer" | "number":
            return 1
        case "list of strings":
            return list(field.allowed) if field.allowed else [text]
        case "list of objects":
            return [members or {"name": text}]
        case "object":
            return members or {"all": text}
    return text  # free-form: "text, list or mapping"


def written_estate(root: Path) -> Path:
    contract = load_contract()
    for planned in plan_scaffold("Acme"):
        path = root / planned.path
        path.parent.mkdir(parents=True, exist_ok=True)
        text = planned.text
        if planned.path.startswith("governance/"):
            text = fill_document(text, contract)
        elif planned.path == "annexa.yaml":
            text = text.replace("TODO name the accountable owner", "Head of AI")
        path.write_text(text, encoding="utf-8")
    for control in attested_controls(root):
        (root / "attestations" / f"{control}.yaml").write_text(
            yaml.safe_dump(
                {
                    "id": f"ATT-{control}-2026",
                    "control": control,
                    "statement": f"The organisation meets {control} as the catalog describes it.",
                    "attested_by": "Dana Smith",
                    "role": "Head of AI",
                    "attested_on": APPROVED,
                    "expires": NEXT_REVIEW,
                    "ai_systems": [EXAMPLE_SYSTEM],
                }
            ),
            encoding="utf-8",
        )
    return root


def fill_document(text: str, contract: Any) -> str:
    front, body = split_front_matter(text)
    assert front is not None
    meta: dict[str, Any] = yaml.safe_load(front)
    declared = contract.document_type(meta["type"])
    meta.update(
        status="approved",
        owner="Head of AI",
        approver="AI Governance Board",
        approved_on=APPROVED,
        last_reviewed=APPROVED,
        next_review_due=NEXT_REVIEW,
        ai_systems=[EXAMPLE_SYSTEM],
    )
    if meta["type"] in RELATED:
        meta["related_policies"] = RELATED[meta["type"]]
    for field in declared.fields if declared else ():
        meta[field.name] = value_for(field)
    # Every section written: the sections of the template are the contract's for the type.
    body = re.sub(
        r"^TODO: .*$",
        "Acme states here, in full, who does what, when, and how it is checked.",
        body,
        flags=re.MULTILINE,
    )
    return f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}"


def attested_controls(root: Path) -> list[str]:
    scanner = EstateScanner(root)
    return sorted({rule.control_id for rule in scanner.ruleset.rules if "attestation" in rule.kinds})


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return written_estate(tmp_path_factory.mktemp("conformant"))


@pytest.fixture(scope="module")
def scanner(estate: Path) -> EstateScanner:
    return EstateScanner(estate)


@pytest.fixture(scope="module")
def baseline(scanner: EstateScanner) -> dict[str, str]:
    return scanner.scan().statuses()


def test_no_control_fails_and_every_control_it_covers_passes(
    scanner: EstateScanner, baseline: dict[str, str]
) -> None:
    scan = scanner.scan()
    wrong = {control: status for control, status in baseline.items() if status in ("fail", "error")}
    assert not wrong, "\n".join(
        f"{f.control_id} {f.rule_id}: {f.message}"
        for f in scan.findings
        if f.status.value in ("fail", "error")
    )
    # Covered: every rule of the control reads only what the estate holds, and one of them reads the
    # control's primary evidence (supporting evidence alone never passes a control: it stays inconclusive).
    offline = {rule.control_id for rule in scanner.ruleset.rules if rule.kinds <= OFFLINE_KINDS}
    online = {rule.control_id for rule in scanner.ruleset.rules if not rule.kinds <= OFFLINE_KINDS}
    primary = {rule.control_id for rule in scanner.ruleset.rules if rule.weight == "primary"}
    covered = (offline - online) & primary
    assert len(covered) >= 20
    not_passing = {control: baseline[control] for control in covered if baseline.get(control) != "pass"}
    assert not not_passing


ALWAYS_REQUIRED = (
    "type",
    "id",
    "status",
    "owner",
    "approver",
    "last_reviewed",
)  # for an approved, current one
ATTESTATION_REQUIRED = ("control", "statement", "attested_by", "role", "attested_on")  # the README's shape
DOCUMENTS = tuple(f.path for f in plan_scaffold("Acme") if f.path.startswith("governance/"))


def required_fields(root: Path, rel: str) -> tuple[str, ...]:
    """The fields a document of the estate must carry: the common ones an approved, current document
    needs, and the required type-specific ones the contract declares for its type."""
    front, _ = split_front_matter((root / rel).read_text(encoding="utf-8"))
    assert front is not None
    declared = load_contract().document_type(yaml.safe_load(front)["type"])
    return (*ALWAYS_REQUIRED, *(f.name for f in (declared.fields if declared else ()) if f.required))


def without(text: str, name: str) -> str:
    """The file's metadata without the top-level key ``name`` (and its block of nested lines)."""
    lines = text.split("\n")
    kept: list[str] = []
    skipping = False
    for line in lines:
        if re.match(rf"^{re.escape(name)}:", line):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "- ")) and line.strip()):
            continue
        skipping = False
        kept.append(line)
    assert kept != lines, name
    return "\n".join(kept)


def improvements_without(
    estate: Path, scanner: EstateScanner, baseline: dict[str, str], rel: str, names: Iterator[str]
) -> list[str]:
    found = []
    path = estate / rel
    original = path.read_text(encoding="utf-8")
    for name in names:
        path.write_text(without(original, name), encoding="utf-8")
        try:
            after = scanner.scan().statuses()
        finally:
            path.write_text(original, encoding="utf-8")
        found += [
            f"{rel} without {name}: {control} {before} -> {after[control]}"
            for control, before in baseline.items()
            if control in after and is_improvement(before, after[control])
        ]
    return found


@pytest.mark.slow  # a scan per field: about 6 a document
@pytest.mark.parametrize("rel", DOCUMENTS)
def test_removing_a_required_field_of_a_document_never_improves_a_status(
    rel: str, estate: Path, scanner: EstateScanner, baseline: dict[str, str]
) -> None:
    improvements = improvements_without(estate, scanner, baseline, rel, iter(required_fields(estate, rel)))
    assert not improvements, "\n".join(improvements)


def test_removing_a_required_field_of_an_attestation_never_improves_a_status(
    estate: Path, scanner: EstateScanner, baseline: dict[str, str]
) -> None:
    files = sorted((estate / "attestations").glob("*.yaml"))
    assert files
    improvements = []
    for path in files:
        rel = path.relative_to(estate).as_posix()
        improvements += improvements_without(estate, scanner, baseline, rel, iter(ATTESTATION_REQUIRED))
    assert not improvements, "\n".join(improvements)


def test_an_unmarked_document_is_named_as_found_but_unmarked(
    estate: Path, scanner: EstateScanner, baseline: dict[str, str]
) -> None:
    """The AI policy without its metadata (a template written elsewhere, no front matter): A.2.2 is not
    vacuously not_applicable, and its finding says the document was found but is unmarked."""
    path = estate / "governance" / "ai-policy.md"
    original = path.read_text(encoding="utf-8")
    _, body = split_front_matter(original)
    path.write_text(body, encoding="utf-8")
    try:
        scan = scanner.scan()
    finally:
        path.write_text(original, encoding="utf-8")
    assert baseline["A.2.2"] == "pass"
    assert scan.statuses()["A.2.2"] == "fail"
    (finding,) = [f for f in scan.findings if f.rule_id == "A.2.2/ai_policy_current"]
    assert "file:governance/ai-policy.md: document found but unmarked" in finding.message
    assert "file:governance/ai-policy.md" in {ref.source for ref in finding.evidence}
