"""JSON Schemas of the documents collector: its configuration block and the ``document`` kind."""

from __future__ import annotations

from typing import Any

from annexa.plugins import load_contract, metadata_schema

NAME = "documents"  # the collector's name in annexa.yaml and in evidence
VERSION = "0.1.0"

KIND = "document"

STATUSES = ("draft", "in-review", "approved", "retired")

# The fields of ``conventions.document_metadata`` in the catalog (../shared/reference/annex_a_catalog.yaml),
# in its order, and grouped by how their values are normalised. tests/collectors/test_document_naming.py
# checks them against the catalog.
METADATA_FIELDS = (
    "type", "id", "title", "version", "status", "owner", "approver", "approved_on", "last_reviewed",
    "review_interval_days", "next_review_due", "ai_systems", "controls", "clauses", "related_policies",
)  # fmt: skip
TEXT_FIELDS = ("id", "type", "title", "version", "owner", "approver")
DATE_FIELDS = ("approved_on", "last_reviewed", "next_review_due")
LIST_FIELDS = ("ai_systems", "controls", "clauses", "related_policies")
# Fields whose values ``value_aliases`` may rename (dates and the review interval have one spelling).
ALIASED_FIELDS = (*TEXT_FIELDS, "status", *LIST_FIELDS)
# The type-specific metadata of the evidence contract (engine/data/evidence_contract.yaml), by name:
# ``field_map`` may map an organisation's names onto them, and ``value_aliases`` rename the values of
# those with allowed values.
CONTRACT = load_contract()
TYPE_FIELDS = tuple(sorted({f.name for t in CONTRACT.document_types for f in t.fields}))
ALLOWED = {f.name: f.allowed for t in CONTRACT.document_types for f in t.fields if f.allowed}
CLOSED_TYPE_FIELDS = tuple(sorted({f.name for t in CONTRACT.document_types for f in t.fields if f.allowed}))
FORMATS = ("markdown", "pdf", "docx", "confluence", "other")
STORES = ("folder", "git", "s3", "confluence")

_ENV_NAME: dict[str, Any] = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
_RETRY_SETTINGS: dict[str, Any] = {
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
}

S3_SOURCE: dict[str, Any] = {
    "type": "object",
    "description": "Objects under an S3 prefix; credentials and endpoint come from the usual AWS chain.",
    "properties": {
        "s3": {"type": "string", "pattern": "^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$"},
        "region": {"type": "string", "minLength": 1},
        "max_object_bytes": {"type": "integer", "minimum": 1, "default": 26214400},
        "max_workers": {
            "type": "integer",
            "minimum": 1,
            "maximum": 32,
            "default": 8,
            "description": "Objects read at once.",
        },
        **{key: value for key, value in _RETRY_SETTINGS.items() if key in ("timeout_seconds", "retries")},
    },
    "required": ["s3"],
    "additionalProperties": False,
}

CONFLUENCE_SOURCE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "confluence": {
            "type": "object",
            "description": "The pages of one Confluence Cloud space, over REST API v2.",
            "properties": {
                "base_url": {
                    "type": "string",
                    "pattern": "^https?://[^\\s/]+",
                    "description": "Site URL, e.g. https://acme.atlassian.net; /wiki/api/v2 is appended.",
                },
                "space": {"type": "string", "minLength": 1, "description": "Space key, e.g. GOV."},
                "token_env": {
                    **_ENV_NAME,
                    "description": "NAME of the variable holding the API token (never the token itself).",
                },
                "email_env": {
                    **_ENV_NAME,
                    "description": "NAME of the variable holding the account email: with it the token is "
                    "sent as basic auth (Atlassian API tokens), without it as a bearer token (OAuth).",
                },
                "labels": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "description": "Only pages with at least one of these labels.",
                },
                "type_label_prefix": {
                    "type": "string",
                    "default": "doctype-",
                    "description": "A label with this prefix names the document type (doctype-ai-policy).",
                },
                "page_size": {"type": "integer", "minimum": 1, "maximum": 250, "default": 250},
                "max_workers": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 32,
                    "default": 8,
                    "description": "Pages whose labels and properties are fetched at once.",
                },
                **_RETRY_SETTINGS,
            },
            "required": ["base_url", "space", "token_env"],
            "additionalProperties": False,
        }
    },
    "required": ["confluence"],
    "additionalProperties": False,
}

