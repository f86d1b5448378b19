"""Every order-level mail tells the buyer what it is about, for an order of goods only, of bookings only
and of both: the lines concerned (goods with their quantity, bookings with what, when and how many, a
canceled booking with its cancellation fee and refund), the money and how it comes back, and the order's
link; one mail per event, and no word of goods (发货, 取货, 货款) for an order that ships nothing."""

from __future__ import annotations

import logging
import re

import pytest
import sqlalchemy as sa

from orders.models import Order, RefundRequest
from orders.tasks import expire_orders, expire_uncollected_pickups
from shop.db import commit
from shop.timeutil import now_utc
from tests.factories import make_product, make_user
from tests.orders.cart_items import day_ahead, stay_item
from tests.orders.factories import ADDRESS_JSON
from tests.orders.payment_setup import post_event
from tests.tourism.factories import make_listing
from tourism.models import Booking

KINDS = ("goods", "bookings", "mixed")
GOODS_WORDS = ("发货", "取货", "货款", "商品")


def _mails(caplog, to: str) -> list[tuple[str, str]]:
    """(subject, body) of each mail sent to `to`, oldest first."""
    return [
        (r.args[1], r.args[2])
        for r in caplog.records
        if r.name == "shop.mail" and r.msg.startswith("mail to") and r.args[0] == to
    ]


def _order(db, code: str) -> Order:
    db.session.expire_all()
    return db.session.scalar(sa.select(Order).where(Order.code == code))


def _place(client, api_token, buyer, kind: str, *, free_cancel_days: int = 0, cancel_fee_pct: int = 20) -> str:
    """A card order of `kind` (goods only, bookings only, both) placed through the API; its code."""
    items = []
    if kind in ("goods", "mixed"):
        product = make_product(name="三江腌菜", price_fen=1500, stock=5)
        items.append({"product_id": product.id, "quantity": 2})
    if kind in ("bookings", "mixed"):
        listing = make_listing(
            name="罗渡山居", units=1, price_fen=20000, free_cancel_days=free_cancel_days, cancel_fee_pct=cancel_fee_pct
        )
        items.append(stay_item(listing, checkin=7, nights=2, guests=2))
    body = {"items": items, "payment_method": "card"}
    if kind != "bookings":
        body["address"] = ADDRESS_JSON
    res = client.post("/api/v1/orders", json=body, headers=api_token(buyer))
    assert res.status_code == 201, res.json
    return res.json["id"]


def _pay(client, db, fake_stripe, code: str) -> Order:
    ref = _order(db, code).payments[0].provider_ref
    fake_stripe.succeed(ref)
    res = post_event(client, f"evt_{code}", "payment_intent.succeeded", ref)
    assert res.status_code == 200 and res.json["outcome"] == "confirmed", res.json
    return _order(db, code)


def _assert_lines(body: str, kind: str, order: Order) -> None:
    """The order's lines as the mail names them, and its link."""
    assert f"/orders/{order.code}" in body, body
    if kind in ("goods", "mixed"):
        assert "三江腌菜 × 2" in body, body
    if kind in ("bookings", "mixed"):
        [booking] = order.bookings
        assert "罗渡山居" in body and booking.code in body and "人数：2" in body, body
        assert day_ahead(7).isoformat() in body and day_ahead(9).isoformat() in body, body
    else:
        assert "罗渡山居" not in body
    if kind == "bookings":
        assert not any(word in body for word in GOODS_WORDS), body


@pytest.mark.parametrize("kind", KINDS)
def test_the_buyers_cancellation_of_a_paid_order_is_one_mail_with_its_lines_and_refund(
    client, db, api_token, fake_stripe, caplog, kind
):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email=f"cancel-{kind}@test.cn")
    code = _place(client, api_token, buyer, kind, free_cancel_days=30)  # a week ahead: the fee applies
    _pay(client, db, fake_stripe, code)
    before = len(_mails(caplog, buyer.email))
    res = client.post(f"/api/v1/orders/{code}/cancel", headers=api_token(buyer))
    assert res.status_code == 200, res.json
    mails = _mails(caplog, buyer.email)[before:]
    assert [s for s, _b in mails] == [f"[乡村e线] 订单已取消 {code}"], mails
    [(_subject, body)] = mails
    order = _order(db, code)
    _assert_lines(body, kind, order)
    assert "款项将原路退回您的银行卡" in body, body
    assert f"退款金额：{ {'goods': '¥38.00', 'bookings': '¥320.00', 'mixed': '¥358.00'}[kind] }" in body, body
    if kind != "goods":  # the booking's policy kept its fee (20 %), as the order page's 已退款 says
        assert "按取消政策收取手续费 ¥80.00，退款 ¥320.00" in body, body


