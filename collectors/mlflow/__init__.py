"""The built-in ``mlflow`` collector: an MLflow model registry (open source or Databricks) over REST API 2.0.

Registered models, their versions (aliases first, legacy stages with a warning) and the runs behind
production versions (params, metrics, logged datasets, tags, artifact URIs), so rules can ask whether every
production version was evaluated, validated, documented and traced to its data.

The collector and its HTTP client (requests, urllib3) are imported when a collection runs, so registering
the plugin costs only its schemas (``tests/test_import_cost.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from annexa.collectors.mlflow.schema import CONFIG_SCHEMA, KIND_SCHEMAS, KINDS, NAME, VERSION
from annexa.plugins import CollectorSpec, hookimpl

if TYPE_CHECKING:
    from annexa.collectors.mlflow.collector import MlflowCollector, Settings

__all__ = ["CONFIG_SCHEMA", "KINDS", "KIND_SCHEMAS", "MlflowCollector", "Settings", "annexa_collectors"]


@hookimpl
def annexa_collectors() -> Iterator[CollectorSpec]:
    yield CollectorSpec(
        name=NAME,
        version=VERSION,
        kinds=KIND_SCHEMAS,
        config_schema=CONFIG_SCHEMA,
        factory=_collector,
        description="MLflow model registry: registered models, versions, and the runs behind production.",
    )


def _collector() -> MlflowCollector:
    from annexa.collectors.mlflow.collector import MlflowCollector

    return MlflowCollector()


def __getattr__(name: str) -> Any:
    if name in ("MlflowCollector", "Settings"):
        from annexa.collectors.mlflow import collector

        return getattr(collector, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
