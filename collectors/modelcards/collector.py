"""The ``modelcards`` collector: one ``model_card`` or ``dataset_card`` item per card file."""

from __future__ import annotations

import difflib
import hashlib
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from annexa.collectors.modelcards.markdown import UnreadableCard, read_card
from annexa.collectors.modelcards.schema import DATASET_CARD, MODEL_CARD, NAME, VERSION
from annexa.collectors.modelcards.sections import DATASET_SECTIONS, MODEL_SECTIONS, assess
from annexa.model.evidence import Evidence, JSONValue
from annexa.plugins import CollectRequest, FileHistory, FolderSource, resolve_folder_source

DEFAULT_FILE_NAMES = ("README.md", "MODEL_CARD.md", "DATASET_CARD.md")

# Metadata keys only dataset cards use (Hugging Face dataset card specification) and only model cards use.
_DATASET_KEYS = frozenset({
    "task_categories", "task_ids", "size_categories", "source_datasets", "annotations_creators",
    "language_creators", "multilinguality", "pretty_name", "dataset_info", "configs", "dataset_name",
})  # fmt: skip
_MODEL_KEYS = frozenset({"model-index", "model_name", "base_model", "pipeline_tag", "library_name"})
_COMMON_KEYS = frozenset({"license", "language", "tags", "owner", "last_reviewed", "card_type"})
_MODEL_FIELDS = frozenset({*_MODEL_KEYS, "datasets", "metrics"})
# Metadata the Hugging Face templates copy into a card's text (``- **License:** mit``): a line that only
# repeats them says nothing the metadata does not already say.
_COPIED_KEYS = ("license", "language", "base_model")
_DATASET_FIELDS = frozenset(
    {"dataset_name", "pretty_name", "task_categories", "size_categories", "source_datasets"}
)
# Other metadata keys of the Hugging Face model and dataset card specifications: kept in extra, never
# taken for a misspelt field.
_HUB_KEYS = frozenset({
    *_DATASET_KEYS, *_MODEL_KEYS, "license_name", "license_link", "license_details", "datasets", "metrics",
    "widget", "inference", "thumbnail", "co2_eq_emissions", "new_version", "base_model_relation",
    "model_creator", "model_type", "quantized_by", "language_details", "paperswithcode_id",
    "train-eval-index", "config_names", "viewer", "pretty_name", "duplicated_from", "mask_token", "arxiv",
    "paper",
})  # fmt: skip
# Keys close to one a rule reads but not it: told with "did you mean", never read as it.
_NEAR_MISSES = {
    **dict.fromkeys(("reviewed_on", "last_review", "last_review_date", "reviewed", "date_reviewed",
                     "last_reviewed_on", "reviewed_at", "last-reviewed", "lastreviewed"), "last_reviewed"),
    **dict.fromkeys(("model_owner", "card_owner", "owned_by", "accountable_owner", "owners"), "owner"),
    **dict.fromkeys(("licence", "licenses", "licences"), "license"),
    **dict.fromkeys(("languages", "lang"), "language"),
    "tag": "tags",
    "dataset": "datasets",
    "metric": "metrics",
    **dict.fromkeys(("model_index", "modelindex", "model-index-results"), "model-index"),
    **dict.fromkeys(("base-model", "basemodel"), "base_model"),
    **dict.fromkeys(("library", "library-name", "framework"), "library_name"),
    **dict.fromkeys(("pipeline", "pipeline-tag", "task"), "pipeline_tag"),
    **dict.fromkeys(("card-type", "cardtype", "type_of_card"), "card_type"),
    **dict.fromkeys(("model-name", "modelname"), "model_name"),
    **dict.fromkeys(("dataset-name", "datasetname"), "dataset_name"),
}  # fmt: skip


class ModelCardsCollector:
    """Reads model and dataset cards; judges none of it."""

    def collect(self, request: CollectRequest) -> Iterator[Evidence]:
        wanted = request.kinds or frozenset({MODEL_CARD, DATASET_CARD})  # empty: every kind
        if not wanted & {MODEL_CARD, DATASET_CARD}:
            return
        names = {name.lower() for name in request.config.get("file_names", DEFAULT_FILE_NAMES)}
        # Resolve every source before yielding anything, so a bad path fails the run cleanly.
        sources = [
            resolve_folder_source(entry, request.base_path, "model card")
            for entry in request.config["sources"]
        ]
        seen: dict[tuple[str, str], str] = {}
        for source in sources:
            for item in _collect_source(source, names, wanted, request):
                if item.kind not in wanted:
                    continue
                key = (item.kind, str(item.data["model_name" if item.kind == MODEL_CARD else "dataset_name"]))
                if key in seen:
                    request.report_problem(
                        item.source, f"second {item.kind} for {key[1]!r} (the first is {seen[key]})"
                    )
                seen.setdefault(key, item.source)
                yield item