@pytest.mark.parametrize("kind", KINDS)
def test_an_unpaid_card_order_that_expires_is_one_mail_with_its_lines(client, db, api_token, fake_stripe, caplog, kind):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email=f"expire-{kind}@test.cn")
    code = _place(client, api_token, buyer, kind)
    before = len(_mails(caplog, buyer.email))
    order = _order(db, code)
    order.expires_at = now_utc().replace(year=2020)
    commit()
    assert code in expire_orders()
    mails = _mails(caplog, buyer.email)[before:]
    assert [s for s, _b in mails] == [f"[乡村e线] 订单已过期 {code}"], mails
    [(_subject, body)] = mails
    _assert_lines(body, kind, _order(db, code))
    assert "原路退回" not in body and "手续费" not in body, body


@pytest.mark.parametrize("kind", ("bookings", "mixed"))
def test_a_booking_canceled_alone_is_one_order_mail_with_its_fee_and_refund(
    client, db, api_token, fake_stripe, caplog, kind
):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email=f"one-booking-{kind}@test.cn")
    code = _place(client, api_token, buyer, kind, free_cancel_days=3)  # a week ahead: free
    [booking] = _pay(client, db, fake_stripe, code).bookings
    before = len(_mails(caplog, buyer.email))
    res = client.post(f"/api/v1/bookings/{booking.code}/cancel", headers=api_token(buyer))
    assert res.status_code == 200, res.json
    mails = _mails(caplog, buyer.email)[before:]  # was none at all; no booking mail (tourism's) beside it
    subject = {"bookings": f"[乡村e线] 订单已取消 {code}", "mixed": f"[乡村e线] 订单中的预订已取消 {code}"}[kind]
    assert [s for s, _b in mails] == [subject], mails
    [(_subject, body)] = mails
    assert f"/orders/{code}" in body and "罗渡山居" in body and booking.code in body and "人数：2" in body, body
    assert "已取消：未收取手续费，全额退款 ¥400.00" in body and "退款金额：¥400.00" in body, body
    assert "款项将原路退回您的银行卡" in body, body
    assert "三江腌菜" not in body, body  # the goods go on: the mail is about the booking alone
    if kind == "bookings":
        assert not any(word in body for word in GOODS_WORDS), body


def _operator(db, code: str):
    """The operator of the station that ships order `code`'s goods."""
    [shipment] = _order(db, code).shipments
    return shipment, make_user(role="operator", station=shipment.station, email=f"op-{code.lower()}@test.cn")


def _station_step(client, api_token, operator, shipment, action: str, **extra) -> None:
    res = client.post(
        f"/api/v1/shipments/{shipment.code}/transition", json={"action": action, **extra}, headers=api_token(operator)
    )
    assert res.status_code == 200, res.json


@pytest.mark.parametrize("kind", ("goods", "mixed"))
def test_a_goods_line_the_station_cannot_supply_is_one_mail_with_its_reason_and_refund(
    client, db, api_token, fake_stripe, caplog, kind
):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email=f"withdrawn-{kind}@test.cn")
    code = _place(client, api_token, buyer, kind)
    _pay(client, db, fake_stripe, code)
    shipment, operator = _operator(db, code)
    before = len(_mails(caplog, buyer.email))
    _station_step(client, api_token, operator, shipment, "cancel", reason="腌菜坛子摔了")
    mails = _mails(caplog, buyer.email)[before:]  # was two: 订单退款 and 有商品无法供货
    assert [s for s, _b in mails] == [f"[乡村e线] 订单中有商品无法供货 {code}"], mails
    [(_subject, body)] = mails
    assert "三江腌菜 × 2" in body and "原因：腌菜坛子摔了" in body and f"/orders/{code}" in body, body
    assert "款项将原路退回您的银行卡" in body and "退款金额：¥38.00" in body, body  # the goods and their shipping
    assert "罗渡山居" not in body, body  # the stay goes on: the mail is about the goods


