"""A host changes their listing's prices, rooms, description and cancellation policy — only their own,
never below what is already booked, never stricter for guests who already booked."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shop.audit import AuditEntry
from shop.extensions import db
from shop.timeutil import local_date, now_utc
from tests.conftest import requires_postgres
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing
from tourism.models import Booking, BookingStatus, Listing, UnitType


def _day(n):
    return local_date(now_utc()) + timedelta(days=n)


def _unit_form(ut, **overrides):
    data = {"price": "200.00", "weekend_price": "", "holiday_price": "", "units": "2", "max_guests": "2"}
    data.update(overrides)
    return {f"ut{ut.id}-{k}": v for k, v in data.items()}


def _terms(**overrides):
    data = {
        "description": "新介绍",
        "included": "早餐、接站",
        "free_cancel_days": "3",
        "cancel_fee_pct": "50",
        "pay_on_arrival": "y",
        "is_published": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_host_changes_prices_and_new_bookings_pay_them(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, units=2, price_fen=20000)
    ut = listing.unit_types[0]
    auth.login(host)
    page = client.get(f"/host/listings/{listing.id}/edit")
    assert page.status_code == 200 and "200.00" in page.get_data(as_text=True)
    r = client.post(
        f"/host/listings/{listing.id}/unit-types/{ut.id}",
        data=_unit_form(ut, price="260", weekend_price="320.5", units="3", max_guests="3"),
    )
    assert r.status_code == 302
    db.session.expire_all()
    ut = db.session.get(UnitType, ut.id)
    assert (ut.price_fen, ut.weekend_price_fen, ut.holiday_price_fen, ut.units, ut.max_guests) == (
        26000,
        32050,
        None,
        3,
        3,
    )
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "unit_type.update"))
    assert audit.detail["price_fen"] == [20000, 26000] and audit.actor_id == host.id
    # the public availability shows the new weekday price
    monday = _day(7 - _day(0).weekday())
    saturday = monday + timedelta(days=5)
    avail = client.get(f"/api/v1/listings/{listing.id}/availability?from={monday}&to={saturday + timedelta(days=1)}")
    days = {d["date"]: d for d in avail.get_json()["days"]}
    assert days[monday.isoformat()]["unit_types"][0]["price_fen"] == 26000
    assert days[saturday.isoformat()]["unit_types"][0]["price_fen"] == 32050


def test_bad_prices_and_sizes_are_refused_and_change_nothing(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, units=2, price_fen=20000)
    ut = listing.unit_types[0]
    auth.login(host)
    for bad in (
        {"price": "0"},
        {"price": "-5"},
        {"price": "abc"},
        {"price": "1.234"},
        {"price": "1e9"},
        {"weekend_price": "-1"},
        {"units": "-1"},
        {"units": "100000"},
        {"max_guests": "0"},
        {"units": "two"},
    ):
        r = client.post(f"/host/listings/{listing.id}/unit-types/{ut.id}", data=_unit_form(ut, **bad))
        assert r.status_code == 422, bad
    db.session.expire_all()
    ut = db.session.get(UnitType, ut.id)
    assert (ut.price_fen, ut.units, ut.max_guests, ut.weekend_price_fen) == (20000, 2, 2, None)


def _field_block(html, name):
    """The `field` macro's block of the input named `name` (its label, input and errors)."""
    start = html.rindex('<div class="field', 0, html.index(f'name="{name}"'))
    return html[start : html.index("</div>", start)]


