"""Process exit codes of the ``annexa`` command."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    CONFORMANT = 0
    """Every assessed control passes (or is waived or not applicable)."""
    NONCONFORMITIES = 1
    """At least one finding failed."""
    INCONCLUSIVE = 2
    """No failure, but evidence was missing or a collector failed, so the result is incomplete."""
    INTERNAL_ERROR = 3
    """annexa itself failed; please report it."""
    USAGE_ERROR = 4
    """Bad input: command-line usage, configuration, rule syntax or evidence format."""
