"""The tourism JSON API: status, envelope and database effect."""

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.timeutil import now_utc
from tests.factories import make_user
from tests.tourism.booking_setup import book, day_ahead
from tests.tourism.factories import make_listing, make_session
from tourism.models import Booking, HostCashEntry

pytestmark = pytest.mark.usefixtures("fake_stripe")


def _bookings():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking))


def test_listings_filter_by_kind_and_dates(client, db):
    stay = make_listing(units=1)
    make_listing(kind="ticket")
    r = client.get("/api/v1/listings?kind=stay")
    assert r.status_code == 200
    assert [i["id"] for i in r.json["items"]] == [stay.id]
    assert r.json["items"][0]["unit_types"][0]["price_fen"] == 20000
    r = client.get(f"/api/v1/listings?kind=stay&checkin={day_ahead(3)}&checkout={day_ahead(5)}&guests=3")
    assert r.status_code == 200 and r.json["items"] == []  # 1 room for 2


@pytest.mark.parametrize(
    "qs", ["kind=boat", "checkin=2020-01-01", "checkin=tomorrow", "guests=0", "checkout=2030-01-01"]
)
def test_listings_bad_query_is_422(client, db, qs):
    r = client.get(f"/api/v1/listings?{qs}")
    assert r.status_code == 422
    assert r.json["error"]["code"] in ("validation_error", "date_in_past", "checkin_required_with_checkout")


def test_availability_per_day_and_404(client, db):
    listing = make_listing(units=2, price_fen=10000, weekend_price_fen=15000)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    r = client.get(f"/api/v1/listings/{listing.id}/availability?from={day_ahead(1)}&to={day_ahead(8)}")
    assert r.status_code == 200
    days = r.json["days"]
    assert len(days) == 7 and all(d["available"] == 2 for d in days)
    assert {d["unit_types"][0]["price_fen"] for d in days} == {10000, 15000}
    assert client.get("/api/v1/listings/999999/availability").status_code == 404
    r = client.get(f"/api/v1/listings/{listing.id}/availability?from={day_ahead(5)}&to={day_ahead(1)}")
    assert r.status_code == 422


def test_create_booking_201_holds_and_returns_the_payment(client, db, api_token):
    listing = make_listing(units=1)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    headers = api_token(make_user())
    r = book(client, headers, listing)
    assert r.status_code == 201, r.json
    body = r.json
    assert body["status"] == "held" and body["id"] == body["code"] and body["code"].endswith("-S-1")
    assert body["total_fen"] == 40000 and body["nights"] == 2
    assert body["payment"]["method"] == "card" and body["payment"]["client_secret"].startswith("pi_fake")
    assert body["confirmation_code"] is None
    assert _bookings() == 1


#: Statements of one card booking (token, listing, lock, hold check, the rows and their statuses,
#: then the payment's lock, update and status): the count seen (15 on PostgreSQL and SQLite) plus
#: one. 5 more (20) while the answer re-read the order and its payments before the PaymentIntent
#: call and the booking and its payment after it.
CARD_MAX_STATEMENTS = {"postgresql": 16, "sqlite": 16}


def test_card_booking_answers_from_the_session_then_stores_the_intent(client, db, api_token):
    """The answer is the booking as held (serialised before the commit) with the started payment:
    after the commit only the payment row is locked, updated and its status recorded. It says what a
    fresh read says."""
    from orders.models import OrderPayment
    from tests.sql_count import count_statements

    listing = make_listing(units=3)
    db.session.commit()
    headers = api_token(make_user())
    assert (
        book(client, headers, listing, checkin=day_ahead(3).isoformat(), checkout=day_ahead(4).isoformat()).status_code
        == 201
    )
    with count_statements() as statements:
        r = book(client, headers, listing)
    assert r.status_code == 201, r.json
    assert len(statements) <= CARD_MAX_STATEMENTS[db.engine.dialect.name], "\n".join(statements)
    body = r.json
    assert (body["status"], body["payment"]["status"]) == ("held", "pending")
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == body["code"]))
    payment = db.session.scalar(sa.select(OrderPayment).where(OrderPayment.order_id == booking.order_id))
    assert body["payment"]["client_secret"] == payment.client_secret and payment.provider_ref
    assert client.get(f"/api/v1/bookings/{body['code']}", headers=headers).json == body


