"""The typed facade over the plugin manager: every hook is called here, and its results checked.

Plugin code is reached only through pluggy's hook caller (``pm.hook.<name>`` or, plugin by plugin,
``pm.subset_hook_caller``: see :mod:`annexa.plugins.hookcall`), so the ``tryfirst``/``trylast`` order,
hook wrappers and ``pm.add_hookcall_monitoring`` apply to every call.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from annexa.plugins.hookcall import HOST_PLUGIN, call_each
from annexa.plugins.inventory import header, inventory
from annexa.plugins.manager import AnnexaPluginManager, PluginRecord, PluginSource, PluginWarning
from annexa.plugins.specs import (
    NAME_RE,
    collector_spec_problems,
    function_problems,
    integration_problems,
    problem_text,
    reporter_problems,
)
from annexa.plugins.types import (
    REPORT_TO_AUTHOR,
    CollectorSpec,
    DocumentReader,
    IntegrationSpec,
    NonconformityChanges,
    PluginError,
    ReporterSpec,
    RuleFunctionSpec,
)

_Named = TypeVar("_Named", ReporterSpec, RuleFunctionSpec, IntegrationSpec)


class PluginHost:
    """The typed facade over the plugin manager: the only code that calls the hooks.

    Every method validates what plugins return, sorts it by name and names the provider of anything
    that breaks the contract. Nothing is cached: tests register and unregister plugins between calls.
    """

    def __init__(self, pm: AnnexaPluginManager) -> None:
        self.pm = pm

    # -- registration hooks ------------------------------------------------------------------------

    def _results(self, hook_name: str) -> list[tuple[PluginRecord, list[Any]]]:
        """Each plugin's own records from a registration hook, in a stable order (by plugin name).

        Each plugin is called through the hook caller (:func:`~annexa.plugins.hookcall.call_each`), so
        plugin authors' wrappers and monitors apply; the order is by name, not by ``tryfirst``, because
        the records are sorted by name anyway and a clash must be reported the same way every run.

        :raises PluginError: a plugin raised while registering; the run cannot go on without knowing
            what is installed.
        """
        results: list[tuple[PluginRecord, list[Any]]] = []
        for call in sorted(call_each(self.pm, hook_name), key=lambda c: c.plugin_name):
            record = self.pm.record_of(call.plugin_name)
            if call.error is not None:
                exc = call.error
                raise PluginError(
                    f"{record.provider} failed in {hook_name}: {type(exc).__name__}: {exc}; "
                    f"{REPORT_TO_AUTHOR}"
                ) from exc
            results.append((record, [item for result in call.results for item in result]))
        return results

    def collectors(self) -> Mapping[str, CollectorSpec]:
        """Every registered collector by (lower-case) name, validated and conflict-checked.

        :raises PluginError: listing every contract violation, each naming its provider.
        """
        problems: list[str] = []
        specs: dict[str, tuple[PluginRecord, CollectorSpec]] = {}
        kind_owner: dict[str, tuple[PluginRecord, str]] = {}
        for record, items in self._results("annexa_collectors"):
            for item in items:
                spec_problems = collector_spec_problems(item)
                if spec_problems:
                    problems.extend(f"{record.provider}: {p}" for p in spec_problems)
                    continue
                assert isinstance(item, CollectorSpec)
                spec = dataclasses.replace(item, name=item.name.lower())
                if spec.name in specs:
                    other = specs[spec.name][0]
                    problems.append(
                        f"collector {spec.name!r} is provided by both {other.provider} and {record.provider}"
                    )
                    continue
                for kind in spec.kinds:
                    if kind in kind_owner:
                        other, other_collector = kind_owner[kind]
                        problems.append(
                            f"evidence kind {kind!r} is declared by collector {other_collector!r} of "
                            f"{other.provider} and by collector {spec.name!r} of {record.provider}"
                        )
                    else:
                        kind_owner[kind] = (record, spec.name)
                specs[spec.name] = (record, spec)
        if problems:
            raise PluginError(problem_text("invalid collector registrations", problems))
        return {name: specs[name][1] for name in sorted(specs)}

    def reporters(self) -> Mapping[str, ReporterSpec]:
        """Every registered output format by name. :raises PluginError: on a bad or duplicate spec."""
        return self._named_records("annexa_reporters", ReporterSpec, reporter_problems)

    def rule_functions(self) -> Mapping[str, RuleFunctionSpec]:
        """Every extra rule-language function by name. :raises PluginError: on a bad or duplicate spec."""
        return self._named_records("annexa_rule_functions", RuleFunctionSpec, function_problems)

    def integrations(self) -> Mapping[str, IntegrationSpec]:
        """Every integration's settings schema by name. :raises PluginError: on a bad or duplicate spec."""
        return self._named_records("annexa_integrations", IntegrationSpec, integration_problems)

    def _named_records(
        self, hook_name: str, cls: type[_Named], check: Callable[[_Named], list[str]]
    ) -> Mapping[str, _Named]:
        problems: list[str] = []
        found: dict[str, tuple[PluginRecord, _Named]] = {}
        for record, items in self._results(hook_name):
            for item in items:
                if not isinstance(item, cls):
                    problems.append(
                        f"{record.provider}: {hook_name} returned {type(item).__name__}, not {cls.__name__}"
                    )
                    continue
                label = f"{record.provider}: {item.name!r}"
                if not isinstance(item.name, str) or not NAME_RE.match(item.name):
                    problems.append(f"{label}: name must be lower-case letters, digits and underscores")
                    continue
                item_problems = check(item)
                if item_problems:
                    problems.extend(f"{label}: {p}" for p in item_problems)
                    continue
                if item.name in found:
                    problems.append(
                        f"{item.name!r} is provided by both {found[item.name][0].provider} "
                        f"and {record.provider}"
                    )
                    continue
                found[item.name] = (record, item)
        if problems:
            raise PluginError(problem_text(f"invalid {hook_name} registrations", problems))
        return {name: found[name][1] for name in sorted(found)}

    # -- on-demand and notification hooks ----------------------------------------------------------

    def open_document(self, uri: str) -> DocumentReader | None:
        """A reader for ``uri`` from the first plugin that handles its scheme, or ``None``.

        :raises CollectorError: a plugin that owns the scheme failed to open it.
        :raises PluginError: a plugin returned something that is not a DocumentReader.
        """
        reader = self.pm.hook.annexa_open_document(uri=uri)
        if reader is None:
            return None
        if not isinstance(reader, DocumentReader):
            raise PluginError(
                f"annexa_open_document({uri!r}) returned {type(reader).__name__}, which has no read(); "
                f"{REPORT_TO_AUTHOR}"
            )
        return reader

    def scan_finished(self, scan: Mapping[str, Any]) -> tuple[str, ...]:
        """Notify every plugin, in the hook's order; a notifier that fails is warned about and listed.

        Each notifier is called through the hook caller on its own (wrappers, ``tryfirst``/``trylast``
        and monitors apply), so one that raises never stops the others nor changes the scan's outcome.

        :returns: one message per failed notifier (empty when all succeeded).
        """
        return self._notify_each("annexa_scan_finished", "failed to send its notification", scan=scan)

    def nonconformities_changed(
        self, changes: NonconformityChanges, settings: Mapping[str, Any]
    ) -> tuple[str, ...]:
        """Hand a recorded scan's nonconformity changes to every plugin, each called on its own.

        As :meth:`scan_finished`: a plugin that raises is warned about and listed, and the others still
        run; the scan's outcome never changes.

        :returns: one message per failed plugin (empty when all succeeded).
        """
        return self._notify_each(
            "annexa_nonconformities_changed",
            "failed to handle the nonconformity changes",
            changes=changes,
            settings=settings,
        )

    def has_third_party(self, hook_name: str) -> bool:
        """Whether a plugin from a distribution (not a built-in) implements ``hook_name``."""
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        return any(
            self.pm.record_of(impl.plugin_name).source is not PluginSource.BUILTIN
            for impl in impls
            if impl.plugin_name != HOST_PLUGIN and not (impl.wrapper or impl.hookwrapper)
        )

    def _notify_each(self, hook_name: str, failed: str, **kwargs: Any) -> tuple[str, ...]:
        """Call a notification hook plugin by plugin; each failure warned about (at the caller's caller,
        the command) and returned as ``<provider> <failed>: <error>``."""
        failures: list[str] = []
        for call in call_each(self.pm, hook_name, **kwargs):
            if call.error is None:
                continue
            exc = call.error
            record = self.pm.record_of(call.plugin_name)
            message = f"{record.provider} {failed}: {type(exc).__name__}: {exc}"
            warnings.warn(f"annexa: {message}", PluginWarning, stacklevel=3)
            failures.append(message)
        return tuple(failures)

    # -- inventory ---------------------------------------------------------------------------------

    def inventory(self) -> tuple[PluginRecord, ...]:
        """Every plugin that was found, loaded or not, sorted by name (``annexa plugins``)."""
        return inventory(self.pm)

    def header(self) -> str:
        """The one-line ``plugins: ...`` header a scan prints (built-ins by name, others with versions)."""
        return header(self.inventory())
