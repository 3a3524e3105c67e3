"""S3 prefixes as document sources, against moto's S3 server on 127.0.0.1."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import boto3
import pytest

from annexa.collectors import docstore
from annexa.plugins import CollectorSpec
from annexa.plugins.testing import CollectorRun, execute_collector

SPEC: CollectorSpec = next(iter(docstore.annexa_collectors()))

POLICY = b"""---
id: POL-AI-001
type: ai-policy
status: draft
approver: nobody yet
---
# AI Policy

## Purpose

Why we use AI.

## Scope

TBD
"""


def run(tmp_path: Path, *sources: dict[str, Any]) -> CollectorRun:
    return execute_collector(SPEC, config={"sources": list(sources)}, base_path=tmp_path)


def gaps(result: CollectorRun) -> list[str]:
    return [d.message for d in result.diagnostics if d.code == "collection_gap"]


def make_bucket(name: str, *, versioned: bool) -> Any:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return s3


def pdf_bytes(metadata: dict[str, str]) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata(metadata)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_objects_become_documents_with_metadata_tags_and_versions(aws_env: str, tmp_path: Path) -> None:
    s3 = make_bucket("acme-governance", versioned=True)
    s3.put_object(
        Bucket="acme-governance", Key="policies/ai-policy.md", Body=POLICY.replace(b"# AI", b"# Old")
    )
    s3.put_object(
        Bucket="acme-governance", Key="policies/ai-policy.md", Body=POLICY,
        Metadata={"annexa-approver": "Executive Board", "annexa-last-reviewed": "2026-02-01", "team": "risk"},
        Tagging="annexa%3Astatus=approved&annexa%3Aai-systems=fraud-scoring+support-chatbot&classification=internal",
    )  # fmt: skip
    s3.put_object(
        Bucket="acme-governance", Key="policies/raci.pdf",
        Body=pdf_bytes({"/Title": "AI RACI", "/DocType": "ai-roles-raci"}),
        Metadata={"annexa-owner": "COO", "annexa-status": "Approved"},
    )  # fmt: skip
    s3.put_object(Bucket="acme-governance", Key="policies/", Body=b"")  # a console "folder"
    s3.put_object(Bucket="acme-governance", Key="policies/.hidden.md", Body=b"# no")
    s3.put_object(Bucket="acme-governance", Key="other/elsewhere.md", Body=b"# not under the prefix")
    result = run(tmp_path, {"s3": "s3://acme-governance/policies"})
    result.assert_kinds({"document": 2})
    policy = result.by_source("s3://acme-governance/policies/ai-policy.md").data
    assert policy["id"] == "POL-AI-001"  # from the front matter
    assert policy["approver"] == "Executive Board"  # metadata beats front matter
    assert policy["status"] == "approved"  # the tag beats front matter
    assert policy["last_reviewed"] == "2026-02-01"
    assert policy["ai_systems"] == ["fraud-scoring", "support-chatbot"]
    assert policy["headings"] == ["AI Policy", "Purpose", "Scope"]
    assert policy["empty_sections"] == ["Scope"]
    assert policy["path"] == "ai-policy.md"
    assert policy["store"] == "s3"
    assert policy["format"] == "markdown"
    assert policy["uri"] == "s3://acme-governance/policies/ai-policy.md"
    assert policy["extra"] == {"s3_metadata": {"team": "risk"}, "s3_tags": {"classification": "internal"}}
    revisions = policy["revisions"]
    assert revisions["retained"] is True
    assert revisions["count"] == 2
    assert revisions["current_version"]
    assert revisions["last_changed_at"].endswith("Z")
    raci = result.by_source("s3://acme-governance/policies/raci.pdf").data
    assert (raci["type"], raci["owner"], raci["status"], raci["format"]) == (
        "ai-roles-raci",
        "COO",
        "approved",
        "pdf",
    )
    assert result.diagnostics == ()


def test_an_unversioned_bucket_retains_no_history(aws_env: str, tmp_path: Path) -> None:
    s3 = make_bucket("plain-docs", versioned=False)
    s3.put_object(Bucket="plain-docs", Key="a.md", Body=b"# A\n")
    (item,) = run(tmp_path, {"s3": "s3://plain-docs"}).evidence
    assert item.data["path"] == "a.md"
    assert item.data["title"] == "A"
    assert item.data["revisions"]["retained"] is False
    assert item.data["revisions"]["count"] == 1
    assert item.data["revisions"]["current_version"] is None


def test_suspended_versioning_keeps_counting_but_retains_nothing_new(aws_env: str, tmp_path: Path) -> None:
    s3 = make_bucket("paused", versioned=True)
    s3.put_object(Bucket="paused", Key="a.md", Body=b"# A1\n")
    s3.put_object(Bucket="paused", Key="a.md", Body=b"# A2\n")
    s3.put_bucket_versioning(Bucket="paused", VersioningConfiguration={"Status": "Suspended"})
    (item,) = run(tmp_path, {"s3": "s3://paused/"}).evidence
    assert item.data["revisions"]["retained"] is False
    assert item.data["revisions"]["count"] == 2


def test_prefixes_name_folders(aws_env: str, tmp_path: Path) -> None:
    s3 = make_bucket("prefixes", versioned=False)
    s3.put_object(Bucket="prefixes", Key="gov/a.md", Body=b"# A\n")
    s3.put_object(Bucket="prefixes", Key="governance/b.md", Body=b"# B\n")
    result = run(tmp_path, {"s3": "s3://prefixes/gov"})
    assert [item.source for item in result.evidence] == ["s3://prefixes/gov/a.md"]


def test_a_missing_bucket_is_a_gap_and_other_sources_still_count(aws_env: str, tmp_path: Path) -> None:
    s3 = make_bucket("present", versioned=False)
    s3.put_object(Bucket="present", Key="a.md", Body=b"# A\n")
    result = run(tmp_path, {"s3": "s3://absent-bucket/docs"}, {"s3": "s3://present"})
    assert [item.source for item in result.evidence] == ["s3://present/a.md"]
    (gap,) = [d for d in result.diagnostics if d.code == "collection_gap"]
    assert gap.source == "s3://absent-bucket/docs"
    assert gap.kinds == ("document",)
    assert gap.message.startswith("s3://absent-bucket/docs: cannot read the versioning of it: NoSuchBucket")
    assert gap.message.endswith("(check the bucket name in documents.sources)")


def test_broken_and_oversized_objects(aws_env: str, tmp_path: Path) -> None:
    s3 = make_bucket("mixed", versioned=False)
    s3.put_object(Bucket="mixed", Key="broken.pdf", Body=b"%PDF-1.7 not really")
    s3.put_object(Bucket="mixed", Key="big.md", Body=b"# Big\n" + b"x" * 2000)
    s3.put_object(Bucket="mixed", Key="ok.md", Body=b"# OK\n")
    s3.put_object(Bucket="mixed", Key="ok.meta.yaml", Body=b"owner: x\n")
    result = run(tmp_path, {"s3": "s3://mixed", "max_object_bytes": 1000})
    sound = [item for item in result.evidence if item.defect is None]
    assert [item.data["path"] for item in sound] == ["ok.md"]
    problems = {d.source: d.message for d in result.diagnostics if d.code == "source_problem"}
    assert problems["s3://mixed/broken.pdf"].startswith("broken.pdf: not a readable PDF")
    # The garbled object is there: a defective document that rules over documents fail on, not an absence.
    [broken] = [item for item in result.evidence if item.defect is not None]
    assert (broken.kind, broken.source, broken.data) == ("document", "s3://mixed/broken.pdf", {})
    assert broken.defect == problems["s3://mixed/broken.pdf"]
    assert (
        problems["s3://mixed/ok.meta.yaml"]
        == "ok.meta.yaml: sidecars are not read from S3; use object metadata or tags"
    )
    # A document left unread is a gap: rules over documents must not pass without it.
    assert gaps(result) == ["s3://mixed/big.md: 2006 bytes, over max_object_bytes (1000)"]


def test_config_rejects_what_is_not_an_s3_uri(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="s3"):
        execute_collector(SPEC, config={"sources": [{"s3": "https://bucket.s3.amazonaws.com/x"}]})
