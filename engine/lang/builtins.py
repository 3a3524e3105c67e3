"""The rule language's built-in functions: one table, read by the checker (arity, argument and result
types), the compiler (the runtime function each call becomes) and docs/rule-language.md (a test keeps the
table there equal to :func:`markdown_table`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from annexa.contract.freshness import FreshnessLimits, assess
from annexa.contract.kinds import BOOL, DURATION, NUMBER, STRING, Type
from annexa.lang import runtime
from annexa.model.diagnostics import Span
from annexa.model.evidence import Evidence


@dataclass(frozen=True, slots=True, kw_only=True)
class Builtin:
    name: str
    accepts: frozenset[str]  # type names its one argument may have (unknown and null are always accepted)
    result: Type
    implementation: Callable[..., Any]  # implementation(value, [limits,] [now,] span)
    needs_now: bool = False  # called with the scan's clock after the value
    # Takes an evidence item bound by `for each` or a quantifier over a kind (the compiler passes the
    # item itself, not its data), and is called with the freshness limits the rules were compiled with.
    needs_evidence: bool = False
    usage: str  # as the docs show it
    description: str
    arity: int = 1

    @property
    def helper(self) -> str:
        """The name the compiled rule code calls it by."""
        return f"_{self.name}"


def fresh(item: Evidence | None, limits: FreshnessLimits, now: datetime, span: Span) -> bool | None:
    """``fresh(x)``: False when ``item`` is older than its limit or an expired attestation, None when its
    age cannot be determined (or the item is defective), else True. A date further after the scan's clock
    than clock skew explains is an error finding, as for ``age()``: it must not count as recent."""
    if item is None or item.defect is not None:
        return None
    state = assess(item, limits, now)
    if state.age is not None and -state.age > runtime.MAX_CLOCK_SKEW:
        raise runtime.RuleFault(
            f"fresh() of {item.kind} {item.source}: its {state.basis} lies {(-state.age).days} day(s) after "
            f"the scan's clock ({now.isoformat()}); a past date was expected: check the date or the source's "
            "clock",
            span,
        )
    return state.fresh


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
            name="fresh",
            accepts=frozenset({"record"}),
            result=BOOL,
            implementation=fresh,
            needs_now=True,
            needs_evidence=True,
            usage="fresh(x)",
            description="whether the evidence item `x` (bound by `for each` or a quantifier over a kind) is "
            "within its kind's maximum age and, for an attestation, not past its `expires` date: false when "
            "stale or expired, unknown (null) when its age cannot be determined, e.g. a document with "
            "neither `last_reviewed` nor `approved_on` (docs/freshness.md)",
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