@pytest.mark.parametrize("kind", ("goods", "mixed"))
def test_an_approved_refund_of_goods_is_one_mail_naming_the_line(client, app, db, api_token, fake_stripe, caplog, kind):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email=f"refund-{kind}@test.cn")
    code = _place(client, api_token, buyer, kind)
    order = _pay(client, db, fake_stripe, code)
    shipment, operator = _operator(db, code)
    for action, extra in (("accept", {}), ("pack", {}), ("ship", {"tracking_number": "SF1"}), ("deliver", {})):
        _station_step(client, api_token, operator, shipment, action, **extra)
    [line] = [l for l in order.lines if l.kind == "product"]
    auth_buyer = app.test_client()
    auth_buyer.post("/login", data={"email": buyer.email, "password": "password123"})
    res = auth_buyer.post(
        f"/orders/{code}/lines/{line.id}/refund", data={"reason": "坏了", "kind": "refund_only", "quantity": "1"}
    )
    assert res.status_code in (302, 303), res.get_data(as_text=True)
    [req] = db.session.scalars(sa.select(RefundRequest).where(RefundRequest.order_id == order.id))
    station = app.test_client()
    station.post("/login", data={"email": operator.email, "password": "password123"})
    before = len(_mails(caplog, buyer.email))
    res = station.post(f"/refund-requests/{req.id}/approve", data={"goods": "not_returned", "confirm": "1"})
    assert res.status_code == 303, res.get_data(as_text=True)
    mails = _mails(caplog, buyer.email)[before:]
    assert [s for s, _b in mails] == [f"[乡村e线] 订单退款 {code}"], mails
    [(_subject, body)] = mails
    assert "三江腌菜 × 2" in body and "退款金额：¥15.00" in body and "款项将原路退回您的银行卡" in body, body
    assert f"/orders/{code}" in body and "罗渡山居" not in body, body


@pytest.mark.parametrize("kind", ("bookings", "mixed"))
def test_the_hosts_refund_of_a_kept_fee_is_one_mail_naming_the_booking(
    client, app, db, api_token, fake_stripe, caplog, kind
):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email=f"kept-{kind}@test.cn")
    code = _place(client, api_token, buyer, kind, free_cancel_days=30)  # a week ahead: the fee applies
    [booking] = _pay(client, db, fake_stripe, code).bookings
    res = client.post(f"/api/v1/bookings/{booking.code}/cancel", headers=api_token(buyer))
    assert res.status_code == 200 and res.json["fee_fen"] == 8000, res.json
    host = app.test_client()
    host.post("/login", data={"email": booking.listing.host.email, "password": "password123"})
    before = len(_mails(caplog, buyer.email))
    res = host.post(f"/host/bookings/{booking.code}/refund-kept", data={"confirm": "1"})
    assert res.status_code in (302, 303), res.get_data(as_text=True)
    mails = _mails(caplog, buyer.email)[before:]  # was none
    assert [s for s, _b in mails] == [f"[乡村e线] 订单退款 {code}"], mails
    [(_subject, body)] = mails
    assert booking.code in body and "罗渡山居" in body and "人数：2" in body and f"/orders/{code}" in body, body
    assert "退款金额：¥80.00" in body and "全额退款 ¥400.00" in body and "款项将原路退回您的银行卡" in body, body
    assert "三江腌菜" not in body, body
    if kind == "bookings":
        assert not any(word in body for word in GOODS_WORDS), body


def test_the_cancel_mail_of_a_mixed_order_is_in_the_buyers_language(client, db, api_token, fake_stripe, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="cancel-en@test.cn")
    buyer.locale = "en"
    code = _place(client, api_token, buyer, "mixed", free_cancel_days=30)
    _pay(client, db, fake_stripe, code)
    before = len(_mails(caplog, buyer.email))
    assert client.post(f"/api/v1/orders/{code}/cancel", headers=api_token(buyer)).status_code == 200
    [(subject, body)] = _mails(caplog, buyer.email)[before:]
    assert "under its cancellation policy a fee of ¥80.00 applied, ¥320.00 refunded" in body, body
    assert "Amount refunded: ¥358.00" in body and "Guests: 2" in body and f"/orders/{code}" in body, body
    # the words and punctuation are English; the goods', listing's and room's names are data
    assert not any(mark in body for mark in "（），：。"), body


