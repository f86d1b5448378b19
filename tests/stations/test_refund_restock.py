"""Refunds after delivery say what happened to the goods (仅退款 / 退货退款); returned sellable goods go
back into the lots they were sold from (退货入库), traceably: through the station's refund page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from orders.models import Refund, RefundRequest
from shop.db import commit
from shop.money import format_yuan
from shop.timeutil import local_date
from stations.services import fulfilment
from stock.models import Lot, LotStatus, StockMovement
from stock.services import block_lot, receive_stock
from tests.page_language import chinese_ui_on_en, english_ui_on_zh, page_text_nodes
from tests.stations.factories import make_order
from tests.stations.refund_setup import (
    assert_stock_reconciles,
    decided_and_mailed,
    delivered,
    delivered_and_asked,
    lot_figures,
    operator_client,
    return_movements,
    stock_numbers,
)


def _approve(client, req, follow_redirects=False, **data):
    return client.post(
        f"/refund-requests/{req.id}/approve", data={"confirm": "1", **data}, follow_redirects=follow_redirects
    )


def test_returned_sellable_goods_go_back_into_the_lots_they_were_sold_from(db, world, now, client, auth):
    product = world.a.product
    record_id = product.stock.id
    first_lot = db.session.scalar(sa.select(Lot).where(Lot.stock_record_id == record_id))
    # a dated lot is sold first (first expiring first): 5 from it, 2 from the undated one
    dated = receive_stock(
        product.stock, 5, actor=world.a.operator, now=now, best_before_date=local_date(now) + timedelta(days=3650)
    ).lot_id
    order = delivered(world, now, quantity=7)
    auth.login(world.buyer)
    line = order.lines[0]
    res = client.post(
        f"/orders/{order.code}/lines/{line.id}/refund", data={"kind": "return", "reason": "买多了，原样退回"}
    )
    assert res.status_code == 303
    req = db.session.scalar(sa.select(RefundRequest).where(RefundRequest.order_line_id == line.id))
    auth.logout()
    before = stock_numbers(db, record_id)
    lots_before = lot_figures(db, record_id)

    auth.login(world.a.operator)
    page = client.get("/refund-requests").get_data(as_text=True)
    assert "货品已退回、可再售" in page and 'max="7"' in page and 'value="7"' in page
    res = _approve(client, req, goods="restocked", quantity="6", note="原样退回")
    assert res.status_code == 303
    assert "6 盒 已退回库存" in client.get(res.location).get_data(as_text=True)

    assert stock_numbers(db, record_id) == (before[0] + 6, before[1] + 6)  # on hand and available rise by N
    lots = lot_figures(db, record_id)
    assert lots[dated] == (lots_before[dated][0] + 5, 0)  # first expiring first, never more than it gave
    assert lots[first_lot.id] == (lots_before[first_lot.id][0] + 1, 0)
    moves = return_movements(db, req.id)
    assert [(m.kind, m.lot_id, m.quantity) for m in moves] == [("return", dated, 5), ("return", first_lot.id, 1)]
    assert all(m.actor_id == world.a.operator.id and m.order_line_id == line.id for m in moves)
    assert all(m.created_at is not None for m in moves)
    assert_stock_reconciles(db, record_id)
    req = db.session.get(RefundRequest, req.id)
    assert (req.status, req.goods, req.restocked_quantity) == ("approved", "restocked", 6)
    assert db.session.get(Refund, req.refund_id).amount_fen == line.line_total_fen

    # the station's refund page, its stock page (the movements, by lot and refund) and the buyer's order
    page = client.get("/refund-requests").get_data(as_text=True)
    assert "最近处理" in page and "货品已退回、可再售 · 6 盒 退回库存" in page
    stock_page = client.get(f"/station/stock/{record_id}").get_data(as_text=True)
    assert "退货入库" in stock_page and f"订单 {order.code}" in stock_page
    assert db.session.get(Lot, dated).code in stock_page
    auth.logout()
    auth.login(world.buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "退货退款 · 货品已退回" in page and "仅退款" not in page


def test_a_blank_quantity_returns_the_whole_line(db, world, now, client, auth):
    order, req = delivered_and_asked(world, now, quantity=3)
    record_id = world.a.product.stock.id
    before = stock_numbers(db, record_id)
    auth.login(world.a.operator)
    assert _approve(client, req, goods="restocked", quantity="").status_code == 303
    assert stock_numbers(db, record_id) == (before[0] + 3, before[1] + 3)
    assert db.session.get(RefundRequest, req.id).restocked_quantity == 3
    assert_stock_reconciles(db, record_id)


@pytest.mark.parametrize(
    ("goods", "station_words", "buyer_words"),
    [
        ("not_returned", "货品未退回（仅退款）", "仅退款"),
        ("returned_unsellable", "货品已退回、不可再售", "退货退款 · 货品已退回"),
    ],
)
def test_goods_not_restocked_leave_stock_unchanged_and_are_recorded(
    db, world, now, client, auth, goods, station_words, buyer_words
):
    order, req = delivered_and_asked(world, now)
    record_id = world.a.product.stock.id
    before, lots_before = stock_numbers(db, record_id), lot_figures(db, record_id)
    auth.login(world.a.operator)
    assert _approve(client, req, goods=goods, quantity="3").status_code == 303  # the quantity is ignored
    req = db.session.get(RefundRequest, req.id)
    assert (req.status, req.goods, req.restocked_quantity) == ("approved", goods, None)
    assert req.refund_id is not None
    assert stock_numbers(db, record_id) == before and lot_figures(db, record_id) == lots_before
    assert return_movements(db, req.id) == []
    assert station_words in client.get("/refund-requests").get_data(as_text=True)
    auth.logout()
    auth.login(world.buyer)
    assert buyer_words in client.get(f"/orders/{order.code}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"goods": "restocked", "quantity": "0"}, "退回入库的数量须为 1 到 3 之间的整数"),
        ({"goods": "restocked", "quantity": "-1"}, "退回入库的数量须为 1 到 3 之间的整数"),
        ({"goods": "restocked", "quantity": "4"}, "退回入库的数量须为 1 到 3 之间的整数"),
        ({"goods": "restocked", "quantity": "1.5"}, "退回入库的数量须为 1 到 3 之间的整数"),
        ({"goods": "restocked", "quantity": "两"}, "退回入库的数量须为 1 到 3 之间的整数"),
        ({"goods": "restocked", "quantity": "99999999999999999999999"}, "退回入库的数量须为 1 到 3 之间的整数"),
        ({"quantity": "1"}, "请选择货品的去向"),
        ({"goods": "lost"}, "请选择货品的去向"),
    ],
)
def test_bad_decisions_are_told_and_change_nothing(db, world, now, client, auth, data, message):
    order, req = delivered_and_asked(world, now)
    record_id = world.a.product.stock.id
    before, lots_before = stock_numbers(db, record_id), lot_figures(db, record_id)
    auth.login(world.a.operator)
    for confirm in ({}, {"confirm": "1"}):  # refused before the confirmation page, and after it
        typed = {**data, "note": "顾客说坛子裂了", **confirm}
        res = client.post(f"/refund-requests/{req.id}/approve", data=typed, follow_redirects=True)
        page = res.get_data(as_text=True)
        assert res.status_code in (409, 422) and message in page
        # the request's form again, as typed: the note, the goods' choice and the quantity
        form = page.split(f'id="refund-request-{req.id}"')[1].split("</form>")[0]
        assert 'value="顾客说坛子裂了"' in form
        if data.get("goods") == "restocked":
            assert 'value="restocked" checked' in form and f'value="{data["quantity"]}"' in form
    db.session.expire_all()
    assert db.session.get(RefundRequest, req.id).status == "requested"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0
    assert stock_numbers(db, record_id) == before and lot_figures(db, record_id) == lots_before


def test_a_request_on_a_line_not_delivered_is_refused(db, world, now, client, auth):
    order = make_order([(world.a.product, 2)], buyer=world.buyer)
    shipment = order.shipments[0]
    for step in (fulfilment.accept, fulfilment.pack):
        step(shipment, actor=world.a.operator, now=now)
    fulfilment.ship(shipment, tracking_number="SF2", actor=world.a.operator, now=now)
    # the buyer cannot ask before delivery; a request left over from before (or written by hand) is refused
    req = RefundRequest(
        order_id=order.id,
        order_line_id=order.lines[0].id,
        station_id=world.a.station.id,
        quantity=order.lines[0].quantity,
        amount_fen=order.lines[0].line_total_fen,
        reason="坏了",
        created_at=now,
    )
    db.session.add(req)
    commit()
    record_id = world.a.product.stock.id
    before = stock_numbers(db, record_id)
    auth.login(world.a.operator)
    res = _approve(client, req, goods="restocked", quantity="1")
    assert res.status_code == 409 and "这一行尚未交付" in res.get_data(as_text=True)
    assert db.session.get(RefundRequest, req.id).status == "requested"
    assert stock_numbers(db, record_id) == before


def test_another_stations_operator_gets_404_and_nothing_changes(db, world, now, client, auth):
    order, req = delivered_and_asked(world, now)
    record_id = world.a.product.stock.id
    before = stock_numbers(db, record_id)
    auth.login(world.b.operator)
    for data in ({"goods": "restocked", "quantity": "1"}, {"goods": "restocked", "quantity": "0"}, {}):
        assert _approve(client, req, **data).status_code == 404
    assert db.session.get(RefundRequest, req.id).status == "requested"
    assert stock_numbers(db, record_id) == before
    assert order.code not in client.get("/refund-requests").get_data(as_text=True)


def test_a_double_tap_approves_once(db, world, now, client, auth):
    order, req = delivered_and_asked(world, now)
    record_id = world.a.product.stock.id
    before = stock_numbers(db, record_id)
    auth.login(world.a.operator)
    assert _approve(client, req, goods="restocked", quantity="2").status_code == 303
    # the second tap (or Back and 确认 again) is told how the request was decided, as an answer (303 to
    # the list, an "info" message), not a 409 page in red that read as if the approval had failed
    res = _approve(client, req, goods="restocked", quantity="2")
    assert res.status_code == 303 and res.headers["Location"].endswith("/refund-requests")
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert '<div class="alert alert-info" role="status">这个退款申请已经处理过了：已同意退款</div>' in page
    assert stock_numbers(db, record_id) == (before[0] + 2, before[1] + 2)
    assert len(return_movements(db, req.id)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 1
    # rejecting it afterwards is answered the same way, and changes nothing
    res = client.post(f"/refund-requests/{req.id}/reject", data={"confirm": "1"}, follow_redirects=True)
    assert "这个退款申请已经处理过了：已同意退款" in res.get_data(as_text=True)
    assert db.session.get(RefundRequest, req.id).status == "approved"


@pytest.mark.parametrize("status", [LotStatus.EXPIRED, LotStatus.RECALLED])
def test_goods_returned_to_an_expired_or_recalled_lot_are_blocked_not_sold_again(db, world, now, client, auth, status):
    order, req = delivered_and_asked(world, now, quantity=3)
    record_id = world.a.product.stock.id
    lot = db.session.scalar(sa.select(Lot).where(Lot.stock_record_id == record_id))
    block_lot(lot, status, now=now, actor=world.admin, reason="检出超标")
    commit()
    before = stock_numbers(db, record_id)
    blocked_before = db.session.get(Lot, lot.id).blocked
    auth.login(world.a.operator)
    res = _approve(client, req, goods="restocked", quantity="2")
    page = client.get(res.location).get_data(as_text=True)
    assert "所在批次已过期或已召回，已封存，不能再售" in page
    assert stock_numbers(db, record_id) == before  # nothing sellable came back
    assert db.session.get(Lot, lot.id).blocked == blocked_before + 2
    kinds = [
        (m.kind, m.quantity)
        for m in db.session.scalars(
            sa.select(StockMovement).where(StockMovement.lot_id == lot.id).order_by(StockMovement.id.desc()).limit(2)
        )
    ]
    assert kinds == [("block", -2), ("return", 2)]
    assert db.session.get(RefundRequest, req.id).restocked_quantity == 2
    assert_stock_reconciles(db, record_id)


def test_the_confirmation_says_what_happens_to_the_goods(db, world, now, client, auth):
    order, req = delivered_and_asked(world, now)
    auth.login(world.a.operator)
    page = client.post(
        f"/refund-requests/{req.id}/approve", data={"goods": "restocked", "quantity": "2"}, follow_redirects=True
    )
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "货品已退回、可再售" in body and "2 盒 退回库存" in body
    assert 'name="quantity" value="2"' in body and 'name="goods" value="restocked"' in body  # carried on
    assert db.session.get(RefundRequest, req.id).status == "requested"


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_refund_pages_speak_one_language(app, db, world, now, lang):

    order, decided = delivered_and_asked(world, now, quantity=3)
    other, pending = delivered_and_asked(world, now, quantity=1)
    client = app.test_client()
    client.get(f"/?lang={lang}")
    client.post("/login", data={"email": world.a.operator.email, "password": "password123"})
    assert _approve(client, decided, goods="restocked", quantity="2").status_code == 303
    pages = {
        "refunds": client.get("/refund-requests", follow_redirects=True),  # the flashes too
        "confirm": client.post(
            f"/refund-requests/{pending.id}/approve",
            data={"goods": "restocked", "quantity": "1"},
            follow_redirects=True,
        ),
        "stock": client.get(f"/station/stock/{world.a.product.stock.id}"),
    }
    client.post("/logout")
    client.post("/login", data={"email": world.buyer.email, "password": "password123"})
    pages["order"] = client.get(f"/orders/{order.code}")
    data = {world.a.product.name, "坏了", f"{world.a.product.name} × 3", f"{world.a.product.name} × 1", "盒"}
    for name, response in pages.items():
        assert response.status_code == 200, name
        nodes = page_text_nodes(response.get_data(as_text=True))
        bad = english_ui_on_zh(nodes) if lang == "zh_CN" else chinese_ui_on_en(nodes, data)
        assert bad == [], (name, bad)
    # the restock quantity's range in the reader's punctuation (English in （…）, Chinese brackets, before)
    page = pages["refunds"].get_data(as_text=True)
    said = "Quantity back into stock (1–1 盒)" if lang == "en" else "退回入库数量（1–1 盒）"
    assert said in page and ("（1–" not in page if lang == "en" else True)


def test_each_decision_asks_first_and_then_says_what_was_done(db, world, now, client, auth):
    """The questions name the order and the line and say where the money and the goods go; the answers
    say what was done (the messages `orders.refund_messages` words)."""
    order, req = delivered_and_asked(world, now)
    other, rejected = delivered_and_asked(world, now, quantity=1)
    line = order.lines[0]
    auth.login(world.a.operator)
    asked = client.post(f"/refund-requests/{req.id}/approve", data={"goods": "not_returned"}, follow_redirects=True)
    body = asked.get_data(as_text=True)
    assert f"确认同意订单 {order.code} 中「{line.title}」的退款申请？" in body and "款项原路退回顾客的银行卡。" in body
    assert "货品未退回（仅退款）" in body and "库存不变" in body and "退回库存" not in body
    # the buyer asked to send the goods back (退货退款): recording them as not returned is said again
    assert "顾客申请：退货退款（把货品退回站点）" in body and "记录的货品去向与顾客的申请不同" in body
    restock = client.post(
        f"/refund-requests/{req.id}/approve", data={"goods": "restocked", "quantity": "2"}, follow_redirects=True
    )
    assert "2 盒 退回库存，回到售出时的批次" in restock.get_data(as_text=True)
    done = _approve(client, req, follow_redirects=True, goods="not_returned").get_data(as_text=True)
    assert f"已同意退款：{format_yuan(line.line_total_fen)} 将原路退回顾客的银行卡" in done and "已退回库存" not in done

    url = f"/refund-requests/{rejected.id}/reject"
    asked = client.post(url, data={"note": "无质量问题"}, follow_redirects=True).get_data(as_text=True)
    assert f"确认拒绝订单 {other.code} 的「{other.lines[0].title}」的退款申请？" in asked
    done = client.post(url, data={"confirm": "1", "note": "无质量问题"}, follow_redirects=True).get_data(as_text=True)
    assert "已拒绝退款申请" in done
    assert db.session.get(RefundRequest, rejected.id).status == "rejected"


@pytest.mark.parametrize(
    ("lang", "label", "note_label"),
    [
        ("zh_CN", "退款申请：已拒绝", "处理说明：照片看不出破损"),
        ("en", "Refund request: Rejected", "Note from the station: 照片看不出破损"),
    ],
)
def test_the_buyer_reads_why_the_station_rejected_the_refund(app, db, world, now, lang, label, note_label):
    """A rejected request shows the buyer the station's note (its reason) under the line, after the review
    state rather than run into it, and says Refund request (one) in English, not the station menu's plural."""
    order, req = delivered_and_asked(world, now, quantity=1)
    url = f"/refund-requests/{req.id}/reject"
    assert operator_client(app, world).post(url, data={"confirm": "1", "note": "照片看不出破损"}).status_code == 303
    buyer = app.test_client()
    buyer.get(f"/?lang={lang}")
    buyer.post("/login", data={"email": world.buyer.email, "password": "password123"})
    nodes = page_text_nodes(buyer.get(f"/orders/{order.code}").get_data(as_text=True))
    text = " ".join(nodes).replace(" ", "")
    assert label.replace(" ", "") in text and note_label.replace(" ", "") in text, nodes


