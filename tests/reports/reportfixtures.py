"""Fixtures of the report tests, loaded by `pytest_plugins` in the modules that use them.

Not a conftest.py: other test folders import `conftest` by name, and a conftest here would shadow theirs.
"""

from __future__ import annotations

from typing import Any

import pytest
from reportkit import DemoProject, build_demo, load_document, normalised


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoProject:
    """The demo estate scanned twice (see :func:`reportkit.build_demo`)."""
    return build_demo(tmp_path_factory.mktemp("reports") / "demo")


@pytest.fixture(scope="session")
def document(demo: DemoProject) -> dict[str, Any]:
    """The second scan's report document, normalised for golden files."""
    return normalised(load_document(demo.store))