def test_a_pick_up_order_never_collected_is_one_mail_with_its_goods(client, db, api_token, caplog):
    """Paid at the station and picked up there: an order of goods only (a booking is paid by card or on
    arrival), canceled by the schedule when not collected in time."""
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="uncollected@test.cn")
    product = make_product(name="三江腌菜", price_fen=1500, stock=5)
    res = client.post(
        "/api/v1/orders",
        json={
            "items": [{"product_id": product.id, "quantity": 2}],
            "delivery": "pickup",
            "pickup_station_id": product.station_id,
            "payment_method": "station_cash",
        },
        headers=api_token(buyer),
    )
    assert res.status_code == 201, res.json
    code = res.json["id"]
    order = _order(db, code)
    order.created_at = now_utc().replace(year=2020)
    commit()
    before = len(_mails(caplog, buyer.email))
    assert code in expire_uncollected_pickups()
    mails = _mails(caplog, buyer.email)[before:]
    assert [s for s, _b in mails] == [f"[乡村e线] 订单未取货，已取消 {code}"], mails
    [(_subject, body)] = mails
    assert "三江腌菜 × 2" in body and f"/orders/{code}" in body, body


def test_the_hosts_cancellation_of_a_booking_to_pay_on_arrival_is_one_mail_naming_it(
    client, app, db, api_token, caplog
):
    """The host releases an unpaid booking of an order of bookings: the booking's mail is the one mail (its
    order, canceled with it, sends none), and it reads the booking as the order mails do, with the order's link."""
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="host-canceled@test.cn")
    listing = make_listing(name="罗渡山居", units=1, price_fen=20000, pay_on_arrival=True)
    res = client.post(
        "/api/v1/orders",
        json={"items": [stay_item(listing, checkin=7, nights=2, guests=2)], "payment_method": "arrival"},
        headers=api_token(buyer),
    )
    assert res.status_code == 201, res.json
    code = res.json["id"]
    [booking] = _order(db, code).bookings
    host = app.test_client()
    host.post("/login", data={"email": listing.host.email, "password": "password123"})
    before = len(_mails(caplog, buyer.email))
    assert host.post(f"/host/bookings/{booking.code}/cancel", data={"confirm": "1", "reason": "漏水"}).status_code in (
        302,
        303,
    )
    assert db.session.get(Booking, booking.id).status == "canceled"
    mails = _mails(caplog, buyer.email)[before:]
    assert [s for s, _b in mails] == [f"预订已被接待户取消 {booking.code} · 罗渡山居"], mails
    [(_subject, body)] = mails
    assert booking.code in body and "人数：2" in body and day_ahead(9).isoformat() in body, body
    assert "该预订为到店支付，您没有被扣款" in body and f"/orders/{code}" in body, body
    assert not any(word in body for word in GOODS_WORDS), body


def test_a_booking_whose_policy_keeps_it_all_is_canceled_in_a_mail_that_promises_no_refund(
    client, db, api_token, fake_stripe, caplog
):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="kept-all@test.cn")
    code = _place(client, api_token, buyer, "bookings", free_cancel_days=30, cancel_fee_pct=100)
    _pay(client, db, fake_stripe, code)
    before = len(_mails(caplog, buyer.email))
    assert client.post(f"/api/v1/orders/{code}/cancel", headers=api_token(buyer)).status_code == 200
    [(subject, body)] = _mails(caplog, buyer.email)[before:]
    assert subject == f"[乡村e线] 订单已取消 {code}", subject
    assert "按取消政策收取手续费 ¥400.00，退款 ¥0.00" in body, body
    assert "原路退回" not in body and "退款金额" not in body, body  # it said the money would come back


@pytest.mark.parametrize("kind", KINDS)
def test_the_paid_mail_names_every_line_and_the_orders_link(client, db, api_token, fake_stripe, caplog, kind):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email=f"paid-{kind}@test.cn")
    code = _place(client, api_token, buyer, kind)
    before = len(_mails(caplog, buyer.email))
    order = _pay(client, db, fake_stripe, code)
    mails = _mails(caplog, buyer.email)[before:]
    assert [s for s, _b in mails] == [f"[乡村e线] 订单已支付 {code}"], mails
    [(_subject, body)] = mails
    _assert_lines(body, kind, order)  # the goods were left out, and the link


# --- a whole-order mail tells of its own step's refunds ------------------------------------------


