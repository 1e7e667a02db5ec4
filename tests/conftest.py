import os
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


#: The Streamlit app, by absolute path (AppTest resolves relative paths against the caller).
APP_PATH = Path(__file__).resolve().parents[1] / "app.py"
#: Seconds AppTest waits for one script run (the first run compiles Numba kernels).
APP_TIMEOUT = 60


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test's own id.

    Each test draws its inputs from its own stream, so they do not depend on
    which other tests ran before it (as draws from one module-level generator do).
    """
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture
def app_test():
    """A fresh, not yet run ``AppTest`` of app.py: ``app_test.run()``, then find widgets by key."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP_PATH), default_timeout=APP_TIMEOUT)


def pytest_collection_modifyitems(config, items):
    """Browser and notebook tests start a server or a kernel: they belong to the slow tier."""
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("notebook"):
            item.add_marker(pytest.mark.slow)