_ALIASES: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"minLength": 1},
    "additionalProperties": {"type": "string", "minLength": 1},
}

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "collectors.documents",
    "type": "object",
    "properties": {
        "field_map": {
            "type": "object",
            "description": "The organisation's own metadata names -> document fields, for front matter, "
            "sidecars, PDF information keys, DOCX properties and document-control table labels, e.g. "
            "{approved_by: approver, 'Document Owner': owner}. Spelling (case, spaces, -) does not matter.",
            "propertyNames": {"minLength": 1},
            "additionalProperties": {"enum": [*METADATA_FIELDS, *TYPE_FIELDS]},
        },
        "value_aliases": {
            "type": "object",
            "description": "Per field, the organisation's own values -> annexa's, e.g. "
            "{status: {final: approved, published: approved}}. Case and spacing do not matter.",
            "properties": {
                **{
                    name: {**_ALIASES, "additionalProperties": {"enum": list(STATUSES)}}
                    if name == "status"
                    else _ALIASES
                    for name in ALIASED_FIELDS
                },
                # A type-specific field with allowed values maps onto those values only.
                **{
                    name: {**_ALIASES, "additionalProperties": {"enum": list(ALLOWED[name])}}
                    for name in CLOSED_TYPE_FIELDS
                },
            },
            "additionalProperties": False,
        },
        "sources": {
            "type": "array",
            "minItems": 1,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "description": "A folder; a git work tree is detected automatically.",
                        "properties": {"path": {"type": "string", "minLength": 1}},
                        "required": ["path"],
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "description": "A folder that must be inside a git work tree.",
                        "properties": {"git": {"type": "string", "minLength": 1}},
                        "required": ["git"],
                        "additionalProperties": False,
                    },
                    S3_SOURCE,
                    CONFLUENCE_SOURCE,
                ]
            },
        },
    },
    "required": ["sources"],
    "additionalProperties": False,
}

_TEXT_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
_DATE_OR_NULL: dict[str, Any] = {"type": ["string", "null"], "format": "date"}
_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

DOCUMENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "document",
    "description": "One governance document in a folder, git repository, S3 prefix or Confluence space: "
    "metadata, structure, history.",
    "type": "object",
    "properties": {
        "id": {**_TEXT_OR_NULL, "description": "Stable document id from the metadata, e.g. POL-AI-001."},
        "type": {**_TEXT_OR_NULL, "description": "Document type, e.g. ai-policy."},
        "title": {
            "type": "string",
            "description": "Metadata title, else the first level-1 heading, else the file stem.",
        },
        "version": _TEXT_OR_NULL,
        "status": {"enum": [*STATUSES, None]},
        "owner": _TEXT_OR_NULL,
        "approver": _TEXT_OR_NULL,
        "approved_on": _DATE_OR_NULL,
        "last_reviewed": _DATE_OR_NULL,
        "review_interval_days": {"type": ["integer", "null"], "minimum": 0},
        "next_review_due": _DATE_OR_NULL,
        "ai_systems": _STRINGS,
        "controls": _STRINGS,
        "clauses": {**_STRINGS, "description": "Main-body clause ids the document declares, e.g. ['5.2']."},
        "related_policies": _STRINGS,
        "path": {
            "type": "string",
            "description": "POSIX path relative to the source root (S3: key under the prefix; Confluence: "
            "SPACE/page id).",
        },
        "format": {"enum": list(FORMATS)},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "size_bytes": {"type": "integer", "minimum": 0},
        "headings": {
            **_STRINGS,
            "description": "Heading texts in document order (PDF: its bookmarks, else the lines set larger "
            "than the body text; never a heading inside a code block or an HTML comment).",
        },
        "empty_sections": {
            **_STRINGS,
            "description": "Headings whose section, subsections included, says nothing: no text, or only "
            "placeholders (TBD, TODO, [insert ...], {{ ... }}, lorem ipsum), template boilerplate, HTML "
            "comments or its own heading repeated.",
        },
        "store": {"enum": list(STORES)},
        "uri": {
            "type": "string",
            "description": "Where the document lives outside a folder: s3://bucket/key, or the page's URL.",
        },
        "revisions": {
            "type": "object",
            "description": "How the store keeps the document's history (S3 versioning, Confluence page "
            "versions); absent for folders, whose history is in git.",
            "properties": {
                "retained": {
                    "type": "boolean",
                    "description": "The store keeps earlier versions (bucket versioning Enabled; always for "
                    "Confluence).",
                },
                "count": {"type": ["integer", "null"], "minimum": 1, "description": "Versions held."},
                "current_version": _TEXT_OR_NULL,
                "last_changed_at": {"type": ["string", "null"], "format": "date-time"},
                "last_changed_by": _TEXT_OR_NULL,
            },
            "required": ["retained", "count", "current_version", "last_changed_at", "last_changed_by"],
            "additionalProperties": False,
        },
        "git": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {
                        "last_commit_at": {"type": "string", "format": "date-time"},
                        "last_commit_author": {"type": "string"},
                        "commits": {"type": "integer", "minimum": 1},
                    },
                    "required": ["last_commit_at", "last_commit_author", "commits"],
                    "additionalProperties": False,
                },
            ]
        },
        "metadata": metadata_schema(CONTRACT),
        "extra": {
            "type": "object",
            "description": "Metadata keys the evidence contract does not declare for the document's type, "
            "and values that could not be read as declared, as written (JSON-safe, dates as ISO strings). "
            "No built-in rule reads it.",
        },
    },
    "required": [
        "id",
        "type",
        "title",
        "version",
        "status",
        "owner",
        "approver",
        "approved_on",
        "last_reviewed",
        "review_interval_days",
        "next_review_due",
        "ai_systems",
        "controls",
        "related_policies",
        "path",
        "format",
        "sha256",
        "size_bytes",
        "headings",
        "empty_sections",
        "store",
        "git",
        "metadata",
    ],
    "additionalProperties": False,
}
