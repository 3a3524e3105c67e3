"""The command line behaves the same everywhere: one -c/--config, --format a,b and -o, exit codes 3 and 4,
dry runs, and the text summary without a wall of lines for collectors nobody configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_scan import ANNEXA, NOW, Project, cli  # shared builders, same folder

from annexa.cli.main import build_parser
from annexa.model.exitcodes import ExitCode

REPO = Path(__file__).resolve().parents[2]

# Every command that reads the store or the rules takes -c/--config; `init` writes one, `plugins` lists
# what is installed, `contract` prints the evidence contract of the packs it is given.
READS_STORE_OR_RULES = (
    "scan",
    "collect",
    "evaluate",
    "verify",
    "history",
    "diff",
    "report",
    "controls",
    "soa",
    "nonconformities",
    ("rules", "check"),
    ("rules", "list"),
    "export",
    "contract",
)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


def _subparser(*names: str) -> object:
    parser = build_parser()
    for name in names:
        action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = action.choices[name]  # type: ignore[attr-defined]
    return parser


@pytest.mark.parametrize("command", READS_STORE_OR_RULES)
def test_every_command_reading_the_store_or_rules_takes_config(command: str | tuple[str, ...]) -> None:
    names = (command,) if isinstance(command, str) else command
    parser = _subparser(*names)
    [config] = [a for a in parser._actions if "--config" in a.option_strings]  # type: ignore[attr-defined]
    assert config.option_strings == ["-c", "--config"]
    assert config.metavar == "FILE"
    assert "annexa.yaml" in config.help or config.default == Path("annexa.yaml")


def test_read_only_commands_find_the_store_through_the_configuration(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert project.scan(capsys)[0] == 0
    assert project.scan(capsys)[0] == 0
    # -c names the configuration; its store (project/store, not ./.annexa) is the one read
    for command in (["verify"], ["history"], ["diff"], ["report", "--format", "json"]):
        code, out, err = cli(capsys, *command, "-c", str(project.config))
        assert code == 0, (command, err)
    code, out, _ = cli(capsys, "history", "-c", str(project.config), "--format", "json")
    assert len(json.loads(out)["scans"]) == 2
    # without -c, annexa.yaml in the current folder is read, as scan does
    monkeypatch.chdir(project.root)
    code, out, _ = cli(capsys, "verify")
    assert code == 0
    assert "OK (2 scan(s)" in out
    # --store still wins over the configuration's store
    code, _, err = cli(capsys, "history", "--store", str(project.root / "elsewhere"))
    assert code == ExitCode.USAGE_ERROR
    assert "elsewhere" in err


def test_a_configuration_given_but_missing_is_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("verify", "history", "controls", "report", "soa", "nonconformities", "scan"):
        code, _, err = cli(capsys, command, "-c", str(tmp_path / "absent.yaml"))
        assert code == ExitCode.USAGE_ERROR, command
        assert f"no configuration file {tmp_path / 'absent.yaml'}" in err, command


def test_format_takes_a_comma_separated_list_and_o_a_folder(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = project.root / "reports"
    code, out, err = cli(
        capsys, "scan", "-c", str(project.config), "--now", NOW, "--format", "html,sarif", "-o", f"{out_dir}/"
    )
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["annexa-report.html", "annexa-report.sarif"]
    assert f"report: {out_dir / 'annexa-report.sarif'}" in out
    # the same for `report`, and repeated --format means the same as the list
    again = project.root / "again"
    code, _, err = cli(capsys, "report", "-c", str(project.config), "--format", "csv", "--format", "junit",
                       "-o", f"{again}/")  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in again.iterdir()) == ["annexa-report.csv", "annexa-report.junit.xml"]


def test_a_missing_source_path_is_a_configuration_error_before_anything_is_recorded(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write_config(docs_path="governanse")
    for command in ("scan", "collect"):
        extra = ["-o", str(project.root / "bundle.jsonl")] if command == "collect" else []
        code, out, err = cli(capsys, command, "-c", str(project.config), "--now", NOW, *extra)
        assert code == ExitCode.USAGE_ERROR
        # the file and line of the key, the key and the path as written, and where it was looked for
        assert f"{project.config}:4:32: error[E608]" in err
        assert "error[E608]: `collectors.documents.sources[0].path`: governanse does not exist" in err
        assert str(project.root / "governanse") in err
        assert out == ""
    assert not project.store.exists(), "nothing is recorded"
    assert not (project.root / "bundle.jsonl").exists(), "nothing is collected"


def test_no_record_evaluates_and_reports_but_stores_nothing(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.set_policy_status("draft")
    out_dir = project.root / "out"
    code, out, err = cli(capsys, "scan", "-c", str(project.config), "--now", NOW, "--no-record",
                         "--format", "text,html", "-o", f"{out_dir}/")  # fmt: skip
    assert code == ExitCode.NONCONFORMITIES, err
    assert "not recorded (--no-record): nothing was stored" in out
    assert (out_dir / "annexa-report.html").is_file()  # a report that reads the evidence still works
    assert "draft" in (out_dir / "annexa-report.html").read_text(encoding="utf-8")
    assert not project.store.exists()
    code, out, _ = cli(
        capsys, "scan", "-c", str(project.config), "--now", NOW, "--no-record", "--format", "json"
    )
    assert json.loads(out)["scan"]["store"] == "(not recorded: --no-record)"
    # and after a recorded scan, a dry run leaves the history as it was
    assert project.scan(capsys)[0] == 1
    cli(capsys, "scan", "-c", str(project.config), "--now", NOW, "--no-record")
    code, out, _ = cli(capsys, "history", "-c", str(project.config), "--format", "json")
    assert len(json.loads(out)["scans"]) == 1


def test_collectors_the_configuration_does_not_name_are_one_summary_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write_config(attestations=False)
    code, out, _ = cli(capsys, "scan", "-c", str(project.config), "--now", NOW)
    assert code == ExitCode.INCONCLUSIVE
    summary = [line for line in out.splitlines() if "no configured collector" in line]
    assert summary == [
        "  INCONCLUSIVE 1 rule(s) read evidence no configured collector produces: attestation "
        "(see docs/collectors.md; --format json lists each finding)"
    ]
    code, out, _ = cli(capsys, "scan", "-c", str(project.config), "--now", NOW, "--format", "json")
    [finding] = [f for f in json.loads(out)["findings"] if f["status"] == "inconclusive"]
    assert "no configured collector produced it" in finding["message"]  # every format but text keeps it


# --- exit 3: an internal error or a plugin crash, one line and a hint -----------------------------------

CRASHING_PLUGIN = textwrap.dedent(
    """
    from annexa.plugins import ReporterSpec, hookimpl


    def render(document):
        raise RuntimeError("the crash reporter crashed")


    @hookimpl
    def annexa_reporters():
        yield ReporterSpec(name="crash", suffix=".txt", render=render, description="always crashes")
    """
)


@pytest.fixture
def crashing_plugin(tmp_path: Path) -> dict[str, str]:
    """A third-party plugin installed the way pip installs one: a module and its dist-info entry point."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "annexa_crash.py").write_text(CRASHING_PLUGIN, encoding="utf-8")
    info = site / "annexa_crash-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: annexa-crash\nVersion: 0.1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text("[annexa]\ncrash = annexa_crash\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in ("ANNEXA_DISABLE_PLUGIN_AUTOLOAD",
                                                                          "ANNEXA_DEBUG")}  # fmt: skip
    env["PYTHONPATH"] = str(site)
    return env


