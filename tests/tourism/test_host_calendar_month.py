"""The host's calendar of a later month: 关闭 (its confirmation step's way back, a refusal, closed already) and a
booking's 取消预订 / 标记未到店 / 退还违约金 came back to this month's calendar, not the month the host was looking
at (only 开放 kept its day's month). Every form of the page now posts to an address carrying the month (and the
room type) and every way back keeps it (`tourism.views._host_calendar_url`)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing
from tourism.models import UnitType


def _later_month_calendar(client, auth):
    """A host's listing with two room types and a booking paid on arrival on the 10th of the month after next;
    the host looking at that month's calendar of the second type (家庭房). Returns (page, booking, month)."""
    host = make_user(role="host")
    listing = make_listing(host=host, units=1, price_fen=20000, pay_on_arrival=True)
    listing.unit_types.append(UnitType(listing_id=listing.id, name="家庭房", units=2, max_guests=4, price_fen=30000))
    today = local_date(now_utc())
    first = date(today.year + (today.month + 1) // 12, (today.month + 1) % 12 + 1, 1)  # the month after next
    booking = make_booking(listing, check_in=first + timedelta(days=9))
    booking.pay_on_arrival = True  # the host may cancel it (取消预订)
    commit()
    auth.login(host)
    month = f"{first:%Y-%m}"
    family = listing.unit_types[1].id
    page = client.get(f"/host/listings/{listing.id}?month={month}&unit_type_id={family}").get_data(as_text=True)
    assert f"<strong>{month}</strong>" in page
    return page, booking, month


def _form_action(html: str, button: str) -> str:
    found = re.search(rf'<form[^>]*action="([^"]*)"(?:(?!</form>).)*>{button}</button>', html, re.S)
    assert found, button
    return found.group(1).replace("&amp;", "&")


def _on_month(client, url: str, month: str) -> None:
    """`url` is the calendar of `month`, of the 家庭房."""
    page = client.get(url.replace("&amp;", "&")).get_data(as_text=True)
    assert f"<strong>{month}</strong>" in page and "日历显示「家庭房」" in page, url


def _step_back(client, asked, month: str) -> None:
    """`asked` is a confirmation step whose way back (返回，不操作) is the calendar of `month`."""
    assert asked.status_code == 303
    step = client.get(asked.headers["Location"]).get_data(as_text=True)
    back = re.search(r'<a class="btn" href="([^"]*)">返回，不操作</a>', step)
    assert back, step
    _on_month(client, back.group(1), month)


def test_closing_days_lands_back_on_the_month_looked_at(client, db, auth):
    page, booking, month = _later_month_calendar(client, auth)
    actions = re.findall(r'<form[^>]*method="post"[^>]*action="(/host/[^"]*)"', page)
    assert actions and all(f"month={month}" in a for a in actions), actions
    close = _form_action(page, "关闭")
    start, end = (booking.check_in_date + timedelta(days=n) for n in (2, 3))
    start, end = start.isoformat(), end.isoformat()

    refused = client.post(close, data={"start": end, "end": start})  # reversed: the page again, its month
    assert refused.status_code == 422 and f"<strong>{month}</strong>" in refused.get_data(as_text=True)
    _step_back(client, client.post(close, data={"start": start, "end": end}), month)
    done = client.post(close, data={"start": start, "end": end, "confirm": "1"})
    _on_month(client, done.headers["Location"], month)
    again = client.post(close, data={"start": start, "end": end})  # closed already: nothing to confirm
    assert again.status_code == 303
    _on_month(client, again.headers["Location"], month)


def test_a_bookings_actions_land_back_on_the_month_looked_at(client, db, auth):
    """取消预订 (its reason's page, asked first, then done), 标记未到店 refused before the arrival day and 退还违约金 refused (a booking
    paid on arrival keeps nothing) each come back to the month: their buttons show only when they may be tapped,
    so the two are posted to the cancel form's address with their own action."""
    page, booking, month = _later_month_calendar(client, auth)
    # 取消预订 opens the page asking the reason: its way back and its form keep the month
    link = re.search(r'<a[^>]*href="([^"]*)"[^>]*>取消预订</a>', page)
    assert link and f"/host/bookings/{booking.code}/cancel?" in link.group(1)
    asking = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    back = re.search(r'<a class="btn" href="([^"]*)">不取消，返回日历</a>', asking)
    assert back
    _on_month(client, back.group(1), month)
    cancel = _form_action(asking, "确认取消预订")
    assert f"/host/bookings/{booking.code}/cancel?" in cancel and f"month={month}" in cancel

    no_show = client.post(cancel.replace("/cancel?", "/no-show?"))
    assert no_show.status_code == 302  # before its arrival day: said, back where it was tapped
    _on_month(client, no_show.headers["Location"], month)

    refund = cancel.replace("/cancel?", "/refund-kept?")
    _step_back(client, client.post(refund), month)
    refused = client.post(refund, data={"confirm": "1"})
    _on_month(client, refused.headers["Location"], month)

    _step_back(client, client.post(cancel, data={"reason": "漏水"}), month)  # posted from elsewhere: asked first
    canceled = client.post(cancel, data={"confirm": "1", "reason": "漏水"})
    _on_month(client, canceled.headers["Location"], month)
    again = client.post(cancel, data={"confirm": "1"})  # canceled already: no reason asked
    _on_month(client, again.headers["Location"], month)


def _shift(today: date, months: int) -> str:
    index = today.year * 12 + today.month - 1 + months
    return f"{index // 12}-{index % 12 + 1:02d}"


def test_the_edge_months_calendar_links_to_no_month_it_would_refuse(client, db, auth):
    """A calendar shows 24 months before and after this one; the 24th month's ‹ 上月 (and the other edge's
    下月 ›) led to a month answered 422 月份超出范围 — on the host's calendar and on the public listing page.
    The edge month now offers no link past it; the month inside keeps both."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    commit()
    today = local_date(now_utc())
    auth.login(host)
    for base in (f"/host/listings/{listing.id}", f"/listings/{listing.id}"):
        for edge, outside, inside in ((-24, -25, -23), (24, 25, 23)):
            page = client.get(f"{base}?month={_shift(today, edge)}", follow_redirects=True).get_data(as_text=True)
            assert f"<strong>{_shift(today, edge)}</strong>" in page, base
            assert f"month={_shift(today, outside)}" not in page, (base, edge)
            assert f"month={_shift(today, inside)}" in page, (base, edge)
        assert client.get(f"{base}?month={_shift(today, 25)}", follow_redirects=True).status_code == 422
