"""The catalogue, the evidence contract and the schemas' verdicts read back from the per-user cache."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import yaml

from annexa.contract import catalog, validation

NAMES = ("annex_a.yaml", "clauses.yaml", "evidence_contract.yaml")


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Path]:
    saved = list(catalog._DATA_CACHE)
    catalog.use_cache(tmp_path)
    yield tmp_path
    catalog._DATA_CACHE[:] = saved


@pytest.mark.parametrize("name", NAMES)
def test_read_back_from_the_cache_equals_the_yaml(cache: Path, name: str) -> None:
    text = resources.files("annexa").joinpath(f"data/{name}").read_text(encoding="utf-8")
    expected = yaml.safe_load(text)
    assert catalog.read_data(name) == expected  # parsed, then kept
    (kept,) = [path for path in cache.glob("data-*.pickle") if path.stat().st_size]
    assert catalog.read_data(name) == expected  # read back
    kept.write_bytes(b"not a pickle")  # a damaged cache file: parsed again, as if there were none
    assert catalog.read_data(name) == expected


def test_a_changed_file_is_not_answered_from_the_cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog.read_data("clauses.yaml")
    original = resources.files("annexa").joinpath("data/clauses.yaml").read_bytes()

    class Changed:
        def joinpath(self, _: str) -> Changed:
            return self

        def read_bytes(self) -> bytes:
            return original + b"\nextra: 1\n"

    monkeypatch.setattr(catalog.resources, "files", lambda _: Changed())
    assert catalog.read_data("clauses.yaml")["extra"] == 1
    assert len(list(cache.glob("data-*.pickle"))) == 2


def test_rules_check_with_a_warm_cache_imports_neither_yaml_nor_jsonschema_rs(tmp_path: Path) -> None:
    probe = (
        "import sys\nfrom annexa.cli.main import main\n"
        "code = main(['rules', 'check', 'builtin:annex_a'])\n"
        "print(code, 'yaml' in sys.modules or 'jsonschema_rs' in sys.modules)"
    )
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True,
                       timeout=120).stdout.split()[-2:]
        for _ in range(2)
    ]  # fmt: skip
    assert runs == [["0", "True"], ["0", "False"]]  # the first run parses and keeps, the second reads back


@pytest.fixture
def verdicts(tmp_path: Path) -> Iterator[Path]:
    saved = list(validation._VERDICT_CACHE)
    validation.use_cache(tmp_path)
    validation._schema_problem.cache_clear()
    yield tmp_path
    validation._VERDICT_CACHE[:] = saved
    validation._schema_problem.cache_clear()


def test_only_valid_schemas_are_remembered(verdicts: Path) -> None:
    valid = {"type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}}
    invalid = {"type": "object", "properties": {"name": {"type": "strin"}}}
    assert validation.schema_problem(valid) is None
    assert len(list(verdicts.glob("schema-valid-*"))) == 1
    validation._schema_problem.cache_clear()  # a new process: answered from the folder
    assert validation.schema_problem(valid) is None
    for _ in range(2):  # never remembered: checked and worded by jsonschema each time
        validation._schema_problem.cache_clear()
        problem = validation.schema_problem(invalid)
        assert problem is not None
        assert "strin" in problem.message
    assert len(list(verdicts.glob("schema-valid-*"))) == 1
    import jsonschema  # a caller's own jsonschema class: not remembered either

    assert validation.schema_problem({"type": "string"}, jsonschema.Draft7Validator) is None
    assert len(list(verdicts.glob("schema-valid-*"))) == 1
