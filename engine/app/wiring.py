"""Application-layer wiring: the plugin host, the evidence kinds it declares, and rule compilation.

The language core never imports plugins; commands call these helpers to put the two together.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annexa.contract.catalog import use_cache as use_data_cache
from annexa.contract.freshness import FreshnessLimits
from annexa.contract.kinds import KindRegistry
from annexa.contract.validation import use_cache as use_verdict_cache
from annexa.lang.language import compile_rules, load_rule_sources
from annexa.lang.parser import use_cache
from annexa.lang.ruleset import RuleSet

if TYPE_CHECKING:
    from annexa.plugins.host import PluginHost

DEFAULT_RULES = ("builtin:annex_a",)


def make_host(*, blocked: Iterable[str] = (), autoload: bool = True) -> PluginHost:
    from annexa.plugins.host import PluginHost
    from annexa.plugins.manager import make_plugin_manager

    _use_caches()  # the built-in plugins read the evidence contract as they register
    return PluginHost(make_plugin_manager(autoload=autoload, blocked=blocked))


def kind_registry(
    host: PluginHost | None, extra: Mapping[str, Mapping[str, Any]] | None = None
) -> KindRegistry:
    """Kinds declared by the host's collectors, plus schemas carried by a bundle (collectors win)."""
    registry = KindRegistry()
    for kind, schema in (extra or {}).items():
        registry.add(kind, schema)
    if host is not None:
        for spec in host.collectors().values():
            for kind, schema in spec.kinds.items():
                registry.add(kind, schema)
    return registry


def parser_cache() -> Path | None:
    """A private per-user folder for the built rule parser (``$XDG_CACHE_HOME/annexa``, by default
    ``~/.cache/annexa``), or None when there is none to be had (no home, read-only)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "annexa"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: Path.home() without a home
        return None
    if not os.access(folder, os.W_OK) or folder.stat().st_uid != os.getuid():
        return None  # never read a parser another user could have written
    return folder


def _use_caches() -> None:
    """Parsed rule files, parsed data files (catalogue, evidence contract) and the schemas found valid, kept
    in :func:`parser_cache`."""
    folder = parser_cache()
    if folder is not None:
        use_cache(folder)
        use_data_cache(folder)
        use_verdict_cache(folder)


def compile_pack(
    paths: Sequence[str],
    kinds: KindRegistry,
    params: Mapping[str, Any] | None = None,
    host: PluginHost | None = None,
    freshness: FreshnessLimits | None = None,
) -> RuleSet:
    _use_caches()
    functions = {}
    if host is not None:
        functions = {name: (spec.arity, spec.function) for name, spec in host.rule_functions().items()}
    return compile_rules(
        load_rule_sources(paths or DEFAULT_RULES), kinds, params, functions=functions, freshness=freshness
    )
