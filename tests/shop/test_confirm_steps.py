"""Every irreversible action takes a confirmation step that needs no JavaScript (shop.confirm).

The first POST (the action's own button) changes nothing: it answers 303 to a page of its own (GET
/confirm/<token>, so Back from the action's result never asks to resubmit a form) saying what will
happen, with the form's fields kept and a button that posts them again with confirm=1; only that POST
acts, and posting it again (Back, confirm again) is refused as the action refuses it now. The page is
its asker's only, for CONFIRM_STEP_SECONDS; in Redis (CACHE_REDIS_URL) every web process finds it.
Cancelling an order or a booking sends the first POST to its own confirmation page (the refund the
policy gives). HTTP only: each test reads the state before and after through the database.
"""

from __future__ import annotations

import os
import re
import time
from datetime import timedelta
from html import unescape

import pytest

from shop import create_app
from shop.db import commit
from shop.extensions import db
from shop.timeutil import local_date, now_utc
from tests.conftest import TEST_CONFIG
from tests.factories import PASSWORD, make_household, make_product, make_station, make_user
from tests.faults.services import free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


def _confirm_page(response, *, undo: str = "此操作不能撤销。") -> dict[str, str]:
    """The confirmation page's form, from the first POST's answer followed (`follow_redirects=True`): a
    303 to the page, loaded by GET (Back from the action's result loads it again, never a POST)."""
    assert [r.status_code for r in response.history] == [303], [r.status_code for r in response.history]
    assert response.request.method == "GET" and response.request.path.startswith("/confirm/")
    return _fields(response, undo=undo)


def _fields(response, *, undo: str = "此操作不能撤销。") -> dict[str, str]:
    """A confirmation page's form fields (confirm=1 among them). The page says the action cannot be
    undone, or (`undo`) how it can be."""
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    assert "请确认" in page and undo in page
    if undo != "此操作不能撤销。":
        assert "此操作不能撤销" not in page
    # said once, in the page's hint: the question does not say it again (不能撤销, 不能恢复)
    assert page.count("不能撤销") + page.count("不能恢复") <= 1, "said twice"
    form = page[page.index('<section class="card confirm-step">') :]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    assert fields.get("confirm") == "1"
    return {k: unescape(v) for k, v in fields.items() if k != "csrf_token"}


def _reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


# --- station: ship, deliver, hand over, cancel a line, cash, daily close, remittance -------------------


def _station_order(**kw):
    from tests.stations.factories import make_order

    station = make_station()
    operator = make_user(role="operator", station=station)
    product = make_product(price_fen=1000, stock=10, station=station)
    order = make_order([(product, 2)], **kw)
    commit()
    return operator, order, order.shipments[0]


@pytest.mark.parametrize(
    ("action", "before", "after", "data"),
    [
        ("ship", "packed", "shipped", {"tracking_number": "SF123456"}),
        ("deliver", "shipped", "delivered", {}),
        ("cancel", "new", "canceled", {"reason": "缺货"}),
    ],
)
def test_shipment_steps_wait_for_the_confirmation(client, auth, db, action, before, after, data):
    operator, _order, shipment = _station_order()
    shipment.status = before
    commit()
    auth.login(operator)
    url = f"/station/shipments/{shipment.code}/action"
    fields = _confirm_page(client.post(url, data={"action": action, **data}, follow_redirects=True))
    assert _reload(shipment).status == before  # the first POST changed nothing
    assert fields["action"] == action and all(fields[k] == v for k, v in data.items())
    assert client.post(url, data=fields).status_code == 302
    assert _reload(shipment).status == after


