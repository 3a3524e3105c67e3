"""The root exception of the engine; every error the engine raises on purpose derives from it."""

from __future__ import annotations


class EngineError(Exception):
    """An expected failure inside annexa's engine (bad input, broken store, ...)."""
