"""The HTML readiness report in a real headless browser (Debian's chromium, driven through chromedriver).

`make test` installs chromium and chromium-driver when /usr/bin/chromium is missing; CI fails rather than
skips without them.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from reportkit import XSS, DemoProject, load_document

from annexa.reports.readiness import render_html

pytest_plugins = ["reportfixtures"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report_page(demo: DemoProject, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(load_document(demo.store)), encoding="utf-8")
    return path


def visible(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return [e for e in driver.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed()]


def choose(driver: Any, select_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, select_id)).select_by_value(value)


def test_report_loads_without_console_errors_and_runs_no_evidence(browser: Any, report_page: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(report_page.as_uri())
    # An alert would leave a dialog open: any further command raises UnexpectedAlertPresentException.
    assert browser.title.startswith("Annex A readiness")
    logs = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert logs == []
    body = browser.find_element(By.TAG_NAME, "body").text
    assert XSS in body  # shown as text, in the finding message
    assert browser.find_elements(By.CSS_SELECTOR, "img") == []
    assert browser.execute_script("return document.querySelectorAll('[onerror]').length") == 0
    # Nothing left the page: every resource the browser loaded is the file itself.
    names = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert names == []
    svg = browser.find_elements(By.CSS_SELECTOR, "#trend + svg rect, svg rect")
    assert svg, "the trend chart has no bars"


def test_filters_by_status_system_and_group(browser: Any, report_page: Path, demo: DemoProject) -> None:
    from selenium.webdriver.common.by import By

    document = load_document(demo.store)
    browser.get(report_page.as_uri())
    rows = visible(browser, "tr.control-row")
    assert len(rows) == len(document["controls"])
    choose(browser, "filter-status", "fail")
    failing = {c["id"] for c in document["controls"] if c["status"] == "fail"}
    shown = {row.find_element(By.TAG_NAME, "a").text for row in visible(browser, "tr.control-row")}
    assert shown == failing
    assert {s.get_attribute("id") for s in visible(browser, "section.control")} == {
        f"control-{c}" for c in failing
    }
    assert all(r.get_attribute("data-status") == "fail" for r in visible(browser, "tr.finding"))
    count = browser.find_element(By.ID, "filter-count").text
    assert count == f"{len(failing)} of {len(document['controls'])} controls shown"

    choose(browser, "filter-status", "")
    choose(browser, "filter-system", "fraud-scoring")
    shown = {row.find_element(By.TAG_NAME, "a").text for row in visible(browser, "tr.control-row")}
    assert "A.9.4" in shown
    assert 0 < len(shown) < len(document["controls"])
    subjects = {r.find_elements(By.TAG_NAME, "td")[4].text for r in visible(browser, "tr.finding")}
    assert "file:governance/systems/support-chatbot-record.md" not in subjects
    assert "scope:support-chatbot" not in subjects
    assert "scope:fraud-scoring" in subjects

    choose(browser, "filter-system", "")
    choose(browser, "filter-group", "A.4")
    shown = {row.find_element(By.TAG_NAME, "a").text for row in visible(browser, "tr.control-row")}
    assert shown == {c["id"] for c in document["controls"] if c["group"] == "A.4"}


def test_screenshot_for_people(browser: Any, report_page: Path, tmp_path: Path) -> None:
    """Not an assertion on looks: it proves the page paints, and leaves a PNG to look at when debugging."""
    browser.set_window_size(1280, 1600)
    browser.get(report_page.as_uri())
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("ANNEXA_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["ANNEXA_KEEP_SCREENSHOT"])


def test_the_harness_would_catch_an_unescaped_payload(browser: Any, tmp_path: Path) -> None:
    """Negative control: the same payload written raw does run, so the tests above can see an attack."""
    from selenium.common.exceptions import UnexpectedAlertPresentException

    page = tmp_path / "raw.html"
    page.write_text(f"<!DOCTYPE html><html><body>{XSS}</body></html>", encoding="utf-8")
    browser.get(page.as_uri())
    try:
        alert = browser.switch_to.alert
        assert alert.text == "1"
        alert.accept()
    except UnexpectedAlertPresentException:  # some chromedriver versions report the dialog this way
        browser.switch_to.alert.accept()


@pytest.fixture(scope="module")
def same_day_page(demo: DemoProject, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report with a third scan on the day of the second: the trend must tell the two apart."""
    document = load_document(demo.store)
    last = document["history"][-1]
    document["history"] = [
        *document["history"],
        {**last, "scan": "later", "started_at": "2026-11-23T15:30:00Z"},
    ]
    path = tmp_path_factory.mktemp("html") / "same-day.html"
    path.write_text(render_html(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("width", [1280, 800])
def test_layout_fits_and_lines_up(browser: Any, report_page: Path, width: int) -> None:
    browser.set_window_size(width, 1000)
    browser.get(report_page.as_uri())
    overflow = browser.execute_script(
        "const w = document.documentElement.clientWidth;"
        "return [document.documentElement.scrollWidth - w, [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > w + 0.5).map(e => e.tagName + '.' + e.className)]"
    )
    assert overflow == [0, []], f"horizontal overflow at {width} px"
    # The header's title starts where the page's headings start.
    lefts = browser.execute_script(
        "return [document.querySelector('header h1'), document.querySelector('main h2'),"
        " document.querySelector('header .cards')].map(e => e.getBoundingClientRect().left)"
    )
    assert max(lefts) - min(lefts) < 1, lefts
    # The message is the widest column of a findings table: a message is what people read.
    widths = browser.execute_script(
        "const row = document.querySelector('table.findings tbody tr');"
        "return [...row.children].map(c => c.getBoundingClientRect().width)"
    )
    assert widths[5] == max(widths)
    assert widths[5] >= 0.28 * sum(widths), widths


def test_trend_labels_show_hours_when_scans_share_a_day(browser: Any, same_day_page: Path) -> None:
    browser.set_window_size(800, 1000)
    browser.get(same_day_page.as_uri())
    labels = browser.execute_script(
        "return [...document.querySelectorAll('.trend text.tick')].map(t => {"
        " const r = t.getBoundingClientRect(); return [t.textContent, r.left, r.right]; })"
    )
    assert [text for text, _, _ in labels] == ["11-16", "11-2309:00", "11-2315:30"]
    for (_, _, right), (_, left, _) in itertools.pairwise(labels):
        assert right <= left, labels  # no two labels overlap


def test_remediation_only_where_something_needs_doing(browser: Any, report_page: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(report_page.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.finding")
    passing = [r for r in rows if r.get_attribute("data-status") == "pass" and "(waived)" not in r.text]
    failing = [r for r in rows if r.get_attribute("data-status") == "fail"]
    assert passing
    assert failing
    assert all(not r.find_elements(By.CSS_SELECTOR, ".remediation") for r in passing)
    assert all(r.find_elements(By.CSS_SELECTOR, ".remediation") for r in failing)


def test_per_system_view(browser: Any, report_page: Path, demo: DemoProject) -> None:
    from selenium.webdriver.common.by import By

    document = load_document(demo.store)
    browser.get(report_page.as_uri())
    sections = browser.find_elements(By.CSS_SELECTOR, "section.system")
    assert [s.get_attribute("data-system") for s in sections] == ["fraud-scoring", "support-chatbot"]
    chatbot = browser.find_element(By.ID, "system-support-chatbot")
    assert chatbot.find_element(By.CSS_SELECTOR, ".owner").text == "Head of Customer Support"
    statuses = {
        row.find_element(By.TAG_NAME, "a").text: row.get_attribute("data-status")
        for row in chatbot.find_elements(By.CSS_SELECTOR, "tr.system-control")
    }
    assert statuses["A.9.4"] == "fail"
    assert statuses["A.5.3"] == "pass"  # its failure for the chatbot is waived
    open_ncs = [
        f for f in document["findings"]
        if f["subject"] == "scope:support-chatbot" and f["status"] == "fail" and not f["waiver"]
        and f["weight"] == "primary"
    ]  # fmt: skip
    listed = [li.text.split(" ")[0] for li in chatbot.find_elements(By.CSS_SELECTOR, "ul.nonconformities li")]
    assert {f"NC-{f['id']}" for f in open_ncs} <= set(listed)
    assert chatbot.find_element(By.CSS_SELECTOR, ".nc-count").text == str(len(listed))
    fraud = browser.find_element(By.ID, "system-fraud-scoring")
    fraud_statuses = {
        row.find_element(By.TAG_NAME, "a").text: row.get_attribute("data-status")
        for row in fraud.find_elements(By.CSS_SELECTOR, "tr.system-control")
    }
    assert fraud_statuses["A.9.4"] == "pass"  # fixed for fraud scoring in the second scan
    # Evidence about the system: its declaration in the scope and the documents naming it.
    evidence = chatbot.find_element(By.CSS_SELECTOR, "details.system-evidence")
    sources = browser.execute_script(
        "return [...arguments[0].querySelectorAll('li a')].map(a => a.textContent)", evidence
    )
    assert sources[0] == "scope:support-chatbot"
    assert "file:governance/systems/support-chatbot-record.md" in sources
    assert "file:governance/systems/fraud-scoring-record.md" not in sources


def test_printable_view(browser: Any, report_page: Path) -> None:
    import base64

    from selenium.webdriver.common.print_page_options import PrintOptions

    browser.set_window_size(1280, 1000)
    browser.get(report_page.as_uri())
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        shown = browser.execute_script(
            "return ['.filters', '.toc'].map(s => getComputedStyle(document.querySelector(s)).display)"
        )
        assert shown == ["none", "none"]
        style = "return getComputedStyle(document.querySelector(arguments[0]))[arguments[1]]"
        assert browser.execute_script(style, "section.system", "breakBefore") == "page"
        # Folded evidence data stays off paper (the list names each item by its SHA-256).
        assert browser.execute_script(style, "ul.evidence details", "display") == "none"
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    options = PrintOptions()
    options.page_width = 21.0
    options.page_height = 29.7
    pdf = base64.b64decode(browser.print_page(options))
    assert pdf.startswith(b"%PDF")
    # A page per AI system at least (each starts a page), after the summary.
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 3