@pytest.mark.parametrize("lang, undone", [("zh_CN", "不能撤销"), ("en", "cannot be undone")])
def test_a_step_says_once_that_it_cannot_be_undone(client, auth, db, lang, undone):
    """The question asks (发出 a parcel, take cash, recall a lot…); the page's hint alone says it cannot be
    undone, in either language."""
    operator, _order, shipment = _station_order()
    shipment.status = "packed"
    commit()
    auth.login(operator)
    url = f"/station/shipments/{shipment.code}/action?lang={lang}"
    page = client.post(url, data={"action": "ship", "tracking_number": "SF1"}, follow_redirects=True)
    said = page.get_data(as_text=True)
    assert said.count(undone) == 1, said[said.index('<section class="card confirm-step">') :]
    assert _reload(shipment).status == "packed"


def test_accepting_and_packing_need_no_confirmation(client, auth, db):
    operator, _order, shipment = _station_order()
    auth.login(operator)
    assert client.post(f"/station/shipments/{shipment.code}/action", data={"action": "accept"}).status_code == 302
    assert _reload(shipment).status == "accepted"


def test_cancelling_a_line_waits_for_the_confirmation(client, auth, db):
    operator, order, shipment = _station_order()
    line = order.lines[0]
    auth.login(operator)
    url = f"/station/shipments/{shipment.code}/lines/{line.id}/cancel"
    fields = _confirm_page(client.post(url, data={"reason": "缺货"}, follow_redirects=True))
    assert _reload(line).status == "open"
    client.post(url, data=fields)
    assert _reload(line).status != "open"


def test_confirming_cash_waits_for_the_confirmation(client, auth, db):
    from orders.services.cashbook import shipment_cash_fen

    operator, _order, shipment = _station_order(payment_method="station_cash")
    shipment.status = (
        "packed"  # paid at the counter ahead of sending it (once shipped, its cash comes with the delivery)
    )
    commit()
    auth.login(operator)
    url = f"/station/shipments/{shipment.code}/cash"
    fields = _confirm_page(client.post(url, data={}, follow_redirects=True))
    assert shipment_cash_fen(shipment.id) == 0
    client.post(url, data=fields)
    assert shipment_cash_fen(shipment.id) == 2000


def test_daily_close_and_remittance_wait_for_the_confirmation(client, auth, db):
    import sqlalchemy as sa

    from orders.models import CashClose, CashEntry

    station = make_station()
    operator = make_user(role="operator", station=station)
    commit()
    auth.login(operator)
    day = local_date(now_utc())
    page = client.get("/station/cash").get_data(as_text=True)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"|name="form_token" value="([^"]+)"', page)
    token = next(g for g in token.groups() if g)
    fields = _confirm_page(
        client.post(
            "/station/cash/entries",
            data={"kind": "correction", "amount": "5.00", "reason": "点错", "form_token": token},
            follow_redirects=True,
        )
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CashEntry)) == 0
    client.post("/station/cash/entries", data=fields)
    again = client.post("/station/cash/entries", data=fields)  # the same form twice: one entry, told so
    assert again.status_code == 303 and again.headers["Location"].endswith("/station/cash")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CashEntry)) == 1

    fields = _confirm_page(
        client.post(
            "/station/cash/close", data={"day": day.isoformat(), "counted": "5.00", "note": ""}, follow_redirects=True
        )
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CashClose)) == 0
    client.post("/station/cash/close", data=fields)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CashClose)) == 1


# --- refunds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("decision", "status"), [("approve", "approved"), ("reject", "rejected")])
def test_refund_decisions_wait_for_the_confirmation(client, auth, db, now, decision, status):
    from orders.models import RefundRequest
    from orders.services.refunds import request_refund

    operator, order, shipment = _station_order()
    shipment.status = "delivered"
    order.status = "completed"
    commit()
    req = request_refund(order, order.lines[0].id, actor=order.user, now=now, reason="坏了", kind="refund_only")
    commit()
    auth.login(operator)
    url = f"/refund-requests/{req.id}/{decision}"
    fields = _confirm_page(client.post(url, data={"note": "好", "goods": "not_returned"}, follow_redirects=True))
    assert _reload(req).status == "requested" and fields["note"] == "好"
    client.post(url, data=fields)
    assert db.session.get(RefundRequest, req.id).status == status


# --- tourism: the host's closures, no-shows, cancellations, refunds of kept money ----------------------


