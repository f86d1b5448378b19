"""Tourism pages: browse, listing calendar, booking, my booking, host workspace and its access rules."""

import re
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from shop.extensions import db as shop_db
from shop.once import new_form_token
from shop.timeutil import TZ, local_date, now_utc
from tests.factories import make_township, make_user, make_village
from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import Booking, BookingStatus, Closure, Session, UnitType


def _day(n):
    return local_date(now_utc()) + timedelta(days=n)


def test_stays_page_lists_and_filters_by_village(client, db):
    v1, v2 = make_village(name="罗渡村"), make_village(name="桃花村")
    a = make_listing(village=v1, name="罗渡农家乐")
    make_listing(village=v2, name="桃花民宿")
    make_listing(kind="experience", name="草莓采摘")
    r = client.get("/stays")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "罗渡农家乐" in html and "桃花民宿" in html and "草莓采摘" not in html
    html = client.get(f"/stays?village={v1.id}").get_data(as_text=True)
    assert "罗渡农家乐" in html and "桃花民宿" not in html
    assert "草莓采摘" in client.get("/experiences").get_data(as_text=True)
    assert a.id


def test_the_village_filter_names_each_villages_township(client, db):
    """Two townships each have a 柳溪村: the filter listed 柳溪村 twice, and a tourist could not tell which
    was which. Each option names its township."""
    sanjiang, huangma = make_township(name="三江镇"), make_township(name="黄马乡")
    here, there = make_village(name="柳溪村", township=sanjiang), make_village(name="柳溪村", township=huangma)
    make_listing(village=here, name="柳溪农家乐")
    html = client.get("/stays").get_data(as_text=True)
    assert f'<option value="{here.id}" >三江镇 · 柳溪村</option>' in html
    assert f'<option value="{there.id}" >黄马乡 · 柳溪村</option>' in html
    assert ">柳溪村</option>" not in html


def test_stays_page_bad_dates(client, db):
    assert client.get("/stays?checkin=yesterday").status_code == 422
    assert client.get("/stays?checkin=2020-01-01").status_code == 422


def test_a_party_out_of_range_is_said_beside_the_list_not_a_400_page(client, db):
    """人数 0 or 150 typed on the search pages: the list with 预订人数须在 1 到 100 之间 (it was a 400 page
    saying 'guests 须为 1 到 100 的整数', the query's English name in a Chinese sentence); so is text (many)."""
    make_listing(name="罗渡山居")
    for guests in ("0", "-1", "150", "many", "9" * 40):
        r = client.get(f"/stays?guests={guests}")
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and "预订人数须在 1 到 100 之间" in html and "罗渡山居" in html, guests
        assert "guests" not in html.split("<main", 1)[1].split("</main>", 1)[0].replace('name="guests"', "")
    html = client.get(f"/stays?guests=0&checkin={_day(3)}&checkout={_day(5)}").get_data(as_text=True)
    assert f'value="{_day(3)}"' in html and f'value="{_day(5)}"' in html, "the dates typed are kept"
    assert client.get("/experiences?guests=many").status_code == 422  # text too: the list, not a 400 page


