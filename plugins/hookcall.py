"""Calling a hook plugin by plugin, through pluggy's own hook caller.

pluggy runs a hook's implementations in one loop: the first exception ends the call, and the results
come back as one list that does not say which plugin gave what. The host needs both things pluggy leaves
out: to name the plugin that broke the contract, and to let the other notifiers run when one fails. So
it calls each plugin through ``pm.subset_hook_caller`` (the hook with every *other* plain
implementation removed). That is still pluggy's hook call, so:

- hook wrappers (``wrapper=True`` and old-style ``hookwrapper=True``) of plugins that only wrap stay in
  every subset and wrap each plugin's call;
- the plugins are called in the hook's own order, which ``tryfirst``/``trylast`` decide;
- ``pm.add_hookcall_monitoring`` (and ``ANNEXA_TRACE_PLUGINS``) sees every call.

A ``firstresult`` hook that asks "who handles this?" (``annexa_open_document``) needs neither and is
called once, as a whole.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pluggy

from annexa.plugins.hookspecs import hookimpl

HOST_PLUGIN = "annexa:host"
"""The name under which the host registers :class:`ResultLists`; never listed as a plugin."""


@dataclass(frozen=True, slots=True)
class PluginCall:
    """What one plugin's call of a hook gave: its results (one entry per implementation) or its error."""

    plugin_name: str
    results: list[Any]
    error: Exception | None = None


class ResultLists:
    """The host's own innermost wrapper (``trylast``) on the registration hooks.

    A plugin may return any iterable, a generator most often. Turning it into a list inside the hook call
    means an error raised while the generator runs is raised inside that plugin's call, and the wrappers
    and monitors of plugin authors see the records rather than a generator they would use up.
    """

    @staticmethod
    def _lists(results: list[Any]) -> list[list[Any]]:
        return [list(result) for result in results]

    @hookimpl(wrapper=True, trylast=True)
    def annexa_collectors(self) -> Generator[None, list[Any], list[list[Any]]]:
        return self._lists((yield))

    @hookimpl(wrapper=True, trylast=True)
    def annexa_reporters(self) -> Generator[None, list[Any], list[list[Any]]]:
        return self._lists((yield))

    @hookimpl(wrapper=True, trylast=True)
    def annexa_rule_functions(self) -> Generator[None, list[Any], list[list[Any]]]:
        return self._lists((yield))

    @hookimpl(wrapper=True, trylast=True)
    def annexa_integrations(self) -> Generator[None, list[Any], list[list[Any]]]:
        return self._lists((yield))


def _is_wrapper(impl: pluggy.HookImpl) -> bool:
    return impl.wrapper or impl.hookwrapper


def call_each(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[PluginCall]:
    """Call ``hook_name`` once per plugin that implements it, in the hook's call order.

    An ``Exception`` raised by a plugin (or by a wrapper around its call) is returned in its
    :class:`PluginCall`, so the caller decides whether it is fatal; the other plugins are still called.
    """
    caller: pluggy.HookCaller = getattr(pm.hook, hook_name)
    # get_hookimpls() lists the implementations in reverse call order (pluggy calls the last one first).
    plain = [impl for impl in reversed(caller.get_hookimpls()) if not _is_wrapper(impl)]
    plugins = list({id(impl.plugin): impl for impl in plain}.values())  # a plugin once, at its first place
    calls: list[PluginCall] = []
    for impl in plugins:
        others = [other.plugin for other in plugins if other.plugin is not impl.plugin]
        subset = pm.subset_hook_caller(hook_name, remove_plugins=others)
        try:
            results = subset(**kwargs)
        except Exception as exc:  # third-party code: the caller names the plugin and decides
            calls.append(PluginCall(impl.plugin_name, [], exc))
            continue
        calls.append(PluginCall(impl.plugin_name, list(results) if results is not None else []))
    return calls
