"""#18: the host's till closes its days, takes remittances and corrections by the station's rules —
one service (`orders.services.cashbook` over `tourism.services.host_cash.HOST_TILL`)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orders.services import cashbook as cash
from shop.db import commit
from shop.errors import Conflict, ValidationError
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.factories import make_household, make_user
from tests.tourism.factories import make_listing
from tourism.models import BookingStatus, HostCashClose, HostCashEntry
from tourism.services.booking import BookingRequest, book_listing, check_in_booking
from tourism.services.host_cash import HOST_TILL


def _arrival(host, now, *, price_fen=15000):
    listing = make_listing(host=host, price_fen=price_fen, pay_on_arrival=True, households=[make_household()])
    today = local_date(now)
    return book_listing(
        BookingRequest(
            listing_id=listing.id, check_in=today, check_out=today + timedelta(days=1), guests=2, pay_on_arrival=True
        ),
        user=make_user(),
        now=now,
    )


def _kinds(host_id):
    return [
        (e.kind, e.amount_fen, e.business_date)
        for e in HostCashEntry.query.filter_by(host_id=host_id).order_by(HostCashEntry.id)
    ]


def test_host_close_difference_needs_a_reason_and_a_closed_day_refuses_every_change(db, now):
    host = make_user(role="host")
    booking = _arrival(host, now)
    check_in_booking(booking, booking.confirmation_code, actor=host, now=now, cash_received_fen=15000)
    cash.remit(host.id, 10000, actor=host, now=now, note="交平台", till=HOST_TILL)
    cash.correct(host.id, -50, reason="找零多给", actor=host, now=now, till=HOST_TILL)
    day = local_date(now)
    book = cash.day_book(host.id, day, till=HOST_TILL)
    assert (book.opening_fen, book.expected_fen, book.closed) == (0, 4950, False)
    with pytest.raises(ValidationError):
        cash.close_day(host.id, day, counted_fen=4900, actor=host, now=now, till=HOST_TILL)  # no reason
    with pytest.raises(ValidationError):
        cash.correct(host.id, 10, reason=" ", actor=host, now=now, till=HOST_TILL)
    with pytest.raises(ValidationError):
        cash.close_day(host.id, day + timedelta(days=1), counted_fen=0, actor=host, now=now, till=HOST_TILL)
    close = cash.close_day(host.id, day, counted_fen=4900, note="少五角", actor=host, now=now, till=HOST_TILL)
    assert (close.expected_fen, close.counted_fen, close.difference_fen) == (4950, 4900, -50)
    for change in (
        lambda: cash.remit(host.id, 100, actor=host, now=now, day=day, till=HOST_TILL),
        lambda: cash.correct(host.id, 5, reason="x", actor=host, now=now, day=day, till=HOST_TILL),
        lambda: cash.close_day(host.id, day, counted_fen=4900, actor=host, now=now, till=HOST_TILL),
    ):
        with pytest.raises(Conflict) as refused:
            change()
        assert refused.value.code == "cash_day_closed"
    # cash taken after the close goes into the next open day's book; the next day opens at the count
    later = _arrival(host, now, price_fen=8000)
    check_in_booking(later, later.confirmation_code, actor=host, now=now, cash_received_fen=8000)
    assert later.status == BookingStatus.CHECKED_IN
    assert _kinds(host.id)[-1] == ("arrival", 8000, day + timedelta(days=1))
    tomorrow = cash.day_book(host.id, day + timedelta(days=1), till=HOST_TILL)
    assert (tomorrow.opening_fen, tomorrow.expected_fen) == (4900, 12900)
    # another host's book is its own
    assert cash.day_book(make_user(role="host").id, day, till=HOST_TILL).expected_fen == 0


def test_host_cashbook_api_for_hosts_only_and_documented(db, client, api_token):
    host, other = make_user(role="host"), make_user(role="host")
    booking = _arrival(host, now_utc())
    check_in_booking(booking, booking.confirmation_code, actor=host, now=now_utc(), cash_received_fen=15000)
    commit()
    day = local_date(now_utc()).isoformat()
    mine, theirs = api_token(host), api_token(other)
    body = client.get(f"/api/v1/host/cashbook?date={day}", headers=mine).json
    assert (body["host_id"], body["expected_fen"], body["closed"]) == (host.id, 15000, False)
    assert [(e["kind"], e["amount_fen"], e["booking_code"]) for e in body["entries"]] == [
        ("arrival", 15000, booking.code)
    ]
    assert client.get(f"/api/v1/host/cashbook?date={day}", headers=theirs).json["expected_fen"] == 0
    assert client.get("/api/v1/host/cashbook", headers=api_token(make_user(role="county"))).status_code == 403
    assert client.get("/api/v1/host/cashbook").status_code == 401
    bad = client.post("/api/v1/host/cashbook/corrections", json={"amount_fen": 100}, headers=mine)
    assert bad.status_code == 422
    sent = client.post("/api/v1/host/cashbook/remittances", json={"amount_fen": 10000, "note": "交平台"}, headers=mine)
    assert sent.status_code == 201 and sent.json["expected_fen"] == 5000
    fixed = client.post("/api/v1/host/cashbook/corrections", json={"amount_fen": -100, "reason": "点错"}, headers=mine)
    assert fixed.status_code == 201 and fixed.json["expected_fen"] == 4900
    short = client.post("/api/v1/host/cashbook/close", json={"date": day, "counted_fen": 4800}, headers=mine)
    assert short.status_code == 422 and HostCashClose.query.count() == 0
    closed = client.post(
        "/api/v1/host/cashbook/close", json={"date": day, "counted_fen": 4800, "note": "少一元"}, headers=mine
    )
    assert closed.status_code == 200, closed.json
    assert (closed.json["closed"], closed.json["difference_fen"]) == (True, -100)
    again = client.post("/api/v1/host/cashbook/remittances", json={"amount_fen": 1, "date": day}, headers=mine)
    assert again.status_code == 409 and again.json["error"]["code"] == "cash_day_closed"
    spec = client.get("/api/v1/openapi.json").json
    assert {"/host/cashbook", "/host/cashbook/close", "/host/cashbook/remittances", "/host/cashbook/corrections"} <= {
        p.removeprefix("/api/v1") for p in spec["paths"]
    }


@requires_postgres
def test_two_closes_of_a_host_day_at_once_make_one_close_and_the_database_guards_the_day(app, committed_db, now):
    host = make_user(role="host")
    cash.correct(host.id, 500, reason="开账", actor=None, now=now, till=HOST_TILL)
    commit()
    host_id, day = host.id, local_date(now)

    def close():
        cash.close_day(host_id, day, counted_fen=500, actor=None, now=now, till=HOST_TILL)

    outcomes = at_once(app, [close] * 4, seconds=30).labels
    assert sorted(outcomes) == ["cash_day_closed"] * 3 + ["ok"]
    with app.app_context():
        assert committed_db.session.scalar(sa.select(sa.func.count(HostCashClose.id))) == 1
    with committed_db.engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="closed"):
            conn.execute(
                sa.text(
                    "INSERT INTO host_cash_entries (host_id, business_date, kind, amount_fen, reason, created_at) "
                    "VALUES (:h, :d, 'correction', 5, 'x', now())"
                ),
                {"h": host_id, "d": day},
            )
        conn.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.execute(sa.text("UPDATE host_cash_closes SET counted_fen = 0"))
        conn.rollback()


def test_host_cash_page_closes_the_day_and_records_remittances_and_corrections(db, client, auth):
    host = make_user(role="host")
    booking = _arrival(host, now_utc())
    check_in_booking(booking, booking.confirmation_code, actor=host, now=now_utc(), cash_received_fen=15000)
    commit()
    auth.login(host)
    assert "日结、上缴与更正" in client.get("/host/").get_data(as_text=True)
    page = client.get("/host/cash").get_data(as_text=True)
    assert booking.code in page and "¥150.00" in page and 'action="/host/cash/close"' in page
    asked = client.post(
        "/host/cash/entries",
        data={"form_token": new_form_token(), "kind": "remittance", "amount": "100"},
        follow_redirects=True,
    )
    assert (
        asked.status_code == 200 and "请确认" in asked.get_data(as_text=True) and HostCashEntry.query.count() == 1
    )  # the confirmation step first
    move = {"confirm": "1", "kind": "remittance", "amount": "100"}
    assert client.post("/host/cash/entries", data={**move, "form_token": new_form_token()}).status_code == 302
    move = {"confirm": "1", "kind": "correction", "amount": "-0.5"}
    refused = client.post("/host/cash/entries", data={**move, "form_token": new_form_token()})
    assert refused.status_code == 422 and 'value="-0.5"' in refused.get_data(as_text=True)  # typed, kept
    assert HostCashEntry.query.filter_by(kind="correction").count() == 0  # a correction needs its reason
    client.post("/host/cash/entries", data={**move, "reason": "找零", "form_token": new_form_token()})
    day = local_date(now_utc()).isoformat()
    client.post("/host/cash/close", data={"confirm": "1", "day": day, "counted": "49"})  # no reason for the difference
    assert HostCashClose.query.count() == 0
    closed = client.post("/host/cash/close", data={"confirm": "1", "day": day, "counted": "49", "note": "少五角"})
    assert closed.status_code == 302
    page = client.get(f"/host/cash?date={day}").get_data(as_text=True)
    assert "已日结" in page and 'action="/host/cash/close"' not in page and "¥49.50" in page
    assert [(e.kind, e.amount_fen) for e in HostCashEntry.query.order_by(HostCashEntry.id)] == [
        ("arrival", 15000),
        ("remittance", -10000),
        ("correction", -50),
        ("close_difference", -50),
    ]


def test_a_host_records_a_remittance_after_the_close_on_the_page_into_the_open_day(db, client, auth):
    """After the host's 日结 the page offered no 上缴 form until tomorrow; it offers it, naming the open day."""
    host = make_user(role="host")
    today = local_date(now_utc())
    tomorrow = today + timedelta(days=1)
    cash.correct(host.id, 2000, reason="备用金", actor=host, now=now_utc(), till=HOST_TILL)
    cash.close_day(host.id, today, counted_fen=2000, actor=host, now=now_utc(), till=HOST_TILL)
    commit()
    auth.login(host)
    page = client.get("/host/cash").get_data(as_text=True)
    assert 'action="/host/cash/entries"' in page and f"记入 {tomorrow.isoformat()} 的现金账" in page
    move = {"confirm": "1", "kind": "remittance", "amount": "20", "form_token": new_form_token()}
    assert client.post("/host/cash/entries", data=move).status_code == 302
    assert _kinds(host.id)[-1] == ("remittance", -2000, tomorrow)


