"""`annexa serve` as a real uvicorn process on 127.0.0.1, over a directory store and over PostgreSQL:
every route's guard, the pages and their JSON twins, the writes and their audit log, escaping."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from servekit import (
    CHATBOT,
    ROLES,
    XSS,
    Served,
    build_demo,
    create_token,
    csrf_of,
    run_cli,
    scan_demo_into,
    serve,
)

from annexa.serve.app import SESSION_COOKIE, Settings, build_app
from annexa.serve.state import digest_secret

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_store_shared import postgres_url  # noqa: F401 - the PostgreSQL server fixture

pytestmark = pytest.mark.slow
NAMES = {"viewer": "victor", "auditor": "audrey", "owner": "olivia", "admin": "ada"}
FUTURE = "2099-01-31"


@pytest.fixture(scope="module", params=["directory", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp(f"serve-{request.param}")
    if request.param == "directory":
        project = build_demo(root / "demo")
        store = str(project.store)
    else:
        import psycopg

        base = request.getfixturevalue("postgres_url")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute("CREATE DATABASE annexa_serve")
        store = f"{base}/annexa_serve"
        project = scan_demo_into(root / "demo", {"url": store, "evidence": str(root / "locker")})
    tokens = {role: create_token(store, NAMES[role], role) for role in ROLES}
    tokens["admin2"] = create_token(store, "bob", "admin")
    with serve(store, "-c", str(project.config)) as url:
        yield Served(url=url, store=store, tokens=tokens, config=str(project.config))


@pytest.fixture(scope="module")
def sample(served: Served) -> dict[str, str]:
    """A real value for every path parameter, so a refusal is about the caller, never a 404."""
    register = served.get("/api/v1/nonconformities", "viewer").json()
    control = served.get("/api/v1/controls/A.9.4", "viewer").json()
    digest = next(ref["id"] for f in control["findings"] for ref in f["evidence"])
    made = served.post("/api/v1/exceptions", "owner", json={
        "rule": "A.9.4/intended_use_documented", "subject": f"scope:{CHATBOT}", "justification": "pilot",
        "approver": "Chief Risk Officer", "expires": FUTURE})  # fmt: skip
    assert made.status_code == 201, made.text
    return {"control_id": "A.9.4", "system_id": CHATBOT, "nc_id": register["nonconformities"][0]["id"],
            "digest": digest, "exception_id": made.json()["id"], "scan": "latest"}  # fmt: skip


def call(served: Served, method: str, path: str, headers: dict[str, str]) -> requests.Response:
    body = {"data": "owner=mallory&due=2099-01-01&decision=approve&csrf=x"} if method == "POST" else {}
    return requests.request(method, served.url + path, headers=headers, allow_redirects=False, timeout=30,
                            **body)  # fmt: skip


def test_every_route_refuses_no_token_a_wrong_token_and_a_lower_role(
    served: Served, sample: dict[str, str]
) -> None:
    app = build_app(Settings(store=served.store))
    audit_before = served.get("/api/v1/audit", "auditor").json()["entries"][0]["seq"]
    public, checked = set(), 0
    for route in app.routes:
        endpoint = getattr(route, "endpoint", None)
        assert hasattr(endpoint, "required_role"), f"route {route.path} is not behind the guard"  # type: ignore[attr-defined]
        role = endpoint.required_role  # type: ignore[union-attr]
        path = route.path.format(**sample)  # type: ignore[attr-defined]
        for method in sorted(set(route.methods) - {"HEAD"}):  # type: ignore[attr-defined]
            if role is None:
                public.add(route.path)  # type: ignore[attr-defined]
                continue
            for headers in ({}, {"Authorization": "Bearer annexa_not-a-token"},
                            {"Cookie": f"{SESSION_COOKIE}=forged"}):  # fmt: skip
                response = call(served, method, path, headers)
                assert response.status_code in (401, 303), (method, path, headers, response.status_code)
                if response.status_code == 303:
                    assert response.headers["location"].startswith("/login"), (method, path)
            rank = ROLES.index(role.value)
            if rank:
                below = {"Authorization": f"Bearer {served.tokens[ROLES[rank - 1]]}"}
                response = call(served, method, path, below)
                assert response.status_code == 403, (method, path, ROLES[rank - 1], response.status_code)
            if method == "GET":  # the same request with the role it needs goes through
                allowed = {"Authorization": f"Bearer {served.tokens[role.value]}"}
                # (an unsigned scan has no auditor bundle: 409, past the guard all the same)
                assert call(served, method, path, allowed).status_code in (200, 409), (path, role)
            checked += 1
    assert public == {"/login"}
    assert checked >= 30
    # No refused write reached the state.
    assert served.get("/api/v1/audit", "auditor").json()["entries"][0]["seq"] == audit_before


def test_overview_reads_the_scans_per_group_and_per_declared_system(served: Served) -> None:
    overview = served.get("/api/v1/overview", "viewer").json()
    assert overview["organization"] == "Acme AI (demo)"
    assert overview["latest_scan"]["id"]
    assert {g["id"] for g in overview["groups"]} >= {"A.2", "A.9", "A.10"}
    systems = {s["id"]: s for s in overview["systems"]}
    assert set(systems) == {"fraud-scoring", CHATBOT}
    assert systems[CHATBOT]["open_nonconformities"] > 0
    assert systems[CHATBOT]["controls"]["fail"] > 0
    assert systems["fraud-scoring"]["controls"]["fail"] == 0
    assert overview["schedule"]["overdue"] is False  # the scan just ran; 24 hours expected
    assert sum(overview["controls"].values()) == 38
    assert overview["trend"][-1]["controls"] == overview["controls"]
    page = served.get("/", "viewer")
    assert page.status_code == 200
    assert CHATBOT in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no script


def test_control_system_register_diff_and_soa_have_json_twins(served: Served, sample: dict[str, str]) -> None:
    control = served.get("/api/v1/controls/A.9.4", "viewer").json()
    assert control["status"] == "fail"
    chatbot = [f for f in control["findings"] if f["subject"] == f"scope:{CHATBOT}"]
    assert chatbot
    assert chatbot[0]["status"] == "fail"
    assert chatbot[0]["systems"] == [CHATBOT]
    assert all(len(ref["id"]) == 64 for f in control["findings"] for ref in f["evidence"])
    assert control["history"][0]["status"] == "fail"
    system = served.get(f"/api/v1/systems/{CHATBOT}", "viewer").json()
    assert any(c["id"] == "A.9.4" and c["status"] == "fail" for c in system["controls"])
    assert system["nonconformities"]
    assert all(nc["state"] != "closed" for nc in system["nonconformities"])
    register = served.get("/api/v1/nonconformities", "viewer").json()
    assert register["figures"]["open"] == len(
        [nc for nc in register["nonconformities"] if nc["state"] != "closed"]
    )
    assert served.get("/api/v1/diff", "viewer").json()["counts"]
    soa = served.get("/api/v1/soa", "viewer").json()
    assert len(soa["controls"]) == 38
    assert next(r for r in soa["controls"] if r["id"] == "A.10.4")["applicable"] is False
    evidence = served.get(f"/api/v1/evidence/{sample['digest']}", "auditor").json()
    assert evidence["id"] == sample["digest"]
    assert evidence["kind"]
    assert served.get("/api/v1/controls/A.99", "viewer").status_code == 404
    paths = served.get("/api/v1/openapi.json", "viewer").json()["paths"]
    assert {"/overview", "/controls/{control_id}", "/nonconformities/{nc_id}", "/soa", "/diff"} <= set(paths)
    assert "post" in paths["/nonconformities/{nc_id}"]


def test_every_evidence_value_is_escaped(served: Served, sample: dict[str, str]) -> None:
    pages = [
        "/",
        "/controls/A.9.4",
        f"/systems/{CHATBOT}",
        "/nonconformities",
        "/diff",
        "/soa",
        f"/evidence/{sample['digest']}",
        "/audit",
        "/exceptions",
        f"/nonconformities/{sample['nc_id']}",
    ]
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    seen = False
    for path in pages:
        text = served.get(path, "admin").text
        assert XSS not in text, path
        seen = seen or escaped in text
    assert seen  # the hostile value is on the pages, as text
    # The evidence items that carry it (a file named by it; a record whose review_tag holds it) show it
    # as escaped text on their pages and as the plain value in JSON.
    control = served.get("/api/v1/controls/A.4.2", "viewer").json()
    refs = {ref["id"]: ref["source"] for f in control["findings"] for ref in f["evidence"]}
    hostile = [
        d for d, source in refs.items() if XSS in source or source.endswith("support-chatbot-record.md")
    ]
    assert len(hostile) == 2
    for digest in hostile:
        text = served.get(f"/evidence/{digest}", "auditor").text
        assert escaped in text
        assert XSS not in text
        assert XSS in json.dumps(
            served.get(f"/api/v1/evidence/{digest}", "auditor").json(), ensure_ascii=False
        )


def test_an_owner_assigns_a_nonconformity_and_the_audit_log_says_who(served: Served) -> None:
    register = served.get("/api/v1/nonconformities", "viewer").json()["nonconformities"]
    free, taken = [nc["id"] for nc in register if nc["owner"] is None][:2]
    answer = served.post(
        f"/api/v1/nonconformities/{free}",
        "owner",
        json={"owner": "olivia", "due": "2020-01-31", "notes": f"rewrite {XSS}"},
    )
    assert answer.status_code == 200, answer.text
    nc = answer.json()
    assert (nc["owner"], nc["due"], nc["corrective_action"]) == ("olivia", "2020-01-31", f"rewrite {XSS}")
    assert nc["overdue"] is True  # open, and the due date is before the latest scan
    assert served.get("/api/v1/overview", "viewer").json()["nonconformities"]["overdue"] >= 1
    page = served.get(f"/nonconformities/{free}", "viewer").text
    assert "rewrite &lt;img" in page
    assert XSS not in page
    entry = served.get("/api/v1/audit", "auditor").json()["entries"][0]
    assert (entry["actor"], entry["role"], entry["action"], entry["target"]) == (
        "olivia",
        "owner",
        "nonconformity.update",
        free,
    )
    assert entry["at"]
    assert entry["detail"]["due"] == "2020-01-31"
    # An admin gives another one to someone else: the owner may no longer change it, the admin still may.
    assert served.post(f"/api/v1/nonconformities/{taken}", "admin",
                       json={"owner": "someone else", "due": FUTURE}).status_code == 200  # fmt: skip
    refused = served.post(
        f"/api/v1/nonconformities/{taken}", "owner", json={"owner": "olivia", "due": FUTURE}
    )
    assert refused.status_code == 403
    assert (
        served.post(f"/api/v1/nonconformities/{free}", "owner", json={"owner": "", "due": "x"}).status_code
        == 422
    )
    assert served.get("/api/v1/audit", "auditor").json()["problems"] == []


def test_findings_and_evidence_accept_no_write(served: Served, sample: dict[str, str]) -> None:
    for path in ("/api/v1/controls/A.9.4", f"/api/v1/evidence/{sample['digest']}", "/api/v1/overview",
                 "/api/v1/soa", "/controls/A.9.4"):  # fmt: skip
        assert served.post(path, "admin", json={"status": "pass"}).status_code == 405, path


def test_an_exception_takes_effect_only_once_another_admin_approves_it(served: Served) -> None:
    request = {
        "rule": "A.8.2/user_documentation_sections_filled",
        "subject": f"scope:{CHATBOT}",
        "justification": "new manual in Q1",
        "approver": "Head of Support",
        "expires": FUTURE,
    }
    assert served.post("/api/v1/exceptions", "viewer", json=request).status_code == 403
    assert (
        served.post("/api/v1/exceptions", "admin", json={**request, "rule": "A.8.2/nope"}).status_code == 422
    )
    made = served.post("/api/v1/exceptions", "admin", json=request)
    assert made.status_code == 201
    exception_id = made.json()["id"]

    def in_soa() -> list[dict[str, Any]]:
        row = next(r for r in served.get("/api/v1/soa", "viewer").json()["controls"] if r["id"] == "A.8.2")
        return [e for e in row["exceptions"] if e["rule"] == request["rule"]]

    assert in_soa() == []
    decide = f"/api/v1/exceptions/{exception_id}/decision"
    assert served.post(decide, "owner", json={"decision": "approve"}).status_code == 403
    own = served.post(decide, "admin", json={"decision": "approve"})
    assert own.status_code == 403  # the one who asked does not approve
    assert in_soa() == []
    assert served.post(decide, "admin2", json={"decision": "approve"}).json()["state"] == "approved"
    assert in_soa() == [{"rule": request["rule"], "subject": request["subject"], "justification": request[
        "justification"], "approved_by": "bob", "expires": FUTURE}]  # fmt: skip
    assert served.post(decide, "admin2", json={"decision": "reject"}).status_code == 409
    actions = [e["action"] for e in served.get("/api/v1/audit", "auditor").json()["entries"][:2]]
    assert actions == ["exception.approve", "exception.request"]


def test_a_session_cookie_is_secure_and_its_writes_need_the_csrf_token(served: Served) -> None:
    with requests.Session() as browser:
        login = browser.post(
            served.url + "/login", data={"token": served.tokens["owner"]}, allow_redirects=False
        )
        assert login.status_code == 303
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "Secure" in cookie
        assert "SameSite=strict" in cookie.replace("Strict", "strict")
        session = cookie.split(";")[0].split("=", 1)[1]
        browser.cookies.set(SESSION_COOKIE, session)  # requests keeps Secure cookies off http://
        nc = next(nc for nc in browser.get(served.url + "/api/v1/nonconformities").json()["nonconformities"]
                  if nc["owner"] is None)  # fmt: skip
        target = served.url + f"/nonconformities/{nc['id']}"
        form = {"owner": "olivia", "due": FUTURE, "notes": "n"}
        assert browser.post(target, data=form, allow_redirects=False).status_code == 403
        assert browser.post(target, data={**form, "csrf": "guess"}, allow_redirects=False).status_code == 403
        csrf = csrf_of(browser.get(target).text)
        foreign = browser.post(target, data={**form, "csrf": csrf}, headers={"Origin": "https://evil.example"},
                               allow_redirects=False)  # fmt: skip
        assert foreign.status_code == 403
        assert browser.post(target, data={**form, "csrf": csrf}, allow_redirects=False).status_code == 303
        assert browser.get(served.url + f"/api/v1/nonconformities/{nc['id']}").json()["owner"] == "olivia"
        if not served.store.startswith("postgresql://"):
            raw = (Path(served.store) / "serve.sqlite").read_bytes() + _wal(Path(served.store))
            assert session.encode() not in raw
            assert served.tokens["owner"].encode() not in raw
            with sqlite3.connect(Path(served.store) / "serve.sqlite") as db:
                assert db.execute(
                    "SELECT 1 FROM serve_sessions WHERE digest = ?", (digest_secret(session),)
                ).fetchone()
        assert (
            browser.post(served.url + "/logout", data={"csrf": csrf}, allow_redirects=False).status_code
            == 303
        )
        assert browser.get(served.url + "/api/v1/overview").status_code == 401  # the session is gone


def _wal(store: Path) -> bytes:
    wal = store / "serve.sqlite-wal"
    return wal.read_bytes() if wal.exists() else b""


def test_a_revoked_token_and_its_sessions_stop_working(served: Served) -> None:
    token = create_token(served.store, "temp-contractor", "viewer")
    with requests.Session() as browser:
        login = browser.post(served.url + "/login", data={"token": token}, allow_redirects=False)
        browser.cookies.set(SESSION_COOKIE, login.headers["set-cookie"].split(";")[0].split("=", 1)[1])
        assert browser.get(served.url + "/api/v1/whoami").json() == {
            "name": "temp-contractor",
            "role": "viewer",
        }
        from reportkit import run_cli

        assert run_cli("serve", "token", "revoke", "--store", served.store, "temp-contractor")[0] == 0
        assert browser.get(served.url + "/api/v1/whoami").status_code == 401
    assert requests.get(served.url + "/api/v1/whoami", headers={"Authorization": f"Bearer {token}"},
                        timeout=30).status_code == 401  # fmt: skip
    assert served.get("/api/v1/tokens", "auditor").status_code == 403
    names = {t["name"]: t for t in served.get("/api/v1/tokens", "admin").json()["tokens"]}
    assert names["temp-contractor"]["revoked_at"]
    assert "digest" not in names["temp-contractor"]


def test_a_scan_recorded_while_it_runs_shows_up(served: Served) -> None:
    before = served.get("/api/v1/overview", "viewer").json()
    code, _ = run_cli("scan", "-c", served.config, "--now", "2026-11-30T09:00:00Z", "--format", "json")
    assert code == 1
    after = served.get("/api/v1/overview", "viewer").json()
    assert after["scans"] == before["scans"] + 1
    assert after["latest_scan"]["id"] != before["latest_scan"]["id"]
    assert after["trend"][-1]["scan"] == after["latest_scan"]["id"]
    register = served.get("/api/v1/nonconformities", "viewer").json()
    assert register["latest_scan"] == after["latest_scan"]["id"]
    assert register["scans"] == after["scans"]


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "https://evil.example"])
def test_login_never_redirects_off_the_site(served: Served, target: str) -> None:
    form = {"token": served.tokens["viewer"]}
    answer = requests.post(served.url + "/login", params={"next": target}, data=form, allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
