"""Fixtures for the orders tests: a real localstripe (the fake Stripe at the provider seam, `fake_stripe`,
serves every package: tests/conftest.py).

`localstripe` (session): started with scripts/run_localstripe.py on a free loopback port. When the
package is not importable the Stripe end-to-end tests are skipped with a reason — except under
CI=true, where that is an error.
"""

from __future__ import annotations

import os
import sys

import pytest

from tests.orders import emulator


@pytest.fixture(scope="session")
def localstripe():
    """Base URL of a private localstripe (in memory, loopback: scripts/run_localstripe.py)."""
    try:
        import localstripe as _  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("localstripe is not installed (pip install localstripe); Stripe end-to-end tests skipped")
    port = emulator.free_port()
    proc, base = emulator.start(
        [sys.executable, str(emulator.ROOT / "scripts" / "run_localstripe.py"), "--port", str(port), "--quiet"], port
    )
    yield base
    emulator.stop(proc)