def _host_booking(days: int = 3):
    from tests.tourism.factories import make_listing
    from tourism.services.booking import BookingRequest, book_listing

    host = make_user(role="host")
    listing = make_listing(host=host, units=2, pay_on_arrival=True)
    day = local_date(now_utc()) + timedelta(days=days)
    booking = book_listing(
        BookingRequest(
            listing_id=listing.id,
            check_in=day,
            check_out=day + timedelta(days=1),
            guests=1,
            unit_type_id=listing.unit_types[0].id,
            pay_on_arrival=True,
        ),
        user=make_user(),
        now=now_utc(),
    )
    commit()
    return host, listing, booking


def test_host_cancel_and_no_show_wait_for_the_confirmation(client, auth, db):
    host, _listing, booking = _host_booking()
    auth.login(host)
    fields = _confirm_page(
        client.post(f"/host/bookings/{booking.code}/cancel", data={"reason": "漏水"}, follow_redirects=True)
    )
    assert _reload(booking).status == "confirmed"
    client.post(f"/host/bookings/{booking.code}/cancel", data=fields)
    assert _reload(booking).status == "canceled"

    host, _listing, booking = _host_booking(days=0)
    auth.login(host)
    fields = _confirm_page(client.post(f"/host/bookings/{booking.code}/no-show", follow_redirects=True))
    assert _reload(booking).status == "confirmed"
    client.post(f"/host/bookings/{booking.code}/no-show", data=fields)
    assert _reload(booking).status == "no_show"


@pytest.mark.parametrize(
    ("lang", "cancel", "no_show"),
    [
        (
            "zh_CN",
            "确认取消预订 {code}（{name}）？客人会收到通知。",
            "确认将预订 {code}（{name}）标记为未到店？",
        ),
        ("en", "Cancel booking {code} ({name})? The guest is told.", "Mark booking {code} ({name}) as a no-show?"),
    ],
)
def test_the_hosts_steps_name_the_booking_and_its_guest_in_the_hosts_language(client, auth, db, lang, cancel, no_show):
    for action, question, days in (("cancel", cancel, 3), ("no-show", no_show, 0)):
        host, _listing, booking = _host_booking(days=days)
        auth.login(host)
        page = client.post(f"/host/bookings/{booking.code}/{action}?lang={lang}", follow_redirects=True)
        said = unescape(page.get_data(as_text=True))
        assert question.format(code=booking.code, name=booking.user.name) in said, action
        assert _reload(booking).status == "confirmed"


