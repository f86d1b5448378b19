"""Redis stopped and started again, for real (run by test_redis_down.py in a pytest process of its own).

While a private redis-server is down: anonymous pages still render (page cache), logins are still
rate-limited (in-memory fallback) and never 500, orders and bookings are taken and their e-mail
tasks wait in the outbox, `flask outbox drain` says the broker is unreachable. Once it is back:
the drain publishes every task, one of them twice (as when a delete after publishing fails), and a
real Celery worker delivers each mail (the order's, the guest's and the host's of the booking) exactly
once to an SMTP sink. Then, with production's relay, two more orders' mails reach the worker as one
batch and are sent once each.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa

import shop.outbox
from shop.db import commit
from shop.outbox import OutboxMessage
from shop.timeutil import local_date, now_utc
from tests.factories import PASSWORD, make_household, make_product, make_user
from tests.faults.services import SmtpSink, message_text, private_redis_fixture, use_broker, wait_for
from tests.orders.factories import ADDRESS_JSON
from tests.tourism.factories import make_listing

PORT = int(os.environ.get("FAULTS_REDIS_PORT") or 0)
pytestmark = pytest.mark.skipif(not PORT, reason="run through tests/faults/test_redis_down.py")


redis_server = private_redis_fixture(PORT)


def test_redis_down_then_back(app, committed_db, redis_server, monkeypatch):
    from celery.contrib.testing.worker import start_worker

    sink = SmtpSink()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", sink.port)
    monkeypatch.setitem(app.config, "PAGE_CACHE", True)
    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    capp = use_broker(app, redis_server.url(1))
    assert app.config["RATELIMIT_STORAGE_URI"].startswith(f"redis://127.0.0.1:{PORT}/")
    assert app.config["CACHE_REDIS_URL"].startswith(f"redis://127.0.0.1:{PORT}/")

    buyer = make_user(email="buyer@test.cn")
    product = make_product(name="三江腌菜500克", stock=5)
    listing = make_listing(units=3, pay_on_arrival=True, households=[make_household()])
    commit()
    api = app.test_client()
    token = api.post("/api/v1/auth/token", json={"email": buyer.email, "password": PASSWORD}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}

    redis_server.stop()  # ------------------------------------------------------------ Redis down
    browser = app.test_client()
    pages = ("/", "/", f"/products/{product.id}")
    assert [browser.get(p, follow_redirects=True).status_code for p in pages] == [200, 200, 200]
    statuses = [
        browser.post("/login", data={"email": "nobody@test.cn", "password": "wrong"}).status_code for _ in range(12)
    ]
    assert 500 not in statuses and statuses[-1] == 429, statuses  # limited in memory meanwhile
    order = api.post(
        "/api/v1/orders",
        headers=headers,
        json={
            "items": [{"product_id": product.id, "quantity": 2}],
            "address": ADDRESS_JSON,
            "delivery": "ship",
            "payment_method": "cod",
        },
    )
    assert order.status_code == 201, order.json
    day = local_date(now_utc()) + timedelta(days=3)
    booking = api.post(
        "/api/v1/bookings",
        headers=headers,
        json={
            "listing_id": listing.id,
            "checkin": day.isoformat(),
            "checkout": (day + timedelta(days=1)).isoformat(),
            "guests": 2,
            "payment_method": "arrival",
        },
    )
    assert booking.status_code == 201, booking.json
    rows = {r.task_name: r for r in committed_db.session.scalars(sa.select(OutboxMessage))}
    assert {
        "orders.tasks.send_order_mail",
        "tourism.tasks.send_booking_mail",
        "tourism.tasks.send_host_booking_mail",
    } <= set(rows)
    order_mail = rows["orders.tasks.send_order_mail"]
    copy = (order_mail.task_name, order_mail.args, order_mail.kwargs, order_mail.task_id)
    committed_db.session.commit()
    down = app.test_cli_runner().invoke(args=["outbox", "drain", "--min-age", "0"])
    assert down.exit_code == 1 and "broker unreachable" in down.output
    assert sink.messages == []

    redis_server.start()  # ------------------------------------------------------------- Redis back
    up = app.test_cli_runner().invoke(args=["outbox", "drain", "--min-age", "0"])
    assert up.exit_code == 0 and f"published {len(rows)}" in up.output, up.output
    shop.outbox.publish(*copy)  # the same task once more: published, then its DELETE failed
    assert redis_server.client(1).llen("celery") == 4  # three mails + the repeat ("search" has the rest)
    assert browser.get("/").status_code == 200
    committed_db.session.remove()  # end this thread's transaction (on SQLite it holds the write lock)
    with start_worker(
        capp,
        pool="solo",
        concurrency=1,
        queues=["celery"],
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=10,
    ):
        assert wait_for(lambda: len(sink.messages) >= 3 and redis_server.client(1).llen("celery") == 0, 20)
        assert wait_for(lambda: False, 1.0) is False  # give a repeat the time to arrive
        bodies = [message_text(m) for m in sink.messages]
        assert len(bodies) == 3, (
            bodies
        )  # the order's mail, the guest's and the host's of the booking: the repeat sent nothing
        assert sum(order.json["id"] in b for b in bodies) == 1
        assert sum(booking.json["code"] in b for b in bodies) == 2  # the guest's mail and the host's

        # production's relay: orders taken now are published a moment later, their mails in one batch
        monkeypatch.setattr(shop.outbox, "relay", shop.outbox.Relay(0.2))
        monkeypatch.setitem(app.config, "OUTBOX_RELAY_SECONDS", 0.3)
        names, real_publish = [], shop.outbox.publish
        monkeypatch.setattr(shop.outbox, "publish", lambda name, *rest: names.append(name) or real_publish(name, *rest))
        more = [
            api.post(
                "/api/v1/orders",
                headers=headers,
                json={
                    "items": [{"product_id": product.id, "quantity": 1}],
                    "address": ADDRESS_JSON,
                    "delivery": "ship",
                    "payment_method": "cod",
                },
            )
            for _ in range(2)
        ]
        assert [r.status_code for r in more] == [201, 201]
        assert wait_for(lambda: len(sink.messages) >= 5, 20)
        assert wait_for(lambda: False, 1.0) is False
    bodies = [message_text(m) for m in sink.messages[3:]]
    assert len(bodies) == 2 and all(sum(r.json["id"] in b for b in bodies) == 1 for r in more), bodies
    assert names.count(shop.outbox.RUN_BATCH) == 1 and "orders.tasks.send_order_mail" not in names, names
    assert committed_db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    sink.close()
