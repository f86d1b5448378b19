"""One cancel path for bookings (#19.2): from the order page (我的订单) or the booking page, the
booking, its order and the held nights change together, under the listing's cancellation policy,
after a confirmation step that needs no JavaScript."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from orders.models import Order, Refund
from orders.services.payments import confirm_payment
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from stations.services import fulfilment
from tests.factories import make_product, make_user
from tests.orders.factories import make_order
from tests.tourism.factories import make_listing
from tourism.models import Booking, BookingStatus, ListingKind


def _day(n):
    return local_date(now_utc()) + timedelta(days=n)


def _book(client, listing, *, payment_method="arrival", start=10, nights=2):
    return client.post(
        f"/listings/{listing.id}/book",
        data={
            "form_token": new_form_token(),
            "checkin": _day(start).isoformat(),
            "checkout": _day(start + nights).isoformat(),
            "guests": 2,
            "units": 1,
            "unit_type_id": listing.unit_types[0].id,
            "payment_method": payment_method,
        },
    )


def _bookings(db):
    db.session.expire_all()
    return db.session.scalars(sa.select(Booking).order_by(Booking.id)).all()


def test_my_orders_shows_a_booking_as_a_booking(client, db, auth):
    listing = make_listing(name="罗渡农家乐", pay_on_arrival=True, units=1)
    auth.login(make_user())
    assert _book(client, listing).status_code == 302
    [booking] = _bookings(db)
    html = client.get("/orders").get_data(as_text=True)
    assert "罗渡农家乐" in html and _day(10).isoformat() in html and _day(12).isoformat() in html
    assert "到店支付" in html and "货到付款" not in html and "2 人" in html
    detail = client.get(f"/orders/{booking.order.code}").get_data(as_text=True)
    assert "罗渡农家乐" in detail and booking.code in detail and "到店支付" in detail
    assert "货到付款" not in detail and "收货地址" not in detail and "运费" not in detail
    assert "pay on arrival" not in detail  # the history note is shown in the reader's language
    # the order page offers the booking's own confirmation step, not a one-tap POST
    assert f'href="/bookings/{booking.code}/cancel"' in detail
    assert f'action="/orders/{booking.order.code}/cancel"' not in detail


def test_cancel_from_the_order_page_cancels_the_booking_and_frees_the_nights(client, db, auth):
    listing = make_listing(pay_on_arrival=True, units=1)
    auth.login(make_user())
    _book(client, listing)
    [booking] = _bookings(db)
    order_code = booking.order.code
    # the order's confirmation step is the booking's (it says what the policy returns)
    res = client.get(f"/orders/{order_code}/cancel")
    assert res.status_code == 303 and res.headers["Location"].endswith(f"/bookings/{booking.code}/cancel")
    confirm = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "现在可免费取消" in confirm and f'action="/bookings/{booking.code}/cancel"' in confirm
    assert _bookings(db)[0].status == BookingStatus.CONFIRMED  # a GET changes nothing
    res = client.post(f"/orders/{order_code}/cancel", data={"confirm": "1"})
    assert res.status_code == 303
    [booking] = _bookings(db)
    assert booking.status == BookingStatus.CANCELED and booking.order.status == "canceled"
    assert "已取消" in client.get(f"/orders/{order_code}").get_data(as_text=True)
    # the night is free again: another guest books the only room for the same dates
    client.post("/logout")
    auth.login(make_user())
    assert _book(client, listing).status_code == 302
    assert [b.status for b in _bookings(db)] == [BookingStatus.CANCELED, BookingStatus.CONFIRMED]


def test_cancel_from_the_booking_page_cancels_its_order_too(client, db, auth):
    listing = make_listing(pay_on_arrival=True, units=1)
    auth.login(make_user())
    _book(client, listing)
    [booking] = _bookings(db)
    page = client.get(f"/bookings/{booking.code}").get_data(as_text=True)
    assert f'href="/bookings/{booking.code}/cancel"' in page  # a link to the confirmation step
    assert f'action="/bookings/{booking.code}/cancel"' not in page
    confirm = client.get(f"/bookings/{booking.code}/cancel")
    assert confirm.status_code == 200 and "确认取消预订" in confirm.get_data(as_text=True)
    assert client.post(f"/bookings/{booking.code}/cancel", data={"confirm": "1"}).status_code == 302
    [booking] = _bookings(db)
    assert booking.status == BookingStatus.CANCELED and booking.order.status == "canceled"
    # nothing left to cancel: the confirmation page sends back, the order page offers no cancel
    assert client.get(f"/bookings/{booking.code}/cancel").status_code == 303
    assert "取消预订" not in client.get(f"/orders/{booking.order.code}").get_data(as_text=True)


def test_a_canceled_booking_to_pay_on_arrival_no_longer_says_pay_on_arrival(client, db, auth):
    """The booking's page of a canceled pay-on-arrival booking said 金额 ¥x · 到店支付 under 已取消, as if the
    guest still had to pay on arrival; it says nothing is to pay, in both languages."""
    listing = make_listing(pay_on_arrival=True, units=1)
    auth.login(make_user())
    _book(client, listing)
    [booking] = _bookings(db)
    assert "到店支付" in client.get(f"/bookings/{booking.code}").get_data(as_text=True)
    assert client.post(f"/bookings/{booking.code}/cancel", data={"confirm": "1"}).status_code == 302
    page = client.get(f"/bookings/{booking.code}").get_data(as_text=True)
    assert "已取消，无需支付" in page and "到店支付" not in page
    page = client.get(f"/bookings/{booking.code}?lang=en").get_data(as_text=True)
    assert "Canceled: nothing to pay" in page and "Pay on arrival" not in page


def test_a_late_cancel_of_a_booking_paid_on_arrival_costs_nothing_and_says_so(client, db, auth):
    """Inside the fee period a pay-on-arrival booking has nothing paid to keep a fee from: the booking page
    and the cancel step say that nothing is paid yet and cancelling costs nothing, not "a ¥0.00 fee; you will
    be refunded ¥0.00", nor a bare "free to cancel" beside a policy that names a 30 % fee."""
    listing = make_listing(pay_on_arrival=True, units=1, free_cancel_days=3, cancel_fee_pct=30)
    auth.login(make_user())
    assert _book(client, listing, start=1, nights=1).status_code == 302
    [booking] = _bookings(db)
    for url in (f"/bookings/{booking.code}", f"/bookings/{booking.code}/cancel"):
        page = client.get(url).get_data(as_text=True)
        assert "尚未付款（到店支付）：现在取消不收任何费用。" in page and "30%" in page, url
        assert "现在可免费取消" not in page and "手续费 ¥0.00" not in page and "退款 ¥0.00" not in page, url
    client.get("/?lang=en")
    page = client.get(f"/bookings/{booking.code}/cancel").get_data(as_text=True)
    assert "Nothing is paid yet (you pay on arrival): cancelling now costs nothing." in page
    assert "a ¥0.00 fee" not in page and "refunded ¥0.00" not in page


