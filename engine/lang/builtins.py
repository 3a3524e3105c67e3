"""The rule language's built-in functions: one table, read by the checker (arity, argument and result
types), the compiler (the runtime function each call becomes) and docs/rule-language.md (a test keeps the
table there equal to :func:`markdown_table`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from annexa.contract.kinds import DURATION, NUMBER, STRING, Type
from annexa.lang import runtime


@dataclass(frozen=True, slots=True, kw_only=True)
class Builtin:
    name: str
    accepts: frozenset[str]  # type names its one argument may have (unknown and null are always accepted)
    result: Type
    implementation: Callable[..., Any]  # implementation(value, [now,] span)
    needs_now: bool = False  # called with the scan's clock after the value
    usage: str  # as the docs show it
    description: str
    arity: int = 1

    @property
    def helper(self) -> str:
        """The name the compiled rule code calls it by."""
        return f"_{self.name}"


BUILTINS: Mapping[str, Builtin] = {
    builtin.name: builtin
    for builtin in (
        Builtin(
            name="age",
            accepts=frozenset({"datetime", "string"}),
            result=DURATION,
            implementation=runtime.age,
            needs_now=True,
            usage="age(date)",
            description="a duration: `now - date`; a date more than a day after the scan's clock is an error "
            "finding, since a review dated in the future must not count as recent",
        ),
        Builtin(
            name="days",
            accepts=frozenset({"number"}),
            result=DURATION,
            implementation=runtime.days,
            usage="days(n)",
            description="n days as a duration, e.g. `age(d.last_reviewed) <= days(d.review_interval_days)`",
        ),
        Builtin(
            name="len",
            accepts=frozenset({"list", "string", "map", "record"}),
            result=NUMBER,
            implementation=runtime.length,
            usage="len(x)",
            description="the number of items of a list, characters of a string or keys of an object",
        ),
        Builtin(
            name="lower",
            accepts=frozenset({"string"}),
            result=STRING,
            implementation=runtime.lower,
            usage="lower(s)",
            description="the string in lower case",
        ),
    )
}


def markdown_table() -> str:
    """The table of built-in functions in docs/rule-language.md."""
    rows = ["| function | takes | gives | what it is |", "| --- | --- | --- | --- |"]
    for builtin in BUILTINS.values():
        takes = ", ".join(sorted(builtin.accepts))
        rows.append(f"| `{builtin.usage}` | {takes} | {builtin.result} | {builtin.description} |")
    return "\n".join(rows) + "\n"
