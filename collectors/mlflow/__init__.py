"""The built-in ``mlflow`` collector: an MLflow model registry (open source or Databricks) over REST API 2.0.

Registered models, their versions (aliases first, legacy stages with a warning) and the runs behind
production versions (params, metrics, logged datasets, tags, artifact URIs), so rules can ask whether every
production version was evaluated, validated, documented and traced to its data.
"""

from __future__ import annotations

from collections.abc import Iterator

from annexa.collectors.mlflow.collector import NAME, VERSION, MlflowCollector, Settings
from annexa.collectors.mlflow.schema import CONFIG_SCHEMA, KIND_SCHEMAS, KINDS
from annexa.plugins import CollectorSpec, hookimpl

__all__ = ["CONFIG_SCHEMA", "KINDS", "KIND_SCHEMAS", "MlflowCollector", "Settings", "annexa_collectors"]


@hookimpl
def annexa_collectors() -> Iterator[CollectorSpec]:
    yield CollectorSpec(
        name=NAME,
        version=VERSION,
        kinds=KIND_SCHEMAS,
        config_schema=CONFIG_SCHEMA,
        factory=MlflowCollector,
        description="MLflow model registry: registered models, versions, and the runs behind production.",
    )
