"""The ``annexa.yaml`` configuration: its JSON Schema, assembled from the collectors, and its loader.

The schema of each ``collectors.<name>`` block is the ``config_schema`` that collector declares, so
the same file is validated against whatever collectors are installed, and an unknown collector name is
an error with a "did you mean". Every problem is reported at once, as a diagnostic with the file, line,
column and key path (E600-E607).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annexa.contract.freshness import DEFAULT_LIMITS, FreshnessLimits, limits_from_config
from annexa.contract.yamlsrc import EXPECTED_ANNOTATION, UNKNOWN_ANNOTATION, YamlDocument, load_yaml, validate
from annexa.model.diagnostics import Diagnostic, DiagnosticError

if TYPE_CHECKING:
    from annexa.plugins.host import PluginHost
    from annexa.plugins.types import CollectorSpec, IntegrationSpec

CONFIG_VERSION = 1
DEFAULT_STORE = ".annexa"
DEFAULT_RULE_PATHS = ("builtin:annex_a",)
BUILTIN_PREFIX = "builtin:"
SCOPE_COLLECTOR = "scope"  # configured by the top-level `scope` section, never under `collectors`

_CONTROL_ID = {
    "type": "string",
    "pattern": r"^A\.[0-9]+(\.[0-9]+)*$",
    EXPECTED_ANNOTATION: "an Annex A control id such as A.6.2.8",
}
_RULE_ID = {
    "type": "string",
    "pattern": r"^(A|CL)\.[0-9]+(\.[0-9]+)*/[a-z_][a-z0-9_]*$",  # CL: the main-body clauses pack
    EXPECTED_ANNOTATION: "a rule id such as A.6.2.8/endpoint_data_capture",
}
_TARGET_ID = {
    "type": "string",
    "pattern": r"^(A|CL)\.[0-9]+(\.[0-9]+)*$",
    EXPECTED_ANNOTATION: "an Annex A control or clause id such as A.6.2.8 or CL.9.2",
}
_TEXT = {"type": "string", "minLength": 1}
_DATE = {
    "type": "string",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "format": "date",
    EXPECTED_ANNOTATION: "a date such as 2027-03-31",
}

_DURATION = {
    "type": "string",
    "pattern": r"^[0-9]+(\.[0-9]+)?(w|d|h|m|s)$",  # annexa.contract.freshness.DURATION_PATTERN
    EXPECTED_ANNOTATION: "a duration such as 365d (a number and w, d, h, m or s)",
}


def config_schema(
    collectors: Mapping[str, CollectorSpec], integrations: Mapping[str, IntegrationSpec] | None = None
) -> dict[str, Any]:
    """The JSON Schema of annexa.yaml for this set of collectors and integrations (design.md section 5).

    Without ``integrations`` (re-evaluating a stored configuration, where only the rules matter) the
    ``integrations`` section is any object.
    """
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "annexa configuration",
        "type": "object",
        "required": ["version"],
        "additionalProperties": False,
        "properties": {
            "version": {"const": CONFIG_VERSION},
            "organization": _TEXT,
            "collectors": {
                "type": "object",
                "additionalProperties": False,
                UNKNOWN_ANNOTATION: {"noun": "collector", "code": "E605"},
                "properties": {
                    name: dict(spec.config_schema)
                    for name, spec in sorted(collectors.items())
                    if name != SCOPE_COLLECTOR
                },
            },
            # The AI systems in scope (clause 4.3) are a declaration of the organisation, not a source
            # among others: a top-level section, which the built-in scope collector turns into evidence.
            "scope": dict(collectors[SCOPE_COLLECTOR].config_schema)
            if SCOPE_COLLECTOR in collectors
            else {"type": "object"},
            # What plugins do with a scan's results (file tickets, post to chat): each block's schema is the
            # config_schema its plugin declares through annexa_integrations.
            "integrations": {"type": "object"}
            if integrations is None
            else {
                "type": "object",
                "additionalProperties": False,
                UNKNOWN_ANNOTATION: {"noun": "integration", "code": "E603"},
                "properties": {name: dict(spec.config_schema) for name, spec in sorted(integrations.items())},
            },
            "rules": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "paths": {"type": "array", "items": _TEXT, "minItems": 1},
                    "params": {
                        "type": "object",
                        "propertyNames": {
                            "pattern": r"^[a-z_][a-z0-9_]*$",
                            EXPECTED_ANNOTATION: "a parameter name in lower_snake_case",
                        },
                        "additionalProperties": {
                            "type": ["string", "number", "boolean"],
                        },
                    },
                },
            },
            # The maximum age of evidence (annexa.contract.freshness, docs/freshness.md): per evidence kind
            # and per document type; beyond it an item is reported stale and `fresh(x)` is false.
            "freshness": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "kinds": {"type": "object", "additionalProperties": _DURATION},
                    "document_types": {"type": "object", "additionalProperties": _DURATION},
                },
            },
            "applicability": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["control", "applicable", "justification"],
                    "properties": {
                        "control": _CONTROL_ID,
                        "applicable": {"type": "boolean"},
                        "justification": _TEXT,
                    },
                },
            },
            "exceptions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["rule", "justification", "approved_by", "expires"],
                    "properties": {
                        "rule": _RULE_ID,
                        "subject": _TEXT,
                        "justification": _TEXT,
                        "approved_by": _TEXT,
                        "expires": _DATE,
                    },
                },
            },
            "nonconformities": {
                # Corrective actions for the register of `annexa nonconformities`: who owns a
                # nonconformity, what will be done and by when. Matched by rule (and subject), else control.
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["owner", "action", "due"],  # and rule or control: _semantic_problems
                    "properties": {
                        "rule": _RULE_ID,
                        "control": _TARGET_ID,
                        "subject": _TEXT,
                        "owner": _TEXT,
                        "action": _TEXT,
                        "due": _DATE,
                        # An explicit closure: closes the matching open nonconformity as of the first
                        # scan on or after `date` (see docs/nonconformities.md). Not `on`: YAML reads
                        # that key as the boolean true.
                        "closed": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["date", "by", "justification"],
                            "properties": {"date": _DATE, "by": _TEXT, "justification": _TEXT},
                        },
                    },
                },
            },
            "store": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "path": _TEXT,
                    # The shared store: a PostgreSQL index and an evidence locker (s3://BUCKET/PREFIX or a
                    # folder); either path or url, and evidence only with url.
                    "url": {
                        "type": "string",
                        "pattern": "^postgres(ql)?://",
                        EXPECTED_ANNOTATION: "a PostgreSQL URL such as postgresql://annexa@db.example/annexa",
                    },
                    "evidence": _TEXT,
                },
                "not": {"required": ["path", "url"]},
                "dependentRequired": {"evidence": ["url"]},
                EXPECTED_ANNOTATION: "either path (a folder) or url (postgresql://...) with evidence",
            },
            "plugins": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"disabled": {"type": "array", "items": _TEXT}},
            },
            # Signed scans (annexa.trust.settings): the Ed25519 private key (a PEM file, or env:NAME) and the
            # witnesses that keep a copy of the signed head outside the store (files or s3://BUCKET/KEY).
            "signing": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "key": _TEXT,
                    "witness": {"oneOf": [_TEXT, {"type": "array", "items": _TEXT}]},
                },
            },
        },
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Applicability:
    control: str
    applicable: bool
    justification: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleException:
    """An accepted risk: waives the findings of ``rule`` (of ``subject`` only, if given) until ``expires``."""

    rule: str
    subject: str | None
    justification: str
    approved_by: str
    expires: dt.date

    def in_force(self, today: dt.date) -> bool:
        """An exception waives up to and including its expiry day, and stops waiving after it."""
        return today <= self.expires


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectiveAction:
    """The owner, action and due date of the nonconformities of ``rule`` (or of any rule of ``control``)."""

    rule: str | None
    control: str | None
    subject: str | None
    owner: str
    action: str
    due: dt.date


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    path: str  # the configuration file, as given
    base_path: str  # its folder: relative paths inside it resolve against this
    version: int
    organization: str
    collectors: Mapping[str, Mapping[str, Any]]  # name -> validated block, only the configured ones
    rule_paths: tuple[str, ...]  # "builtin:..." kept, file paths resolved against base_path
    params: Mapping[str, str]  # rule parameter overrides, as rule-language literal text
    applicability: tuple[Applicability, ...] = ()
    exceptions: tuple[RuleException, ...] = ()
    corrective_actions: tuple[CorrectiveAction, ...] = ()
    store_path: str = DEFAULT_STORE  # a folder, or the shared store's postgresql:// URL
    store_evidence: str | None = None  # the shared store's evidence locker: s3://BUCKET/PREFIX or a folder
    disabled_plugins: tuple[str, ...] = ()
    integrations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> validated block
    freshness: FreshnessLimits = DEFAULT_LIMITS  # the maximum age of evidence, per kind and document type
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


def resolve_path(base_path: str, value: str) -> str:
    """A path from the config, relative to the config file's folder (absolute paths stay as they are)."""
    candidate = Path(value).expanduser()
    if candidate.is_absolute():
        return os.path.normpath(candidate)
    return os.path.normpath(Path(base_path) / candidate)


