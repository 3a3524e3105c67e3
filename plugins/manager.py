"""Building the plugin manager, the typed facade over its hooks, and the plugin inventory.

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
import functools
import importlib
import importlib.metadata
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import jsonschema
import pluggy

from annexa import __version__
from annexa.contract.validation import check_schema, data_validator
from annexa.model.evidence import Evidence
from annexa.plugins import hookspecs
from annexa.plugins.types import (
    CollectorError,
    CollectorSpec,
    CollectRequest,
    DocumentReader,
    PluginError,
    ReporterSpec,
    RuleFunctionSpec,
)

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
)

# Top-level module of an optional dependency -> how to install it.
INSTALL_HINTS: Mapping[str, str] = {
    "boto3": 'pip install "annexa[aws]"',
    "botocore": 'pip install "annexa[aws]"',
    "pypdf": 'pip install "annexa[documents]"',
    "docx": 'pip install "annexa[documents]"',
}

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
KIND_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
REPORT_TO_AUTHOR = "please report this to the plugin's author"

_Named = TypeVar("_Named", ReporterSpec, RuleFunctionSpec)


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


def _enable_tracing(pm: pluggy.PluginManager) -> None:
    def before(hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        names = ", ".join(impl.plugin_name for impl in impls)
        print(f"annexa trace: {hook_name}({dict(kwargs)!r}) -> [{names}]", file=sys.stderr)

    def after(
        outcome: pluggy.Result[Any],
        hook_name: str,
        impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, Any],
    ) -> None:
        print(f"annexa trace: {hook_name} returned {outcome.get_result()!r}", file=sys.stderr)

    pm.add_hookcall_monitoring(before, after)


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionProblem:
    """Something that went wrong while running one collector; not tied to a file position.

    ``code`` is ``collector_error`` (the collector raised CollectorError: its kinds are not collected),
    ``invalid_evidence`` (an item broke the contract: an item of a declared kind is kept as a defective
    item, see :attr:`Evidence.defect`; anything else is dropped), ``collection_gap`` (the collector
    could not collect one scope of a kind, through ``request.report_gap``) or ``source_problem`` (the
    collector reported a non-fatal problem with one source through ``request.report_problem``). The
    first three leave ``kinds`` incomplete: see :attr:`leaves_gap`.
    """

    code: str
    collector: str
    source: str | None
    message: str
    hint: str | None = None
    kinds: tuple[str, ...] = ()

    @property
    def leaves_gap(self) -> bool:
        """Evidence of ``kinds`` is missing because of this problem (a dropped item, a failed scope)."""
        return self.code in ("invalid_evidence", "collection_gap") and bool(self.kinds)

    def __str__(self) -> str:
        where = f" {self.source}" if self.source else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.collector}{where}: {self.code}: {self.message}{hint}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionOutcome:
    evidence: tuple[Evidence, ...]
    problems: tuple[CollectionProblem, ...]
    failed_kinds: Mapping[str, str] = field(default_factory=dict)  # kind -> error message


def collect_checked(spec: CollectorSpec, request: CollectRequest) -> CollectionOutcome:
    """Run one collector the way the host does, checking every item against the contract.

    Each item must be an :class:`Evidence` of a kind the spec declares and the request asked for, with
    a timezone-aware ``collected_at`` and ``data`` valid against the kind's schema; items that are not
    are dropped and reported. A :class:`CollectorError` ends the run of this collector: the evidence
    yielded before it is kept, and its kinds are reported as not collected.
    """
    problems: list[CollectionProblem] = []

    def report_problem(source: str, message: str) -> None:
        problems.append(
            CollectionProblem(code="source_problem", collector=spec.name, source=source, message=message)
        )

    def report_gap(kind: str, scope: str, message: str) -> None:
        problems.append(
            CollectionProblem(
                code="collection_gap", collector=spec.name, source=scope, message=message, kinds=(kind,)
            )
        )

    evidence: list[Evidence] = []

    def report_defect(kind: str, source: str, message: str) -> None:
        if kind not in spec.kinds or (request.kinds and kind not in request.kinds):
            invalid(source, f"reported a defective item of kind {kind!r}, which it was not asked for")
            return
        evidence.append(defective(kind, source, message))

    def defective(kind: str, source: str, message: str) -> Evidence:
        return Evidence(
            kind=kind,
            source=source,
            scope={},
            collector=f"{spec.name} {spec.version}",
            collected_at=request.now,
            data={},
            defect=message,
        )

    def invalid(source: str | None, message: str, kind: str | None = None) -> None:
        problems.append(
            CollectionProblem(
                code="invalid_evidence",
                collector=spec.name,
                source=source,
                message=message,
                hint=REPORT_TO_AUTHOR,
                kinds=(kind,) if kind else (),
            )
        )

    request = dataclasses.replace(
        request, report_problem=report_problem, report_gap=report_gap, report_defect=report_defect
    )
    # Compiled once per schema and process (annexa.contract.validation): microseconds per valid item, and
    # jsonschema's own errors for an item that is not.
    validators = {kind: data_validator(schema) for kind, schema in spec.kinds.items()}
    failed: dict[str, str] = {}
    try:
        collector = spec.factory()
        for item in collector.collect(request):
            if not isinstance(item, Evidence):
                invalid(None, f"yielded {type(item).__name__}, not Evidence")
                continue
            if item.kind not in spec.kinds:
                invalid(item.source, f"yielded undeclared kind {item.kind!r}")
                continue
            if request.kinds and item.kind not in request.kinds:
                invalid(item.source, f"yielded kind {item.kind!r}, which was not requested")
                continue
            if not isinstance(item.collected_at, datetime) or item.collected_at.utcoffset() is None:
                evidence.append(defective(item.kind, item.source, "collected_at has no time zone"))
                invalid(item.source, "collected_at is not a timezone-aware datetime")
                continue
            errors = sorted(validators[item.kind].iter_errors(item.data), key=lambda e: list(e.absolute_path))
            if errors:
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in e.absolute_path) or '(data)'}: {e.message}"
                    for e in errors[:5]
                )
                # The item exists but breaks its kind's contract: it stays in as a defective item of
                # its kind, so that every rule reading the kind fails on it rather than passing without it.
                evidence.append(
                    defective(item.kind, item.source, f"data does not match its schema: {detail}")
                )
                invalid(item.source, f"{item.kind} data does not match its schema: {detail}")
                continue
            evidence.append(item)
    except CollectorError as exc:
        kinds = exc.kinds or tuple(sorted(request.kinds or spec.kinds))
        for kind in kinds:
            failed[kind] = exc.message
        problems.append(
            CollectionProblem(
                code="collector_error",
                collector=spec.name,
                source=None,
                message=exc.message,
                hint=exc.hint,
                kinds=tuple(kinds),
            )
        )
    return CollectionOutcome(evidence=tuple(evidence), problems=tuple(problems), failed_kinds=failed)


def collector_spec_problems(spec: object) -> list[str]:
    """Contract violations of one collector spec (empty when valid); used by the host and the test kit."""
    if not isinstance(spec, CollectorSpec):
        return [f"returned {type(spec).__name__}, not CollectorSpec"]
    problems: list[str] = []
    label = f"collector {spec.name!r}"
    if not isinstance(spec.name, str) or not NAME_RE.match(spec.name.lower()):
        problems.append(f"{label}: name must be letters, digits and underscores, starting with a letter")
    if not isinstance(spec.version, str) or not spec.version:
        problems.append(f"{label}: version must be a non-empty string")
    if not callable(spec.factory):
        problems.append(f"{label}: factory is not callable")
    if not isinstance(spec.kinds, Mapping) or not spec.kinds:
        problems.append(f"{label}: declares no evidence kinds")
        kinds: Mapping[str, Any] = {}
    else:
        kinds = spec.kinds
    for kind, schema in kinds.items():
        if not isinstance(kind, str) or not KIND_RE.match(kind):
            problems.append(
                f"{label}: kind {kind!r} is not a lower-case dotted name such as 'acme.model_card'"
            )
        problems.extend(f"{label}: schema of kind {kind!r}: {p}" for p in _schema_problems(schema))
    problems.extend(f"{label}: config schema: {p}" for p in _schema_problems(spec.config_schema))
    return problems


def _schema_problems(schema: object) -> list[str]:
    if not isinstance(schema, Mapping):
        return [f"is a {type(schema).__name__}, not a JSON Schema object"]
    try:
        text = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError) as exc:
        return [f"is not JSON: {exc}"]
    return list(_checked_schema_problems(text))


@functools.lru_cache(maxsize=1024)
def _checked_schema_problems(text: str) -> tuple[str, ...]:
    """Checking a schema against its metaschema costs far more than dumping it, and a scan asks for the
    collectors several times: each distinct schema is checked once per process (bench_aws measured
    about 65 % of a scan's preparation in check_schema)."""
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    try:
        check_schema(schema, cls)  # jsonschema's verdict and error; jsonschema-rs answers valid ones
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return (f"invalid JSON Schema at {where}: {exc.message}",)
    return ()


class PluginHost:
    """The typed facade over the plugin manager: the only code that calls ``pm.hook.*``.

    Every method validates what plugins return, sorts it by name and names the provider of anything
    that breaks the contract. Nothing is cached: tests register and unregister plugins between calls.
    """

    def __init__(self, pm: AnnexaPluginManager) -> None:
        self.pm = pm

    # -- registration hooks ------------------------------------------------------------------------

    def _results(self, hook_name: str) -> list[tuple[PluginRecord, list[Any]]]:
        """Each plugin's own result of a registration hook, in a stable order (by plugin name)."""
        caller = getattr(self.pm.hook, hook_name)
        results: list[tuple[PluginRecord, list[Any]]] = []
        for impl in sorted(caller.get_hookimpls(), key=lambda i: i.plugin_name):
            record = self.pm.record_of(impl.plugin_name)
            try:
                returned = impl.function()
                items = list(returned) if returned is not None else []
            except Exception as exc:
                raise PluginError(
                    f"{record.provider} failed in {hook_name}: {type(exc).__name__}: {exc}; "
                    f"{REPORT_TO_AUTHOR}"
                ) from exc
            results.append((record, items))
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
            raise PluginError(_problem_text("invalid collector registrations", problems))
        return {name: specs[name][1] for name in sorted(specs)}

    def reporters(self) -> Mapping[str, ReporterSpec]:
        """Every registered output format by name. :raises PluginError: on a bad or duplicate spec."""
        return self._named_records("annexa_reporters", ReporterSpec, self._reporter_problems)

    def rule_functions(self) -> Mapping[str, RuleFunctionSpec]:
        """Every extra rule-language function by name. :raises PluginError: on a bad or duplicate spec."""
        return self._named_records("annexa_rule_functions", RuleFunctionSpec, self._function_problems)

    @staticmethod
    def _reporter_problems(spec: ReporterSpec) -> list[str]:
        problems = []
        if not callable(spec.render):
            problems.append("render is not callable")
        if not spec.suffix.startswith(".") or len(spec.suffix) < 2:
            problems.append(f"suffix {spec.suffix!r} must start with a dot, as in '.html'")
        return problems

    @staticmethod
    def _function_problems(spec: RuleFunctionSpec) -> list[str]:
        problems = []
        if not callable(spec.function):
            problems.append("function is not callable")
        if not isinstance(spec.arity, int) or isinstance(spec.arity, bool) or spec.arity < 0:
            problems.append(f"arity {spec.arity!r} must be a non-negative integer")
        return problems

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
            raise PluginError(_problem_text(f"invalid {hook_name} registrations", problems))
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
        """Notify every plugin; a notifier that fails is warned about and listed, never fatal.

        :returns: one message per failed notifier (empty when all succeeded).
        """
        failures: list[str] = []
        for impl in sorted(self.pm.hook.annexa_scan_finished.get_hookimpls(), key=lambda i: i.plugin_name):
            record = self.pm.record_of(impl.plugin_name)
            try:
                impl.function(scan=scan)
            except Exception as exc:  # a notifier must never change the scan's outcome
                message = f"{record.provider} failed to send its notification: {type(exc).__name__}: {exc}"
                warnings.warn(f"annexa: {message}", PluginWarning, stacklevel=2)
                failures.append(message)
        return tuple(failures)

    # -- inventory ---------------------------------------------------------------------------------

    def inventory(self) -> tuple[PluginRecord, ...]:
        """Every plugin that was found, loaded or not, sorted by name (``annexa plugins``)."""
        records: dict[str, PluginRecord] = {
            name: record
            for name, record in self.pm.origins.items()
            if record.status is not PluginStatus.ACTIVE
        }
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue  # blocked: pluggy keeps a None placeholder
            record = self.pm.record_of(name)
            callers = self.pm.get_hookcallers(plugin) or []
            hooks = tuple(sorted(caller.name for caller in callers))
            collectors: list[tuple[str, tuple[str, ...]]] = []
            message = record.message
            status = PluginStatus.ACTIVE
            impls = [i for i in self.pm.hook.annexa_collectors.get_hookimpls() if i.plugin is plugin]
            if impls:
                try:
                    returned = impls[0].function()
                    collectors = [
                        (spec.name.lower(), tuple(sorted(spec.kinds)))
                        for spec in (returned if isinstance(returned, Iterable) else ())
                        if isinstance(spec, CollectorSpec)
                    ]
                except Exception as exc:  # show the broken plugin rather than fail the listing
                    status = PluginStatus.ERROR
                    message = f"annexa_collectors failed: {type(exc).__name__}: {exc}"
            records[name] = dataclasses.replace(
                record, hooks=hooks, collectors=tuple(sorted(collectors)), status=status, message=message
            )
        return tuple(records[name] for name in sorted(records))

    def header(self) -> str:
        """The one-line ``plugins: ...`` header a scan prints (built-ins by name, others with versions)."""
        parts = []
        for record in self.inventory():
            if record.status is not PluginStatus.ACTIVE:
                continue
            if record.distribution is None:
                parts.append(record.name)
            else:
                parts.append(f"{record.distribution}-{record.version}")
        return "plugins: " + (", ".join(parts) if parts else "(none)")


def _problem_text(title: str, problems: Sequence[str]) -> str:
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"{title} ({REPORT_TO_AUTHOR}):\n{lines}"
