"""The ``mlflow`` collector: registered models, their versions, and the runs behind production versions.

One paged search lists the registered models; each model's versions are then fetched concurrently in a
bounded pool (one paged ``model-versions/search`` per model), and so are the runs behind production
versions. Everything is fetched before anything is yielded, so a registry that fails half-way makes its
kinds inconclusive instead of leaving a partial picture that rules would read as complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from annexa.collectors.mlflow import records
from annexa.collectors.mlflow.client import (
    RegistryClient,
    RegistryNotFoundError,
    RetryPolicy,
    api_base,
    auth_headers,
)
from annexa.collectors.mlflow.schema import (
    DEFAULT_PRODUCTION_ALIASES,
    KINDS,
    MODEL_VERSION,
    NAME,
    REGISTERED_MODEL,
    RUN,
    VERSION,
)
from annexa.model.evidence import Evidence, JSONValue
from annexa.plugins import CollectRequest

_In = TypeVar("_In")
_Out = TypeVar("_Out")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The ``collectors.mlflow`` block with its defaults filled in."""

    tracking_uri: str
    name: str | None
    filter: str | None
    production_aliases: frozenset[str]
    owner_tag: str
    max_workers: int
    page_size: int
    timeout: float
    retry: RetryPolicy

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        return cls(
            tracking_uri=str(config["tracking_uri"]).rstrip("/"),
            name=config.get("name"),
            filter=config.get("filter"),
            production_aliases=frozenset(config.get("production_aliases", DEFAULT_PRODUCTION_ALIASES)),
            owner_tag=str(config.get("owner_tag", "owner")),
            max_workers=int(config.get("max_workers", 8)),
            page_size=int(config.get("page_size", 1000)),
            timeout=float(config.get("timeout_seconds", 30)),
            retry=RetryPolicy(
                retries=int(config.get("retries", 4)),
                backoff_seconds=float(config.get("backoff_seconds", 0.5)),
                max_wait_seconds=float(config.get("max_retry_wait_seconds", 60)),
            ),
        )


@dataclass(frozen=True, slots=True)
class _Model:
    raw: Mapping[str, Any]
    name: str
    aliases: Mapping[str, int]


