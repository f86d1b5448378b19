"""Fixtures for the orders tests: a fake Stripe at the provider seam, and a real localstripe.

`localstripe` (session): started with scripts/run_localstripe.py on a free loopback port. When the
package is not importable the Stripe end-to-end tests are skipped with a reason — except under
CI=true, where that is an error.
"""

from __future__ import annotations

import os
import sys

import pytest

from orders import providers
from tests.orders import emulator
from tests.orders.factories import WEBHOOK_SECRET, FakeStripeProvider


@pytest.fixture
def fake_stripe(app, monkeypatch):
    """Card payments on, provider replaced by FakeStripeProvider."""
    FakeStripeProvider.reset()
    monkeypatch.setitem(providers.PROVIDERS, "stripe", FakeStripeProvider)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_PUBLISHABLE_KEY", "pk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    yield FakeStripeProvider
    FakeStripeProvider.reset()


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
