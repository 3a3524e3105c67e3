"""JSON Schemas of the MLflow collector: its configuration block and its three evidence kinds."""

from __future__ import annotations

from typing import Any

NAME = "mlflow"  # the collector's name in annexa.yaml and in evidence
VERSION = "0.1.0"

REGISTERED_MODEL = "mlflow.registered_model"
MODEL_VERSION = "mlflow.model_version"
RUN = "mlflow.run"
KINDS = (REGISTERED_MODEL, MODEL_VERSION, RUN)

DEFAULT_PRODUCTION_ALIASES = ("production", "prod", "champion")

_ENV_NAME: dict[str, Any] = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "collectors.mlflow",
    "description": "An MLflow model registry (open-source tracking server or Databricks) over REST API 2.0.",
    "type": "object",
    "properties": {
        "tracking_uri": {
            "type": "string",
            "pattern": "^https?://[^\\s/]+",
            "description": "Base URL of the tracking server, e.g. http://127.0.0.1:5000 or "
            "https://dbc-1234.cloud.databricks.com; /api/2.0/mlflow is appended.",
        },
        "name": {
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
            "description": "Registry name in subjects (mlflow://<name>/models/...); default the host "
            "and port of tracking_uri. Set it so subjects (and the exceptions naming them) survive a move.",
        },
        "token_env": {
            **_ENV_NAME,
            "description": "NAME of the environment variable holding a bearer token (never the token).",
        },
        "username_env": {**_ENV_NAME, "description": "NAME of the variable holding the basic-auth user."},
        "password_env": {**_ENV_NAME, "description": "NAME of the variable holding the basic-auth password."},
        "filter": {
            "type": "string",
            "minLength": 1,
            "description": "MLflow search filter for registered models, e.g. \"name LIKE 'credit%'\".",
        },
        "production_aliases": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "uniqueItems": True,
            "default": list(DEFAULT_PRODUCTION_ALIASES),
            "description": "Aliases that mark a version as in production (so does the legacy stage "
            "Production); the runs behind production versions are collected.",
        },
        "owner_tag": {
            "type": "string",
            "minLength": 1,
            "default": "owner",
            "description": "Registered-model tag that names the accountable owner.",
        },
        "max_workers": {"type": "integer", "minimum": 1, "maximum": 64, "default": 8},
        "page_size": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000},
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 30},
        "retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 4},
        "backoff_seconds": {
            "type": "number",
            "minimum": 0,
            "default": 0.5,
            "description": "Backoff factor: retry at once, then after 2x, 4x, ... this, plus jitter.",
        },
        "max_retry_wait_seconds": {
            "type": "number",
            "minimum": 0,
            "default": 60,
            "description": "Cap on one wait, including a server's Retry-After.",
        },
    },
    "required": ["tracking_uri"],
    "dependentRequired": {"username_env": ["password_env"], "password_env": ["username_env"]},
    "not": {"required": ["token_env", "username_env"]},
    "additionalProperties": False,
}

_TEXT_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
_TIME_OR_NULL: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
_STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
_SCHEMA = "https://json-schema.org/draft/2020-12/schema"

REGISTERED_MODEL_SCHEMA: dict[str, Any] = {
    "$schema": _SCHEMA,
    "title": REGISTERED_MODEL,
    "description": "One registered model of an MLflow model registry.",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "description": {**_TEXT_OR_NULL, "description": "null when empty."},
        "tags": _STRING_MAP,
        "aliases": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "Alias -> the version it points at.",
        },
        "owner": {**_TEXT_OR_NULL, "description": "Value of the configured owner tag (owner_tag)."},
        "user_id": {**_TEXT_OR_NULL, "description": "Creator as the registry reports it (Databricks)."},
        "latest_version": {"type": ["integer", "null"]},
        "created_at": _TIME_OR_NULL,
        "updated_at": _TIME_OR_NULL,
    },
    "required": [
        "name", "description", "tags", "aliases", "owner", "user_id", "latest_version", "created_at",
        "updated_at",
    ],
    "additionalProperties": False,
}  # fmt: skip

