"""#18: the station cash book, cash taken in the hand-over step, cash refunds, the daily close."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from ledger.models import IncomeEntry
from orders.models import CashClose, CashEntry, LineStatus, OrderStatus, PaymentState, Refund, ShipmentStatus
from orders.services import cashbook as cash
from orders.services import payments
from orders.services.amounts import order_due_fen
from shop.db import commit
from shop.errors import Conflict, ValidationError
from shop.once import new_form_token
from shop.schema import AppendOnlyError
from shop.timeutil import local_date, now_utc
from stations.services import fulfilment
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.factories import make_product, make_station, make_user
from tests.stations.factories import PICKUP_CODE, make_order
from tests.stations.fulfilment_steps import at_the_counter, shipped


def _credited(db, order) -> int:
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(IncomeEntry.amount_fen), 0)).where(
            IncomeEntry.order_line_id.in_([l.id for l in order.lines])
        )
    )


def _entries(db, **where) -> list[CashEntry]:
    query = sa.select(CashEntry).order_by(CashEntry.id)
    for key, value in where.items():
        query = query.where(getattr(CashEntry, key) == value)
    return list(db.session.scalars(query))


def test_cod_delivery_through_the_api_needs_the_cash_and_then_credits_once(db, world, now, client, api_token):
    order = make_order([(world.a.product, 2)], payment_method="cod")  # 2 × ¥33.33
    shipment = order.shipments[0]
    shipped(order, world.a.operator, now)
    commit()
    headers = api_token(world.a.operator)
    url = f"/api/v1/shipments/{shipment.code}/transition"
    for body in ({"action": "deliver"}, {"action": "deliver", "cash_received_fen": 6000}):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 409, response.json
        assert response.json["error"]["code"] == "cash_not_received"
        db.session.expire_all()
        assert shipment.status == ShipmentStatus.SHIPPED and order.status == OrderStatus.CONFIRMED
        assert _credited(db, order) == 0 and _entries(db) == []
        assert order.payments[0].state == PaymentState.CREATED
    response = client.post(url, json={"action": "deliver", "cash_received_fen": 6666}, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["cash_received"] is True
    db.session.expire_all()
    assert shipment.status == ShipmentStatus.DELIVERED and order.status == OrderStatus.COMPLETED
    (entry,) = _entries(db)
    assert (entry.kind, entry.amount_fen, entry.shipment_id, entry.station_id, entry.actor_id) == (
        "cod",
        6666,
        shipment.id,
        world.a.station.id,
        world.a.operator.id,
    )
    assert order.payments[0].state == PaymentState.CONFIRMED
    credited = _credited(db, order)
    assert credited == 6666 - 667  # the producer share (10 % commission), credited once
    again = client.post(url, json={"action": "deliver", "cash_received_fen": 6666}, headers=headers)
    assert again.status_code == 409
    db.session.expire_all()
    assert _credited(db, order) == credited and len(_entries(db)) == 1


@pytest.mark.parametrize(
    ("lang", "due", "exact"),
    [("zh_CN", "应收 ¥66.66", "须如数填写应收金额 ¥66.66"), ("en", "¥66.66 due", "Type exactly ¥66.66")],
)
def test_the_counter_cash_field_names_the_amount_due_and_asks_for_exactly_that(
    db, world, now, client, auth, lang, due, exact
):
    """The counter hand-over of a pay-at-station order takes the cash only when it is exactly the amount due
    (change given back not counted): the field says so, with the amount, before the operator types, in the
    label and in a hint read with the field — not only in the refusal after a wrong amount."""
    order = make_order([(world.a.product, 2)], delivery="pickup", payment_method="station_cash")  # 2 × ¥33.33
    shipped(order, world.a.operator, now)
    commit()
    auth.login(world.a.operator)
    page = client.get(f"/station/shipments/{order.shipments[0].code}?lang={lang}").get_data(as_text=True)
    label = re.search(r'<label for="cash_received">([^<]*)</label>', page)
    field = re.search(r'<input id="cash_received"[^>]*aria-describedby="([^"]+)"', page)
    assert label and due in label.group(1), page
    assert field, "the cash field names no hint"
    hint = re.search(rf'<p class="hint" id="{field.group(1)}">([^<]*)</p>', page)
    assert hint and exact in hint.group(1), hint


def test_buyer_reads_the_cash_taken_in_the_shipment_history_not_a_second_shipped(db, world, now, client, auth):
    """The cash written at the hand-over is an event of the shipment that keeps its status (shipped ->
    shipped): the buyer's order page names it (已收现金 ¥66.66) instead of showing 已发货 twice."""
    buyer = make_user()
    order = make_order([(world.a.product, 2)], buyer=buyer, payment_method="cod")
    shipment = order.shipments[0]
    shipped(order, world.a.operator, now)
    fulfilment.deliver(shipment, actor=world.a.operator, now=now, cash_received_fen=6666)
    commit()
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    history = page.split(shipment.code, 1)[1].split("</ol>", 1)[0]
    assert "已收现金 ¥66.66" in history
    assert history.count("已发货") == 1 and "已送达" in history


