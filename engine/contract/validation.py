"""Evidence data against its kind's JSON Schema: compiled once per schema, microseconds per item.

jsonschema (pure Python) stays the reference: its verdict and its messages are the contract (a broken
item becomes a defective item citing them). It costs about 300-500 µs an item, most of a 100,000-item
evaluation, so each schema is also compiled with jsonschema-rs (Rust, the same draft, formats left as
annotations as jsonschema leaves them), which answers "valid?" in about 3 µs. Only an item the fast
validator rejects, or cannot take, goes to jsonschema, which then gives the verdict and the messages:
a fast rejection is never trusted alone.

The fast validator is used only where it cannot accept what jsonschema rejects: schemas made of the
keywords listed in ``_FAST_KEYWORDS``, local ``$ref`` only, and ``pattern`` regexes without the
constructs on which Python's ``re`` and jsonschema-rs's ECMA-262 regexes disagree in that direction
(``\\s``, negated classes, word boundaries, inline flags, lookaround). Any other schema is validated by
jsonschema alone, as before. ``tests/engine/test_validation.py`` checks the two agree item by item.

jsonschema itself is imported on first need (a schema or an item jsonschema-rs does not settle, or a
reference class to build): importing it costs about a tenth of a second, and registering the plugins'
valid schemas (``annexa rules check``) never needs it. Callers name the 2020-12 draft with
:data:`DRAFT_2020_12` rather than with jsonschema's class to keep it so.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from jsonschema.exceptions import SchemaError, ValidationError

DRAFT_2020_12: Final = "https://json-schema.org/draft/2020-12/schema"


def _accelerator() -> Any:
    """jsonschema-rs, or None where it is not installed: every item then goes through jsonschema."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - exercised only where the wheel is missing
        return None
    return jsonschema_rs


@functools.cache
def _rs() -> Any:
    """jsonschema-rs, imported on first need: a rules check whose schemas' verdicts the per-user cache
    holds (see :func:`use_cache`) never needs it (nor the ``email`` and ``socket`` modules it imports)."""
    return _accelerator()


def __getattr__(name: str) -> Any:  # ``validation.jsonschema_rs``: the accelerator, or None
    if name == "jsonschema_rs":
        return _rs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_VERDICT_CACHE: list[Path] = []


def use_cache(folder: Path) -> None:
    """Remember in ``folder`` (private to the user: the application's per-user cache) which schemas were
    found valid, one empty file each named by the SHA-256 of the schema, the draft and the versions of
    Python, jsonschema-rs and jsonschema: a later process registering the same plugins skips the metaschema
    checks. Only validity is kept; an invalid schema is checked, and its error worded, every time."""
    _VERDICT_CACHE[:] = [folder]


@functools.cache
def _checker_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = [sys.version]
    for name in ("jsonschema-rs", "jsonschema"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} none")
    return "\0".join(found)


def _verdict_file(text: str, reference: Any) -> Path | None:
    if not _VERDICT_CACHE or not (reference is None or reference == DRAFT_2020_12):
        return None  # a jsonschema class of the caller's: not cached
    key = hashlib.sha256(f"annexa-schema 1\0{_checker_versions()}\0{reference}\0{text}".encode())
    return _VERDICT_CACHE[0] / f"schema-valid-{key.hexdigest()}"


# Keywords whose meaning jsonschema and jsonschema-rs share exactly (annotations included).
_FAST_KEYWORDS: Final = frozenset(
    {
        "$schema", "$id", "$comment", "$defs", "definitions", "$ref", "title", "description", "default",
        "examples", "deprecated", "readOnly", "writeOnly", "type", "enum", "const", "properties",
        "required", "additionalProperties", "propertyNames", "items", "prefixItems", "minItems",
        "maxItems", "uniqueItems", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "minProperties", "maxProperties", "dependentRequired", "allOf", "anyOf",
        "oneOf", "not", "format", "pattern",
    }
)  # fmt: skip
_SUBSCHEMA_MAPS: Final = ("properties", "$defs", "definitions")
_SUBSCHEMAS: Final = ("additionalProperties", "propertyNames", "items", "not")
_SUBSCHEMA_LISTS: Final = ("allOf", "anyOf", "oneOf", "prefixItems")
# Regex constructs on which ECMA-262 may match where Python's re does not (\s takes U+FEFF, negations
# flip the difference in \d and \w, \b follows the other \w), or that either side reads otherwise.
_UNSAFE_PATTERN: Final = re.compile(r"\\[sSDWbBpPuxck0-9]|\[\^|\(\?|\\$")