def test_a_refused_room_type_says_which_field_is_wrong_in_both_languages(client, db, auth):
    """Each error sits under its field and, at the top of the page, names the field (as the station's
    product form does); the other forms on the page keep what is stored (the listing stays open)."""
    host = make_user(role="host")
    listing = make_listing(host=host, units=2, max_guests=2, price_fen=20000)
    other = UnitType(listing_id=listing.id, name="家庭房", units=1, max_guests=4, price_fen=30000)
    db.session.add(other)
    db.session.flush()
    ut = listing.unit_types[0]
    auth.login(host)
    url = f"/host/listings/{listing.id}/unit-types/{ut.id}"
    r = client.post(url, data=_unit_form(ut, units="-1", max_guests="0"))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "数量（房间数/每日票数）：须在 0 到 1000 之间" in html
    assert "每间最多入住人数：须在 1 到 50 之间" in html
    assert "须在 0 到 1000 之间" in _field_block(html, f"ut{ut.id}-units")
    assert "须在 1 到 50 之间" in _field_block(html, f"ut{ut.id}-max_guests")
    assert "须在" not in _field_block(html, f"ut{other.id}-units")  # the other room type is not marked
    assert "checked" in _field_block(html, "is_published")  # not unticked by the room type's POST
    # a refusal of the service (rooms below what is booked) names its field too
    make_booking(listing, check_in=_day(5), check_out=_day(7), units=2)
    db.session.commit()
    r = client.post(url, data=_unit_form(ut, units="1"))
    assert r.status_code == 409
    assert "数量（房间数/每日票数）：已有预订占用 2，不能减少到 1" in r.get_data(as_text=True)
    english = client.post(url + "?lang=en", data=_unit_form(ut, price="0")).get_data(as_text=True)
    assert "Price (yuan): The price must be more than zero" in english
    db.session.expire_all()
    assert (db.session.get(UnitType, ut.id).units, db.session.get(UnitType, ut.id).max_guests) == (2, 2)


def test_a_price_above_the_ceiling_says_too_high_not_must_be_positive(client, db, auth):
    """¥10,000,000 a night is refused as too high (价格不能超过 ¥1,000,000.00), not as 价格必须大于零."""
    host = make_user(role="host")
    listing = make_listing(host=host, units=2, price_fen=20000)
    ut = listing.unit_types[0]
    auth.login(host)
    r = client.post(f"/host/listings/{listing.id}/unit-types/{ut.id}", data=_unit_form(ut, price="10000000"))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "价格必须大于零" not in html and "价格不能超过 ¥1,000,000.00" in html
    db.session.expire_all()
    assert db.session.get(UnitType, ut.id).price_fen == 20000


@pytest.mark.parametrize(
    ("field", "typed", "zh", "en"),
    [
        ("weekend_price", "-50", "价格必须大于零", "The price must be more than zero"),
        ("price", "-¥200", "价格必须大于零", "The price must be more than zero"),
        ("holiday_price", "99999999999999", "价格不能超过 ¥1,000,000.00", "The price cannot be above ¥1,000,000.00"),
        ("price", "10000000000.01", "价格不能超过 ¥1,000,000.00", "The price cannot be above ¥1,000,000.00"),
    ],
)
def test_a_negative_or_huge_price_says_why_not_enter_a_correct_amount(client, db, auth, field, typed, zh, en):
    """A negative price reads 价格必须大于零 and one past ¥10^10 (beyond what any amount may be) the form's
    own limit, as any price above it does: neither is the generic 请输入正确的金额."""
    host = make_user(role="host")
    listing = make_listing(host=host, units=2, price_fen=20000)
    ut = listing.unit_types[0]
    auth.login(host)
    url = f"/host/listings/{listing.id}/unit-types/{ut.id}"
    r = client.post(url, data=_unit_form(ut, **{field: typed}))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert zh in html and "请输入正确的金额" not in html
    english = client.post(url + "?lang=en", data=_unit_form(ut, **{field: typed})).get_data(as_text=True)
    assert en in english and "Enter a valid amount" not in english
    db.session.expire_all()
    assert db.session.get(UnitType, ut.id).price_fen == 20000


def test_rooms_cannot_drop_below_what_is_booked(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, units=3)
    ut = listing.unit_types[0]
    make_booking(listing, check_in=_day(5), check_out=_day(7), units=1)
    make_booking(listing, check_in=_day(6), check_out=_day(8), units=1)
    make_booking(listing, check_in=_day(-3), check_out=_day(-1), units=1, status=BookingStatus.COMPLETED)
    make_booking(listing, check_in=_day(6), check_out=_day(7), units=1, status=BookingStatus.CANCELED)
    db.session.commit()
    auth.login(host)
    r = client.post(f"/host/listings/{listing.id}/unit-types/{ut.id}", data=_unit_form(ut, units="1"))
    assert r.status_code == 409
    assert "已有预订占用 2" in r.get_data(as_text=True)
    assert db.session.get(UnitType, ut.id).units == 3
    r = client.post(f"/host/listings/{listing.id}/unit-types/{ut.id}", data=_unit_form(ut, units="2"))
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(UnitType, ut.id).units == 2