@pytest.mark.parametrize(
    ("locale", "subject", "said"),
    [
        ("zh_CN", "[乡村e线] 退款申请未获同意 {code}", "的退款申请未获同意。"),
        ("en", "[Village e-Line] Refund request declined {code}", "was declined."),
    ],
)
def test_the_buyer_is_mailed_when_the_station_rejects_the_refund(app, db, world, now, caplog, locale, subject, said):
    """An approval mails the buyer (订单退款); a rejection did not, so a buyer who asked heard nothing: it
    mails the line's name and the station's note, in the buyer's language."""
    order, req = delivered_and_asked(world, now, quantity=1)
    world.buyer.locale = locale
    commit()
    [(title, body)] = decided_and_mailed(app, world, caplog, req, "reject", note="照片看不出破损")
    assert title == subject.format(code=order.code)
    assert said in body and order.lines[0].title in body and "照片看不出破损" in body


def test_a_rejection_says_why_and_a_long_note_is_refused_not_cut(db, world, now, client, auth, api_token):
    """拒绝 without a reason is refused by its first POST (the buyer would read a rejection with nothing to
    answer), before any confirmation step; a note past 200 characters (an approval's or a rejection's) is
    refused with the request's form as typed, where it was cut to 200 behind the operator's back. The API
    keeps the same rule."""
    order, req = delivered_and_asked(world, now)
    headers = api_token(world.a.operator)
    auth.login(world.a.operator)
    url = f"/refund-requests/{req.id}/reject"
    for data in ({}, {"note": "   "}, {"note": "   ", "confirm": "1"}):
        res = client.post(url, data=data)
        body = res.get_data(as_text=True)
        assert res.status_code == 422 and "请填写拒绝理由" in body and 'name="confirm"' not in body, data
    long_note = "核" * 500
    res = _approve(client, req, goods="restocked", quantity="2", note=long_note)
    body = res.get_data(as_text=True)
    assert res.status_code == 422 and "处理说明最多 200 个字" in body and f'value="{long_note}"' in body
    res = client.post(url, data={"note": long_note, "confirm": "1"})
    assert res.status_code == 422 and "处理说明最多 200 个字" in res.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(RefundRequest, req.id).status == "requested"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0
    api = client.post(
        f"/api/v1/stations/refund-requests/{req.id}/decision",
        headers=headers,
        json={"decision": "reject"},
    )
    assert api.status_code == 422 and api.json["error"]["code"] == "refund_rejection_reason_required"
    assert client.post(url, data={"note": "照片看不出破损", "confirm": "1"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(RefundRequest, req.id).decision_note == "照片看不出破损"
    # 最近处理 shows what the buyer was told, under the decision (the station could not read it again)
    row = client.get("/refund-requests").get_data(as_text=True).split(f'data-refund-request="{req.id}"')[1]
    assert '<p class="meta decision-note">照片看不出破损</p>' in row.split("</tr>")[0]


def test_the_station_desk_says_a_refund_request_waits_and_leads_to_it(db, world, now, client, auth):
    """The operator's desk (工作台) names the refund requests waiting for its decision and links to them; it
    said nothing, so a first-time operator learnt of a waiting buyer only by opening 退款申请 on a hunch.
    Another station's desk counts only its own; a decided request is no longer counted."""
    order, req = delivered_and_asked(world, now)
    auth.login(world.a.operator)
    page = client.get("/station/").get_data(as_text=True)
    assert "退款申请待处理" in page and 'href="/refund-requests"' in page
    tile = page.split("退款申请待处理")[0].rsplit('class="n">', 1)[1]
    assert tile.startswith("1<"), tile
    auth.login(world.b.operator)
    assert "退款申请待处理" not in client.get("/station/").get_data(as_text=True)
    auth.login(world.a.operator)
    assert client.post(f"/refund-requests/{req.id}/reject", data={"note": "完好", "confirm": "1"}).status_code == 303
    assert "退款申请待处理" not in client.get("/station/").get_data(as_text=True)
