"""The inspection pages as a person uses them, in a real browser: the checks
the one-process and the apart tests share, each saving a screenshot.

    log_in(browser, base_url, "root", "root-secret-1")
    check_catalog(browser, base_url, "together")
    check_picture(browser, base_url, "together")
"""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.screenshots import save_screenshot


def log_in(browser: WebDriver, base_url: str, username: str, password: str) -> None:
    browser.get(f"{base_url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda page: "/login/" not in page.current_url)


STYLED = """
return [...document.styleSheets].some(
    (sheet) => (sheet.href || "").includes("/static/admin/css/base.css")
        && sheet.cssRules.length > 0
);
"""


def assert_like_the_header(element: WebElement) -> None:
    """``element`` (inside a section's blue header) has the header's colour,
    not one of its own that the header's background swallows."""
    header = element.find_element(By.XPATH, "./ancestor::h2")
    assert element.text
    assert element.value_of_css_property("color") == header.value_of_css_property("color")
    assert header.value_of_css_property("color") != header.value_of_css_property("background-color")


def check_index(browser: WebDriver, base_url: str, mode: str) -> None:
    browser.get(f"{base_url}/admin/")
    # The admin's own stylesheet was served and applied (apart: by nginx).
    assert browser.execute_script(STYLED), "the admin's CSS did not load"
    links = browser.find_element(By.ID, "inspect-module").find_elements(By.TAG_NAME, "a")
    assert [link.text for link in links] == [
        "Service catalog", "Architecture", "Calls", "Traces", "Live state", "Dead letters",
    ]  # fmt: skip
    save_screenshot(browser, f"{mode}-index")


def sections_running_past_their_header(browser: WebDriver) -> list[str]:
    """Services whose section shows a table past the right end of its blue
    header (a wide call table), rather than scrolling it inside the section."""
    found: list[str] = browser.execute_script(
        """
        return [...document.querySelectorAll('.service-entry')].filter(section => {
          const header = section.querySelector('h2').getBoundingClientRect();
          const scrolls = ['auto', 'scroll'].includes(getComputedStyle(section).overflowX);
          const widest = Math.max(
            ...[...section.querySelectorAll('table')].map(t => t.getBoundingClientRect().right));
          return !scrolls && widest > header.right + 1;
        }).map(section => section.dataset.service);
        """
    )
    return found


def check_catalog(browser: WebDriver, base_url: str, mode: str, files_unit: str) -> None:
    browser.get(f"{base_url}/admin/inspect/catalog/")
    share = browser.find_element(By.CSS_SELECTOR, "tr.call[data-call='files.share']")
    roles = [tag.text for tag in share.find_elements(By.CSS_SELECTOR, "td.roles .tag")]
    assert roles == ["USER", "ADMIN"]
    assert "POST /api/files/share" in share.text
    unit = browser.find_element(By.CSS_SELECTOR, "#service-files td.unit").text
    assert unit.startswith(files_unit), unit
    # The service's name heads its section in the header's own colour (the
    # admin's link blue on its blue header could not be read).
    assert_like_the_header(browser.find_element(By.CSS_SELECTOR, "#service-files h2 a"))
    assert sections_running_past_their_header(browser) == []
    save_screenshot(browser, f"{mode}-catalog")
    browser.get(f"{base_url}/admin/inspect/catalog/files/")
    detail = browser.find_element(By.ID, "call-files.share").text
    assert "unknown_user" in detail
    assert "max_length=150" in detail
    save_screenshot(browser, f"{mode}-service-files")


def check_picture(browser: WebDriver, base_url: str, mode: str, units: list[str]) -> None:
    browser.get(f"{base_url}/admin/inspect/picture/")
    svg = browser.find_element(By.CSS_SELECTOR, "#architecture svg")
    call = svg.find_element(By.CSS_SELECTOR, "g.edge.call[data-from='files'][data-to='accounts']")
    event = svg.find_element(
        By.CSS_SELECTOR, "g.edge.event[data-from='files.events'][data-to='notifications']"
    )
    assert call.find_element(By.TAG_NAME, "path").get_attribute("stroke-dasharray") is None
    assert event.find_element(By.TAG_NAME, "path").get_attribute("stroke-dasharray")
    drawn = [g.get_attribute("data-unit") for g in svg.find_elements(By.CSS_SELECTOR, "g.unit")]
    assert sorted(name or "" for name in drawn) == sorted(units)  # (drawn in service order)
    assert call.is_displayed()
    assert event.is_displayed()
    save_screenshot(browser, f"{mode}-picture")
    # The deployment of the topology file: a box per unit, whatever runs here.
    browser.get(f"{base_url}/admin/inspect/picture/?view=topology")
    svg = browser.find_element(By.CSS_SELECTOR, "#architecture svg")
    drawn = [g.get_attribute("data-unit") for g in svg.find_elements(By.CSS_SELECTOR, "g.unit")]
    assert drawn == ["accounts", "files", "notifications"]
    svg.find_element(By.CSS_SELECTOR, "g.edge.call[data-from='files'][data-to='accounts']")
    save_screenshot(browser, f"{mode}-picture-topology")


def check_calls(browser: WebDriver, base_url: str, mode: str, transport: str) -> None:
    """files' call to accounts shows on the client side with ``transport``."""
    browser.get(f"{base_url}/admin/inspect/calls/")
    row = browser.find_element(
        By.CSS_SELECTOR,
        f"tr.call-row[data-call='accounts.retrieve_user'][data-side='client']"
        f"[data-transport='{transport}']",
    )
    assert int(row.find_element(By.CSS_SELECTOR, "td.count").text) >= 1
    assert " ms" in row.text
    for services in browser.find_elements(By.CSS_SELECTOR, ".unit-calls h2 .muted"):
        assert_like_the_header(services)
    save_screenshot(browser, f"{mode}-calls")


def check_traces(browser: WebDriver, base_url: str, mode: str, trace_id: str) -> None:
    """The trace of one share: its spans, the accounts call on both sides and
    the notifications processor, as a waterfall."""
    browser.get(f"{base_url}/admin/inspect/traces/?call=files.share")
    browser.find_element(By.CSS_SELECTOR, f"tr.trace-row[data-trace='{trace_id}']")
    save_screenshot(browser, f"{mode}-traces")
    browser.find_element(By.CSS_SELECTOR, f"a[href$='/traces/{trace_id}/']").click()
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.span-row")
    seen = [(row.get_attribute("data-name"), row.get_attribute("data-kind")) for row in rows]
    for wanted in (
        ("files.share", "server"),
        ("accounts.retrieve_user", "client"),
        ("accounts.retrieve_user", "server"),
        ("process files.events", "consumer"),
    ):
        assert wanted in seen, seen
    save_screenshot(browser, f"{mode}-trace")


def check_live(browser: WebDriver, base_url: str, mode: str, units: list[str]) -> None:
    browser.get(f"{base_url}/admin/inspect/live/")
    shown = [
        section.get_attribute("data-unit")
        for section in browser.find_elements(By.CSS_SELECTOR, "div.unit-live")
    ]
    assert sorted(name or "" for name in shown) == sorted(units)  # (in service order)
    for status in browser.find_elements(By.CSS_SELECTOR, "div.unit-live p.status"):
        assert "/status: ok" in status.text, status.text
    save_screenshot(browser, f"{mode}-live")


def retry_dead_letter(
    browser: WebDriver, base_url: str, mode: str, unit: str, letter_id: int
) -> None:
    browser.get(f"{base_url}/admin/inspect/dead-letters/")
    section = browser.find_element(By.CSS_SELECTOR, f"div.unit-letters[data-unit='{unit}']")
    row = section.find_element(By.CSS_SELECTOR, f"tr.letter[data-id='{letter_id}']")
    assert "files.events" in row.text
    row.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    save_screenshot(browser, f"{mode}-dead-letters")
    browser.find_element(By.NAME, "retry").click()
    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist li.success").text
    assert message.lower() == f"{unit}: 1 dead letter(s) handled.", message
