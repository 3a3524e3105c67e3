"""Building the plugin manager: hookspecs, built-ins, blocks, entry points, each plugin's provenance.

The other jobs of the plugin system live next door: the typed facade that calls the hooks
(:mod:`annexa.plugins.host`), calling them plugin by plugin (:mod:`annexa.plugins.hookcall`), checking
registered records (:mod:`annexa.plugins.specs`), running a collector with its evidence checked
(:mod:`annexa.plugins.collection`) and the inventory (:mod:`annexa.plugins.inventory`).

No manager exists at import time: :func:`make_plugin_manager` builds one per run (and tests build fresh
ones), so nothing depends on which entry points happen to be installed in the environment.

Failures are handled by kind (style D.8): a third-party plugin that fails to import is warned about,
listed as ``error`` and skipped; a built-in whose module or optional dependency is missing is listed as
``unavailable``; a contract violation (bad hook signature, duplicate names, invalid schema) stops the
run with a :class:`PluginError` that names the distribution at fault.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import importlib.metadata
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pluggy

from annexa import __version__
from annexa.plugins import hookspecs
from annexa.plugins.hookcall import HOST_PLUGIN, ResultLists
from annexa.plugins.types import REPORT_TO_AUTHOR, PluginError

ENTRY_POINT_GROUP = "annexa"
AUTOLOAD_ENV = "ANNEXA_DISABLE_PLUGIN_AUTOLOAD"
TRACE_ENV = "ANNEXA_TRACE_PLUGINS"

# Built-in plugins are named as strings and imported lazily: the engine never imports collectors by
# name, and a built-in whose optional dependency is missing must not break the others.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "annexa.collectors.docstore",
    "annexa.collectors.attestations",
    "annexa.collectors.modelcards",
    "annexa.collectors.mlflow",
    "annexa.collectors.aws",
    "annexa.collectors.scope",
    "annexa.reports.formats",
    "annexa.integrations.github_issues",
)

# Top-level module of a dependency a built-in plugin imports -> how to install it. These are dependencies of
# annexa itself (no extra), so a missing one means an incomplete installation.
INSTALL_HINTS: Mapping[str, str] = {
    "boto3": 'pip install "boto3>=1.36" (annexa depends on it: the installation is incomplete)',
    "botocore": 'pip install "boto3>=1.36" (annexa depends on it: the installation is incomplete)',
    "pypdf": 'pip install "pypdf>=4.0" (annexa depends on it: the installation is incomplete)',
    "docx": 'pip install "python-docx>=1.1" (annexa depends on it: the installation is incomplete)',
}


class PluginWarning(UserWarning):
    """A plugin could not be loaded or a notifier failed; the run goes on without it."""


class PluginStatus(enum.Enum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    UNAVAILABLE = "unavailable"
    ERROR = "error"


class PluginSource(enum.Enum):
    BUILTIN = "built-in"
    DISTRIBUTION = "distribution"


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginRecord:
    """One line of ``annexa plugins``."""

    name: str
    version: str
    source: PluginSource
    distribution: str | None  # the installed distribution that provides it; None for built-ins
    status: PluginStatus
    hooks: tuple[str, ...] = ()
    collectors: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (collector name, its kinds)
    message: str | None = None  # why it is unavailable or broken, with a hint

    @property
    def provider(self) -> str:
        """How error messages name the plugin: ``annexa-jira 1.2.0`` or ``built-in docstore``."""
        if self.distribution is None:
            return f"built-in plugin {self.name!r}"
        return f"distribution {self.distribution} {self.version} (plugin {self.name!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source.value,
            "distribution": self.distribution,
            "status": self.status.value,
            "hooks": list(self.hooks),
            "collectors": [{"name": name, "kinds": list(kinds)} for name, kinds in self.collectors],
            "message": self.message,
        }


class AnnexaPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers where each plugin came from and which ones failed."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        # The host's innermost wrapper: records come back as lists, inside each plugin's own call.
        self.register(ResultLists(), name=HOST_PLUGIN)
        # name -> record of how it was found; status filled for the plugins that are not registered.
        self.origins: dict[str, PluginRecord] = {}

    def register_plugin(
        self, plugin: object, name: str, *, source: PluginSource, distribution: str | None, version: str
    ) -> None:
        """Register with provenance, turning pluggy's validation errors into a PluginError."""
        record = PluginRecord(
            name=name, version=version, source=source, distribution=distribution, status=PluginStatus.ACTIVE
        )
        try:
            self.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"{record.provider} is invalid: {exc}; {REPORT_TO_AUTHOR}") from exc
        except ValueError as exc:  # pluggy: name or object already registered
            raise PluginError(f"{record.provider} cannot be registered: {exc}") from exc
        self.origins[name] = record

    def record_of(self, name: str) -> PluginRecord:
        if name in self.origins:
            return self.origins[name]
        # Registered directly with ``pm.register`` (tests, embedding applications).
        return PluginRecord(
            name=name,
            version="",
            source=PluginSource.DISTRIBUTION,
            distribution=None,
            status=PluginStatus.ACTIVE,
        )


