"""#23 recalls: the county recalls a lot — blocked in the same transaction, every line that took it
listed, each buyer mailed once through the order mail, refunds approved in one step."""

from __future__ import annotations

import logging
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from orders.models import LineStatus, Order, OrderLine, Refund
from shop.db import commit
from shop.errors import NotFound, ValidationError
from stations.services import fulfilment, recalls
from stock.models import Lot, LotStatus
from stock.services import OutOfStock
from tests.factories import make_lot, make_product, make_station, make_user
from tests.orders.factories import make_order
from tests.sent_mail import mails_to
from tests.stations.lot_checks import assert_lots_exact


@pytest.fixture
def scene(db, now):
    """One product with two lots (A expiring first, B later); orders that took lot A in every state."""
    station = make_station()
    product = make_product(stock=0, station=station, price_fen=1000)
    record = product.stock
    lot_a = make_lot(record, 10, best_before=now.date() + timedelta(days=10))
    lot_b = make_lot(record, 10, best_before=now.date() + timedelta(days=60))
    operator = make_user(role="operator", station=station)
    county = make_user(role="county")
    twice = make_user(email="twice@test.cn")
    waiting = make_order(twice, [(product, 2)], now=now, payment_method="cod")  # not shipped
    again = make_order(twice, [(product, 1)], now=now, payment_method="cod")  # the same buyer again
    delivered = make_order(make_user(email="delivered@test.cn"), [(product, 2)], now=now, payment_method="cod")
    moving = make_order(make_user(email="moving@test.cn"), [(product, 1)], now=now, payment_method="cod")
    for order, last in ((delivered, "deliver"), (moving, "ship")):
        s = order.shipments[0]
        fulfilment.accept(s, actor=operator, now=now)
        fulfilment.pack(s, actor=operator, now=now)
        fulfilment.ship(s, tracking_number="SF1", actor=operator, now=now)
        if last == "deliver":
            fulfilment.deliver(s, actor=operator, now=now, cash_received_fen=fulfilment.shipment_amount_fen(s))
    other = make_order(make_user(email="other@test.cn"), [(product, 5)], now=now, payment_method="cod")  # 4 A + 1 B
    return dict(
        product=product,
        record=record,
        lot_a=lot_a,
        lot_b=lot_b,
        operator=operator,
        county=county,
        waiting=waiting,
        again=again,
        delivered=delivered,
        moving=moving,
        other=other,
    )


