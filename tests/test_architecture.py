"""The layers of style.md D.1, checked on the source with ``ast`` (no module is imported).

The folders are the layers. Each may import only the folders its row of ``MAY_IMPORT`` names (and
itself); the language core stays pure; collectors see only the plugin API and the evidence model; and no
module imports itself through a cycle. Every ``import`` statement counts, including those under
``if TYPE_CHECKING:`` and inside functions: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Source folder -> the package it is installed as (pyproject.toml package-dir).
PACKAGES = {
    "engine": "annexa",
    "plugins": "annexa.plugins",
    "collectors": "annexa.collectors",
    "rules": "annexa.rules",
}

# Layer -> the layers it may import besides itself, lowest first. ``annexa`` itself (the version) is open
# to all. The core below the language knows nothing of plugins, the store or the application.
_BASE = frozenset({"annexa.files", "annexa.model", "annexa.contract"})
_APP = _BASE | {"annexa.lang", "annexa.store", "annexa.audit", "annexa.plugins", "annexa.trust"}
MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "annexa.files": frozenset(),
    "annexa.model": frozenset({"annexa.files"}),
    "annexa.contract": frozenset({"annexa.files", "annexa.model"}),
    "annexa.lang": _BASE,
    "annexa.plugins": _BASE,
    "annexa.store": _BASE,
    "annexa.audit": _BASE | {"annexa.lang", "annexa.store"},
    # Signed results: keys, DSSE, statements, witnesses; above the store, below the application.
    "annexa.trust": _BASE | {"annexa.lang", "annexa.store"},
    "annexa.app": _APP,
    "annexa.reports": _APP | {"annexa.app"},
    "annexa.serve": _APP | {"annexa.app", "annexa.reports"},
    "annexa.cli": _APP | {"annexa.app", "annexa.reports", "annexa.serve"},
    # Built-in integrations (ticket trackers) are plugins like the collectors: the extension API only, and
    # no layer imports them (they are found by name, DEFAULT_PLUGINS and an entry point).
    "annexa.integrations": frozenset({"annexa.plugins"}),
}
# Modules that stand above their folder's row: the plugin authors' test kit drives the whole command.
ABOVE_THEIR_LAYER = {"annexa.plugins.testing": MAY_IMPORT["annexa.cli"] | {"annexa.cli"}}
# The language core: evidence in, findings out; no plugin host, no cloud SDK, no network.
CORE_LAYERS = ("annexa.files", "annexa.model", "annexa.contract", "annexa.lang")
CORE_FORBIDDEN = ("annexa.plugins", "annexa.collectors", "pluggy", "boto3", "botocore", "requests")
COLLECTOR_ALLOWED_ANNEXA = ("annexa.plugins", "annexa.model.evidence")
SAFE_LOADERS = {"SafeLoader", "CSafeLoader"}
UNSAFE_YAML_CALLS = {"unsafe_load", "unsafe_load_all", "full_load", "full_load_all"}


@dataclass(frozen=True, slots=True)
class Module:
    name: str  # dotted, as installed: annexa.store.directory
    path: Path
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


@dataclass(frozen=True, slots=True)
class Import:
    target: str  # absolute dotted name of the imported module (or module.attribute)
    node: ast.AST


def module_name(folder: str, path: Path) -> str:
    relative = path.relative_to(ROOT / folder).with_suffix("")
    parts = [part for part in relative.parts if part != "__init__"]
    return ".".join([PACKAGES[folder], *parts])


def load_modules() -> list[Module]:
    modules = []
    for folder in PACKAGES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "example" in path.relative_to(ROOT / folder).parts[:1]:
                continue  # plugins/example is a separate distribution, checked as a third-party plugin
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            modules.append(Module(module_name(folder, path), path, tree))
    return modules


def example_plugin_modules() -> list[Module]:
    base = ROOT / "plugins" / "example"
    modules = []
    for path in sorted(base.glob("annexa_inventory/**/*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        relative = path.relative_to(base).with_suffix("")
        modules.append(Module(".".join(p for p in relative.parts if p != "__init__"), path, tree))
    return modules


def imports_of(module: Module) -> Iterator[Import]:
    """Every import, with relative imports resolved; ``from a import b`` yields both a and a.b."""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield Import(base, node)
            for alias in node.names:
                yield Import(f"{base}.{alias.name}", node)


def is_within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(name: str) -> str | None:
    """The folder (layer) a module belongs to: annexa.lang.parser -> annexa.lang; None for ``annexa``."""
    for layer in [*MAY_IMPORT, "annexa.collectors", "annexa.rules"]:
        if is_within(name, layer):
            return layer
    return None


def layer_violations(module: Module) -> list[str]:
    layer = layer_of(module.name)
    if layer is None or layer in ("annexa.collectors", "annexa.rules"):
        return []
    allowed = ABOVE_THEIR_LAYER.get(module.name, MAY_IMPORT[layer]) | {layer}
    found = []
    for target, node in statement_targets(module, list(imports_of(module))):
        if not is_within(target, "annexa"):
            if layer in CORE_LAYERS and any(is_within(target, f) for f in CORE_FORBIDDEN):
                found.append(f"{module.where(node)}: core module {module.name} imports {target}")
            continue
        target_layer = layer_of(target)
        if target_layer is not None and target_layer not in allowed:
            found.append(
                f"{module.where(node)}: {module.name} imports {target} "
                f"({layer} may not depend on {target_layer})"
            )
    return found


def violations_of(modules: list[Module], examples: list[Module]) -> list[str]:
    found: list[str] = []
    for module in modules:
        found += layer_violations(module)
        if is_within(module.name, "annexa.collectors"):
            found += collector_violations(module)
    for module in examples:
        found += collector_violations(module)
    for module in modules + examples:
        found += unsafe_calls(module)
    return found


def import_cycles(modules: list[Module]) -> list[list[str]]:
    """Each strongly connected group of modules (Tarjan), as one cycle through it, shortest first."""
    names = {module.name for module in modules}
    graph: dict[str, set[str]] = {}
    for module in modules:
        targets = {imp.target for imp in imports_of(module)}  # `from p import m` names p and p.m
        # ``from annexa.store import x`` depends on annexa.store; a package never depends on its own parts
        # through its __init__ for this purpose (an __init__ that re-exports is a facade, not a cycle).
        graph[module.name] = {
            t for t in targets if t in names and t != module.name and not is_within(module.name, t)
        }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(_cycle_through(sorted(group), graph))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(groups, key=len)


def _cycle_through(group: list[str], graph: Mapping[str, set[str]]) -> list[str]:
    """A path start -> ... -> start inside one strongly connected group, for the failure message."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                frontier.append(nxt)
    return group


