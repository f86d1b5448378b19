"""#23 a station recalls one of its own lots (a food-safety problem found at the station): from the lot's
page, opened from the stock record's list of lots; the reason is checked before the confirmation; the
lot is blocked, its buyers mailed once, their order pages and the lot's trace page say so; a second
recall (a double tap, Back and confirm again) changes nothing; another station's lot is a 404."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.audit import AuditEntry
from shop.db import commit
from stock.models import Lot, LotAllocation, LotStatus
from tests.factories import make_lot, make_product, make_station, make_user
from tests.orders.factories import make_order
from tests.sent_mail import mails_to


@pytest.fixture
def scene(db, now):
    """A station's product with two lots (A expires first, so the first order takes it) and a buyer of A."""
    station = make_station()
    product = make_product(stock=0, station=station, price_fen=1000)
    lot_a = make_lot(product.stock, 3, best_before=now.date() + timedelta(days=10))
    lot_b = make_lot(product.stock, 5, best_before=now.date() + timedelta(days=60))
    operator = make_user(role="operator", station=station)
    buyer = make_user(email="buyer-a@test.cn")
    order = make_order(buyer, [(product, 2)], now=now, payment_method="cod")
    commit()
    return dict(product=product, lot_a=lot_a, lot_b=lot_b, operator=operator, buyer=buyer, order=order)


def _recall(client, code: str, reason: str, **extra):
    return client.post(f"/station/lots/{code}/recall", data={"reason": reason, **extra})


def test_the_operator_recalls_its_lot_from_the_stock_page_and_the_buyer_is_told(db, scene, client, auth, caplog):
    lot, product = scene["lot_a"], scene["product"]
    auth.login(scene["operator"])
    record_page = client.get(f"/station/stock/{product.stock.id}").get_data(as_text=True)
    assert f'href="/station/lots/{lot.code}"' in record_page  # the lot's code opens its page
    page = client.get(f"/station/lots/{lot.code}").get_data(as_text=True)
    assert "召回该批次" in page and f'action="/station/lots/{lot.code}/recall"' in page

    asked = _recall(client, lot.code, "抽检二氧化硫超标")
    assert asked.status_code == 303  # asked first: nothing changed yet
    confirm = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "确认召回批次" in confirm and "抽检二氧化硫超标" in confirm
    assert db.session.get(Lot, lot.id).status == LotStatus.ACTIVE

    caplog.set_level(logging.INFO, logger="shop.mail")
    done = _recall(client, lot.code, "抽检二氧化硫超标", confirm="1")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/station/lots/{lot.code}")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 个订单商品受影响，已通知买家" in page and scene["order"].code in page
    db.session.expire_all()
    recalled = db.session.get(Lot, lot.id)
    assert recalled.status == LotStatus.RECALLED and recalled.recall_reason == "抽检二氧化硫超标"
    assert recalled.recalled_by_id == scene["operator"].id
    assert (recalled.on_hand, recalled.allocated, recalled.blocked) == (2, 2, 1)
    assert product.stock.available == 5  # lot B only
    [(subject, body)] = mails_to(caplog, "buyer-a@test.cn")
    assert "召回" in subject and lot.code in body and "抽检二氧化硫超标" in body

    # the buyer's order page says it on the line, and the lot's trace page says it to anyone
    auth.logout()
    auth.login(scene["buyer"])
    order_page = client.get(f"/orders/{scene['order'].code}").get_data(as_text=True)
    assert "其中 2 件所属批次已召回，请勿食用。" in order_page and "抽检二氧化硫超标" in order_page
    assert f'href="/trace/{lot.code}"' in order_page
    # cash on delivery, nothing paid yet: no money "comes back"; the line is canceled, nothing charged for it
    assert (
        "您还没有为它付款：站点会取消这件商品，不再收取它的货款。" in order_page and "款项将退还给您" not in order_page
    )
    auth.logout()
    trace = client.get(f"/trace/{lot.code}").get_data(as_text=True)
    assert "本批次已召回，请勿食用。" in trace and "抽检二氧化硫超标" in trace and "召回日期" in trace
    assert "已付的货款将退还，无需申请" in trace  # not "the money will be refunded" to who paid nothing


def test_an_order_page_without_a_recalled_lot_says_nothing_of_recalls(db, scene, client, auth):
    auth.login(scene["buyer"])
    assert "召回" not in client.get(f"/orders/{scene['order'].code}").get_data(as_text=True)


