"""What a traveller expects of a stay or experience page: the host's photos (checked and resized like
product photos), the address with a map link and coordinates (no map service called), the host's
contact once booked, tappable calendar days with the total before booking, the village's 一村一品 story."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta

import sqlalchemy as sa
from markupsafe import escape
from PIL import Image

from shop.audit import AuditEntry
from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.factories import make_user, make_village
from tests.stations.factories import image_bytes
from tests.tourism.factories import booked_to_pay_on_arrival, make_booking, make_listing, make_session
from tourism.models import BookingStatus, ListingImage


def _day(n):
    return local_date(now_utc()) + timedelta(days=n)


def _page(listing, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/listings/{listing.id}-{listing.slug}" + (f"?{query}" if query else "")


def test_host_uploads_photos_checked_and_resized_and_guests_see_them(client, db, auth, app):
    host = make_user(role="host")
    listing = make_listing(host=host)
    commit()
    auth.login(host)
    big = image_bytes(size=(3000, 2000))
    r = client.post(
        f"/host/listings/{listing.id}/photos",
        data={"image": (io.BytesIO(big), "room.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    image = db.session.scalar(sa.select(ListingImage))
    with Image.open(os.path.join(app.config["UPLOAD_DIR"], image.path)) as stored:
        assert max(stored.size) == 1200 and stored.format == "JPEG"
    with Image.open(os.path.join(app.config["UPLOAD_DIR"], image.thumb_path)) as thumb:
        assert max(thumb.size) == 400
    r = client.post(
        f"/host/listings/{listing.id}/photos",
        data={"image": (io.BytesIO(b"not an image"), "x.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and db.session.scalar(sa.select(sa.func.count(ListingImage.id))) == 1
    # the refusal says what to do (文件不是有效的图片 alone left the host guessing)
    assert "请换一张 JPEG、PNG、WebP、GIF 或 HEIC 照片" in r.get_data(as_text=True)
    r = client.post(
        f"/host/listings/{listing.id}/photos?lang=en",
        data={"image": (io.BytesIO(b"not an image"), "x.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "choose a JPEG, PNG, WebP, GIF or HEIC photo instead" in r.get_data(as_text=True)
    client.get("/?lang=zh_CN")  # back to Chinese for the rest
    auth.logout()
    assert image.path in client.get(_page(listing)).get_data(as_text=True)
    auth.login(host)
    # one tap asks first (the photo cannot be brought back): nothing is removed until it is confirmed
    first = client.post(f"/host/listings/{listing.id}/photos/{image.id}/delete", follow_redirects=True)
    assert first.status_code == 200 and "确认删除照片 1？" in first.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ListingImage.id))) == 1
    r = client.post(f"/host/listings/{listing.id}/photos/{image.id}/delete", data={"confirm": "1"})
    assert r.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count(ListingImage.id))) == 0


def test_a_photo_over_the_request_limit_is_refused_with_the_size_it_may_be(client, db, auth, app):
    """A file above MAX_CONTENT_LENGTH (a phone camera's PNG, a scan) never reaches the form: the 413
    page says the file is too large and the limit, in the reader's language, not a bare 请求有误."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    commit()
    auth.login(host)
    huge = b"\x89PNG" + b"0" * app.config["MAX_CONTENT_LENGTH"]
    for lang, words in (
        ("zh_CN", ("上传的文件太大。", "每个文件最大 5 MB，请返回上一页换一个较小的文件。")),
        ("en", ("The file is too large.", "Each file may be at most 5 MB; go back and choose a smaller one.")),
    ):
        r = client.post(
            f"/host/listings/{listing.id}/photos?lang={lang}",
            data={"image": (io.BytesIO(huge), "camera.png")},
            content_type="multipart/form-data",
        )
        page = r.get_data(as_text=True)
        assert r.status_code == 413 and all(w in page for w in words) and "请求有误" not in page, lang
    assert db.session.scalar(sa.select(sa.func.count(ListingImage.id))) == 0


def test_the_413_page_links_back_to_the_page_on_this_site_it_came_from(client, db, auth, app):
    """The 413 page says "go back": beside 返回首页 it links back to the Referer when that is a page of
    this site; a foreign Referer is never linked (the page goes back in the tab's history instead)."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    commit()
    auth.login(host)
    huge = b"\x89PNG" + b"0" * app.config["MAX_CONTENT_LENGTH"]
    edit = f"/host/listings/{listing.id}/edit?tab=photos"

    def post(referer, lang):
        r = client.post(
            f"/host/listings/{listing.id}/photos?lang={lang}",
            data={"image": (io.BytesIO(huge), "camera.png")},
            content_type="multipart/form-data",
            headers={"Referer": referer},
        )
        assert r.status_code == 413
        return r.get_data(as_text=True)

    for lang, back, home in (
        ("zh_CN", "返回上一页", "返回首页"),
        ("en", "Back to the previous page", "Back to the home page"),
    ):
        page = post(f"http://localhost{edit}", lang)
        assert f'<a class="btn" href="{escape(edit)}">{back}</a>' in page and home in page, lang
        assert "data-history-back" not in page
        foreign = post("https://evil.example/host/listings/1/edit", lang)
        assert "evil.example" not in foreign and home in foreign, lang
        assert f'<button type="button" class="btn" data-history-back hidden>{back}</button>' in foreign
        assert "js/history_back.js" in foreign


def test_another_hosts_listing_photos_are_out_of_reach(client, db, auth):
    listing = make_listing()
    commit()
    auth.login(make_user(role="host"))
    r = client.post(
        f"/host/listings/{listing.id}/photos",
        data={"image": (io.BytesIO(image_bytes()), "a.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 404


def test_address_and_map_point_show_with_an_openstreetmap_link(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host)
    commit()
    auth.login(host)
    bad = client.post(
        f"/host/listings/{listing.id}/place",
        data={"address": "罗渡村 12 号", "latitude": "95", "longitude": "116.0315"},
    )
    assert bad.status_code == 422 and "超出范围" in bad.get_data(as_text=True)
    half = client.post(
        f"/host/listings/{listing.id}/place", data={"address": "罗渡村 12 号", "latitude": "28.4", "longitude": ""}
    )
    assert half.status_code == 422
    r = client.post(
        f"/host/listings/{listing.id}/place",
        data={
            "address": "南昌县黄马乡罗渡村 12 号",
            "latitude": "28.4123",
            "longitude": "116.0315",
            "contact_phone": "138-0000-1234",
        },
    )
    assert r.status_code == 303
    db.session.refresh(listing)
    assert (listing.lat_e6, listing.lon_e6, listing.contact_phone) == (28_412_300, 116_031_500, "13800001234")
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "listing.place"))
    auth.logout()
    page = client.get(_page(listing)).get_data(as_text=True)
    assert "南昌县黄马乡罗渡村 12 号" in page and "28.412300, 116.031500" in page
    assert "https://www.openstreetmap.org/?mlat=28.412300&amp;mlon=116.031500" in page
    assert "geo:28.412300,116.031500" in page
    assert "13800001234" not in page, "the phone is for guests who booked"


def test_host_contact_shows_once_booked_not_while_held(client, db, auth):
    host = make_user(role="host")
    host.phone = "13900002222"
    listing = make_listing(host=host)
    guest = make_user()
    held = make_booking(
        listing, user=guest, check_in=_day(5), status=BookingStatus.HELD, expires_at=now_utc() + timedelta(minutes=10)
    )
    confirmed = make_booking(listing, user=guest, check_in=_day(9), confirmation_code="482913")
    commit()
    auth.login(guest)
    assert "13900002222" not in client.get(f"/bookings/{held.code}").get_data(as_text=True)
    page = client.get(f"/bookings/{confirmed.code}").get_data(as_text=True)
    assert 'href="tel:13900002222"' in page and "联系接待户" in page


def test_tapping_two_calendar_days_shows_the_total_before_booking(client, db, auth):
    listing = make_listing(price_fen=20000, weekend_price_fen=None, pay_on_arrival=True)
    user = make_user()
    commit()
    auth.login(user)
    a = next(_day(n) for n in range(3, 40) if _day(n).day <= 25)  # both days in one month's calendar
    b = a + timedelta(days=2)
    month = f"{a:%Y-%m}"
    page = client.get(_page(listing, month=month)).get_data(as_text=True)
    first = re.search(rf'href="([^"]*checkin={a.isoformat()}[^"]*)"', page)
    assert first, "each open day is a link"
    page = client.get(first.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "请再点离店日期" in page
    second = re.search(rf'href="([^"]*checkin={a.isoformat()}&amp;checkout={b.isoformat()}[^"]*)"', page)
    page = client.get(second.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "共 2 晚 × 1 间" in page and "合计 ¥400.00" in page
    assert f'value="{a.isoformat()}"' in page and f'value="{b.isoformat()}"' in page, "the booking form holds them"


def test_a_stay_across_a_months_end_is_picked_on_two_months_calendars(client, db):
    """The arrival on the last day of a month, 下月, then the departure: the next month's calendar keeps
    the arrival (and the party), and each tap lands on the calendar (#calendar), not the page's top."""
    listing = make_listing(price_fen=20000, weekend_price_fen=None, pay_on_arrival=True)
    commit()
    a = next(_day(n) for n in range(3, 70) if (_day(n) + timedelta(days=1)).day == 1)  # a month's last day
    b = a + timedelta(days=2)
    page = client.get(_page(listing, month=f"{a:%Y-%m}", guests=3)).get_data(as_text=True)
    first = re.search(rf'href="([^"]*checkin={a.isoformat()}[^"]*)"', page)
    assert first and first.group(1).endswith("#calendar"), "the arrival's tap comes back to the calendar"
    page = client.get(first.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "请再点离店日期" in page
    following = re.search(r'href="([^"]*)"[^>]*>下月', page)
    assert following and f"checkin={a.isoformat()}" in following.group(1) and "guests=3" in following.group(1)
    assert following.group(1).endswith("#calendar")
    page = client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f"{b:%Y-%m}" in page and "请再点离店日期" in page, "next month's calendar, the arrival still picked"
    second = re.search(rf'href="([^"]*checkin={a.isoformat()}&amp;checkout={b.isoformat()}[^"]*)"', page)
    assert second, "next month's days are departures of the arrival picked before"
    page = client.get(second.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "共 2 晚 × 2 间" in page and "合计 ¥800.00" in page  # 3 guests in rooms for 2: two rooms


def test_the_party_from_the_search_starts_the_booking_form_with_a_room_that_sleeps_it(client, db, auth):
    """Searched for 3 guests: the booking form starts with the room type that sleeps 3 (家庭房, not the first,
    a 标准间 for 2, which 预订 refused with 所选 1 间最多住 2 人); with rooms for 2 only, with 2 rooms.
    The form as shown books."""
    from tourism.models import UnitType

    listing = make_listing(price_fen=20000, weekend_price_fen=None, max_guests=2, units=3, pay_on_arrival=True)
    family = UnitType(listing_id=listing.id, name="家庭房", units=1, max_guests=4, price_fen=30000)
    db.session.add(family)
    small = make_listing(price_fen=20000, weekend_price_fen=None, max_guests=2, units=3, pay_on_arrival=True)
    user = make_user()
    commit()
    db.session.expire_all()
    a = _day(5)
    b = a + timedelta(days=2)
    page = client.get(_page(listing, checkin=a, checkout=b, guests=3)).get_data(as_text=True)
    assert re.search(
        rf'<option[^>]*selected[^>]*value="{family.id}"|<option[^>]*value="{family.id}"[^>]*selected', page
    )
    page = client.get(_page(small, checkin=a, checkout=b, guests=3)).get_data(as_text=True)
    assert "共 2 晚 × 2 间" in page and "合计 ¥800.00" in page
    assert re.search(r'name="units"[^>]*value="2"|value="2"[^>]*name="units"', page)
    auth.login(user)
    token = re.search(r'name="form_token"[^>]*value="([^"]+)"', page)
    form = {"checkin": a.isoformat(), "checkout": b.isoformat(), "guests": "3", "units": "2"}
    if token:
        form["form_token"] = token.group(1)
    booked = client.post(f"/listings/{small.id}/book", data={**form, "payment_method": "arrival"})
    assert booked.status_code in (302, 303), booked.get_data(as_text=True)[:500]


def test_the_total_follows_the_party_for_an_experience(client, db):
    listing = make_listing(kind="experience", price_fen=3800, pay_on_arrival=True)
    commit()
    page = client.get(_page(listing, checkin=_day(3).isoformat(), guests=3)).get_data(as_text=True)
    assert "合计 ¥114.00" in page


def test_a_day_tapped_on_an_experience_calendar_chooses_that_days_session(client, db):
    listing = make_listing(kind="experience", price_fen=3800, pay_on_arrival=True)
    first = make_session(listing, day=_day(3), hour=9)
    tapped = make_session(listing, day=_day(5), hour=14)
    commit()
    page = client.get(_page(listing)).get_data(as_text=True)
    assert re.search(rf'<option selected value="{first.id}"|<option value="{first.id}" selected', page) is None
    page = client.get(_page(listing, checkin=_day(5).isoformat())).get_data(as_text=True)
    assert re.search(rf'<option selected value="{tapped.id}">', page), (
        "the booking form offers the tapped day's session"
    )


def test_past_or_reversed_dates_show_no_total(client, db):
    listing = make_listing()
    commit()
    assert "合计" not in client.get(_page(listing, checkin=_day(5).isoformat(), checkout=_day(4).isoformat())).get_data(
        as_text=True
    )


def test_the_village_story_and_its_signature_product(client, db):
    village = make_village(name="罗渡村", signature_product="无花果")
    village.story = "罗渡村的无花果种了三十年。"
    listing = make_listing(village=village)
    commit()
    page = client.get(_page(listing)).get_data(as_text=True)
    assert "罗渡村的故事" in page and "无花果" in page and "罗渡村的无花果种了三十年。" in page
    assert f"/villages/{village.slug}" in page


def test_the_booking_api_gives_the_host_contact_once_confirmed(client, db, api_token):
    host = make_user(role="host")
    host.phone = "13900003333"
    listing = make_listing(host=host)
    listing.address, listing.lat_e6, listing.lon_e6 = "罗渡村 12 号", 28_412_300, 116_031_500
    guest = make_user()
    held = make_booking(
        listing, user=guest, check_in=_day(5), status=BookingStatus.HELD, expires_at=now_utc() + timedelta(minutes=10)
    )
    confirmed = make_booking(listing, user=guest, check_in=_day(9), confirmation_code="482913")
    commit()
    headers = api_token(guest)
    assert client.get(f"/api/v1/bookings/{held.code}", headers=headers).json["host_contact"] is None
    contact = client.get(f"/api/v1/bookings/{confirmed.code}", headers=headers).json["host_contact"]
    assert contact == {
        "name": host.name,
        "phone": "13900003333",
        "address": "罗渡村 12 号",
        "latitude": "28.412300",
        "longitude": "116.031500",
    }


def test_counts_of_nights_rooms_and_guests_read_as_english_plurals(client, db, auth):
    """ "1 night × 1 room", "1 guest" — not "1 rooms", "1 guest(s)" — and "2 nights × 2 rooms", "2 guests"
    (ngettext; Chinese has one form)."""
    listing = make_listing(units=3, max_guests=2, free_cancel_days=1)
    guest = make_user()
    one = make_booking(listing, user=guest, check_in=_day(9), guests=1, units=1)
    two = make_booking(listing, user=guest, check_in=_day(12), check_out=_day(14), guests=2, units=2)
    commit()
    auth.login(guest)
    page = client.get(f"/bookings/{one.code}?lang=en").get_data(as_text=True)
    assert f"{_day(10).isoformat()} (1 night × 1 room)" in page
    assert "· 1 guest</p>" in client.get(f"/bookings/{one.code}/cancel").get_data(as_text=True)
    page = client.get(f"/bookings/{two.code}").get_data(as_text=True)
    assert "(2 nights × 2 rooms)" in page
    assert "· 2 guests</p>" in client.get(f"/bookings/{two.code}/cancel").get_data(as_text=True)
    quote = client.get(_page(listing, checkin=_day(20), checkout=_day(21))).get_data(as_text=True)
    assert f"Check in {_day(20).isoformat()}, check out {_day(21).isoformat()}, 1 night × 1 room" in quote
    for wrong in ("1 nights", "1 rooms", "1 guests", "(s)"):
        assert wrong not in page + quote, wrong
    page = client.get(f"/bookings/{one.code}?lang=zh_CN").get_data(as_text=True)
    # in Chinese brackets on a Chinese page (shop.filters.bracketed), not the English page's (1 晚 × 1 间)
    assert f"{_day(10).isoformat()}（1 晚 × 1 间）" in page and "(1 晚" not in page
    quote = client.get(_page(listing, checkin=_day(20), checkout=_day(22))).get_data(as_text=True)
    assert "共 2 晚 × 1 间" in quote


def test_a_stays_counts_read_in_the_singular_and_plural_in_english(client, db):
    """The cancellation policy's days and a room's guests are counts (ngettext): one day, two days."""
    one = make_listing(free_cancel_days=1, max_guests=1)
    two = make_listing(free_cancel_days=2, max_guests=2)
    commit()
    page_one = client.get(_page(one, lang="en")).get_data(as_text=True)
    page_two = client.get(_page(two, lang="en")).get_data(as_text=True)
    assert "Free cancellation up to 1 day before arrival" in page_one
    assert "Free cancellation up to 2 days before arrival" in page_two
    assert "sleeps 1" in page_one and "sleeps 2" in page_two
    chinese = client.get(_page(two, lang="zh_CN")).get_data(as_text=True)
    assert "到店日前 2 天及以前免费取消" in chinese and "可住 2 人" in chinese


def test_the_first_date_is_named_for_what_the_listing_sells(client, db):
    stay = make_listing(kind="stay")
    ticket = make_listing(kind="ticket")
    commit()
    stay_page = client.get(_page(stay)).get_data(as_text=True)
    ticket_page = client.get(_page(ticket)).get_data(as_text=True)
    assert "入住/游玩日期" not in stay_page + ticket_page
    assert re.search(r'<label for="checkin"[^>]*>\s*入住日期', stay_page)
    assert re.search(r'<label for="checkin"[^>]*>\s*游玩日期', ticket_page)


def test_the_nights_and_rooms_aside_takes_the_pages_brackets_on_the_checkout_and_the_order(client, db, auth):
    """The checkout and the order page wrote a stay's （2 晚 × 1 间） in English brackets on a Chinese page."""
    host = make_user(role="host")
    booking = booked_to_pay_on_arrival(host, days_ahead=4)
    auth.login(booking.user)
    order = client.get(f"/orders/{booking.order.code}?lang=zh_CN").get_data(as_text=True)
    assert f"{booking.check_out_date.isoformat()}（1 晚 × 1 间）" in order and "(1 晚" not in order
    order = client.get(f"/orders/{booking.order.code}?lang=en").get_data(as_text=True)
    assert f"{booking.check_out_date.isoformat()} (1 night × 1 room)" in order
    listing = make_listing(units=3, pay_on_arrival=True)
    commit()
    client.post(
        "/cart/bookings",
        data={"listing_id": listing.id, "checkin": _day(9), "checkout": _day(11), "guests": 2, "units": 1},
    )
    page = client.get("/checkout?lang=zh_CN").get_data(as_text=True)
    assert f"{_day(11).isoformat()}（2 晚 × 1 间）" in page and "(2 晚" not in page
