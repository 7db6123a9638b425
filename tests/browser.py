"""Headless Chromium for the tests that look at pages and pictures as a browser shows them
(Debian's ``chromium`` and ``chromium-driver``, driven by selenium); skips when missing."""

from __future__ import annotations

import os
import shutil

import pytest

WINDOW = (1400, 900)


def chromium_driver():
    """A headless Chromium at a 1400 px wide window, or ``pytest.skip``."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.support.ui import WebDriverWait
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                     if shutil.which(n)), None)
    if chromium is None or shutil.which("chromedriver") is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium "
                    "chromium-driver): not tested in a browser")
    os.environ.setdefault("SE_AVOID_STATS", "true")  # Selenium Manager sends no telemetry
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(arg)
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(shutil.which("chromedriver")),
                                  options=options)
    except Exception as e:  # a driver that does not match the browser, no display libraries
        pytest.skip(f"headless Chromium could not start ({type(e).__name__})")
    get = driver.get

    def get_loaded(url: str) -> None:
        """``get``, then wait for the page to finish loading: chromedriver returned while a
        notebook page (megabytes of inlined pictures) was still 'loading', with no <img> yet."""
        get(url)
        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    driver.get = get_loaded
    return driver
