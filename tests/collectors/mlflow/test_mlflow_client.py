"""Failure handling of the mlflow collector against a scripted HTTP server on 127.0.0.1.

A real MLflow server will not answer 401, 429 or garbage on cue; this one does, and records what it was
sent (headers included), so authentication and the retry policy are checked on the wire.
"""

from __future__ import annotations

import base64
import email.utils
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from registry_fakes import Reply, ScriptedServer

from annexa.collectors import mlflow as mlflow_plugin
from annexa.collectors.mlflow import MlflowCollector
from annexa.plugins import CollectorError, CollectRequest
from annexa.plugins.servers import free_port

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MODELS = "/registered-models/search"
FAST = {"retries": 2, "backoff_seconds": 0.01}


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


def model(name: str, aliases: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "tags": [{"key": "owner", "value": "ml"}],
        "aliases": [{"alias": a, "version": v} for a, v in (aliases or {}).items()],
    }


def run_collect(
    config: dict[str, Any], environ: dict[str, str] | None = None, kinds: frozenset[str] | None = None
) -> tuple[list[Any], list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    request = CollectRequest(
        config=config,
        kinds=kinds or frozenset({"mlflow.registered_model"}),
        now=NOW,
        report_problem=lambda s, m: problems.append((s, m)),
    )
    return list(MlflowCollector(environ=environ or {}).collect(request)), problems


def test_sends_connection_close_and_drains_pages(scripted: ScriptedServer) -> None:
    scripted.on(
        MODELS,
        Reply(body={"registered_models": [model("a")], "next_page_token": "p2"}),
        Reply(body={"registered_models": [model("b")]}),
    )
    items, _ = run_collect({"tracking_uri": scripted.url + "/"})
    assert [i.data["name"] for i in items] == ["a", "b"]
    assert [seen.query.get("page_token") for seen in scripted.seen] == [None, ["p2"]]
    assert {seen.headers.get("Connection") for seen in scripted.seen} == {"close"}
    assert "Authorization" not in scripted.seen[0].headers


def test_bearer_token_from_the_named_variable(scripted: ScriptedServer) -> None:
    scripted.on(MODELS, Reply(body={"registered_models": []}))
    config = {"tracking_uri": scripted.url, "token_env": "ACME_MLFLOW_TOKEN"}
    run_collect(config, {"ACME_MLFLOW_TOKEN": "dapi-s3cr3t"})
    assert scripted.seen[0].headers["Authorization"] == "Bearer dapi-s3cr3t"


def test_basic_auth_from_the_named_variables(scripted: ScriptedServer) -> None:
    scripted.on(MODELS, Reply(body={"registered_models": []}))
    config = {"tracking_uri": scripted.url, "username_env": "ML_USER", "password_env": "ML_PASS"}
    run_collect(config, {"ML_USER": "annexa", "ML_PASS": "pa:ss"})
    expected = "Basic " + base64.b64encode(b"annexa:pa:ss").decode()
    assert scripted.seen[0].headers["Authorization"] == expected


def test_unset_token_variable_is_named_and_nothing_is_sent(scripted: ScriptedServer) -> None:
    with pytest.raises(CollectorError, match=r"environment variable ACME_MLFLOW_TOKEN .* is not set"):
        run_collect({"tracking_uri": scripted.url, "token_env": "ACME_MLFLOW_TOKEN"}, {})
    assert scripted.seen == []


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(CollectorError, match="embeds credentials"):
        run_collect({"tracking_uri": "http://user:secret@127.0.0.1:9"})


def test_401_is_a_precise_error_without_the_token(scripted: ScriptedServer) -> None:
    scripted.on(MODELS, Reply(401, {"error_code": "UNAUTHENTICATED", "message": "bad token"}))
    with pytest.raises(CollectorError) as caught:
        run_collect({"tracking_uri": scripted.url, "token_env": "T", **FAST}, {"T": "dapi-s3cr3t"})
    message = caught.value.message
    assert (
        "refused access: GET /registered-models/search answered HTTP 401 UNAUTHENTICATED: bad token"
        in message
    )
    assert "dapi-s3cr3t" not in message + str(caught.value.hint)
    assert len(scripted.seen) == 1  # an auth failure is not retried


def test_429_waits_for_retry_after(scripted: ScriptedServer) -> None:
    scripted.on(
        MODELS,
        Reply(429, {"error_code": "REQUEST_LIMIT_EXCEEDED"}, {"Retry-After": "1"}),
        Reply(body={"registered_models": [model("a")]}),
    )
    started = time.monotonic()
    items, _ = run_collect({"tracking_uri": scripted.url, "retries": 2, "backoff_seconds": 0})
    assert time.monotonic() - started >= 1.0  # the server's Retry-After, not the zero backoff
    assert [i.data["name"] for i in items] == ["a"]
    assert len(scripted.seen) == 2


def test_retry_after_is_capped_by_max_retry_wait(scripted: ScriptedServer) -> None:
    scripted.on(
        MODELS,
        Reply(503, b"maintenance", {"Retry-After": "3600"}),
        Reply(body={"registered_models": [model("a")]}),
    )
    started = time.monotonic()
    items, _ = run_collect({"tracking_uri": scripted.url, "retries": 1, "max_retry_wait_seconds": 0.3})
    assert 0.3 <= time.monotonic() - started < 5  # an hour asked, the configured cap waited
    assert [i.data["name"] for i in items] == ["a"]


def test_retry_after_as_an_http_date_is_honoured(scripted: ScriptedServer) -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    scripted.on(MODELS, Reply(429, {}, {"Retry-After": when}), Reply(body={"registered_models": []}))
    started = time.monotonic()
    run_collect({"tracking_uri": scripted.url, "retries": 1, "backoff_seconds": 0})
    assert time.monotonic() - started >= 0.9  # the date is whole seconds: at least one of the two waited
    assert len(scripted.seen) == 2


def test_an_unreadable_retry_after_falls_back_to_the_backoff(scripted: ScriptedServer) -> None:
    scripted.on(MODELS, Reply(503, {}, {"Retry-After": "soon"}), Reply(body={"registered_models": []}))
    run_collect({"tracking_uri": scripted.url, "retries": 1, "backoff_seconds": 0})
    assert len(scripted.seen) == 2


def test_a_stalled_server_times_out_after_the_retries(scripted: ScriptedServer) -> None:
    scripted.on(MODELS, Reply(body={"registered_models": []}, delay=0.8))
    config = {"tracking_uri": scripted.url, "retries": 1, "backoff_seconds": 0, "timeout_seconds": 0.2}
    with pytest.raises(
        CollectorError, match=r"GET /registered-models/search failed: timed out \(2 attempts\)"
    ):
        run_collect(config)
    assert len(scripted.seen) == 2


def test_persistent_500_makes_the_registry_unavailable(scripted: ScriptedServer) -> None:
    scripted.on(MODELS, Reply(500, {"error_code": "INTERNAL_ERROR", "message": "db locked"}))
    with pytest.raises(CollectorError) as caught:
        run_collect({"tracking_uri": scripted.url, **FAST})
    assert caught.value.message == (
        f"MLflow registry {scripted.url}/api/2.0/mlflow is unavailable: GET /registered-models/search "
        "answered HTTP 500 INTERNAL_ERROR: db locked (3 attempts)"
    )
    assert len(scripted.seen) == 3


def test_a_failure_while_fetching_versions_fails_the_whole_registry(scripted: ScriptedServer) -> None:
    """Half a registry would read as a complete one: no item is yielded."""
    scripted.on(MODELS, Reply(body={"registered_models": [model(f"m{i}") for i in range(4)]}))
    scripted.on("/model-versions/search", Reply(503, b"upstream down"))
    kinds = frozenset({"mlflow.registered_model", "mlflow.model_version"})
    with pytest.raises(CollectorError, match=r"HTTP 503 .*3 attempts"):
        run_collect({"tracking_uri": scripted.url, **FAST}, kinds=kinds)


def test_garbage_body_is_a_precise_error(scripted: ScriptedServer) -> None:
    scripted.on(MODELS, Reply(200, b"<html>Sign in to continue</html>"))
    with pytest.raises(CollectorError) as caught:
        run_collect({"tracking_uri": scripted.url, **FAST})
    assert "answered HTTP 200 with a body that is not a JSON object" in caught.value.message
    assert "<html>Sign in to continue</html>" in caught.value.message


def test_wrong_base_path_says_so(scripted: ScriptedServer) -> None:
    with pytest.raises(
        CollectorError, match="has no MLflow REST API: GET /registered-models/search answered HTTP 404"
    ):
        run_collect({"tracking_uri": scripted.url + "/wrong", **FAST})


def test_unreachable_port() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(
        CollectorError,
        match=r"unavailable: GET /registered-models/search failed: connection failed.*\(2 attempts\)",
    ):
        run_collect({"tracking_uri": url, "retries": 1, "backoff_seconds": 0})


def test_deleted_run_behind_production_is_reported_not_fatal(scripted: ScriptedServer) -> None:
    scripted.on(MODELS, Reply(body={"registered_models": [model("fraud", {"production": "1"})]}))
    version = {"name": "fraud", "version": "1", "source": "s3://m/fraud", "run_id": "gone", "status": "READY"}
    scripted.on("/model-versions/search", Reply(body={"model_versions": [version]}))
    scripted.on(
        "/runs/get",
        Reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run 'gone' not found"}),
    )
    items, problems = run_collect(
        {"tracking_uri": scripted.url, **FAST}, kinds=frozenset({"mlflow.model_version", "mlflow.run"})
    )
    assert [i.kind for i in items] == ["mlflow.model_version"]
    assert items[0].data["production"] is True
    assert problems == [
        (f"mlflow://{scripted.url.removeprefix('http://')}/runs/gone",
         "run gone behind a production version is missing: GET /runs/get: Run 'gone' not found"),
    ]  # fmt: skip


def test_the_host_marks_the_kinds_not_collected(
    scripted: ScriptedServer, annexa_host: Any, register_plugin: Any, run_collector: Any
) -> None:
    register_plugin(mlflow_plugin, name="mlflow-under-test")
    spec = annexa_host.collectors()["mlflow"]
    scripted.on(MODELS, Reply(500))
    run = run_collector(spec, config={"tracking_uri": scripted.url, "retries": 0})
    assert run.evidence == ()
    assert [d.code for d in run.diagnostics] == ["collector_error"]
    assert "is unavailable" in run.diagnostics[0].message


def test_registry_name_makes_subjects_independent_of_the_url(scripted: ScriptedServer) -> None:
    scripted.on(MODELS, Reply(body={"registered_models": [model("fraud scoring/eu")]}))
    items, _ = run_collect({"tracking_uri": scripted.url, "name": "acme-registry"})
    assert [i.source for i in items] == ["mlflow://acme-registry/models/fraud%20scoring%2Feu"]
    assert items[0].scope == {"registry": scripted.url}
