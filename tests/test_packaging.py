"""The built wheel ships every file annexa reads at run time: the rule packs, the catalog and schemas,
the grammar, report templates and the AWS policy. An editable install reads them from the source tree,
so only a real wheel shows a data file that ``package-data`` forgot."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Where each source folder lands inside the ``annexa`` package (pyproject's package-dir).
PACKAGE_DIRS = {"engine": "annexa", "rules": "annexa/rules", "collectors": "annexa/collectors"}
DATA_SUFFIXES = {".rule", ".yaml", ".json", ".lark", ".css", ".js", ".md", ".html"}

pytestmark = pytest.mark.slow


def runtime_data_files() -> set[str]:
    """Non-Python files under the package folders, as paths inside the wheel."""
    found = set()
    for folder, package in PACKAGE_DIRS.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in DATA_SUFFIXES and "__pycache__" not in path.parts:
                relative = path.relative_to(ROOT / folder)
                if path.name == "README.md" and folder != "engine":
                    continue  # a collector's README is documentation, not read at run time
                found.add(f"{package}/{relative.as_posix()}")
    return found


def test_the_wheel_ships_every_runtime_data_file(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv*", "build", "*.egg-info", "__pycache__", "tests", "examples", "benchmarks"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path / "dist"),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = (tmp_path / "dist").glob("annexa-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = runtime_data_files()
    assert sum(name.endswith(".rule") for name in expected) >= 50  # the packs, not an empty glob
    assert expected - shipped == set()
