"""The fixtures the outbox tests (test_outbox.py, test_outbox_relay.py) share: the app's Celery pointed
at a broker of the test's choosing, Redis down (a closed port), Redis up with every publish recorded,
and every mail handed to SMTP recorded."""

from __future__ import annotations

import pytest

import shop.mail
import shop.outbox
from tests.faults.services import celery_for_broker, free_port, restore_celery


@pytest.fixture
def broker(app):
    """The app's Celery out of eager mode; `set_url(url)` picks the broker (a fresh Celery each time,
    so no pool of the previous broker is reused). The app's own Celery is given back afterwards."""
    previous = app.extensions["celery"]

    def set_url(url: str):
        return celery_for_broker(app, url)

    shop.outbox.breaker.reset()
    try:
        yield set_url
    finally:
        restore_celery(app, previous)
        shop.outbox.breaker.reset()


@pytest.fixture
def broker_down(broker):
    """Redis down: nothing listens on the broker's port."""
    return broker(f"redis://127.0.0.1:{free_port()}/1")


@pytest.fixture
def published(broker, monkeypatch):
    """Redis up, recorded: every publish lands in the returned list as (task name, args, task id)."""
    broker("memory://")
    sent: list[tuple] = []
    monkeypatch.setattr(shop.outbox, "publish", lambda name, args, kwargs, task_id: sent.append((name, args, task_id)))
    return sent


@pytest.fixture
def delivered(monkeypatch):
    """Mail handed to SMTP (or the log), recorded: (to, subject, key)."""
    out: list[tuple] = []
    monkeypatch.setattr(shop.mail, "deliver", lambda to, subject, body, key=None, **_kw: out.append((to, subject, key)))
    return out
