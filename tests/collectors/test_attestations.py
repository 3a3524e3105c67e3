"""The attestations collector against real YAML files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from annexa.collectors import attestations
from annexa.plugins import CollectorError, CollectorSpec
from annexa.plugins.specs import collector_spec_problems
from annexa.plugins.testing import execute_collector

SPEC: CollectorSpec = next(iter(attestations.annexa_collectors()))
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SINGLE = """\
id: ATT-A.3.3-2026
control: A.3.3
statement: Concerns can be raised anonymously through the ethics hotline.
attested_by: Dana Whitfield
role: Head of Compliance
attested_on: 2026-03-02
expires: 2027-03-02
links: [https://intranet.example.com/hotline]
ai_systems: [fraud-scoring]
"""

LIST = """\
- control: A.10.4
  statement: Contracts say answers are AI-generated.
  attested_by: Marco Bianchi
  role: General Counsel
  attested_on: "2026-09-01"
  links: https://contracts.example.com/terms
- control: 5.2
  statement: Leadership commitment recorded in board minutes.
  attested_by: Ada Board
  role: Chair
  attested_on: 2026-01-05T10:00:00Z
  expires: null
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def collect(kit: Any, root: Path, **kwargs: Any) -> Any:
    return kit.run(SPEC, {"path": root.name}, base_path=root.parent, **kwargs)


def test_single_and_list_files(kit: Any, tmp_path: Path) -> None:
    root = tmp_path / "attestations"
    write(root / "a33.yaml", SINGLE)
    write(root / "contracts" / "several.yml", LIST)
    write(root / "README.txt", "not an attestation")
    run = collect(kit, root)
    assert run.problems == []
    assert [item.source for item in run.evidence] == [
        "file:attestations/a33.yaml#ATT-A.3.3-2026",
        "file:attestations/contracts/several.yml#several#1",
        "file:attestations/contracts/several.yml#several#2",
    ]
    first, second, third = (item.data for item in run.evidence)
    assert first == {
        "id": "ATT-A.3.3-2026",
        "control": "A.3.3",
        "statement": "Concerns can be raised anonymously through the ethics hotline.",
        "attested_by": "Dana Whitfield",
        "role": "Head of Compliance",
        "attested_on": "2026-03-02",
        "expires": "2027-03-02",
        "links": ["https://intranet.example.com/hotline"],
        "ai_systems": ["fraud-scoring"],
        "path": "a33.yaml",
    }
    assert (second["id"], second["attested_on"], second["expires"]) == ("several#1", "2026-09-01", None)
    assert second["links"] == ["https://contracts.example.com/terms"]
    assert second["ai_systems"] == []
    # The control id is kept as written, even when YAML would read it as a number.
    assert (third["control"], third["attested_on"]) == ("5.2", "2026-01-05")
    assert {item.scope["store"] for item in run.evidence} == {"attestations"}
    assert {item.kind for item in run.evidence} == {"attestation"}


@pytest.mark.parametrize(
    ("text", "message", "item"),
    [
        (
            "control: A.3.3\nstatement: x\n",
            "bad.yaml:1: attestation lacks attested_by, role, attested_on",
            "bad",
        ),
        (
            SINGLE.replace("role: Head of Compliance", "role: [a, b]"),
            "bad.yaml:5: role must be text, not a list",
            "ATT-A.3.3-2026",
        ),
        (
            SINGLE.replace("attested_on: 2026-03-02", "attested_on: March"),
            "bad.yaml:6: attested_on must be a date",
            "ATT-A.3.3-2026",
        ),
        (
            SINGLE.replace("expires: 2027-03-02", "expires: 2027-13-45"),
            "bad.yaml:7: expires must be a date",
            "ATT-A.3.3-2026",
        ),
        (
            SINGLE.replace("links: [", "links: [{a: 1}, "),
            "bad.yaml:8: links must be a list of text values",
            "ATT-A.3.3-2026",
        ),
        (
            SINGLE.replace("statement: C", "statement: [C"),
            "bad.yaml:4:12: not valid YAML: expected ',' or ']'",
            "ATT-A.3.3-2026",
        ),
        ("just text\n", "bad.yaml:1: expected an attestation mapping", "bad"),
        ("", "bad.yaml:1: the file is empty", "bad"),
        (SINGLE + "control: A.3.2\n", "bad.yaml:10: duplicate key 'control'", "ATT-A.3.3-2026"),
    ],
)
def test_invalid_files_are_reported_and_the_rest_continue(
    kit: Any, tmp_path: Path, text: str, message: str, item: str
) -> None:
    root = tmp_path / "att"
    write(root / "bad.yaml", text)
    write(root / "good.yaml", SINGLE)
    run = collect(kit, root)
    assert [item.data["path"] for item in run.evidence] == ["good.yaml"]
    [(source, problem)] = run.problems
    assert source == "file:att/bad.yaml"
    assert problem.startswith(message), problem
    # The attestation is there but broken: a defective item with the source it would have had (its id
    # as written, else the file stem), which every rule over attestations fails on.
    assert run.defects == [("attestation", f"file:att/bad.yaml#{item}", problem)]


def test_one_bad_entry_in_a_list_leaves_the_others(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "att" / "list.yaml", LIST.replace("  role: Chair\n", ""))
    run = collect(kit, tmp_path / "att")
    assert [item.data["control"] for item in run.evidence] == ["A.10.4"]
    assert run.messages() == ["list.yaml:7: attestation lacks role"]
    assert run.defects == [
        ("attestation", "file:att/list.yaml#list#2", "list.yaml:7: attestation lacks role")
    ]


def test_a_list_that_cannot_be_parsed_is_one_defective_item(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "att" / "list.yaml", LIST.replace("Contracts say", "[Contracts say"))
    run = collect(kit, tmp_path / "att")
    assert run.evidence == []
    [message] = run.messages()
    # Which attestations the list held cannot be told: the defective item is the file.
    assert run.defects == [("attestation", "file:att/list.yaml", message)]


def test_an_unreadable_file_is_defective(kit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "att" / "a33.yaml", SINGLE)
    read_bytes = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    run = collect(kit, tmp_path / "att")
    assert run.evidence == []
    assert run.defects == [
        ("attestation", "file:att/a33.yaml#a33", "a33.yaml: cannot be read (Permission denied)")
    ]


def test_a_defective_attestation_reaches_the_rules_through_the_host(tmp_path: Path) -> None:
    write(tmp_path / "att" / "a33.yaml", SINGLE.replace("role: Head of Compliance", "role: [a, b]"))
    run = execute_collector(SPEC, config={"path": "att"}, base_path=tmp_path, now=NOW)
    [item] = run.evidence
    assert (item.kind, item.source, item.data) == ("attestation", "file:att/a33.yaml#ATT-A.3.3-2026", {})
    assert item.defect == "a33.yaml:5: role must be text, not a list"


def test_unknown_keys_are_reported_but_the_attestation_kept(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "att" / "typo.yaml", SINGLE.replace("expires: 2027-03-02", "expiry: 2027-03-02"))
    run = collect(kit, tmp_path / "att")
    [item] = run.evidence
    assert item.data["expires"] is None
    [message] = run.messages()
    assert message == "typo.yaml:7: unknown key 'expiry' ignored (did you mean 'expires'?)"


def test_missing_folder_is_a_collector_error(kit: Any, tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="attestation folder 'nowhere' does not exist") as caught:
        kit.run(SPEC, {"path": "nowhere"}, base_path=tmp_path)
    assert caught.value.hint is not None


def test_ids_are_deterministic(kit: Any, tmp_path: Path) -> None:
    write(tmp_path / "att" / "a.yaml", SINGLE)
    write(tmp_path / "att" / "b.yaml", LIST)
    first = [item.id for item in collect(kit, tmp_path / "att").evidence]
    assert first == [item.id for item in collect(kit, tmp_path / "att").evidence]
    assert set(first).isdisjoint(
        item.id for item in collect(kit, tmp_path / "att", now=NOW + timedelta(1)).evidence
    )


def test_spec_contract() -> None:
    assert collector_spec_problems(SPEC) == []
    jsonschema.Draft202012Validator.check_schema(attestations.ATTESTATION_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"path": "a", "extra": 1}, attestations.CONFIG_SCHEMA)


def test_example_attestations(kit: Any) -> None:
    run = kit.run(SPEC, {"path": "attestations"}, base_path=EXAMPLES)
    assert run.problems == []
    assert 3 <= len(run.evidence) <= 6
    expired = [item.data["id"] for item in run.evidence if str(item.data["expires"]) < NOW.date().isoformat()]
    assert expired == ["ATT-A.8.3-2024"]