def collector_violations(module: Module) -> list[str]:
    """A collector may import annexa.plugins (its __init__ only), annexa.model.evidence and its own
    package."""
    parts = module.name.split(".")
    own = ".".join(parts[:3]) if is_within(module.name, "annexa.collectors") else parts[0]
    found = []
    for target, node in statement_targets(module, list(imports_of(module))):
        if not is_within(target, "annexa") or is_within(target, own):
            continue
        if target not in COLLECTOR_ALLOWED_ANNEXA:
            found.append(
                f"{module.where(node)}: collector module {module.name} imports {target} "
                f"(collectors import only {' and '.join(COLLECTOR_ALLOWED_ANNEXA)})"
            )
    return found


def statement_targets(module: Module, imports: list[Import]) -> Iterator[tuple[str, ast.AST]]:
    """The module each statement imports: ``from annexa.plugins import X`` is annexa.plugins (X is a
    name its __init__ exports), but ``from annexa import store`` is annexa.store."""
    seen: set[int] = set()
    for imp in imports:
        node = imp.node
        if isinstance(node, ast.Import):
            yield imp.target, node
        elif id(node) not in seen:
            seen.add(id(node))
            assert isinstance(node, ast.ImportFrom)
            base = imp.target  # imports_of yields the statement's module first
            if base == "annexa":
                for alias in node.names:
                    yield f"annexa.{alias.name}", node
            else:
                yield base, node


def unsafe_calls(module: Module) -> list[str]:
    """``yaml.load`` without a safe loader, the unsafe yaml helpers, and ``eval`` in the engine."""
    yaml_names = {"yaml"}
    load_names: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            yaml_names |= {alias.asname or alias.name for alias in node.names if alias.name == "yaml"}
        elif isinstance(node, ast.ImportFrom) and node.module == "yaml":
            load_names |= {
                alias.asname or alias.name
                for alias in node.names
                if alias.name in {"load", "load_all", *UNSAFE_YAML_CALLS}
            }
    found = []
    in_engine = not any(is_within(module.name, PACKAGES[f]) for f in ("plugins", "collectors", "rules"))
    in_engine = in_engine and is_within(module.name, "annexa")
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = None
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in yaml_names
        ):
            name = func.attr
        elif isinstance(func, ast.Name) and func.id in load_names:
            name = func.id
        if name in UNSAFE_YAML_CALLS:
            found.append(f"{module.where(node)}: yaml.{name}( constructs arbitrary objects; use safe_load")
        elif name in {"load", "load_all"} and not _safe_loader(node):
            found.append(f"{module.where(node)}: yaml.{name}( without SafeLoader; use yaml.safe_load")
        if in_engine and (
            (isinstance(func, ast.Name) and func.id == "eval")
            or (isinstance(func, ast.Attribute) and func.attr == "eval" and _is_builtins(func.value))
        ):
            found.append(f"{module.where(node)}: eval( in engine module {module.name}")
    return found


