"""The stays, experiences and tickets lists, when nothing fits, said 换个日期试试 whatever the reason: a party of 5
at the only session, which has 2 places left, was told to change the date. The reason is decided from the query
(`tourism.services.availability.why_nothing_found`): the party (fewer people fit, on those dates or at all),
the dates (the party fits on other dates), or nothing of the kind in the village."""

from __future__ import annotations

from datetime import timedelta

from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.factories import make_village
from tests.tourism.factories import make_booking, make_listing, make_session


def _said(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    assert "共 0 个项目" in page or "0 listings" in page, url
    start = page.index('<p class="empty-reason">')
    return " ".join(page[start : page.index("</p>", start)].split())


def test_an_empty_experiences_list_says_whether_the_party_or_the_date_is_why(client, db):
    village = make_village()
    listing = make_listing(kind="experience", village=village, units=10, max_guests=10, pay_on_arrival=True)
    day = local_date(now_utc()) + timedelta(days=5)
    session = make_session(listing, day=day, capacity=10)
    make_booking(listing, check_in=day, guests=8, session=session)  # 2 places left
    commit()
    base = f"/experiences?village={village.id}"

    page = client.get(f"{base}&checkin={day}&guests=2").get_data(as_text=True)
    assert listing.name in page  # two still fit

    party = _said(client, f"{base}&checkin={day}&guests=5&lang=zh_CN")
    assert party == '<p class="empty-reason">所选日期没有还剩 5 个名额的场次。试试减少人数或换个日期。'
    assert "换个日期试试" not in party

    other_day = _said(client, f"{base}&checkin={day + timedelta(days=1)}&guests=2")  # no session that day
    assert "所选日期没有可订的项目，换个日期试试。" in other_day

    too_many = _said(client, f"{base}&guests=20")  # more than a booking of it takes, whatever the day
    assert "没有能一次预订 20 人的体验。试试减少人数。" in too_many and "日期" not in too_many

    empty_village = make_village()
    commit()
    assert "这个村暂时没有这类项目，看看别的村。" in _said(client, f"/experiences?village={empty_village.id}")

    english = _said(client, f"{base}&checkin={day}&guests=5&lang=en")
    assert "No session on that date has 5 places left. Try fewer people or another date." in english


def test_an_empty_stays_and_tickets_list_blames_the_party_when_fewer_people_fit(client, db):
    village = make_village()
    make_listing(village=village, units=1, max_guests=2, pay_on_arrival=True)
    make_listing(kind="ticket", village=village, units=3, max_guests=10, pay_on_arrival=True)
    commit()
    day = local_date(now_utc()) + timedelta(days=5)
    stay = f"/stays?village={village.id}&checkin={day}&checkout={day + timedelta(days=1)}&guests=3"
    assert "所选日期没有能住下 3 人的空房。试试减少人数或换个日期。" in _said(client, stay)
    ticket = f"/tickets?village={village.id}&checkin={day}&guests=4"
    assert "所选日期的门票不够 4 人。试试减少人数或换个日期。" in _said(client, ticket)
    english = _said(client, stay + "&lang=en")
    assert "No room on that date sleeps 3 guests. Try fewer people or another date." in english
