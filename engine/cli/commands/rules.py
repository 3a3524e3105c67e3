"""``annexa rules check|list|test``: work on rule files like on source code."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from annexa.cli.options import add_config_option

    parser = subparsers.add_parser(
        "rules", help="check, list and test rule files", description="Check, list and test rule files."
    )
    actions = parser.add_subparsers(dest="rules_command", metavar="ACTION", required=True)

    check = actions.add_parser("check", help="parse and check rule files; exit 4 on any error")
    check.add_argument(
        "paths", nargs="*", help="rule files or folders (default: the configuration's, else builtin:annex_a)"
    )
    add_config_option(check, needed=False)
    check.add_argument("--format", choices=("text", "json"), default="text")
    _common(check)
    check.set_defaults(run=run_check)

    listing = actions.add_parser("list", help="list rules with their controls and severities")
    listing.add_argument(
        "paths", nargs="*", help="rule files or folders (default: the configuration's, else builtin:annex_a)"
    )
    add_config_option(listing, needed=False)
    listing.add_argument("--format", choices=("text", "json"), default="text")
    _common(listing)
    listing.set_defaults(run=run_list)

    test = actions.add_parser("test", help="run rule test cases (YAML: evidence and expected findings)")
    test.add_argument("cases", nargs="*", default=["tests/rules"], help="test files or folders")
    test.add_argument(
        "--rules",
        action="append",
        dest="rule_paths",
        metavar="PATH",
        help="rule files or folders under test (default: the shipped packs, builtin:annex_a, "
        "builtin:clauses and builtin:annex_a/inventory, each case against the pack that holds its rule)",
    )
    _common(test)
    test.set_defaults(run=run_test)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a rule parameter (repeatable)",
    )


def parse_params(pairs: list[str]) -> dict[str, str]:
    from annexa.model.errors import EngineError

    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise EngineError(f"--param takes NAME=VALUE, not {pair!r}")
        params[name.strip()] = value.strip()
    return params


def _compile(args: argparse.Namespace) -> Any:
    from annexa.app.wiring import compile_pack, kind_registry, make_host
    from annexa.cli.options import optional_config

    host, config = optional_config(args) if not args.paths else (None, None)
    host = host or make_host()
    paths = args.paths or (list(config.rule_paths) if config is not None else [])
    params = {**(config.params if config is not None else {}), **parse_params(args.param)}
    return compile_pack(paths, kind_registry(host), params, host)


def run_check(args: argparse.Namespace) -> int:
    from annexa.model.diagnostics import DiagnosticError, render_all
    from annexa.model.exitcodes import ExitCode

    try:
        ruleset = _compile(args)
    except DiagnosticError as error:
        if args.format == "json":
            print(
                json.dumps(
                    {"schema_version": 1, "diagnostics": [d.to_dict() for d in error.diagnostics]}, indent=2
                )
            )
        else:
            print(error.render(), file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    if args.format == "json":
        print(
            json.dumps(
                {"schema_version": 1, "diagnostics": [d.to_dict() for d in ruleset.diagnostics]}, indent=2
            )
        )
    else:
        if ruleset.diagnostics:
            print(render_all(ruleset.diagnostics, dict(ruleset.sources)), file=sys.stderr)
        print(f"{len(ruleset.rules)} rule(s) in {len(ruleset.sources)} file(s): ok")
    return int(ExitCode.CONFORMANT)


def run_list(args: argparse.Namespace) -> int:
    from annexa.model.diagnostics import DiagnosticError
    from annexa.model.exitcodes import ExitCode

    try:
        ruleset = _compile(args)
    except DiagnosticError as error:
        print(error.render(), file=sys.stderr)
        return int(ExitCode.USAGE_ERROR)
    rows = [
        {
            "rule": r.id,
            "control": r.control_id,
            "severity": r.severity.value,
            "title": r.title,
            "kinds": sorted(r.kinds),
            "location": str(r.span),
        }
        for r in ruleset.rules
    ]
    if args.format == "json":
        print(json.dumps({"schema_version": 1, "rules": rows}, indent=2))
        return int(ExitCode.CONFORMANT)
    width = max((len(row["rule"]) for row in rows), default=4)
    print(f"{'rule':<{width}}  {'severity':<8}  title")
    for row in rows:
        print(f"{row['rule']:<{width}}  {row['severity']:<8}  {row['title']}")
    return int(ExitCode.CONFORMANT)


# The packs `annexa rules test` tries, in order, when no --rules is given: a case names its rule, and the
# shipped cases test the base pack, the main-body clauses and the inventory add-on (which needs the kind
# of a plugin that may not be installed: then its cases are skipped, saying why).
SHIPPED_PACKS = (("builtin:annex_a",), ("builtin:clauses",), ("builtin:annex_a", "builtin:annex_a/inventory"))


def run_test(args: argparse.Namespace) -> int:
    from annexa.app.ruletest import RuleTestError, discover
    from annexa.app.wiring import kind_registry, make_host
    from annexa.model.diagnostics import DiagnosticError
    from annexa.model.exitcodes import ExitCode

    kinds = kind_registry(make_host())
    cache: dict[Any, Any] = {}
    passed = failed = skipped = 0
    for path in discover(args.cases):
        try:
            result = _run_case(path, args.rule_paths, kinds, cache)
        except DiagnosticError as error:
            print(error.render(), file=sys.stderr)
            return int(ExitCode.USAGE_ERROR)
        except RuleTestError as error:
            print(f"ERROR {error}")
            failed += 1
            continue
        if isinstance(result, str):
            skipped += 1
            print(f"SKIP {path}: {result}")
        elif result.passed:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {result.path} ({result.rule_id})")
            for problem in result.problems:
                print(f"    {problem}")
    print(f"rule tests: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return int(ExitCode.NONCONFORMITIES if failed else ExitCode.CONFORMANT)


def _run_case(path: Any, rule_paths: list[str] | None, kinds: Any, cache: dict[Any, Any]) -> Any:
    """The case's result against ``rule_paths``, or against the first shipped pack holding its rule; a
    string saying why it is skipped when no shipped pack that compiles here holds it."""
    from annexa.app.ruletest import run_case
    from annexa.model.diagnostics import DiagnosticError

    if rule_paths:
        return run_case(path, rule_paths, kinds, cache)
    why = "no shipped pack holds its rule"
    for pack in SHIPPED_PACKS:
        try:
            result = run_case(path, list(pack), kinds, cache)
        except DiagnosticError as error:  # a shipped add-on needs a plugin that is not installed
            reason = error.diagnostics[0].message
            why = f"{', '.join(pack)} does not compile here ({reason}): install the plugin it needs"
            continue
        if result.rule_found:
            return result
    return why
