"""annexa.yaml validation: every error at once, with file:line:col, key path and what was expected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from annexa.model.diagnostics import DiagnosticError
from annexa.plugins import CollectorSpec, hookimpl
from annexa.plugins.config import load_config, read_disabled_plugins
from annexa.plugins.host import PluginHost

AWS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "regions": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]{2}-[a-z]+-[0-9]$"}}
    },
}


class Aws:
    @hookimpl
    def annexa_collectors(self) -> Any:
        yield CollectorSpec(
            name="aws",
            version="0.3.0",
            kinds={"aws.s3.bucket": {"type": "object"}},
            config_schema=AWS_SCHEMA,
            factory=object,
        )


@pytest.fixture
def host(annexa_host: PluginHost, register_plugin: Any) -> PluginHost:
    register_plugin(Aws(), name="aws")
    return annexa_host


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "annexa.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def headlines(path: Path, host: PluginHost) -> list[str]:
    with pytest.raises(DiagnosticError) as caught:
        load_config(path, host)
    return [d.headline().replace(str(path), "F") for d in caught.value.diagnostics]


def test_valid_config_resolves_paths_and_dates(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path,
        """\
version: 1
organization: Acme AI
collectors:
  aws: {regions: [eu-west-1]}
rules: {paths: ["builtin:annex_a", ./rules], params: {review_period: 180d, strict: true, min: 10}}
applicability:
  - {control: A.10.4, applicable: false, justification: "No customers use our AI systems."}
exceptions:
  - {rule: A.6.2.8/endpoint_data_capture, subject: "arn:x", justification: "Retired in Q1",
     approved_by: CISO, expires: 2027-03-31}
store: {path: .annexa}
plugins: {disabled: [mlflow]}
""",
    )
    config = load_config(path, host)
    folder = str(path.parent)
    assert config.rule_paths == ("builtin:annex_a", f"{folder}/rules")
    assert config.store_path == f"{folder}/.annexa"
    assert config.params == {"review_period": "180d", "strict": "true", "min": "10"}
    assert config.collectors == {"aws": {"regions": ["eu-west-1"]}}
    assert config.exceptions[0].expires == dt.date(2027, 3, 31)
    assert config.exceptions[0].in_force(dt.date(2027, 3, 31))
    assert not config.exceptions[0].in_force(dt.date(2027, 4, 1))
    assert config.applicability[0].applicable is False
    assert config.disabled_plugins == ("mlflow",) == read_disabled_plugins(path)


def test_all_errors_at_once_with_positions_and_key_paths(tmp_path: Path, host: PluginHost) -> None:
    path = write(
        tmp_path,
        """\
version: 1
organisation: Acme
collectors:
  awss: {}
  aws:
    regions: [eu-west-1, EU_WEST]
rules: {paths: "./rules"}
applicability:
  - {control: A.10.4, applicable: "no", justification: ok}
  - {control: B.1}
exceptions:
  - {rule: A.6.2.8/x, justification: j, approved_by: c, expires: 2027-13-31}
""",
    )
    found = headlines(path, host)
    positions = [tuple(int(n) for n in h.split(":")[1:3]) for h in found]
    assert positions == sorted(positions)  # sorted by line and column
    # Diagnostics at the same position and code come in no fixed order (sort_key has no tie-break).
    assert sorted(found) == sorted(
        [
            "F:2:1: error[E603]: unknown key `organisation`",
            "F:4:3: error[E605]: unknown collector `awss` in `collectors`",
            "F:6:26: error[E604]: `collectors.aws.regions[1]`: expected text matching "
            "`^[a-z]{2}-[a-z]+-[0-9]$`, "
            "found `EU_WEST`",
            "F:7:16: error[E601]: `rules.paths`: expected a list, found the string `./rules`",
            "F:9:35: error[E601]: `applicability[0].applicable`: expected true or false, "
            "found the string `no`",
            "F:10:5: error[E602]: missing required key `applicability[1].applicable`",
            "F:10:5: error[E602]: missing required key `applicability[1].justification`",
            "F:10:15: error[E604]: `applicability[1].control`: expected an Annex A control id "
            "such as A.6.2.8, "
            "found `B.1`",
            "F:12:66: error[E604]: `exceptions[0].expires`: expected a date such as 2027-03-31, "
            "found `2027-13-31`",
        ]
    )


def test_did_you_mean_for_unknown_collector(tmp_path: Path, host: PluginHost) -> None:
    path = write(tmp_path, "version: 1\ncollectors:\n  asw: {}\n")
    with pytest.raises(DiagnosticError) as caught:
        load_config(path, host)
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "E605"
    assert diagnostic.help is not None
    assert "did you mean `aws`?" in diagnostic.help


def test_yaml_syntax_duplicates_and_missing_file(tmp_path: Path, host: PluginHost) -> None:
    assert headlines(write(tmp_path, "version: 1\nrules: {paths: [a}\n"), host)[0].startswith("F:2:")
    assert headlines(write(tmp_path, "version: 1\nversion: 1\n"), host) == [
        "F:2:1: error[E607]: duplicate key `version` (first defined on line 1)"
    ]
    assert headlines(write(tmp_path, ""), host) == [
        "F:1:1: error[E601]: `(top level)`: expected a mapping, found nothing (null)"
    ]
    missing = tmp_path / "nope.yaml"
    with pytest.raises(DiagnosticError, match=r"E600.*cannot read file"):
        load_config(missing, host)