def _place_items(client, api_token, buyer, items: list[dict], *, goods: bool) -> str:
    """A card order of `items` placed through the API (an address when it ships goods); its code."""
    body = {"items": items, "payment_method": "card", **({"address": ADDRESS_JSON} if goods else {})}
    res = client.post("/api/v1/orders", json=body, headers=api_token(buyer))
    assert res.status_code == 201, res.json
    return res.json["id"]


def _cancel_booking(client, api_token, buyer, caplog, booking_code: str) -> tuple[str, str]:
    """The guest cancels the booking on its own; the one mail it sends (subject, body)."""
    before = len(_mails(caplog, buyer.email))
    res = client.post(f"/api/v1/bookings/{booking_code}/cancel", headers=api_token(buyer))
    assert res.status_code == 200, res.json
    [mail] = _mails(caplog, buyer.email)[before:]
    return mail


def test_a_mixed_order_cancelled_after_one_of_its_bookings_mails_only_what_the_cancellation_refunds(
    client, db, api_token, fake_stripe, caplog
):
    """Goods and two stays, paid by card: the guest cancels one stay alone (free: ¥400.00 back, told in its
    own mail), then the whole order (the other stay under its 20 % fee, ¥320.00, and the goods, ¥38.00).
    The cancellation's mail says ¥358.00 came back — it said ¥758.00, the first stay's refund again."""
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="two-steps-mixed@test.cn")
    product = make_product(name="三江腌菜", price_fen=1500, stock=5)
    free = make_listing(name="罗渡山居", units=1, price_fen=20000, free_cancel_days=3)
    late = make_listing(name="江畔木屋", units=1, price_fen=20000, free_cancel_days=30, cancel_fee_pct=20)
    items = [{"product_id": product.id, "quantity": 2}, stay_item(free), stay_item(late)]
    code = _place_items(client, api_token, buyer, items, goods=True)
    order = _pay(client, db, fake_stripe, code)
    [first] = [b for b in order.bookings if b.listing_id == free.id]
    subject, body = _cancel_booking(client, api_token, buyer, caplog, first.code)
    assert subject == f"[乡村e线] 订单中的预订已取消 {code}" and "退款金额：¥400.00" in body, body
    before = len(_mails(caplog, buyer.email))
    assert client.post(f"/api/v1/orders/{code}/cancel", headers=api_token(buyer)).status_code == 200
    [(subject, body)] = _mails(caplog, buyer.email)[before:]
    assert subject == f"[乡村e线] 订单已取消 {code}", subject
    assert "退款金额：¥358.00" in body and "款项将原路退回您的银行卡" in body, body
    assert "按取消政策收取手续费 ¥80.00，退款 ¥320.00" in body and "三江腌菜 × 2" in body, body


def test_an_order_cancelled_after_a_goods_line_was_withdrawn_mails_only_what_the_cancellation_refunds(
    client, db, api_token, fake_stripe, caplog
):
    """Goods from two stations, paid by card: one station cannot supply its line (¥38.00 back, its own
    mail), then the buyer cancels the order: its mail says what the rest gave back, ¥53.00, not ¥91.00."""
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="two-steps-goods@test.cn")
    pickles = make_product(name="三江腌菜", price_fen=1500, stock=5)
    tea = make_product(name="罗渡绿茶", price_fen=4500, stock=5)
    items = [{"product_id": pickles.id, "quantity": 2}, {"product_id": tea.id, "quantity": 1}]
    code = _place_items(client, api_token, buyer, items, goods=True)
    order = _pay(client, db, fake_stripe, code)
    [shipment] = [s for s in order.shipments if s.station_id == pickles.station_id]
    operator = make_user(role="operator", station=shipment.station, email="op-two-steps@test.cn")
    before = len(_mails(caplog, buyer.email))
    _station_step(client, api_token, operator, shipment, "cancel", reason="腌菜坛子摔了")
    [(subject, body)] = _mails(caplog, buyer.email)[before:]
    assert subject == f"[乡村e线] 订单中有商品无法供货 {code}" and "退款金额：¥38.00" in body, body
    before = len(_mails(caplog, buyer.email))
    assert client.post(f"/api/v1/orders/{code}/cancel", headers=api_token(buyer)).status_code == 200
    [(subject, body)] = _mails(caplog, buyer.email)[before:]
    assert subject == f"[乡村e线] 订单已取消 {code}", subject
    assert "退款金额：¥53.00" in body and "款项将原路退回您的银行卡" in body, body  # the tea and its shipping