def test_a_plugin_crash_exits_3_with_one_line_and_a_hint(
    project: Project, crashing_plugin: dict[str, str]
) -> None:
    args = [str(ANNEXA), "scan", "-c", str(project.config), "--now", NOW, "--format", "crash"]
    done = subprocess.run(args, capture_output=True, text=True, env=crashing_plugin, timeout=120, check=False)
    assert done.returncode == ExitCode.INTERNAL_ERROR, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-2:] == [
        "annexa: plugin crash failed: RuntimeError: the crash reporter crashed",
        "  hint: disable it with `-p no:crash` or `plugins: {disabled: [crash]}` in annexa.yaml; run again "
        "with --debug (or ANNEXA_DEBUG=1) for the traceback",
    ]
    for debug_args, env in (
        (["--debug"], crashing_plugin),
        ([], {**crashing_plugin, "ANNEXA_DEBUG": "1"}),
    ):
        done = subprocess.run(
            args + debug_args, capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert done.returncode == ExitCode.INTERNAL_ERROR
        assert "Traceback (most recent call last)" in done.stderr
        assert 'annexa_crash.py", line' in done.stderr


def test_an_internal_error_is_one_line_and_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    from annexa.cli.main import _internal_error

    try:
        {}["missing"]  # an error raised in annexa's own frames (this test's), not in a plugin's
    except KeyError as exc:
        error = exc
    assert _internal_error(error, debug=False) == ExitCode.INTERNAL_ERROR
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "annexa: internal error: KeyError: 'missing'"
    assert lines[1].startswith("  hint: this is a bug in annexa: please report it with the traceback")
    assert lines[1].endswith("; run again with --debug (or ANNEXA_DEBUG=1) for the traceback")
    assert len(lines) == 2
    assert _internal_error(error, debug=True) == ExitCode.INTERNAL_ERROR
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_exit_codes_are_documented_where_the_cli_is() -> None:
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {int(code)} | `{code.name}` |" in text, code