def test_closing_dates_waits_for_the_confirmation(client, auth, db):
    import sqlalchemy as sa

    from tourism.models import Closure

    host, listing, _booking = _host_booking()
    auth.login(host)
    start = local_date(now_utc()) + timedelta(days=20)
    data = {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat(), "reason": "装修"}
    fields = _confirm_page(
        client.post(f"/host/listings/{listing.id}/close", data=data, follow_redirects=True),
        undo="关闭的日期可以在日历上点「开放」逐日重新开放。",  # the calendar's 开放 button
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0
    client.post(f"/host/listings/{listing.id}/close", data=fields)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 3


def test_a_guests_cancel_post_goes_to_its_confirmation_page_first(client, auth, db):
    _host, _listing, booking = _host_booking()
    auth.login(booking.user)
    first = client.post(f"/bookings/{booking.code}/cancel")
    assert first.status_code == 303 and first.headers["Location"].endswith(f"/bookings/{booking.code}/cancel")
    assert _reload(booking).status == "confirmed"
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert 'name="confirm" value="1"' in page
    client.post(f"/bookings/{booking.code}/cancel", data={"confirm": "1"})
    assert _reload(booking).status == "canceled"


def test_a_buyers_cancel_post_goes_to_its_confirmation_page_first(client, auth, db, now):
    from orders.models import Order
    from tests.orders.factories import make_order

    buyer = make_user()
    order = make_order(buyer, [(make_product(), 1)], now=now)
    commit()
    auth.login(buyer)
    status = order.status
    first = client.post(f"/orders/{order.code}/cancel")
    assert first.status_code == 303 and first.headers["Location"].endswith(f"/orders/{order.code}/cancel")
    assert db.session.get(Order, order.id).status == status != "canceled"
    assert 'name="confirm" value="1"' in client.get(first.headers["Location"]).get_data(as_text=True)
    client.post(f"/orders/{order.code}/cancel", data={"confirm": "1"})
    assert _reload(order).status == "canceled"


def test_the_cancel_page_of_an_order_canceled_already_asks_nothing(client, auth, db, now):
    """The back button after 确认取消订单 opens the cancel page again: it says the order is canceled and
    shows the order, instead of asking 确定要取消这个订单吗？ of a canceled order (or calling it an error)."""
    from tests.orders.factories import make_order

    buyer = make_user()
    order = make_order(buyer, [(make_product(), 1)], now=now)
    commit()
    auth.login(buyer)
    client.post(f"/orders/{order.code}/cancel", data={"confirm": "1"})
    assert _reload(order).status == "canceled"
    again = client.get(f"/orders/{order.code}/cancel")
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/orders/{order.code}")
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "订单已取消" in page and "确定要取消这个订单吗" not in page and "订单当前状态不能取消" not in page


# --- county: certification decisions and household status changes -------------------------------------


def test_county_decisions_wait_for_the_confirmation(client, auth, db):
    county = make_user(role="county")
    pending, other = make_product(approval_status="pending"), make_product(approval_status="pending")
    household = make_household()
    commit()
    auth.login(county)
    fields = _confirm_page(client.post(f"/county/approvals/{pending.id}/approve", follow_redirects=True))
    assert _reload(pending).approval_status == "pending"
    client.post(f"/county/approvals/{pending.id}/approve", data=fields)
    assert _reload(pending).approval_status == "approved"

    asked = client.post(f"/county/approvals/{other.id}/reject", data={"reason": "非扶贫产品"}, follow_redirects=True)
    fields = _confirm_page(asked)
    assert _reload(other).approval_status == "pending" and fields["reason"] == "非扶贫产品"
    # the page shows the reason the station will read, not only the product's name
    assert "<li>退回原因：非扶贫产品</li>" in asked.get_data(as_text=True)
    client.post(f"/county/approvals/{other.id}/reject", data=fields)
    assert _reload(other).approval_status == "rejected"

    fields = _confirm_page(
        client.post(f"/county/households/{household.id}/status", data={"status": "lifted"}, follow_redirects=True),
        undo="状态可以再次变更，每次变更都记入台账。",  # lifted -> poor or monitored is a later change
    )
    assert _reload(household).status == "poor"
    client.post(f"/county/households/{household.id}/status", data=fields)
    assert _reload(household).status == "lifted"


def test_certifying_a_product_whose_papers_lack_something_does_not_promise_it_goes_on_sale(client, auth, db):
    """认定后即可上架销售 is true only of a product whose food-safety papers are complete: one without them is
    not sold once certified (catalog.papers), so its confirmation says so and names what is missing."""
    from tests.factories import make_category

    county = make_user(role="county")
    lacking = make_product(approval_status="pending", category=make_category(food_class="processed"))
    complete = make_product(approval_status="pending")  # a category that needs no papers
    commit()
    auth.login(county)
    page = client.post(f"/county/approvals/{lacking.id}/approve", follow_redirects=True).get_data(as_text=True)
    assert "认定后即可上架销售" not in page and "食品安全证件齐全有效后才会上架销售" in page
    assert "缺少食品生产许可证（SC）" in page and "缺少检测报告" in page
    page = client.post(f"/county/approvals/{complete.id}/approve", follow_redirects=True).get_data(as_text=True)
    assert "认定后即可上架销售" in page and "食品安全证件" not in page


def test_a_household_status_confirmation_shows_the_head_of_household_masked_and_audits_nothing(client, auth, db):
    import sqlalchemy as sa

    from shop.audit import AuditEntry

    county = make_user(role="county")
    household = make_household(head_name="欧阳秀英")
    commit()
    auth.login(county)
    response = client.post(
        f"/county/households/{household.id}/status", data={"status": "lifted"}, follow_redirects=True
    )
    _confirm_page(response, undo="状态可以再次变更，每次变更都记入台账。")
    page = response.get_data(as_text=True)
    assert "欧阳秀英" not in page and "欧***" in page  # masked as everywhere; only a reveal shows it
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_the_confirmation_page_is_in_the_readers_language(client, auth, db):
    county = make_user(role="county")
    pending = make_product(approval_status="pending", name="腌菜礼盒")
    commit()
    auth.login(county)
    page = client.post(f"/county/approvals/{pending.id}/approve?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "Please confirm" in page and "请确认" not in page and 'name="confirm" value="1"' in page


# --- the confirmation page has a URL of its own (Post/Redirect/Get) -------------------------------------


def _two_operators_and_a_shipment(**kw):
    from tests.stations.factories import make_order

    station = make_station()
    operator, colleague = make_user(role="operator", station=station), make_user(role="operator", station=station)
    order = make_order([(make_product(price_fen=1000, stock=10, station=station), 2)], **kw)
    commit()
    return operator, colleague, order.shipments[0]


def test_the_first_post_answers_303_to_a_page_loaded_by_get_and_loaded_again_by_back(client, auth, db):
    operator, _colleague, shipment = _two_operators_and_a_shipment()
    auth.login(operator)
    url = f"/station/shipments/{shipment.code}/action"
    reason = '缺货 "<急>" & 退款'
    first = client.post(url, data={"action": "cancel", "reason": reason})
    assert first.status_code == 303
    location = first.headers["Location"]
    assert location.startswith("/confirm/") and shipment.code not in location and "请确认" not in first.text
    assert _reload(shipment).status == "new"
    for _ in range(2):  # the page again, as Back shows it: the same question and fields, nothing changed
        page = client.get(location)
        assert page.headers["Cache-Control"] == "no-store"
        fields = _fields(page)
        assert f"确认取消发货单 {shipment.code}？" in page.text and f'action="{url}"' in page.text
        assert fields == {"action": "cancel", "reason": reason, "confirm": "1"}
        assert _reload(shipment).status == "new"
    assert client.post(url, data=fields).status_code == 302
    assert _reload(shipment).status == "canceled"


def test_confirming_again_after_back_says_it_is_done_and_acts_once(client, auth, db):
    from orders.services.cashbook import shipment_cash_fen

    operator, _colleague, shipment = _two_operators_and_a_shipment(payment_method="cod")
    shipment.status = "shipped"
    commit()
    auth.login(operator)
    url = f"/station/shipments/{shipment.code}/action"
    first = client.post(url, data={"action": "deliver", "cash_received": "20.00"})
    fields = _fields(client.get(first.headers["Location"]))
    done = client.post(url, data=fields, follow_redirects=True)
    assert "已更新" in done.text and _reload(shipment).status == "delivered"
    assert shipment_cash_fen(shipment.id) == 2000

    again = client.get(first.headers["Location"])  # Back from the result: the confirmation page, by GET
    answer = client.post(url, data=_fields(again), follow_redirects=True)  # ... and its button once more
    # the shipment page, the step done already (stations.services.fulfilment.step_done_already): said as the
    # state it is in, not refused as if the hand-over had failed
    assert answer.status_code == 200 and "/confirm/" not in answer.request.path
    assert "已是「已交付」，无需重复操作" in answer.text and "当前状态「已交付」不能交付" not in answer.text
    assert _reload(shipment).status == "delivered" and shipment_cash_fen(shipment.id) == 2000  # cash taken once


def test_a_confirmation_page_is_shown_to_its_asker_only(client, auth, db):
    operator, colleague, shipment = _two_operators_and_a_shipment()
    auth.login(operator)
    url = f"/station/shipments/{shipment.code}/action"
    location = client.post(url, data={"action": "cancel", "reason": "缺货了"}).headers["Location"]
    assert client.get(location).status_code == 200

    auth.login(colleague)  # the same station's other operator, who could cancel it too: not their page
    refused = client.get(location)
    assert refused.status_code == 410
    assert "确认页已失效" in refused.text and "返回首页" in refused.text
    assert shipment.code not in refused.text and "缺货了" not in refused.text and 'name="confirm"' not in refused.text
    auth.logout()
    assert client.get(location).status_code == 410  # nor an anonymous visitor's
    assert client.get("/confirm/" + "x" * 43).status_code == 410  # a token nobody was given
    assert client.get("/confirm/" + "x" * 500).status_code == 410
    auth.login(operator)
    assert client.get(location).status_code == 200
    assert _reload(shipment).status == "new"


def test_an_expired_confirmation_page_says_so_and_nothing_happened(app, client, auth, db):
    operator, _colleague, shipment = _two_operators_and_a_shipment()
    auth.login(operator)
    url = f"/station/shipments/{shipment.code}/action"
    app.config["CONFIRM_STEP_SECONDS"], saved = 1, app.config["CONFIRM_STEP_SECONDS"]
    try:
        location = client.post(url, data={"action": "cancel", "reason": "缺货"}).headers["Location"]
    finally:
        app.config["CONFIRM_STEP_SECONDS"] = saved
    time.sleep(1.5)
    gone = client.get(location)
    assert gone.status_code == 410 and "确认页已失效" in gone.text and "没有执行任何操作" in gone.text
    assert 'href="/"' in gone.text  # a way back
    assert _reload(shipment).status == "new"
    english = client.get(location, query_string={"lang": "en"})
    assert english.status_code == 410 and "This confirmation page has expired" in english.text


@pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set TEST_REDIS_URL")
def test_in_redis_every_web_process_finds_the_confirmation_page(committed_db):
    """Two apps (two web processes) sharing Redis as CACHE_REDIS_URL: the POST answered by one, the GET
    by the other."""
    operator, _colleague, shipment = _two_operators_and_a_shipment()
    email, url = operator.email, f"/station/shipments/{shipment.code}/action"
    committed_db.session.close()  # (SQLite: no read transaction left open against the nodes' writes)
    nodes = [create_app(dict(TEST_CONFIG, CACHE_REDIS_URL=REDIS_URL)) for _ in range(2)]
    try:
        first, second = (node.test_client() for node in nodes)
        assert first.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        location = first.post(url, data={"action": "cancel", "reason": "缺货"}).headers["Location"]
        name = nodes[0].config["SESSION_COOKIE_NAME"]
        second.set_cookie(name, first.get_cookie(name).value)
        fields = _fields(second.get(location))
        assert fields["reason"] == "缺货"
        assert second.post(url, data=fields).status_code == 302
        assert _reload(shipment).status == "canceled"
    finally:
        for node in nodes:
            with node.app_context():
                db.engine.dispose()


def test_with_its_store_unreachable_the_post_answers_the_confirmation_page_itself(committed_db):
    """Redis down (nothing listens at CACHE_REDIS_URL): the step cannot be kept, so the first POST answers
    the page as before it had a URL of its own; the action can still be confirmed."""
    operator, _colleague, shipment = _two_operators_and_a_shipment()
    email, url = operator.email, f"/station/shipments/{shipment.code}/action"
    committed_db.session.close()
    node = create_app(dict(TEST_CONFIG, CACHE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        web = node.test_client()
        assert web.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        fields = _fields(web.post(url, data={"action": "cancel", "reason": "缺货"}))
        assert fields["reason"] == "缺货" and _reload(shipment).status == "new"
        committed_db.session.close()
        assert web.post(url, data=fields).status_code == 302
        assert _reload(shipment).status == "canceled"
    finally:
        with node.app_context():
            db.engine.dispose()
