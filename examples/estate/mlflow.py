"""The demo's MLflow model registry, seeded through the REST API: ``seed("http://127.0.0.1:5000")``.

Acme registers both AI systems' models. ``fraud-scoring`` is looked after: version 2 carries the
``champion`` alias, links its validation report, and comes from a finished run that logged its metrics,
its data preparation pipeline and two datasets (training and holdout) with source, digest, schema and
profile. ``support-chatbot-intent`` was pushed by hand: version 1 was promoted with the legacy stage
Production (the collector warns), has no validation report, and its run logged the training data as an
unversioned upload (no digest, no profile). Version 1 of fraud-scoring is an older, unaliased version the
rules leave alone.

Run it as a script to seed a running server: ``python examples/estate/mlflow.py http://127.0.0.1:5000``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

API = "/api/2.0/mlflow"
FRAUD = "fraud-scoring"
CHATBOT = "support-chatbot-intent"
# Fixed clock for the runs, so the demo's evidence does not change from one seeding to the next.
STARTED_MS = 1_788_000_000_000  # 2026-08-29


def seed(api_url: str) -> None:
    """Create the demo registry in the MLflow server at ``api_url`` (its base URL or its REST base).

    An empty server is expected: registered model names are unique, so seeding twice fails.
    """
    import requests

    base = api_url.rstrip("/")
    base = base if base.endswith(API) else base + API

    def call(path: str, body: dict[str, Any]) -> dict[str, Any]:
        # Connection: close: a keep-alive connection costs ~40 ms per request against MLflow's server.
        answer = requests.post(base + path, json=body, timeout=30, headers={"Connection": "close"})
        if not answer.ok:
            raise RuntimeError(f"POST {path}: HTTP {answer.status_code} {answer.text[:200]}")
        result: dict[str, Any] = answer.json()
        return result

    experiment = call("/experiments/create", {"name": "acme-demo"})["experiment_id"]

    def run(
        name: str, metrics: dict[str, float], tags: dict[str, str], datasets: list[dict[str, Any]]
    ) -> str:
        info = call("/runs/create", {"experiment_id": experiment, "run_name": name, "start_time": STARTED_MS})
        run_id = str(info["run"]["info"]["run_id"])
        call("/runs/log-batch", {
            "run_id": run_id,
            "metrics": [
                {"key": k, "value": v, "timestamp": STARTED_MS, "step": 0} for k, v in metrics.items()
            ],
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        })  # fmt: skip
        call("/runs/log-inputs", {"run_id": run_id, "datasets": datasets})
        call("/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": STARTED_MS + 3_600_000})
        return run_id

    def model(name: str, description: str, owner: str) -> None:
        call("/registered-models/create", {
            "name": name, "description": description, "tags": [{"key": "owner", "value": owner}],
        })  # fmt: skip

    def version(name: str, run_id: str, tags: dict[str, str]) -> str:
        body = {
            "name": name,
            "source": f"runs:/{run_id}/model",
            "run_id": run_id,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        return str(call("/model-versions/create", body)["model_version"]["version"])

    model(
        FRAUD,
        "Gradient-boosted trees scoring card transactions for fraud in real time.",
        "Head of Fraud Analytics",
    )
    old = run(
        "fraud-scoring-2026-03",
        {"roc_auc": 0.921},
        {"data_preparation": "git:acme/fraud-pipeline@1b7e0a2"},
        [
            _dataset("transactions-2025", "training", "s3://acme-ml-training/transactions/2025-q4.parquet",
                     digest="7c1e52d0", rows=1_180_000),
        ],
    )  # fmt: skip
    version(FRAUD, old, {"validation_report": "s3://acme-ml-reports/fraud-scoring/v1-validation.pdf"})
    current = run(
        "fraud-scoring-2026-08",
        {"roc_auc": 0.941, "recall": 0.87, "precision": 0.79},
        {"data_preparation": "git:acme/fraud-pipeline@4e1d2c0"},
        [
            _dataset("transactions-2025", "training", "s3://acme-ml-training/transactions/2026-q2.parquet",
                     digest="9f2c41aa", rows=1_420_000),
            _dataset("transactions-2025-holdout", "evaluation", "s3://acme-ml-training/transactions/holdout.parquet",
                     digest="03b9d7e5", rows=150_000),
        ],
    )  # fmt: skip
    v2 = version(
        FRAUD, current, {"validation_report": "s3://acme-ml-reports/fraud-scoring/v2-validation.pdf"}
    )
    call("/registered-models/alias", {"name": FRAUD, "alias": "champion", "version": v2})

    model(
        CHATBOT,
        "DistilBERT intent classifier routing customer chat messages.",
        "Customer Service Engineering",
    )
    chatbot_run = run(
        "support-chatbot-intent-manual",
        {"accuracy": 0.93, "f1": 0.9},
        {"data_preparation": "notebook:ana/clean_chats.ipynb"},
        [_dataset("support-conversations", "training", "/home/ana/uploads/chats.csv", digest="", rows=None)],
    )
    v1 = version(CHATBOT, chatbot_run, {})
    call("/model-versions/transition-stage", {
        "name": CHATBOT, "version": v1, "stage": "Production", "archive_existing_versions": False,
    })  # fmt: skip


def _dataset(name: str, context: str, uri: str, *, digest: str, rows: int | None) -> dict[str, Any]:
    """A dataset input as mlflow.log_input sends it; without ``rows`` it carries no schema and no profile."""
    dataset: dict[str, Any] = {
        "name": name,
        "digest": digest,
        "source_type": "s3" if uri.startswith("s3://") else "local",
        "source": json.dumps({"uri": uri}),
    }
    if rows is not None:
        dataset["schema"] = json.dumps({"mlflow_colspec": [{"type": "double", "name": "amount"}]})
        dataset["profile"] = json.dumps({"num_rows": rows})
    return {"tags": [{"key": "mlflow.data.context", "value": context}], "dataset": dataset}


if __name__ == "__main__":
    seed(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000")
