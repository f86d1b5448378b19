"""Journey 3's end: the host checks the guest in with the confirmation code (a wrong code is refused),
then sets a room's price, which the next tourist sees."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.stay_journey import STAY, book_two_nights, booking_facts

FAMILY_ROOM = "家庭房"


def test_host_checks_the_guest_in_by_code(open_page, live_server, viewport):
    tourist = open_page("tourist")
    tourist.login(DEMO["consumer"])
    code = book_two_nights(tourist, live_server, days_ahead=0, pay="arrival")  # arriving today
    confirmation = booking_facts(live_server, code)["confirmation"]
    assert booking_facts(live_server, code)["status"] == "confirmed" and confirmation

    host = open_page("host")
    page = host.page
    host.login(DEMO["host"])
    host.goto("/host/")
    arrivals = page.get_by_role("table").first
    expect(arrivals).to_contain_text(code)
    host.step("today's arrivals")
    # the booking's 标记未到店 is one line wide, whole on the screen (a phone shows one card per booking;
    # squeezed into a seventh column it broke into one character per line)
    no_show = arrivals.locator("tr").filter(has_text=code).get_by_role("button", name=host.t("标记未到店"))
    box = no_show.bounding_box()
    assert box is not None and box["height"] <= 48 and 0 <= box["x"] <= box["x"] + box["width"] <= viewport.width, box
    check_in = host.t("办理入住")
    form = page.locator("form").filter(has=page.get_by_role("button", name=check_in))
    with open_page.problems.allow(422, r"/host/check-in$"):
        form.get_by_label(host.t("确认码")).fill("000000" if confirmation != "000000" else "111111")
        host.submit_and_wait(lambda: form.get_by_role("button", name=check_in).click())
        expect(page.locator("main")).to_contain_text(host.t("确认码不正确"))
        host.step("wrong code refused")
    assert booking_facts(live_server, code)["status"] == "confirmed"
    # paid on arrival: the right code without the cash is refused, the amount due is named (#18)
    total_fen = booking_facts(live_server, code)["total_fen"]
    due = f"{total_fen // 100}.{total_fen % 100:02d}"
    form = page.locator("form").filter(has=page.get_by_role("button", name=check_in))
    with open_page.problems.allow(422, r"/host/check-in$"):
        form.get_by_label(host.t("确认码")).fill(confirmation)
        host.submit_and_wait(lambda: form.get_by_role("button", name=check_in).click())
        expect(page.locator("main")).to_contain_text(
            host.t(
                "应收现金 %(due)s：收齐后在「收到现金」填写 %(due)s 再办理入住（找给客人的零钱不算在内）", due=f"¥{due}"
            )
        )
        host.step("cash not taken yet")
    assert booking_facts(live_server, code)["status"] == "confirmed"
    form = page.locator("form").filter(has=page.get_by_role("button", name=check_in))
    form.get_by_label(host.t("确认码")).fill(confirmation)
    form.get_by_label(host.t("收到现金（元）")).fill(due)
    host.submit_and_wait(lambda: form.get_by_role("button", name=check_in).click())
    expect(page.locator("main")).to_contain_text(host.t("已办理入住：%(code)s", code=code))
    expect(page.locator(".host-cash")).to_contain_text(code)  # the cash is a row of the host's book
    # its booking code reads on one line (it broke at its hyphen, XXXXXXXX-S- / 1, on a phone)
    booked = page.locator(".host-cash td.ref code").filter(has_text=code).first
    lines = booked.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }"
    )
    assert lines == 1, (code, lines)
    # and so does its date (it broke at its hyphen too, 2026- / 12-06)
    row = page.locator(".host-cash tr").filter(has_text=code).first
    lines = row.locator("td.day").evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }"
    )
    assert lines == 1, lines
    host.step("checked in")
    # the day book's entry time reads on one line too (2026- / 12-07 / 08:20 was three lines on a phone)
    host.goto("/host/cash")
    entry = page.locator("table.cashbook tr").filter(has_text=code).first
    lines = entry.locator("td.when").evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }"
    )
    assert lines == 1, lines
    assert booking_facts(live_server, code)["status"] == "checked_in"


def test_host_sets_a_room_price_that_tourists_then_see(open_page, live_server, viewport, lang):
    from tourism.models import Listing, UnitType

    price = f"{(288 if viewport.is_phone else 299) + (0 if lang == 'zh_CN' else 2)}.00"
    host = open_page("host")
    page = host.page
    host.login(DEMO["host"])
    host.goto("/host/")
    host.submit_and_wait(lambda: page.locator("main").get_by_role("link", name=STAY).click())
    host.submit_and_wait(lambda: page.get_by_role("link", name=host.t("价格与介绍")).click())
    expect(page.get_by_role("heading", level=1)).to_have_text(STAY)
    room = page.locator("section").filter(has=page.get_by_role("heading", name=FAMILY_ROOM))
    room.get_by_label(host.t("价格（元）")).fill(price)
    host.step("new price typed")
    host.submit_and_wait(lambda: room.get_by_role("button", name=host.t("保存价格")).click())
    expect(page.locator("main")).to_contain_text(host.t("已保存：%(name)s", name=FAMILY_ROOM))
    with live_server.app_context() as db:
        listing_id = db.session.scalar(sa.select(Listing.id).where(Listing.name == STAY))
        fen = db.session.scalar(
            sa.select(UnitType.price_fen).where(UnitType.listing_id == listing_id, UnitType.name == FAMILY_ROOM)
        )
    assert fen == int(price.replace(".", ""))

    tourist = open_page("tourist")
    tourist.goto(f"/listings/{listing_id}")
    expect(tourist.page.locator("main")).to_contain_text(re.compile(re.escape(f"¥{price}")))
    tourist.step("tourist sees the new price")