@pytest.mark.parametrize(("fee_pct", "refunded"), ((20, "¥320.00"), (100, None)))
def test_the_last_booking_cancelled_cancels_the_order_in_a_mail_of_its_own_refund(
    client, db, api_token, fake_stripe, caplog, fee_pct, refunded
):
    """Two stays, paid by card: the first cancelled alone (free, ¥400.00 back), then the second, which
    cancels the order (tourism's path): its mail tells what that booking's policy gave back — or, the
    policy keeping it all, no refund and no word of money coming back, where it said ¥400.00 again."""
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email=f"two-stays-{fee_pct}@test.cn")
    free = make_listing(name="罗渡山居", units=1, price_fen=20000, free_cancel_days=3)
    late = make_listing(name="江畔木屋", units=1, price_fen=20000, free_cancel_days=30, cancel_fee_pct=fee_pct)
    code = _place_items(client, api_token, buyer, [stay_item(free), stay_item(late)], goods=False)
    order = _pay(client, db, fake_stripe, code)
    [first] = [b for b in order.bookings if b.listing_id == free.id]
    [second] = [b for b in order.bookings if b.listing_id == late.id]
    subject, body = _cancel_booking(client, api_token, buyer, caplog, first.code)
    assert subject == f"[乡村e线] 订单中的预订已取消 {code}" and "退款金额：¥400.00" in body, body
    subject, body = _cancel_booking(client, api_token, buyer, caplog, second.code)
    assert subject == f"[乡村e线] 订单已取消 {code}", subject
    if refunded:
        assert f"退款金额：{refunded}" in body and "款项将原路退回您的银行卡" in body, body
    else:
        assert "退款金额" not in body and "原路退回" not in body and "不再收取" not in body, body
        assert "按取消政策收取手续费 ¥400.00，退款 ¥0.00" in body, body
    assert not any(word in body for word in GOODS_WORDS), body


def test_a_payment_too_late_for_its_stay_cancels_the_mixed_order_in_a_mail_of_everything_it_refunds(
    client, db, api_token, fake_stripe, caplog
):
    """The card payment of a mixed order arrives after its stay's hold lapsed and another guest took the
    room: the stay is refunded, then the goods, and the order canceled — one step, one mail, telling
    of both refunds (¥438.00)."""
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="too-late@test.cn")
    product = make_product(name="三江腌菜", price_fen=1500, stock=5)
    listing = make_listing(name="罗渡山居", units=1, price_fen=20000)
    code = _place_items(
        client, api_token, buyer, [{"product_id": product.id, "quantity": 2}, stay_item(listing)], goods=True
    )
    [booking] = _order(db, code).bookings
    booking.expires_at = now_utc().replace(year=2020)
    commit()
    other = make_user(email="took-the-room@test.cn")
    _place_items(client, api_token, other, [stay_item(listing)], goods=False)
    before = len(_mails(caplog, buyer.email))
    ref = _order(db, code).payments[0].provider_ref
    fake_stripe.succeed(ref)
    assert post_event(client, f"evt_{code}", "payment_intent.succeeded", ref).status_code == 200
    assert _order(db, code).status == "canceled"
    [(subject, body)] = _mails(caplog, buyer.email)[before:]
    assert subject == f"[乡村e线] 订单已取消 {code}", subject
    assert "退款金额：¥438.00" in body and "款项将原路退回您的银行卡" in body, body


def _lapse(db, code: str, lapsed: str) -> None:
    """Let the unpaid order's holds lapse: its bookings' alone (`hold`: the order still pending), or the
    whole order expired by the schedule (`order`: its 订单已过期 mail sent, its holds released)."""
    order = _order(db, code)
    for booking in order.bookings:
        booking.expires_at = now_utc().replace(year=2020)
    if lapsed == "order":
        order.expires_at = now_utc().replace(year=2020)
    commit()
    if lapsed == "order":
        assert code in expire_orders()


