"""A host's 标记未到店 or 取消 that is done already (a second tap on the list, the confirmation step
confirmed again after Back, the API called twice) is not a mistake: the page says it is done, with no
confirmation step and no error, the API answers the booking, and nothing happens twice (one status
change, one mail). The rule lives in the service (`tourism.services.booking.no_show_marked_already`,
`booking_canceled_already`), which the host's pages and the API ask."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from shop.history import StatusEvent
from tests.factories import make_user
from tests.sent_mail import mails_to
from tests.tourism.factories import arriving_today, booked_to_pay_on_arrival
from tourism.models import Booking, BookingStatus


def _changes_to(db, booking_id: int, status: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(StatusEvent)
        .where(
            StatusEvent.subject_type == "bookings",
            StatusEvent.subject_id == booking_id,
            StatusEvent.to_status == status,
        )
    )


def test_a_no_show_tapped_again_says_it_is_marked_without_asking_or_an_error(client, db, auth):
    host = make_user(role="host")
    booking = arriving_today(host)
    db.session.commit()
    auth.login(host)
    url = f"/host/bookings/{booking.code}/no-show?lang=zh_CN"
    assert client.post(url, data={"confirm": "1", "reason": "漏水"}).status_code == 302
    for data in ({}, {"confirm": "1"}):  # the list's button tapped again; the step confirmed again after Back
        again = client.post(url, data=data)
        assert again.status_code == 303, data
        assert (
            again.headers["Location"].endswith(f"/host/listings/{booking.listing_id}")
            and "/confirm/" not in again.headers["Location"]
        )
        said = client.get(again.headers["Location"]).get_data(as_text=True)
        assert f"已标记未到店：{booking.code}" in said and "只有已确认、尚未入住的预订才能标记未到店" not in said
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.NO_SHOW
    assert _changes_to(db, booking.id, BookingStatus.NO_SHOW) == 1


def test_a_no_show_sent_twice_through_the_api_answers_the_booking_both_times_and_marks_it_once(
    client, db, api_token, caplog
):
    """The API's no-show follows the page's rule (its second call answered 409 no_show_not_confirmed)."""
    caplog.set_level(logging.INFO, logger="shop.mail")
    host = make_user(role="host")
    guest = make_user(email="no-show-guest@test.cn")
    booking = arriving_today(host, user=guest)
    db.session.commit()
    headers = api_token(host)
    answers = [client.post(f"/api/v1/bookings/{booking.code}/no-show", json={}, headers=headers) for _ in range(2)]
    assert [(a.status_code, a.json["status"]) for a in answers] == [(200, "no_show"), (200, "no_show")]
    db.session.expire_all()
    assert _changes_to(db, booking.id, BookingStatus.NO_SHOW) == 1
    assert len(mails_to(caplog, "no-show-guest@test.cn")) == 1


def test_a_host_cancel_tapped_again_says_it_is_canceled_without_asking_or_an_error(client, db, auth):
    host = make_user(role="host")
    booking = booked_to_pay_on_arrival(host, guests=1)
    db.session.commit()
    auth.login(host)
    url = f"/host/bookings/{booking.code}/cancel?lang=zh_CN"
    assert client.post(url, data={"confirm": "1", "reason": "漏水"}).status_code == 302
    for data in ({}, {"confirm": "1"}):
        again = client.post(url, data=data)
        assert again.status_code == 303, data
        assert again.headers["Location"].endswith(f"/host/listings/{booking.listing_id}")
        said = client.get(again.headers["Location"]).get_data(as_text=True)
        assert "预订已取消" in said and "该预订当前不能取消" not in said
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELED
    assert _changes_to(db, booking.id, BookingStatus.CANCELED) == 1