def read_disabled_plugins(path: str | Path) -> tuple[str, ...]:
    """``plugins.disabled`` read before the plugin manager exists (it decides what to load).

    Lenient on purpose: a malformed file is reported later, by :func:`load_config`, with full context.
    """
    try:
        document = load_yaml(path)
    except DiagnosticError:
        return ()
    value = document.value
    plugins = value.get("plugins") if isinstance(value, dict) else None
    disabled = plugins.get("disabled") if isinstance(plugins, dict) else None
    if not isinstance(disabled, list):
        return ()
    return tuple(str(name) for name in disabled if isinstance(name, str))


def load_config(path: str | Path, host: PluginHost) -> Config:
    """Load and validate ``annexa.yaml`` against the schema of the installed collectors.

    :raises DiagnosticError: every problem in the file, located and sorted.
    :raises PluginError: an installed plugin declares an invalid collector.
    """
    document = load_yaml(path)
    return config_from_document(document, host.collectors(), host.integrations())


def config_from_document(
    document: YamlDocument,
    collectors: Mapping[str, CollectorSpec],
    integrations: Mapping[str, IntegrationSpec] | None = None,
) -> Config:
    diagnostics = list(validate(document, config_schema(collectors, integrations)))
    diagnostics.extend(_semantic_problems(document))
    if diagnostics:
        raise DiagnosticError(diagnostics, {document.path: document.text})
    raw: dict[str, Any] = document.value
    base_path = str(Path(document.path).parent)
    rules = raw.get("rules") or {}
    return Config(
        path=document.path,
        base_path=base_path,
        version=raw["version"],
        organization=raw.get("organization", ""),
        collectors={
            **(raw.get("collectors") or {}),
            **({SCOPE_COLLECTOR: raw["scope"]} if "scope" in raw else {}),
        },
        rule_paths=tuple(
            p if p.startswith(BUILTIN_PREFIX) else resolve_path(base_path, p)
            for p in rules.get("paths", DEFAULT_RULE_PATHS)
        ),
        params={name: _literal_text(value) for name, value in (rules.get("params") or {}).items()},
        applicability=tuple(
            Applicability(control=e["control"], applicable=e["applicable"], justification=e["justification"])
            for e in raw.get("applicability") or ()
        ),
        exceptions=tuple(
            RuleException(
                rule=e["rule"],
                subject=e.get("subject"),
                justification=e["justification"],
                approved_by=e["approved_by"],
                expires=_as_date(e["expires"]),
            )
            for e in raw.get("exceptions") or ()
        ),
        corrective_actions=tuple(
            CorrectiveAction(
                rule=e.get("rule"),
                control=e.get("control"),
                subject=e.get("subject"),
                owner=e["owner"],
                action=e["action"],
                due=_as_date(e["due"]),
            )
            for e in raw.get("nonconformities") or ()
        ),
        store_path=_store_location(base_path, raw.get("store") or {}),
        store_evidence=_evidence_location(base_path, raw.get("store") or {}),
        disabled_plugins=tuple((raw.get("plugins") or {}).get("disabled", ())),
        integrations=dict(raw.get("integrations") or {}),
        freshness=limits_from_config(raw.get("freshness")),
        raw=raw,
    )


