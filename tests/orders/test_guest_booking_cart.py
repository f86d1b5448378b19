"""#21 for first-time users: a visitor who is not signed in picks a stay's dates (or a session, or a
ticket day) and puts it in a guest cart, as goods; the checkout asks them to sign in or register, and
the cart — goods and bookings — is kept. Nothing is held before checkout."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from orders.models import Cart, CartLine
from shop.auth.models import User
from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.factories import make_product, make_user
from tests.tourism.factories import make_listing, make_session
from tourism.models import Booking, ListingKind


def _day(n: int):
    return local_date(now_utc()) + timedelta(days=n)


def _stay(listing, *, checkin=10, nights=2, guests=2, **extra) -> dict:
    return {
        "listing_id": listing.id,
        "checkin": _day(checkin).isoformat(),
        "checkout": _day(checkin + nights).isoformat(),
        "guests": guests,
        "units": 1,
        **extra,
    }


def _carts(db) -> list[Cart]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Cart)).all()


def test_a_guest_sees_the_booking_form_and_puts_a_stay_in_the_guest_cart(client, db, fake_stripe):
    listing = make_listing(name="罗渡山居", price_fen=18800, units=2)
    page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
    assert 'action="/cart/bookings"' in page and "加入购物车" in page and 'name="buy_now"' in page
    assert 'name="checkin"' in page and "登录后预订" not in page
    assert 'name="payment_method" value="card"' not in page  # the payment is chosen at checkout

    res = client.post("/cart/bookings", data=_stay(listing))
    assert res.status_code == 303 and res.headers["Location"].endswith("/cart")
    [cart] = _carts(db)
    assert cart.user_id is None and cart.token
    [line] = cart.lines
    assert line.kind == "booking" and line.check_in == _day(10) and line.seen_price_fen == 2 * 18800
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0  # nothing held yet
    cart_page = client.get("/cart").get_data(as_text=True)
    assert "罗渡山居" in cart_page and _day(12).isoformat() in cart_page and "去结算" in cart_page

    # the guest changes the stay in the cart like anyone
    res = client.post(f"/cart/lines/{line.id}", data={"guests": 2, "units": 1, "checkout": _day(13).isoformat()})
    assert res.status_code == 303
    db.session.refresh(line)
    assert line.check_out == _day(13) and line.seen_price_fen == 3 * 18800


def test_a_guest_who_books_goes_to_checkout_signs_up_and_keeps_goods_and_stay(client, db, fake_stripe):
    product = make_product(name="三江腌菜", price_fen=1200, stock=10)
    listing = make_listing(name="罗渡山居", price_fen=18800, units=2)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 2})
    res = client.post("/cart/bookings", data=_stay(listing, buy_now="1"))  # the guest's 预订
    assert res.status_code == 303 and res.headers["Location"].endswith("/checkout")
    res = client.get("/checkout")
    assert res.status_code == 302 and "/login" in res.headers["Location"]
    login_page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "购物车里的商品和预订都会保留" in login_page and "/register?next=/checkout" in login_page
    register_page = client.get("/register?next=/checkout").get_data(as_text=True)
    assert "购物车里的商品和预订都会保留" in register_page and "/login?next=/checkout" in register_page

    res = client.post(
        "/register?next=/checkout",
        data={"name": "新游客", "email": "guest@test.cn", "password": "s3cret-pass", "confirm": "s3cret-pass"},
    )
    assert res.status_code == 302 and res.headers["Location"] == "/checkout"
    [cart] = _carts(db)
    assert cart.user_id == db.session.scalar(sa.select(User.id).where(User.email == "guest@test.cn"))
    kinds = sorted((ln.kind, ln.product_id, ln.listing_id, ln.check_in) for ln in cart.lines)
    assert kinds == [("booking", None, listing.id, _day(10)), ("product", product.id, None, None)]
    # 预订 checks out the stay alone: the goods stay in the cart, not chosen (docs/journeys.md)
    assert {(ln.kind, ln.selected) for ln in cart.lines} == {("booking", True), ("product", False)}
    checkout = client.get("/checkout").get_data(as_text=True)
    assert "罗渡山居" in checkout and _day(12).isoformat() in checkout and "三江腌菜" not in checkout
    assert "三江腌菜" in client.get("/cart").get_data(as_text=True)


def test_signing_in_with_the_same_stay_in_both_carts_keeps_one_line_with_the_guests_choice(client, db, auth):
    listing = make_listing(units=2, max_guests=3)
    user = make_user()
    auth.login(user)
    client.post("/cart/bookings", data=_stay(listing, guests=1))
    client.post("/logout")
    client.post("/cart/bookings", data=_stay(listing, guests=3, nights=3))  # as a guest, the same stay again
    res = client.post("/login?next=/checkout", data={"email": user.email, "password": "password123"})
    assert res.status_code == 302
    [cart] = _carts(db)
    [line] = cart.lines
    assert cart.user_id == user.id and line.guests == 3 and line.check_out == _day(13)


def test_a_session_tapped_twice_is_one_line(client, db):
    experience = make_listing(kind=ListingKind.EXPERIENCE, price_fen=3000, max_guests=10)
    session = make_session(experience, day=_day(5), capacity=6)
    for guests in (2, 3):  # a double tap, then a change of mind
        res = client.post(
            "/cart/bookings", data={"listing_id": experience.id, "session_id": session.id, "guests": guests}
        )
        assert res.status_code == 303
    [cart] = _carts(db)
    [line] = cart.lines
    assert line.session_id == session.id and line.guests == 3 and line.seen_price_fen == 9000


def test_a_guest_ticket_day_and_bad_input(client, db):
    ticket = make_listing(kind=ListingKind.TICKET, price_fen=5000, units=100, max_guests=10)
    res = client.post("/cart/bookings", data={"listing_id": ticket.id, "checkin": _day(6).isoformat(), "guests": 2})
    assert res.status_code == 303 and res.headers["Location"].endswith("/cart")
    res = client.post("/cart/bookings", data={"listing_id": ticket.id, "checkin": "2020-01-01", "guests": 2})
    assert res.status_code == 303  # refused with a message, back where the guest was
    assert client.post("/cart/bookings", data={"listing_id": 99999999, "guests": 1}).status_code == 404
    [cart] = _carts(db)
    assert [ln.check_in for ln in cart.lines] == [_day(6)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CartLine)) == 1


def test_a_refused_booking_goes_back_to_the_listing_with_what_the_guest_typed(client, db):
    """Too many guests for the room, or dates the other way round: the listing page again, its booking
    form holding the dates, rooms, room type and party typed (the bare referrer lost them all), and the
    message; a value the page would refuse (guests 0) is left out rather than turned into a 400."""
    listing = make_listing(units=2, max_guests=2)
    commit()  # the refusal rolls back what the request did
    page = f"/listings/{listing.id}-{listing.slug}"
    typed = _stay(listing, guests=5, unit_type_id=listing.unit_types[0].id)
    res = client.post(
        "/cart/bookings", data=typed, headers={"Referer": f"http://localhost{page}?month={_day(10):%Y-%m}"}
    )
    assert res.status_code == 303
    back = res.headers["Location"]
    assert back.startswith(page + "?") and f"month={_day(10):%Y-%m}" in back, back
    for name in ("checkin", "checkout", "guests", "units", "unit_type_id"):
        assert f"{name}={typed[name]}" in back, (name, back)
    shown = client.get(back)
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "所选 1 间最多住 2 人" in html
    assert f'value="{_day(10).isoformat()}"' in html and f'value="{_day(12).isoformat()}"' in html
    assert re.search(r'<input id="guests"[^>]*value="5"', html), "the party typed"

    reversed_dates = _stay(listing, guests=0) | {"checkout": _day(8).isoformat()}
    res = client.post("/cart/bookings", data=reversed_dates, headers={"Referer": f"http://localhost{page}"})
    back = res.headers["Location"]
    assert "guests=0" in back and f"checkout={_day(8).isoformat()}" in back, back
    assert client.get(back).status_code == 422  # the party typed is shown as typed, said wrong
    elsewhere = client.post("/cart/bookings", data=reversed_dates, headers={"Referer": "https://evil.example/x"})
    assert elsewhere.headers["Location"].endswith("/cart")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CartLine)) == 0


def test_too_many_rooms_is_said_as_rooms_not_as_the_party(client, db):
    """间数 99 from the booking form: the message is about the rooms, the room type's (每个预订最多 2 间), not the
    party (预订人数须在 …), which the guest typed right; 人数 0 says the listing's rule (人数不能小于 1), not the
    line's 1 到 100; nothing goes into the cart."""
    listing = make_listing(units=2)
    commit()  # the refusal rolls back what the request did
    page = f"/listings/{listing.id}-{listing.slug}"
    res = client.post("/cart/bookings", data=_stay(listing, units=99), headers={"Referer": f"http://localhost{page}"})
    assert res.status_code == 303
    html = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "每个预订最多 2 间" in html and "预订人数须在" not in html and "1 到 50" not in html
    res = client.post("/cart/bookings", data=_stay(listing, guests=0), headers={"Referer": f"http://localhost{page}"})
    said = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "人数不能小于 1" in said and "预订人数须在" not in said  # the listing's rule, not the line's 1 到 100
    # what was typed comes back in the box (not the default 2), the refusal said once
    assert re.search(r'<input id="guests"[^>]*value="0"', said) and "人数「0」无效" not in said
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CartLine)) == 0