class MlflowCollector:
    """Describes what an MLflow model registry holds; judges none of it."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self.requests_made = 0  # after collect(): HTTP requests sent, retries included (for benchmarks)

    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        wanted = frozenset(KINDS) & request.kinds if request.kinds else frozenset(KINDS)
        if not wanted:
            return
        settings = Settings.from_config(request.config)
        environ = os.environ if self._environ is None else self._environ
        client = RegistryClient(
            api_base(settings.tracking_uri),
            headers=auth_headers(request.config, environ),
            timeout=settings.timeout,
            retry=settings.retry,
        )
        try:
            items = _Collection(settings, client, request, wanted).run()
        finally:
            self.requests_made = client.requests_made
        yield from items


class _Collection:
    """One collection run over one registry."""

    def __init__(
        self, settings: Settings, client: RegistryClient, request: CollectRequest, wanted: frozenset[str]
    ) -> None:
        self.settings = settings
        self.client = client
        self.request = request
        self.wanted = wanted
        self.host = settings.name or urlsplit(settings.tracking_uri).netloc
        self.scope = {"registry": settings.tracking_uri}

    def run(self) -> list[Evidence]:
        models = self._models()
        items = [self._evidence(REGISTERED_MODEL, self._model_subject(m.name), records.registered_model(
            m.raw, self.settings.owner_tag)) for m in models if REGISTERED_MODEL in self.wanted]  # fmt: skip
        if not self.wanted & {MODEL_VERSION, RUN}:
            return items
        versions = self._pool(self._versions, models)
        behind: dict[str, list[str]] = {}
        for model, found in zip(models, versions, strict=True):
            for data in found:
                subject = self._version_subject(model.name, int(str(data["version"])))
                if data["stage"] is not None:
                    self.request.report_problem(
                        subject,
                        f"model {model.name} version {data['version']} uses the deprecated stage "
                        f"{data['stage']}; MLflow recommends aliases (e.g. @production)",
                    )
                if data["production"] and isinstance(data["run_id"], str):
                    behind.setdefault(data["run_id"], []).append(f"{model.name}/{data['version']}")
                if MODEL_VERSION in self.wanted:
                    items.append(self._evidence(MODEL_VERSION, subject, data))
        if RUN in self.wanted:
            run_ids = sorted(behind)
            for run_id, raw in zip(run_ids, self._pool(self._run, run_ids), strict=True):
                if raw is not None:
                    items.append(
                        self._evidence(RUN, self._run_subject(run_id), records.run(raw, behind[run_id]))
                    )
        return items

    # -- fetching ----------------------------------------------------------------------------------------

    def _models(self) -> list[_Model]:
        params: dict[str, str | int] = {"max_results": self.settings.page_size}
        if self.settings.filter:
            params["filter"] = self.settings.filter
        models: dict[str, _Model] = {}
        for raw in self.client.pages("/registered-models/search", "registered_models", params):
            name = raw.get("name")
            if not isinstance(name, str) or not name:
                self.request.report_problem(
                    f"mlflow://{self.host}", "a registered model without a name; skipped"
                )
                continue
            models[name] = _Model(raw=raw, name=name, aliases=records.alias_map(raw.get("aliases")))
        return [models[name] for name in sorted(models)]

    def _versions(self, model: _Model) -> list[dict[str, JSONValue]]:
        quote_char = '"' if '"' not in model.name else "'"
        if quote_char in model.name:
            self.request.report_problem(
                self._model_subject(model.name),
                f"model name {model.name!r} holds both quote characters, which MLflow's search filter "
                "cannot express; its versions were not collected",
            )
            return []
        params: dict[str, str | int] = {
            "filter": f"name={quote_char}{model.name}{quote_char}",
            "max_results": self.settings.page_size,
        }
        by_version: dict[int, list[str]] = {}
        for alias, aliased in model.aliases.items():
            by_version.setdefault(aliased, []).append(alias)
        found: dict[int, dict[str, JSONValue]] = {}
        for raw in self.client.pages("/model-versions/search", "model_versions", params):
            number = records.version_number(raw.get("version"))
            if number is None or raw.get("name") != model.name:
                self.request.report_problem(
                    self._model_subject(model.name),
                    "the registry returned an unusable version entry "
                    f"({str(raw.get('version'))[:20]!r}); skipped",
                )
                continue
            found[number] = records.model_version(
                raw, number, by_version.get(number, ()), self.settings.production_aliases
            )
        return [found[number] for number in sorted(found)]

    def _run(self, run_id: str) -> Mapping[str, Any] | None:
        try:
            answer = self.client.get("/runs/get", {"run_id": run_id})
        except RegistryNotFoundError as exc:
            self.request.report_problem(
                self._run_subject(run_id),
                f"run {run_id} behind a production version is missing: {exc.message}",
            )
            return None
        raw = answer.get("run")
        if not isinstance(raw, dict):
            self.request.report_problem(self._run_subject(run_id), f"GET /runs/get for {run_id} held no run")
            return None
        return raw

    def _pool(self, work: Callable[[_In], _Out], inputs: Sequence[_In]) -> list[_Out]:
        """``work`` over ``inputs`` in a bounded pool, results in input order; the first error cancels
        everything not yet started, so a dead registry is not asked once per remaining model."""
        if not inputs:
            return []
        workers = min(self.settings.max_workers, len(inputs))
        if workers == 1:
            return [work(item) for item in inputs]
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="annexa-mlflow")
        try:
            return list(pool.map(work, inputs))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- evidence ----------------------------------------------------------------------------------------

    def _evidence(self, kind: str, subject: str, data: Mapping[str, JSONValue]) -> Evidence:
        return Evidence(
            kind=kind,
            source=subject,
            scope=self.scope,
            collector=f"{NAME} {VERSION}",
            collected_at=self.request.now,
            data=dict(data),
        )

    def _model_subject(self, name: str) -> str:
        return f"mlflow://{self.host}/models/{quote(name, safe='')}"

    def _version_subject(self, name: str, version: int) -> str:
        return f"{self._model_subject(name)}/versions/{version}"

    def _run_subject(self, run_id: str) -> str:
        return f"mlflow://{self.host}/runs/{quote(run_id, safe='')}"