def test_pickup_form_needs_the_cash_received_field(db, world, now, client, auth):
    shipment, url = at_the_counter(world, now, auth)
    page = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    assert 'name="cash_received"' in page
    for value in ("", "66.00", "abc"):
        response = client.post(
            url,
            data={"confirm": "1", "action": "pickup", "pickup_code": PICKUP_CODE, "cash_received": value},
        )
        assert response.status_code in (409, 422), value  # the page again, with the reason
        db.session.expire_all()
        assert shipment.status == ShipmentStatus.READY_FOR_PICKUP and _entries(db) == []
    text = client.post(
        url,
        data={"confirm": "1", "action": "pickup", "pickup_code": PICKUP_CODE, "cash_received": "66.00"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "¥66.66" in text  # the message names the amount due
    client.post(url, data={"confirm": "1", "action": "pickup", "pickup_code": PICKUP_CODE, "cash_received": "66.66"})
    db.session.expire_all()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert [(e.kind, e.amount_fen) for e in _entries(db)] == [("station_cash", 6666)]
    assert _credited(db, shipment.order) > 0
    page = client.get("/station/cash").get_data(as_text=True)
    assert "¥66.66" in page and shipment.code in page


def test_partial_cancellation_of_a_three_station_cash_order_leaves_the_payment_paid(db, world, now):
    """#18.2: cash confirmed for two shipments of a three-station order, then the third station
    cancels: the payment is paid (it was left pending forever), and the whole order is handed over
    at the chosen station with its cash already in the book."""
    third = make_product(price_fen=1000, stock=5, station=make_station(code="STC"))
    order = make_order(
        [(world.a.product, 1), (world.b.product, 1), (third, 1)], payment_method="station_cash", delivery="pickup"
    )
    order.pickup_station_id = world.a.station.id
    db.session.flush()
    by_station = {s.station_id: s for s in order.shipments}
    first, second, last = by_station[world.a.station.id], by_station[world.b.station.id], by_station[third.station_id]
    for shipment in (first, second):
        payments.confirm_counter_cash(shipment, actor=world.a.operator, now=now)
    assert order.payments[0].state != PaymentState.CONFIRMED
    # the entries are in the chosen station's book: it is the one that takes the cash
    assert {e.station_id for e in _entries(db)} == {world.a.station.id}
    admin = make_user(role="admin")
    fulfilment.cancel_shipment(last, actor=admin, now=now, reason="缺货")
    assert last.status == ShipmentStatus.CANCELED
    assert order.payments[0].state == PaymentState.CONFIRMED  # every remaining shipment's money is in
    fulfilment.accept(second, actor=world.b.operator, now=now)
    fulfilment.pack(second, actor=world.b.operator, now=now)
    fulfilment.ship(second, tracking_number="", actor=world.b.operator, now=now)
    fulfilment.receive(second, actor=world.a.operator, now=now)
    fulfilment.accept(first, actor=world.a.operator, now=now)
    fulfilment.pack(first, actor=world.a.operator, now=now)
    fulfilment.hand_over_pickup(first, pickup_code=PICKUP_CODE, actor=world.a.operator, now=now)
    assert {s.status for s in (first, second)} == {ShipmentStatus.DELIVERED}
    assert order.status == OrderStatus.COMPLETED
    assert order.total_fen == 3333 * 2 + 1000  # never rewritten
    assert order_due_fen(order) == 3333 * 2
    assert sum(e.amount_fen for e in _entries(db)) == 3333 * 2


def test_whole_pickup_order_needs_all_its_cash_in_the_hand_over_step(db, world, now, client, api_token):
    order = make_order([(world.a.product, 1), (world.b.product, 2)], payment_method="station_cash", delivery="pickup")
    order.pickup_station_id = world.a.station.id
    db.session.flush()
    mine = next(s for s in order.shipments if s.station_id == world.a.station.id)
    other = next(s for s in order.shipments if s.station_id == world.b.station.id)
    fulfilment.accept(other, actor=world.b.operator, now=now)
    fulfilment.pack(other, actor=world.b.operator, now=now)
    fulfilment.ship(other, tracking_number="", actor=world.b.operator, now=now)
    fulfilment.receive(other, actor=world.a.operator, now=now)
    fulfilment.accept(mine, actor=world.a.operator, now=now)
    fulfilment.pack(mine, actor=world.a.operator, now=now)
    commit()
    headers = api_token(world.a.operator)
    url = f"/api/v1/shipments/{mine.code}/transition"
    for amount in (None, 3333, 9999 + 1):
        body = {"action": "pickup", "pickup_code": PICKUP_CODE, "cash_received_fen": amount}
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 409 and response.json["error"]["code"] == "cash_not_received", response.json
        assert response.json["error"]["fields"]["amount_due_fen"] == "9999"
    db.session.expire_all()
    assert _entries(db) == [] and {mine.status, other.status} == {"ready_for_pickup", "arrived"}
    response = client.post(
        url, json={"action": "pickup", "pickup_code": PICKUP_CODE, "cash_received_fen": 9999}, headers=headers
    )
    assert response.status_code == 200, response.json
    db.session.expire_all()
    assert sorted((e.shipment_id, e.amount_fen, e.station_id) for e in _entries(db)) == sorted(
        [(mine.id, 3333, world.a.station.id), (other.id, 6666, world.a.station.id)]
    )
    assert {mine.status, other.status} == {"delivered"} and order.payments[0].state == PaymentState.CONFIRMED
    assert _credited(db, order) > 0


def test_cash_refund_after_hand_over_is_a_refund_row_and_a_cash_book_entry(db, world, now, client, auth):
    from orders.services.refunds import approve_refund_request

    shipment, req = _picked_up_cash_order_with_a_refund_asked(world, now)
    order = shipment.order
    line = order.lines[1]
    approve_refund_request(req.id, actor=world.a.operator, now=now + timedelta(minutes=5), goods="not_returned")
    refund = db.session.scalar(sa.select(Refund))
    # owed (待退还) until the operator hands the cash back: then it leaves the till, in the book
    assert (refund.amount_fen, refund.state, refund.order_line_id) == (3333, "owed", line.id)
    assert [e.kind for e in _entries(db)] == ["station_cash"]
    assert cash.shipment_cash_fen(shipment.id) == 3333  # the buyer's ¥33.33 is owed, not the station's
    assert payments.hand_back_cash(refund, actor=world.a.operator, now=now + timedelta(minutes=6))
    assert refund.state == "succeeded"
    entries = _entries(db)
    assert [(e.kind, e.amount_fen, e.refund_id) for e in entries] == [
        ("station_cash", 6666, None),
        ("refund", -3333, refund.id),
    ]
    assert order.total_fen == 6666 and order.payments[0].amount_fen == 6666  # nothing rewritten
    assert line.status == LineStatus.REFUNDED
    assert cash.shipment_cash_fen(shipment.id) == fulfilment.shipment_amount_fen(shipment) == 3333
    book = cash.day_book(world.a.station.id, local_date(now))
    assert book.expected_fen == 3333
    # the other line's income stays, the refunded one is reversed to zero
    assert _credited(db, order) == 3333 - 333


def _picked_up_cash_order_with_a_refund_asked(world, now):
    """A pick-up order of two lines (¥33.33 each) paid in cash at the hand-over (¥66.66 in the book), and
    its buyer's request to refund the second line, not returned: (its shipment, the request)."""
    from orders.services.refunds import request_refund

    second = make_product(price_fen=3333, stock=5, station=world.a.station)
    order = make_order(
        [(world.a.product, 1), (second, 1)], delivery="pickup", payment_method="station_cash", buyer=world.buyer
    )
    shipment = order.shipments[0]
    shipped(order, world.a.operator, now)
    fulfilment.hand_over_pickup(
        shipment, pickup_code=PICKUP_CODE, actor=world.a.operator, now=now, cash_received_fen=6666
    )
    req = request_refund(order, order.lines[1].id, actor=world.buyer, now=now, reason="坏了", kind="refund_only")
    return shipment, req


def test_a_handed_over_cash_order_refunded_in_part_shows_the_amount_collected_not_an_amount_due(
    db, world, now, client, auth
):
    """After the hand-over and a refund of one line the shipment's figure is what the station kept (¥33.33,
    net of the refund): 实收金额, not 应收金额 — it is not owed any more."""
    from orders.services.refunds import approve_refund_request

    shipment, req = _picked_up_cash_order_with_a_refund_asked(world, now)
    approve_refund_request(req.id, actor=world.a.operator, now=now + timedelta(minutes=5), goods="not_returned")
    commit()
    auth.login(world.a.operator)
    for lang, collected, due in (("zh_CN", "实收金额", "应收金额"), ("en", "Amount collected", "Amount due")):
        page = client.get(f"/station/shipments/{shipment.code}?lang={lang}").get_data(as_text=True)
        assert re.search(rf"<dt>{collected}[^<]*</dt><dd>¥33\.33</dd>", page), lang
        assert f"<dt>{due}</dt>" not in page, lang


def test_cash_taken_before_hand_over_goes_back_when_lines_are_canceled(db, world, now):
    second = make_product(price_fen=3333, stock=5, station=world.a.station)
    order = make_order([(world.a.product, 1), (second, 2)], delivery="pickup", payment_method="station_cash")
    shipment = order.shipments[0]
    payments.confirm_counter_cash(shipment, actor=world.a.operator, now=now)
    assert order.payments[0].state == PaymentState.CONFIRMED
    fulfilment.cancel_line(order.lines[0], actor=world.a.operator, now=now, reason="缺货")
    fulfilment.cancel_line(order.lines[1], actor=world.a.operator, now=now, reason="缺货")
    assert shipment.status == ShipmentStatus.CANCELED and order.status == OrderStatus.CANCELED
    assert [e.amount_fen for e in _entries(db)] == [9999]  # owed to the buyer, still in the till
    assert cash.shipment_cash_fen(shipment.id) == 0
    for refund in payments.cash_to_hand_back(world.a.station.id):
        payments.hand_back_cash(refund, actor=world.a.operator, now=now)
    assert [e.amount_fen for e in _entries(db)] == [9999, -3333, -6666]
    assert cash.shipment_cash_fen(shipment.id) == 0
    assert len(db.session.scalars(sa.select(Refund)).all()) == 2


def test_buyer_cancelling_a_cash_order_gets_the_cash_back_from_the_till(db, world, now):
    from orders.services.payments import cancel_order

    order = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash", buyer=world.buyer)
    payments.confirm_counter_cash(order.shipments[0], actor=world.a.operator, now=now)
    cancel_order(order, actor=world.buyer, now=now, reason="不要了")
    assert [e.kind for e in _entries(db)] == ["station_cash"]  # the cash waits in the till for the buyer
    (refund,) = payments.cash_to_hand_back(world.a.station.id)
    payments.hand_back_cash(refund, actor=world.a.operator, now=now)
    assert [(e.kind, e.actor_id) for e in _entries(db)] == [
        ("station_cash", world.a.operator.id),
        ("refund", world.a.operator.id),
    ]
    assert order.payments[0].state == PaymentState.REFUNDED
    assert sum(e.amount_fen for e in _entries(db)) == 0


def test_daily_close_records_the_difference_and_a_closed_day_refuses_every_change(db, world, now):
    station_id = world.a.station.id
    op = world.a.operator
    day = local_date(now)
    order = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash")
    payments.confirm_counter_cash(order.shipments[0], actor=op, now=now)
    cash.remit(station_id, 1000, actor=op, now=now, note="交平台")
    book = cash.day_book(station_id, day)
    assert (book.opening_fen, book.expected_fen, book.closed) == (0, 2333, False)
    with pytest.raises(ValidationError):  # a difference needs its reason
        cash.close_day(station_id, day, counted_fen=2300, actor=op, now=now)
    with pytest.raises(ValidationError):
        cash.close_day(station_id, day + timedelta(days=1), counted_fen=0, actor=op, now=now)
    close = cash.close_day(station_id, day, counted_fen=2300, note="找零差错", actor=op, now=now)
    assert (close.expected_fen, close.counted_fen, close.difference_fen) == (2333, 2300, -33)
    book = cash.day_book(station_id, day)
    assert book.closed and book.expected_fen == 2333 and book.counted_fen == 2300
    assert book.entries[-1].kind == "close_difference" and book.entries[-1].amount_fen == -33
    with pytest.raises(Conflict) as info:
        cash.close_day(station_id, day, counted_fen=2300, note="again", actor=op, now=now)
    assert info.value.code == "cash_day_closed"
    with pytest.raises(Conflict):
        cash.correct(station_id, 10, reason="补记", actor=op, now=now, day=day)
    with pytest.raises(AppendOnlyError):
        book.entries[0].amount_fen = 1
        db.session.flush()
    db.session.rollback()


def test_an_event_after_the_close_goes_into_the_next_open_day(db, world, now):
    station_id = world.a.station.id
    op = world.a.operator
    day = local_date(now)
    cash.close_day(station_id, day, counted_fen=0, actor=op, now=now)
    order = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash")
    payments.confirm_counter_cash(order.shipments[0], actor=op, now=now + timedelta(hours=1))
    (entry,) = _entries(db)
    assert entry.business_date == day + timedelta(days=1)
    assert cash.day_book(station_id, day).entries == []
    assert cash.day_book(station_id, day + timedelta(days=1)).opening_fen == 0


def test_cashbook_api_for_the_station_operator_only(db, world, now, client, api_token):
    order = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash")
    payments.confirm_counter_cash(order.shipments[0], actor=world.a.operator, now=now)
    commit()
    day = local_date(now).isoformat()
    url = f"/api/v1/stations/{world.a.station.id}/cashbook"
    mine = api_token(world.a.operator)
    other = api_token(world.b.operator)
    body = client.get(f"{url}?date={day}", headers=mine).json
    assert body["date"] == day and body["expected_fen"] == 3333 and body["closed"] is False
    assert body["counted_fen"] is None
    assert [(e["kind"], e["amount_fen"], e["shipment_id"]) for e in body["entries"]] == [
        ("station_cash", 3333, order.shipments[0].code)
    ]
    assert client.get(f"{url}?date={day}", headers=other).status_code == 403
    assert client.get(f"{url}?date=2026-13-01", headers=mine).status_code in (400, 422)
    response = client.post(f"{url}/close", json={"date": day, "counted_fen": 3333}, headers=other)
    assert response.status_code == 403
    response = client.post(f"{url}/close", json={"date": day, "counted_fen": 3000}, headers=mine)
    assert response.status_code == 422  # a difference without a note
    response = client.post(f"{url}/close", json={"date": day, "counted_fen": 3000, "note": "少了"}, headers=mine)
    assert response.status_code == 200, response.json
    assert (response.json["closed"], response.json["counted_fen"], response.json["difference_fen"]) == (
        True,
        3000,
        -333,
    )
    again = client.post(f"{url}/close", json={"date": day, "counted_fen": 3000, "note": "x"}, headers=mine)
    assert again.status_code == 409 and again.json["error"]["code"] == "cash_day_closed"


def test_cash_page_closes_the_day_and_records_remittances(db, world, now, client, auth):
    # a negative correction takes from the cash in hand: the till holds some first
    cash.correct(world.a.station.id, 200, reason="备用金", actor=None, now=now_utc())
    commit()
    auth.login(world.a.operator)
    today = local_date(now)
    response = client.post(
        "/station/cash/entries",
        data={
            "form_token": new_form_token(),
            "confirm": "1",
            "kind": "correction",
            "amount": "-1.50",
            "reason": "点错",
        },
    )
    assert response.status_code == 302
    response = client.post(
        "/station/cash/entries",
        data={"form_token": new_form_token(), "confirm": "1", "kind": "remittance", "amount": "abc", "reason": ""},
    )
    assert response.status_code == 422  # the page again, "abc" in its box
    assert 'value="abc"' in response.get_data(as_text=True)
    kinds = [(e.kind, e.amount_fen) for e in _entries(db)]
    assert kinds == [("correction", 200), ("correction", -150)]
    day = kinds and _entries(db)[0].business_date
    client.post("/station/cash/close", data={"confirm": "1", "day": day.isoformat(), "counted": "0", "note": "补记"})
    assert db.session.scalar(sa.select(CashClose.counted_fen)) == 0
    page = client.get(f"/station/cash?date={day.isoformat()}").get_data(as_text=True)
    assert "已日结" in page and "点错" in page
    assert today  # the page defaults to today's Beijing date


@requires_postgres
def test_the_database_refuses_updates_deletes_and_entries_in_a_closed_day(app, committed_db, now):
    from tests.factories import make_station as station_factory

    station = station_factory(code="PGCASH")
    cash.correct(station.id, 100, reason="开账", actor=None, now=now)
    commit()
    day = local_date(now)
    with committed_db.engine.connect() as conn:
        for statement in ("UPDATE cash_entries SET amount_fen = 1", "DELETE FROM cash_entries"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                conn.execute(sa.text(statement))
            conn.rollback()
    cash.close_day(station.id, day, counted_fen=100, actor=None, now=now)
    commit()
    with committed_db.engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="closed"):
            conn.execute(
                sa.text(
                    "INSERT INTO cash_entries (station_id, business_date, kind, amount_fen, reason, created_at) "
                    "VALUES (:s, :d, 'correction', 5, 'x', now())"
                ),
                {"s": station.id, "d": day},
            )
        conn.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.execute(sa.text("UPDATE cash_closes SET counted_fen = 0"))


@requires_postgres
def test_two_operators_closing_the_same_day_at_once_make_one_close(app, committed_db, now):
    from tests.factories import make_station as station_factory

    station = station_factory(code="PGRACE")
    cash.correct(station.id, 500, reason="开账", actor=None, now=now)
    commit()
    station_id, day = station.id, local_date(now)

    def close():
        cash.close_day(station_id, day, counted_fen=500, actor=None, now=now)

    outcomes = at_once(app, [close] * 4, seconds=30).labels
    assert sorted(outcomes) == ["cash_day_closed"] * 3 + ["ok"]
    with app.app_context():
        assert committed_db.session.scalar(sa.select(sa.func.count(CashClose.id))) == 1


def test_the_buyer_sees_the_original_total_and_what_is_due_after_a_cancellation(db, world, now, client, auth):
    second = make_product(price_fen=1000, stock=5, station=world.a.station)
    order = make_order(
        [(world.a.product, 1), (second, 1)], delivery="pickup", payment_method="station_cash", buyer=world.buyer
    )
    fulfilment.cancel_line(order.lines[1], actor=world.a.operator, now=now, reason="缺货")
    commit()
    auth.login(world.buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "¥43.33" in page  # the total as placed, never rewritten
    assert 'id="cash-due">¥33.33<' in page  # what is due now, computed from the lines


@requires_postgres
def test_remittances_and_corrections_through_the_api_for_the_station_operator_only(db, world, client, api_token):
    from shop.timeutil import now_utc

    today = local_date(now_utc())
    url = f"/api/v1/stations/{world.a.station.id}/cashbook"
    mine = api_token(world.a.operator)
    other = api_token(world.b.operator)
    buyer = api_token(make_user())
    # only the operators of that station
    for headers, status in ((other, 403), (buyer, 403), ({}, 401)):
        assert client.post(f"{url}/remittances", json={"amount_fen": 100}, headers=headers).status_code == status
        assert (
            client.post(f"{url}/corrections", json={"amount_fen": 100, "reason": "补记"}, headers=headers).status_code
            == status
        )
    # bad input: a clear error, nothing written
    for path, body in (
        ("remittances", {}),
        ("remittances", {"amount_fen": 0}),
        ("remittances", {"amount_fen": -5}),
        ("remittances", {"amount_fen": "abc"}),
        ("remittances", {"amount_fen": 10**13}),
        ("remittances", {"amount_fen": 100, "date": "2026-13-01"}),
        ("remittances", {"amount_fen": 100, "date": (today + timedelta(days=1)).isoformat()}),
        ("corrections", {"amount_fen": 100}),
        ("corrections", {"amount_fen": 100, "reason": "   "}),
        ("corrections", {"amount_fen": 0, "reason": "补记"}),
        ("corrections", {"amount_fen": True, "reason": "补记"}),
    ):
        response = client.post(f"{url}/{path}", json=body, headers=mine)
        assert response.status_code == 422, (path, body, response.json)
        assert response.json["error"]["fields"], (path, body)
    assert _entries(db) == []
    response = client.post(f"{url}/corrections", json={"amount_fen": 500, "reason": "昨日漏记"}, headers=mine)
    assert response.status_code == 201, response.json
    response = client.post(f"{url}/remittances", json={"amount_fen": 300, "note": "交平台"}, headers=mine)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["date"] == today.isoformat() and body["expected_fen"] == 200
    assert [(e["kind"], e["amount_fen"], e["reason"]) for e in body["entries"]] == [
        ("correction", 500, "昨日漏记"),
        ("remittance", -300, "交平台"),
    ]
    assert {e.actor_id for e in _entries(db)} == {world.a.operator.id}
    # a closed day refuses both, nothing changes; without a date they go into the next open day
    closed = client.post(f"{url}/close", json={"date": today.isoformat(), "counted_fen": 200}, headers=mine)
    assert closed.status_code == 200, closed.json
    for path, body in (("remittances", {"amount_fen": 100}), ("corrections", {"amount_fen": -100, "reason": "x"})):
        response = client.post(f"{url}/{path}", json={**body, "date": today.isoformat()}, headers=mine)
        assert response.status_code == 409 and response.json["error"]["code"] == "cash_day_closed"
    assert len(_entries(db)) == 2
    response = client.post(f"{url}/remittances", json={"amount_fen": 100}, headers=mine)
    assert response.status_code == 201 and response.json["date"] == (today + timedelta(days=1)).isoformat()
    assert response.json["opening_fen"] == 200 and response.json["expected_fen"] == 100
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/stations/{station_id}/cashbook/remittances",
        "/api/v1/stations/{station_id}/cashbook/corrections",
    ):
        assert "post" in paths[path]


def test_a_remittance_above_the_cash_in_hand_is_refused_and_writes_nothing(db, world, now, client, auth):
    """上缴 ¥100 from a till whose book holds ¥33.33 (a typo: 3333 for 33.33) would leave the book with
    negative cash: refused with what is in hand, nothing written; the whole of it may be handed over."""
    station_id = world.a.station.id
    order = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash")
    payments.confirm_counter_cash(order.shipments[0], actor=world.a.operator, now=now)
    commit()
    with pytest.raises(Conflict) as refused:
        cash.remit(station_id, 3334, actor=world.a.operator, now=now)
    assert refused.value.code == "remittance_exceeds_cash"
    auth.login(world.a.operator)
    response = client.post(
        "/station/cash/entries",
        data={"form_token": new_form_token(), "confirm": "1", "kind": "remittance", "amount": "100", "reason": "上缴"},
        follow_redirects=True,
    )
    assert "上缴金额不能超过手中现金（账面 ¥33.33）" in response.get_data(as_text=True)
    assert [e.kind for e in _entries(db)] == ["station_cash"]
    client.post(
        "/station/cash/entries",
        data={
            "form_token": new_form_token(),
            "confirm": "1",
            "kind": "remittance",
            "amount": "33.33",
            "reason": "上缴",
        },
    )
    assert [(e.kind, e.amount_fen) for e in _entries(db)] == [("station_cash", 3333), ("remittance", -3333)]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_close_the_page_would_refuse_is_refused_before_the_confirmation(db, world, now, client, auth, lang):
    """日结 with a count that is not what the book expects and no reason is refused at once with the
    reason asked for: the operator was asked to confirm an irreversible close, tapped 确认, and only then
    read 清点金额与账面不符，请填写原因."""
    auth.login(world.a.operator)
    cash.correct(world.a.station.id, 500, reason="备用金", actor=None, now=now)
    commit()
    day = local_date(now).isoformat()
    asked = client.post(f"/station/cash/close?lang={lang}", data={"day": day, "counted": "4"})
    assert asked.status_code == 422  # no confirmation page for a close that cannot be made: the cash page
    page = asked.get_data(as_text=True)
    expected = "The count differs from the book" if lang == "en" else "清点金额与账面不符，请填写原因"
    assert expected in page
    asked = client.post("/station/cash/close", data={"day": day, "counted": "5"}, follow_redirects=True)
    assert asked.status_code == 200 and 'name="confirm" value="1"' in asked.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(CashClose.id))) == 0