def _collect_source(
    source: FolderSource, names: frozenset[str] | set[str], wanted: frozenset[str], request: CollectRequest
) -> Iterator[Evidence]:
    is_git, history = source.is_git, source.history(request)
    for folder, dirs, files in os.walk(source.root):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(files):
            if name.lower() in names:
                rel = (Path(folder) / name).relative_to(source.root).as_posix()
                item = _card(source, rel, history.get(rel), is_git, wanted, request)
                if item is not None:
                    yield item


def _card(
    source: FolderSource,
    rel: str,
    found: FileHistory | None,
    is_git: bool,
    wanted: frozenset[str],
    request: CollectRequest,
) -> Evidence | None:
    source_id = f"file:{source.label}/{rel}"
    path = source.root / rel
    try:
        payload = path.read_bytes()
        card = read_card(payload, rel)
    except UnreadableCard as exc:
        _defective(request, wanted, path.name, source_id, exc.message)
        return None
    except OSError as exc:
        _defective(request, wanted, path.name, source_id, f"{rel}: cannot be read ({exc.strerror or exc})")
        return None

    def report(message: str) -> None:
        request.report_problem(source_id, f"{rel}: {message}")

    meta = card.metadata
    restated = _scalars(meta.get(key) for key in _COPIED_KEYS)
    folder_name = path.parent.name if path.parent != source.root else source.root.resolve().name
    kind = _card_kind(meta, path.name, report)
    last_reviewed = _date(meta.get("last_reviewed"))
    if meta.get("last_reviewed") is not None and last_reviewed is None:
        report(f"last_reviewed {_json(meta['last_reviewed'])!r} is not a date (expected YYYY-MM-DD)")
    data: dict[str, JSONValue] = {
        "path": rel,
        "title": card.title,
        "license": _text(meta.get("license")),
        "language": _strings(meta.get("language")),
        "tags": _strings(meta.get("tags")),
        "owner": _text(meta.get("owner")),
        "last_reviewed": last_reviewed,
        "headings": list(card.headings),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size_bytes": len(payload),
        "store": "git" if is_git else "folder",
        "git": None
        if found is None
        else {"last_commit_at": found.last_commit_at, "last_commit_author": found.last_commit_author,
              "commits": found.commits},
    }  # fmt: skip
    if kind == MODEL_CARD:
        results = _evaluation_results(meta.get("model-index"), report)
        index = meta.get("model-index")
        index_name = (
            _text(index[0].get("name"))
            if isinstance(index, list) and index and isinstance(index[0], dict)
            else None
        )
        data.update(
            model_name=_text(meta.get("model_name")) or index_name or folder_name,
            datasets=_strings(meta.get("datasets")),
            base_model=_strings(meta.get("base_model")),
            library_name=_text(meta.get("library_name")),
            pipeline_tag=_text(meta.get("pipeline_tag")),
            metrics=_metric_names(meta.get("metrics"), results),
            evaluation_results=list(results),
            **assess(card.blocks, MODEL_SECTIONS, restated=restated),
        )
        known = _COMMON_KEYS | _MODEL_FIELDS
    else:
        data.update(
            dataset_name=_text(meta.get("dataset_name")) or folder_name,
            pretty_name=_text(meta.get("pretty_name")),
            task_categories=_strings(meta.get("task_categories")),
            size_categories=_strings(meta.get("size_categories")),
            source_datasets=_strings(meta.get("source_datasets")),
            **assess(card.blocks, DATASET_SECTIONS, restated=restated),
        )
        known = _COMMON_KEYS | _DATASET_FIELDS
    data["extra"] = {key: _json(value) for key, value in sorted(meta.items()) if key not in known}
    for key in sorted((name for name in meta if name not in known), key=lambda name: card.lines.get(name, 0)):
        meant = _near_miss(key, known)
        if meant is not None:
            where = f"line {card.lines[key]}: " if key in card.lines else ""
            report(
                f"{where}key {key!r} is not a card field: did you mean {meant!r}? It is kept in extra, which "
                "no rule reads"
            )
    return Evidence(
        kind=kind,
        source=source_id,
        scope={"store": source.given},
        collector=f"{NAME} {VERSION}",
        collected_at=request.now,
        data=data,
    )


