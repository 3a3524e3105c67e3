"""Nonconformity notifications end to end: `annexa scan` over a real folder of documents, the register
rebuilt from the store, the webhook, and the built-in GitHub Issues plugin against a fake GitHub REST API
on 127.0.0.1 (githubfake.py replays GitHub's documented shapes)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from githubfake import FakeGitHub, serve_github

from annexa.cli.main import main
from annexa.integrations.github_issues import MARKER_RE, GitHubError, GitHubIssues
from annexa.plugins import NonconformityChange, NonconformityChanges, hookimpl
from annexa.plugins.manager import PluginWarning

TOKEN = "ghp_s3cr3tT0kenThatMustNeverBeShown0001"
TOKEN_ENV = "ANNEXA_TEST_GITHUB_TOKEN"
RULE = "A.2.2/policy_approved"
RULES = """\
control A.2.2 "AI policy" {
  rule policy_approved "AI policies are approved" {
    severity high
    for each d in document where d.type == "ai-policy"
    require d.status == "approved"
    message "policy {d.path} is {d.status}"
    remediation "Have the policy approved."
  }
}
"""
# Scan clocks, a day apart: scan ids and episodes follow them.
DAYS = [f"2026-11-{day:02d}T09:00:00Z" for day in range(20, 28)]


def write_policy(root: Path, status: str) -> None:
    front = {
        "id": "POL-AI-001",
        "type": "ai-policy",
        "title": "AI policy",
        "version": "2.0",
        "status": status,
        "owner": "Head of AI Governance",
        "approver": "CEO",
        "approved_on": "2026-03-01",
        "last_reviewed": "2026-03-01",
    }
    path = root / "governance" / "ai-policy.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n# AI policy\n\n## Scope\n\nAll systems.\n"
    path.write_text(text, encoding="utf-8")


class Estate:
    """A folder with one AI policy, one rule, annexa.yaml (with the GitHub integration) and a store."""

    def __init__(
        self, root: Path, github: FakeGitHub, *, integration: Mapping[str, Any] | None = None
    ) -> None:
        self.root = root
        (root / "rules").mkdir(parents=True)
        (root / "rules" / "policy.rule").write_text(RULES, encoding="utf-8")
        write_policy(root, "draft")
        block = {
            "repository": f"{github.owner}/{github.repo}",
            "token_env": TOKEN_ENV,
            "api_url": github.url,
            "labels": ["compliance"],
            "backoff_seconds": 0,
            "max_wait_seconds": 5,
        }
        config = {
            "version": 1,
            "organization": "Demo Ltd",
            "collectors": {"documents": {"sources": [{"path": "governance"}]}},
            "rules": {"paths": ["rules"]},
            "store": {"path": "store"},
            "integrations": {"github_issues": dict(integration or block)},
        }
        self.config = root / "annexa.yaml"
        self.config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        self.scans = 0

    def scan(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
        now = DAYS[self.scans]
        self.scans += 1
        capsys.readouterr()
        code = main(["scan", "-c", str(self.config), "--now", now, "--quiet", *extra])
        out, err = capsys.readouterr()
        return code, out, err


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with serve_github(FakeGitHub(token=TOKEN)) as fake:
        yield fake


def bodies_of(fake: FakeGitHub, number: int) -> list[str]:
    return [comment["body"] for comment in fake.comments[number]]


def test_scans_open_close_and_reopen_one_issue_and_the_webhook_says_so(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    estate = Estate(tmp_path / "estate", github)
    hook = f"{github.url}/hook"

    # 1. The draft policy fails: a nonconformity opens, and with it one issue.
    code, _out, err = estate.scan(capsys, "--notify", hook)
    assert code == 1, err
    [issue] = github.annexa_issues()
    assert issue["state"] == "open"
    assert {label["name"] for label in issue["labels"]} == {"annexa", "compliance"}
    assert issue["title"].startswith(f"A.2.2 {RULE} [")
    nc_id = MARKER_RE.search(issue["body"]).group(1)  # type: ignore[union-attr]  # asserted by the next line
    assert nc_id.startswith("NC-")
    assert "> policy ai-policy.md is draft" in issue["body"]
    opened = github.hooks[-1]["nonconformities"]
    assert [nc["id"] for nc in opened["opened"]] == [nc_id]
    assert (opened["reopened"], opened["closed"], opened["open"]) == ([], [], 1)
    assert opened["opened"][0]["rule"] == RULE
    created = len(github.created())

    # 2. A rerun finds the same nonconformity open: no second issue, no comment.
    code, _, err = estate.scan(capsys, "--notify", hook)
    assert code == 1, err
    assert len(github.created()) == created
    assert len(github.annexa_issues()) == 1
    assert bodies_of(github, issue["number"]) == []
    assert github.hooks[-1]["nonconformities"] == {"opened": [], "reopened": [], "closed": [], "open": 1}

    # 3. The policy is approved: the nonconformity closes, the issue is closed with a comment.
    write_policy(estate.root, "approved")
    code, _, err = estate.scan(capsys, "--notify", hook)
    assert code == 0, err
    assert issue["state"] == "closed"
    assert issue["state_reason"] == "completed"
    [closing] = bodies_of(github, issue["number"])
    assert closing.startswith("Closed by scan ")
    assert "passed in scan" in closing
    closed = github.hooks[-1]["nonconformities"]
    assert [nc["id"] for nc in closed["closed"]] == [nc_id]
    assert closed["closed"][0]["closed_by"] == "passed"

    # 4. It regresses: the same issue is reopened, with a comment; still one issue.
    write_policy(estate.root, "draft")
    code, _, err = estate.scan(capsys, "--notify", hook)
    assert code == 1, err
    assert len(github.annexa_issues()) == 1
    assert issue["state"] == "open"
    assert issue["state_reason"] == "reopened"
    reopening = bodies_of(github, issue["number"])[-1]
    assert reopening.startswith("Reopened: scan ")
    assert f"{nc_id} failing again (episode 2)" in reopening
    reopened = github.hooks[-1]["nonconformities"]
    assert [nc["id"] for nc in reopened["reopened"]] == [nc_id]
    assert reopened["reopened"][0]["state"] == "reopened"

    # Every GitHub call carried the token in its header, and the token appeared nowhere else.
    api_calls = [r for r in github.requests if r.path != "/hook"]
    assert {r.headers["authorization"] for r in api_calls} == {f"Bearer {TOKEN}"}
    assert {r.headers["x-github-api-version"] for r in api_calls} == {"2022-11-28"}
    assert all(TOKEN not in json.dumps(body) for body in github.hooks)
    assert all(TOKEN not in json.dumps(r.body) + json.dumps(r.query) for r in api_calls)


def test_a_failing_github_never_changes_the_scan_and_the_token_is_never_shown(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    estate = Estate(tmp_path / "estate", github)
    monkeypatch.setenv(TOKEN_ENV, TOKEN + "-revoked")  # GitHub answers 401 Bad credentials
    with pytest.warns(PluginWarning, match="Bad credentials"):
        code, out, err = estate.scan(capsys, "--format", "json")
    assert code == 1  # the failing policy's exit code, as without the integration
    assert json.loads(out)["summary"]["exit_code"] == 1
    assert (
        "annexa: warning: built-in plugin 'github_issues' failed to handle the nonconformity changes: "
        "GitHubError: GitHub refused to list the issues in acme/ai-governance: HTTP 401 Bad credentials; "
        "the token is wrong or expired"
    ) in err
    assert TOKEN not in out + err
    assert github.annexa_issues() == []

    # The next scan, with GitHub back, catches up: the open nonconformity gets its issue.
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    code, out, err = estate.scan(capsys)
    assert code == 1
    assert "github_issues" not in err
    assert len(github.annexa_issues()) == 1
    assert TOKEN not in out + err


def test_an_unset_token_variable_and_an_unreachable_github_are_warnings(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    estate = Estate(tmp_path / "estate", github)
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.warns(PluginWarning, match="holds no GitHub token"):
        code, _, err = estate.scan(capsys)
    assert code == 1
    assert f"the environment variable {TOKEN_ENV} (token_env) holds no GitHub token" in err

    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    down = {
        "repository": "acme/ai-governance",
        "token_env": TOKEN_ENV,
        "api_url": "http://127.0.0.1:9",
        "retries": 1,
        "backoff_seconds": 0,
    }
    estate = Estate(tmp_path / "down", github, integration=down)
    with pytest.warns(PluginWarning, match="could not list the issues"):
        code, _, err = estate.scan(capsys)
    assert code == 1
    assert "could not list the issues in acme/ai-governance: NewConnectionError" in err
    assert TOKEN not in err


def test_the_configuration_block_is_checked_with_the_file(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    estate = Estate(tmp_path / "estate", github, integration={"repository": "not a repository"})
    code, _, err = estate.scan(capsys)
    assert code == 4
    assert "integrations.github_issues.repository" in err
    assert "owner/name" in err
    text = estate.config.read_text(encoding="utf-8").replace("github_issues:", "github_isues:")
    estate.config.write_text(text, encoding="utf-8")
    code, _, err = estate.scan(capsys)
    assert code == 4
    assert "E603" in err
    assert "unknown integration `github_isues`" in err
    assert "github_issues" in err
    assert github.requests == []


# -- the plugin's REST client on its own ----------------------------------------------------------------


def nonconformity(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": key,
        "state": "open",
        "rule": RULE,
        "control": "A.2.2",
        "subject": "file:x.md",
        "severity": "high",
        "message": "policy x.md is draft",
        "first_seen": DAYS[0],
        "owner": None,
        "due": None,
        "closed_by": None,
        "closure": None,
        "episodes": [{}],
        **extra,
    }


def changes(
    *items: NonconformityChange,
    still_open: tuple[dict[str, Any], ...] = (),
    closed: tuple[dict[str, Any], ...] = (),
) -> NonconformityChanges:
    return NonconformityChanges(
        organization="Demo Ltd",
        scan_id="20261120T090000Z-00000001",
        scanned_at=DAYS[0],
        store="store",
        changes=items,
        open=still_open,
        closed=closed,
    )


def tracker(fake: FakeGitHub, **options: Any) -> GitHubIssues:
    settings = {
        "repository": f"{fake.owner}/{fake.repo}",
        "token_env": TOKEN_ENV,
        "api_url": fake.url,
        "backoff_seconds": 0,
        "max_wait_seconds": 5,
        **options,
    }
    return GitHubIssues.from_settings(settings, {TOKEN_ENV: TOKEN})


def test_its_issue_is_found_on_a_later_page_and_never_filed_twice(github: FakeGitHub) -> None:
    github.max_per_page = 2
    mine = github.add_issue("A.2.2 old", "text\n\n<!-- annexa:nonconformity NC-aaaa -->", ["annexa"])
    for index in range(5):  # newer issues push it to the last page, a pull request among them
        github.add_issue(
            f"other {index}",
            f"<!-- annexa:nonconformity NC-other{index} -->",
            ["annexa"],
            pull_request=index == 2,
        )
    github.add_issue("not ours", "<!-- annexa:nonconformity NC-bbbb -->", ["bug"])  # wrong label: not read
    with tracker(github) as issues:
        found = issues.find_issues()
        assert found["NC-aaaa"].number == mine["number"]
        assert "NC-other2" not in found  # a pull request is not an issue
        assert "NC-bbbb" not in found
        done = issues.apply(
            changes(NonconformityChange(change="opened", nonconformity=nonconformity("NC-aaaa")))
        )
    assert done["opened"] == 0
    assert github.created() == []
    pages = [r.query.get("page", ["1"])[0] for r in github.requests if r.method == "GET"]
    assert pages[:3] == ["1", "2", "3"]  # followed the Link header to the last page
    assert github.requests[0].query["labels"] == ["annexa"]
    assert github.requests[0].query["state"] == ["all"]


def test_a_nonconformity_opened_on_a_fresh_store_reopens_its_closed_issue(github: FakeGitHub) -> None:
    old = github.add_issue("A.2.2 old", "<!-- annexa:nonconformity NC-hhhh -->", ["annexa"], state="closed")
    with tracker(github) as issues:
        done = issues.apply(
            changes(NonconformityChange(change="opened", nonconformity=nonconformity("NC-hhhh")))
        )
    assert (done["opened"], done["reopened"]) == (0, 1)
    assert old["state"] == "open"
    assert github.comments[old["number"]][0]["body"].startswith("Reopened: scan ")
    assert github.created() == []


def test_open_nonconformities_without_an_issue_are_caught_up(github: FakeGitHub) -> None:
    with tracker(github) as issues:
        done = issues.apply(changes(still_open=(nonconformity("NC-cccc"),)))
        again = issues.apply(changes(still_open=(nonconformity("NC-cccc"),)))
    assert (done["opened"], again["opened"]) == (1, 0)
    assert len(github.annexa_issues()) == 1


def test_an_issue_filed_without_its_label_is_an_error_not_a_silent_duplicate(github: FakeGitHub) -> None:
    github.drop_labels = True
    opened = NonconformityChange(change="opened", nonconformity=nonconformity("NC-gggg"))
    with tracker(github) as issues, pytest.raises(GitHubError) as raised:
        issues.apply(changes(opened))
    assert "filed issue #1 in acme/ai-governance without the label 'annexa'" in str(raised.value)


def test_a_closure_missed_while_github_was_down_is_caught_up_unless_a_person_touched_the_issue(
    github: FakeGitHub,
) -> None:
    missed = github.add_issue("A.2.2 x", "<!-- annexa:nonconformity NC-iiii -->", ["annexa"])
    touched = github.add_issue("A.2.2 y", "<!-- annexa:nonconformity NC-jjjj -->", ["annexa"])
    missed["updated_at"] = "2026-11-19T09:00:00Z"  # before the closing scan: its notification was lost
    touched["updated_at"] = "2026-11-22T09:00:00Z"  # a person reopened it after the closure
    closed = tuple(
        nonconformity(key, state="closed", closed_at=DAYS[1], closed_in="s2", closure="passed in scan s2")
        for key in ("NC-iiii", "NC-jjjj")
    )
    with tracker(github) as issues:
        done = issues.apply(changes(closed=closed))
    assert done["closed"] == 1
    assert (missed["state"], touched["state"]) == ("closed", "open")
    assert github.comments[missed["number"]][0]["body"] == "Closed by scan `s2`: passed in scan s2."


def test_a_validation_error_is_worded_from_githubs_errors(github: FakeGitHub) -> None:
    github.fail_next(
        "POST",
        422,
        {
            "message": "Validation Failed",
            "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}],
            "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
            "status": "422",
        },
    )
    opened = NonconformityChange(change="opened", nonconformity=nonconformity("NC-dddd"))
    with tracker(github) as issues, pytest.raises(GitHubError) as raised:
        issues.apply(changes(opened))
    assert str(raised.value) == (
        "GitHub refused to create an issue in acme/ai-governance: "
        "HTTP 422 Validation Failed (title: missing_field)"
    )


def test_a_rate_limit_that_resets_soon_is_waited_out(github: FakeGitHub) -> None:
    github.rate_limit_next("GET", reset_in=1)
    started = time.monotonic()
    with tracker(github) as issues:
        assert issues.find_issues() == {}
    assert time.monotonic() - started >= 1.0
    assert [r.method for r in github.requests] == ["GET", "GET"]


def test_a_secondary_rate_limit_is_waited_out_by_its_retry_after(github: FakeGitHub) -> None:
    github.fail_next(
        "POST",
        403,
        {
            "message": "You have exceeded a secondary rate limit. Please wait a few "
            "minutes before you try again.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            "status": "403",
        },
        {"retry-after": "1"},
    )
    started = time.monotonic()
    with tracker(github) as issues:
        issues.apply(changes(NonconformityChange(change="opened", nonconformity=nonconformity("NC-eeee"))))
    assert time.monotonic() - started >= 1.0
    assert len(github.annexa_issues()) == 1  # the refused POST filed nothing, the second one did


def test_a_rate_limit_that_resets_late_is_an_error_naming_the_reset(github: FakeGitHub) -> None:
    github.rate_limit_next("GET", reset_in=3600, status=429)
    started = time.monotonic()
    with tracker(github) as issues, pytest.raises(GitHubError) as raised:
        issues.find_issues()
    assert time.monotonic() - started < 1.0  # no hour-long sleep
    message = str(raised.value)
    assert message.startswith(
        "could not list the issues in acme/ai-governance: GitHub's rate limit "
        "(HTTP 429: API rate limit exceeded for user ID 1.); it resets at 20"
    )
    assert "exceed max_wait_seconds (5)" in message


def test_a_server_error_on_a_read_is_retried(github: FakeGitHub) -> None:
    github.fail_next("GET", 502, {"message": "Server Error"})
    with tracker(github, retries=2) as issues:
        assert issues.find_issues() == {}
    assert [r.method for r in github.requests] == ["GET", "GET"]


# -- the hook: every plugin called, one failing never stops the others ------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[NonconformityChanges, Mapping[str, Any]]] = []

    @hookimpl
    def annexa_nonconformities_changed(
        self, changes: NonconformityChanges, settings: Mapping[str, Any]
    ) -> None:
        self.seen.append((changes, settings))


class Broken:
    @hookimpl(tryfirst=True)
    def annexa_nonconformities_changed(self, changes: NonconformityChanges) -> None:
        raise RuntimeError("tracker down")


def test_a_failing_plugin_is_a_warning_and_the_others_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from annexa.app import wiring

    recorder = Recorder()
    made = wiring.make_host

    def host_with_plugins(**kwargs: Any) -> Any:
        host = made(**kwargs)
        host.pm.register(Broken(), "broken")
        host.pm.register(recorder, "recorder")
        return host

    monkeypatch.setattr(wiring, "make_host", host_with_plugins)
    root = tmp_path / "estate"
    (root / "rules").mkdir(parents=True)
    (root / "rules" / "policy.rule").write_text(RULES, encoding="utf-8")
    write_policy(root, "draft")
    config = root / "annexa.yaml"
    config.write_text(
        "version: 1\ncollectors: {documents: {sources: [{path: governance}]}}\n"
        "rules: {paths: [rules]}\nstore: {path: store}\n",
        encoding="utf-8",
    )
    with pytest.warns(PluginWarning, match="tracker down"):
        code = main(["scan", "-c", str(config), "--now", DAYS[0], "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "plugin 'broken' failed to handle the nonconformity changes: RuntimeError: tracker down" in err
    [(seen, settings)] = recorder.seen  # called although no integration is configured: a third-party plugin
    assert settings == {}
    assert [(c.change, c.nonconformity["rule"]) for c in seen.changes] == [("opened", RULE)]
    assert seen.open[0]["id"] == seen.changes[0].id
    assert seen.scanned_at == DAYS[0]

    # A dry run records nothing, so the register does not change and no plugin is called.
    recorder.seen.clear()
    assert main(["scan", "-c", str(config), "--now", DAYS[1], "--quiet", "--no-record"]) == 1
    assert recorder.seen == []


def test_the_slack_text_lists_the_changed_nonconformities() -> None:
    from annexa.app.notify import json_payload, slack_text

    result = {
        "organization": "Demo <Ltd>",
        "scan": {"id": "s1"},
        "evaluated_at": DAYS[0],
        "drift": None,
        "summary": {"exit_code": 1, "controls": {"pass": 0, "fail": 1, "inconclusive": 0, "error": 0}},
    }
    closed = nonconformity("NC-ffff", state="closed", closed_by="passed", closure="passed in scan s1")
    moved = changes(
        NonconformityChange(change="reopened", nonconformity=nonconformity("NC-aaaa", subject="<b>x</b>")),
        NonconformityChange(change="closed", nonconformity=closed),
        still_open=(nonconformity("NC-aaaa"),),
    )
    text = slack_text(result, moved)
    assert "nonconformities: 0 opened, 1 reopened, 1 closed; 1 open" in text
    assert f"• reopened NC-aaaa: {RULE} [&lt;b&gt;x&lt;/b&gt;]" in text
    assert f"• closed NC-ffff: {RULE} [file:x.md]" in text
    payload = json_payload(result, moved)["nonconformities"]
    assert payload["closed"][0]["closure"] == "passed in scan s1"
    assert "episodes" not in payload["reopened"][0]
    assert json_payload(result)["nonconformities"] is None
    assert "nonconformities" not in slack_text(result)