def _fast_path_sound(schema: Any) -> bool:
    """Whether jsonschema-rs can only agree with jsonschema on this schema (see the module doc)."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, Mapping):
        return False
    for key, value in schema.items():
        if key not in _FAST_KEYWORDS:
            return False
        if key == "$ref" and not (isinstance(value, str) and value.startswith("#")):
            return False
        if key == "pattern" and not (isinstance(value, str) and not _UNSAFE_PATTERN.search(value)):
            return False
        if key in _SUBSCHEMA_MAPS:
            if not isinstance(value, Mapping) or not all(_fast_path_sound(v) for v in value.values()):
                return False
        elif key in _SUBSCHEMAS:
            if not _fast_path_sound(value):
                return False
        elif key in _SUBSCHEMA_LISTS and (
            not isinstance(value, list) or not all(_fast_path_sound(v) for v in value)
        ):
            return False
    return True


_FAST_CLASSES: Final[dict[str, str]] = {
    "Draft202012Validator": "Draft202012Validator",
    "Draft201909Validator": "Draft201909Validator",
    "Draft7Validator": "Draft7Validator",
    "Draft6Validator": "Draft6Validator",
    "Draft4Validator": "Draft4Validator",
}


class DataValidator:
    """One schema, compiled once: ``is_valid`` fast, ``iter_errors`` as jsonschema gives them."""

    def __init__(self, schema: Mapping[str, Any], reference: type[Any]) -> None:
        self._schema = schema
        self._reference_class = reference
        self._reference: Any = None  # built on the first item the fast validator rejects
        self._fast: Callable[[Any], bool] | None = None
        name = _FAST_CLASSES.get(reference.__name__)
        if name is not None and _fast_path_sound(schema) and _rs() is not None:
            try:
                compiled = getattr(_rs(), name)(dict(schema), validate_formats=False)
            except Exception:  # a schema jsonschema-rs will not compile: jsonschema alone, as before
                compiled = None
            if compiled is not None:
                self._fast = compiled.is_valid

    @property
    def accelerated(self) -> bool:
        return self._fast is not None

    def _reference_validator(self) -> Any:
        if self._reference is None:
            self._reference = self._reference_class(self._schema)
        return self._reference

    def iter_errors(self, data: Any) -> Iterator[ValidationError]:
        """jsonschema's errors for ``data`` (none when valid); the fast validator answers most items."""
        if self._fast is not None and type(data) is dict:
            try:
                if self._fast(data):
                    return iter(())
            except Exception:  # a value jsonschema-rs cannot take (a huge number): ask jsonschema
                pass
        errors: Iterator[ValidationError] = self._reference_validator().iter_errors(data)
        return errors


def _schema_key(schema: Mapping[str, Any]) -> str:
    # Key order kept: jsonschema reports errors in the order of the schema's keywords.
    return json.dumps(schema)


_VALIDATORS: dict[tuple[str, type[Any]], DataValidator] = {}


def reference_class(reference: Any, schema: Mapping[str, Any]) -> type[Any]:
    """The jsonschema class ``reference`` stands for: itself, Draft 2020-12 for :data:`DRAFT_2020_12`, or
    for None the one the schema's ``$schema`` names, as jsonschema picks (2020-12 when it names none)."""
    if reference is not None and reference != DRAFT_2020_12:
        return reference  # type: ignore[no-any-return]  # a jsonschema validator class
    import jsonschema

    if reference is None:
        return jsonschema.validators.validator_for(schema)
    return jsonschema.Draft202012Validator