def test_a_late_cancel_under_a_policy_that_keeps_nothing_says_full_refund(client, db, auth, fake_stripe):
    """A listing whose late fee is 0 %: cancelling a paid booking late refunds it all, and the cancel step
    says so rather than "a ¥0.00 fee"."""
    listing = make_listing(units=1, free_cancel_days=3, cancel_fee_pct=0, price_fen=10000)
    auth.login(make_user())
    assert _book(client, listing, payment_method="card", start=1, nights=2).status_code == 302
    [booking] = _bookings(db)
    payment = booking.order.payments[0]
    fake_stripe.succeed(payment.provider_ref)
    confirm_payment(payment, now=now_utc())
    db.session.flush()
    page = client.get(f"/bookings/{booking.code}/cancel").get_data(as_text=True)
    assert "现在取消可全额退款 ¥200.00" in page and "手续费" not in page.split("取消政策")[0]


def test_the_cancel_step_of_a_ticket_speaks_of_places_not_nights(client, db, auth):
    ticket = make_listing(kind=ListingKind.TICKET, pay_on_arrival=True, units=50, max_guests=10)
    auth.login(make_user())
    res = client.post(
        f"/listings/{ticket.id}/book",
        data={
            "form_token": new_form_token(),
            "checkin": _day(10).isoformat(),
            "guests": 2,
            "payment_method": "arrival",
        },
    )
    assert res.status_code == 302
    [booking] = _bookings(db)
    confirm = client.get(f"/bookings/{booking.code}/cancel").get_data(as_text=True)
    assert "取消后名额将释放给其他游客" in confirm and "房晚" not in confirm
    stay = make_listing(pay_on_arrival=True, units=1)
    _book(client, stay)
    stay_booking = _bookings(db)[-1]
    assert "取消后房晚将释放给其他客人" in client.get(f"/bookings/{stay_booking.code}/cancel").get_data(as_text=True)


