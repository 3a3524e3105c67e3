"""The mlflow collector against a real MLflow tracking server (SQLite) on 127.0.0.1."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from registry_fakes import Seeder, dataset

from annexa.collectors import mlflow as mlflow_plugin
from annexa.collectors.mlflow import CONFIG_SCHEMA, KIND_SCHEMAS, MlflowCollector
from annexa.model.evidence import Evidence
from annexa.plugins import CollectRequest
from annexa.plugins.servers import MlflowServer
from annexa.plugins.testing import check_collector_spec

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALL_KINDS = frozenset(KIND_SCHEMAS)


@pytest.fixture
def seeder(mlflow_server: MlflowServer) -> Seeder:
    """A seeder with a prefix of its own: the server is shared by the whole session."""
    return Seeder(mlflow_server.api, f"t{uuid.uuid4().hex[:10]}")


def collect(
    config: dict[str, Any], kinds: frozenset[str] = ALL_KINDS
) -> tuple[dict[str, Evidence], list[tuple[str, str]], int]:
    """Items by subject, reported problems and the requests made; every item is checked against its schema."""
    jsonschema.Draft202012Validator(CONFIG_SCHEMA).validate(config)
    problems: list[tuple[str, str]] = []
    collector = MlflowCollector(environ={})
    request = CollectRequest(
        config=config, kinds=kinds, now=NOW, report_problem=lambda s, m: problems.append((s, m))
    )
    items = list(collector.collect(request))
    for item in items:
        validator = jsonschema.Draft202012Validator(
            KIND_SCHEMAS[item.kind], format_checker=jsonschema.FormatChecker()
        )
        assert [e.message for e in validator.iter_errors(item.data)] == [], item.source
        assert item.collected_at == NOW
    by_subject = {item.source: item for item in items}
    assert len(by_subject) == len(items), "subjects are unique"
    return by_subject, problems, collector.requests_made


def registry(server: MlflowServer, prefix: str, **extra: Any) -> dict[str, Any]:
    return {"tracking_uri": server.url, "filter": f"name LIKE '{prefix}-%'", **extra}


def test_spec_honours_the_collector_contract(annexa_host: Any, register_plugin: Any) -> None:
    register_plugin(mlflow_plugin, name="mlflow-under-test")
    spec = annexa_host.collectors()["mlflow"]
    check_collector_spec(spec)
    assert set(spec.kinds) == {"mlflow.registered_model", "mlflow.model_version", "mlflow.run"}


@pytest.mark.parametrize(
    ("config", "valid"),
    [
        ({"tracking_uri": "https://dbc-1.cloud.databricks.com", "token_env": "DATABRICKS_TOKEN"}, True),
        ({"tracking_uri": "http://127.0.0.1:5000", "username_env": "U", "password_env": "P"}, True),
        ({"tracking_uri": "http://127.0.0.1:5000", "token": "dapi123"}, False),  # never a secret in config
        ({"tracking_uri": "http://127.0.0.1:5000", "username_env": "U"}, False),
        ({"tracking_uri": "http://x", "token_env": "T", "username_env": "U", "password_env": "P"}, False),
        ({"tracking_uri": "http://127.0.0.1:5000", "page_size": 1001}, False),  # MLflow caps pages at 1000
        ({"tracking_uri": "127.0.0.1:5000"}, False),
    ],
)
def test_config_schema(config: dict[str, Any], valid: bool) -> None:
    errors = list(jsonschema.Draft202012Validator(CONFIG_SCHEMA).iter_errors(config))
    assert (errors == []) is valid, [e.message for e in errors]


def test_collects_models_versions_and_the_runs_behind_production(
    mlflow_server: MlflowServer, seeder: Seeder
) -> None:
    good_run = seeder.run(
        metrics={"auc": 0.93, "broken": "NaN"},
        params={"learning_rate": "0.1"},
        tags={"purpose": "evaluation"},
        datasets=[
            dataset("loans", source='{"uri": "s3://data/loans.parquet"}', profile='{"num_rows": 1200}',
                          schema='{"mlflow_colspec": []}'),
            dataset("holdout", context="evaluation", digest=""),
        ],
    )  # fmt: skip
    staging_run = seeder.run(metrics={"auc": 0.5})
    good = seeder.model("credit", description="Scores loan applications.", tags={"owner": "risk-ml"})
    seeder.version(good, run_id=staging_run)
    v2 = seeder.version(good, run_id=good_run, tags={"validation_report": "s3://reports/credit-v2.pdf"})
    seeder.alias(good, "champion", v2)
    seeder.alias(good, "candidate", 1)
    legacy = seeder.model("legacy")
    v1 = seeder.version(legacy)
    seeder.stage(legacy, v1, "Production")
    seeder.model("empty")

    items, problems, _ = collect(registry(mlflow_server, seeder.prefix))

    host = mlflow_server.url.removeprefix("http://")
    base = f"mlflow://{host}/models/"
    assert sorted(items) == sorted([
        base + good, base + f"{good}/versions/1", base + f"{good}/versions/2",
        base + legacy, base + f"{legacy}/versions/1", base + seeder.name("empty"),
        f"mlflow://{host}/runs/{good_run}",
    ])  # fmt: skip
    model = items[base + good].data
    assert model["description"] == "Scores loan applications."
    assert model["owner"] == "risk-ml"
    assert model["aliases"] == {"champion": 2, "candidate": 1}
    assert model["latest_version"] == 2
    assert items[base + seeder.name("empty")].data["owner"] is None
    assert items[base + seeder.name("empty")].data["description"] is None

    production = items[base + f"{good}/versions/2"].data
    assert production["production"] is True
    assert production["aliases"] == ["champion"]
    assert production["tags"] == {"validation_report": "s3://reports/credit-v2.pdf"}
    assert production["run_id"] == good_run
    assert production["stage"] is None
    assert items[base + f"{good}/versions/1"].data["production"] is False  # "candidate" is not production
    assert items[base + f"{legacy}/versions/1"].data["production"] is True  # legacy stage Production
    assert items[base + f"{legacy}/versions/1"].data["run_id"] is None
    assert problems == [
        (base + f"{legacy}/versions/1", f"model {legacy} version 1 uses the deprecated stage Production; "
         "MLflow recommends aliases (e.g. @production)"),
    ]  # fmt: skip

    run = items[f"mlflow://{host}/runs/{good_run}"].data
    assert run["metrics"] == {"auc": 0.93, "broken": None}  # NaN is not JSON: null
    assert run["params"] == {"learning_rate": "0.1"}
    assert run["tags"]["purpose"] == "evaluation"
    assert run["status"] == "FINISHED"
    assert run["started_at"] == "2023-11-14T22:13:20.000Z"
    assert run["model_versions"] == [f"{good}/2"]
    assert str(run["artifact_uri"]).endswith(f"{good_run}/artifacts")
    loans, holdout = run["datasets"]
    assert loans["source_uri"] == "s3://data/loans.parquet"
    assert loans["profile"] == {"num_rows": 1200}
    assert loans["has_schema"] is True
    assert loans["context"] == "training"
    assert (holdout["context"], holdout["digest"], holdout["has_schema"]) == ("evaluation", None, False)


def test_pagination_is_drained_and_requests_are_counted(mlflow_server: MlflowServer, seeder: Seeder) -> None:
    names = [seeder.model(f"m{i}") for i in range(5)]
    for name in names:
        for _ in range(3):
            seeder.version(name)
    config = registry(mlflow_server, seeder.prefix, page_size=2, max_workers=3)

    items, problems, requests_made = collect(
        config, frozenset({"mlflow.registered_model", "mlflow.model_version"})
    )

    assert problems == []
    assert len([i for i in items.values() if i.kind == "mlflow.model_version"]) == 15
    assert sorted(i.data["version"] for i in items.values() if i.data.get("model_name") == names[4]) == [
        1,
        2,
        3,
    ]
    # Models: pages of 2, 2, 1. Versions: pages of 2 and 1 for each of the 5 models.
    assert requests_made == 3 + 5 * 2


def test_asks_only_for_the_requested_kinds(mlflow_server: MlflowServer, seeder: Seeder) -> None:
    name = seeder.model("only")
    seeder.alias(name, "production", seeder.version(name, run_id=seeder.run()))

    items, _, requests_made = collect(
        registry(mlflow_server, seeder.prefix), frozenset({"mlflow.registered_model"})
    )
    assert [i.kind for i in items.values()] == ["mlflow.registered_model"]
    assert requests_made == 1

    items, _, requests_made = collect(registry(mlflow_server, seeder.prefix), frozenset({"mlflow.run"}))
    assert [i.kind for i in items.values()] == ["mlflow.run"]
    assert requests_made == 3  # models, the model's versions, the run


def test_unknown_kinds_ask_nothing(mlflow_server: MlflowServer) -> None:
    items, _, requests_made = collect({"tracking_uri": mlflow_server.url}, frozenset({"document"}))
    assert (items, requests_made) == ({}, 0)


def test_concurrent_and_sequential_collection_agree(mlflow_server: MlflowServer, seeder: Seeder) -> None:
    for i in range(6):
        name = seeder.model(f"c{i}", tags={"owner": f"team{i}"})
        seeder.alias(name, "production", seeder.version(name, run_id=seeder.run(metrics={"acc": i / 10})))
    sequential, _, seq_requests = collect(registry(mlflow_server, seeder.prefix, max_workers=1))
    concurrent, _, con_requests = collect(registry(mlflow_server, seeder.prefix, max_workers=8))
    assert {s: i.data for s, i in sequential.items()} == {s: i.data for s, i in concurrent.items()}
    assert seq_requests == con_requests == 1 + 6 + 6
