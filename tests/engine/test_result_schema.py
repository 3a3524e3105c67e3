"""The JSON that ``annexa scan`` and ``annexa evaluate`` print validates against result.schema.json."""

from __future__ import annotations

import copy
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_scan import NOW, POLICY_RULE, Project, cli, policy, write_document  # shared builders


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    # Read through the installed package, as a consumer of the schema would.
    text = resources.files("annexa").joinpath("data/result.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft202012Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def problems(validator: jsonschema.protocols.Validator, result: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(result)
    ]


def scan_outputs(project: Project, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Scans that between them show every optional shape: no drift, drift, waiver, n/a, not collected."""
    outputs = []
    _, first, _ = project.scan(capsys)
    outputs.append(first)
    project.set_policy_status("draft")
    write_document(project.docs, "policies/second.md", policy("approved", id="POL-AI-002"))
    project.write_config(
        extra="exceptions:\n"
        f"  - rule: {POLICY_RULE}\n"
        "    justification: Under board review.\n"
        "    approved_by: CRO\n"
        "    expires: 2027-01-31\n"
        "applicability:\n"
        "  - control: A.3.3\n"
        "    applicable: false\n"
        "    justification: Covered by the group hotline.\n"
    )
    _, second, _ = project.scan(capsys)
    outputs.append(second)
    project.write_config(docs_path="annexa.yaml")  # a file, not a folder: the documents are not collected
    _, third, _ = project.scan(capsys)
    outputs.append(third)
    return outputs


def test_scan_output_validates(
    project_dir: Project, capsys: pytest.CaptureFixture[str], validator: jsonschema.protocols.Validator
) -> None:
    first, second, third = scan_outputs(project_dir, capsys)
    assert first["drift"] is None
    assert second["drift"]["findings"]
    assert any(f["waiver"] for f in second["findings"])
    assert any(f["status"] == "not_applicable" for f in second["findings"])
    assert third["collection"]["not_collected"]
    for result in (first, second, third):
        assert problems(validator, result) == []


def test_evaluate_output_validates(
    project_dir: Project, capsys: pytest.CaptureFixture[str], validator: jsonschema.protocols.Validator
) -> None:
    project_dir.set_policy_status("draft")
    bundle = project_dir.root / "bundle.jsonl"
    code, _, err = cli(capsys, "collect", "-c", str(project_dir.config), "--now", NOW, "-o", str(bundle))
    assert code == 0, err
    with bundle.open("a", encoding="utf-8") as handle:
        bad = {"kind": "document", "source": "file:x.md", "scope": {}, "collector": "documents 0.1.0"}
        handle.write(json.dumps({**bad, "collected_at": NOW, "data": {"title": 1}}) + "\n")
    code, out, err = cli(
        capsys, "evaluate", "--evidence", str(bundle), "--rules", str(project_dir.rules), "--now", NOW,
        "--format", "json",
    )  # fmt: skip
    assert code == 1, err
    result = json.loads(out)
    assert result["invalid_evidence"]
    assert "scan" not in result
    assert problems(validator, result) == []


def test_the_schema_is_strict(
    project_dir: Project, capsys: pytest.CaptureFixture[str], validator: jsonschema.protocols.Validator
) -> None:
    _, result, _ = project_dir.scan(capsys)
    assert problems(validator, result) == []

    def broken(change: Any) -> list[str]:
        copied = copy.deepcopy(result)
        change(copied)
        return problems(validator, copied)

    assert broken(lambda r: r["findings"][0].update(status="passed"))
    assert broken(lambda r: r["findings"][0].update(severity="urgent"))
    assert broken(lambda r: r["findings"][0].pop("evidence"))
    assert broken(lambda r: r["findings"][0].update(surprise=1))
    assert broken(lambda r: r["controls"][0].update(status="unknown"))
    assert broken(lambda r: r["summary"].update(exit_code=3))
    assert broken(lambda r: r.pop("drift"))  # a scan result carries all of its extra keys
    assert broken(lambda r: r.update(extra_key=True))
    assert broken(lambda r: r["collection"]["runs"][0].update(items=-1))


@pytest.fixture
def project_dir(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")
