"""YAML with line marks, and JSON Schema validation that reports ``file:line:col`` and key paths.

``yaml.safe_load`` forgets where each value came from, and jsonschema reports paths as lists of keys.
This module composes the YAML node tree once (``yaml.SafeLoader``), constructs the Python values from
those same nodes, and maps every jsonschema error back to the node it is about, with a message in
human terms ("expected a list, found a string") rather than a raw jsonschema dump. All errors are
reported at once, sorted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from annexa.model.diagnostics import Diagnostic, DiagnosticError, Position, Span, did_you_mean

KeyPath = tuple[str | int, ...]

# Schema annotation that renames "unknown key" errors of one mapping, e.g. unknown collectors:
# {"x-annexa-unknown": {"noun": "collector", "code": "E605"}}. jsonschema ignores unknown keywords.
UNKNOWN_ANNOTATION = "x-annexa-unknown"
# Schema annotation with the expected form in words, used for pattern and format errors.
EXPECTED_ANNOTATION = "x-annexa-expected"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


class _Loader(yaml.SafeLoader):
    """The safe loader, except that timestamps stay strings.

    PyYAML turns ``2027-13-31`` into a constructor crash with no position and ``2027-03-31`` into a
    ``date`` that JSON Schema cannot check; as a string, the schema's ``format: date`` reports both.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed YAML file: its Python value and the node tree that knows where each value is."""

    path: str  # as given, for diagnostics
    text: str
    value: Any
    node: yaml.Node | None  # None for an empty file

    def node_at(self, key_path: KeyPath) -> tuple[yaml.Node | None, yaml.Node | None]:
        """The (key node, value node) at ``key_path``; stops at the deepest node that exists."""
        key_node: yaml.Node | None = None
        node = self.node
        for part in key_path:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if _scalar_equals(k, part)), None)
                if match is None:
                    break
                key_node, node = match
            elif (
                isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
            ):
                key_node, node = None, node.value[part]
            else:
                break
        return key_node, node

    def span_of(self, key_path: KeyPath, *, key: bool = False) -> Span:
        """Where the value at ``key_path`` is (or its key, when ``key`` and the value is in a mapping)."""
        key_node, node = self.node_at(key_path)
        target = key_node if key and key_node is not None else node
        if target is None:
            return Span(self.path, Position(1, 1), Position(1, 1))
        return _span(self.path, target)


def _scalar_equals(node: yaml.Node, part: str | int) -> bool:
    return isinstance(node, yaml.ScalarNode) and str(node.value) == str(part)


def _span(path: str, node: yaml.Node) -> Span:
    # PyYAML marks are 0-based; diagnostics are 1-based.
    start, end = node.start_mark, node.end_mark
    return Span(path, Position(start.line + 1, start.column + 1), Position(end.line + 1, end.column + 1))


def format_key_path(key_path: Iterable[str | int]) -> str:
    """``("collectors", "aws", "regions", 0)`` -> ``collectors.aws.regions[0]``."""
    text = ""
    for part in key_path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "(top level)"


def parse_yaml(text: str, path: str) -> YamlDocument:
    """Parse one YAML document with the safe loader, keeping its nodes.

    :raises DiagnosticError: E600 for a syntax error (at the parser's mark), E607 for duplicate keys.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        value = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise DiagnosticError(
            [
                Diagnostic(
                    code="E600",
                    message=f"not valid YAML: {problem}{context}",
                    span=Span(path, position, position),
                )
            ],
            {path: text},
        ) from exc
    except yaml.YAMLError as exc:
        raise DiagnosticError(
            [
                Diagnostic(
                    code="E600",
                    message=f"not valid YAML: {exc}",
                    span=Span(path, Position(1, 1), Position(1, 1)),
                )
            ],
            {path: text},
        ) from exc
    finally:
        loader.dispose()
    duplicates = list(_duplicate_keys(path, node, ()))
    if duplicates:
        raise DiagnosticError(duplicates, {path: text})
    return YamlDocument(path=path, text=text, value=value, node=node)


def load_yaml(path: str | Path) -> YamlDocument:
    """Read and parse a YAML file. :raises DiagnosticError: E600 when unreadable or not YAML."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DiagnosticError(
            [
                Diagnostic(
                    code="E600",
                    message=f"cannot read file: {reason}",
                    span=Span(shown, Position(1, 1), Position(1, 1)),
                )
            ]
        ) from exc
    return parse_yaml(text, shown)


def _duplicate_keys(path: str, node: yaml.Node | None, key_path: KeyPath) -> Iterator[Diagnostic]:
    # PyYAML silently keeps the last of two equal keys; in a config file that hides a mistake.
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else None
            if name is not None and name in seen:
                first = seen[name].start_mark.line + 1
                yield Diagnostic(
                    code="E607",
                    message=f"duplicate key `{format_key_path((*key_path, name))}` "
                    f"(first defined on line {first})",
                    span=_span(path, key),
                )
            elif name is not None:
                seen[name] = key
            yield from _duplicate_keys(path, value, (*key_path, name if name is not None else "?"))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(path, item, (*key_path, index))