def test_host_close_without_the_reason_is_refused_before_the_confirmation(db, client, auth):
    """The host's 日结 with a difference and no reason says so at once, not after 确认."""
    host = make_user(role="host")
    booking = _arrival(host, now_utc())
    check_in_booking(booking, booking.confirmation_code, actor=host, now=now_utc(), cash_received_fen=15000)
    commit()
    auth.login(host)
    day = local_date(now_utc()).isoformat()
    asked = client.post("/host/cash/close", data={"day": day, "counted": "149"})
    assert asked.status_code == 422 and HostCashClose.query.count() == 0
    page = asked.get_data(as_text=True)
    assert "清点金额与账面不符，请填写原因" in page
    assert 'value="149"' in page.split('action="/host/cash/close"', 1)[1].split("</form>", 1)[0]  # the count kept
    asked = client.post("/host/cash/close", data={"day": day, "counted": "150"}, follow_redirects=True)
    assert asked.status_code == 200 and 'name="confirm" value="1"' in asked.get_data(as_text=True)
    assert HostCashClose.query.count() == 0  # the confirmation step


def test_the_host_desk_shows_a_corrections_reason_under_its_own_heading_not_the_booking_number(db, client, auth):
    """The desk's cash list had four columns, 日期 · 类型 · 预订号 · 金额, and a correction's reason (找零)
    in the 预订号 column: it has a 说明 column of its own, and a row without a booking leaves 预订号 empty."""
    host = make_user(role="host")
    commit()
    auth.login(host)
    move = {"confirm": "1", "kind": "correction", "amount": "5", "reason": "找零"}
    assert client.post("/host/cash/entries", data={**move, "form_token": new_form_token()}).status_code == 302
    home = client.get("/host/").get_data(as_text=True)
    table = home[home.index('<table class="table cashbook">') :]
    table = table[: table.index("</table>")]
    assert re.findall(r"<th[^>]*>([^<]*)</th>", table) == ["日期", "类型", "预订号", "金额", "说明"]
    assert re.findall(r"<td[^>]*>([^<]*)</td>", table)[1:] == ["更正", "", "¥5.00", "找零"]


