"""Compiler-style diagnostics: ``path:line:col: error[CODE]: message``, the source line and a caret.

Every user-facing problem with a rule file, a configuration file or an evidence bundle is a
:class:`Diagnostic`. Codes are stable and documented in ``docs/diagnostics.md``; ``CODES`` below is the
single list that the docs test compares against.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from annexa.model.errors import EngineError

MAX_DIAGNOSTICS = 50

CODES: dict[str, str] = {
    "E100": "syntax error: unexpected character",
    "E101": "syntax error: unexpected token",
    "E102": "syntax error: unexpected end of file",
    "E103": "invalid literal (duration, number, string escape or regular expression)",
    "E200": "unknown evidence kind",
    "E201": "unknown field path for the evidence kind",
    "E202": "unknown name (not a binding, parameter or function)",
    "E203": "type clash",
    "E204": "unknown parameter override",
    "E205": "wrong number of arguments to a function",
    "E206": "parameter declared with a value that is not a literal",
    "E207": "parameter override of another type than the parameter",
    "E300": "unknown or invalid Annex A control id",
    "E301": "duplicate rule id",
    "E302": "duplicate parameter",
    "E303": "duplicate binding name in nested scope",
    "E304": "unknown severity",
    "E305": "control id does not match the rule file name",
    "E306": "`allow empty when` whose condition rests on no evidence kind",
    "E307": "invalid `define` (name taken, parameter repeated, calls itself)",
    "E308": "`evidence` names a signal the catalog does not list for the rule's control",
    "E309": "built-in rule reads document metadata (`d.metadata.key`) that the evidence contract does not "
    "declare for the document type it selects, or reads `extra` at all",
    "E310": "rule repeats a clause",
    "E311": "rule has no `require` clause",
    "E312": "`expect at least` or `allow empty` without `for each`, or both in one rule",
    "E313": "`expect at least` count is not a whole number of 1 or more",
    "W400": "unused binding",
    "W401": "rule has no message",
    "W402": "`define` never called",
    "W403": "rule outside the built-in pack reads document metadata the evidence contract does not declare",
    "E500": "rule file cannot be read",
    "E600": "configuration file cannot be read or is not valid YAML",
    "E601": "configuration value has the wrong type",
    "E602": "required configuration key is missing",
    "E603": "unknown configuration key",
    "E604": "configuration value is not one of the allowed values or forms",
    "E605": "unknown collector in the configuration",
    "E606": "invalid configuration value",
    "E607": "duplicate key in a YAML mapping",
    "E608": "a local source path in the configuration does not exist",
}


class Level(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based, in characters

    # Pickled as a constructor call: a rule check reads every parsed rule file back from its pickle, and
    # dataclasses' own __setstate__ for slotted classes (a loop over fields() per object) was most of it.
    def __reduce__(self) -> tuple[type[Position], tuple[int, int]]:
        return type(self), (self.line, self.column)


@dataclass(frozen=True, slots=True, order=True)
class Span:
    path: str  # as given; never resolved to an absolute path
    start: Position
    end: Position

    def __reduce__(self) -> tuple[type[Span], tuple[str, Position, Position]]:
        return type(self), (self.path, self.start, self.end)  # see Position.__reduce__

    def __str__(self) -> str:
        return f"{self.path}:{self.start.line}:{self.start.column}"

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "start": {"line": self.start.line, "column": self.start.column},
            "end": {"line": self.end.line, "column": self.end.column},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    level: Level = Level.ERROR
    help: str | None = None

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.span.path, self.span.start.line, self.span.start.column, self.code, self.message)

    def headline(self) -> str:
        return f"{self.span}: {self.level.value}[{self.code}]: {self.message}"

    def render(self, source: str | None) -> str:
        """The headline, then the offending line with a caret under the span, then the help."""
        lines = [self.headline()]
        if source is not None:
            source_lines = source.splitlines()
            if 1 <= self.span.start.line <= len(source_lines):
                text = source_lines[self.span.start.line - 1].expandtabs(1)
                gutter = f"{self.span.start.line:>4} | "
                lines.append(gutter + text)
                start = self.span.start.column
                if self.span.end.line == self.span.start.line and self.span.end.column > start:
                    width = self.span.end.column - start
                else:
                    width = 1
                width = max(1, min(width, len(text) - start + 2))
                lines.append(" " * (len(gutter) + start - 1) + "^" * width)
        if self.help:
            lines.append(f"  help: {self.help}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "level": self.level.value,
            "message": self.message,
            "span": self.span.to_dict(),
            "help": self.help,
        }


class DiagnosticError(EngineError):
    """Raised when a file has errors; carries all of them, sorted and capped."""

    def __init__(self, diagnostics: Iterable[Diagnostic], sources: dict[str, str] | None = None) -> None:
        self.diagnostics = sort_and_cap(diagnostics)
        self.sources = sources or {}
        super().__init__("\n".join(d.headline() for d in self.diagnostics))

    def render(self) -> str:
        return render_all(self.diagnostics, self.sources)


def sort_and_cap(diagnostics: Iterable[Diagnostic], cap: int = MAX_DIAGNOSTICS) -> tuple[Diagnostic, ...]:
    unique = sorted(set(diagnostics), key=Diagnostic.sort_key)
    return tuple(unique[:cap])


def render_all(diagnostics: Iterable[Diagnostic], sources: dict[str, str]) -> str:
    items = list(diagnostics)
    blocks = [d.render(sources.get(d.span.path)) for d in items]
    errors = sum(1 for d in items if d.level is Level.ERROR)
    warnings = len(items) - errors
    if items:
        blocks.append(f"{errors} error(s), {warnings} warning(s)")
    return "\n\n".join(blocks)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A "did you mean" hint from the closest candidate, or None when nothing is close."""
    import difflib

    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None