def test_todays_closed_book_names_the_day_where_later_cash_goes(db, world, client, auth):
    """Today closed (日结), a cash refund approved afterwards said 已记入现金账 — yet today's page, the one the
    operator opens, did not show it: it went into tomorrow's book, which nothing pointed at. The closed
    day's page names that day and links to it."""
    today = local_date(now_utc())
    tomorrow = (today + timedelta(days=1)).isoformat()
    cash.close_day(world.a.station.id, today, counted_fen=0, actor=world.a.operator, now=now_utc())
    cash.correct(world.a.station.id, 500, reason="备用金", actor=world.a.operator, now=now_utc())  # after the close
    commit()
    auth.login(world.a.operator)
    page = client.get("/station/cash").get_data(as_text=True)
    assert f"之后收到或退还的现金记入 {tomorrow} 的现金账" in page
    assert f'href="/station/cash?date={tomorrow}"' in page
    later = client.get(f"/station/cash?date={tomorrow}").get_data(as_text=True)
    assert "备用金" in later and "之后收到或退还的现金" not in later  # the open day itself says nothing of the kind


def test_cash_handed_over_the_evening_of_the_close_is_recorded_on_the_page_into_the_open_day(db, world, client, auth):
    """Today closed (日结), the operator hands the cash over to the county the same evening: the page showed no
    上缴 form until tomorrow (the API took it, into the open day). The closed day's page offers the form, names
    the day the entry goes into, and writes it there, as the API does."""
    today = local_date(now_utc())
    tomorrow = (today + timedelta(days=1)).isoformat()
    cash.correct(world.a.station.id, 500, reason="备用金", actor=world.a.operator, now=now_utc())
    commit()
    cash.close_day(world.a.station.id, today, counted_fen=500, actor=world.a.operator, now=now_utc())
    commit()
    auth.login(world.a.operator)
    page = client.get("/station/cash").get_data(as_text=True)
    assert 'action="/station/cash/entries"' in page and f"记入 {tomorrow} 的现金账" in page
    assert 'action="/station/cash/close"' not in page  # the closed day is not closed again
    move = {"kind": "remittance", "amount": "5", "reason": "交县里"}
    asked = client.post("/station/cash/entries", data={**move, "form_token": new_form_token()}, follow_redirects=True)
    assert f"确认上缴现金 ¥5.00，记入 {tomorrow} 的现金账？" in asked.get_data(as_text=True)
    done = client.post("/station/cash/entries", data={**move, "confirm": "1", "form_token": new_form_token()})
    assert done.status_code == 302 and done.location.endswith(f"/station/cash?date={tomorrow}")
    assert [(e.kind, e.amount_fen, e.business_date.isoformat()) for e in _entries(db, kind="remittance")] == [
        ("remittance", -500, tomorrow)
    ]
    later = client.get(f"/station/cash?date={tomorrow}").get_data(as_text=True)
    assert "交县里" in later and f"记入 {tomorrow} 的现金账" in later  # its page lists it and offers the form