def builtin_name(module: str) -> str:
    """``annexa.collectors.docstore`` -> ``docstore``: the name users block with ``-p no:docstore``."""
    return module.rsplit(".", 1)[-1]


def make_plugin_manager(
    *,
    autoload: bool = True,
    blocked: Iterable[str] = (),
    builtins: Sequence[str] = DEFAULT_PLUGINS,
    search_path: Sequence[str] | None = None,
) -> AnnexaPluginManager:
    """Build a plugin manager: hookspecs, built-ins, blocks, entry points, then ``check_pending``.

    :param autoload: load the ``annexa`` entry points of installed distributions (ignored when the
        ``ANNEXA_DISABLE_PLUGIN_AUTOLOAD`` environment variable is set to a non-empty value).
    :param blocked: plugin names not to load (``-p no:NAME`` and ``plugins.disabled`` in annexa.yaml).
    :param builtins: dotted module names of the built-in plugins; tests pass ``()``.
    :param search_path: look for distributions only in these folders (default: ``sys.path``).
    :raises PluginError: a plugin violates the hook contract.
    """
    pm = AnnexaPluginManager()
    blocked_names = frozenset(name.lower() for name in blocked)
    for name in sorted(blocked_names):
        pm.set_blocked(name)
    for module_name in builtins:
        _load_builtin(pm, module_name)
    if autoload and not os.environ.get(AUTOLOAD_ENV):
        _load_entry_points(pm, skip_values=frozenset(builtins), search_path=search_path)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        record = pm.record_of(pm.get_name(exc.plugin) or "?")
        raise PluginError(f"{record.provider} implements an unknown hook: {exc}; {REPORT_TO_AUTHOR}") from exc
    if os.environ.get(TRACE_ENV):
        _enable_tracing(pm)
    return pm


def _load_builtin(pm: AnnexaPluginManager, module_name: str) -> None:
    name = builtin_name(module_name)
    base = PluginRecord(
        name=name,
        version=__version__,
        source=PluginSource.BUILTIN,
        distribution=None,
        status=PluginStatus.BLOCKED,
    )
    if pm.is_blocked(name):
        pm.origins[name] = base
        return
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or "?"
        if module_name == missing or module_name.startswith(missing + "."):
            message = f"module {module_name} is not installed"
        else:
            hint = INSTALL_HINTS.get(missing.split(".")[0], f"pip install {missing.split('.')[0]}")
            message = f"needs the optional dependency {missing!r}: {hint}"
        pm.origins[name] = dataclasses.replace(base, status=PluginStatus.UNAVAILABLE, message=message)
        return
    except Exception as exc:  # a broken built-in must not take the other plugins down with it
        message = f"failed to import {module_name}: {type(exc).__name__}: {exc}"
        warnings.warn(f"annexa: built-in plugin {name!r} {message}", PluginWarning, stacklevel=3)
        pm.origins[name] = dataclasses.replace(base, status=PluginStatus.ERROR, message=message)
        return
    pm.register_plugin(module, name, source=PluginSource.BUILTIN, distribution=None, version=__version__)