def _near_miss(key: str, known: frozenset[str]) -> str | None:
    """The field an unknown metadata key was probably meant to be (a misspelling), or None."""
    if key in _HUB_KEYS or key.startswith("extra_gated"):
        return None
    meant = _NEAR_MISSES.get(key) or _NEAR_MISSES.get(key.lower())
    if meant is None and key.lower() in known:
        meant = key.lower()  # "Owner", "License": the field, in other case
    if meant is None:
        close = difflib.get_close_matches(key.lower(), sorted(known), n=1, cutoff=0.85)
        meant = close[0] if close and f"_{close[0]}_" not in f"_{key.lower()}_" else None
    return meant if meant in known else None


def _defective(
    request: CollectRequest, wanted: frozenset[str], file_name: str, source_id: str, message: str
) -> None:
    """A card that is there but cannot be read is a defective item, never an absence. Its kind comes from
    its file name; a README.md whose metadata cannot be read may be either card, so it is a defective
    item of both kinds: rules over model cards and over dataset cards all fail on it."""
    upper = file_name.upper()
    kinds = (
        {MODEL_CARD}
        if upper == "MODEL_CARD.MD"
        else {DATASET_CARD}
        if upper == "DATASET_CARD.MD"
        else {MODEL_CARD, DATASET_CARD}
    )
    for kind in sorted(kinds & wanted):
        request.report_defect(kind, source_id, message)
    request.report_problem(source_id, message)


def _scalars(values: Iterable[Any]) -> list[str]:
    """Every scalar in ``values`` (inside lists and mappings too), as text."""
    found: list[str] = []
    for value in values:
        if isinstance(value, Mapping):
            found += _scalars(value.values())
        elif isinstance(value, list | tuple):
            found += _scalars(value)
        elif value is not None and not isinstance(value, bool):
            found.append(str(value))
    return found


def _card_kind(meta: Mapping[str, Any], file_name: str, report: Any) -> str:
    declared = meta.get("card_type")
    if declared in ("model", "dataset"):
        return MODEL_CARD if declared == "model" else DATASET_CARD
    if declared is not None:
        report(f"card_type {declared!r} is neither 'model' nor 'dataset'; guessed from the metadata")
    upper = file_name.upper()
    if upper in ("MODEL_CARD.MD", "DATASET_CARD.MD"):
        return MODEL_CARD if upper == "MODEL_CARD.MD" else DATASET_CARD
    keys = set(meta)
    return DATASET_CARD if keys & _DATASET_KEYS and not keys & _MODEL_KEYS else MODEL_CARD


def _evaluation_results(index: Any, report: Any) -> list[dict[str, JSONValue]]:
    """Flatten model-index (``[{name, results: [{task, dataset, metrics: [{type, value}]}]}]``)."""
    if index is None:
        return []
    if not isinstance(index, list):
        report("model-index must be a list of models; ignored")
        return []
    results: list[dict[str, JSONValue]] = []
    for model in index:
        if not isinstance(model, dict):
            report("model-index entry is not a mapping; skipped")
            continue
        for result in model.get("results") or ():
            if not isinstance(result, dict):
                continue
            task = _mapping(result.get("task"))
            dataset = _mapping(result.get("dataset"))
            for metric in result.get("metrics") or ():
                if not isinstance(metric, dict) or not (metric.get("type") or metric.get("name")):
                    report("model-index metric without a type; skipped")
                    continue
                value = metric.get("value")
                results.append({
                    "model": _text(model.get("name")),
                    "task": _text(task.get("type") or task.get("name")),
                    "dataset": _text(dataset.get("name") or dataset.get("type")),
                    "metric": str(metric.get("type") or metric.get("name")),
                    "value": value if isinstance(value, int | float) and not isinstance(value, bool)
                    and math.isfinite(value) else _text(value),
                })  # fmt: skip
    return results


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _metric_names(metrics: Any, results: list[dict[str, JSONValue]]) -> list[JSONValue]:
    names: list[JSONValue] = []
    for entry in [*_strings_or_dicts(metrics), *(r["metric"] for r in results)]:
        if entry not in names:
            names.append(entry)
    return names


def _strings_or_dicts(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    names = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("type") or item.get("name")
        if isinstance(item, str | int | float) and not isinstance(item, bool) and str(item).strip():
            names.append(str(item).strip())
    return names


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, list):
        return ", ".join(str(item) for item in value if item is not None) or None
    return str(value).strip() or None


def _strings(value: Any) -> list[JSONValue]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    return [str(item).strip() for item in items if not isinstance(item, dict | list) and str(item).strip()]


def _date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return None
    return None


def _json(value: Any) -> JSONValue:
    """A JSON-safe copy of a YAML value: dates become ISO strings, other objects text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _json(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json(item) for item in value]
    return str(value)