def _is_draft_2020_12(reference: Any, schema: Mapping[str, Any]) -> bool:
    """Whether ``reference`` resolves to Draft 2020-12 for ``schema``, without importing jsonschema."""
    if reference is None:
        return bool(schema.get("$schema", DRAFT_2020_12) == DRAFT_2020_12)
    if reference == DRAFT_2020_12:
        return True
    loaded = sys.modules.get("jsonschema")  # a class of it was passed in: it is imported already
    return loaded is not None and reference is loaded.Draft202012Validator


def data_validator(schema: Mapping[str, Any], reference: Any = None) -> DataValidator:
    """The validator of ``schema``, compiled once per process. ``reference`` is the jsonschema class
    whose verdicts and messages count, or :data:`DRAFT_2020_12` (default: the one its ``$schema``
    names, as jsonschema picks)."""
    cls = reference_class(reference, schema)
    try:
        key = (_schema_key(schema), cls)
    except (TypeError, ValueError):  # not JSON (a plugin's schema with odd values): uncached, as before
        return DataValidator(schema, cls)
    found = _VALIDATORS.get(key)
    if found is None:
        found = _VALIDATORS[key] = DataValidator(schema, cls)
    return found


_LOCAL_REF: Final = re.compile(r"^#[A-Za-z0-9_/$.~%-]*$")
_UNSURE_KEYS: Final = frozenset({"$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary"})


def _meta_valid_fast(schema: Mapping[str, Any], reference: type[Any]) -> bool:
    """Whether jsonschema-rs finds ``schema`` valid against the 2020-12 metaschema, where that settles
    it: jsonschema's check_schema also checks each ``pattern`` compiles with Python's ``re`` (done
    here) and would check URIs with an optional package (so any ``$id``, or a ``$ref`` that is not a
    plain local pointer, goes to jsonschema)."""
    if not _is_draft_2020_12(reference, schema) or _rs() is None:
        return False
    if schema.get("$schema", DRAFT_2020_12) != DRAFT_2020_12 or not _python_checks_pass(schema):
        return False
    try:
        return bool(_rs().meta.is_valid(dict(schema)))
    except Exception:
        return False


def _python_checks_pass(node: Any) -> bool:
    if isinstance(node, list):
        return all(_python_checks_pass(value) for value in node)
    if not isinstance(node, Mapping):
        return True
    for key, value in node.items():
        if key in _UNSURE_KEYS or (
            key == "$ref" and not (isinstance(value, str) and _LOCAL_REF.match(value))
        ):
            return False
        patterns = [value] if key == "pattern" and isinstance(value, str) else []
        if key == "patternProperties" and isinstance(value, Mapping):
            patterns = [name for name in value if isinstance(name, str)]
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error:
                return False
        if not _python_checks_pass(value):
            return False
    return True


@functools.lru_cache(maxsize=1024)
def _schema_problem(text: str, reference: Any) -> SchemaError | None:
    known = _verdict_file(text, reference)
    if known is not None and known.is_file():
        return None  # found valid before, by the same checkers
    schema = json.loads(text)
    if not _meta_valid_fast(schema, reference):
        from jsonschema.exceptions import SchemaError

        try:
            reference_class(reference, schema).check_schema(schema)
        except SchemaError as exc:
            return exc
    if known is not None:
        with contextlib.suppress(OSError):
            known.touch()
    return None


def schema_problem(schema: Mapping[str, Any], reference: Any = None) -> SchemaError | None:
    """What ``reference.check_schema(schema)`` raises, or None for a valid schema: once per distinct schema
    and process (a scan registers the same thirty schemas many times over), answered by jsonschema-rs
    where that is sound (about 15 µs instead of 15-40 ms a schema, and jsonschema is not even imported);
    an invalid schema always gets jsonschema's own error. ``reference`` as for :func:`data_validator`.
    """
    try:
        return _schema_problem(_schema_key(schema), reference)
    except (TypeError, ValueError):  # not JSON: checked as it is, uncached
        from jsonschema.exceptions import SchemaError

        try:
            reference_class(reference, schema).check_schema(schema)
        except SchemaError as exc:
            return exc
        return None


def check_schema(schema: Mapping[str, Any], reference: Any = None) -> None:
    """:func:`schema_problem`, raised.

    :raises SchemaError: as ``reference.check_schema`` does.
    """
    problem = schema_problem(schema, reference)
    if problem is not None:
        raise problem
