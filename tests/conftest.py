import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "25")), deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("default")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through selenium (tests/browser.py), one per test module; the test
    is skipped with the reason when selenium, chromium or chromedriver is missing."""
    from browser import chromium_driver

    d = chromium_driver()
    yield d
    d.quit()
