"""The outbox relay and batched mail (production defaults; the rest of the suite publishes in the
request with OUTBOX_RELAY_SECONDS = 0).

A request only writes its outbox rows; the process's relay thread publishes them a moment later, the
order and booking e-mails of that moment as one `shop.outbox.run_batch` message per task. The worker
runs a batch in one go, each item still once per task id, and gives back what it could not send as
a task of its own. The real Redis + worker run of a batch is in tests/faults/redis_down_check.py.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

import shop.mail
import shop.outbox
from shop.celery import enqueue_after_commit
from shop.db import commit
from shop.mail import Mail, SentMail, mail_key, send_mail, send_many
from shop.outbox import RUN_BATCH, batch_runner, run_batch
from shop.timeutil import now_utc
from tests.factories import PASSWORD, make_household, make_product, make_user
from tests.faults.outbox_rows import outbox_rows
from tests.faults.services import wait_for
from tests.orders.factories import make_order
from tests.tourism.factories import make_listing

ORDER_MAIL = "orders.tasks.send_order_mail"
BOOKING_MAIL = "tourism.tasks.send_booking_mail"


@pytest.fixture
def relay(app, committed_db, monkeypatch):
    """A fresh relay for this test, on: its thread sleeps an hour after a wake-up (flush() by hand)."""
    fresh = shop.outbox.Relay(0.2)
    monkeypatch.setattr(shop.outbox, "relay", fresh)
    monkeypatch.setitem(app.config, "OUTBOX_RELAY_SECONDS", 3600)
    return fresh


@contextmanager
def order_mail_runner(runner):
    """`runner` is the order mails' batch runner inside the block (registered through
    `shop.outbox.batch_runner`, as orders.tasks registers its own), orders.tasks' own again after."""
    from orders.tasks import send_order_mail, send_order_mails

    batch_runner(send_order_mail)(runner)
    try:
        yield
    finally:
        batch_runner(send_order_mail)(send_order_mails)


def _orders(n: int):
    user = make_user()
    orders = [make_order(user, [(make_product(), 1)], now=now_utc()) for _ in range(n)]
    commit()
    return user, orders


def test_the_request_only_writes_rows_and_the_relay_publishes_mails_of_one_task_as_one_batch(
    app, committed_db, relay, published, delivered
):
    from orders.tasks import send_order_mail

    user, (first, second) = _orders(2)
    relay.flush()
    committed_db.session.commit()
    published.clear()
    delivered.clear()
    enqueue_after_commit(send_order_mail, first.id, "placed")
    commit()
    enqueue_after_commit(send_order_mail, second.id, "paid")
    enqueue_after_commit(send_mail, "a@test.cn", "s", "b")
    commit()
    assert published == [] and len(outbox_rows()) == 3  # nothing published in the requests
    ids = {tuple(r.args): r.task_id for r in outbox_rows()}
    committed_db.session.commit()

    assert relay.flush() == 3
    assert outbox_rows() == []  # published, then deleted
    (batch_name, batch_args, batch_id), (single_name, single_args, single_id) = published
    assert batch_name == RUN_BATCH and batch_id not in ids.values()
    assert batch_args == [
        ORDER_MAIL,
        [[ids[(first.id, "placed")], [first.id, "placed"], {}], [ids[(second.id, "paid")], [second.id, "paid"], {}]],
    ]
    assert (single_name, single_args, single_id) == (
        "shop.mail.send_mail",
        ["a@test.cn", "s", "b"],
        ids[("a@test.cn", "s", "b")],
    )

    committed_db.session.commit()
    published.clear()
    assert run_batch.apply(args=batch_args).get() == 2  # a worker runs the batch
    assert sorted((to, key) for to, _subject, key in delivered) == sorted(
        [
            (user.email, mail_key(ORDER_MAIL, ids[(first.id, "placed")])),
            (user.email, mail_key(ORDER_MAIL, ids[(second.id, "paid")])),
        ]
    )
    assert [s for _to, s, _k in delivered if first.code in s and "已提交" in s]
    committed_db.session.commit()  # SQLite: reading `first.code` began a (locking) transaction
    run_batch.apply(args=batch_args)  # the batch delivered again
    for task_id, args, _kwargs in batch_args[1]:  # and each message run on its own (drain, retry)
        assert send_order_mail.apply(args=args, task_id=task_id).successful()
    assert len(delivered) == 2 and published == []  # still one mail each