def to_json_value(value: Any) -> Any:
    """YAML values as JSON sees them: dates and times become ISO strings, keys become strings.

    YAML turns ``expires: 2027-03-31`` into a ``datetime.date``; JSON Schema only knows strings, so
    validation runs on this JSON-shaped copy.
    """
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_value(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def validate(document: YamlDocument, schema: Mapping[str, Any]) -> tuple[Diagnostic, ...]:
    """Validate the document against a JSON Schema; every error becomes a located diagnostic."""
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    instance = to_json_value(document.value)
    diagnostics: list[Diagnostic] = []
    for error in validator.iter_errors(instance):
        diagnostics.extend(_diagnose(document, error))
    return tuple(sorted(set(diagnostics), key=Diagnostic.sort_key))


def _diagnose(document: YamlDocument, error: jsonschema.ValidationError) -> list[Diagnostic]:
    path: KeyPath = tuple(error.absolute_path)
    where = format_key_path(path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    validator = str(error.validator)
    instance = error.instance
    rule_value: Any = error.validator_value

    if validator in ("anyOf", "oneOf") and error.context:
        branch_errors = _best_branch(error)
        if branch_errors is not None:
            return [d for sub in branch_errors for d in _diagnose(document, sub)]
        expected = " or ".join(_describe_schema(s) for s in rule_value)
        return [
            _at(document, path, "E601", f"`{where}`: expected {expected}, found {_describe_value(instance)}")
        ]

    if validator == "additionalProperties" and isinstance(instance, dict):
        annotation = schema.get(UNKNOWN_ANNOTATION, {})
        noun = annotation.get("noun", "key")
        code = annotation.get("code", "E603")
        known = list(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        out = []
        for key in instance:
            if key in known or any(p.search(key) for p in patterns):
                continue
            if noun == "key":
                message = f"unknown key `{format_key_path((*path, key))}`"
            else:
                message = f"unknown {noun} `{key}` in `{where}`"
            hint = did_you_mean(key, known)
            if known:
                allowed = ", ".join(f"`{k}`" for k in sorted(known))
                extra = f"{hint} " if hint else ""
                help_text = f"{extra}known {noun}s here: {allowed}"
            else:
                help_text = hint or f"no {noun}s are allowed here"
            out.append(_at(document, (*path, key), code, message, key=True, help=help_text))
        return out

    if validator == "required":
        missing = [k for k in rule_value if isinstance(instance, dict) and k not in instance]
        return [
            _at(document, path, "E602", f"missing required key `{format_key_path((*path, k))}`", key=True)
            for k in missing
        ]

    if validator == "type":
        expected_types = rule_value if isinstance(rule_value, list) else [rule_value]
        expected = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in expected_types)
        return [
            _at(document, path, "E601", f"`{where}`: expected {expected}, found {_describe_value(instance)}")
        ]

    if validator == "enum":
        choices = ", ".join(f"`{_show(v)}`" for v in rule_value)
        hint = (
            did_you_mean(str(instance), [str(v) for v in rule_value]) if isinstance(instance, str) else None
        )
        return [
            _at(
                document,
                path,
                "E604",
                f"`{where}`: expected one of {choices}, found `{_show(instance)}`",
                help=hint,
            )
        ]

    if validator == "const":
        message = f"`{where}`: expected `{_show(rule_value)}`, found `{_show(instance)}`"
        return [_at(document, path, "E604", message)]

    if validator in ("pattern", "format"):
        expected = schema.get(EXPECTED_ANNOTATION) or (
            "a date such as 2027-03-31"
            if rule_value == "date"
            else f"a {rule_value} value"
            if validator == "format"
            else f"text matching `{rule_value}`"
        )
        return [_at(document, path, "E604", f"`{where}`: expected {expected}, found `{_show(instance)}`")]

    bounds = {
        "minLength": "a string of at least {v} character(s)",
        "maxLength": "a string of at most {v} character(s)",
        "minItems": "at least {v} item(s)",
        "maxItems": "at most {v} item(s)",
        "minProperties": "at least {v} key(s)",
        "maximum": "a number at most {v}",
        "minimum": "a number at least {v}",
        "exclusiveMaximum": "a number below {v}",
        "exclusiveMinimum": "a number above {v}",
        "uniqueItems": "a list without repeated items",
    }
    if validator in bounds:
        expected = bounds[validator].format(v=rule_value)
        return [
            _at(document, path, "E606", f"`{where}`: expected {expected}, found {_describe_value(instance)}")
        ]

    description = schema.get(EXPECTED_ANNOTATION) or schema.get("description")
    expected = f": expected {description}" if description else f" (fails the `{validator}` rule)"
    return [_at(document, path, "E606", f"`{where}`: invalid value{expected}")]


def _best_branch(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError] | None:
    """The errors of the ``anyOf``/``oneOf`` branch the user most likely meant, or None if unclear.

    A branch whose errors are all below the instance itself (the shape matched, a detail is wrong) is
    what the user meant; among those, the one with the fewest errors (c7n ``specific_error``).
    """
    by_branch: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context or ():
        branch = sub.relative_schema_path[0] if sub.relative_schema_path else 0
        by_branch.setdefault(int(branch), []).append(sub)
    depth = len(error.absolute_path)

    def shape_matched(errors: Sequence[jsonschema.ValidationError]) -> bool:
        return all(
            len(e.absolute_path) > depth
            or e.validator not in ("type", "additionalProperties", "required", "const")
            for e in errors
        )

    candidates = [errors for errors in by_branch.values() if shape_matched(errors)]
    if not candidates:
        return None
    return min(candidates, key=len)


def _at(
    document: YamlDocument,
    path: KeyPath,
    code: str,
    message: str,
    *,
    key: bool = False,
    help: str | None = None,
) -> Diagnostic:
    return Diagnostic(code=code, message=message, span=document.span_of(path, key=key), help=help)


def _describe_value(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"`{'true' if value else 'false'}`"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, str):
        return f"the string `{_show(value)}`"
    return f"`{value}`"


def _describe_schema(schema: Any) -> str:
    if not isinstance(schema, Mapping):
        return "a value"
    if EXPECTED_ANNOTATION in schema:
        return str(schema[EXPECTED_ANNOTATION])
    kind = schema.get("type")
    if isinstance(kind, str):
        return _TYPE_WORDS.get(kind, kind)
    return "a value of another form"


def _show(value: Any) -> str:
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
