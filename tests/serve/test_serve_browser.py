"""The dashboard in a real headless browser (Debian's chromium through chromedriver, as the report tests):
log in with a token, open a control, assign an owner to one of its nonconformities, see the audit log.

`make test` installs chromium and chromium-driver when /usr/bin/chromium is missing; CI fails rather than
skips without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from servekit import XSS, Served, build_demo, create_token, serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    store = str(build_demo(tmp_path_factory.mktemp("serve-browser") / "demo").store)
    token = create_token(store, "Olivia Owner", "owner")
    with serve(store) as url:
        yield Served(url=url, store=store, tokens={"owner": token})


def test_log_in_open_a_control_assign_an_owner_and_see_the_audit_log(browser: Any, served: Served) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def text(selector: str) -> str:
        return str(browser.find_element(By.CSS_SELECTOR, selector).text)

    def navigate(element: Any, arrived: Any) -> None:
        """Click, then wait until the next page is there (a click does not wait for the navigation): a mark
        left on the page clicked on is gone (a new page has a new window object), the next page is loaded
        and it shows what it should. Asking the browser while it navigates can fail (a stale element, a
        node no longer in the document: both failed in CI), so the wait asks again instead."""
        browser.execute_script("window.annexaLeft = true")
        element.click()
        new_page_ready = "return !window.annexaLeft && document.readyState === 'complete'"
        WebDriverWait(browser, 30, ignored_exceptions=(WebDriverException,)).until(
            lambda _: browser.execute_script(new_page_ready) and arrived()
        )

    browser.get(served.url + "/controls/A.9.4")
    assert "/login" in browser.current_url  # nothing without a token
    browser.find_element(By.ID, "token").send_keys(served.tokens["owner"])
    navigate(browser.find_element(By.ID, "login"), lambda: browser.current_url.endswith("/controls/A.9.4"))
    assert text("h1").startswith("A.9.4 Intended use of the AI system")
    assert text("#me") == "Olivia Owner (owner)"
    assert "fail" in text("#findings")
    # The hostile file name in a finding message is shown as text; no element was made of it.
    assert XSS in browser.find_element(By.TAG_NAME, "main").text
    assert not browser.find_elements(By.CSS_SELECTOR, "main img")
    link = browser.find_element(By.CSS_SELECTOR, "tr.nc a")
    nc_id = link.text
    navigate(link, lambda: browser.find_elements(By.ID, "owner-input"))
    assert text("h1") == nc_id
    browser.find_element(By.ID, "owner-input").send_keys("Olivia Owner")
    browser.execute_script("document.getElementById('due-input').value = '2027-02-15'")  # any locale
    browser.find_element(By.ID, "notes-input").send_keys("Write the out-of-scope section.")
    navigate(browser.find_element(By.ID, "save"), lambda: text("#owner") != "-")
    assert text("#owner") == "Olivia Owner"
    assert text("#due") == "2027-02-15"
    assert text("#notes") == "Write the out-of-scope section."
    # The audit log (auditor and above) says who changed what, and when.
    navigate(browser.find_element(By.LINK_TEXT, "Audit log"), lambda: browser.find_elements(By.ID, "audit"))
    assert text("h1") == "Audit log"
    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#audit tr.entry")]
    change = next(row for row in rows if "nonconformity.update" in row)
    assert "Olivia Owner" in change
    assert nc_id in change
    assert "2027-02-15" in change
    assert not [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
