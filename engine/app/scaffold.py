"""``annexa init``: a governance folder with a draft for every document type the pack expects.

The list of document types is the catalog's (``expected_documents`` of every Annex A control and
main-body clause; a test keeps it in step with the types the rules select), so it is never kept twice.
Every template is a draft with TODO sections, so the first scan of a fresh scaffold fails and lists
what is still to do instead of passing on empty paperwork.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from annexa.contract.catalog import Catalog, load_catalog
from annexa.contract.fields import Contract, load_contract
from annexa.files.atomic import atomic_write_text
from annexa.model.errors import EngineError

EXAMPLE_SYSTEM = "example-system"
_SPECIFIC_TEMPLATES = ("ai-system-record",)  # types with a template of their own (their own sections)
_ACRONYMS = {"ai": "AI", "aims": "AIMS", "raci": "RACI", "vv": "V&V"}


class ScaffoldError(EngineError):
    """The scaffold would overwrite files that already exist."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedFile:
    path: str  # relative to the target folder, with forward slashes
    text: str


def _template(name: str) -> Template:
    text = resources.files("annexa").joinpath(f"data/templates/{name}").read_text(encoding="utf-8")
    return Template(text)


def type_fields(doc_type: str, contract: Contract | None = None) -> str:
    """Front matter lines for the metadata the evidence contract declares for ``doc_type`` (beyond the
    common fields every template has), each with what it is for: the contract, never a second list."""
    found = (contract or load_contract()).document_type(doc_type)
    if found is None or not found.fields:
        return "# (no metadata specific to this document type)"
    lines = []
    for field in found.fields:
        need = "required" if field.required else "optional"
        lines.append(f"# {field.name} ({field.type}, {need}): {field.description}")
        lines.append(f"{field.name}:")  # null until filled: an empty [] or {} could pass for a value
    return "\n".join(lines)


_CONTENT = "## Content\n\nTODO: the substance (see the annexa rule messages for what the checks look for).\n"


def type_sections(doc_type: str, contract: Contract | None = None) -> str:
    """The sections the evidence contract says a document of ``doc_type`` must have filled, each a heading
    with a TODO; a single Content section for a type the contract names none for."""
    found = (contract or load_contract()).document_type(doc_type)
    if found is None or not found.sections:
        return _CONTENT
    return "\n".join(
        f"## {section.topic[0].upper()}{section.topic[1:]}\n\nTODO: the {section.topic} section "
        f"({', '.join(section.catalog)}): real text, not a placeholder.\n"
        for section in found.sections
    )


def document_title(doc_type: str) -> str:
    """``ai-risk-register`` -> ``AI risk register``."""
    words = [_ACRONYMS.get(word, word) for word in doc_type.split("-")]
    first = words[0] if words[0] in _ACRONYMS.values() else words[0].capitalize()
    return " ".join([first, *words[1:]])


def plan_scaffold(organization: str, catalog: Catalog | None = None) -> tuple[PlannedFile, ...]:
    """Every file ``annexa init`` writes, sorted by path."""
    catalog = catalog or load_catalog()
    files = [
        PlannedFile(
            path="annexa.yaml",
            text=_template("annexa.yaml").substitute(organization=json.dumps(organization)),
        ),
        PlannedFile(path="attestations/README.md", text=_template("attestations-README.md").template),
    ]
    for doc_type in catalog.expected_document_types():
        expected_by = [c.id for c in catalog.controls if doc_type in c.expected_documents]
        expected_by += [c.id for c in catalog.clauses if doc_type in c.expected_documents]
        name = f"{doc_type}.md" if doc_type in _SPECIFIC_TEMPLATES else "document.md"
        text = _template(name).substitute(
            doc_id=f"{doc_type.upper()}-001",
            doc_type=doc_type,
            title=document_title(doc_type),
            ai_systems=EXAMPLE_SYSTEM if doc_type == "ai-system-record" else "",
            controls=", ".join(c for c in expected_by if c.startswith("A.")),
            expected_by=", ".join(expected_by),
            type_fields=type_fields(doc_type),
            sections=type_sections(doc_type),
        )
        files.append(PlannedFile(path=f"governance/{doc_type}.md", text=text))
    return tuple(sorted(files, key=lambda f: f.path))


def write_scaffold(target: Path, files: Iterable[PlannedFile]) -> tuple[Path, ...]:
    """Write every planned file under ``target``, or none of them if any already exists."""
    planned = tuple(files)
    existing = sorted(f.path for f in planned if (target / f.path).exists())
    if existing:
        shown = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise ScaffoldError(f"{target}: would overwrite {shown}; nothing was written")
    written = []
    for planned_file in planned:
        path = target / planned_file.path
        atomic_write_text(path, planned_file.text)
        written.append(path)
    return tuple(written)