def test_another_stations_lot_is_a_404_and_stays_as_it_was(db, scene, client, auth):
    other = make_user(role="operator", station=make_station())
    commit()
    lot = scene["lot_a"]
    auth.login(other)
    assert client.get(f"/station/lots/{lot.code}").status_code == 404
    assert _recall(client, lot.code, "抽检不合格", confirm="1").status_code == 404
    assert _recall(client, lot.code, "抽检不合格").status_code == 404  # not even a confirmation step
    assert client.get("/station/lots/LNOSUCHLOT99").status_code == 404
    db.session.expire_all()
    assert db.session.get(Lot, lot.id).status == LotStatus.ACTIVE


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "请填写召回原因"), ("   ", "请填写召回原因"), ("批" * 1000, "召回原因最多 200 个字")],
    ids=["empty", "blank", "1000 characters"],
)
def test_a_reason_of_nothing_or_too_long_is_refused_before_the_confirmation(db, scene, client, auth, typed, message):
    lot = scene["lot_a"]
    auth.login(scene["operator"])
    for extra in ({}, {"confirm": "1"}):
        response = _recall(client, lot.code, typed, **extra)
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and message in html  # said at once, never confirmed first
        assert 'id="recall-reason"' in html  # the form again, to write the reason
    db.session.expire_all()
    assert db.session.get(Lot, lot.id).status == LotStatus.ACTIVE


def test_a_second_recall_double_tap_or_back_says_so_and_mails_nobody(db, scene, client, auth, caplog):
    lot = scene["lot_a"]
    auth.login(scene["operator"])
    caplog.set_level(logging.INFO, logger="shop.mail")
    assert _recall(client, lot.code, "抽检不合格", confirm="1").status_code == 302
    again = _recall(client, lot.code, "又一次", confirm="1")
    assert again.status_code == 302
    assert "无需再次召回" in client.get(again.headers["Location"]).get_data(as_text=True)
    asked = _recall(client, lot.code, "又一次")  # no confirmation step for a lot already recalled
    assert asked.status_code == 302 and "/confirm/" not in asked.headers["Location"]
    assert len(mails_to(caplog, "buyer-a@test.cn")) == 1
    db.session.expire_all()
    assert db.session.get(Lot, lot.id).recall_reason == "抽检不合格"
    audits = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "lot.recall")
    )
    assert audits == 1


def test_after_the_recall_the_shop_sells_from_the_other_lots_only(db, scene, client, auth, now):
    """Checkout takes from lot B only: what lot A still held free is blocked, and a buyer asking for
    more than lot B has is refused (out of stock), never served from the recalled lot."""
    lot_a, lot_b, product = scene["lot_a"], scene["lot_b"], scene["product"]
    auth.login(scene["operator"])
    _recall(client, lot_a.code, "抽检不合格", confirm="1")
    from stock.services import OutOfStock

    with pytest.raises(OutOfStock):
        make_order(make_user(), [(product, 6)], now=now, payment_method="cod")
    order = make_order(make_user(), [(product, 5)], now=now, payment_method="cod")
    taken = db.session.execute(
        sa.select(LotAllocation.lot_id, LotAllocation.allocated).where(LotAllocation.order_line_id == order.lines[0].id)
    ).all()
    assert taken == [(lot_b.id, 5)]


def test_the_station_refunds_every_affected_line_in_one_step_as_the_buyers_were_promised(db, scene, client, auth):
    """The buyers are told the money comes back without asking; the station that recalled the lot waited on
    the county's recall page for it, with no way to do it itself."""
    lot, order = scene["lot_a"], scene["order"]
    auth.login(scene["operator"])
    refused = client.post(f"/station/lots/{lot.code}/refund", data={"confirm": "1"})  # not recalled yet
    assert refused.status_code == 302 and "批次未召回" in client.get(refused.headers["Location"]).get_data(as_text=True)
    _recall(client, lot.code, "抽检不合格", confirm="1")
    page = client.get(f"/station/lots/{lot.code}").get_data(as_text=True)
    assert "一键批准全部退款" in page
    asked = client.post(f"/station/lots/{lot.code}/refund")
    assert asked.status_code == 303 and "/confirm/" in asked.headers["Location"]
    done = client.post(f"/station/lots/{lot.code}/refund", data={"confirm": "1"})
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已为 1 个订单商品办理退款" in page and "一键批准全部退款" not in page
    db.session.expire_all()
    assert order.lines[0].status in ("canceled", "refunded")
    other = make_user(role="operator", station=make_station())
    commit()
    auth.logout()
    auth.login(other)
    assert client.post(f"/station/lots/{lot.code}/refund", data={"confirm": "1"}).status_code == 404