def test_a_refused_close_keeps_what_the_operator_typed(db, world, now, client, auth):
    """日结 refused (a difference without its reason, a count that is no amount) answered the cash page with
    an empty form: the operator counted the till again. The page comes back with the count and the reason
    as typed, the refusal said above them."""
    auth.login(world.a.operator)
    cash.correct(world.a.station.id, 500, reason="备用金", actor=None, now=now)
    commit()
    day = local_date(now).isoformat()
    for typed, reason in (
        ({"counted": "4.50"}, "清点金额与账面不符，请填写原因"),
        ({"counted": "四块五", "note": "少五角"}, "请输入正确的金额"),
        ({"counted": "", "note": "少五角"}, ""),
    ):
        page = client.post("/station/cash/close", data={"day": day, **typed})
        html = page.get_data(as_text=True)
        assert page.status_code == 422 and reason in html, typed
        form = html[html.index('action="/station/cash/close"') :].split("</form>", 1)[0]
        assert (
            f'name="counted" required maxlength="16" inputmode="decimal" autocomplete="off" value="{typed["counted"]}"'
            in form
        )
        assert f'name="note" maxlength="200" value="{typed.get("note", "")}"' in form
        assert f'name="day" value="{day}"' in form
    assert db.session.scalar(sa.select(sa.func.count(CashClose.id))) == 0


