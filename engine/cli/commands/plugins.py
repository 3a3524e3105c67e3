"""``annexa plugins``: list installed plugins, their status, hooks, collectors and evidence kinds."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from annexa.plugins.manager import PluginRecord

INVENTORY_SCHEMA_VERSION = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list installed plugins",
        description="List the plugins annexa found: built-in and installed distributions, with their "
        "status (active, blocked, unavailable, error), hooks and collectors.",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument(
        "-p",
        dest="plugin_options",
        action="append",
        default=[],
        metavar="no:NAME",
        help="block a plugin by name (repeatable), as in annexa.yaml plugins.disabled",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that ``annexa --help`` does not import pluggy, jsonschema and the plugins.
    from annexa.model.exitcodes import ExitCode
    from annexa.plugins.host import PluginHost
    from annexa.plugins.manager import make_plugin_manager

    blocked = []
    for option in args.plugin_options:
        if not option.startswith("no:"):
            print(f"annexa plugins: -p expects no:NAME, got {option!r}")
            return int(ExitCode.USAGE_ERROR)
        blocked.append(option[3:])
    host = PluginHost(make_plugin_manager(blocked=blocked))
    records = host.inventory()
    if args.format == "json":
        document: dict[str, Any] = {
            "schema_version": INVENTORY_SCHEMA_VERSION,
            "plugins": [record.to_dict() for record in records],
        }
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        print(render_table(records))
    return int(ExitCode.CONFORMANT)


def render_table(records: tuple[PluginRecord, ...]) -> str:
    """A plain-text table, one plugin per row; collectors and problems on indented lines below it."""
    if not records:
        return "no plugins found"
    header = ("NAME", "VERSION", "SOURCE", "STATUS", "HOOKS")
    rows = [
        (
            r.name,
            r.version or "-",
            r.distribution or r.source.value,
            r.status.value,
            ", ".join(h.removeprefix("annexa_") for h in r.hooks) or "-",
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip()]
    for record, row in zip(records, rows, strict=True):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        for name, kinds in record.collectors:
            lines.append(f"    collector {name}: {', '.join(kinds)}")
        if record.message:
            lines.append(f"    {record.message}")
    return "\n".join(lines)
