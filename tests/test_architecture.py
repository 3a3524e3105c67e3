"""The dependency table of style.md D.1, checked on the source with ``ast`` (no module is imported).

Every ``import`` statement counts, including those under ``if TYPE_CHECKING:`` and inside functions:
a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
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

# The language core: parsing, checking, compiling and evaluating rules over evidence.
CORE = tuple(
    f"annexa.{name}"
    for name in (
        "syntax",
        "parser",
        "checker",
        "compiler",
        "evaluator",
        "runtime",
        "evidence",
        "findings",
        "diagnostics",
        "catalog",
        "kinds",
        "language",
        "contract",
        "yamlsrc",
    )
)
CORE_FORBIDDEN = ("annexa.plugins", "annexa.collectors", "pluggy", "boto3", "botocore", "requests")
COLLECTOR_ALLOWED_ANNEXA = ("annexa.plugins", "annexa.evidence")
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


def violations_of(modules: list[Module], examples: list[Module]) -> list[str]:
    found: list[str] = []
    for module in modules:
        imports = list(statement_targets(module, list(imports_of(module))))
        in_engine = is_within(module.name, "annexa") and not any(
            is_within(module.name, PACKAGES[f]) for f in ("plugins", "collectors", "rules")
        )
        if module.name in CORE:
            found += [
                f"{module.where(node)}: language core module {module.name} imports "
                f"{target} (the core may not depend on {forbidden})"
                for target, node in imports
                for forbidden in CORE_FORBIDDEN
                if is_within(target, forbidden)
            ]
        if in_engine:
            found += [
                f"{module.where(node)}: engine module {module.name} imports {target}"
                for target, node in imports
                if is_within(target, "annexa.collectors")
            ]
        if is_within(module.name, "annexa.plugins"):
            found += [
                f"{module.where(node)}: plugins module {module.name} imports {target}"
                for target, node in imports
                if is_within(target, "annexa.collectors")
            ]
        if is_within(module.name, "annexa.collectors"):
            found += collector_violations(module)
    for module in examples:
        found += collector_violations(module)
    for module in modules + examples:
        found += unsafe_calls(module)
    return found


def collector_violations(module: Module) -> list[str]:
    """A collector may import annexa.plugins (its __init__ only), annexa.evidence and its own package."""
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
    assert set(CORE) <= names, f"core modules not found: {sorted(set(CORE) - names)}"
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
        fake("annexa.parser", "import pluggy\n"),
        fake("annexa.kinds", "if TYPE_CHECKING:\n    from annexa.plugins.types import CollectorSpec\n"),
        fake("annexa.scan", "def f():\n    from annexa.collectors import docstore\n"),
        fake("annexa.plugins.manager", "from annexa.collectors.attestations import NAME\n"),
        fake("annexa.collectors.docstore.fields", "from annexa.store import Store\n"),
        fake("annexa.collectors.attestations", "from annexa.plugins.types import CollectorError\n"),
        fake("annexa.collectors.docstore.collector", "from ..evidence import Evidence\n"),
        fake("annexa.plugins.config", "import yaml\nyaml.load(text)\n"),
        fake("annexa.plugins.testing", "from yaml import load, Loader\nload(text, Loader=Loader)\n"),
        fake("annexa.runtime", "x = eval('1')\n"),
    ]
    allowed = [
        fake(
            "annexa.collectors.docstore",
            "from annexa.plugins import CollectorSpec\n"
            "from annexa.evidence import Evidence\nfrom . import schema\nimport pypdf\n",
            package=True,
        ),
        fake("annexa.yamlsrc", "import yaml\nyaml.load(text, Loader=yaml.SafeLoader)\n"),
        fake("annexa.scan", "from annexa.plugins.manager import PluginHost\n"),
    ]
    assert violations_of(allowed, []) == []
    found = violations_of(planted, [])
    assert len(found) == len(planted), "\n".join(found)
