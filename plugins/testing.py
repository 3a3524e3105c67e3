"""A pytest plugin for plugin authors: what pytester is to pytest plugins, this is to annexa collectors.

Enable it in your ``conftest.py``::

    pytest_plugins = ["annexa.plugins.testing"]

Fixtures: ``annexa_pm`` (a fresh plugin manager: no entry points, no built-ins), ``annexa_host`` (the
typed :class:`~annexa.plugins.host.PluginHost` over it, validating exactly as in production),
``register_plugin`` (register for the test's duration), ``run_collector`` (run ``collect()`` as the
host does) and ``cli_run`` (run the ``annexa`` command in-process). Plain functions:
:func:`check_collector_spec` and :func:`evaluate_rule`.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from annexa.model.evidence import Evidence
from annexa.plugins.collection import CollectionProblem, collect_checked
from annexa.plugins.host import PluginHost
from annexa.plugins.manager import AnnexaPluginManager, make_plugin_manager
from annexa.plugins.specs import collector_spec_problems
from annexa.plugins.types import CollectorSpec, CollectRequest, DocumentReader

if TYPE_CHECKING:
    from annexa.model.findings import Finding

__all__ = [
    "CliResult",
    "CollectorRun",
    "RuleResult",
    "check_collector_spec",
    "evaluate_rule",
    "execute_collector",
    "invoke_cli",
]

# A fixed clock for tests that do not care about time; collectors must use request.now, never now().
DEFAULT_NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


# -- spec contract ------------------------------------------------------------------------------------


def check_collector_spec(spec: CollectorSpec) -> None:
    """Assert that ``spec`` honours the collector contract; the failure lists every violation.

    Checks: a lower-case name of letters, digits and underscores; a version; a callable factory; at
    least one kind, each a dotted lower-case name; and that the config schema and every kind schema
    pass ``jsonschema`` ``check_schema``.
    """
    __tracebackhide__ = True
    problems = collector_spec_problems(spec)
    if isinstance(spec, CollectorSpec) and spec.name != spec.name.lower():
        problems.insert(
            0, f"collector {spec.name!r}: name is not lower case (the host would use {spec.name.lower()!r})"
        )
    if problems:
        pytest.fail("collector spec violates the contract:\n" + "\n".join(f"  - {p}" for p in problems))


# -- running a collector -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CollectorRun:
    """The outcome of one ``collect()``: valid evidence, and every problem the host would report."""

    spec: CollectorSpec
    evidence: tuple[Evidence, ...]
    diagnostics: tuple[CollectionProblem, ...]

    def kinds(self) -> dict[str, int]:
        return dict(Counter(item.kind for item in self.evidence))

    def assert_kinds(self, expected: Mapping[str, int]) -> None:
        """Assert the exact number of valid items per kind (kinds not listed must not appear)."""
        __tracebackhide__ = True
        actual = self.kinds()
        if actual != dict(expected):
            pytest.fail(
                f"evidence per kind: expected {dict(sorted(expected.items()))}, "
                f"got {dict(sorted(actual.items()))}"
            )

    def assert_no_diagnostics(self) -> None:
        __tracebackhide__ = True
        if self.diagnostics:
            pytest.fail("collector reported problems:\n" + "\n".join(f"  - {d}" for d in self.diagnostics))

    def by_source(self, source: str) -> Evidence:
        """The one evidence item with this source."""
        __tracebackhide__ = True
        matches = [item for item in self.evidence if item.source == source]
        if len(matches) != 1:
            pytest.fail(f"expected one item with source {source!r}, found {len(matches)}")
        return matches[0]


def execute_collector(
    spec: CollectorSpec,
    *,
    config: Mapping[str, Any] | None = None,
    kinds: Iterable[str] | None = None,
    now: datetime = DEFAULT_NOW,
    base_path: str | Path = ".",
    open_document: Callable[[str], DocumentReader | None] | None = None,
) -> CollectorRun:
    """Run ``spec``'s collector once, exactly as the host does (see :func:`collect_checked`).

    The config is first validated against the spec's config schema, as ``load_config`` would; a
    violation fails the test, because the host would never call the collector with it.
    """
    __tracebackhide__ = True
    import jsonschema

    config = dict(config or {})
    validator = jsonschema.validators.validator_for(spec.config_schema)(spec.config_schema)
    errors = [
        f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(config)
    ]
    if errors:
        pytest.fail(f"config does not match the schema of collector {spec.name!r}: " + "; ".join(errors))
    if now.tzinfo is None:
        pytest.fail("now must be timezone-aware")
    request = CollectRequest(
        config=config,
        kinds=frozenset(kinds if kinds is not None else spec.kinds),
        now=now,
        base_path=str(base_path),
        open_document=open_document or (lambda uri: None),
    )
    outcome = collect_checked(spec, request)
    return CollectorRun(spec=spec, evidence=outcome.evidence, diagnostics=outcome.problems)


# -- evaluating a rule ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleResult:
    findings: tuple[Finding, ...]

    def statuses(self) -> dict[str | None, str]:
        """subject -> status value."""
        return {f.subject: f.status.value for f in self.findings}

    def assert_status(self, status: str, *, subjects: Iterable[str | None] | None = None) -> None:
        """Assert findings of ``status`` (``"pass"``, ``"fail"``, ...).

        Without ``subjects``: there is at least one finding and every finding has that status. With
        ``subjects``: the set of subjects having that status is exactly ``subjects``.
        """
        __tracebackhide__ = True
        status = str(getattr(status, "value", status))
        have = sorted((f.subject or "", f.status.value) for f in self.findings)
        if subjects is None:
            if not self.findings or any(f.status.value != status for f in self.findings):
                pytest.fail(f"expected every finding to be {status!r}, got {have}")
            return
        actual = {f.subject for f in self.findings if f.status.value == status}
        if actual != set(subjects):
            pytest.fail(f"subjects with status {status!r}: expected {sorted(map(str, subjects))}, got {have}")


_CONTROL = re.compile(r"\bcontrol\s+(A\.[0-9]+(?:\.[0-9]+)*)")


def evaluate_rule(
    text: str,
    evidence: Iterable[Evidence],
    *,
    now: datetime = DEFAULT_NOW,
    kinds: Mapping[str, Mapping[str, Any]] | Iterable[CollectorSpec] | None = None,
    params: Mapping[str, str] | None = None,
    collected: Mapping[str, str | None] | None = None,
) -> RuleResult:
    """Parse, check, compile and evaluate rule-language ``text`` over ``evidence``.

    :param kinds: the schemas the checker reads field paths from: a mapping kind -> JSON Schema, or
        collector specs (their declared kinds); by default an open object schema for each kind
        present in ``evidence``.
    :raises DiagnosticError: the rule does not compile (its diagnostics say where and why).
    """
    from annexa.lang.language import KindRegistry, compile_rules, evaluate, load_rule_sources

    items = tuple(evidence)
    schemas: dict[str, Mapping[str, Any]] = {}
    if kinds is None:
        schemas = {item.kind: {"type": "object"} for item in items}
    elif isinstance(kinds, Mapping):
        schemas = dict(kinds)
    else:
        for spec in kinds:
            schemas.update(spec.kinds)
    match = _CONTROL.search(text)
    # Rule files are named after their control (a_6_2_8.rule); the compiler checks that.
    file_name = (match.group(1).lower().replace(".", "_") if match else "rule") + ".rule"
    with tempfile.TemporaryDirectory(prefix="annexa-rule-") as folder:
        path = Path(folder) / file_name
        path.write_text(text, encoding="utf-8")
        ruleset = compile_rules(load_rule_sources([str(path)]), KindRegistry(schemas), params or {})
    return RuleResult(findings=tuple(evaluate(ruleset, items, now=now, collected=collected)))


# -- running the command line --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def stdout_lines(self) -> pytest.LineMatcher:
        """``result.stdout_lines.fnmatch_lines([...])``, as with pytester."""
        return pytest.LineMatcher(self.stdout.splitlines())


def invoke_cli(*args: str) -> CliResult:
    """Run ``annexa ARGS`` in this process, capturing its output and exit code."""
    from annexa.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # --help and --version exit through argparse
            code = exc.code if isinstance(exc.code, int) else 0
    return CliResult(exit_code=code, stdout=out.getvalue(), stderr=err.getvalue())


# -- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture
def annexa_pm() -> AnnexaPluginManager:
    """A fresh plugin manager with the hookspecs only: no entry points, no built-in plugins."""
    return make_plugin_manager(autoload=False, builtins=())


@pytest.fixture
def annexa_host(annexa_pm: AnnexaPluginManager) -> PluginHost:
    """The typed facade over ``annexa_pm``; validates registrations exactly like production."""
    return PluginHost(annexa_pm)


@pytest.fixture
def register_plugin(annexa_pm: AnnexaPluginManager) -> Iterator[Callable[..., str]]:
    """``register_plugin(obj, name=None) -> name``: registered for this test, unregistered after it."""
    registered: list[object] = []

    def register(plugin: object, name: str | None = None) -> str:
        registered_name = annexa_pm.register(plugin, name=name)
        if registered_name is None:
            pytest.fail(f"plugin {name or plugin!r} is blocked")
        registered.append(plugin)
        return registered_name

    yield register
    for plugin in reversed(registered):
        if annexa_pm.is_registered(plugin):
            annexa_pm.unregister(plugin)


@pytest.fixture
def run_collector() -> Callable[..., CollectorRun]:
    """:func:`execute_collector`: ``run_collector(spec, config=..., kinds=..., now=...)``."""
    return execute_collector


@pytest.fixture
def cli_run() -> Callable[..., CliResult]:
    """:func:`invoke_cli`: ``cli_run("plugins", "--format", "json")``."""
    return invoke_cli