def test_a_batch_item_that_cannot_be_sent_goes_back_as_its_own_task_and_the_others_are_sent(
    app, committed_db, relay, published, delivered, monkeypatch
):
    from orders.tasks import send_order_mail
    from shop.auth.models import User

    orders = [make_order(make_user(), [(make_product(), 1)], now=now_utc()) for _ in range(3)]
    committed_db.session.execute(sa.update(User).where(User.id == orders[1].user_id).values(email="down@test.cn"))
    commit()
    ids = [o.id for o in orders]
    committed_db.session.commit()  # SQLite: reading the ids began a (locking) transaction
    items = [[f"task-{i}", [i, "placed"], {}] for i in ids]
    failing = {"down@test.cn"}
    sent = []

    def smtp(to, subject, body, key=None, **_kw):
        if to in failing:
            raise OSError("SMTP down")
        sent.append(key)

    monkeypatch.setattr(shop.mail, "deliver", smtp)
    assert run_batch.apply(args=[ORDER_MAIL, items]).get() == 2
    assert sorted(sent) == sorted(mail_key(ORDER_MAIL, f"task-{i}") for i in (ids[0], ids[2]))
    assert published == [(ORDER_MAIL, [ids[1], "placed"], f"task-{ids[1]}")]  # alone, same task id
    keys = set(committed_db.session.scalars(sa.select(SentMail.key)))
    assert mail_key(ORDER_MAIL, f"task-{ids[1]}") not in keys  # its claim given back
    committed_db.session.commit()

    failing.clear()  # SMTP back: the task's retry sends it, once
    assert send_order_mail.apply(args=[ids[1], "placed"], task_id=f"task-{ids[1]}").successful()
    assert send_order_mail.apply(args=[ids[1], "placed"], task_id=f"task-{ids[1]}").successful()
    assert sent.count(mail_key(ORDER_MAIL, f"task-{ids[1]}")) == 1 and len(sent) == 3


def test_a_batch_whose_runner_crashes_is_handed_back_item_by_item(app, committed_db, relay, published):
    _user, orders = _orders(2)
    items = [[f"t{o.id}", [o.id, "paid"], {}] for o in orders]
    committed_db.session.commit()

    def crash(_items):
        raise RuntimeError("database went away")

    with order_mail_runner(crash):
        assert run_batch.apply(args=[ORDER_MAIL, items]).get() == 0
    assert published == [(ORDER_MAIL, [o.id, "paid"], f"t{o.id}") for o in orders]


def test_batch_items_that_cannot_be_published_again_wait_in_the_outbox_for_the_drain(
    app, committed_db, relay, published, monkeypatch
):
    """The worker hands failed items back to the broker; if the broker is gone by then, the items
    are written back to the outbox (same task ids) and the drain publishes them later."""
    _user, orders = _orders(3)
    items = [[f"t{o.id}", [o.id, "paid"], {}] for o in orders]
    committed_db.session.commit()
    calls = []

    def flaky(name, args, kwargs, task_id):
        calls.append(task_id)
        if len(calls) > 1:
            raise ConnectionError("broker gone")
        published.append((name, args, task_id))

    monkeypatch.setattr(shop.outbox, "publish", flaky)
    with order_mail_runner(lambda batch: batch):  # none could be sent
        assert run_batch.apply(args=[ORDER_MAIL, items]).get() == 0
    assert published == [(ORDER_MAIL, [orders[0].id, "paid"], f"t{orders[0].id}")]
    mine = {f"t{o.id}" for o in orders}  # (the orders' own "placed" mails wait in the relay's rows too)
    waiting = [(r.task_name, r.args, r.task_id) for r in outbox_rows() if r.task_id in mine]
    assert waiting == [(ORDER_MAIL, [o.id, "paid"], f"t{o.id}") for o in orders[1:]]
    monkeypatch.setattr(
        shop.outbox, "publish", lambda name, args, kwargs, task_id: published.append((name, args, task_id))
    )
    shop.outbox.drain(min_age=0)
    assert [p for p in published if p[2] in mine] == [(ORDER_MAIL, [o.id, "paid"], f"t{o.id}") for o in orders]
    assert outbox_rows() == []