def test_ticket_quota_cannot_drop_below_the_busiest_day(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, kind="ticket", units=50, max_guests=10)
    ut = listing.unit_types[0]
    make_booking(listing, check_in=_day(2), guests=8)
    make_booking(listing, check_in=_day(2), guests=7)
    make_booking(listing, check_in=_day(3), guests=9)
    db.session.commit()
    auth.login(host)
    r = client.post(f"/host/listings/{listing.id}/unit-types/{ut.id}", data=_unit_form(ut, units="14", max_guests="10"))
    assert r.status_code == 409
    r = client.post(f"/host/listings/{listing.id}/unit-types/{ut.id}", data=_unit_form(ut, units="15", max_guests="10"))
    assert r.status_code == 302


def test_host_edits_terms_and_can_pause_new_bookings(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, pay_on_arrival=False)
    auth.login(host)
    r = client.post(
        f"/host/listings/{listing.id}/edit", data=_terms(is_published=None, free_cancel_days="5", cancel_fee_pct="30")
    )
    assert r.status_code == 302
    db.session.expire_all()
    listing = db.session.get(Listing, listing.id)
    assert (listing.description, listing.included, listing.pay_on_arrival, listing.is_published) == (
        "新介绍",
        "早餐、接站",
        True,
        False,
    )
    assert (listing.free_cancel_days, listing.cancel_fee_pct) == (5, 30)
    # paused: the public page no longer takes bookings
    assert client.get(f"/listings/{listing.id}-{listing.slug}").status_code == 404
    for bad in (
        {"free_cancel_days": "61"},
        {"free_cancel_days": "-1"},
        {"cancel_fee_pct": "101"},
        {"cancel_fee_pct": "x"},
        {"description": "长" * 5001},
    ):
        assert client.post(f"/host/listings/{listing.id}/edit", data=_terms(**bad)).status_code == 422, bad
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).free_cancel_days == 5


def test_policy_cannot_get_stricter_for_guests_who_already_booked(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, free_cancel_days=3, cancel_fee_pct=50)
    make_booking(listing, check_in=_day(10), check_out=_day(11))
    db.session.commit()
    auth.login(host)
    r = client.post(f"/host/listings/{listing.id}/edit", data=_terms(free_cancel_days="7"))
    assert r.status_code == 409
    r = client.post(f"/host/listings/{listing.id}/edit", data=_terms(cancel_fee_pct="80"))
    assert r.status_code == 409
    db.session.expire_all()
    assert (
        db.session.get(Listing, listing.id).free_cancel_days,
        db.session.get(Listing, listing.id).cancel_fee_pct,
    ) == (3, 50)
    # looser is always fine
    r = client.post(f"/host/listings/{listing.id}/edit", data=_terms(free_cancel_days="1", cancel_fee_pct="20"))
    assert r.status_code == 302


def test_hosts_cannot_edit_other_hosts_listings(client, db, auth):
    host, other = make_user(role="host"), make_user(role="host")
    listing = make_listing(host=host, price_fen=20000)
    theirs = make_listing(host=other)
    ut = listing.unit_types[0]
    auth.login(other)
    assert client.get(f"/host/listings/{listing.id}/edit").status_code == 404
    assert (
        client.post(f"/host/listings/{listing.id}/unit-types/{ut.id}", data=_unit_form(ut, price="1")).status_code
        == 404
    )
    assert client.post(f"/host/listings/{listing.id}/edit", data=_terms()).status_code == 404
    # their own listing id with my unit type id
    assert (
        client.post(f"/host/listings/{theirs.id}/unit-types/{ut.id}", data=_unit_form(ut, price="1")).status_code == 404
    )
    auth.logout()
    auth.login(make_user())
    assert client.get(f"/host/listings/{listing.id}/edit").status_code == 403
    db.session.expire_all()
    assert db.session.get(UnitType, ut.id).price_fen == 20000


