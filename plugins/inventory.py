"""The plugin inventory: what ``annexa plugins`` lists and the ``plugins: ...`` header a scan prints."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from annexa.plugins.hookcall import HOST_PLUGIN, call_each
from annexa.plugins.manager import AnnexaPluginManager, PluginRecord, PluginStatus
from annexa.plugins.types import CollectorSpec


def inventory(pm: AnnexaPluginManager) -> tuple[PluginRecord, ...]:
    """Every plugin that was found, loaded or not, sorted by name.

    A plugin whose ``annexa_collectors`` raises is listed with status ``error`` and the reason, rather
    than failing the listing: ``annexa plugins`` is where a user looks when something is broken.
    """
    records: dict[str, PluginRecord] = {
        name: record for name, record in pm.origins.items() if record.status is not PluginStatus.ACTIVE
    }
    registered = call_each(pm, "annexa_collectors")
    for name, plugin in pm.list_name_plugin():
        if plugin is None or name == HOST_PLUGIN:
            continue  # blocked (pluggy keeps a None placeholder), or the host's own wrappers
        record = pm.record_of(name)
        callers = pm.get_hookcallers(plugin) or []
        hooks = tuple(sorted(caller.name for caller in callers))
        collectors: list[tuple[str, tuple[str, ...]]] = []
        message = record.message
        status = PluginStatus.ACTIVE
        for call in registered:
            if call.plugin_name != name:
                continue
            if call.error is not None:
                status = PluginStatus.ERROR
                message = f"annexa_collectors failed: {type(call.error).__name__}: {call.error}"
                continue
            collectors = [
                (spec.name.lower(), tuple(sorted(spec.kinds)))
                for result in call.results
                for spec in (result if isinstance(result, Iterable) else ())
                if isinstance(spec, CollectorSpec)
            ]
        records[name] = dataclasses.replace(
            record, hooks=hooks, collectors=tuple(sorted(collectors)), status=status, message=message
        )
    return tuple(records[name] for name in sorted(records))


def header(records: Iterable[PluginRecord]) -> str:
    """The one-line ``plugins: ...`` header: built-ins by name, distributions with their versions."""
    parts = []
    for record in records:
        if record.status is not PluginStatus.ACTIVE:
            continue
        if record.distribution is None:
            parts.append(record.name)
        else:
            parts.append(f"{record.distribution}-{record.version}")
    return "plugins: " + (", ".join(parts) if parts else "(none)")
