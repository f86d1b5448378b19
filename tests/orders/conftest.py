"""Fixtures for the orders tests: a fake Stripe at the provider seam, and a real localstripe.

`localstripe` (session): started with scripts/run_localstripe.py on a free loopback port. When the
package is not importable the Stripe end-to-end tests are skipped with a reason — except under
CI=true, where that is an error.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orders import providers
from tests.orders.factories import WEBHOOK_SECRET, FakeStripeProvider

ROOT = Path(__file__).resolve().parents[2]


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe():
    """Base URL of a private localstripe (in memory, loopback)."""
    try:
        import localstripe as _  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("localstripe is not installed (pip install localstripe); Stripe end-to-end tests skipped")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run_localstripe.py"), "--port", str(port), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=1).read(10)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("localstripe did not start")
            time.sleep(0.1)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
