"""Dashboard, shipment page actions, packing slip, cash summary."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from orders.models import Shipment
from shop.db import commit
from shop.history import history_of
from shop.timeutil import now_utc
from stations.services import fulfilment
from stations.services.dashboard import station_dashboard
from stock.models import StockRecord
from tests.factories import make_household
from tests.stations.factories import PICKUP_CODE, make_order


def test_dashboard_groups_own_shipments_oldest_first_with_low_stock(db, world, now):
    old = make_order([(world.a.product, 1)], created_at=now - timedelta(days=2))
    new = make_order([(world.a.product, 1)], created_at=now - timedelta(hours=1))
    make_order([(world.b.product, 1)])
    record = db.session.get(StockRecord, world.a.product.stock.id)
    record.low_stock_threshold = 18
    dash = station_dashboard(world.a.station, now=now)
    groups = {g.status: g for g in dash.groups}
    assert list(groups) == [
        "new",
        "accepted",
        "packed",
        "shipped",
        "arrived",
        "ready_for_pickup",
        "delivered",
        "canceled",
    ]
    assert groups["new"].count == 2
    assert [s.code for s in groups["new"].shipments] == [old.shipments[0].code, new.shipments[0].code]
    assert groups["new"].oldest_age == timedelta(days=2)
    assert [r.id for r in dash.low_stock] == [record.id]  # 20 - 2 allocated = 18 <= 18


def test_todays_pickups_are_listed(db, world, now):
    order = make_order([(world.a.product, 1)], delivery="pickup")
    s = order.shipments[0]
    fulfilment.accept(s, actor=world.a.operator, now=now)
    fulfilment.pack(s, actor=world.a.operator, now=now)
    assert [x.code for x in station_dashboard(world.a.station, now=now).pickups_waiting] == [s.code]
    fulfilment.hand_over_pickup(s, pickup_code=PICKUP_CODE, actor=world.a.operator, now=now)
    dash = station_dashboard(world.a.station, now=now)
    assert dash.pickups_waiting == [] and [x.code for x in dash.picked_up_today] == [s.code]
    assert station_dashboard(world.a.station, now=now + timedelta(days=1)).picked_up_today == []


def test_todays_pickups_include_orders_still_being_prepared(db, world, client, auth, now):
    """今日自提 said 今天没有自提 while a pick-up order was still being prepared: it lists every open
    pick-up order here with its state, ready or not."""
    new = make_order([(world.a.product, 1)], delivery="pickup").shipments[0]
    accepted = make_order([(world.a.product, 1)], delivery="pickup").shipments[0]
    fulfilment.accept(accepted, actor=world.a.operator, now=now)
    commit()
    assert [x.code for x in station_dashboard(world.a.station, now=now).pickups_preparing] == [new.code, accepted.code]
    auth.login(world.a.operator)
    body = client.get("/station/").get_data(as_text=True)
    start = body.index("今日自提</h2>")
    section = body[start : body.index("</section>", start)]
    assert "今天没有自提" not in section
    assert f">{new.code}</a> · 备货中（新订单）" in section and f">{accepted.code}</a> · 备货中（已接单）" in section


def test_todays_pickups_leave_out_what_this_station_only_sends_to_another_counter(db, world, client, auth, now):
    """B packs a pick-up order the buyer collects at A: B's 今日自提 listed it (备货中, with the buyer's name),
    as if the buyer came to B's counter. B's desk shows it in its queue as 送往 A; A's 送来本站自提 lists it."""
    transfer = make_order([(world.b.product, 1)], delivery="pickup", pickup_station=world.a.station).shipments[0]
    own = make_order([(world.b.product, 1)], delivery="pickup", pickup_station=world.b.station).shipments[0]
    commit()
    auth.login(world.b.operator)
    body = client.get("/station/").get_data(as_text=True)
    section = body[body.index("今日自提</h2>") :].split("</section>")[0]
    assert f">{own.code}</a> · 备货中（新订单）" in section and transfer.code not in section
    assert f"送往 {world.a.station.name}" in body and transfer.code in body
    auth.logout()
    auth.login(world.a.operator)
    body = client.get("/station/").get_data(as_text=True)
    assert transfer.code in body[body.index("送来本站自提</h2>") :].split("</section>")[0]
    assert transfer.code not in body[body.index("今日自提</h2>") :].split("</section>")[0]


