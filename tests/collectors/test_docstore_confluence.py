"""Confluence Cloud spaces as document sources, against a local server speaking REST API v2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluence_fake import FakeConfluence, Page

from annexa.collectors import docstore, modelcards
from annexa.plugins import CollectorSpec
from annexa.plugins.testing import CollectorRun, execute_collector

SPEC: CollectorSpec = next(iter(docstore.annexa_collectors()))
TOKEN = "secret-token-4711"

USER_DOC = """
<ac:structured-macro ac:name="details" ac:schema-version="1" ac:macro-id="a1"><ac:rich-text-body>
<table><tbody>
<tr><th><p>Document ID</p></th><td><p>UDOC-FRAUD</p></td></tr>
<tr><th><p>Approver</p></th><td><p>Chief Risk Officer</p></td></tr>
<tr><th><p>Status</p></th><td><p>Approved</p></td></tr>
<tr><th><p>Last reviewed</p></th><td><p><time datetime="2026-06-15" /></p></td></tr>
<tr><th><p>AI systems</p></th><td><p>fraud-scoring, support-chatbot</p></td></tr>
</tbody></table></ac:rich-text-body></ac:structured-macro>
<h1>Fraud scoring: information for users</h1>
<h2>Intended use</h2><p>Analysts triage card transactions &amp; alerts with the score.</p>
<h2>Known limitations</h2><ul><li>EU transactions only.</li></ul>
<h2>Human oversight</h2><p>Every hold is reviewed by an analyst.</p>
<h2>Contact</h2><p><ac:placeholder>Who users can contact</ac:placeholder></p>
"""


@pytest.fixture
def confluence(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeConfluence]:
    monkeypatch.setenv("CONF_TOKEN", TOKEN)
    monkeypatch.setenv("CONF_EMAIL", "ada@example.com")
    with FakeConfluence(token=TOKEN) as server:
        yield server


def source(server: FakeConfluence, space: str = "GOV", **settings: Any) -> dict[str, Any]:
    return {"confluence": {"base_url": server.url, "space": space, "token_env": "CONF_TOKEN",
                           "backoff_seconds": 0, **settings}}  # fmt: skip


def run(tmp_path: Path, *sources: dict[str, Any]) -> CollectorRun:
    return execute_collector(SPEC, config={"sources": list(sources)}, base_path=tmp_path)


def gaps(result: CollectorRun) -> list[tuple[str | None, str]]:
    return [(d.source, d.message) for d in result.diagnostics if d.code == "collection_gap"]


def test_pages_become_documents_with_labels_properties_and_versions(
    confluence: FakeConfluence, tmp_path: Path
) -> None:
    confluence.add_space("GOV", [
        Page("101", "Fraud scoring user guide", USER_DOC, labels=("doctype-ai-user-documentation", "fraud"),
             properties={"owner": "Head of Fraud Analytics", "review-interval-days": 365},
             version=7, version_at="2026-06-15T10:00:00.000Z"),
        Page("102", "Old AI policy", "<p>Superseded.</p>", labels=("ai-policy",), status="archived"),
        Page("103", "Meeting notes", "<p>Nothing.</p>", labels=("notes", "misc")),
        Page("104", "Chatbot record", "<p>x</p>", labels=("doctype-ai-system-record",),
             properties={"status": "draft", "ai_systems": ["support-chatbot"]}),
    ], space_id="65537")  # fmt: skip
    result = run(tmp_path, source(confluence, page_size=2))
    result.assert_kinds({"document": 4})
    guide = result.by_source(f"{confluence.url}/wiki/spaces/GOV/pages/101").data
    assert guide["id"] == "UDOC-FRAUD"
    assert guide["type"] == "ai-user-documentation"
    assert guide["title"] == "Fraud scoring user guide"
    assert guide["status"] == "approved"
    assert guide["approver"] == "Chief Risk Officer"
    assert guide["owner"] == "Head of Fraud Analytics"
    assert guide["last_reviewed"] == "2026-06-15"
    assert guide["review_interval_days"] == 365
    assert guide["ai_systems"] == ["fraud-scoring", "support-chatbot"]
    assert guide["headings"] == [
        "Fraud scoring: information for users", "Intended use", "Known limitations", "Human oversight",
        "Contact",
    ]  # fmt: skip
    assert guide["empty_sections"] == ["Contact"]  # only template placeholder text
    assert guide["store"] == "confluence"
    assert guide["format"] == "confluence"
    assert guide["path"] == "GOV/101"
    assert guide["git"] is None
    assert guide["uri"] == f"{confluence.url}/wiki/spaces/GOV/pages/101/Fraud+scoring+user+guide"
    assert guide["revisions"] == {
        "retained": True, "count": 7, "current_version": "7",
        "last_changed_at": "2026-06-15T10:00:00Z", "last_changed_by": "557058:0f1e2d3c",
    }  # fmt: skip
    assert guide["extra"]["labels"] == ["doctype-ai-user-documentation", "fraud"]
    assert guide["extra"]["confluence_status"] == "current"
    by_path = {item.data["path"]: item.data for item in result.evidence}
    assert by_path["GOV/102"]["type"] == "ai-policy"  # the only label
    assert by_path["GOV/102"]["status"] == "retired"  # archived
    assert by_path["GOV/103"]["type"] is None  # two labels, neither with the prefix
    assert by_path["GOV/104"]["status"] == "draft"  # the property wins over the page status
    assert by_path["GOV/104"]["ai_systems"] == ["support-chatbot"]
    # Four pages two at a time: the second list request followed the cursor of _links.next.
    listed = list(confluence.pages_requested())
    assert len(listed) == 2
    assert "cursor=" in listed[1]
    # The draft record lacks the metadata the contract requires of an ai-system-record: told on its item.
    told = "metadata required by the evidence contract is not given"
    (required,) = [d for d in result.diagnostics if told in d.message]
    assert (required.source, required.message.split(": ")[0]) == (
        f"{confluence.url}/wiki/spaces/GOV/pages/104",
        "GOV/104",
    )
    # The meeting notes carry no type and no status: collected, and said how to mark them.
    assert [(d.code, d.source, d.message) for d in result.diagnostics if told not in d.message] == [(
        "source_problem",
        f"{confluence.url}/wiki/spaces/GOV/pages/103",
        "GOV/103: no document metadata (no type, no status): add a doctype- label and a Page Properties "
        "table with Status, Owner and Approver rows (see docs/collectors.md)",
    )]  # fmt: skip


def test_token_goes_as_bearer_or_basic_and_never_into_evidence(
    confluence: FakeConfluence, tmp_path: Path
) -> None:
    confluence.add_space("GOV", [Page("1", "P", "<p>x</p>", labels=("ai-policy",))])
    bearer = run(tmp_path, source(confluence))
    basic = run(tmp_path, source(confluence, email_env="CONF_EMAIL"))
    assert len(bearer.evidence) == len(basic.evidence) == 1
    assert {auth.split()[0] for _, auth in confluence.requests if auth} == {"Bearer", "Basic"}
    dumped = json.dumps([item.to_dict() for item in (*bearer.evidence, *basic.evidence)], default=str)
    assert TOKEN not in dumped


def test_a_refused_token_is_a_precise_gap_and_other_sources_still_count(
    confluence: FakeConfluence, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    confluence.add_space("GOV", [Page("1", "P", "<p>x</p>", labels=("ai-policy",))])
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "policy.md").write_text("---\ntype: ai-policy\n---\n# Policy\n", encoding="utf-8")
    monkeypatch.setenv("CONF_TOKEN", "wrong-token")
    result = run(tmp_path, source(confluence), {"path": "docs"})
    assert [item.data["path"] for item in result.evidence] == ["policy.md"]
    host = confluence.url.removeprefix("http://")
    assert gaps(result) == [
        (f"confluence:{host}/GOV", f"confluence:{host}/GOV: GET /wiki/api/v2/spaces was refused (HTTP 401) "
         "(check the token (and email) in the configured variables, and the space permission)"),
    ]  # fmt: skip
    assert all("wrong-token" not in d.message for d in result.diagnostics)
    assert result.diagnostics[0].kinds == ("document",)


def test_missing_token_variable(
    confluence: FakeConfluence, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONF_TOKEN")
    result = run(tmp_path, source(confluence))
    assert result.evidence == ()
    assert "environment variable CONF_TOKEN (token_env) is not set" in gaps(result)[0][1]
    assert confluence.requests == []


def test_throttling_is_retried_after_the_servers_delay(confluence: FakeConfluence, tmp_path: Path) -> None:
    confluence.add_space("GOV", [Page("1", "P", "<p>x</p>", labels=("ai-policy",))], space_id="5")
    confluence.fail("/wiki/api/v2/spaces/5/pages", 429, times=2, headers={"Retry-After": "0"})
    confluence.fail("/wiki/api/v2/pages/1/labels", 503, times=1)
    result = run(tmp_path, source(confluence))
    assert len(result.evidence) == 1
    assert result.evidence[0].data["type"] == "ai-policy"
    assert sum(1 for path, _ in confluence.requests if path.startswith("/wiki/api/v2/spaces/5/pages")) == 3


def test_a_server_that_keeps_failing_gives_up_after_the_retries(
    confluence: FakeConfluence, tmp_path: Path
) -> None:
    confluence.add_space("GOV", [Page("1", "P", "<p>x</p>")], space_id="5")
    confluence.add_space("OPS", [Page("2", "Runbook", "<p>x</p>", labels=("ai-operations-runbook",))])
    confluence.fail("/wiki/api/v2/spaces/5/pages", 500, times=-1)
    result = run(tmp_path, source(confluence, retries=2), source(confluence, space="OPS"))
    # The broken space is a gap; the other space still yields its page.
    assert [item.data["path"] for item in result.evidence] == ["OPS/2"]
    (gap,) = gaps(result)
    assert gap[1].endswith("GET /wiki/api/v2/spaces/5/pages failed with HTTP 500 after 3 attempts")
    assert sum(1 for path, _ in confluence.requests if path.startswith("/wiki/api/v2/spaces/5/pages")) == 3


def test_unknown_space_and_label_filter(confluence: FakeConfluence, tmp_path: Path) -> None:
    confluence.add_space("GOV", [
        Page("1", "Policy", "<p>x</p>", labels=("ai-policy", "governance")),
        Page("2", "Lunch menu", "<p>x</p>", labels=("social",)),
    ])  # fmt: skip
    result = run(tmp_path, source(confluence, labels=["governance"]), source(confluence, space="NOPE"))
    assert [item.data["title"] for item in result.evidence] == ["Policy"]
    assert gaps(result)[0][1].endswith("no space with key 'NOPE' is visible to this token")


def test_config_schema_rejects_a_token_value(tmp_path: Path) -> None:
    settings = {"base_url": "https://acme.atlassian.net", "space": "GOV", "token_env": "ATATT3xFfGF0-x"}
    with pytest.raises(pytest.fail.Exception, match="token_env"):
        execute_collector(SPEC, config={"sources": [{"confluence": settings}]})


RULES = Path(__file__).resolve().parents[2] / "rules" / "annex_a"
SECTIONS = {
    "Intended use": "Analysts triage alerts.",
    "Limitations": "EU only.",
    "Human oversight": "An analyst reviews every hold.",
    "Contact": "ai-help@acme.example",
}


SAME_VERDICT_RULE = """
control A.8.2 "System documentation and information for users" {
  rule user_documentation_sections_filled "User documentation fills its four sections" {
    for each d in document where d.type == "ai-user-documentation"
    require filled(d, "intended use") and filled(d, "limitation")
      and filled(d, "oversight") and filled(d, "contact")
    message "{d.id} lacks a filled section"
    remediation "Fill the sections."
  }
}
"""


def test_one_rule_gives_the_same_verdict_over_folder_s3_and_confluence(
    aws_env: str, confluence: FakeConfluence, tmp_path: Path
) -> None:
    """The same two user documents, one complete and one with a placeholder contact section, kept
    as Markdown files, as S3 objects described by tags, and as Confluence pages."""
    import boto3

    from annexa.plugins.testing import evaluate_rule

    def sections(contact: str) -> dict[str, str]:
        return {**SECTIONS, "Contact": contact}

    docs = {"good": sections(SECTIONS["Contact"]), "bad": sections("TBD")}
    folder = tmp_path / "docs"
    folder.mkdir()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="same-verdict")
    pages = []
    for number, (name, body) in enumerate(docs.items(), start=1):
        markdown = f"# {name}\n\n" + "".join(f"## {h}\n\n{t}\n\n" for h, t in body.items())
        front = f"---\nid: {name}\ntype: ai-user-documentation\nstatus: approved\n---\n"
        (folder / f"{name}.md").write_text(front + markdown, encoding="utf-8")
        tags = f"annexa%3Aid={name}&annexa%3Atype=ai-user-documentation&annexa%3Astatus=approved"
        s3.put_object(Bucket="same-verdict", Key=f"users/{name}.md", Body=markdown.encode(), Tagging=tags)
        storage = (
            '<ac:structured-macro ac:name="details"><ac:rich-text-body><table><tbody>'
            f"<tr><th>Document ID</th><td>{name}</td></tr><tr><th>Status</th><td>approved</td></tr>"
            "</tbody></table></ac:rich-text-body></ac:structured-macro>"
            + "".join(f"<h2>{h}</h2><p>{t}</p>" for h, t in body.items())
        )
        pages.append(Page(str(number), name, storage, labels=("doctype-ai-user-documentation",)))
    confluence.add_space("GOV", pages)

    # The pack's A.8.2 rules judge each declared AI system; what matters here is that the same document
    # reads alike from every store, so one rule judges each document with the pack's `filled` predicate.
    rule_text = (RULES / "params.rule").read_text() + SAME_VERDICT_RULE
    verdicts = {}
    for store, config in {
        "folder": {"path": "docs"},
        "s3": {"s3": "s3://same-verdict/users"},
        "confluence": source(confluence),
    }.items():
        collected = run(tmp_path, config)
        assert collected.diagnostics == (), store
        by_source = {item.source: item.data["id"] for item in collected.evidence}
        result = evaluate_rule(rule_text, collected.evidence, kinds=[SPEC, *modelcards.annexa_collectors()])
        verdicts[store] = {
            by_source[f.subject]: f.status.value
            for f in result.findings
            if f.rule_id == "A.8.2/user_documentation_sections_filled" and f.subject
        }
    assert verdicts["folder"] == {"good": "pass", "bad": "fail"}
    assert verdicts["s3"] == verdicts["folder"]
    assert verdicts["confluence"] == verdicts["folder"]


def test_each_source_is_its_own_scope_named_after_its_store() -> None:
    space = {"base_url": "https://acme.atlassian.net", "space": "GOV", "token_env": "T"}
    config = {"sources": [{"path": "governance"}, {"s3": "s3://acme/gov"}, {"confluence": space}]}
    scopes = docstore.source_scopes(config)
    assert [name for name, _ in scopes] == [
        "governance",
        "s3://acme/gov",
        "confluence:acme.atlassian.net/GOV",
    ]
    assert [part["sources"] for _, part in scopes] == [[entry] for entry in config["sources"]]


def test_page_text_that_looks_like_markdown_stays_text(confluence: FakeConfluence, tmp_path: Path) -> None:
    body = (
        "<h1>AI policy</h1><p>```</p><h2>Scope</h2><p>TBD</p><p>---</p><h2>Roles</h2>"
        "<p>The board owns this policy.</p><h2>Owner</h2><p>Owner</p>"
    )
    confluence.add_space("GOV", [Page("201", "AI policy", body, labels=("doctype-ai-policy",))])
    result = run(tmp_path, source(confluence))
    [page] = result.evidence
    # A paragraph of ``` opens no code block, and --- no front matter: every heading is still read.
    assert page.data["headings"] == ["AI policy", "Scope", "Roles", "Owner"]
    assert page.data["empty_sections"] == ["Scope", "Owner"]
