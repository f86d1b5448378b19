"""Journey: a party of five looks for an experience the session cannot take, then a farm stay with two room types,
books two 家庭房 to pay on arrival, and the host cancels the booking with a reason the guest reads.

- the experiences list, empty for five people, says the party is why (所选日期没有还剩 N 个名额的场次。试试减少人数
  或换个日期。), not 换个日期试试 alone (tourism.services.availability.why_nothing_found);
- the stay's 所选日期 prices and counts each room type at the rooms it needs for five (标准间 · 3 间, 家庭房 · 2 间:
  有空房), not the 家庭房 at 3 rooms with 只余 2 间 (tourism.services.place.quote_dates);
- the host's 取消预订 asks a reason (an empty one is refused under the field), and the guest's booking page says it
  (接待户取消原因) (tourism.services.booking.host_cancel_reason)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import new_account
from tests.browser.stay_journey import STAY, booking_facts

FAMILY_ROOM = "家庭房"
#: what the host types, in the run's language (the guest's page shows it as typed)
REASON = {"zh": "屋顶漏雨正在维修，实在抱歉，欢迎改日再来", "en": "The roof leaks and is being repaired, sorry"}


def test_a_party_of_five_finds_the_right_words_and_the_host_cancels_with_a_reason(open_page, live_server, viewport):
    from shop.timeutil import local_date, now_utc

    today = local_date(now_utc())
    tourist = open_page("tourist")
    page = tourist.page
    tourist.login(new_account(live_server, "five", viewport))

    # an experience for 99: nothing, and the party is why (the demo's sessions run the next 14 days)
    day = today + timedelta(days=3)
    tourist.goto(f"/experiences?checkin={day.isoformat()}&guests=99")
    said = page.locator(".empty-reason")
    expect(said).to_have_text(tourist.tn("所选日期没有还剩 %(num)s 个名额的场次。试试减少人数或换个日期。", 99))
    tourist.step("experiences: too many people")

    # the farm stay for five, from the stays list
    start = 200 if viewport.is_phone else 240
    arrive = next(today + timedelta(days=n) for n in range(start, start + 40) if (today + timedelta(days=n)).day <= 25)
    leave = arrive + timedelta(days=1)
    tourist.goto(f"/stays?checkin={arrive.isoformat()}&checkout={leave.isoformat()}&guests=5")
    card = page.get_by_role("article").filter(has_text=STAY)
    tourist.submit_and_wait(lambda: card.get_by_role("link").first.click())
    quote = page.get_by_role("region", name=tourist.t("所选日期"))
    family_line = quote.locator("li").filter(has_text=FAMILY_ROOM)
    expect(family_line).to_contain_text(f"{FAMILY_ROOM} · {tourist.tn('%(num)s 间', 2)}")
    expect(family_line).to_contain_text(tourist.tn("有空房，余 %(num)s 间", 2))
    expect(family_line).not_to_contain_text(tourist.tn("只余 %(num)s 间", 2))
    tourist.step("the stay's total for five, per room type")

    book = tourist.rx(("verb", "预订"), "预订并去支付", exact=True)
    form = page.locator("form").filter(has=page.get_by_role("button", name=book))
    tourist.submit_and_wait(lambda: form.get_by_label(tourist.t("房型")).select_option(label=FAMILY_ROOM))
    form = page.locator("form").filter(has=page.get_by_role("button", name=book))
    form.get_by_label(tourist.t("间数")).fill("2")
    form.get_by_label(tourist.t("人数")).fill("5")
    method = form.get_by_label(tourist.t("到店支付"))
    if method.count():
        method.check()
    tourist.submit_and_wait(lambda: form.get_by_role("button", name=book).click())
    found = re.search(r"/bookings/([A-Za-z0-9-]+)$", page.url.split("?")[0])
    assert found, page.url
    code = found.group(1)
    assert booking_facts(live_server, code)["status"] == "confirmed"
    tourist.step("two family rooms booked, to pay on arrival")

    host = open_page("host")
    hpage = host.page
    host.login(DEMO["host"])
    from tourism.models import Booking

    with live_server.app_context() as db:
        listing_id = db.session.scalar(sa.select(Booking.listing_id).where(Booking.code == code))
    host.goto(f"/host/listings/{listing_id}?month={arrive:%Y-%m}")
    row = hpage.locator("tr").filter(has_text=code)
    host.submit_and_wait(lambda: row.get_by_role("link", name=host.t("取消预订")).click())
    expect(hpage.locator("main")).to_contain_text(code)
    confirm = hpage.get_by_role("button", name=host.t("确认取消预订"))
    with open_page.problems.allow(422, r"/host/bookings/[^/]+/cancel"):
        host.submit_and_wait(confirm.click)
        expect(hpage.locator("main")).to_contain_text(host.t("请填写取消原因：客人会在通知里看到"))
        host.step("no reason: asked for one")
    assert booking_facts(live_server, code)["status"] == "confirmed"
    reason = REASON["en" if host.is_en else "zh"]
    hpage.get_by_label(host.t("取消原因（客人会在通知里看到）")).fill(reason)
    host.submit_and_wait(hpage.get_by_role("button", name=host.t("确认取消预订")).click)
    expect(hpage.locator("main")).to_contain_text(host.t("已取消预订并通知客人：%(code)s", code=code))
    host.step("canceled with a reason")
    assert booking_facts(live_server, code)["status"] == "canceled"

    tourist.goto(f"/bookings/{code}")
    facts = page.locator("main dl.facts")
    expect(facts).to_contain_text(tourist.t("接待户取消原因"))
    expect(facts).to_contain_text(reason)
    tourist.step("the guest reads why")