def test_listing_page_shows_calendar_and_redirects_to_slug(client, db):
    listing = make_listing(price_fen=12300)
    db.session.commit()
    r = client.get(f"/listings/{listing.id}")
    assert r.status_code == 301 and r.headers["Location"].endswith(f"/listings/{listing.id}-{listing.slug}")
    r = client.get(f"/listings/{listing.id}-{listing.slug}?month={_day(40):%Y-%m}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "tour-calendar" in html and "¥123.00" in html
    assert client.get("/listings/999999-x").status_code == 404
    assert client.get(f"/listings/{listing.id}-{listing.slug}?month=2026-13").status_code == 422


def test_book_pay_on_arrival_shows_confirmation_code_and_qr(client, db, auth):
    listing = make_listing(pay_on_arrival=True, units=1)
    user = make_user()
    auth.login(user)
    r = client.post(
        f"/listings/{listing.id}/book",
        data={
            "form_token": new_form_token(),
            "checkin": _day(5).isoformat(),
            "checkout": _day(7).isoformat(),
            "guests": 2,
            "units": 1,
            "unit_type_id": listing.unit_types[0].id,
            "payment_method": "arrival",
        },
    )
    assert r.status_code == 302
    booking = db.session.scalar(sa.select(Booking))
    assert booking.status == BookingStatus.CONFIRMED
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert booking.confirmation_code in html and "data:image/png;base64," in html


def test_book_with_bad_dates_rerenders_with_422_and_holds_nothing(client, db, auth):
    listing = make_listing(pay_on_arrival=True)
    db.session.commit()
    auth.login(make_user())
    r = client.post(
        f"/listings/{listing.id}/book",
        data={
            "form_token": new_form_token(),
            "checkin": _day(5).isoformat(),
            "checkout": _day(5).isoformat(),
            "guests": 2,
            "payment_method": "arrival",
        },
    )
    assert r.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_book_with_zero_or_typed_guests_says_what_is_wrong(client, db, auth):
    """人数 0 is out of range (不能小于 1: the most a booking takes is the listing's own, not 100) and 人数
    'abc' is not a number: neither is "请填写此项" (the field was filled)."""
    listing = make_listing(pay_on_arrival=True)
    auth.login(make_user())
    for guests, message in (("0", "不能小于 1"), ("abc", "请输入整数"), ("", "请填写此项")):
        r = client.post(
            f"/listings/{listing.id}/book",
            data={
                "form_token": new_form_token(),
                "checkin": _day(5).isoformat(),
                "checkout": _day(6).isoformat(),
                "guests": guests,
                "payment_method": "arrival",
            },
        )
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and message in page, guests
        if guests:
            assert "请填写此项" not in page, guests
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_card_booking_without_card_payments_is_refused(client, db, auth):
    listing = make_listing()
    db.session.commit()
    auth.login(make_user())
    r = client.post(
        f"/listings/{listing.id}/book",
        data={
            "form_token": new_form_token(),
            "checkin": _day(5).isoformat(),
            "checkout": _day(6).isoformat(),
            "guests": 1,
            "payment_method": "card",
        },
    )
    assert r.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_tourists_see_only_their_own_bookings(client, db, auth):
    listing = make_listing()
    mine = make_booking(listing, check_in=_day(5), user=make_user())
    other = make_user()
    auth.login(other)
    assert client.get(f"/bookings/{mine.code}").status_code == 404
    assert client.post(f"/bookings/{mine.code}/cancel", data={"confirm": "1"}).status_code == 404
    assert mine.code not in client.get("/bookings").get_data(as_text=True)


def test_a_booking_is_found_by_its_code_in_any_case(client, db, auth):
    """The code as typed (lower case, spaces around): the tourist's page and the API find it
    (`shop.codes.typed_code`); another tourist's stays a 404."""
    listing = make_listing()
    owner, other = make_user(), make_user()
    mine = make_booking(listing, check_in=_day(5), user=owner)
    shop_db.session.commit()
    auth.login(owner)
    assert client.get(f"/bookings/{mine.code.lower()}").status_code == 200
    assert client.get(f"/bookings/%20{mine.code.lower()}%20").status_code == 200
    assert client.get(f"/api/v1/bookings/{mine.code.lower()}").json["id"] == mine.code
    auth.logout()
    auth.login(other)
    assert client.get(f"/bookings/{mine.code.lower()}").status_code == 404


def test_host_workspace_is_for_hosts_and_shows_own_listings_only(client, db, auth):
    host, other_host = make_user(role="host"), make_user(role="host")
    mine = make_listing(host=host, name="我的农家乐")
    theirs = make_listing(host=other_host, name="别人的民宿")
    auth.login(make_user())
    assert client.get("/host/").status_code == 403
    auth.logout()
    auth.login(host)
    html = client.get("/host/").get_data(as_text=True)
    assert "我的农家乐" in html and "别人的民宿" not in html
    assert client.get(f"/host/listings/{mine.id}").status_code == 200
    assert client.get(f"/host/listings/{theirs.id}").status_code == 404
    r = client.post(
        f"/host/listings/{theirs.id}/close",
        data={"confirm": "1", "start": _day(3).isoformat(), "end": _day(4).isoformat()},
    )
    assert r.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0


def test_host_closes_dates(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host)
    auth.login(host)
    r = client.post(
        f"/host/listings/{listing.id}/close",
        data={"confirm": "1", "start": _day(3).isoformat(), "end": _day(5).isoformat(), "reason": "维修"},
    )
    assert r.status_code == 302
    assert sorted(db.session.scalars(sa.select(Closure.closed_date))) == [_day(3), _day(4), _day(5)]
    r = client.post(
        f"/host/listings/{listing.id}/close",
        data={"confirm": "1", "start": _day(-2).isoformat(), "end": _day(1).isoformat()},
    )
    assert r.status_code == 422


def test_a_refused_closure_names_its_field_at_the_top_of_the_page(client, db, auth):
    """On a phone the closure form sits below the month: a refused closure says why at the top of the
    page too (naming the field), not only under the field, out of sight."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    auth.login(host)
    url = f"/host/listings/{listing.id}/close"
    for data, said in (
        ({"start": "", "end": ""}, "从：请填写此项"),
        ({"start": _day(5).isoformat(), "end": _day(3).isoformat()}, "到（含）：结束日期必须不早于开始日期"),
        ({"start": _day(-2).isoformat(), "end": _day(1).isoformat(), "confirm": "1"}, "从："),
    ):
        r = client.post(url, data=data)
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and said in page.split("<h1>")[0], data
    r = client.post(url + "?lang=en", data={"start": _day(5).isoformat(), "end": _day(3).isoformat()})
    assert "To (inclusive): " in r.get_data(as_text=True).split("<h1>")[0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0


def test_confirming_a_closure_again_says_the_dates_are_closed_already(client, db, auth):
    """A second tap on 确认 (or Back and 确认 again) closes nothing more and says so, not 已关闭 0 天."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    auth.login(host)
    url = f"/host/listings/{listing.id}/close"
    closure = {"confirm": "1", "start": _day(3).isoformat(), "end": _day(4).isoformat()}
    first = client.post(url + "?lang=zh_CN", data=closure, follow_redirects=True).get_data(as_text=True)
    assert "已关闭 2 天" in first
    again = client.post(url, data=closure, follow_redirects=True).get_data(as_text=True)
    assert "这些日期已经关闭，没有变化" in again and "已关闭 0 天" not in again
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 2


def test_closing_dates_closed_already_asks_nothing_and_says_so(client, db, auth):
    """A closure of dates that are all closed already changes nothing: no confirmation step offers it
    (the action is refused by its first POST, docs/journeys.md); a range with one open date still asks."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    auth.login(host)
    url = f"/host/listings/{listing.id}/close"
    client.post(url, data={"confirm": "1", "start": _day(3).isoformat(), "end": _day(4).isoformat()})
    r = client.post(url, data={"start": _day(3).isoformat(), "end": _day(4).isoformat()})
    assert r.status_code == 303 and "/confirm/" not in r.headers["Location"]
    assert "这些日期已经关闭，没有变化" in client.get(r.headers["Location"]).get_data(as_text=True)
    r = client.post(url, data={"start": _day(3).isoformat(), "end": _day(5).isoformat()})
    assert r.status_code == 303 and "/confirm/" in r.headers["Location"]
    assert shop_db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 2


def test_a_closure_reason_over_120_characters_is_refused_under_its_field_not_cut(client, db, auth):
    """A closure's reason of 121 characters used to be kept cut to 120: refused now, before the
    confirmation and after it, the limit named under the field, what was typed kept, nothing closed;
    120 characters are kept whole. The field says the limit."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    auth.login(host)
    page = client.get(f"/host/listings/{listing.id}").get_data(as_text=True)
    assert 'maxlength="120"' in page and "最多 120 个字" in page
    url = f"/host/listings/{listing.id}/close"
    dates = {"start": _day(3).isoformat(), "end": _day(4).isoformat()}
    long = "修" * 121
    for confirm in ({}, {"confirm": "1"}):
        r = client.post(url, data={**dates, "reason": long, **confirm})
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and f'value="{long}"' in html
        field = html.split('id="reason"', 1)[1].split("</div>", 1)[0]
        assert '<p class="error" role="alert">关闭原因最多 120 个字，请删减后再提交</p>' in field
    assert shop_db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0
    r = client.post(url, data={**dates, "reason": "修" * 120, "confirm": "1"})
    assert r.status_code == 302
    assert set(shop_db.session.scalars(sa.select(Closure.reason))) == {"修" * 120}
    assert "At most 120 characters" in client.get(f"/host/listings/{listing.id}?lang=en").get_data(as_text=True)


def test_host_checks_in_by_code_and_wrong_codes_are_refused(client, db, auth):
    host, other_host = make_user(role="host"), make_user(role="host")
    listing = make_listing(host=host, kind="ticket", units=10, max_guests=4)
    booking = make_booking(listing, check_in=_day(0), confirmation_code="482913")
    db.session.commit()
    auth.login(other_host)
    assert client.post("/host/check-in", data={"confirmation_code": "482913"}).status_code == 422
    auth.logout()
    auth.login(host)
    assert client.post("/host/check-in", data={"confirmation_code": "111111"}).status_code == 422
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    html = client.get("/host/").get_data(as_text=True)
    assert booking.code in html  # today's arrivals
    r = client.post("/host/check-in", data={"confirmation_code": "482913"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CHECKED_IN


def test_host_marks_no_show_on_own_bookings_only(client, db, auth):
    host, other_host = make_user(role="host"), make_user(role="host")
    listing = make_listing(host=host)
    booking = make_booking(listing, check_in=_day(0))
    db.session.commit()
    auth.login(other_host)
    assert client.post(f"/host/bookings/{booking.code}/no-show", data={"confirm": "1"}).status_code == 404
    auth.logout()
    auth.login(host)
    assert client.post(f"/host/bookings/{booking.code}/no-show", data={"confirm": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.NO_SHOW


def test_a_no_show_marked_from_todays_arrivals_comes_back_there_and_a_second_confirm_says_it_is_done(client, db, auth):
    """标记未到店 tapped in the desk's 今日到店: its confirmation step and the result lead back to the desk
    (they went to the listing's calendar); confirming again after Back says it is marked already (it said
    in red that only confirmed bookings can be marked, as if the host had done something wrong)."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    booking = make_booking(listing, check_in=_day(0))
    db.session.commit()
    auth.login(host)
    home = client.get("/host/").get_data(as_text=True)
    assert 'name="back" value="home"' in home.split(f"/host/bookings/{booking.code}/no-show")[1].split("</form>")[0]
    url = f"/host/bookings/{booking.code}/no-show?lang=zh_CN"
    asked = client.post(url, data={"back": "home"})
    assert asked.status_code == 303 and "/confirm/" in asked.headers["Location"]
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert 'name="back" value="home"' in page
    done = client.post(url, data={"back": "home", "confirm": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/host/")
    again = client.post(url, data={"back": "home", "confirm": "1"})
    assert again.status_code == 303 and again.headers["Location"].endswith("/host/")
    said = client.get(again.headers["Location"]).get_data(as_text=True)
    assert f"已标记未到店：{booking.code}" in said and "只有已确认、尚未入住的预订才能标记未到店" not in said
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.NO_SHOW


def test_search_dates_carry_into_the_booking_form(client, db, auth):
    listing = make_listing(units=2, max_guests=4, pay_on_arrival=True)  # bookable without card payments
    auth.login(make_user())
    html = client.get(f"/stays?checkin={_day(3)}&checkout={_day(5)}&guests=3").get_data(as_text=True)
    assert f"checkin={_day(3)}" in html
    html = client.get(f"/listings/{listing.id}-{listing.slug}?checkin={_day(3)}&checkout={_day(5)}&guests=3").get_data(
        as_text=True
    )
    assert f'value="{_day(3)}"' in html and f'value="{_day(5)}"' in html and 'value="3"' in html


def test_host_home_labels_the_cash_in_hand_with_the_readers_colon(client, db, auth):
    """'手中现金（账面）：' on a Chinese page, 'Cash in hand (by the book): ' on an English one (was an
    ASCII ':' after the Chinese label in both)."""
    host = make_user(role="host")
    auth.login(host)
    html = client.get("/host/").get_data(as_text=True)
    assert "手中现金（账面）：" in html and "手中现金（账面）:" not in html
    client.get("/?lang=en")
    assert "Cash in hand (by the book): " in client.get("/host/").get_data(as_text=True)


def _session_later_today(listing, now):
    """A session of today (Beijing) that has not started: in half an hour, or at the day's last second."""
    starts_at = now + timedelta(minutes=30)
    if local_date(starts_at) != local_date(now):
        starts_at = datetime.combine(local_date(now), time(23, 59, 59), tzinfo=TZ)
    session = Session(
        unit_type_id=listing.unit_types[0].id, starts_at=starts_at, session_date=local_date(now), capacity=10
    )
    shop_db.session.add(session)
    shop_db.session.flush()
    return session


def test_a_session_is_no_no_show_before_it_starts_on_the_host_pages_and_the_api(client, db, auth, api_token):
    """An experience at a time: before its start the host's pages offer no no-show (a disabled button
    saying from when), and the page and the API refuse it with the start time; from the start on it is
    marked."""
    host = make_user(role="host")
    listing = make_listing(host=host, kind="experience")
    now = now_utc()
    session = _session_later_today(listing, now)
    booking = make_booking(listing, check_in=local_date(now), session=session)
    stay = make_booking(make_listing(host=host), check_in=_day(1))
    db.session.commit()
    no_show_form = f'action="/host/bookings/{booking.code}/no-show"'
    headers = api_token(host)
    auth.login(host)
    for page in ("/host/", f"/host/listings/{listing.id}"):
        html = client.get(page).get_data(as_text=True)
        assert booking.code in html and no_show_form not in html and "data-no-show-from=" in html, page
        assert "开始后可标记未到店" in html
    refused = client.post(f"/host/bookings/{booking.code}/no-show", data={"confirm": "1"}, follow_redirects=True)
    assert "开始后才能标记未到店" in refused.get_data(as_text=True)
    answer = client.post(f"/api/v1/bookings/{booking.code}/no-show", json={}, headers=headers)
    assert answer.status_code == 409 and answer.json["error"]["code"] == "no_show_before_session"
    assert "开始后才能标记未到店" in answer.json["error"]["message"]
    answer = client.post(f"/api/v1/bookings/{stay.code}/no-show", json={}, headers=headers)
    assert answer.status_code == 409 and answer.json["error"]["code"] == "no_show_before_arrival"
    english = client.post(f"/api/v1/bookings/{booking.code}/no-show?lang=en", json={}, headers=headers)
    assert "no-show" in english.json["error"]["message"] and "开始" not in english.json["error"]["message"]
    db.session.expire_all()
    assert {db.session.get(Booking, b.id).status for b in (booking, stay)} == {BookingStatus.CONFIRMED}
    # the session has started: the button is there and the API marks it
    db.session.get(Booking, booking.id).session.starts_at = now_utc() - timedelta(minutes=1)
    db.session.commit()
    assert no_show_form in client.get("/host/").get_data(as_text=True)
    answer = client.post(f"/api/v1/bookings/{booking.code}/no-show", json={}, headers=headers)
    assert answer.status_code == 200 and answer.json["status"] == "no_show"


def test_reopening_a_day_says_so_on_that_days_month(client, db, auth):
    """开放 on a closed day of a later month: the calendar of that month with 已重新开放 (it said nothing and
    showed this month, so the host could not see the day open); a second tap says it was open already."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    day = _day(40)
    auth.login(host)
    closure = {"confirm": "1", "start": day.isoformat(), "end": day.isoformat()}
    assert client.post(f"/host/listings/{listing.id}/close", data=closure).status_code == 302
    url = f"/host/listings/{listing.id}/reopen/{day.isoformat()}"
    r = client.post(url + "?lang=zh_CN")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/host/listings/{listing.id}?month={day:%Y-%m}")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert f"已重新开放 {day.isoformat()}" in page and f"<strong>{day:%Y-%m}</strong>" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0
    again = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert f"{day.isoformat()} 已经开放，没有变化" in again and "已重新开放" not in again


def test_a_calendar_day_shows_a_four_figure_price_that_fits_its_cell(client, db, auth):
    """A day's cell (51 px wide on a phone) shows ¥1,288, not ¥1,288.00, which ran into the next day's
    cell on the tourist's and the host's calendars; a price with fen keeps them, and the room list under
    the calendar keeps the full amount."""
    host = make_user(role="host")
    listing = make_listing(host=host, price_fen=128800, weekend_price_fen=128850, pay_on_arrival=True)
    db.session.commit()
    month = f"{_day(40):%Y-%m}"
    html = client.get(f"/listings/{listing.id}-{listing.slug}?month={month}").get_data(as_text=True)
    calendar = html.split('class="tour-calendar')[1].split("</table>")[0]
    assert '<span class="p">¥1,288</span>' in calendar and '<span class="p">¥1,288.50</span>' in calendar
    assert "¥1,288.00" not in calendar and "¥1,288.00" in html
    auth.login(host)
    hosts = client.get(f"/host/listings/{listing.id}?month={month}").get_data(as_text=True)
    assert '<span class="p">¥1,288</span>' in hosts and "¥1,288.00" not in hosts.split("</table>")[0]


def test_the_host_calendar_says_why_every_day_reads_not_bookable(client, db, auth):
    """A first-time host's new listing (created closed) showed 不可订 on every day of its calendar and
    nothing said why; so did a stay that allows no payment (no card payments, no 到店支付)."""
    host = make_user(role="host")
    closed = make_listing(host=host, is_published=False, pay_on_arrival=True)
    unpaid = make_listing(host=host, pay_on_arrival=False)
    fine = make_listing(host=host, pay_on_arrival=True)
    auth.login(host)
    not_open = "未对游客开放：游客看不到这个项目"
    no_payment = "游客现在无法付款"
    page = client.get(f"/host/listings/{closed.id}?lang=zh_CN").get_data(as_text=True)
    assert not_open in page and no_payment not in page
    page = client.get(f"/host/listings/{unpaid.id}").get_data(as_text=True)
    assert no_payment in page and not_open not in page
    page = client.get(f"/host/listings/{fine.id}").get_data(as_text=True)
    assert no_payment not in page and not_open not in page
    english = client.get(f"/host/listings/{closed.id}?lang=en").get_data(as_text=True)
    assert "Not open to guests: visitors cannot see this listing" in english
    # one English name for 对游客开放, the box's own ("Open to guests (untick …)"), on every host page
    home = client.get("/host/?lang=en").get_data(as_text=True)
    assert "Open to guests" in home and "Open to visitors" not in home


def test_a_ticket_for_more_guests_than_one_booking_takes_names_the_limit(client, db, auth):
    """A ticket kind taking 6 a booking, 8 typed (the form allows 100): the page says 最多 6 人, not only
    that there are too many."""
    listing = make_listing(kind="ticket", max_guests=6, units=500, pay_on_arrival=True)
    auth.login(make_user())
    r = client.post(
        f"/listings/{listing.id}/book",
        data={"form_token": new_form_token(), "checkin": _day(5).isoformat(), "guests": 8, "payment_method": "arrival"},
    )
    assert r.status_code in (302, 422)
    page = (
        client.get(r.headers["Location"]).get_data(as_text=True) if r.status_code == 302 else r.get_data(as_text=True)
    )
    assert "每个预订最多 6 人" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_my_bookings_and_the_cancel_page_name_the_session_time_of_an_experience(client, db, auth):
    """Two sessions a day (09:00 and 14:00): 我的预订 and 取消预订 say which one the booking is for, as the
    booking's own page does, not only its day."""
    listing = make_listing(kind="experience")
    day = _day(5)
    starts_at = datetime.combine(day, time(14, 0), tzinfo=TZ)
    session = Session(unit_type_id=listing.unit_types[0].id, starts_at=starts_at, session_date=day, capacity=10)
    shop_db.session.add(session)
    shop_db.session.flush()
    guest = make_user()
    booking = make_booking(listing, user=guest, check_in=day, session=session)
    db.session.commit()
    auth.login(guest)
    for page in ("/bookings", f"/bookings/{booking.code}/cancel"):
        assert f"{day.isoformat()} 14:00" in client.get(page).get_data(as_text=True), page


def test_a_party_larger_than_the_places_left_is_told_how_many_are_left_not_sold_out(client, db, auth):
    """A session of 5 places and a ticket day of 5: 6 guests are told 只剩 5 个名额 (booked at once,
    logged in, or put in the cart before logging in), not that the day is fully booked; nothing is held."""
    experience = make_listing(kind="experience", max_guests=10, pay_on_arrival=True)
    session = make_session(experience, day=_day(5), capacity=5)
    ticket = make_listing(kind="ticket", max_guests=10, units=5, pay_on_arrival=True)
    db.session.commit()
    in_cart = client.post("/cart/bookings", data={"listing_id": ticket.id, "checkin": _day(5).isoformat(), "guests": 6})
    page = client.get(in_cart.headers["Location"]).get_data(as_text=True)
    assert "只剩 5 个名额" in page and "已订满" not in page
    auth.login(make_user())
    for listing, fields in ((experience, {"session_id": session.id}), (ticket, {"checkin": _day(5).isoformat()})):
        r = client.post(
            f"/listings/{listing.id}/book",
            data={"form_token": new_form_token(), "guests": 6, "payment_method": "arrival", **fields},
            follow_redirects=True,
        )
        page = r.get_data(as_text=True)
        assert "只剩 5 个名额" in page and "已订满" not in page, listing.kind
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_too_few_places_tells_a_session_to_pick_another_session_and_a_ticket_another_date(client, db, auth):
    """Only 5 places left for 6 guests: an experience's session says 改选场次 (the buyer picks another
    session), a ticket's day 改选日期 — in Chinese and in English."""
    experience = make_listing(kind="experience", max_guests=10, pay_on_arrival=True)
    session = make_session(experience, day=_day(5), capacity=5)
    ticket = make_listing(kind="ticket", max_guests=10, units=5, pay_on_arrival=True)
    db.session.commit()
    auth.login(make_user())
    said = {
        ("experience", "zh_CN"): "该场次只剩 5 个名额，请减少人数或改选场次",
        ("experience", "en"): "Only 5 places left in this session: choose fewer guests or another session",
        ("ticket", "zh_CN"): "只剩 5 个名额，请减少人数或改选日期",
        ("ticket", "en"): "Only 5 places left: choose fewer guests or another date",
    }
    for listing, fields in ((experience, {"session_id": session.id}), (ticket, {"checkin": _day(5).isoformat()})):
        for lang in ("zh_CN", "en"):
            r = client.post(
                f"/listings/{listing.id}/book?lang={lang}",
                data={"form_token": new_form_token(), "guests": 6, "payment_method": "arrival", **fields},
            )
            page = r.get_data(as_text=True)
            assert r.status_code == 409 and said[listing.kind, lang] in page, (listing.kind, lang)
            other = {"experience": ("改选日期", "another date"), "ticket": ("改选场次", "another session")}
            assert not any(words in page for words in other[listing.kind]), (listing.kind, lang)


def _guests_box(page: str) -> str:
    return re.search(r'<input[^>]*name="guests"[^>]*>', page).group(0)


def test_the_guests_box_offers_no_more_than_a_booking_of_the_listing_takes(client, db, auth):
    """人数 on the booking form goes up to the listing's own limit, not 100: a ticket's 6 a booking, an
    experience's 10, a stay's rooms × the guests each sleeps (2 × 2); the cart line's box its type's; and a
    larger party typed anyway is refused in the limit's words (每个预订最多 6 人), not 人数须在 1 到 100 之间."""
    ticket = make_listing(kind="ticket", max_guests=6, units=50, pay_on_arrival=True)
    experience = make_listing(kind="experience", max_guests=10)
    stay = make_listing(units=2, max_guests=2)
    db.session.commit()
    for listing, limit in ((ticket, 6), (experience, 10), (stay, 4)):
        page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
        assert f'max="{limit}"' in _guests_box(page), (listing.kind, _guests_box(page))
    client.post("/cart/bookings", data={"listing_id": ticket.id, "checkin": _day(5).isoformat(), "guests": 2})
    assert 'max="6"' in _guests_box(client.get("/cart").get_data(as_text=True))
    auth.login(make_user())
    for guests in (7, 150):
        for lang, said in (("zh_CN", "每个预订最多 6 人"), ("en", "At most 6 guests")):
            r = client.post(
                f"/listings/{ticket.id}/book?lang={lang}",
                data={
                    "form_token": new_form_token(),
                    "checkin": _day(5).isoformat(),
                    "guests": guests,
                    "payment_method": "arrival",
                },
            )
            page = r.get_data(as_text=True)
            assert r.status_code in (409, 422) and said in page and "100" not in _guests_box(page), (guests, lang)


def test_the_rooms_box_offers_the_room_types_rooms_not_50(client, db):
    """间数 on a stay's booking form goes up to its room type's rooms (3), with two types the larger's (7),
    not 50; more than are free on the dates is still refused when booking."""
    single = make_listing(units=3, max_guests=2)
    double = make_listing(units=3, max_guests=2)
    shop_db.session.add(UnitType(listing_id=double.id, name="家庭房", units=7, max_guests=4, price_fen=30000))
    db.session.commit()
    for listing, limit in ((single, 3), (double, 7)):
        page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
        box = re.search(r'<input[^>]*name="units"[^>]*>', page).group(0)
        assert f'max="{limit}"' in box, (limit, box)


def test_a_stay_party_over_its_rooms_is_told_what_the_rooms_chosen_sleep(client, db, auth):
    """5 guests in 2 rooms sleeping 2 each: 所选 2 间最多住 4 人 (the number named, not only 人数超过所选房间可住人数),
    in Chinese and English; nothing is booked."""
    listing = make_listing(units=3, max_guests=2, pay_on_arrival=True)
    auth.login(make_user())
    for lang, said in (("zh_CN", "所选 2 间最多住 4 人"), ("en", "At most 4 guests in the rooms chosen (2)")):
        r = client.post(
            f"/listings/{listing.id}/book?lang={lang}",
            data={
                "form_token": new_form_token(),
                "checkin": _day(5).isoformat(),
                "checkout": _day(6).isoformat(),
                "guests": 5,
                "units": 2,
                "payment_method": "arrival",
            },
        )
        assert r.status_code == 422 and said in r.get_data(as_text=True), lang
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_the_session_choices_say_the_places_left_of_each_session(client, db):
    """As on Meituan, a session is chosen knowing its places: each 场次 of the booking form says 余 N (the
    calendar only says a day's, all its sessions together), and a full one 已满 — so a party of 3 does not
    pick the 09:00 with 2 left and learn it only once refused."""
    listing = make_listing(kind="experience", name="草莓采摘", max_guests=10)
    day = local_date(now_utc()) + timedelta(days=6)
    morning = make_session(listing, day=day, hour=9, capacity=8)
    make_session(listing, day=day, hour=14, capacity=8)
    full = make_session(listing, day=day + timedelta(days=1), hour=9, capacity=4)
    make_booking(listing, check_in=day, guests=6, session=morning)
    make_booking(listing, check_in=day + timedelta(days=1), guests=4, session=full)
    html = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
    [select] = re.findall(r'<select id="session_id".*?</select>', html, re.S)
    assert f"{day.isoformat()} 09:00 · 余 2<" in select
    assert f"{day.isoformat()} 14:00 · 余 8<" in select
    assert f"{(day + timedelta(days=1)).isoformat()} 09:00 · 已满<" in select


def test_a_session_on_a_day_the_host_closed_is_not_offered(client, db):
    """The calendar says 休息 on a day the host closed: its sessions are not among the 场次 choices (they
    said 已满, as if the guests had taken them), on the listing's page and in a cart line's 场次 box."""
    listing = make_listing(kind="experience", name="草莓采摘", max_guests=10)
    day = local_date(now_utc()) + timedelta(days=6)
    kept = make_session(listing, day=day, hour=9, capacity=8)
    closed = make_session(listing, day=day + timedelta(days=1), hour=9, capacity=8)
    db.session.add(Closure(listing_id=listing.id, closed_date=closed.session_date, reason="", created_at=now_utc()))
    db.session.commit()
    html = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
    [select] = re.findall(r'<select id="session_id".*?</select>', html, re.S)
    assert f'value="{kept.id}"' in select
    assert f'value="{closed.id}"' not in select and "已满" not in select
    r = client.post("/cart/bookings", data={"listing_id": listing.id, "session_id": kept.id, "guests": 2})
    assert r.status_code in (302, 303), r.status_code
    cart = client.get("/cart").get_data(as_text=True)
    [box] = re.findall(r'<select id="s\d+" name="session_id">.*?</select>', cart, re.S)  # the line's 场次 box
    assert f'value="{kept.id}"' in box and f'value="{closed.id}"' not in box
