"""Celery bound to the Flask app (Flask's Celery pattern) and `enqueue_after_commit`.

With no `CELERY_BROKER_URL`, tasks run eagerly in process (the embedded default). Tasks take ids,
load, re-check under a lock, call a service and `shop.db.commit()`.

Faults: late acks + `task_reject_on_worker_lost`, so a task whose worker dies runs again (with the
Redis transport an unacknowledged message comes back after `CELERY_VISIBILITY_TIMEOUT` seconds,
which must exceed the longest task and any retry countdown); every task makes its effect once.
Enqueues go through the transactional outbox (`shop.outbox`), so a Redis outage loses nothing.
"""

from __future__ import annotations

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask, current_app, has_app_context

from shop.outbox import enqueue


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            # A fresh app context (so a fresh session) of the caller's app when run eagerly inside
            # one; in a worker, of the app that created this Celery instance.
            flask_app = current_app._get_current_object() if has_app_context() else app
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    broker = app.config.get("CELERY_BROKER_URL") or ""
    eager = not broker
    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=broker or "memory://",
        result_backend=app.config.get("CELERY_RESULT_BACKEND") or None,
        task_ignore_result=True,
        task_always_eager=eager,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options=_transport_options(app),
        timezone="Asia/Shanghai",
        task_routes={"search.tasks.*": {"queue": "search"}},
        beat_schedule={
            "expire-orders": {"task": "orders.tasks.expire_orders", "schedule": 60.0},
            "expire-uncollected-pickups": {"task": "orders.tasks.expire_uncollected_pickups", "schedule": 3600.0},
            "forget-guest-carts": {"task": "orders.tasks.forget_guest_carts", "schedule": crontab(hour=4, minute=40)},
            "retry-refunds": {"task": "orders.tasks.retry_refunds", "schedule": 300.0},
            "expire-booking-holds": {"task": "tourism.tasks.expire_holds", "schedule": 60.0},
            "complete-stays": {"task": "tourism.tasks.complete_stays", "schedule": crontab(minute=15)},
            "remind-overdue-arrivals": {
                "task": "tourism.tasks.remind_overdue_arrivals",
                "schedule": crontab(hour=8, minute=30),
            },
            "expire-lots": {"task": "stations.tasks.expire_lots", "schedule": crontab(minute=5)},
            "remind-expiring-papers": {"task": "catalog.tasks.remind_expiring_papers", "schedule": crontab(minute=20)},
            "drain-outbox": {
                "task": "shop.outbox.drain",
                "schedule": float(app.config.get("OUTBOX_DRAIN_SECONDS", 30)),
            },
            "monthly-income-report": {
                "task": "county.tasks.monthly_income_report",
                "schedule": crontab(day_of_month=1, hour=3, minute=0),
            },
        },
        **app.config.get("CELERY", {}),
    )
    check_timeouts(app, celery)
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


class TimeoutMisconfigured(RuntimeError):
    """The broker's visibility timeout and the mail-claim timeout are the wrong way round."""


def check_timeouts(app: Flask, celery: Celery) -> None:
    """Refuse to start unless the broker's visibility timeout is longer than MAIL_CLAIM_STALE_SECONDS.

    A mail whose worker died is delivered again after the visibility timeout; the new run takes
    over the dead run's claim in `sent_mail` only once the claim is older than
    MAIL_CLAIM_STALE_SECONDS (shop/mail.py). With the visibility timeout the shorter one, the message
    comes back while the claim still looks alive, so the redelivered run backs off, and a
    message can run out of redeliveries and retries before the claim is ever taken over: the
    mail is lost."""
    visibility = (celery.conf.broker_transport_options or {}).get("visibility_timeout")
    claim = int(app.config.get("MAIL_CLAIM_STALE_SECONDS", 300))
    if visibility is None or float(visibility) <= claim:
        raise TimeoutMisconfigured(
            f"the Celery visibility timeout (CELERY_VISIBILITY_TIMEOUT={visibility}) must be longer than the "
            f"mail-claim timeout (MAIL_CLAIM_STALE_SECONDS={claim}): a redelivered mail would find its dead "
            "worker's claim still fresh and could be lost"
        )


def _transport_options(app: Flask) -> dict:
    """Redis transport: unacked tasks come back after the visibility timeout, swept at least every
    quarter of it; short socket timeouts so a dead Redis fails a publish instead of hanging it."""
    visibility = int(app.config.get("CELERY_VISIBILITY_TIMEOUT", 3600))
    return {
        "visibility_timeout": visibility,
        "unacked_restore_interval": max(1, min(10, visibility // 4)),
        "unacked_restore_throttle": 1 if visibility < 400 else 10,
        "socket_connect_timeout": float(app.config.get("CELERY_BROKER_CONNECT_TIMEOUT", 2)),
        "socket_timeout": float(app.config.get("CELERY_BROKER_SOCKET_TIMEOUT", 10)),
    }


def enqueue_after_commit(task, *args, **kwargs) -> None:
    """Run `task(*args, **kwargs)` once the current transaction commits (`task`: a task, or its
    registered name, e.g. "orders.tasks.execute_refund").

    With a broker the task is written to the outbox in this transaction and published after the
    commit; if Redis is down it waits there and is published by the drain (`shop.outbox`). With no
    broker it runs in process after the commit. Arguments must be JSON values (ids, strings)."""
    enqueue(task, *args, **kwargs)
