"""Hook specifications for annexa plugins (pluggy project ``annexa``, entry-point group ``annexa``).

Call order in one run::

    plugins loaded -> annexa_collectors, annexa_integrations -> configuration validated
    -> annexa_rule_functions (rules compiled) -> collectors run (annexa_open_document consulted on
    demand) -> rules evaluated -> annexa_reporters (reports written) -> annexa_nonconformities_changed
    -> annexa_scan_finished

Hook results are never used straight from ``pm.hook``: :class:`annexa.plugins.host.PluginHost` is the
one typed facade that calls these hooks, validates what they return and names the plugin at fault.

Every call goes through pluggy's hook caller, so ``tryfirst``/``trylast``, hook wrappers and
``pm.add_hookcall_monitoring`` apply. The registration hooks and ``annexa_scan_finished`` are called once
per plugin (``pm.subset_hook_caller``, see :mod:`annexa.plugins.hookcall`), and so is
``annexa_nonconformities_changed``: a wrapper runs around each plugin's call and sees that plugin's
results as lists; ``annexa_open_document`` is called once, whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from annexa.plugins.types import (
        CollectorSpec,
        DocumentReader,
        IntegrationSpec,
        NonconformityChanges,
        ReporterSpec,
        RuleFunctionSpec,
    )

PROJECT_NAME = "annexa"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def annexa_collectors() -> Iterable[CollectorSpec]:
    """Register evidence collectors.

    Called once per run, after plugins are loaded and before the configuration file is validated:
    each spec contributes the JSON Schema of its ``collectors.<name>`` block, and the JSON Schemas of
    its evidence kinds are what the rule checker reads field paths from.

    Names are normalised to lower case and must be unique across installed plugins, and every evidence
    kind belongs to exactly one collector; a clash aborts the run and names every provider. Schemas must
    pass ``jsonschema`` ``check_schema``.

    Example::

        @hookimpl
        def annexa_collectors():
            yield CollectorSpec(
                name="mlflow",
                version="0.3.0",
                kinds={"mlflow.model_version": MODEL_VERSION_SCHEMA},
                config_schema=CONFIG_SCHEMA,
                factory=MlflowCollector,
            )

    :returns: Collector specs provided by this plugin (any iterable; a generator is fine).

    .. versionadded:: 0.1
    """
    yield from ()


@hookspec(firstresult=True)
def annexa_open_document(uri: str) -> DocumentReader | None:
    """Return a reader for ``uri`` if this plugin handles its scheme, else ``None``.

    Called on demand while collectors run: a collector asks through ``request.open_document(uri)``
    (never through the plugin manager) when it meets a document it cannot read itself.

    Stops at first non-None result (pluggy ``firstresult``). Return ``None`` -- do not raise -- for
    schemes you do not handle; raise ``CollectorError`` only for a scheme you own that fails (for
    example, access denied).

    Example::

        @hookimpl
        def annexa_open_document(uri):
            if not uri.startswith("confluence://"):
                return None
            return ConfluencePage(uri)

    :param uri: Absolute URI such as ``s3://bucket/policy.pdf``.
    :returns: An object with ``read() -> (bytes, metadata)``, or ``None``.

    .. versionadded:: 0.1
    """
    return None


@hookspec
def annexa_rule_functions() -> Iterable[RuleFunctionSpec]:
    """Register extra pure functions for the rule language.

    Called once per run, before the rule files are compiled, so that the checker knows each function's
    name and arity. Functions must be pure (no I/O, no clock, no randomness): a stored scan is
    re-evaluated offline and must give the same findings. Names are lower case and unique across
    plugins.

    Example::

        @hookimpl
        def annexa_rule_functions():
            yield RuleFunctionSpec(name="semver_major", arity=1,
                                   function=lambda v: int(str(v).split(".")[0]))

    :returns: Function specs provided by this plugin.

    .. versionadded:: 0.1
    """
    yield from ()


@hookspec
def annexa_reporters() -> Iterable[ReporterSpec]:
    """Register output formats for scan reports.

    Called once per run, before ``--format`` is checked, so that plugin formats are valid choices.
    ``render`` receives the scan result as a JSON-shaped mapping (the same document ``--format json``
    writes) and returns the text of the report. Names are lower case and unique across plugins.

    Example::

        @hookimpl
        def annexa_reporters():
            yield ReporterSpec(name="csv", suffix=".csv", render=render_csv)

    :returns: Reporter specs provided by this plugin.

    .. versionadded:: 0.1
    """
    yield from ()


@hookspec
def annexa_scan_finished(scan: Mapping[str, Any]) -> None:
    """Be notified that a scan finished (send a webhook, post to chat).

    Called once per scan, after the scan is recorded and its reports written. A notifier that raises
    is reported as a warning and never changes the scan's result or exit code. Do not mutate ``scan``.

    Example::

        @hookimpl
        def annexa_scan_finished(scan):
            if scan["summary"]["fail"]:
                post_to_chat(f"annexa: {scan['summary']['fail']} failing findings")

    :param scan: The scan result as a JSON-shaped mapping (the ``--format json`` document).

    .. versionadded:: 0.1
    """


@hookspec
def annexa_integrations() -> Iterable[IntegrationSpec]:
    """Declare the settings of an integration (a ticket tracker, a chat), configured in annexa.yaml.

    Called once per run, with ``annexa_collectors``, before the configuration file is validated: each
    spec's ``config_schema`` is the JSON Schema of the ``integrations.<name>`` block, so a typo in it is
    reported with the file, line and key path like any other configuration error, and an unknown name
    gets a "did you mean". The validated blocks reach ``annexa_nonconformities_changed`` as ``settings``.

    Names are lower case and unique across plugins; schemas must pass ``jsonschema`` ``check_schema``.

    Example::

        @hookimpl
        def annexa_integrations():
            yield IntegrationSpec(
                name="jira",
                version="1.2.0",
                config_schema={
                    "type": "object",
                    "required": ["url", "project"],
                    "additionalProperties": False,
                    "properties": {"url": {"type": "string"}, "project": {"type": "string"}},
                },
            )

    :returns: Integration specs provided by this plugin.

    .. versionadded:: 0.2
    """
    yield from ()


@hookspec
def annexa_nonconformities_changed(changes: NonconformityChanges, settings: Mapping[str, Any]) -> None:
    """React to what a recorded scan did to the nonconformity register (file, update or close tickets).

    Called once per recorded scan (never for ``scan --no-record``), after its reports are written and
    the ``--notify`` webhooks sent, and before ``annexa_scan_finished``; called even when nothing
    changed, because ``changes.open`` lists every open nonconformity and lets a plugin that missed a scan
    (its tracker was down) catch up. The register is rebuilt from the store's whole history, as
    ``annexa nonconformities`` builds it, so an id is stable across scans: the same rule failing for the
    same subject is the same nonconformity, whichever scan reopens it. Make the reaction idempotent: a
    scan can be notified twice (a rerun after a failure), so look for the ticket you filed before filing
    one.

    Each plugin is called on its own: one that raises is reported as a warning naming the plugin
    (``annexa: warning: <plugin> failed to handle the nonconformity changes: ...``) and never stops the
    other plugins nor changes the scan's result or exit code. Do not mutate the arguments; never log a
    secret (read tokens from an environment variable that ``settings`` names).

    Example::

        @hookimpl
        def annexa_nonconformities_changed(changes, settings):
            mine = settings.get("jira")
            if mine is None:
                return  # not configured
            for change in changes.of("opened"):
                nc = change.nonconformity
                file_ticket(mine["project"], key=change.id, title=f"{nc['control']} {nc['rule']}")

    :param changes: The scan (``scan_id``, ``scanned_at``, ``organization``, ``store``), each
        nonconformity it ``opened``, ``reopened`` or ``closed`` (``changes.changes``, each with its
        register row), every nonconformity open after it (``changes.open``) and every one closed
        (``changes.closed``).
    :param settings: The validated ``integrations`` section of annexa.yaml, by integration name (empty
        when there is none); a plugin reads its own block, declared through ``annexa_integrations``.

    .. versionadded:: 0.2
    """
