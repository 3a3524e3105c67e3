"""Hook specifications for annexa plugins (pluggy project ``annexa``, entry-point group ``annexa``).

Call order in one run::

    plugins loaded -> annexa_collectors -> configuration validated -> annexa_rule_functions
    (rules compiled) -> collectors run (annexa_open_document consulted on demand) -> rules evaluated
    -> annexa_reporters (reports written) -> annexa_scan_finished

Hook results are never used straight from ``pm.hook``: :class:`annexa.plugins.host.PluginHost` is the
one typed facade that calls these hooks, validates what they return and names the plugin at fault.

Every call goes through pluggy's hook caller, so ``tryfirst``/``trylast``, hook wrappers and
``pm.add_hookcall_monitoring`` apply. The registration hooks and ``annexa_scan_finished`` are called once
per plugin (``pm.subset_hook_caller``, see :mod:`annexa.plugins.hookcall`): a wrapper runs around each
plugin's call and sees that plugin's results as lists; ``annexa_open_document`` is called once, whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from annexa.plugins.types import CollectorSpec, DocumentReader, ReporterSpec, RuleFunctionSpec

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
