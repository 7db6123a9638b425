"""Screenshots of the demo's replay for docs/replay.md, taken in headless Chromium.

Run from the repository root: ``python docs/make_replay_shots.py`` (needs selenium and
Debian's ``chromium`` and ``chromium-driver``). Writes docs/img/replay_step<k>.png, and
docs/img/replay_naive.png: the naive order on ``a = 1; b = a + a; c = b + b``, at its end.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import autograd_lite as ag  # noqa: E402
from autograd_lite.cli import demo_graph  # noqa: E402

STEPS = (0, 5, 11)


def main() -> None:
    from selenium import webdriver

    J, W1, constants = demo_graph()
    folder = Path(tempfile.mkdtemp())
    page = ag.replay(J, W1, constants=constants).save(folder / "demo.html")
    a = ag.Value(1.0, "a")
    b = a + a
    b.label = "b"
    c = b + b
    c.label = "c"
    naive = ag.replay(c, order="naive").save(folder / "naive.html")
    os.environ.setdefault("SE_AVOID_STATS", "true")  # Selenium Manager: no telemetry
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("google-chrome") or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1700,1150", "--hide-scrollbars"):
        options.add_argument(arg)
    service = webdriver.ChromeService(shutil.which("chromedriver"))  # no download, no lookup
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.get(page.as_uri())
        for k in STEPS:
            driver.execute_script("autogradLite.goto(arguments[0]); window.scrollTo(0, 0)", k)
            out = ROOT / "docs" / "img" / f"replay_step{k:02d}.png"
            driver.save_screenshot(str(out))
            print(out.relative_to(ROOT))
        driver.set_window_size(1100, 640)
        driver.get(naive.as_uri())
        driver.execute_script("autogradLite.goto(autogradLite.steps.length - 1)")
        out = ROOT / "docs" / "img" / "replay_naive.png"
        driver.save_screenshot(str(out))
        print(out.relative_to(ROOT))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