def test_a_day_before_a_closed_day_is_settled_by_it_and_neither_closes_nor_takes_entries(db, client, auth, api_token):
    """The host's cash of 12-02 (a guest's ¥150.00, that day left open) and of today were counted at today's
    日结 (¥300.00); closing 12-02 afterwards with ¥100.00 counted wrote its -¥50.00 difference into 12-02,
    so today's closed book read 期初 ¥100.00 + ¥150.00 against 账面应有 ¥300.00, and the next day opened
    with ¥250.00 though ¥300.00 was counted. The later close settles the days before it: their close and a
    dated entry are refused (409 `cash_later_day_closed`, naming both days), on the page and in the API;
    the page offers no close there and says why; nothing is written."""
    host = make_user(role="host")
    now = now_utc()
    today = local_date(now)
    earlier = now - timedelta(days=5)
    for when in (earlier, now):
        booking = _arrival(host, when)
        check_in_booking(booking, booking.confirmation_code, actor=host, now=when, cash_received_fen=15000)
    cash.close_day(host.id, today, counted_fen=30000, actor=host, now=now, till=HOST_TILL)
    commit()
    before = _kinds(host.id)
    day = local_date(earlier).isoformat()
    headers = api_token(host)
    auth.login(host)
    page = client.get(f"/host/cash?date={day}").get_data(as_text=True)
    settled = f"{today.isoformat()} 已日结（清点的是当时手中的全部现金），之前 {day} 的现金账不能再日结或记账"
    assert settled in page and "/host/cash/close" not in page  # no close offered, the reason said
    for confirm in ({}, {"confirm": "1"}):
        refused = client.post("/host/cash/close", data={**confirm, "day": day, "counted": "100", "note": "少了"})
        assert refused.status_code == 409 and settled in refused.get_data(as_text=True)
    response = client.post(
        "/api/v1/host/cashbook/corrections", json={"amount_fen": -5000, "reason": "少了", "date": day}, headers=headers
    )
    assert response.status_code == 409 and response.json["error"]["code"] == "cash_later_day_closed"
    assert _kinds(host.id) == before
    assert HostCashClose.query.filter_by(host_id=host.id).count() == 1
    book = cash.day_book(host.id, today, till=HOST_TILL)
    assert book.opening_fen + book.in_fen + book.out_fen == book.expected_fen == 30000
