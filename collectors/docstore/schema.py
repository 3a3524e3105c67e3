"""JSON Schemas of the documents collector: its configuration block and the ``document`` kind."""

from __future__ import annotations

from typing import Any

KIND = "document"

STATUSES = ("draft", "in-review", "approved", "retired")
FORMATS = ("markdown", "pdf", "docx", "other")

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "collectors.documents",
    "type": "object",
    "properties": {
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
                ]
            },
        }
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
    "description": "One governance document in a folder or git repository: metadata, structure, history.",
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
        "related_policies": _STRINGS,
        "path": {"type": "string", "description": "POSIX path relative to the source root."},
        "format": {"enum": list(FORMATS)},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "size_bytes": {"type": "integer", "minimum": 0},
        "headings": {**_STRINGS, "description": "Heading texts in document order."},
        "empty_sections": {
            **_STRINGS,
            "description": "Headings whose section holds no text or only placeholder text (TBD, TODO, ...).",
        },
        "store": {"enum": ["folder", "git"]},
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
        "extra": {"type": "object", "description": "Other metadata keys, JSON-safe (dates as ISO strings)."},
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
        "extra",
    ],
    "additionalProperties": False,
}
