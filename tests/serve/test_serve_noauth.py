"""`annexa serve --no-auth`: for local use only, so it refuses any address but loopback and any Host but
the loopback names (a DNS-rebinding page cannot reach it), and its writes still need the page's CSRF token."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from servekit import build_demo, create_token, csrf_of, run_cli, serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_demo(tmp_path_factory.mktemp("noauth") / "demo").store)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_no_auth_refuses_to_bind_beyond_loopback(store: str, host: str) -> None:
    code, _ = run_cli("serve", "--store", store, "--no-auth", "--host", host)
    assert code == 4


def test_no_auth_serves_loopback_without_a_token_and_guards_its_writes(store: str) -> None:
    with serve(store, "--no-auth", ready="/") as url:
        assert requests.get(url + "/api/v1/whoami", timeout=30).json()["role"] == "admin"
        rebound = requests.get(url + "/api/v1/overview", headers={"Host": "attacker.example"}, timeout=30)
        assert rebound.status_code == 421
        nc = requests.get(url + "/api/v1/nonconformities", timeout=30).json()["nonconformities"][0]["id"]
        form = {"owner": "me", "due": "2099-01-01"}
        assert requests.post(url + f"/nonconformities/{nc}", data=form, allow_redirects=False,
                             timeout=30).status_code == 403  # fmt: skip
        csrf = csrf_of(requests.get(url + f"/nonconformities/{nc}", timeout=30).text)
        done = requests.post(
            url + f"/nonconformities/{nc}", data={**form, "csrf": csrf}, allow_redirects=False, timeout=30
        )
        assert done.status_code == 303
        entry = requests.get(url + "/api/v1/audit", timeout=30).json()["entries"][0]
        assert entry["actor"] == "local user (--no-auth)"
        assert entry["target"] == nc


def test_serve_without_a_store_says_so(tmp_path: Path) -> None:
    code, _ = run_cli("serve", "--store", str(tmp_path / "nothing"))
    assert code == 4


def test_the_overview_says_overdue_when_the_schedule_was_missed(store: str) -> None:
    # one scan every 3.6 seconds is expected: wait until the demo's last scan is older than that
    with serve(store, "--no-auth", "--expect-scan-every", "0.001", ready="/") as url:
        due = datetime.fromisoformat(
            requests.get(url + "/api/v1/overview", timeout=30).json()["schedule"]["next_due"]
        )
        assert due - datetime.now(UTC) < timedelta(seconds=4)  # the schedule counts from the last scan
        while datetime.now(UTC) <= due:
            time.sleep(0.2)
        schedule = requests.get(url + "/api/v1/overview", timeout=30).json()["schedule"]
        assert schedule["overdue"] is True
        page = requests.get(url + "/", timeout=30).text
        assert 'id="overdue"' in page
    with serve(store, "--no-auth", ready="/") as url:  # the default: a scan a day
        assert requests.get(url + "/api/v1/overview", timeout=30).json()["schedule"]["overdue"] is False


def test_several_workers_share_tokens_sessions_and_writes(store: str) -> None:
    token = create_token(store, "Wanda Workers", "owner")
    with serve(store, "--workers", "3") as url, requests.Session() as browser:
        login = browser.post(url + "/login", data={"token": token}, allow_redirects=False)
        session = login.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        browser.cookies.set("annexa_session", session)
        # Connections are spread over the processes; every one knows the session and sees the write.
        register = browser.get(url + "/api/v1/nonconformities").json()["nonconformities"]
        nc = next(nc["id"] for nc in register if nc["owner"] is None)
        csrf = csrf_of(browser.get(url + f"/nonconformities/{nc}").text)
        form = {"owner": "Wanda Workers", "due": "2099-01-01", "csrf": csrf}
        written = browser.post(url + f"/nonconformities/{nc}", data=form, allow_redirects=False)
        assert written.status_code == 303
        for _ in range(12):
            with requests.Session() as fresh:  # a new connection each time
                fresh.cookies.set("annexa_session", session)
                assert fresh.get(url + f"/api/v1/nonconformities/{nc}").json()["owner"] == "Wanda Workers"