def test_the_back_button_after_signing_up_at_checkout_goes_on_to_the_checkout(client, db, fake_stripe):
    listing = make_listing(units=2)
    client.post("/cart/bookings", data=_stay(listing, buy_now="1"))
    client.post(
        "/register?next=/checkout",
        data={"name": "新游客", "email": "back@test.cn", "password": "s3cret-pass", "confirm": "s3cret-pass"},
    )
    for page in ("/register?next=/checkout", "/login?next=/checkout"):  # where the back button leads
        res = client.get(page)
        assert res.status_code == 302 and res.headers["Location"] == "/checkout", page
    assert client.get("/login").status_code == 200  # asked for on purpose: the form (another account)
    assert client.get("/register?next=//evil.example").headers["Location"] == "/"


def test_a_booking_sent_back_after_signing_in_lands_on_the_listing_not_a_405(client, db, auth):
    """A 预订 whose session had ended goes to the login page with the booking address as `next`; after
    signing in the browser GETs it."""
    listing = make_listing(units=2)
    res = client.post(f"/listings/{listing.id}/book", data=_stay(listing))
    assert res.status_code == 302 and f"next=/listings/{listing.id}/book" in res.headers["Location"].replace("%2F", "/")
    auth.login(make_user())
    res = client.get(f"/listings/{listing.id}/book")
    assert res.status_code == 303 and res.headers["Location"].endswith(f"/listings/{listing.id}-{listing.slug}")


def test_guest_carts_untouched_for_thirty_days_are_forgotten_and_account_carts_kept(client, db, app):
    from orders.services.cart import forget_guest_carts
    from orders.tasks import forget_guest_carts as task

    listing = make_listing(units=2)
    product = make_product(stock=5)
    client.post("/cart/bookings", data=_stay(listing))  # a guest's cart with a stay
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    user_cart = Cart(user_id=make_user().id, updated_at=now_utc() - timedelta(days=90))
    db.session.add(user_cart)
    db.session.flush()
    [guest_id] = [c.id for c in _carts(db) if c.user_id is None]
    assert forget_guest_carts(now=now_utc() + timedelta(days=29)) == 0
    assert forget_guest_carts(now=now_utc() + timedelta(days=31)) == 1
    assert {c.id for c in _carts(db)} == {user_cart.id}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CartLine)) == 0
    assert task() == 0
    assert "orders.tasks.forget_guest_carts" in {
        e["task"] for e in app.extensions["celery"].conf.beat_schedule.values()
    }
    assert guest_id not in {c.id for c in _carts(db)}
