"""annexa: checks an AI management system against ISO/IEC 42001:2023 Annex A."""

from __future__ import annotations

__version__ = "0.1.0"