@requires_postgres
def test_fewer_rooms_racing_holds_never_overbooks(app, committed_db):
    """A host cutting rooms from 3 to 1 while six guests grab the same night: whatever the order,
    the night ends with no more bookings than rooms (the unit type row lock serialises both)."""
    from shop.auth.models import User
    from tests.concurrency.race import at_once
    from tests.factories import NOW
    from tourism.services.booking import BookingRequest, hold_booking
    from tourism.services.host import update_unit_type

    host = make_user(role="host")
    listing = make_listing(host=host, units=3, max_guests=2)
    guests = [make_user() for _ in range(6)]
    db.session.commit()
    ut_id, listing_id, night = listing.unit_types[0].id, listing.id, local_date(NOW) + timedelta(days=10)
    host_id = host.id

    def book(user_id):
        return lambda: hold_booking(
            BookingRequest(listing_id=listing_id, check_in=night, check_out=night + timedelta(days=1), guests=2),
            user=db.session.get(User, user_id),
            now=NOW,
        )

    def cut():
        update_unit_type(
            db.session.get(Listing, listing_id),
            ut_id,
            price_fen=20000,
            weekend_price_fen=None,
            holiday_price_fen=None,
            units=1,
            max_guests=2,
            actor=db.session.get(User, host_id),
            now=NOW,
        )

    race = at_once(app, [book(u.id) for u in guests] + [cut])  # refusals: Conflict and its kinds
    assert race.errors == []
    outcomes = race.kinds
    assert len(outcomes) == 7 and set(outcomes) <= {"ok", "BookingUnavailable", "Conflict"}, outcomes
    db.session.expire_all()
    units = db.session.get(UnitType, ut_id).units
    held = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Booking.units), 0)).where(
            Booking.unit_type_id == ut_id, Booking.check_in_date == night
        )
    )
    assert 1 <= held <= units
    assert outcomes.count("ok") == held + (1 if units == 1 else 0)


def _shown(page: str, ut) -> str:
    """The room type's form's `shown` (what the page showed of the stored room type)."""
    return page.split(f'name="ut{ut.id}-shown"', 1)[1].split('value="', 1)[1].split('"', 1)[0]


def test_a_room_type_form_from_a_page_drawn_before_another_change_is_refused_not_saved_over_it(client, db, auth):
    """The host's phone and desk both show 标准间 at ¥200.00, 2 rooms. The desk raises the price to ¥260; the phone,
    still drawn at ¥200, lowers the rooms to 1 and saves — its form carries ¥200 back. It was saved, the
    price silently back to ¥200; it is refused (409, naming the price and rooms stored now), nothing changes,
    and the page it answers with is drawn afresh: the host checks and saves again, and that goes through."""
    host = make_user(role="host")
    listing = make_listing(host=host, units=2, price_fen=20000)
    ut = listing.unit_types[0]
    auth.login(host)
    edit, post = f"/host/listings/{listing.id}/edit", f"/host/listings/{listing.id}/unit-types/{ut.id}"
    desk, phone = client.get(edit).get_data(as_text=True), client.get(edit).get_data(as_text=True)
    shown = _shown(phone, ut)
    assert shown == _shown(desk, ut)
    assert client.post(post, data={**_unit_form(ut, price="260"), f"ut{ut.id}-shown": shown}).status_code == 302
    stale = client.post(post, data={**_unit_form(ut, price="200.00", units="1"), f"ut{ut.id}-shown": shown})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "在您打开这个页面后已修改（现价 ¥260.00，数量 2）" in page
    db.session.expire_all()
    assert (db.session.get(UnitType, ut.id).price_fen, db.session.get(UnitType, ut.id).units) == (26000, 2)
    again = client.post(post, data={**_unit_form(ut, price="260", units="1"), f"ut{ut.id}-shown": _shown(page, ut)})
    assert again.status_code == 302
    db.session.expire_all()
    assert (db.session.get(UnitType, ut.id).price_fen, db.session.get(UnitType, ut.id).units) == (26000, 1)


def _form_shown(page: str, action: str) -> str:
    """The `shown` of the page's form posting to `action` (what the page showed of what that form edits)."""
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    return form.split('name="shown"', 1)[1].split('value="', 1)[1].split('"', 1)[0]