def test_the_county_sees_a_lot_the_station_recalled_and_who_recalled_it(db, scene, client, auth):
    """The county's list of recalls named the lot's station only: a recall by the station and one by the
    county read alike."""
    lot = scene["lot_a"]
    auth.login(scene["operator"])
    _recall(client, lot.code, "抽检不合格", confirm="1")
    auth.logout()
    county = make_user(role="county")
    by_county = make_lot(scene["product"].stock, 2)
    commit()
    auth.login(county)
    client.post("/county/recalls", data={"code": by_county.code, "reason": "县级抽检", "confirm": "1"})
    page = client.get("/county/recalls").get_data(as_text=True)
    rows = {c: page[page.index(f"<code>{c}</code>") :].split("</tr>", 1)[0] for c in (lot.code, by_county.code)}
    assert '<td class="recalled-by">站点</td>' in rows[lot.code]
    assert '<td class="recalled-by">县扶贫办</td>' in rows[by_county.code]
    detail = client.get(f"/county/recalls/{lot.code}").get_data(as_text=True)
    assert "召回方" in detail and scene["order"].code in detail


def test_the_json_api_recalls_the_stations_own_lot_once(db, scene, client, api_token, caplog):
    """POST /api/v1/lots/{code}/recall: the same service as the page (the station's apps had no way to
    recall); a reason of nothing or 1000 characters is a 422, another station's lot a 404, a second call
    a 409, nobody mailed twice."""
    lot = scene["lot_a"]
    headers = api_token(scene["operator"])
    url = f"/api/v1/lots/{lot.code.lower()}/recall"
    for reason, code in (
        ("", "recall_reason_required"),
        (" ", "recall_reason_required"),
        ("批" * 1000, "recall_reason_too_long"),
    ):
        refused = client.post(url, json={"reason": reason}, headers=headers)
        assert refused.status_code == 422 and refused.json["error"]["code"] == code, reason
    other = make_user(role="operator", station=make_station())
    commit()
    assert client.post(url, json={"reason": "抽检不合格"}, headers=api_token(other)).status_code == 404
    caplog.set_level(logging.INFO, logger="shop.mail")
    done = client.post(url, json={"reason": "抽检不合格"}, headers=headers)
    assert done.status_code == 200, done.json
    assert done.json["code"] == lot.code and done.json["status"] == "recalled" and done.json["affected_lines"] == 1
    again = client.post(url, json={"reason": "又一次"}, headers=headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "lot_already_recalled"
    assert len(mails_to(caplog, "buyer-a@test.cn")) == 1
    db.session.expire_all()
    assert db.session.get(Lot, lot.id).recall_reason == "抽检不合格"


def test_another_stations_lot_is_a_404_whatever_the_recall_body(db, scene, client, api_token):
    """The lot is looked up for the caller before the body is read: another station's operator learns
    nothing of it from a malformed body (it was a 422 naming the field, a 404 only for a valid one), as an
    unknown code answers; the lot's own operator is told what is wrong with the body."""
    lot = scene["lot_a"]
    url = f"/api/v1/lots/{lot.code}/recall"
    other = make_user(role="operator", station=make_station())
    commit()
    bodies = (
        {"data": "not json", "content_type": "application/json"},
        {"json": {"reason": 5}},
        {"json": {"reason": "批" * 1001}},
        {"json": ["抽检不合格"]},
        {"json": {"reason": ""}},
    )
    for body in bodies:
        refused = client.post(url, headers=api_token(other), **body)
        assert refused.status_code == 404 and refused.json["error"]["code"] == "lot_not_found", (body, refused.json)
        unknown = client.post("/api/v1/lots/ZZZZZZZZ/recall", headers=api_token(other), **body)
        assert unknown.status_code == 404, (body, unknown.json)
        assert client.post(url, headers=api_token(scene["operator"]), **body).status_code == 422, body
    db.session.expire_all()
    assert db.session.get(Lot, lot.id).status == LotStatus.ACTIVE


def test_the_recall_mail_promises_no_refund_of_money_not_paid(db, scene, client, auth, caplog):
    """The buyer of a cash-on-delivery order, nothing paid yet, was told the money would be refunded."""
    auth.login(scene["operator"])
    caplog.set_level(logging.INFO, logger="shop.mail")
    _recall(client, scene["lot_a"].code, "抽检不合格", confirm="1")
    [(_subject, body)] = mails_to(caplog, "buyer-a@test.cn")
    assert "已付的货款将退还给您，无需申请，未付的不再收取" in body and "款项将退还给您" not in body