def test_todays_pickups_hold_what_was_sent_here_once_it_arrived_and_once_handed_over(db, world, client, auth, now):
    """A pick-up order collected at A with goods packed at B: once they arrived, A's 今日自提 lists them
    waiting for the buyer (it listed only what A packed itself), and once handed over, as picked up today."""
    order = make_order([(world.b.product, 1)], delivery="pickup", pickup_station=world.a.station)
    s = order.shipments[0]
    for step, operator in (("accept", world.b.operator), ("pack", world.b.operator), ("ship", world.b.operator)):
        fulfilment.apply_action(s, step, actor=operator, now=now)
    fulfilment.receive(s, actor=world.a.operator, now=now)
    commit()
    auth.login(world.a.operator)

    def todays_pickups() -> str:
        body = client.get("/station/").get_data(as_text=True)
        return body[body.index("今日自提</h2>") :].split("</section>")[0]

    assert f">{s.code}</a> · 待自提 · " in todays_pickups()
    fulfilment.hand_over_pickup(s, pickup_code=PICKUP_CODE, actor=world.a.operator, now=now_utc())
    commit()
    assert f">{s.code}</a> · 已取货" in todays_pickups()


def test_sending_a_transfer_asks_whether_it_left_for_the_chosen_station_not_the_courier(db, world, client, auth, now):
    """B sends A a pick-up order's goods: the confirmation asked 已交快递发出？ as for a parcel to the buyer."""
    transfer = make_order([(world.b.product, 1)], delivery="pickup", pickup_station=world.a.station).shipments[0]
    parcel = make_order([(world.b.product, 1)]).shipments[0]
    for s in (transfer, parcel):
        fulfilment.accept(s, actor=world.b.operator, now=now)
        fulfilment.pack(s, actor=world.b.operator, now=now)
    commit()
    auth.login(world.b.operator)
    for s, asked, not_asked in (
        (transfer, f"确认发货单 {transfer.code} 已送往 {world.a.station.name}？", "已交快递发出"),
        (parcel, f"确认发货单 {parcel.code} 已交快递发出？", "已送往"),
    ):
        page = client.post(
            f"/station/shipments/{s.code}/action",
            data={"action": "ship", "tracking_number": "SF1"},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert asked in page and not_asked not in page, s.code


def test_dashboard_page_shows_only_the_operators_station(db, world, client, auth):
    mine = make_order([(world.a.product, 1)], created_at=now_utc() - timedelta(hours=30))
    theirs = make_order([(world.b.product, 1)])
    auth.login(world.a.operator)
    body = client.get("/station/").get_data(as_text=True)
    assert mine.shipments[0].code in body and theirs.shipments[0].code not in body
    assert world.b.product.name not in body


def test_a_delivered_or_canceled_shipment_is_not_shown_as_still_waiting(db, world, client, auth):
    """已等待 counts a shipment's wait while it is open; a delivered or canceled one waits no more (it
    showed "30 小时" and kept growing for weeks beside a live one's wait)."""
    from orders.services.payments import cancel_order

    now = now_utc()  # the page counts from the clock
    done = make_order([(world.a.product, 1)], created_at=now - timedelta(hours=30))
    dropped = make_order([(world.a.product, 1)], created_at=now - timedelta(hours=31))
    waiting = make_order([(world.a.product, 1)], created_at=now - timedelta(hours=29))
    s = done.shipments[0]
    fulfilment.accept(s, actor=world.a.operator, now=now)
    fulfilment.pack(s, actor=world.a.operator, now=now)
    fulfilment.ship(s, tracking_number="SF1", actor=world.a.operator, now=now)
    fulfilment.deliver(s, actor=world.a.operator, now=now)
    cancel_order(dropped, actor=world.a.operator, now=now, reason="缺货")
    commit()
    auth.login(world.a.operator)
    body = client.get("/station/").get_data(as_text=True)
    row = lambda code: body[body.index(f">{code}</a>") : body.index("</tr>", body.index(f">{code}</a>"))]  # noqa: E731
    assert "29 小时" in row(waiting.shipments[0].code)
    assert "30 小时" not in row(s.code) and "—" in row(s.code)
    assert "31 小时" not in row(dropped.shipments[0].code) and "—" in row(dropped.shipments[0].code)


def test_shipment_page_walks_the_workflow_by_forms(db, world, client, auth):
    order = make_order([(world.a.product, 2)])
    code = order.shipments[0].code
    auth.login(world.a.operator)
    assert client.get(f"/station/shipments/{code}").status_code == 200
    for data, status in (
        ({"action": "accept"}, 302),
        ({"action": "pack"}, 302),
        ({"action": "ship", "tracking_number": "", "confirm": "1"}, 422),  # refused: the page again, as typed
    ):
        assert client.post(f"/station/shipments/{code}/action", data=data).status_code == status
    db.session.expire_all()
    assert db.session.scalar(sa.select(Shipment.status).where(Shipment.code == code)) == "packed"
    client.post(
        f"/station/shipments/{code}/action", data={"confirm": "1", "action": "ship", "tracking_number": "EMS88"}
    )
    client.post(f"/station/shipments/{code}/action", data={"confirm": "1", "action": "deliver"})
    db.session.expire_all()
    assert db.session.scalar(sa.select(Shipment.status).where(Shipment.code == code)) == "delivered"
    page = client.get(f"/station/shipments/{code}").get_data(as_text=True)
    assert "EMS88" in page
    assert (
        client.post(f"/station/shipments/{code}/action", data={"confirm": "1", "action": "teleport"}).status_code == 302
    )


def test_wrong_pickup_code_by_form_is_counted(db, world, client, auth, now):
    order = make_order([(world.a.product, 1)], delivery="pickup")
    s = order.shipments[0]
    fulfilment.accept(s, actor=world.a.operator, now=now)
    fulfilment.pack(s, actor=world.a.operator, now=now)
    commit()
    auth.login(world.a.operator)
    response = client.post(
        f"/station/shipments/{s.code}/action",
        data={"confirm": "1", "action": "pickup", "pickup_code": "1"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "取货码错误：请顾客在「我的订单」打开这笔订单核对取货码（还可尝试 4 次）" in page  # what to do next
    db.session.expire_all()
    assert (s.pickup_failures, s.status) == (1, "ready_for_pickup")
    # the try is in the shipment's history, with who typed it: the tries that lead to a lock are seen
    history = re.search(
        r'<ul class="plain history">(.*?)</ul>', client.get(f"/station/shipments/{s.code}").get_data(as_text=True), re.S
    )
    assert history and "取货码错误" in history.group(1)


def test_a_wrong_lot_code_at_packing_says_what_to_scan(db, world, client, auth, now):
    """A lot code of another product (or a typo) is refused, and the message says what to do instead."""
    order = make_order([(world.a.product, 1)], delivery="pickup")
    s = order.shipments[0]
    fulfilment.accept(s, actor=world.a.operator, now=now)
    commit()
    auth.login(world.a.operator)
    line = s.lines[0]
    for lang, advice in (("zh_CN", "请扫描这个商品标签上的批次码，或留空用先到期的批次"), ("en", "leave it empty")):
        response = client.post(
            f"/station/shipments/{s.code}/action?lang={lang}",
            data={"confirm": "1", "action": "pack", f"lot-{line.id}": "WRONGLOT"},
            follow_redirects=True,
        )
        page = response.get_data(as_text=True)
        assert "WRONGLOT" in page and advice in page, lang
    db.session.expire_all()
    assert s.status == "accepted"


def test_pickup_code_failures_show_only_while_the_code_can_be_entered(db, world, client, auth, now):
    """取货码错误 1 / 5 counts tries left at the counter; once the goods are handed over there is nothing
    left to try, and the counter is gone from the page."""
    order = make_order([(world.a.product, 1)], delivery="pickup")
    s = order.shipments[0]
    fulfilment.accept(s, actor=world.a.operator, now=now)
    fulfilment.pack(s, actor=world.a.operator, now=now)
    commit()
    auth.login(world.a.operator)
    client.post(f"/station/shipments/{s.code}/action", data={"confirm": "1", "action": "pickup", "pickup_code": "1"})
    page = client.get(f"/station/shipments/{s.code}").get_data(as_text=True)
    assert "取货码错误</dt><dd>1 / 5" in page
    client.post(
        f"/station/shipments/{s.code}/action", data={"confirm": "1", "action": "pickup", "pickup_code": PICKUP_CODE}
    )
    db.session.expire_all()
    assert s.status == "delivered"
    page = client.get(f"/station/shipments/{s.code}").get_data(as_text=True)
    assert "取货码错误</dt>" not in page and "1 / 5" not in page  # the counter is gone; the history keeps the try


def test_cancel_line_and_cash_by_form(db, world, client, auth):
    order = make_order([(world.a.product, 2)], delivery="pickup", payment_method="station_cash")
    s = order.shipments[0]
    auth.login(world.a.operator)
    assert client.post(f"/station/shipments/{s.code}/cash", data={"confirm": "1"}).status_code == 302
    db.session.expire_all()
    assert s.cash_received_by_id == world.a.operator.id
    page = client.get("/station/cash").get_data(as_text=True)
    assert "¥66.66" in page
    assert client.get("/station/cash?date=garbage").status_code == 422
    response = client.post(
        f"/station/shipments/{s.code}/lines/{order.lines[0].id}/cancel", data={"confirm": "1", "reason": ""}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert order.lines[0].status == "open"
    client.post(
        f"/station/shipments/{s.code}/lines/{order.lines[0].id}/cancel", data={"confirm": "1", "reason": "缺货"}
    )
    db.session.expire_all()
    assert order.lines[0].status != "open" and s.status == "canceled"


def test_packing_slip_has_order_code_lines_address_and_qr(db, world, client, auth):
    order = make_order([(world.a.product, 2)])
    auth.login(world.a.operator)
    body = client.get(f"/station/shipments/{order.shipments[0].code}/slip").get_data(as_text=True)
    assert order.code in body and world.a.product.name in body and "莲塘镇 1 号" in body
    assert "<svg" in body and "@media print" not in body  # QR inline; print rules live in stations.css
    pickup = make_order([(world.a.product, 1)], delivery="pickup", pickup_station=world.a.station)
    body = client.get(f"/station/shipments/{pickup.shipments[0].code}/slip").get_data(as_text=True)
    assert "莲塘镇 1 号" not in body and world.a.station.name in body


def test_no_slip_or_station_page_prints_the_pick_up_code(db, world, client, auth, now):
    """The code is the buyer's alone (#17.8, #19.6): not on the packing slip, not on the pick-up
    shelf's slip, not on the operator's pages, at any step."""
    order = make_order([(world.a.product, 1), (world.b.product, 1)], delivery="pickup", pickup_station=world.a.station)
    own, incoming = order.shipments
    auth.login(world.a.operator)
    pages = [
        f"/station/shipments/{own.code}/slip",
        f"/station/shipments/{own.code}",
        "/station/",
        f"/station/shipments/{incoming.code}",
    ]
    for path in pages:
        body = client.get(path).get_data(as_text=True)
        assert PICKUP_CODE not in body, path
    fulfilment.accept(own, actor=world.a.operator, now=now)
    fulfilment.pack(own, actor=world.a.operator, now=now)
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200 and PICKUP_CODE not in response.get_data(as_text=True), path
    slip = client.get(f"/station/shipments/{own.code}/slip").get_data(as_text=True)
    assert "onclick" not in slip and 'src="/static/js/print.js"' in slip and "data-print" in slip


def test_locked_pickup_is_unlocked_only_by_an_admin(db, world, client, auth, now):
    order = make_order([(world.a.product, 1)], delivery="pickup")
    s = order.shipments[0]
    fulfilment.accept(s, actor=world.a.operator, now=now)
    fulfilment.pack(s, actor=world.a.operator, now=now)
    s.pickup_failures = fulfilment.PICKUP_MAX_FAILURES
    commit()
    auth.login(world.a.operator)
    assert "已锁定" in client.get(f"/station/shipments/{s.code}").get_data(as_text=True)
    assert client.post(f"/station/shipments/{s.code}/unlock-pickup").status_code == 403
    auth.logout()
    auth.login(world.admin)
    assert client.post(f"/station/shipments/{s.code}/unlock-pickup").status_code == 302
    db.session.expire_all()
    assert s.pickup_failures == 0
    history = len(history_of(s))
    again = client.post(f"/station/shipments/{s.code}/unlock-pickup", follow_redirects=True)  # nothing to unlock
    assert "取货码没有被锁定" in again.get_data(as_text=True)
    db.session.expire_all()
    assert len(history_of(s)) == history  # refused: no history line


def test_shipment_page_shows_the_recipient_to_the_station_and_nav_links_refund_requests(db, world, client, auth):
    """#19.6: the operator sees whom to send to (a buyer, not a household: unmasked, own station only);
    the refund requests page is reachable from the station navigation."""
    order = make_order([(world.a.product, 1)])
    s = order.shipments[0]
    auth.login(world.a.operator)
    body = client.get(f"/station/shipments/{s.code}").get_data(as_text=True)
    for text in ("李四", "13800000000", "江西省", "南昌县", "莲塘镇 1 号"):
        assert text in body, text
    assert 'href="/refund-requests"' in client.get("/station/").get_data(as_text=True)
    client.post("/logout")
    auth.login(world.b.operator)
    assert client.get(f"/station/shipments/{s.code}").status_code == 404


def test_the_station_pages_other_packages_serve_keep_the_workspace_menu_for_an_operator(db, world, client, auth):
    """退款申请, 对公转账, 发票 and 单位询价 are linked from the station's menu and keep it (with the station's
    name), so an operator is never left without a way back to 工作台; an admin sees the page alone."""
    auth.login(world.a.operator)
    for path in ("/refund-requests", "/bank-transfers", "/station/invoices", "/station/quote-requests"):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert 'class="station-nav' in body and 'href="/station/"' in body, path
        assert world.a.station.name in body and "css/stations.css" in body, path
    client.post("/logout")
    auth.login(world.admin)
    body = client.get("/refund-requests").get_data(as_text=True)
    assert 'class="station-nav' not in body


def _waiting_for_pickup(world, now, *, tries_left: int | None = None) -> Shipment:
    """A pick-up order of station A, accepted and packed (committed), with `tries_left` wrong codes
    still allowed before it locks (all of them when None)."""
    s = make_order([(world.a.product, 1)], delivery="pickup").shipments[0]
    fulfilment.accept(s, actor=world.a.operator, now=now)
    fulfilment.pack(s, actor=world.a.operator, now=now)
    if tries_left is not None:
        s.pickup_failures = fulfilment.PICKUP_MAX_FAILURES - tries_left
    commit()
    return s


def test_the_last_wrong_pickup_code_says_the_order_is_locked_not_zero_tries_left(db, world, client, auth, now):
    """The fifth wrong code locks the order: the operator is told so at once, not "还可尝试 0 次"."""
    s = _waiting_for_pickup(world, now, tries_left=1)
    auth.login(world.a.operator)
    response = client.post(
        f"/station/shipments/{s.code}/action",
        data={"confirm": "1", "action": "pickup", "pickup_code": "1"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "还可尝试 0 次" not in page
    assert "已锁定" in page
    db.session.expire_all()
    assert (s.pickup_failures, s.status) == (fulfilment.PICKUP_MAX_FAILURES, "ready_for_pickup")


def test_more_cash_typed_than_is_due_says_to_enter_the_amount_due_not_to_collect_it(db, world, client, auth, now):
    """The buyer hands over ¥50 for ¥33.33 and the operator types 50: the page says to enter the amount due
    (the change given back is not counted), not merely "take the cash first"; nothing changes."""
    s = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash").shipments[0]
    fulfilment.accept(s, actor=world.a.operator, now=now)
    fulfilment.pack(s, actor=world.a.operator, now=now)
    commit()
    auth.login(world.a.operator)
    for lang, words in (("zh_CN", ("填写 ¥33.33", "零钱不算在内")), ("en", ("enter ¥33.33", "change given back"))):
        response = client.post(
            f"/station/shipments/{s.code}/action?lang={lang}",
            data={"confirm": "1", "action": "pickup", "pickup_code": PICKUP_CODE, "cash_received": "50"},
            follow_redirects=True,
        )
        page = response.get_data(as_text=True)
        assert all(w in page for w in words), (lang, words)
    db.session.expire_all()
    assert (s.status, s.cash_received_at) == ("ready_for_pickup", None)


def test_cash_typed_below_zero_is_said_as_cash_not_as_a_price(db, world, client, auth, now):
    """-5 or 0 typed as the cash received is refused in the cash's words (收到的现金须大于零), not as a price
    (价格必须大于零: the field is no price); nothing changes."""
    s = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash").shipments[0]
    fulfilment.accept(s, actor=world.a.operator, now=now)
    fulfilment.pack(s, actor=world.a.operator, now=now)
    commit()
    auth.login(world.a.operator)
    for typed in ("-5", "0"):
        for lang, said in (("zh_CN", "收到的现金须大于零"), ("en", "The cash received must be more than zero")):
            page = client.post(
                f"/station/shipments/{s.code}/action?lang={lang}",
                data={"confirm": "1", "action": "pickup", "pickup_code": PICKUP_CODE, "cash_received": typed},
                follow_redirects=True,
            ).get_data(as_text=True)
            assert said in page and "价格必须大于零" not in page, (typed, lang)
    db.session.expire_all()
    assert (s.status, s.cash_received_at) == ("ready_for_pickup", None)


def test_a_pickup_code_typed_in_full_width_digits_or_in_groups_is_the_code(db, world, client, auth, now):
    """What the buyer shows, typed with a Chinese input method's full-width digits, or read out in two
    groups ("123 456"), hands the order over; it is not a wrong try towards the lockout."""
    typed = [
        " ".join([PICKUP_CODE[:3], PICKUP_CODE[3:]]),
        PICKUP_CODE.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"}),
    ]
    auth.login(world.a.operator)
    for code in typed:
        s = _waiting_for_pickup(world, now)
        client.post(
            f"/station/shipments/{s.code}/action", data={"confirm": "1", "action": "pickup", "pickup_code": code}
        )
        db.session.expire_all()
        assert (s.status, s.pickup_failures) == ("delivered", 0), code


def test_the_slip_and_the_label_name_the_sites_icon(db, world, client, auth):
    """Standalone pages (not base.html): without a <link rel=icon> Chromium asks for /favicon.ico, a 404 in
    the console each time a slip or a label is opened for printing."""
    s = make_order([(world.a.product, 1)]).shipments[0]
    auth.login(world.a.operator)
    for page in ("slip", "label"):
        body = client.get(f"/station/shipments/{s.code}/{page}").get_data(as_text=True)
        assert '<link rel="icon" href="/static/favicon.svg"' in body, page


def test_a_cash_on_delivery_parcel_label_says_how_much_to_collect(db, world, client, auth):
    """货到付款 on the label with the amount the courier collects (the slip inside the parcel had it, the
    label outside did not); a prepaid parcel's label names no amount."""
    cod = make_order([(world.a.product, 2)], payment_method="cod")
    paid = make_order([(world.a.product, 1)])
    auth.login(world.a.operator)
    label = client.get(f"/station/shipments/{cod.shipments[0].code}/label").get_data(as_text=True)
    due = fulfilment.shipment_amount_fen(cod.shipments[0])
    assert "货到付款" in label and f'应收金额：<strong class="cod-due">¥{due // 100}.{due % 100:02d}</strong>' in label
    label = client.get(f"/station/shipments/{paid.shipments[0].code}/label").get_data(as_text=True)
    assert "货到付款" not in label and "cod-due" not in label


def test_a_paid_shipment_shows_its_amount_not_an_amount_to_collect(db, world, client, auth, now):
    """发货单: 应收金额 is what the station or the courier collects (到站付现, 货到付款); an order paid online
    shows 金额 — beside the shipment's facts and in the counter's 整单自提 table — so that nobody asks the
    buyer to pay it again, at the door or at the counter."""
    paid = make_order([(world.a.product, 1)])
    paid_pickup = make_order([(world.a.product, 1)], delivery="pickup")
    cod = make_order([(world.a.product, 2)], payment_method="cod")
    cash = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash")
    for order in (paid_pickup, cash):  # at the counter: the 整单自提 table
        fulfilment.accept(order.shipments[0], actor=world.a.operator, now=now)
        fulfilment.pack(order.shipments[0], actor=world.a.operator, now=now)
    commit()
    auth.login(world.a.operator)
    for order, label in ((paid, "金额"), (paid_pickup, "金额"), (cod, "应收金额"), (cash, "应收金额")):
        page = client.get(f"/station/shipments/{order.shipments[0].code}").get_data(as_text=True)
        assert f"<dt>{label}</dt>" in page, (order.payment_method, order.delivery)
        if order.delivery == "pickup":
            assert f"<th>{label}</th></tr></thead>" in page, (order.payment_method, "整单自提")
        if label == "金额":
            assert "应收金额" not in page, (order.payment_method, order.delivery)


def test_one_try_left_reads_as_one_attempt_in_english(db, world, client, auth, now):
    """ngettext: "1 attempt left", not "1 attempts left"."""
    s = _waiting_for_pickup(world, now, tries_left=2)
    auth.login(world.a.operator)
    response = client.post(
        f"/station/shipments/{s.code}/action?lang=en",
        data={"confirm": "1", "action": "pickup", "pickup_code": "1"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "check the code (1 attempt left)" in page and "attempts left" not in page


def test_the_operator_tells_two_households_of_a_village_with_one_surname_apart(db, world, client, auth):
    """代卖农户, 受益农户 and 交货农户 read 「A村 · 张*」 for both 张三 and 张四 of one village (names are masked):
    the operator could credit a sale or an intake to the wrong household. Each choice now carries the
    household's number in the county's registry, as the county's benefit links do: 「#12 张* · A村」."""
    one = make_household(village=world.a.village, head_name="张三")
    two = make_household(village=world.a.village, head_name="张四")
    commit()
    record = db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == world.a.product.id))
    auth.login(world.a.operator)
    for url in ("/station/products/new", f"/station/stock/{record.id}"):
        page = client.get(url).get_data(as_text=True)
        for household in (one, two):
            assert f"#{household.id} 张* · {world.a.village.name}" in page, url
        assert "张三" not in page and "张四" not in page


def test_a_pickup_order_without_a_name_is_named_by_its_account_on_the_desk_and_the_slips(db, world, client, auth, now):
    """A pick-up order asks no address, so its name is often empty: 今日自提 read 「9TYMHGZA-1 · 待自提 ·」
    and the packing slip and parcel label named nobody, while the shipment's page said 取货人 李游客 (the
    account's name). One rule now (orders.services.pickup.collector_name) for all four."""
    buyer = world.buyer
    order = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash", buyer=buyer)
    order.ship_name = ""
    s = order.shipments[0]
    fulfilment.accept(s, actor=world.a.operator, now=now)
    fulfilment.pack(s, actor=world.a.operator, now=now)
    commit()
    auth.login(world.a.operator)
    desk = client.get("/station/").get_data(as_text=True)
    row = desk[desk.index(f">{s.code}</a>") :].split("</li>")[0]
    assert buyer.name and buyer.name in row
    for path in (
        f"/station/shipments/{s.code}",
        f"/station/shipments/{s.code}/slip",
        f"/station/shipments/{s.code}/label",
    ):
        assert buyer.name in client.get(path).get_data(as_text=True), path


def test_the_slip_and_the_label_lead_back_to_their_shipment(db, world, client, auth):
    """Opened in a tab of their own (a phone shows no header on them), the packing slip and the parcel
    label each have a way back to the shipment's page beside 打印."""
    s = make_order([(world.a.product, 1)]).shipments[0]
    auth.login(world.a.operator)
    for page in ("slip", "label"):
        body = client.get(f"/station/shipments/{s.code}/{page}").get_data(as_text=True)
        assert f'<a class="btn" href="/station/shipments/{s.code}">返回发货单</a>' in body, page