def _title_status(client, buyer, code: str) -> str:
    """The status the buyer's order page gives the order in its title (its <h1>), checked to be the one
    their order list gives it."""
    client.post("/logout")
    client.post("/login", data={"email": buyer.email, "password": "password123"})
    page = client.get(f"/orders/{code}").get_data(as_text=True)
    [title] = re.findall(r"<h1>(.*?)</h1>", page, re.S)
    status = re.sub(r"<[^>]+>", "", title).split()[-1]
    listed = client.get("/orders").get_data(as_text=True)  # 我的订单 says the same of it
    [row] = re.findall(rf"<strong>{code}</strong>.*?</div>", listed, re.S)
    assert f">{status}</span>" in row, row
    return status


@pytest.mark.parametrize("lapsed", ("hold", "order"))
def test_a_payment_too_late_for_a_stay_sold_alone_is_one_mail_of_its_cancellation_and_refund(
    client, db, api_token, fake_stripe, caplog, lapsed
):
    """A stay alone, paid by card after its hold lapsed (or its order expired) and another guest took the
    room: the stay is refunded and the order canceled. One mail, 订单已取消 with why and the refund
    (¥400.00) — it was 订单已支付 (我们已收到付款) for money that went back — and the order page and the API
    say canceled, the payment refunded (the page said 已过期)."""
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email=f"stay-too-late-{lapsed}@test.cn")
    listing = make_listing(name="罗渡山居", units=1, price_fen=20000)
    code = _place_items(client, api_token, buyer, [stay_item(listing, checkin=7, nights=2, guests=2)], goods=False)
    _lapse(db, code, lapsed)
    _place_items(client, api_token, make_user(email=f"took-{lapsed}@test.cn"), [stay_item(listing)], goods=False)
    before = len(_mails(caplog, buyer.email))
    order = _pay(client, db, fake_stripe, code)
    mails = _mails(caplog, buyer.email)[before:]
    assert [s for s, _b in mails] == [f"[乡村e线] 订单已取消 {code}"], mails
    [(_subject, body)] = mails
    _assert_lines(body, "bookings", order)
    assert "预订保留已过期且已无空位" in body and "我们已收到付款" not in body, body
    assert "退款金额：¥400.00" in body and "款项将原路退回您的银行卡" in body, body
    res = client.get(f"/api/v1/orders/{code}", headers=api_token(buyer))
    assert res.json["status"] == "canceled" and res.json["payment"]["status"] == "refunded", res.json
    assert res.json["bookings"][0]["refunded_fen"] == 40000, res.json
    assert _title_status(client, buyer, code) == "已取消"


@pytest.mark.parametrize("goods", (True, False))
def test_a_payment_too_late_for_one_of_several_stays_keeps_no_fee_and_is_one_mail(
    client, db, api_token, fake_stripe, caplog, goods
):
    """Two stays (and goods), paid by card after the holds lapsed; the first stay's room went to another
    guest. With goods the order is all or nothing: the second stay, just confirmed, is given back in full
    with the goods — it was canceled under its policy as if the buyer had canceled, keeping a ¥80.00 fee
    (20 %) — in one mail, 订单已取消, of every refund (¥838.00). Stays alone: the second stands, in one mail,
    订单已支付, its code shown and the first's refund (¥400.00) named."""
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email=f"one-of-two-{int(goods)}@test.cn")
    gone = make_listing(name="罗渡山居", units=1, price_fen=20000)
    kept = make_listing(name="江畔木屋", units=1, price_fen=20000, free_cancel_days=30, cancel_fee_pct=20)
    items = [stay_item(gone), stay_item(kept)]
    if goods:
        items.insert(0, {"product_id": make_product(name="三江腌菜", price_fen=1500, stock=5).id, "quantity": 2})
    code = _place_items(client, api_token, buyer, items, goods=goods)
    _lapse(db, code, "hold")
    _place_items(client, api_token, make_user(email=f"took-one-{int(goods)}@test.cn"), [stay_item(gone)], goods=False)
    before = len(_mails(caplog, buyer.email))
    order = _pay(client, db, fake_stripe, code)
    [first] = [b for b in order.bookings if b.listing_id == gone.id]
    [second] = [b for b in order.bookings if b.listing_id == kept.id]
    [(subject, body)] = _mails(caplog, buyer.email)[before:]
    assert "预订保留已过期且已无空位" in body and first.status == "expired", body
    payment = order.payments[0]
    if goods:
        assert subject == f"[乡村e线] 订单已取消 {code}", subject
        assert order.status == "canceled" and second.status == "canceled" and second.refunded_fen == 40000
        assert payment.state == "refunded" and payment.refunded_fen == payment.amount_fen == 83800
        assert "退款金额：¥838.00" in body and "按取消政策收取手续费" not in body, body
        assert "未收取手续费，全额退款 ¥400.00" in body, body  # was: 收取手续费 ¥80.00，退款 ¥320.00
    else:
        assert subject == f"[乡村e线] 订单已支付 {code}", subject
        assert order.status == "confirmed" and second.status == "confirmed" and payment.refunded_fen == 40000
        assert f"确认码：{second.confirmation_code}" in body, body
        assert "退款金额：¥400.00" in body and "款项将原路退回您的银行卡" in body, body  # it named no amount
    res = client.get(f"/api/v1/orders/{code}", headers=api_token(buyer))
    assert res.json["status"] == order.status and res.json["payment"]["refunded_fen"] == payment.refunded_fen