def test_booking_needs_auth(client, db):
    listing = make_listing()
    db.session.commit()  # error responses roll the session back: keep the fixture data
    r = client.post("/api/v1/bookings", json={"listing_id": listing.id, "guests": 1})
    assert r.status_code == 401


@pytest.mark.parametrize(
    "change, status, field",
    [
        ({"checkin": "2020-01-01"}, 422, "checkin"),
        ({"checkout": None}, 422, "checkout"),
        ({"checkout": "same"}, 422, "checkout"),
        ({"guests": 0}, 422, "guests"),
        ({"guests": 9}, 422, "guests"),
        ({"checkout": "long"}, 422, "checkout"),
        ({"checkin": "not-a-date"}, 422, "checkin"),
        ({"listing_id": 999999}, 404, None),
        ({"payment_method": "arrival"}, 422, "payment_method"),
    ],
)
def test_create_booking_bad_input_holds_nothing(client, db, api_token, change, status, field):
    listing = make_listing(units=1, max_guests=2)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    headers = api_token(make_user())
    if change.get("checkout") == "same":
        change = {"checkout": day_ahead(10).isoformat()}
    elif change.get("checkout") == "long":
        change = {"checkout": day_ahead(30).isoformat()}
    r = book(client, headers, listing, **change)
    assert r.status_code == status, r.json
    assert set(r.json["error"]) == {"code", "message", "fields"}
    if field:
        assert field in r.json["error"]["fields"]
    assert _bookings() == 0