def test_booking_mails_travel_in_a_batch_with_their_qr_codes(app, committed_db, relay, published, monkeypatch):
    from tourism.tasks import send_booking_mail

    user = make_user()
    listing = make_listing(units=3, pay_on_arrival=True, households=[make_household()])
    commit()
    token = app.test_client().post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json['token']}"}
    relay.flush()
    committed_db.session.commit()
    published.clear()
    day = now_utc().date() + timedelta(days=5)
    codes = []
    for n in range(2):
        checkin = day + timedelta(days=n)
        r = app.test_client().post(
            "/api/v1/bookings",
            headers=headers,
            json={
                "listing_id": listing.id,
                "checkin": checkin.isoformat(),
                "checkout": (checkin + timedelta(days=1)).isoformat(),
                "guests": 1,
                "payment_method": "arrival",
            },
        )
        assert r.status_code == 201, r.json
        codes.append(r.json["code"])
    relay.flush()
    [(name, args, _id)] = [p for p in published if p[0] == RUN_BATCH]
    assert args[0] == BOOKING_MAIL and len(args[1]) == 2
    mails = []
    monkeypatch.setattr(
        shop.mail,
        "deliver",
        lambda to, subject, body, key=None, attachments=(): mails.append(
            (to, body, key, [(name, mime) for name, _content, mime in attachments])
        ),
    )
    committed_db.session.commit()
    assert run_batch.apply(args=args).get() == 2
    assert sorted(m[2] for m in mails) == sorted(mail_key(send_booking_mail.name, t) for t, _a, _k in args[1])
    for code in codes:
        [mail] = [m for m in mails if code in m[1]]
        assert mail[0] == user.email and mail[3] == [(f"{code}-qr.png", "image/png")]


def test_the_relay_thread_publishes_by_itself(app, committed_db, relay, published, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_RELAY_SECONDS", 0.01)
    enqueue_after_commit(send_mail, "a@test.cn", "s", "b")
    commit()
    assert wait_for(lambda: published, 10)
    assert [p[:2] for p in published] == [("shop.mail.send_mail", ["a@test.cn", "s", "b"])]
    assert wait_for(lambda: committed_db.session.commit() or not outbox_rows(), 10)


def test_while_redis_is_down_the_relay_leaves_the_rows_to_the_drain(app, committed_db, relay, broker_down):
    enqueue_after_commit(send_mail, "a@test.cn", "s", "b")
    commit()
    assert relay.flush() == 1
    assert shop.outbox.breaker.is_open() and len(outbox_rows()) == 1
    committed_db.session.commit()
    enqueue_after_commit(send_mail, "b@test.cn", "s", "b")
    commit()
    assert relay.items == []  # the breaker is open: the request did not even hand it over
    assert len(outbox_rows()) == 2


def test_send_many_claims_new_keys_in_one_go_and_skips_sent_and_live_ones(app, committed_db, delivered):
    now = now_utc()
    committed_db.session.add_all(
        [
            SentMail(key="k-sent", status="sent", claimed_at=now, sent_at=now),
            SentMail(key="k-live", status="sending", claimed_at=now),
            SentMail(key="k-dead", status="sending", claimed_at=now - timedelta(hours=1)),
        ]
    )
    committed_db.session.commit()
    retry = send_many(
        [Mail(k, f"{k}@test.cn", "s", "b") for k in ("k-new", "k-sent", "k-live", "k-dead", "k-new2")]
        + [Mail("k-none", "", "s", "b")]
    )
    assert retry == {"k-live"}
    assert sorted(key for _to, _s, key in delivered) == ["k-dead", "k-new", "k-new2"]
    status = dict(committed_db.session.execute(sa.select(SentMail.key, SentMail.status)).all())
    assert status == {"k-sent": "sent", "k-live": "sending", "k-dead": "sent", "k-new": "sent", "k-new2": "sent"}
