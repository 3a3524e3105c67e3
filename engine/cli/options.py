"""The options several commands share, spelled, defaulted and read the same way everywhere.

``-c/--config FILE`` (default ``annexa.yaml`` in the current folder) is on every command that reads the
store or the rules. Commands that need a configuration (scan, collect, soa, nonconformities) fail with
exit 4 without one; the others use it when it is there (its store, rules and parameters) and otherwise
fall back on the built-in pack and the store ``.annexa``. ``--store`` overrides the configuration's store.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from annexa.contract.yamlsrc import YamlDocument
    from annexa.model.diagnostics import Diagnostic
    from annexa.plugins.config import Config
    from annexa.plugins.host import PluginHost

DEFAULT_CONFIG = Path("annexa.yaml")

# Keys of a collector's configuration block that name a local file or folder (resolved against the
# configuration's folder). `git` is a folder inside a git work tree; `inventory` the scope's inventory file.
LOCAL_PATH_KEYS = ("path", "git", "inventory")


class ConfigurationError(Exception):
    """A configuration that cannot be used; the CLI prints it and exits 4."""


def add_config_option(parser: argparse.ArgumentParser, *, needed: bool) -> None:
    """``-c/--config FILE``; ``needed``: the command cannot run without a configuration."""
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="configuration file (default: annexa.yaml"
        + (")" if needed else ", when there is one: its store, rules and parameters)"),
    )


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=None,
        metavar="LOCATION",
        help="store: a folder or a postgresql:// URL (default: the configuration's, else .annexa)",
    )


def config_file(args: argparse.Namespace, *, needed: bool) -> Path | None:
    """The configuration file to read: the one given, else annexa.yaml when it exists (or is needed).

    :raises ConfigurationError: a file that was given, or is needed, does not exist.
    """
    given: Path | None = getattr(args, "config", None)
    path = given if given is not None else DEFAULT_CONFIG
    if path.is_file():
        return path
    if given is None and not needed:
        return None
    command = getattr(args, "command", None) or "annexa"
    raise ConfigurationError(f"no configuration file {path} (see `annexa {command} --help`)")


def required_config_file(args: argparse.Namespace) -> Path:
    """The configuration file of a command that cannot run without one. :raises ConfigurationError:"""
    path = config_file(args, needed=True)
    assert path is not None  # config_file raises when a needed file is missing
    return path


def load_host_and_config(path: Path, blocked: tuple[str, ...] = ()) -> tuple[PluginHost, Config]:
    """The plugin host (without the plugins the file disables) and the validated configuration.

    :raises DiagnosticError: the configuration's problems, located.
    """
    from annexa.app.wiring import make_host
    from annexa.plugins.config import load_config, read_disabled_plugins

    host = make_host(blocked=(*read_disabled_plugins(path), *blocked))
    return host, load_config(path, host)


def optional_config(args: argparse.Namespace) -> tuple[PluginHost | None, Config | None]:
    """The host and configuration of a command that works without one too (both None then)."""
    path = config_file(args, needed=False)
    if path is None:
        return None, None
    return load_host_and_config(path)


def store_location(args: argparse.Namespace, config: Config | None) -> tuple[str, str | None]:
    """(store, evidence locker): ``--store``, else the configuration's, else ``.annexa``."""
    from annexa.store import DEFAULT_STORE

    given = getattr(args, "store", None)
    if given:
        return str(given), None
    if config is not None:
        return config.store_path, config.store_evidence
    return DEFAULT_STORE, None


def open_configured_store(args: argparse.Namespace) -> Any:
    """The existing store a read-only command works on (``--store``, the configuration's, ``.annexa``)."""
    from annexa.store import open_store

    _, config = optional_config(args)
    location, evidence = store_location(args, config)
    return open_store(location, evidence=evidence, create=False)


def check_local_paths(config: Config) -> None:
    """Every local source path a configured collector names exists, before anything is collected.

    :raises DiagnosticError: E608 for each missing path, at its line in the configuration.
    """
    from annexa.contract.yamlsrc import load_yaml, parse_yaml
    from annexa.model.diagnostics import DiagnosticError

    problems = list(_missing_paths(config))
    if not problems:
        return
    try:
        document = load_yaml(config.path)
    except DiagnosticError:  # read a moment ago; without its text the diagnostics still name the keys
        document = parse_yaml("", config.path)
    diagnostics = [_missing_path_diagnostic(document, *problem) for problem in problems]
    raise DiagnosticError(diagnostics, {document.path: document.text})


def _missing_paths(config: Config) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    from annexa.plugins.config import resolve_path

    for name, block in config.collectors.items():
        # The scope is declared at the top level (`scope:`), every other collector under `collectors:`.
        in_scope = name == "scope" and "scope" in config.raw
        prefix: tuple[str | int, ...] = ("scope",) if in_scope else ("collectors", name)
        for key_path, value in _local_paths(block, prefix):
            resolved = resolve_path(config.base_path, value)
            if not Path(resolved).exists():
                yield key_path, value, resolved


def _local_paths(value: Any, key_path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in LOCAL_PATH_KEYS and isinstance(item, str) and "://" not in item:
                yield (*key_path, key), item
            else:
                yield from _local_paths(item, (*key_path, key))
    elif isinstance(value, list | tuple):
        for number, item in enumerate(value):
            yield from _local_paths(item, (*key_path, number))


def _missing_path_diagnostic(
    document: YamlDocument, key_path: tuple[str | int, ...], value: str, resolved: str
) -> Diagnostic:
    from annexa.contract.yamlsrc import format_key_path
    from annexa.model.diagnostics import Diagnostic

    return Diagnostic(
        code="E608",
        message=f"`{format_key_path(key_path)}`: {value} does not exist",
        span=document.span_of(key_path),
        help=f"resolved against the configuration's folder: {resolved}",
    )