def test_a_terms_form_from_a_page_drawn_before_another_change_is_refused_not_saved_over_it(client, db, auth):
    """The host's desk and phone both show the listing's terms. The desk loosens the policy to 5 days and
    rewrites the 介绍; the phone, still drawn with the old ones, only turns off pay on arrival — its form carries
    the old 介绍 and policy back. It was saved, the desk's work silently gone; it is refused (409, naming the
    policy stored now, the terms stored now shown beside the typing), nothing changes; saved again from the page
    it answers with, it goes through."""
    host = make_user(role="host")
    listing = make_listing(host=host, pay_on_arrival=True)
    auth.login(host)
    edit = f"/host/listings/{listing.id}/edit"
    desk, phone = client.get(edit).get_data(as_text=True), client.get(edit).get_data(as_text=True)
    shown = _form_shown(phone, edit)
    assert shown == _form_shown(desk, edit)
    desk_terms = _terms(description="桌面写的新介绍", free_cancel_days="5", cancel_fee_pct="30")
    assert client.post(edit, data={**desk_terms, "shown": shown}).status_code == 302
    stale = client.post(edit, data={**_terms(description="旧介绍", pay_on_arrival=None), "shown": shown})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "的介绍与取消政策在您打开这个页面后已修改（现在：提前 5 天可免费取消，逾期取消收取 30%）" in page
    assert "桌面写的新介绍" in page and "旧介绍" in page  # what is stored now, and what was typed
    db.session.expire_all()
    stored = db.session.get(Listing, listing.id)
    assert (stored.description, stored.free_cancel_days, stored.pay_on_arrival) == ("桌面写的新介绍", 5, True)
    again = {**desk_terms, "pay_on_arrival": None, "shown": _form_shown(page, edit)}
    assert client.post(edit, data={k: v for k, v in again.items() if v is not None}).status_code == 302
    db.session.expire_all()
    stored = db.session.get(Listing, listing.id)
    assert (stored.description, stored.free_cancel_days, stored.pay_on_arrival) == ("桌面写的新介绍", 5, False)


def test_a_terms_form_nobody_changed_since_is_saved(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host)
    auth.login(host)
    edit = f"/host/listings/{listing.id}/edit"
    for description in ("第一次", "第二次"):  # each from the page drawn after the last save
        shown = _form_shown(client.get(edit).get_data(as_text=True), edit)
        assert client.post(edit, data={**_terms(description=description), "shown": shown}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).description == "第二次"


def test_a_place_form_from_a_page_drawn_before_another_change_is_refused_not_saved_over_it(client, db, auth):
    """The same for 位置与电话: the desk sets the phone; the phone's older page, fixing the address, would put
    the old (empty) phone back. Refused (409, naming the address and phone stored now), nothing changes; saved
    again from the page it answers with, it goes through; a page nobody changed since saves as before."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    auth.login(host)
    edit, place = f"/host/listings/{listing.id}/edit", f"/host/listings/{listing.id}/place"
    desk, phone = client.get(edit).get_data(as_text=True), client.get(edit).get_data(as_text=True)
    shown = _form_shown(phone, place)
    assert shown == _form_shown(desk, place)
    desk_place = {"address": "罗渡村 12 号", "latitude": "", "longitude": "", "contact_phone": "13800138000"}
    assert client.post(place, data={**desk_place, "shown": shown}).status_code == 303
    stale = client.post(place, data={**desk_place, "address": "罗渡村 21 号", "contact_phone": "", "shown": shown})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "的位置与电话在您打开这个页面后已修改（现在：地址 罗渡村 12 号，电话 13800138000）" in page
    assert 'value="罗渡村 21 号"' in page  # the typing kept
    db.session.expire_all()
    stored = db.session.get(Listing, listing.id)
    assert (stored.address, stored.contact_phone) == ("罗渡村 12 号", "13800138000")
    again = {**desk_place, "address": "罗渡村 21 号", "shown": _form_shown(page, place)}
    assert client.post(place, data=again).status_code == 303
    db.session.expire_all()
    stored = db.session.get(Listing, listing.id)
    assert (stored.address, stored.contact_phone) == ("罗渡村 21 号", "13800138000")