def _safe_loader(call: ast.Call) -> bool:
    loaders = [kw.value for kw in call.keywords if kw.arg == "Loader"] + list(call.args[1:2])
    for loader in loaders:
        name = loader.attr if isinstance(loader, ast.Attribute) else getattr(loader, "id", None)
        if name in SAFE_LOADERS:
            return True
    return False


def _is_builtins(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in {"builtins", "__builtins__"}


def test_the_dependency_table_holds() -> None:
    modules = load_modules()
    names = {module.name for module in modules}
    assert {layer_of(name) for name in names} >= set(MAY_IMPORT), "a layer has no modules"
    assert any(name.startswith("annexa.collectors.") for name in names), "no collector modules found"
    violations = violations_of(modules, example_plugin_modules())
    if violations:
        pytest.fail("dependency rules (style.md D.1) broken:\n  " + "\n  ".join(violations), pytrace=False)


def test_the_checker_sees_violations() -> None:
    """Each rule of the table catches a planted violation, so a passing run means something."""

    def fake(name: str, source: str, *, package: bool = False) -> Module:
        path = ROOT / "engine" / ("__init__.py" if package else "planted.py")
        return Module(name, path, ast.parse(source))

    planted = [
        fake("annexa.lang.parser", "import pluggy\n"),
        fake(
            "annexa.contract.kinds", "if TYPE_CHECKING:\n    from annexa.plugins.types import CollectorSpec\n"
        ),
        fake("annexa.app.scan", "def f():\n    from annexa.collectors import docstore\n"),
        fake("annexa.plugins.manager", "from annexa.collectors.attestations import NAME\n"),
        fake("annexa.collectors.docstore.fields", "from annexa.store import Store\n"),
        fake("annexa.collectors.attestations", "from annexa.plugins.types import CollectorError\n"),
        fake("annexa.collectors.docstore.collector", "from ..evidence import Evidence\n"),
        fake("annexa.plugins.config", "import yaml\nyaml.load(text)\n"),
        fake("annexa.plugins.testing", "from yaml import load, Loader\nload(text, Loader=Loader)\n"),
        fake("annexa.lang.runtime", "x = eval('1')\n"),
        fake("annexa.lang.evaluator", "from annexa.store import open_store\n"),
        fake("annexa.model.findings", "def f():\n    from annexa.lang.syntax import Expr\n"),
        fake("annexa.reports.sarif", "from annexa.cli.main import main\n"),
    ]
    allowed = [
        fake(
            "annexa.collectors.docstore",
            "from annexa.plugins import CollectorSpec\n"
            "from annexa.model.evidence import Evidence\nfrom . import schema\nimport pypdf\n",
            package=True,
        ),
        fake("annexa.contract.yamlsrc", "import yaml\nyaml.load(text, Loader=yaml.SafeLoader)\n"),
        fake("annexa.app.scan", "from annexa.plugins.manager import PluginHost\n"),
    ]
    assert violations_of(allowed, []) == []
    found = violations_of(planted, [])
    assert len(found) == len(planted), "\n".join(found)


def test_no_module_imports_itself_through_a_cycle() -> None:
    cycles = import_cycles(load_modules())
    if cycles:
        pytest.fail("import cycles:\n  " + "\n  ".join(" -> ".join(c) for c in cycles), pytrace=False)


def test_the_cycle_finder_prints_the_cycle() -> None:
    def fake(name: str, source: str) -> Module:
        return Module(name, ROOT / "engine" / "planted.py", ast.parse(source))

    modules = [
        fake("annexa.app.a", "from annexa.app.b import x\n"),
        fake("annexa.app.b", "def f():\n    from annexa.app.c import y\n"),
        fake("annexa.app.c", "if TYPE_CHECKING:\n    from annexa.app import a\n"),
        fake("annexa.app.d", "from annexa.app.a import z\n"),
    ]
    assert import_cycles(modules) == [["annexa.app.a", "annexa.app.b", "annexa.app.c", "annexa.app.a"]]
