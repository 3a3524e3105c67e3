"""Checking the records plugins register: collector specs, reporters and rule functions.

The host (:mod:`annexa.plugins.host`) and the test kit (:mod:`annexa.plugins.testing`) check with the same
functions, so a spec that passes an author's tests is accepted in production.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from annexa.contract.validation import schema_problem
from annexa.plugins.types import (
    REPORT_TO_AUTHOR,
    CollectorSpec,
    IntegrationSpec,
    ReporterSpec,
    RuleFunctionSpec,
)

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
KIND_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


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
    # The class its $schema names, as jsonschema picks; jsonschema-rs answers valid ones (jsonschema is
    # then not even imported), jsonschema gives the verdict and the error otherwise.
    problem = schema_problem(schema)
    if problem is not None:
        where = "/".join(str(p) for p in problem.absolute_path) or "(root)"
        return (f"invalid JSON Schema at {where}: {problem.message}",)
    return ()


def reporter_problems(spec: ReporterSpec) -> list[str]:
    """Contract violations of one reporter spec beyond its name (empty when valid)."""
    problems = []
    if not callable(spec.render):
        problems.append("render is not callable")
    if not spec.suffix.startswith(".") or len(spec.suffix) < 2:
        problems.append(f"suffix {spec.suffix!r} must start with a dot, as in '.html'")
    return problems


def function_problems(spec: RuleFunctionSpec) -> list[str]:
    """Contract violations of one rule-function spec beyond its name (empty when valid)."""
    problems = []
    if not callable(spec.function):
        problems.append("function is not callable")
    if not isinstance(spec.arity, int) or isinstance(spec.arity, bool) or spec.arity < 0:
        problems.append(f"arity {spec.arity!r} must be a non-negative integer")
    return problems


def integration_problems(spec: IntegrationSpec) -> list[str]:
    """Contract violations of one integration spec beyond its name (empty when valid)."""
    problems = []
    if not isinstance(spec.version, str) or not spec.version:
        problems.append("version must be a non-empty string")
    problems.extend(f"config schema: {p}" for p in _schema_problems(spec.config_schema))
    return problems


def problem_text(title: str, problems: Sequence[str]) -> str:
    """The text of the PluginError that lists every contract violation found in one hook's results."""
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"{title} ({REPORT_TO_AUTHOR}):\n{lines}"
