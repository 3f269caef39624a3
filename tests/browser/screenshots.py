"""Screenshots of the pages the browser tests visit, kept as test artifacts.

Saved under ``UCLOUD_TEST_ARTIFACTS`` (default ``test-artifacts/`` at the
root of the repository, git-ignored); the README's images of the admin are
copies of two of them (``docs/images/``)::

    path = save_screenshot(browser, "together-picture")   # .../screenshots/together-picture.png
"""

from __future__ import annotations

import os
from pathlib import Path

from selenium.webdriver.remote.webdriver import WebDriver

REPO = Path(__file__).resolve().parents[2]


def artifacts_dir() -> Path:
    found = Path(os.environ.get("UCLOUD_TEST_ARTIFACTS") or REPO / "test-artifacts")
    folder = found / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screenshot(browser: WebDriver, name: str) -> Path:
    """The whole page (the window grown to the page's size) as ``name.png``."""
    height = browser.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
    )
    width = browser.execute_script("return Math.max(document.body.scrollWidth, 1280)")
    browser.set_window_size(min(int(width), 2400), min(int(height) + 120, 4000))
    path = artifacts_dir() / f"{name}.png"
    browser.save_screenshot(str(path))
    browser.set_window_size(1280, 1024)
    return path
