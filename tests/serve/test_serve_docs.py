"""docs/serve.md names every route of the dashboard and every role, as the application defines them."""

from __future__ import annotations

from pathlib import Path

from annexa.serve.app import ENDPOINTS, openapi_description
from annexa.serve.roles import Role

DOCS = Path(__file__).resolve().parents[2] / "docs" / "serve.md"


def test_every_route_and_role_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = sorted(
        {e.path for e in ENDPOINTS if e.path not in ("/", "/login", "/logout") and e.path not in text}
    )
    assert not missing, f"docs/serve.md does not name {missing}"
    for role in Role:
        assert f"| `{role.value}` |" in text, role


def test_the_openapi_description_covers_every_api_route() -> None:
    paths = openapi_description()["paths"]
    for endpoint in ENDPOINTS:
        if endpoint.api:
            operation = paths[endpoint.path.removeprefix("/api/v1")]
            for method in endpoint.methods:
                assert endpoint.role is not None
                assert endpoint.role.value in operation[method.lower()]["description"]