def _load_entry_points(
    pm: AnnexaPluginManager, *, skip_values: frozenset[str], search_path: Sequence[str] | None
) -> None:
    """Load each ``annexa`` entry point on its own, so one broken plugin cannot stop the others.

    pluggy's ``load_setuptools_entrypoints`` stops at the first import error; this loop records it,
    warns, and goes on.
    """
    seen: set[tuple[str, str]] = set()
    found: list[tuple[str, str, str, importlib.metadata.EntryPoint]] = []
    dists = (
        importlib.metadata.distributions()
        if search_path is None
        else importlib.metadata.distributions(path=list(search_path))
    )
    for dist in dists:
        entry_points = [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
        if not entry_points:
            continue  # reading a distribution's metadata parses a file: only for those with plugins
        dist_name = dist.metadata["Name"] or "?"
        for ep in entry_points:
            if (dist_name, ep.name) in seen:
                continue  # the same distribution can appear twice on sys.path
            seen.add((dist_name, ep.name))
            found.append((ep.name.lower(), dist_name, dist.version, ep))
    for name, dist_name, version, ep in sorted(found, key=lambda item: (item[0], item[1])):
        if ep.value in skip_values:
            continue  # a built-in that the distribution also advertises; registered already
        base = PluginRecord(
            name=name,
            version=version,
            source=PluginSource.DISTRIBUTION,
            distribution=dist_name,
            status=PluginStatus.BLOCKED,
        )
        if pm.is_blocked(name):
            pm.origins[name] = base
            continue
        if pm.has_plugin(name) or name in pm.origins:
            other = pm.record_of(name)
            raise PluginError(
                f"two plugins are named {name!r}: {other.provider} and {base.provider}; "
                "uninstall one of them or report the clash to their authors"
            )
        try:
            plugin = ep.load()
        except Exception as exc:  # third-party code: anything can go wrong while importing it
            message = f"failed to load entry point {ep.value!r}: {type(exc).__name__}: {exc}"
            warnings.warn(
                f"annexa: skipping plugin {name!r} from {dist_name} {version}: {message}",
                PluginWarning,
                stacklevel=3,
            )
            pm.origins[name] = dataclasses.replace(base, status=PluginStatus.ERROR, message=message)
            continue
        pm.register_plugin(
            plugin, name, source=PluginSource.DISTRIBUTION, distribution=dist_name, version=version
        )


_TRACE_WIDTH = 300  # characters of one traced value: a collector spec's schemas run to kilobytes


def _traced(value: object) -> str:
    """A short form of a hook's arguments or result: records by name, anything else cut to a line."""
    if isinstance(value, list):
        return "[" + ", ".join(_traced(item) for item in value) + "]"
    name = getattr(value, "name", None)
    if isinstance(name, str) and dataclasses.is_dataclass(value):
        return f"{type(value).__name__}({name!r})"
    text = repr(value)
    return text if len(text) <= _TRACE_WIDTH else text[: _TRACE_WIDTH - 3] + "..."


def _enable_tracing(pm: pluggy.PluginManager) -> None:
    def before(hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        names = ", ".join(
            impl.plugin_name + (" (wrapper)" if impl.wrapper or impl.hookwrapper else "") for impl in impls
        )
        print(f"annexa trace: {hook_name}({_traced(dict(kwargs))}) -> [{names}]", file=sys.stderr)

    def after(
        outcome: pluggy.Result[Any],
        hook_name: str,
        impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, Any],
    ) -> None:
        if outcome.exception is not None:
            error = outcome.exception
            print(f"annexa trace: {hook_name} raised {type(error).__name__}: {error}", file=sys.stderr)
        else:
            print(f"annexa trace: {hook_name} returned {_traced(outcome.get_result())}", file=sys.stderr)

    pm.add_hookcall_monitoring(before, after)