def _recall_mails(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shop.mail" and "召回" in r.getMessage()]


def test_recall_blocks_the_lot_in_the_same_transaction_and_lists_every_line(db, scene, now):
    lot, record = scene["lot_a"], scene["record"]
    lines = recalls.recall_lot(lot, reason="抽检不合格", actor=scene["county"], now=now)
    # not committed yet: the stock is already blocked in this transaction
    db.session.refresh(lot)
    db.session.refresh(record)
    assert lot.status == LotStatus.RECALLED and lot.blocked == 0  # all 10 units of A are taken by orders
    assert {a.order.code: a.action for a in lines} == {
        scene["waiting"].code: "cancel",
        scene["again"].code: "cancel",
        scene["delivered"].code: "refund",
        scene["moving"].code: "in_transit",
        scene["other"].code: "cancel",
    }
    assert sum(a.quantity for a in lines) == 10
    with pytest.raises(OutOfStock):  # only lot B's 9 free units are left to sell
        with db.session.begin_nested():
            make_order(make_user(), [(scene["product"], 10)], now=now, payment_method="cod")
    assert_lots_exact(db, record.id)


def test_free_units_of_a_recalled_lot_leave_the_stock_at_once(db, now):
    product = make_product(stock=0)
    lot = make_lot(product.stock, 7)
    make_order(make_user(), [(product, 3)], now=now, payment_method="cod")
    recalls.recall_lot(lot, reason="包装破损", actor=make_user(role="county"), now=now)
    db.session.refresh(lot)
    assert (lot.on_hand, lot.allocated, lot.blocked) == (3, 3, 4)
    assert product.available == 0
    assert_lots_exact(db, product.stock.id)


def test_each_buyer_is_mailed_once_and_a_second_recall_mails_nobody(db, scene, now, caplog):
    commit()
    caplog.set_level(logging.INFO, logger="shop.mail")
    caplog.clear()
    recalls.recall_lot(scene["lot_a"], reason="抽检不合格", actor=scene["county"], now=now)
    commit()
    mails = _recall_mails(caplog)
    assert len(mails) == 4, mails
    assert sum("twice@test.cn" in m for m in mails) == 1
    twice_mail = next(m for m in mails if "twice@test.cn" in m)
    assert scene["waiting"].code in twice_mail and scene["again"].code in twice_mail
    assert (
        scene["lot_a"].code in twice_mail
        and "抽检不合格" in twice_mail
        and f"/trace/{scene['lot_a'].code}" in twice_mail
    )
    caplog.clear()
    recalls.recall_lot(scene["lot_a"], reason="再次召回", actor=scene["county"], now=now)
    commit()
    assert _recall_mails(caplog) == []


def test_one_step_refund_refunds_every_open_line_once(db, scene, now):
    lot = scene["lot_a"]
    recalls.recall_lot(lot, reason="抽检不合格", actor=scene["county"], now=now)
    assert recalls.refund_recalled(lot, actor=scene["county"], now=now) == 4  # waiting, again, delivered, other
    for key in ("waiting", "again", "delivered", "other"):
        assert all(line.status == LineStatus.REFUNDED for line in scene[key].lines), key
    assert scene["moving"].lines[0].status == LineStatus.OPEN  # on its way: refunded once delivered
    db.session.refresh(lot)
    assert (lot.on_hand, lot.allocated) == (1, 1) and lot.blocked == 9 - 2  # 7 given back and blocked
    lot_b = db.session.get(Lot, scene["lot_b"].id)
    assert (lot_b.on_hand, lot_b.allocated) == (10, 0)  # the other order's unit of B went back for sale
    assert_lots_exact(db, scene["record"].id)
    refunds = db.session.scalar(sa.select(sa.func.count()).select_from(Refund))
    assert recalls.refund_recalled(lot, actor=scene["county"], now=now) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == refunds
    # the parcel on its way is delivered (booked), then refunded by the same step
    s = scene["moving"].shipments[0]
    fulfilment.deliver(s, actor=scene["operator"], now=now, cash_received_fen=fulfilment.shipment_amount_fen(s))
    assert recalls.refund_recalled(lot, actor=scene["county"], now=now) == 1
    assert_lots_exact(db, scene["record"].id)


def test_recall_needs_a_reason_and_a_known_lot_and_changes_nothing(db, scene, now):
    with pytest.raises(ValidationError):
        recalls.recall_lot(scene["lot_a"], reason="  ", actor=scene["county"], now=now)
    assert db.session.get(Lot, scene["lot_a"].id).status == LotStatus.ACTIVE
    with pytest.raises(NotFound):
        recalls.get_lot("LNOSUCHLOT99")
    with pytest.raises(ValidationError):
        recalls.refund_recalled(scene["lot_a"], actor=scene["county"], now=now)


def test_the_county_recalls_and_refunds_from_its_pages(db, scene, client, auth):
    lot = scene["lot_a"]
    auth.login(scene["county"])
    asked = client.post(
        "/county/recalls", data={"code": lot.code.lower(), "reason": "抽检不合格"}, follow_redirects=True
    )
    assert asked.status_code == 200 and "请确认" in asked.get_data(as_text=True)  # asked first: nothing changed
    assert lot.code not in client.get("/county/recalls").get_data(as_text=True)
    response = client.post("/county/recalls", data={"code": lot.code.lower(), "reason": "抽检不合格", "confirm": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/county/recalls/{lot.code}")
    page = client.get(f"/county/recalls/{lot.code}").get_data(as_text=True)
    assert scene["waiting"].code in page and scene["moving"].code in page and "一键批准全部退款" in page
    assert "请确认" in client.post(f"/county/recalls/{lot.code}/refund", follow_redirects=True).get_data(as_text=True)
    assert "一键批准全部退款" in client.get(f"/county/recalls/{lot.code}").get_data(as_text=True)  # not yet
    assert client.post(f"/county/recalls/{lot.code}/refund", data={"confirm": "1"}).status_code == 302
    page = client.get(f"/county/recalls/{lot.code}").get_data(as_text=True)
    assert "一键批准全部退款" not in page
    assert lot.code in client.get("/county/recalls").get_data(as_text=True)
    operator = scene["operator"]
    auth.login(operator)
    assert client.post(f"/county/recalls/{lot.code}/refund", data={"confirm": "1"}).status_code == 403


def _bought_and_delivered(client, api_token, buyer, operator, product, quantity) -> dict:
    """Through the public face: the buyer places a cash-on-delivery order (JSON API), the station
    accepts, packs, ships and delivers it taking the cash (its JSON API). Returns the order."""
    from tests.orders.factories import ADDRESS_JSON

    placed = client.post(
        "/api/v1/orders",
        headers=api_token(buyer),
        json={
            "items": [{"product_id": product.id, "quantity": quantity}],
            "address": ADDRESS_JSON,
            "delivery": "ship",
            "payment_method": "cod",
        },
    )
    assert placed.status_code == 201, placed.json
    shipment = placed.json["shipments"][0]["id"]
    station = api_token(operator)
    for step in ({"action": "accept"}, {"action": "pack"}, {"action": "ship", "tracking_number": "SF1"}):
        assert client.post(f"/api/v1/shipments/{shipment}/transition", headers=station, json=step).status_code == 200
    due = client.get(f"/api/v1/stations/{operator.station_id}/shipments", headers=station).json["items"]
    amount = next(s["amount_fen"] for s in due if s["id"] == shipment)
    delivered = client.post(
        f"/api/v1/shipments/{shipment}/transition",
        headers=station,
        json={"action": "deliver", "cash_received_fen": amount},
    )
    assert delivered.status_code == 200, delivered.json
    return placed.json


def _refunded(db, client, auth, buyer, operator, order: dict, **goods) -> None:
    """The buyer asks a refund of the order's line on its page; the station approves it, saying what
    became of the goods, on its refund page (confirmed)."""
    from orders.models import RefundRequest

    auth.login(buyer)
    line_id = db.session.scalar(
        sa.select(OrderLine.id).join(Order, Order.id == OrderLine.order_id).where(Order.code == order["id"])
    )
    asked = client.post(f"/orders/{order['id']}/lines/{line_id}/refund", data={"kind": "return", "reason": "不想要了"})
    assert asked.status_code == 303
    auth.logout()
    req_id = db.session.scalar(sa.select(RefundRequest.id).where(RefundRequest.order_line_id == line_id))
    auth.login(operator)
    approved = client.post(f"/refund-requests/{req_id}/approve", data={"confirm": "1", **goods})
    assert approved.status_code == 303
    auth.logout()


def test_a_recall_mails_and_lists_only_the_units_buyers_still_have(db, client, auth, api_token, now, caplog):
    station = make_station()
    product = make_product(stock=0, station=station, price_fen=1000)
    lot = make_lot(product.stock, 20, best_before=now.date() + timedelta(days=30))
    operator = make_user(role="operator", station=station)
    county = make_user(role="county")
    buyers = {name: make_user(email=f"{name}@test.cn") for name in ("all_back", "part_back", "unsellable", "kept")}
    commit()
    orders = {
        "all_back": _bought_and_delivered(client, api_token, buyers["all_back"], operator, product, 2),
        "part_back": _bought_and_delivered(client, api_token, buyers["part_back"], operator, product, 3),
        "unsellable": _bought_and_delivered(client, api_token, buyers["unsellable"], operator, product, 1),
        "kept": _bought_and_delivered(client, api_token, buyers["kept"], operator, product, 1),
    }
    _refunded(db, client, auth, buyers["all_back"], operator, orders["all_back"], goods="restocked", quantity="2")
    _refunded(db, client, auth, buyers["part_back"], operator, orders["part_back"], goods="restocked", quantity="1")
    _refunded(db, client, auth, buyers["unsellable"], operator, orders["unsellable"], goods="returned_unsellable")

    caplog.set_level(logging.INFO, logger="shop.mail")
    caplog.clear()
    auth.login(county)
    recalled = client.post("/county/recalls", data={"code": lot.code, "reason": "抽检不合格", "confirm": "1"})
    assert recalled.status_code == 302
    mails = _recall_mails(caplog)
    # whoever returned every unit of the lot hears nothing; a part returned, the rest is named
    assert len(mails) == 2, mails
    assert {name for name in buyers if any(f"{name}@test.cn" in m for m in mails)} == {"kept", "part_back"}
    part = next(m for m in mails if "part_back@test.cn" in m)
    assert f"{product.name} × 2（" in part and orders["part_back"]["id"] in part and lot.code in part
    assert f"{product.name} × 1（" in next(m for m in mails if "kept@test.cn" in m)
    # the county's list of affected lines: the same units
    page = client.get(f"/county/recalls/{lot.code}").get_data(as_text=True)
    assert orders["part_back"]["id"] in page and orders["kept"]["id"] in page
    assert orders["all_back"]["id"] not in page and orders["unsellable"]["id"] not in page
    lines = recalls.affected_lines(db.session.get(Lot, lot.id))
    assert {a.order.code: a.quantity for a in lines} == {orders["part_back"]["id"]: 2, orders["kept"]["id"]: 1}


def test_a_recall_tells_a_buyer_of_the_units_left_after_a_partial_refund(db, client, auth, api_token, now, caplog):
    """A buyer of 5 whose refund of 2 came back unsellable (a partial refund) still has 3: the recall names
    them (an unsellable return used to count as the whole line's goods)."""
    from orders.models import RefundRequest

    station = make_station()
    product = make_product(stock=0, station=station, price_fen=1000)
    lot = make_lot(product.stock, 20, best_before=now.date() + timedelta(days=30))
    operator = make_user(role="operator", station=station)
    buyer = make_user(email="part@test.cn")
    commit()
    order = _bought_and_delivered(client, api_token, buyer, operator, product, 5)
    line_id = db.session.scalar(
        sa.select(OrderLine.id).join(Order, Order.id == OrderLine.order_id).where(Order.code == order["id"])
    )
    auth.login(buyer)
    asked = client.post(
        f"/orders/{order['id']}/lines/{line_id}/refund", data={"kind": "return", "reason": "坏了两袋", "quantity": "2"}
    )
    assert asked.status_code == 303
    auth.logout()
    req_id = db.session.scalar(sa.select(RefundRequest.id).where(RefundRequest.order_line_id == line_id))
    auth.login(operator)
    approved = client.post(f"/refund-requests/{req_id}/approve", data={"confirm": "1", "goods": "returned_unsellable"})
    assert approved.status_code == 303
    auth.logout()
    caplog.set_level(logging.INFO, logger="shop.mail")
    caplog.clear()
    auth.login(make_user(role="county"))
    assert (
        client.post("/county/recalls", data={"code": lot.code, "reason": "抽检不合格", "confirm": "1"}).status_code
        == 302
    )
    [mail] = _recall_mails(caplog)
    assert "part@test.cn" in mail and f"{product.name} × 3（" in mail
    lines = recalls.affected_lines(db.session.get(Lot, lot.id))
    assert {a.order.code: a.quantity for a in lines} == {order["id"]: 3}


def test_recalling_a_recalled_lot_again_says_so_without_a_confirmation_or_a_mail(db, scene, client, auth, caplog):
    """The recall form sent again for a lot already recalled (Back, a second officer) is told when it
    was recalled and opens the lot, instead of a confirmation promising a freeze and mails that never come."""
    lot = scene["lot_a"]
    auth.login(scene["county"])
    first = client.post("/county/recalls", data={"code": lot.code, "reason": "抽检不合格", "confirm": "1"})
    assert "已通知买家" in client.get(first.headers["Location"]).get_data(as_text=True)
    caplog.clear()
    again = client.post("/county/recalls", data={"code": lot.code, "reason": "再次", "confirm": "1"})
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/county/recalls/{lot.code}")
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "无需再次召回" in page and "已通知买家" not in page
    asked = client.post("/county/recalls", data={"code": lot.code, "reason": "再次"}, follow_redirects=True)
    assert "请确认" not in asked.get_data(as_text=True)
    assert not _recall_mails(caplog)
    assert db.session.get(Lot, lot.id).recall_reason == "抽检不合格"


def test_recalling_a_lot_no_order_took_does_not_say_buyers_were_told(db, client, auth):
    lot = make_lot(make_product(stock=0).stock, 5)
    auth.login(make_user(role="county"))
    done = client.post("/county/recalls", data={"code": lot.code, "reason": "抽检不合格", "confirm": "1"})
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "没有订单用到这个批次，无需通知买家" in page and "已通知买家" not in page.replace("无需通知买家", "")


def test_once_every_line_is_refunded_the_lot_page_says_so_not_that_no_order_took_it(db, client, auth, now):
    """After the one-step refund the list of affected lines is empty; it said 没有订单用到这个批次, as if the
    recall had missed the buyers."""
    product = make_product(stock=0, price_fen=1000)
    lot = make_lot(product.stock, 5)
    order = make_order(make_user(email="buyer@test.cn"), [(product, 2)], now=now, payment_method="cod")
    commit()
    auth.login(make_user(role="county"))
    client.post("/county/recalls", data={"code": lot.code, "reason": "抽检不合格", "confirm": "1"})
    assert order.code in client.get(f"/county/recalls/{lot.code}").get_data(as_text=True)
    assert client.post(f"/county/recalls/{lot.code}/refund", data={"confirm": "1"}).status_code == 302
    page = client.get(f"/county/recalls/{lot.code}").get_data(as_text=True)
    assert "都已退款、取消或退回" in page and "没有订单用到这个批次" not in page
    never = make_lot(make_product(stock=0).stock, 3)
    client.post("/county/recalls", data={"code": never.code, "reason": "抽检不合格", "confirm": "1"})
    assert "没有订单用到这个批次" in client.get(f"/county/recalls/{never.code}").get_data(as_text=True)


def test_a_mistyped_lot_code_comes_back_with_the_code_and_reason_typed(db, client, auth):
    """A code typed wrong from a label: the form came back with the code only, the reason to write again."""
    auth.login(make_user(role="county"))
    response = client.post("/county/recalls", data={"code": "LNOSUCHLOT99", "reason": "抽检二氧化硫超标"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "没有这个批次" in html
    assert 'value="LNOSUCHLOT99"' in html and 'value="抽检二氧化硫超标"' in html


def test_a_lot_code_typed_in_full_width_or_with_spaces_finds_the_lot(db, client, auth):
    """Copied off a label with an input method in full-width mode (ＬＡＢＣ…) or in groups: 没有这个批次."""
    lot = make_lot(make_product(stock=0).stock, 5)
    auth.login(make_user(role="county"))
    wide = "".join(chr(ord(c) + 0xFEE0) for c in lot.code.lower())
    for typed in (wide, f"{lot.code[:4]} {lot.code[4:8]} {lot.code[8:]}"):
        asked = client.post("/county/recalls", data={"code": typed, "reason": "抽检不合格"}, follow_redirects=True)
        assert asked.status_code == 200 and "请确认" in asked.get_data(as_text=True), typed


def test_the_recall_mail_to_an_english_buyer_has_no_chinese_punctuation(db, now, caplog):
    """The recalled line read "- Pickles × 2（Order CN…，Lot L…）": full-width brackets and comma written into
    the mail template outside the catalogue."""
    from orders.tasks import send_order_mail

    product = make_product(name="Pickles", stock=0, price_fen=1000)
    lot = make_lot(product.stock, 5)
    buyer = make_user(email="english-buyer@test.cn")
    buyer.locale = "en"
    order = make_order(buyer, [(product, 2)], now=now, payment_method="cod")
    recalls.recall_lot(lot, reason="failed a spot check", actor=make_user(role="county"), now=now)
    commit()
    with caplog.at_level("INFO", logger="shop.mail"):
        send_order_mail.run(order.id, "recall")
    (_subject, body), *_ = mails_to(caplog, buyer.email)
    assert f"(order {order.code}, lot {lot.code})" in body
    for mark in ("（", "，", "）"):
        assert mark not in body, mark


@pytest.mark.parametrize("typed", ["", "批" * 1000], ids=["empty", "1000 characters"])
def test_a_recall_without_a_reason_or_with_too_long_a_one_is_refused_before_the_confirmation(db, client, auth, typed):
    """The confirmation step came first and the refusal after it: the officer confirmed a recall that
    was then refused for its reason."""
    lot = make_lot(make_product(stock=0).stock, 5)
    auth.login(make_user(role="county"))
    response = client.post("/county/recalls", data={"code": lot.code, "reason": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "/confirm/" not in response.headers.get("Location", "")
    assert ("请填写召回原因" if not typed else "召回原因最多 200 个字") in html
    assert db.session.get(Lot, lot.id).status == LotStatus.ACTIVE


def test_a_full_length_recall_reason_is_kept_whole_in_the_refund_and_the_shipment_history(db, scene, client, auth):
    """A recall's reason may be RECALL_REASON_MAX characters; its refunds say 批次 X 召回：<reason> and the
    shipment's history says which line was canceled for it: both whole, not cut to a column's width, and
    not refused as an operator's typed cancel reason longer than MAX_CANCEL_REASON would be."""
    lot = scene["lot_a"]
    reason = "抽检发现农药残留超标" * (recalls.RECALL_REASON_MAX // 10 - 1) + "请勿食用并联系站点"
    assert len(reason) == recalls.RECALL_REASON_MAX - 1
    auth.login(scene["county"])
    asked = {"code": lot.code, "reason": reason, "confirm": "1"}
    assert client.post("/county/recalls", data=asked).status_code == 302
    refunded = client.post(f"/county/recalls/{lot.code}/refund", data={"confirm": "1"}, follow_redirects=True)
    assert "alert-error" not in refunded.get_data(as_text=True)
    line = scene["delivered"].lines[0]
    refund = db.session.scalars(sa.select(Refund).where(Refund.order_line_id == line.id)).one()
    assert refund.reason == f"批次 {lot.code} 召回：{reason}"
    sale = client.get(f"/county/sales/{line.id}").get_data(as_text=True)
    assert f"召回：{reason}</td>" in sale
    auth.login(scene["operator"])
    shipment = scene["waiting"].shipments[0]
    history = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    assert f"{reason}</li>" in history


def test_the_countys_recall_confirmation_names_the_lots_goods_and_station(db, scene, client, auth):
    """The county recalls a lot by a code typed off a label or a report: the question named the code
    alone, so a code of another lot went on to block it and mail its buyers unseen. It names the lot's
    goods and station, as the lot's own page (where a station recalls) shows them."""
    lot = scene["lot_a"]
    auth.login(scene["county"])
    asked = client.post(
        "/county/recalls", data={"code": lot.code.lower(), "reason": "抽检不合格"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "请确认" in asked
    assert unescape(asked).count(f"批次商品：{lot.product.name} · {lot.station.name}") == 1
