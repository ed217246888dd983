"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright.

``.ci/run`` installs the browser (``apt-get install chromium``); without it a test fails in CI
(strict oracles) and skips elsewhere. The flags keep Chromium off the network, which this
machine closes.

Example (in a test)::

    with chromium_browser() as browser:
        page = browser.new_page()
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from strict_oracles import strict

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.path.exists(path) else None


@contextlib.contextmanager
def chromium_browser():
    """A launched headless Chromium (closed afterwards), or the test's skip/fail."""
    path = chromium_path()
    if path is None:
        if strict():
            pytest.fail("Debian's chromium is missing: .ci/run installs it (apt-get install "
                        "chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api", reason="Playwright drives Chromium")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=path, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def open_explorer(browser, url: str, height: int = 1400):
    """``(page, errors)``: the explorer at ``url`` loaded and ready, page errors collected."""
    page = browser.new_page(viewport={"width": 1280, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=60000)
    return page, errors