def test_unavailable_is_409(client, db, api_token):
    listing = make_listing(units=1)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    assert book(client, api_token(make_user()), listing).status_code == 201
    r = book(
        client, api_token(make_user()), listing, checkin=day_ahead(11).isoformat(), checkout=day_ahead(13).isoformat()
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "sold_out"
    assert _bookings() == 1


def test_pay_on_arrival_booking_is_confirmed_with_code(client, db, api_token):
    listing = make_listing(units=1, pay_on_arrival=True)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    r = book(client, api_token(make_user()), listing, payment_method="arrival")
    assert r.status_code == 201
    assert r.json["status"] == "confirmed" and len(r.json["confirmation_code"]) == 6
    assert r.json["payment"]["method"] == "arrival"


def test_experience_booking_by_session(client, db, api_token):
    listing = make_listing(kind="experience", max_guests=6, price_fen=3000)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    session = make_session(listing, day=day_ahead(3), capacity=5)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    r = client.post(
        "/api/v1/bookings",
        json={"listing_id": listing.id, "session_id": session.id, "guests": 3},
        headers=api_token(make_user()),
    )
    assert r.status_code == 201 and r.json["total_fen"] == 9000 and r.json["session_id"] == session.id
    r = client.post(
        "/api/v1/bookings",
        json={"listing_id": listing.id, "session_id": session.id, "guests": 3},
        headers=api_token(make_user()),
    )
    assert r.status_code == 409


def test_other_users_booking_is_404(client, db, api_token):
    listing = make_listing()
    db.session.commit()  # error responses roll the session back: keep the fixture data
    owner = make_user()
    db.session.commit()  # error responses roll the session back: keep the fixture data
    code = book(client, api_token(owner), listing).json["code"]
    stranger = api_token(make_user())
    assert client.get(f"/api/v1/bookings/{code}", headers=stranger).status_code == 404
    assert client.post(f"/api/v1/bookings/{code}/cancel", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/bookings/{code}", headers=api_token(owner)).status_code == 200
    assert db.session.scalar(sa.select(Booking.status)) == "held"


def test_cancel_held_booking_cancels_its_order(client, db, api_token):
    listing = make_listing()
    db.session.commit()  # error responses roll the session back: keep the fixture data
    headers = api_token(make_user())
    code = book(client, headers, listing).json["code"]
    r = client.post(f"/api/v1/bookings/{code}/cancel", headers=headers)
    assert r.status_code == 200 and r.json["status"] == "canceled" and r.json["refund_fen"] == 0
    booking = db.session.scalar(sa.select(Booking))
    assert booking.order.status == "canceled"
    again = client.post(f"/api/v1/bookings/{code}/cancel", headers=headers)  # canceled already: nothing again
    assert (again.status_code, again.json["status"], again.json["refund_fen"]) == (200, "canceled", 0)


def test_check_in_only_by_the_listings_host_with_the_right_code(client, db, api_token):
    host, other_host, guest = make_user(role="host"), make_user(role="host"), make_user()
    listing = make_listing(host=host, kind="ticket", units=10, max_guests=4, pay_on_arrival=True)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    r = client.post(
        "/api/v1/bookings",
        json={"listing_id": listing.id, "checkin": day_ahead(0).isoformat(), "guests": 2, "payment_method": "arrival"},
        headers=api_token(guest),
    )
    assert r.status_code == 201
    code, confirmation = r.json["code"], r.json["confirmation_code"]
    wrong = "000000" if confirmation != "000000" else "111111"
    r = client.post(
        f"/api/v1/bookings/{code}/check-in", json={"confirmation_code": confirmation}, headers=api_token(other_host)
    )
    assert r.status_code == 404
    r = client.post(
        f"/api/v1/bookings/{code}/check-in", json={"confirmation_code": confirmation}, headers=api_token(guest)
    )
    assert r.status_code == 404
    admin = make_user(role="admin")  # admins administer, hosts host (docs/auth.md): not the host's desk by API either
    for path, body in (("check-in", {"confirmation_code": confirmation}), ("no-show", None)):
        r = client.post(f"/api/v1/bookings/{code}/{path}", json=body, headers=api_token(admin))
        assert r.status_code == 404 and r.json["error"]["code"] == "booking_not_found", path
    r = client.post(f"/api/v1/bookings/{code}/check-in", json={"confirmation_code": wrong}, headers=api_token(host))
    assert r.status_code == 422 and r.json["error"]["code"] == "wrong_confirmation_code"
    assert db.session.scalar(sa.select(Booking.status)) == "confirmed"
    # paid at the gate: no check-in without the cash, in the same step (#18)
    total = client.get(f"/api/v1/bookings/{code}", headers=api_token(guest)).json["total_fen"]
    for body, status in (({}, 409), ({"cash_received_fen": total - 1}, 409), ({"cash_received_fen": -1}, 422)):
        r = client.post(
            f"/api/v1/bookings/{code}/check-in",
            json={"confirmation_code": confirmation, **body},
            headers=api_token(host),
        )
        assert r.status_code == status, r.json
        if status == 409:
            assert r.json["error"]["code"] == "checkin_cash_not_received"
            assert r.json["error"]["fields"]["amount_due_fen"] == str(total)
    # and the spec names that code (it said a station's `cash_not_received`)
    spec = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/bookings/{code}/check-in"]["post"]
    assert "409 `checkin_cash_not_received`" in spec["summary"], spec["summary"]
    assert db.session.scalar(sa.select(Booking.status)) == "confirmed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HostCashEntry)) == 0
    r = client.post(
        f"/api/v1/bookings/{code}/check-in",
        json={"confirmation_code": confirmation, "cash_received_fen": total},
        headers=api_token(host),
    )
    assert r.status_code == 200 and r.json["status"] == "checked_in"
    booking = db.session.scalar(sa.select(Booking))
    assert booking.order.payments[0].state == "confirmed"  # the host took the money on arrival
    [entry] = db.session.scalars(sa.select(HostCashEntry)).all()
    assert (entry.kind, entry.amount_fen, entry.host_id, entry.booking_id) == ("arrival", total, host.id, booking.id)


def test_openapi_lists_the_tourism_paths(client, db):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/listings",
        "/api/v1/listings/{listing_id}/availability",
        "/api/v1/bookings",
        "/api/v1/bookings/{code}",
        "/api/v1/bookings/{code}/cancel",
        "/api/v1/bookings/{code}/check-in",
    ):
        assert path in paths


def test_journey_book_two_nights_pay_by_card_cancel_free_refunded_in_full(client, db, api_token, fake_stripe):
    """Product journey 3 (docs/journeys.md) through the API and the real orders payment pipeline (fake
    Stripe at the seam)."""
    from orders.models import OrderPayment, Refund
    from orders.services.payments import sync_payment

    listing = make_listing(units=1, price_fen=18800, free_cancel_days=3)
    headers = api_token(make_user())
    r = client.get(f"/api/v1/listings?kind=stay&checkin={day_ahead(10)}&checkout={day_ahead(12)}&guests=2")
    assert [i["id"] for i in r.json["items"]] == [listing.id]
    r = book(client, headers, listing)
    assert r.status_code == 201 and r.json["total_fen"] == 2 * 18800
    code = r.json["code"]
    intent_id = db.session.scalar(sa.select(OrderPayment.provider_ref))
    fake_stripe.succeed(intent_id)
    sync_payment(db.session.scalar(sa.select(OrderPayment)), now=now_utc())  # what the webhook task does
    db.session.commit()
    r = client.get(f"/api/v1/bookings/{code}", headers=headers)
    assert r.json["status"] == "confirmed" and len(r.json["confirmation_code"]) == 6
    r = client.get(f"/api/v1/listings/{listing.id}/availability?from={day_ahead(10)}&to={day_ahead(13)}")
    assert [d["available"] for d in r.json["days"]] == [0, 0, 1]
    r = client.post(f"/api/v1/bookings/{code}/cancel", headers=headers)
    assert r.status_code == 200
    assert (r.json["status"], r.json["refund_fen"], r.json["fee_fen"]) == ("canceled", 37600, 0)
    refund = db.session.scalar(sa.select(Refund))
    assert refund.amount_fen == 37600 and refund.state == "succeeded"  # executed after commit
    assert fake_stripe.refunds[0]["amount"] == 37600
    r = client.get(f"/api/v1/listings/{listing.id}/availability?from={day_ahead(10)}&to={day_ahead(12)}")
    assert [d["available"] for d in r.json["days"]] == [1, 1]


def test_cancel_late_keeps_the_fee(client, db, api_token, fake_stripe):
    from orders.models import OrderPayment
    from orders.services.payments import confirm_payment

    listing = make_listing(units=1, price_fen=10000, free_cancel_days=7, cancel_fee_pct=20)
    db.session.commit()
    headers = api_token(make_user())
    code = book(client, headers, listing, checkin=day_ahead(2).isoformat(), checkout=day_ahead(3).isoformat()).json[
        "code"
    ]
    confirm_payment(db.session.scalar(sa.select(OrderPayment)), now=now_utc())
    db.session.commit()
    r = client.post(f"/api/v1/bookings/{code}/cancel", headers=headers)
    assert (r.json["refund_fen"], r.json["fee_fen"], r.json["refunded_fen"]) == (8000, 2000, 8000)


def _book_nights_on_arrival(client, headers, listing, days: list[int]) -> None:
    """One night to pay on arrival at each of `days` days ahead, each booked (201)."""
    for day in days:
        r = book(
            client,
            headers,
            listing,
            payment_method="arrival",
            checkin=day_ahead(day).isoformat(),
            checkout=day_ahead(day + 1).isoformat(),
        )
        assert r.status_code == 201, r.json


@pytest.mark.parametrize(
    "limit,said",
    [
        (1, "You already have 1 unpaid pay-on-arrival booking; stay or cancel it first, or pay online"),
        (2, "You already have 2 unpaid pay-on-arrival bookings; stay or cancel one first, or pay online"),
    ],
)
def test_a_refusal_with_a_count_says_it_in_the_singular_or_the_plural(
    app, client, db, api_token, monkeypatch, limit, said
):
    """A counted message (shop.errors.Nn_) goes through ngettext: one booking, two bookings; the code
    and the Chinese stay as they were."""
    monkeypatch.setitem(app.config, "PAY_ON_ARRIVAL_MAX_OPEN", limit)
    listing = make_listing(units=10, pay_on_arrival=True)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    headers = api_token(make_user())
    _book_nights_on_arrival(client, headers, listing, [10 + 3 * i for i in range(limit)])
    answers = {
        lang: client.post(
            f"/api/v1/bookings?lang={lang}",
            json={
                "listing_id": listing.id,
                "checkin": day_ahead(30).isoformat(),
                "checkout": day_ahead(31).isoformat(),
                "guests": 2,
                "payment_method": "arrival",
            },
            headers=headers,
        )
        for lang in ("en", "zh_CN")
    }
    assert [(r.status_code, r.json["error"]["code"]) for r in answers.values()] == [
        (409, "too_many_unpaid_bookings")
    ] * 2
    assert answers["en"].json["error"]["message"] == said
    assert (
        answers["zh_CN"].json["error"]["message"]
        == f"您已有 {limit} 个到店支付的预订未完成；请先入住或取消，或选择在线支付"
    )
    assert _bookings() == limit


def test_with_card_payments_off_the_unpaid_bookings_limit_does_not_offer_paying_online(
    app, client, db, api_token, monkeypatch
):
    """Card payments off (the demo's default), the account's third pay-on-arrival booking is refused without
    或选择在线支付, a way on that is not there: it says to stay or cancel one in 我的预订 first."""
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "")  # this module's fake_stripe turned it on
    listing = make_listing(units=10, pay_on_arrival=True)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    headers = api_token(make_user())
    _book_nights_on_arrival(client, headers, listing, [10, 13])
    third = {"listing_id": listing.id, "guests": 2, "payment_method": "arrival"}
    third |= {"checkin": day_ahead(30).isoformat(), "checkout": day_ahead(31).isoformat()}
    answers = {
        lang: client.post(f"/api/v1/bookings?lang={lang}", json=third, headers=headers) for lang in ("en", "zh_CN")
    }
    assert [(r.status_code, r.json["error"]["code"]) for r in answers.values()] == [
        (409, "too_many_unpaid_bookings_card_off")
    ] * 2
    assert (
        answers["zh_CN"].json["error"]["message"]
        == "您已有 2 个到店支付的预订未完成；请先入住，或在「我的预订」取消其中一个，再预订"
    )
    assert "online" not in answers["en"].json["error"]["message"]


def test_a_tickets_day_is_booked_as_date_as_orders_take_it_or_as_checkin(client, db, api_token):
    """POST /bookings takes a ticket's day as `date`, the name POST /orders items give it, and still as
    `checkin` (existing clients); both the same day is that day, two different days a 422, nothing held."""
    listing = make_listing(kind="ticket", units=10, max_guests=4, pay_on_arrival=True)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    sent = {"listing_id": listing.id, "guests": 2, "payment_method": "arrival"}
    for days in ({"date": day_ahead(3)}, {"checkin": day_ahead(4)}, {"date": day_ahead(5), "checkin": day_ahead(5)}):
        headers = api_token(make_user())  # two unpaid bookings at most a guest
        r = client.post(
            "/api/v1/bookings", json={**sent, **{k: v.isoformat() for k, v in days.items()}}, headers=headers
        )
        assert r.status_code == 201, (days, r.json)
        assert r.json["checkin"] == next(iter(days.values())).isoformat(), days
    r = client.post(
        "/api/v1/bookings",
        json={**sent, "date": day_ahead(6).isoformat(), "checkin": day_ahead(7).isoformat()},
        headers=headers,
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_error", r.json
    assert _bookings() == 3