def test_a_late_payment_for_an_expired_order_whose_goods_are_gone_says_only_that_its_stays_hold_lapsed(
    client, db, api_token, fake_stripe, caplog
):
    """A mixed order expires unpaid; another buyer takes its goods while its room stays free; its card
    payment then arrives: everything goes back in one mail, 订单退款, and the order stays 已过期. Its stay
    reads 预订保留已过期 — nobody asked whether the room was free (it is), so never 且已无空位."""
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="expired-goods-gone@test.cn")
    product = make_product(name="三江腌菜", price_fen=1500, stock=2)
    listing = make_listing(name="罗渡山居", units=1, price_fen=20000)
    code = _place_items(
        client, api_token, buyer, [{"product_id": product.id, "quantity": 2}, stay_item(listing)], goods=True
    )
    _lapse(db, code, "order")
    _place_items(
        client,
        api_token,
        make_user(email="took-the-goods@test.cn"),
        [{"product_id": product.id, "quantity": 2}],
        goods=True,
    )
    before = len(_mails(caplog, buyer.email))
    order = _pay(client, db, fake_stripe, code)
    assert order.status == "expired" and order.payments[0].state == "refunded"
    [(subject, body)] = _mails(caplog, buyer.email)[before:]
    assert subject == f"[乡村e线] 订单退款 {code}", subject
    assert "预订保留已过期，这部分款项将原路退回。" in body and "已无空位" not in body, body
    assert "退款金额：¥438.00" in body, body
    _place_items(client, api_token, make_user(email="took-the-room-after@test.cn"), [stay_item(listing)], goods=False)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("succeeded", ("before", "after"))
def test_a_payment_that_arrives_for_a_canceled_order_is_refunded_in_one_mail(
    client, db, api_token, fake_stripe, caplog, kind, succeeded
):
    """The buyer cancels the unpaid card order while its payment goes through at Stripe (before the
    cancellation reached Stripe: its intent cannot be canceled, `cancel_provider_intent` applies it; or
    after: its webhook comes late): the payment is refunded whole. The cancellation had its mail; the
    charge given back is told in one mail of its own, 订单退款 with the refund — there was none — and a
    canceled booking reads unpaid, never as a fee of its whole price kept."""
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email=f"canceled-then-paid-{kind}-{succeeded}@test.cn")
    code = _place(client, api_token, buyer, kind)
    ref = _order(db, code).payments[0].provider_ref
    if succeeded == "before":
        fake_stripe.succeed(ref)
    before = len(_mails(caplog, buyer.email))
    assert client.post(f"/api/v1/orders/{code}/cancel", headers=api_token(buyer)).status_code == 200
    fake_stripe.succeed(ref)
    assert post_event(client, f"evt_{code}", "payment_intent.succeeded", ref).status_code == 200
    mails = _mails(caplog, buyer.email)[before:]
    refund = {"goods": "¥38.00", "bookings": "¥400.00", "mixed": "¥438.00"}[kind]
    assert sorted(s for s, _b in mails) == [f"[乡村e线] 订单已取消 {code}", f"[乡村e线] 订单退款 {code}"], mails
    [body] = [b for s, b in mails if "订单退款" in s]
    _assert_lines(body, kind, _order(db, code))
    assert f"退款金额：{refund}" in body and "款项将原路退回您的银行卡" in body, body
    assert "按取消政策收取手续费" not in body, body
    order = _order(db, code)
    assert order.status == "canceled" and order.payments[0].state == "refunded"