def _store_location(base_path: str, store: Mapping[str, Any]) -> str:
    url = store.get("url")
    return str(url) if url else resolve_path(base_path, store.get("path", DEFAULT_STORE))


def _evidence_location(base_path: str, store: Mapping[str, Any]) -> str | None:
    evidence = store.get("evidence")
    if evidence is None:
        return None
    return str(evidence) if str(evidence).startswith("s3://") else resolve_path(base_path, str(evidence))


def _semantic_problems(document: YamlDocument) -> list[Diagnostic]:
    """What a schema cannot say well: a control declared applicable twice; an action for no or two targets."""
    value = document.value
    if not isinstance(value, dict):
        return []
    return _duplicate_applicability(document, value.get("applicability")) + _action_targets(
        document, value.get("nonconformities")
    )


def _duplicate_applicability(document: YamlDocument, entries: Any) -> list[Diagnostic]:
    if not isinstance(entries, list):
        return []
    problems = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        control = entry.get("control") if isinstance(entry, dict) else None
        if not isinstance(control, str):
            continue
        if control in seen:
            problems.append(
                Diagnostic(
                    code="E606",
                    message=f"`applicability[{index}].control`: {control} is already declared "
                    f"in `applicability[{seen[control]}]`",
                    span=document.span_of(("applicability", index, "control")),
                )
            )
        else:
            seen[control] = index
    return problems


def _action_targets(document: YamlDocument, entries: Any) -> list[Diagnostic]:
    """Each corrective action names exactly one of `rule` and `control` (a JSON Schema oneOf says this
    only as "a value of another form")."""
    if not isinstance(entries, list):
        return []
    problems = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        given = [key for key in ("rule", "control") if key in entry]
        if len(given) == 1:
            continue
        code, message = (
            ("E602", f"`nonconformities[{index}]` needs `rule` or `control`: which findings it covers")
            if not given
            else ("E606", f"`nonconformities[{index}]` names both `rule` and `control`; keep one")
        )
        problems.append(
            Diagnostic(code=code, message=message, span=document.span_of(("nonconformities", index)))
        )
    return problems


def _literal_text(value: str | float | bool) -> str:
    """A parameter override as the rule language spells literals (``true``, ``180d``, ``10``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)