def test_approving_a_cash_refund_tells_the_operator_to_hand_the_cash_back(db, world, now, client, auth):
    """Approving a refund of a line paid in cash wrote 现金退款 −¥33.33 in the station's book, while the
    operator read 款项将退回给顾客 and then 已处理: nothing said the cash was to be handed back from the
    till, and the day's count came out short. The question and the answer say it, with the amount."""
    shipment, req = _picked_up_cash_order_with_a_refund_asked(world, now)
    commit()
    auth.login(world.a.operator)
    asked = client.post(
        f"/refund-requests/{req.id}/approve", data={"goods": "not_returned"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "已收的现金在柜台当面退还顾客" in asked
    decision = {"confirm": "1", "goods": "not_returned"}
    done = client.post(f"/refund-requests/{req.id}/approve", data=decision, follow_redirects=True)
    assert "已同意退款：请在柜台把现金 ¥33.33 当面退还顾客，退还时点「退还现金」记入现金账" in done.get_data(
        as_text=True
    )
    # owed until handed back: the book unchanged, the desk lists it
    assert [(e.kind, e.amount_fen) for e in _entries(db)][-1] == ("station_cash", 6666)
    assert [r.amount_fen for r in payments.cash_to_hand_back(world.a.station.id)] == [3333]


def test_a_remittance_or_correction_the_book_would_refuse_is_refused_before_the_confirmation(
    db, world, now, client, auth
):
    """上缴 or 更正 that cannot be written (a correction without its reason, a remittance of -3 or of more
    than the till holds) asked 确认…？ first and was refused only after 确认; a remittance typed with a
    minus read 请输入正确的金额，例如 12.50. Each now says its reason at once, and nothing is written."""
    cash.correct(world.a.station.id, 500, reason="备用金", actor=None, now=now)
    commit()
    auth.login(world.a.operator)
    for form, expected in (
        ({"kind": "correction", "amount": "-1", "reason": ""}, "请填写更正原因"),
        ({"kind": "remittance", "amount": "-3"}, "上缴金额必须大于零"),
        ({"kind": "remittance", "amount": "6"}, "上缴金额不能超过手中现金（账面 ¥5.00）"),
    ):
        asked = client.post("/station/cash/entries", data={**form, "form_token": new_form_token()})
        assert asked.status_code in (409, 422), form  # the cash page, refused: no confirmation page
        page = asked.get_data(as_text=True)
        assert expected in page and 'name="confirm"' not in page, form
        assert f'value="{form["amount"]}"' in page, form  # what was typed, kept
    asked = client.post(
        "/station/cash/entries",
        data={"kind": "remittance", "amount": "5", "form_token": new_form_token()},
        follow_redirects=True,
    )
    assert asked.status_code == 200 and 'name="confirm" value="1"' in asked.get_data(as_text=True)  # confirmed first
    assert [(e.kind, e.amount_fen) for e in _entries(db)] == [("correction", 500)]


def test_a_wrong_pickup_code_or_cash_is_refused_before_the_operator_is_asked_to_confirm(db, world, now, client, auth):
    """The counter hand-over asks to confirm only for a hand-over that would go through: a wrong code
    (counted, as the hand-over counts it) or cash other than what is due is refused at once, before the
    confirmation step (shop.confirm: never confirmed first and refused after)."""
    shipment, url = at_the_counter(world, now, auth)
    wrong = "000000" if PICKUP_CODE != "000000" else "111111"
    r = client.post(url, data={"action": "pickup", "pickup_code": wrong, "cash_received": "66.66"})
    assert r.status_code == 422 and "取货码错误" in r.get_data(as_text=True)  # refused on the spot, not asked
    db.session.expire_all()
    assert shipment.pickup_failures == 1  # counted, as a refused hand-over counts it
    r = client.post(url, data={"action": "pickup", "pickup_code": PICKUP_CODE, "cash_received": "50.00"})
    assert r.status_code in (409, 422) and "¥66.66" in r.get_data(as_text=True)  # the amount due, named
    db.session.expire_all()
    assert shipment.status == ShipmentStatus.READY_FOR_PICKUP and _entries(db) == []
    r = client.post(url, data={"action": "pickup", "pickup_code": PICKUP_CODE, "cash_received": "66.66"})
    assert r.status_code == 303 and "/confirm/" in r.headers["Location"]  # right code, right cash: asked
    db.session.expire_all()
    assert shipment.status == ShipmentStatus.READY_FOR_PICKUP and _entries(db) == []  # nothing until confirmed
    client.post(url, data={"confirm": "1", "action": "pickup", "pickup_code": PICKUP_CODE, "cash_received": "66.66"})
    db.session.expire_all()
    assert shipment.status == ShipmentStatus.DELIVERED and [(e.amount_fen) for e in _entries(db)] == [6666]


def test_short_cash_on_delivery_is_refused_before_the_operator_is_asked_to_confirm(db, world, now, client, auth):
    """A cash-on-delivery parcel handed over with short cash: refused at once with the amount due named, as
    at the counter — not "确认…已交到顾客手中？" first and "应收现金 ¥66.66…" after 确认."""
    order = make_order([(world.a.product, 2)], payment_method="cod")  # 2 × ¥33.33
    shipment = order.shipments[0]
    shipped(order, world.a.operator, now)
    commit()
    auth.login(world.a.operator)
    url = f"/station/shipments/{shipment.code}/action"
    r = client.post(url, data={"action": "deliver", "cash_received": "60"})
    assert r.status_code in (409, 422), r.headers.get("Location")  # refused on the spot, not asked
    assert "¥66.66" in r.get_data(as_text=True) and 'value="60"' in r.get_data(as_text=True)  # kept as typed
    db.session.expire_all()
    assert shipment.status == ShipmentStatus.SHIPPED and _entries(db) == []
    r = client.post(url, data={"action": "deliver", "cash_received": "66.66"})
    assert r.status_code == 303 and "/confirm/" in r.headers["Location"]  # the right cash: asked
    asked = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "收到现金 ¥66.66，记入本站现金账" in asked  # the cash typed, named on the question
    client.post(url, data={"confirm": "1", "action": "deliver", "cash_received": "66.66"})
    db.session.expire_all()
    assert shipment.status == ShipmentStatus.DELIVERED and [e.amount_fen for e in _entries(db)] == [6666]


def test_a_refused_hand_over_shows_the_counter_form_again_with_the_code_and_cash_as_typed(db, world, now, client, auth):
    """At the counter, with the buyer waiting: cash short by a note, the right code stays typed and so does
    the cash (the page once redirected and both were lost); a wrong code keeps the cash and the code to fix."""
    shipment, url = at_the_counter(world, now, auth)
    short = client.post(url, data={"action": "pickup", "pickup_code": PICKUP_CODE, "cash_received": "56.66"})
    assert short.status_code in (409, 422)
    page = short.get_data(as_text=True)
    assert "¥66.66" in page
    assert (
        f'name="pickup_code" required maxlength="12" inputmode="numeric" autocomplete="off" value="{PICKUP_CODE}"'
        in page
    )
    assert 'aria-describedby="cash_received-hint" value="56.66"' in page
    wrong = "000000" if PICKUP_CODE != "000000" else "111111"
    refused = client.post(url, data={"action": "pickup", "pickup_code": wrong, "cash_received": "66.66"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "取货码错误" in page and f'value="{wrong}"' in page and 'value="66.66"' in page
    db.session.expire_all()
    assert shipment.status == ShipmentStatus.READY_FOR_PICKUP and _entries(db) == []
    # the page asked again afresh (GET) holds nothing typed
    fresh = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    assert f'value="{wrong}"' not in fresh and 'value="66.66"' not in fresh


def test_a_correction_taking_more_than_the_cash_in_hand_is_refused_and_writes_nothing(
    db, world, now, client, auth, api_token
):
    """更正 -¥1,000.00 on a till whose book holds ¥5.00 was written (the book then said -¥995.00 in hand):
    a correction that lowers the book cannot take more than is in it, as a remittance cannot — refused
    before the confirmation and after it, on the page and in the API, nothing written; the whole of it
    may be corrected away."""
    station_id = world.a.station.id
    cash.correct(station_id, 500, reason="备用金", actor=None, now=now)
    commit()
    headers = api_token(world.a.operator)
    auth.login(world.a.operator)
    for confirm in ({}, {"confirm": "1"}):
        refused = client.post(
            "/station/cash/entries",
            data={
                **confirm,
                "kind": "correction",
                "amount": "-1000",
                "reason": "点错",
                "form_token": new_form_token(),
            },
            follow_redirects=True,
        )
        page = refused.get_data(as_text=True)
        assert "减少的更正不能超过手中现金（账面 ¥5.00），更正后现金不能为负" in page, confirm
        assert 'name="confirm" value="1"' not in page
    url = f"/api/v1/stations/{station_id}/cashbook/corrections"
    response = client.post(url, json={"amount_fen": -501, "reason": "点错"}, headers=headers)
    assert response.status_code == 409 and response.json["error"]["code"] == "correction_exceeds_cash"
    assert [(e.kind, e.amount_fen) for e in _entries(db)] == [("correction", 500)]
    response = client.post(url, json={"amount_fen": -500, "reason": "备用金退回"}, headers=headers)
    assert response.status_code == 201 and response.json["expected_fen"] == 0


def _in_hand_seen(page: str) -> str:
    """The cash in hand (fen) the cash page's 记账 form says it was decided on (its hidden field)."""
    return page.split('name="in_hand_seen"', 1)[1].split('value="', 1)[1].split('"', 1)[0]


def test_a_cash_correction_from_a_page_open_while_another_keeper_wrote_one_is_refused_not_written_twice(
    db, world, now, client, auth
):
    """Two operators count the till, ¥1.50 short, each with the cash page open: each sends a correction of
    -1.50. Both were written, ¥3.00 off the book for ¥1.50 missing; the second page showed a cash in hand
    the book no longer has, so it is refused (409, the cash in hand now named, the typing kept), at once and
    at its confirmation; sent again from the page it answers with, it is written."""
    cash.correct(world.a.station.id, 20000, reason="备用金", actor=None, now=now_utc())
    commit()
    auth.login(world.a.operator)
    first = client.get("/station/cash").get_data(as_text=True)
    second = client.get("/station/cash").get_data(as_text=True)
    assert _in_hand_seen(first) == _in_hand_seen(second) == "20000"
    sent = {"kind": "correction", "amount": "-1.50", "reason": "点错", "in_hand_seen": _in_hand_seen(first)}
    done = client.post("/station/cash/entries", data={**sent, "form_token": new_form_token(), "confirm": "1"})
    assert done.status_code == 302
    for extra in ({}, {"confirm": "1"}):  # asked first, or confirmed from the confirmation page kept open
        stale = client.post("/station/cash/entries", data={**sent, **extra, "form_token": new_form_token()})
        assert stale.status_code == 409, extra
        page = stale.get_data(as_text=True)
        assert "页面打开后现金账已有变动，手中现金现为 ¥198.50" in page and 'value="-1.50"' in page
    assert [(e.kind, e.amount_fen) for e in _entries(db)] == [("correction", 20000), ("correction", -150)]
    assert _in_hand_seen(page) == "19850"
    again = client.post(
        "/station/cash/entries",
        data={**sent, "in_hand_seen": _in_hand_seen(page), "form_token": new_form_token(), "confirm": "1"},
    )
    assert again.status_code == 302
    assert [e.amount_fen for e in _entries(db)] == [20000, -150, -150]
