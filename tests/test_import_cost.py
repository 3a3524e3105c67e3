"""What `annexa rules check` imports: a guard on its start-up time that does not time anything.

`rules check` builds the plugin host (every built-in plugin registers its collectors, kinds and JSON
schemas) and compiles the rules; it never collects, calls a server or writes a store. The SDKs and
clients that only collecting, notifying or storing needs are imported inside the functions that do it,
so registering a plugin costs only its own small modules. Importing one of them again at registration
would add tens of milliseconds to every command (issue 23: `rules check` under 400 ms).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Top-level packages that registering the built-in plugins and compiling the rules must not import.
# jsonschema: jsonschema-rs (a dependency) settles that the plugins' schemas are valid; jsonschema is
# imported only to word an invalid schema's error or a rejected item's.
NOT_AT_REGISTRATION = (
    "jsonschema",
    "boto3",
    "botocore",
    "requests",
    "urllib3",
    "pypdf",
    "docx",
    "mlflow",
    "markdown_it",
    "rich",
)

PROBE = """\
import sys
from annexa.cli.main import main
try:
    code = main({argv!r})
except SystemExit as exc:
    code = exc.code
print(code)
print(" ".join(sorted({{name.split(".")[0] for name in sys.modules}})))
"""


def _imported_by(argv: list[str]) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    *_, code, modules = done.stdout.strip().splitlines()
    return code, set(modules.split())


@pytest.mark.parametrize(
    "argv",
    [["rules", "check", "builtin:annex_a"], ["rules", "list", "builtin:annex_a"]],
    ids=["rules-check", "rules-list"],
)
def test_rules_commands_do_not_import_collection_sdks(argv: list[str]) -> None:
    code, modules = _imported_by(argv)
    assert code == "0"
    assert "annexa" in modules  # the probe saw the run's modules
    assert sorted(modules.intersection(NOT_AT_REGISTRATION)) == []


def test_plugin_host_loads_every_builtin_without_the_sdks() -> None:
    """The same plugins are active as before: laziness did not turn a built-in into an unavailable one."""
    probe = (
        "import sys\nfrom annexa.app.wiring import make_host, kind_registry\n"
        "host = make_host(autoload=False)\n"
        "print(' '.join(sorted(host.collectors())))\n"
        "print(len(kind_registry(host).kinds))\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    collectors, kinds, modules = done.stdout.strip().splitlines()[-3:]
    assert {"aws", "documents", "mlflow", "modelcards"} <= set(collectors.split())
    assert int(kinds) > 10
    assert sorted(set(modules.split()).intersection(NOT_AT_REGISTRATION)) == []


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"name": {"type": "strin"}}},
        {"type": "object", "properties": {"name": {"pattern": "(unclosed"}}},
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": 12},
    ],
    ids=["bad-type", "bad-pattern", "draft-07"],
)
def test_invalid_schemas_keep_jsonschemas_error(schema: dict[str, object]) -> None:
    """Without jsonschema imported up front, an invalid schema still gets jsonschema's own verdict and
    message, from the class its ``$schema`` names (kinds: always 2020-12)."""
    import jsonschema

    from annexa.contract.kinds import KindRegistry
    from annexa.contract.validation import DRAFT_2020_12, schema_problem
    from annexa.model.errors import EngineError

    def message(cls: type[jsonschema.Validator]) -> str:
        with pytest.raises(jsonschema.SchemaError) as raised:
            cls.check_schema(schema)
        return raised.value.message

    by_schema = schema_problem(schema)
    assert by_schema is not None
    assert by_schema.message == message(jsonschema.validators.validator_for(schema))
    as_2020_12 = schema_problem(schema, DRAFT_2020_12)
    if schema.get("$schema") is None:
        assert as_2020_12 is not None
        assert as_2020_12.message == message(jsonschema.Draft202012Validator)
        with pytest.raises(EngineError, match="evidence kind k: invalid JSON Schema: "):
            KindRegistry({"k": schema})
    valid = {"type": "object", "properties": {"name": {"type": "string"}}}
    assert schema_problem(valid, DRAFT_2020_12) is None


def test_unchanged_rules_are_checked_without_lark(tmp_path: Path) -> None:
    """The second check of the same pack reads every parsed file back from the private cache: Lark (and
    building its LALR tables) is left for a file that changed."""
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    probe = PROBE.format(argv=["rules", "check", "builtin:annex_a"])
    seen = []
    for _ in range(2):
        command = [sys.executable, "-c", probe]
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120, env=environ)
        *_, code, modules = done.stdout.strip().splitlines()
        assert code == "0"
        seen.append("lark" in modules.split())
    assert seen == [True, False]  # the first run parsed (and filled the cache), the second did not need to
    assert list((tmp_path / "annexa").glob("parsed-*.pickle"))