MODEL_VERSION_SCHEMA: dict[str, Any] = {
    "$schema": _SCHEMA,
    "title": MODEL_VERSION,
    "description": "One version of a registered model.",
    "type": "object",
    "properties": {
        "model_name": {"type": "string"},
        "version": {"type": "integer", "minimum": 1},
        "status": {"type": "string", "description": "READY, PENDING_REGISTRATION or FAILED_REGISTRATION."},
        "status_message": _TEXT_OR_NULL,
        "description": {**_TEXT_OR_NULL, "description": "null when empty."},
        "tags": _STRING_MAP,
        "source": {"type": "string", "description": "Artifact URI the version was registered from."},
        "run_id": {**_TEXT_OR_NULL, "description": "The run that produced the version, if any."},
        "run_link": _TEXT_OR_NULL,
        "aliases": {"type": "array", "items": {"type": "string"}},
        "stage": {
            **_TEXT_OR_NULL,
            "description": "Deprecated stage (Staging, Production, Archived); null when None.",
        },
        "production": {
            "type": "boolean",
            "description": "An alias in the collector's production_aliases, or the legacy stage Production.",
        },
        "user_id": _TEXT_OR_NULL,
        "created_at": _TIME_OR_NULL,
        "updated_at": _TIME_OR_NULL,
    },
    "required": [
        "model_name", "version", "status", "status_message", "description", "tags", "source", "run_id",
        "run_link", "aliases", "stage", "production", "user_id", "created_at", "updated_at",
    ],
    "additionalProperties": False,
}  # fmt: skip

DATASET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "digest": {**_TEXT_OR_NULL, "description": "Fingerprint of the exact data; null when empty."},
        "source_type": {**_TEXT_OR_NULL, "description": "e.g. s3, delta_table, http, local."},
        "source": {**_TEXT_OR_NULL, "description": "The logged source, as text (often JSON)."},
        "source_uri": {**_TEXT_OR_NULL, "description": "uri/url/path from a JSON source, else null."},
        "context": {**_TEXT_OR_NULL, "description": "mlflow.data.context input tag: training, evaluation…"},
        "has_schema": {"type": "boolean"},
        "profile": {
            "type": ["object", "null"],
            "description": "The logged profile (e.g. num_rows) when it is a JSON object.",
        },
        "tags": _STRING_MAP,
    },
    "required": [
        "name", "digest", "source_type", "source", "source_uri", "context", "has_schema", "profile", "tags",
    ],
    "additionalProperties": False,
}  # fmt: skip

RUN_SCHEMA: dict[str, Any] = {
    "$schema": _SCHEMA,
    "title": RUN,
    "description": "A run behind a production model version: what it logged and where its artifacts are.",
    "type": "object",
    "properties": {
        "run_id": {"type": "string"},
        "run_name": _TEXT_OR_NULL,
        "experiment_id": {"type": "string"},
        "status": {"type": "string", "description": "RUNNING, SCHEDULED, FINISHED, FAILED or KILLED."},
        "lifecycle_stage": {"type": "string", "description": "active or deleted."},
        "user_id": _TEXT_OR_NULL,
        "started_at": _TIME_OR_NULL,
        "ended_at": _TIME_OR_NULL,
        "artifact_uri": _TEXT_OR_NULL,
        "params": _STRING_MAP,
        "metrics": {
            "type": "object",
            "additionalProperties": {"type": ["number", "null"]},
            "description": "Latest value per metric; NaN and infinities become null.",
        },
        "tags": _STRING_MAP,
        "datasets": {"type": "array", "items": DATASET_SCHEMA},
        "model_versions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The production versions behind which this run was found, as name/version.",
        },
    },
    "required": [
        "run_id", "run_name", "experiment_id", "status", "lifecycle_stage", "user_id", "started_at",
        "ended_at", "artifact_uri", "params", "metrics", "tags", "datasets", "model_versions",
    ],
    "additionalProperties": False,
}  # fmt: skip

KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    REGISTERED_MODEL: REGISTERED_MODEL_SCHEMA,
    MODEL_VERSION: MODEL_VERSION_SCHEMA,
    RUN: RUN_SCHEMA,
}