def test_cancelling_a_paid_booking_from_the_order_page_follows_its_policy(client, db, auth, fake_stripe):
    listing = make_listing(units=1, free_cancel_days=3, cancel_fee_pct=30, price_fen=10000)
    auth.login(make_user())
    assert _book(client, listing, payment_method="card", start=2, nights=2).status_code == 302
    [booking] = _bookings(db)
    payment = booking.order.payments[0]
    fake_stripe.succeed(payment.provider_ref)
    confirm_payment(payment, now=now_utc())
    db.session.flush()
    assert _bookings(db)[0].status == BookingStatus.CONFIRMED
    order_code = booking.order.code
    confirm = client.get(f"/bookings/{booking.code}/cancel").get_data(as_text=True)
    assert "¥60.00" in confirm and "¥140.00" in confirm  # fee 30% of ¥200, refund ¥140
    assert client.post(f"/orders/{order_code}/cancel", data={"confirm": "1"}).status_code == 303
    [booking] = _bookings(db)
    assert booking.status == BookingStatus.CANCELED and booking.refunded_fen == 14000
    assert [r.amount_fen for r in db.session.scalars(sa.select(Refund))] == [14000]
    # the kept fee is not refunded by cancelling "the order" a second time (the page says why, no 409 page)
    again = client.post(f"/orders/{order_code}/cancel", data={"confirm": "1"}, follow_redirects=True)
    assert again.status_code == 200 and again.request.path == f"/orders/{order_code}"
    again = client.post(f"/bookings/{booking.code}/cancel", data={"confirm": "1"}, follow_redirects=True)
    assert again.status_code == 200 and again.request.path == f"/bookings/{booking.code}"
    assert [r.amount_fen for r in db.session.scalars(sa.select(Refund))] == [14000]


def test_a_product_order_is_cancelled_after_a_confirmation_page(client, db, auth, now):
    user = make_user()
    order = make_order(user, [(make_product(name="三江腌菜"), 1)], now=now, payment_method="cod")
    auth.login(user)
    detail = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert f'href="/orders/{order.code}/cancel"' in detail and f'action="/orders/{order.code}/cancel"' not in detail
    confirm = client.get(f"/orders/{order.code}/cancel")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "三江腌菜" in html and f'action="/orders/{order.code}/cancel"' in html
    db.session.expire_all()
    assert db.session.get(Order, order.id).status != "canceled"
    assert client.post(f"/orders/{order.code}/cancel", data={"confirm": "1"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "canceled"


def test_back_to_a_cancel_step_after_cancelling_says_it_is_done(client, db, auth, now):
    """Back from the cancelled order or booking to its confirmation step (opened again, or restored and
    tapped again): the page says it is cancelled, where the step was an error (当前不能取消) and the
    second tap a bare 409 page with only 返回首页; nothing is cancelled twice."""
    listing = make_listing(pay_on_arrival=True, units=1)
    user = make_user()
    auth.login(user)
    _book(client, listing)
    [booking] = _bookings(db)
    assert client.post(f"/bookings/{booking.code}/cancel", data={"confirm": "1"}).status_code == 302
    for again in (
        client.get(f"/bookings/{booking.code}/cancel", follow_redirects=True),
        client.post(f"/bookings/{booking.code}/cancel", data={"confirm": "1"}, follow_redirects=True),
    ):
        html = again.get_data(as_text=True)
        assert again.status_code == 200 and again.request.path == f"/bookings/{booking.code}"
        assert "预订已取消" in html and "该预订当前不能取消" not in html
    order = make_order(user, [(make_product(name="三江腌菜"), 1)], now=now, payment_method="cod")
    assert client.post(f"/orders/{order.code}/cancel", data={"confirm": "1"}).status_code == 303
    for again in (
        client.get(f"/orders/{order.code}/cancel", follow_redirects=True),
        client.post(f"/orders/{order.code}/cancel", data={"confirm": "1"}, follow_redirects=True),
    ):
        html = again.get_data(as_text=True)
        assert again.status_code == 200 and again.request.path == f"/orders/{order.code}"
        assert "订单已取消" in html and "订单当前状态不能取消" not in html
    assert len(db.session.scalars(sa.select(Refund)).all()) == 0


def test_an_order_shipped_while_its_cancel_step_was_open_says_so_on_its_page(client, db, auth, now):
    """The station ships while the buyer reads the cancel step: 确认取消 answers on the order's page why
    it cannot (shipped: ask a refund after delivery), not a bare 409 page."""
    user = make_user()
    order = make_order(user, [(make_product(name="三江腌菜"), 1)], now=now, payment_method="cod")
    auth.login(user)
    assert client.get(f"/orders/{order.code}/cancel").status_code == 200
    shipment = order.shipments[0]
    op = make_user(role="operator", station=shipment.station)
    fulfilment.accept(shipment, actor=op, now=now)
    fulfilment.pack(shipment, actor=op, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=op, now=now)
    db.session.flush()
    res = client.post(f"/orders/{order.code}/cancel", data={"confirm": "1"}, follow_redirects=True)
    assert res.status_code == 200 and res.request.path == f"/orders/{order.code}"
    assert "商品已发出，不能取消" in res.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Order, order.id).status != "canceled"


def test_order_list_shows_item_names_and_thumbnails(client, db, auth, now):
    user = make_user()
    make_order(user, [(make_product(name="三江腌菜"), 2), (make_product(name="霉豆腐"), 1)], now=now)
    auth.login(user)
    html = client.get("/orders").get_data(as_text=True)
    assert "三江腌菜 × 2" in html and "霉豆腐 × 1" in html
