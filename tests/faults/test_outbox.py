"""Redis down: the shop still takes orders and bookings, their tasks wait in the outbox, the drain
publishes each once; every mail task makes its effect once per task id.

In process, on SQLite and PostgreSQL, no services needed: "Redis down" is the app's Celery pointed
at a closed port; "Redis up" is a recording stand-in for the publish. The real Redis stop/start
with a real worker is tests/faults/test_redis_down.py.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from celery.exceptions import Retry

import shop.mail
import shop.outbox
from shop.celery import enqueue_after_commit
from shop.db import commit, rollback
from shop.mail import MailInFlight, SentMail, send_mail, send_once
from shop.outbox import OutboxMessage, drain
from shop.timeutil import local_date, now_utc
from tests.conftest import requires_postgres
from tests.factories import make_household, make_product, make_user
from tests.faults.outbox_rows import outbox_rows
from tests.orders.factories import ADDRESS_JSON, make_order
from tests.tourism.factories import make_listing


def _age_rows(seconds: int = 60) -> None:
    shop.outbox.db.session.execute(sa.update(OutboxMessage).values(created_at=now_utc() - timedelta(seconds=seconds)))
    commit()


# ------------------------------------------------------------------------------------ Redis down


def test_orders_and_bookings_are_taken_while_redis_is_down_and_their_mail_waits_in_the_outbox(
    client, db, api_token, broker_down
):
    headers = api_token(make_user())
    product = make_product(stock=5)
    listing = make_listing(units=3, pay_on_arrival=True, households=[make_household()])
    commit()
    order = client.post(
        "/api/v1/orders",
        headers=headers,
        json={
            "items": [{"product_id": product.id, "quantity": 1}],
            "address": ADDRESS_JSON,
            "delivery": "ship",
            "payment_method": "cod",
        },
    )
    assert order.status_code == 201, order.json
    assert shop.outbox.breaker.is_open()  # the next requests do not wait for Redis
    day = local_date(now_utc()) + timedelta(days=3)
    booking = client.post(
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
    tasks = [(r.task_name, r.args) for r in outbox_rows()]
    assert ("orders.tasks.send_order_mail", [order_db_id(order.json["id"]), "placed"]) in tasks
    assert "tourism.tasks.send_booking_mail" in [name for name, _ in tasks]
    assert len({r.task_id for r in outbox_rows()}) == len(tasks)


def order_db_id(code: str) -> int:
    from orders.models import Order

    return shop.outbox.db.session.scalar(sa.select(Order.id).where(Order.code == code))


def test_search_index_updates_join_the_outbox_in_the_changes_transaction(db, broker_down):
    product = make_product(name="南安板鸭1只")
    assert outbox_rows() == []  # nothing before the commit
    commit()
    assert [(r.task_name, r.args) for r in outbox_rows()] == [("search.tasks.reindex_products", [[product.id]])]


def test_a_rolled_back_change_leaves_no_task(db, published):
    user = make_user()
    enqueue_after_commit(send_mail, user.email, "s", "b")
    rollback()
    commit()
    assert outbox_rows() == [] and published == []


def test_the_drain_keeps_rows_while_the_broker_is_still_down(app, db, broker_down):
    enqueue_after_commit(send_mail, "a@test.cn", "s", "b")
    commit()
    _age_rows()
    result = drain()
    assert result.published == 0 and result.left == 1 and "Error" in result.error
    [row] = outbox_rows()
    assert row.attempts == 1 and row.last_error
    out = app.test_cli_runner().invoke(args=["outbox", "drain"])
    assert out.exit_code == 1 and "broker unreachable" in out.output


# -------------------------------------------------------------------------------------- Redis up


def test_after_commit_the_task_is_published_under_its_row_id_and_the_row_deleted(db, published):
    enqueue_after_commit(send_mail, "a@test.cn", "s", "b")
    assert published == []
    commit()
    assert [(name, args) for name, args, _ in published] == [("shop.mail.send_mail", ["a@test.cn", "s", "b"])]
    assert outbox_rows() == []


def test_the_drain_publishes_what_waited_once_oldest_first_and_leaves_fresh_rows(app, db, published, monkeypatch):
    failing = True

    def flaky(name, args, kwargs, task_id):
        if failing:
            raise ConnectionError("redis down")
        published.append((name, args, task_id))

    monkeypatch.setattr(shop.outbox, "publish", flaky)
    for n in range(3):
        enqueue_after_commit(send_mail, f"{n}@test.cn", "s", "b")
        commit()
    waiting = [(r.args[0], r.task_id) for r in outbox_rows()]
    assert len(waiting) == 3  # the first failure left all three (the breaker skipped the others)
    failing = False
    assert drain().published == 0  # all younger than OUTBOX_MIN_AGE_SECONDS: their writer's business
    _age_rows()
    out = app.test_cli_runner().invoke(args=["outbox", "drain"])
    assert out.exit_code == 0 and "published 3" in out.output
    assert [(args[0], task_id) for _name, args, task_id in published] == waiting
    assert outbox_rows() == [] and drain(min_age=0).published == 0
    assert not shop.outbox.breaker.is_open()


def test_a_row_whose_delete_failed_is_published_again_with_the_same_task_id_and_mails_once(
    app, db, published, delivered, monkeypatch
):
    from orders.tasks import send_order_mail

    user = make_user()
    order = make_order(user, [(make_product(), 1)], now=now_utc())
    commit()
    published.clear()
    delete = shop.outbox.delete_published
    monkeypatch.setattr(shop.outbox, "delete_published", _failing_delete)
    enqueue_after_commit(send_order_mail, order.id, "placed")
    commit()  # published, but the row stays
    monkeypatch.setattr(shop.outbox, "delete_published", delete)
    _age_rows()
    assert drain().published == 1 and outbox_rows() == []
    first, second = [p for p in published if p[0] == "orders.tasks.send_order_mail"]
    assert first == second  # the same message twice
    for _name, args, task_id in (first, second):  # a worker runs both copies
        assert send_order_mail.apply(args=args, task_id=task_id).successful()
    assert [to for to, _s, _k in delivered] == [user.email]


def _failing_delete(*_a, **_k):
    raise RuntimeError("database went away before the delete")


def test_published_rows_are_deleted_in_batches_by_a_thread_and_a_failed_batch_is_drained_later(
    app, committed_db, published, delivered, monkeypatch
):
    """OUTBOX_DELETE_SECONDS > 0 (production): the request publishes and returns; the process's
    delete thread removes the published rows in one statement later. If that delete fails, the rows
    stay and the drain publishes them again with the same task id: one mail."""
    from orders.tasks import send_order_mail

    monkeypatch.setitem(app.config, "OUTBOX_DELETE_SECONDS", 3600)  # the thread sleeps; flush() by hand
    user = make_user()
    order = make_order(user, [(make_product(), 1)], now=now_utc())
    commit()
    committed_db.session.commit()
    shop.outbox.deletes.flush()  # what the setup enqueued (index update, order mail)
    assert outbox_rows() == []
    published.clear()
    enqueue_after_commit(send_order_mail, order.id, "placed")
    enqueue_after_commit(send_mail, "a@test.cn", "s", "b")
    commit()
    assert [p[0] for p in published] == ["orders.tasks.send_order_mail", "shop.mail.send_mail"]
    assert len(outbox_rows()) == 2  # published; the delete waits for the batch
    committed_db.session.commit()
    assert shop.outbox.deletes.flush() == 2
    assert outbox_rows() == [] and shop.outbox.deletes.flush() == 0
    committed_db.session.commit()

    published.clear()
    enqueue_after_commit(send_order_mail, order.id, "paid")
    commit()
    monkeypatch.setattr(shop.outbox, "delete_published", _failing_delete)
    assert shop.outbox.deletes.flush() == 1  # tried, failed, logged: the row stays
    assert len(outbox_rows()) == 1
    _age_rows()
    assert drain().published == 1 and outbox_rows() == []
    committed_db.session.commit()  # SQLite: the tasks below write from their own sessions
    first, again = published
    assert first == again  # the same message (task id) twice
    for _name, args, task_id in (first, again):
        assert send_order_mail.apply(args=args, task_id=task_id).successful()
    assert [to for to, _s, _k in delivered] == [user.email]


@requires_postgres
def test_two_drainers_never_publish_the_same_row(app, committed_db, published, monkeypatch):
    """FOR UPDATE SKIP LOCKED: drainers running together take disjoint rows."""
    shop.outbox.breaker.trip(60)  # Redis "down" for the writer: the rows stay for the drainers
    for n in range(40):
        enqueue_after_commit(send_mail, f"{n}@test.cn", "s", "b")
    commit()
    assert published == []
    _age_rows()
    lock = threading.Lock()

    def slow(name, args, kwargs, task_id):
        time.sleep(0.005)  # long enough for the other drainer to come by
        with lock:
            published.append(task_id)

    monkeypatch.setattr(shop.outbox, "publish", slow)
    counts = []

    def run():
        with app.app_context():
            counts.append(drain(batch=5).published)
            committed_db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(counts) == 3 and sum(counts) == 40
    assert len(published) == 40 and len(set(published)) == 40  # no row published twice


# ------------------------------------------------------------------------------- mail, once each


@pytest.fixture
def dedupe(broker, delivered):
    """As with a broker: mail tasks key their mail by task id."""
    broker("memory://")
    return delivered


def test_each_mail_task_run_twice_with_one_task_id_mails_once(db, dedupe):
    from orders.tasks import send_order_mail
    from stations.tasks import notify_line_canceled, notify_shipment
    from tests.tourism.factories import make_booking
    from tourism.tasks import send_booking_mail

    buyer = make_user()
    order = make_order(buyer, [(make_product(), 1)], now=now_utc())
    listing = make_listing(units=2)
    booking = make_booking(
        listing, user=buyer, check_in=local_date(now_utc()) + timedelta(days=2), confirmation_code="123456"
    )
    commit()
    runs = [
        (send_order_mail, [order.id, "placed"]),
        (notify_shipment, [order.shipments[0].id, "shipped"]),
        (notify_line_canceled, [order.lines[0].id, "缺货"]),
        (send_booking_mail, [booking.id]),
        (send_mail, [buyer.email, "重设密码", "link"]),
    ]
    for task, args in runs:
        for _ in range(2):
            result = task.apply(args=args, task_id=f"id-{task.name}")
            assert result.successful(), result.traceback
    assert len(dedupe) == len(runs)
    assert {key for _to, _s, key in dedupe} == {f"{task.name}:id-{task.name}" for task, _ in runs}
    assert shop.outbox.db.session.scalar(sa.select(sa.func.count()).where(SentMail.status == "sent")) == len(runs)
    send_mail.apply(args=[buyer.email, "重设密码", "link"], task_id="another-id")
    assert len(dedupe) == len(runs) + 1  # another task (another request) is another mail


def test_a_mail_being_sent_by_a_live_run_is_not_sent_again_and_a_dead_runs_claim_is_taken_over(
    app, db, dedupe, monkeypatch
):
    db.session.add(SentMail(key="k-live", status="sending", claimed_at=now_utc()))
    db.session.add(SentMail(key="k-dead", status="sending", claimed_at=now_utc() - timedelta(hours=1)))
    commit()
    with pytest.raises(MailInFlight):  # the task retries later, finds it sent and stops
        send_once("k-live", "a@test.cn", "s", "b")
    assert send_once("k-dead", "a@test.cn", "s", "b") is True
    assert [key for _to, _s, key in dedupe] == ["k-dead"]


def test_a_failed_smtp_call_gives_the_key_back_so_the_retry_sends(db, dedupe, monkeypatch):
    def down(*_a, **_k):
        raise OSError("smtp down")

    monkeypatch.setattr(shop.mail, "deliver", down)
    with pytest.raises(OSError):
        send_once("k-retry", "a@test.cn", "s", "b")
    assert db.session.scalar(sa.select(SentMail).where(SentMail.key == "k-retry")) is None
    monkeypatch.setattr(
        shop.mail, "deliver", lambda to, subject, body, key=None, **_kw: dedupe.append((to, subject, key))
    )
    assert send_once("k-retry", "a@test.cn", "s", "b") is True
    assert send_once("k-retry", "a@test.cn", "s", "b") is False
    assert len(dedupe) == 1


def test_the_mail_message_id_is_the_same_for_every_run_of_one_task(app):
    with app.app_context():
        one = shop.mail.build_message("a@test.cn", "s", "b", key="orders.tasks.send_order_mail:x")
        two = shop.mail.build_message("a@test.cn", "s", "b", key="orders.tasks.send_order_mail:x")
        other = shop.mail.build_message("a@test.cn", "s", "b", key="orders.tasks.send_order_mail:y")
    assert one["Message-ID"] == two["Message-ID"] != other["Message-ID"]


def test_old_mail_keys_are_forgotten(app, db):
    db.session.add(SentMail(key="old", status="sent", claimed_at=now_utc() - timedelta(days=40)))
    db.session.add(SentMail(key="new", status="sent", claimed_at=now_utc()))
    commit()
    assert shop.mail.forget_sent() == 1
    assert list(db.session.scalars(sa.select(SentMail.key))) == ["new"]


def test_beat_drains_the_outbox_and_workers_come_back_for_lost_tasks(app):
    capp = app.extensions["celery"]
    schedule = {entry["task"] for entry in capp.conf.beat_schedule.values()}
    assert "shop.outbox.drain" in schedule and "shop.outbox.drain" in capp.tasks
    assert capp.conf.task_acks_late and capp.conf.task_reject_on_worker_lost
    assert capp.conf.broker_transport_options["visibility_timeout"] == app.config["CELERY_VISIBILITY_TIMEOUT"]
    assert app.config["DB_PING_IDLE_SECONDS"] > 0  # idle pooled connections are pinged (tests/test_db_pool.py)


def test_the_approvers_mail_task_mails_each_approver_once_and_a_run_again_only_those_it_could_not(
    client, db, api_token, dedupe, monkeypatch
):
    from institutions.tasks import notify_approvers
    from tests.institutions.factories import add_member
    from tests.institutions.purchase_setup import organisation_with_products, purchase_body

    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    english = make_user(email="approver-en@test.cn")
    english.locale = "en"
    add_member(organisation, english, role="approver")
    commit()
    headers = api_token(buyer)
    purchase_id = client.post("/api/v1/purchases", headers=headers, json=purchase_body(organisation, rice, eggs)).json[
        "id"
    ]
    assert client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=headers).status_code == 200
    assert [r.task_name for r in outbox_rows()] == [] and dedupe == []  # published (to memory), not run
    record = shop.mail.deliver
    down_once = {english.email}

    def smtp_refuses_the_first_try_for_one(to, subject, body, key=None, **kw):
        if to in down_once:
            down_once.discard(to)
            raise OSError("smtp down")
        record(to, subject, body, key=key, **kw)

    monkeypatch.setattr(shop.mail, "deliver", smtp_refuses_the_first_try_for_one)
    key = f"{notify_approvers.name}:id-approvers"
    chinese = (approver.email, f"[乡村e线] 采购单 {purchase_id} 待审批", f"{key}:{approver.id}")
    english_mail = (english.email, f"[Village e-Line] Purchase {purchase_id} awaits approval", f"{key}:{english.id}")

    with pytest.raises(Retry):  # one of the two not sent: the task is to run again
        notify_approvers.apply(args=[purchase_id], task_id="id-approvers")
    assert dedupe == [chinese]
    for _ in range(2):  # run again (its retry, then a redelivery of the same message): the one left, once
        result = notify_approvers.apply(args=[purchase_id], task_id="id-approvers")
        assert result.successful(), result.traceback
    assert dedupe == [chinese, english_mail]
