"""JSON API endpoints of the tourism package (added to shop.api's blueprint).

docs/api.md, "The core endpoints": `GET /listings`, `GET /listings/{id}/availability`, `POST /bookings`,
`GET /bookings/{id}`, `POST /bookings/{id}/cancel`, `POST /bookings/{id}/check-in`, and the host's
`POST /bookings/{id}/no-show` and `POST /bookings/{id}/host-cancel` (with the reason the guest is told).
Bookings are named by their public code; another user's booking is a 404.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from flask import url_for
from pydantic import BaseModel, ConfigDict, Field, model_validator

from orders.cashbook_api import (
    CashbookFields,
    CashbookQuery,
    CashCloseBody,
    CashEntryFields,
    CorrectionBody,
    RemittanceBody,
    book_out,
)
from orders.services import cashbook as cash
from orders.services.payments import NewCardPayment
from shop.api import QuerySchema, Schema, api_user, endpoint, ok
from shop.args import ApiDate
from shop.auth.models import Role
from shop.db import commit
from shop.errors import ValidationError
from shop.money import MAX_FEN
from shop.timeutil import local_date, now_utc
from tourism.models import MAX_HOST_CANCEL_REASON, Booking
from tourism.qr import MAX_CHECKIN_TEXT
from tourism.services.availability import ListingFilter, listing_calendar, payment_methods, search_listings
from tourism.services.booking import (
    BookingRequest,
    book_listing,
    cancel_booking,
    check_in_booking,
    get_booking_for_host,
    get_booking_for_user,
    get_listing,
    host_cancel_booking,
    mark_no_show,
    start_card_payment,
)
from tourism.services.host import host_bookings
from tourism.services.host_cash import HOST_TILL, arrivals_cash
from tourism.services.listings import households_linked
from tourism.services.place import host_contact_visible

MAX_CALENDAR_DAYS = 92


class ListingQuery(QuerySchema):
    kind: Literal["stay", "experience", "ticket"] | None = None
    village: int | None = Field(default=None, ge=1, le=2**31)
    checkin: ApiDate | None = None
    checkout: ApiDate | None = None
    guests: int | None = Field(default=None, ge=1, le=100)


class Ref(BaseModel):
    id: int
    name: str


class UnitTypeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answered from the listing's unit type rows

    id: int
    name: str
    units: int
    max_guests: int
    price_fen: int
    weekend_price_fen: int | None
    holiday_price_fen: int | None


class ListingItem(BaseModel):
    id: int
    kind: str
    name: str
    slug: str
    village: Ref
    host: Ref
    description: str
    included: str
    from_price_fen: int | None
    available: bool | None
    free_cancel_days: int
    cancel_fee_pct: int
    pay_on_arrival: bool
    employed_poor_members: int
    households_linked: int
    unit_types: list[UnitTypeOut]
    url: str


class ListingPage(BaseModel):
    items: list[ListingItem]
    total: int


class AvailabilityQuery(QuerySchema):
    from_: ApiDate | None = Field(default=None, alias="from")
    to: ApiDate | None = None


class UnitDayOut(BaseModel):
    unit_type_id: int
    name: str
    available: int
    price_fen: int


class SessionOut(BaseModel):
    session_id: int
    starts_at: datetime
    capacity: int
    available: int
    price_fen: int


class DayOut(BaseModel):
    date: date
    is_past: bool
    is_closed: bool
    available: int
    unit_types: list[UnitDayOut]
    sessions: list[SessionOut]


class AvailabilityOut(BaseModel):
    listing_id: int
    kind: str
    days: list[DayOut]


Day = date  # a field named `date` below: its type by another name


class BookingIn(Schema):
    listing_id: int = Field(ge=1, le=2**62)
    unit_type_id: int | None = Field(default=None, ge=1, le=2**62)
    session_id: int | None = Field(default=None, ge=1, le=2**62)
    # bounded by the booking horizon (services/booking.py)
    checkin: Day | None = Field(
        default=None, description="a stay's first night (Beijing date); for a ticket, its day, as `date`"
    )
    checkout: Day | None = Field(default=None, description="a stay's last morning (Beijing date)")
    date: Day | None = Field(
        default=None,
        description="a ticket's day (Beijing date), as POST /orders items name it; `checkin` names it too, for "
        "existing clients: send one, or both the same day (two days: 422)",
    )
    guests: int = Field(ge=1, le=100)
    units: int = Field(default=1, ge=1, le=50)
    payment_method: Literal["card", "arrival"] = "card"

    @model_validator(mode="after")
    def _one_day(self):
        if self.date is not None and self.checkin is not None and self.date != self.checkin:
            raise ValueError("date and checkin name the same day: send one")
        return self

    @property
    def first_day(self) -> Day | None:
        """The stay's first night, or the ticket's day, whichever name it was sent under."""
        return self.date if self.date is not None else self.checkin


class BookingPaymentOut(BaseModel):
    method: str
    status: str
    client_secret: str | None = None


class HostContact(BaseModel):
    name: str
    phone: str
    address: str
    latitude: str | None = Field(description="decimal degrees (WGS 84), for a map app")
    longitude: str | None


class BookingOut(BaseModel):
    id: str
    code: str
    status: str
    listing: Ref
    unit_type: Ref
    session_id: int | None
    checkin: date
    checkout: date
    nights: int
    guests: int
    units: int
    total_fen: int
    refunded_fen: int
    expires_at: datetime | None
    confirmation_code: str | None
    order: str | None
    payment: BookingPaymentOut | None
    host_contact: HostContact | None = Field(
        default=None, description="the host's name, phone, address and map point, once the booking is confirmed"
    )
    host_cancel_reason: str | None = Field(
        default=None, description="why the host canceled the booking, as the host wrote it for the guest; else null"
    )


class CancelOut(BookingOut):
    refund_fen: int = Field(description="what this call refunded (0 when the booking was canceled already)")
    fee_fen: int = Field(description="the fee this call kept (0 when the booking was canceled already)")


class HostCancelIn(Schema):
    # the service refuses a reason past MAX_HOST_CANCEL_REASON with its own code naming the limit (the host's
    # form's rule), which the spec says; pydantic only bounds what is read (as the invoice title's)
    reason: str = Field(
        max_length=1000,
        description=f"why, for the guest (required; at most {MAX_HOST_CANCEL_REASON} characters once trimmed: "
        "longer is a 422 `host_cancel_reason_too_long` naming the limit, empty `host_cancel_reason_required`)",
        json_schema_extra={"maxLength": MAX_HOST_CANCEL_REASON},
    )


class CheckInIn(Schema):
    #: the desk's rule (`tourism.forms.CheckInForm`): a code typed by hand, or the whole text of the guest's QR code
    confirmation_code: str = Field(
        min_length=1,
        max_length=MAX_CHECKIN_TEXT,
        description="the guest's confirmation code, or the whole text of the guest's QR code "
        f"(`<booking code>:<confirmation code>`, as a scanner types it; at most {MAX_CHECKIN_TEXT} characters): "
        "a wrong code, or another booking's QR code, is a 422 `wrong_confirmation_code`",
    )
    #: A booking paid on arrival (or at the gate): the cash taken from the guest, equal to what is due.
    cash_received_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)


def _listing_item(result, linked: int) -> ListingItem:
    """One listing of the list; `linked`: its households (`households_linked`, read for the whole page)."""
    listing = result.listing
    return ListingItem(
        id=listing.id,
        kind=listing.kind,
        name=listing.name,
        slug=listing.slug,
        village=Ref(id=listing.village.id, name=listing.village.name),
        host=Ref(id=listing.host.id, name=listing.host.name or ""),
        description=listing.description,
        included=listing.included,
        from_price_fen=result.from_price_fen,
        available=result.available if result.bookable else False,
        free_cancel_days=listing.free_cancel_days,
        cancel_fee_pct=listing.cancel_fee_pct,
        pay_on_arrival="arrival" in payment_methods(listing),
        employed_poor_members=listing.employed_poor_members,
        households_linked=linked,
        unit_types=listing.unit_types,
        url=url_for("tourism.listing_detail", listing_id=listing.id, slug=listing.slug),
    )


def booking_out(booking: Booking) -> dict:
    order = booking.order
    payment = order.payments[-1] if order is not None and order.payments else None
    data = BookingOut(
        id=booking.code,
        code=booking.code,
        status=booking.status,
        listing=Ref(id=booking.listing.id, name=booking.listing.name),
        unit_type=Ref(id=booking.unit_type.id, name=booking.unit_type.name),
        session_id=booking.session_id,
        checkin=booking.check_in_date,
        checkout=booking.check_out_date,
        nights=booking.nights,
        guests=booking.guests,
        units=booking.units,
        total_fen=booking.total_fen,
        refunded_fen=booking.refunded_fen,
        expires_at=booking.expires_at,
        confirmation_code=booking.confirmation_code or None,
        order=order.code if order is not None else None,
        payment=payment_out(booking, payment) if payment is not None else None,
        host_contact=_host_contact(booking),
        host_cancel_reason=booking.host_cancel_reason or None,
    )
    return data.model_dump(mode="json")


def payment_out(booking: Booking, payment) -> BookingPaymentOut:
    return BookingPaymentOut(
        method="arrival" if booking.pay_on_arrival else "card",
        status=payment.state,
        client_secret=payment.client_secret if payment.state in ("created", "pending") else None,
    )


def _host_contact(booking: Booking) -> HostContact | None:
    if not host_contact_visible(booking):
        return None
    listing = booking.listing
    lat, lon = listing.coordinates or (None, None)
    return HostContact(
        name=listing.host.name if listing.host else "",
        phone=listing.phone,
        address=listing.address,
        latitude=lat,
        longitude=lon,
    )


def _parse_filter(query: ListingQuery) -> ListingFilter:
    if query.checkout and not query.checkin:
        raise ValidationError("checkin_required_with_checkout", fields={"checkin": "required"})
    if query.checkin and query.checkout and query.checkout <= query.checkin:
        raise ValidationError("checkout_not_after_checkin", fields={"checkout": "not after check-in"})
    if query.checkin and query.checkin < local_date(now_utc()):
        raise ValidationError("date_in_past", fields={"checkin": "in the past"})
    return ListingFilter(
        kind=query.kind, village_id=query.village, check_in=query.checkin, check_out=query.checkout, guests=query.guests
    )


@endpoint(
    "/listings",
    query=ListingQuery,
    response=ListingPage,
    tags=("tourism",),
    summary="Stays, experiences and tickets; with dates and guests, only those with room",
)
def list_listings(query: ListingQuery):
    results = search_listings(_parse_filter(query), now=now_utc())
    linked = households_linked(r.listing.id for r in results)
    items = [_listing_item(r, linked.get(r.listing.id, 0)) for r in results]
    return ok(ListingPage(items=items, total=len(items)))


@endpoint(
    "/listings/<int:listing_id>/availability",
    query=AvailabilityQuery,
    response=AvailabilityOut,
    tags=("tourism",),
    summary="Availability and price per Beijing date in [from, to)",
)
def listing_availability(listing_id: int, query: AvailabilityQuery):
    listing = get_listing(listing_id)
    now = now_utc()
    start = query.from_ or local_date(now)
    end = query.to or start + timedelta(days=30)
    if end <= start:
        raise ValidationError("end_not_after_start", fields={"to": "not after from"})
    if (end - start).days > MAX_CALENDAR_DAYS:
        raise ValidationError("calendar_range_too_long", days=MAX_CALENDAR_DAYS, fields={"to": "range too long"})
    days = listing_calendar(listing, start, end, now=now)
    out = AvailabilityOut(
        listing_id=listing.id,
        kind=listing.kind,
        days=[
            DayOut(
                date=d.day,
                is_past=d.is_past,
                is_closed=d.is_closed,
                available=d.available,
                unit_types=[UnitDayOut(**u.__dict__) for u in d.units],
                sessions=[SessionOut(**s.__dict__) for s in d.sessions],
            )
            for d in days
        ],
    )
    return ok(out)


@endpoint(
    "/bookings",
    ("POST",),
    body=BookingIn,
    response=BookingOut,
    status=201,
    auth=True,
    tags=("tourism",),
    errors=(409,),
    summary="Hold a booking (15 minutes) and start its payment",
)
def create_booking(body: BookingIn):
    """Hold a booking (pay on arrival: confirmed at once). No room: 409 `sold_out`, or `places_left` /
    `session_places_left` when a smaller party fits; dates that include a day the host closed: 409
    `day_closed` naming the day (docs/journeys.md)."""
    user = api_user()
    now = now_utc()
    booking = book_listing(
        BookingRequest(
            listing_id=body.listing_id,
            unit_type_id=body.unit_type_id,
            session_id=body.session_id,
            check_in=body.first_day,
            check_out=body.checkout,
            guests=body.guests,
            units=body.units,
            pay_on_arrival=body.payment_method == "arrival",
        ),
        user=user,
        now=now,
    )
    out = booking_out(booking)  # all it shows is in the session: serialise before the commit expires it
    if booking.pay_on_arrival:
        commit()
        return ok(out, 201)
    new = NewCardPayment.of(booking.order.payments[-1])
    commit()
    payment = start_card_payment(booking.order, now=now, actor=user, new=new)
    if payment is not None:  # the answer shows the started payment (a provider outage: as placed)
        out["payment"] = payment_out(booking, payment).model_dump(mode="json")
        commit()
    return ok(out, 201)


@endpoint("/bookings/<code>", response=BookingOut, auth=True, tags=("tourism",), summary="One of your bookings")
def get_booking(code: str):
    return ok(booking_out(get_booking_for_user(code, api_user())))


@endpoint(
    "/bookings/<code>/cancel",
    ("POST",),
    response=CancelOut,
    auth=True,
    tags=("tourism",),
    errors=(409,),
    summary="Cancel under the listing's policy; the refund goes through the payment pipeline; called again for a "
    "booking that is canceled already (a retry, a second tap), it changes nothing and answers the booking with "
    "refund_fen and fee_fen 0 (its refunded_fen says what its cancellation refunded)",
)
def cancel_booking_api(code: str):
    user = api_user()
    booking = get_booking_for_user(code, user)
    quote = cancel_booking(booking, actor=user, now=now_utc())  # None: canceled already, nothing changed
    commit()  # either way: the rows locked to find out are not held while the answer is read
    if quote is None:  # this call refunded and kept nothing
        return ok({**booking_out(booking), "refund_fen": 0, "fee_fen": 0})
    return ok({**booking_out(booking), "refund_fen": quote.refund_fen, "fee_fen": quote.fee_fen})


@endpoint(
    "/bookings/<code>/check-in",
    ("POST",),
    body=CheckInIn,
    response=BookingOut,
    auth=True,
    tags=("tourism",),
    errors=(409,),
    summary="The host checks the guest in with the confirmation code; a booking paid on arrival needs "
    "cash_received_fen equal to what is due (409 `checkin_cash_not_received`, naming `amount_due_fen`)",
    load=lambda user, code: get_booking_for_host(code, user),  # not the host's: 404 before the body is read
)
def check_in_booking_api(code: str, body: CheckInIn, loaded):
    user, booking = api_user(), loaded
    check_in_booking(
        booking, body.confirmation_code, actor=user, now=now_utc(), cash_received_fen=body.cash_received_fen
    )
    commit()
    return ok(booking_out(booking))


@endpoint(
    "/bookings/<code>/no-show",
    ("POST",),
    response=BookingOut,
    auth=True,
    tags=("tourism",),
    errors=(409,),
    summary="The host marks a confirmed booking a no-show, from its start on: a stay's (or day ticket's) "
    "arrival day, a session's start time, Beijing time (409 no_show_before_arrival, no_show_before_session); "
    "a card payment is kept and credited to the households, an unpaid order is canceled; called again for a "
    "booking that is a no-show already (a second tap), it changes nothing and answers the booking",
)
def no_show_booking_api(code: str):
    user = api_user()
    booking = get_booking_for_host(code, user)
    mark_no_show(booking, actor=user, now=now_utc())  # False: a no-show already, nothing changed
    commit()  # either way: the booking's lock is not held while the answer is read
    return ok(booking_out(booking))


@endpoint(
    "/bookings/<code>/host-cancel",
    ("POST",),
    body=HostCancelIn,
    response=BookingOut,
    auth=True,
    tags=("tourism",),
    errors=(409,),
    summary="The host releases an unpaid booking to be paid on arrival, saying why: the guest is mailed the reason, "
    "which the booking's host_cancel_reason then says (409 paid_booking for a booking paid online, "
    "booking_not_cancelable once it began); called again for a booking that is canceled already, it changes "
    "nothing and answers the booking",
    load=lambda user, code: get_booking_for_host(code, user),  # not the host's: 404 before the body is read
)
def host_cancel_booking_api(code: str, body: HostCancelIn, loaded):
    user, booking = api_user(), loaded
    host_cancel_booking(booking, actor=user, now=now_utc(), reason=body.reason)  # False: canceled already
    commit()  # either way: the rows locked to find out are not held while the answer is read
    return ok(booking_out(booking))


# --- the host's cash book (docs/MONEY.md, "The host's cash book") ----------------------------------


class HostCashEntryOut(CashEntryFields):
    kind: Literal["arrival", "remittance", "correction", "close_difference"]
    listing_id: int | None
    booking_code: str | None


class HostCashbookOut(CashbookFields):
    host_id: int
    entries: list[HostCashEntryOut]


def _dump(model, data: dict) -> dict:
    return model.model_validate(data).model_dump(mode="json")


def _host_entry_refs(e) -> dict:
    return dict(listing_id=e.listing_id, booking_code=e.booking.code if e.booking is not None else None)


def host_cashbook_out(host_id: int, day: date) -> dict:
    return dict(host_id=host_id, **book_out(host_id, day, till=HOST_TILL, entry_refs=_host_entry_refs))


class HostBookingsQuery(QuerySchema):
    from_: ApiDate | None = Field(default=None, alias="from", description="the first Beijing day (default today)")
    to: ApiDate | None = Field(
        default=None,
        description=f"the day after the last (default 30 days after `from`; at most {MAX_CALENDAR_DAYS} days after "
        "it, else 422 calendar_range_too_long; not after it, 422 end_not_after_start)",
    )
    # the statuses a calendar shows (tourism.services.host.CALENDAR_STATUSES; a test holds the two the same)
    status: Literal["held", "confirmed", "checked_in", "completed", "no_show", "canceled"] | None = Field(
        default=None, description="only the bookings of this status (default: all the calendar shows)"
    )
    page: int = Field(default=1, ge=1, le=1000)
    per_page: int = Field(default=20, ge=1, le=100)


class HostBookingOut(BaseModel):
    id: str = Field(description="the booking's code, for check-in, no-show and host-cancel")
    code: str
    status: str
    listing: Ref
    unit_type: Ref
    session_id: int | None
    session_starts_at: datetime | None = Field(description="a session's start (an experience's), else null")
    checkin: date
    checkout: date
    nights: int
    guests: int
    units: int
    guest_name: str = Field(description="the guest's name as the desk shows it (the e-mail when none was given)")
    pay_on_arrival: bool
    total_fen: int
    due_fen: int = Field(description="the cash to take on arrival (到店应收), 0 when none is due")
    taken_fen: int = Field(description="the cash taken at check-in, 0 when none was")


class HostBookingsPage(BaseModel):
    items: list[HostBookingOut]
    total: int
    page: int
    per_page: int


@endpoint(
    "/host/bookings",
    query=HostBookingsQuery,
    response=HostBookingsPage,
    roles=(Role.HOST,),
    tags=("tourism",),
    errors=(403,),
)
def host_bookings_api(query: HostBookingsQuery):
    """The calling host's bookings, of all its listings, over the Beijing days [from, to): what its calendars
    and desk show (canceled and no-show ones too; none expired unpaid), by arrival day, a page at a time, each
    with its code (for check-in), guest, dates or session and the cash due on arrival.

    A stay is listed when one of its nights is in the range, a session or a day's tickets when its day is."""
    now = now_utc()
    start = query.from_ or local_date(now)
    end = query.to or start + timedelta(days=30)
    if end <= start:
        raise ValidationError("end_not_after_start", fields={"to": "not after from"})
    if (end - start).days > MAX_CALENDAR_DAYS:
        raise ValidationError("calendar_range_too_long", days=MAX_CALENDAR_DAYS, fields={"to": "range too long"})
    found = host_bookings(
        api_user(), start, end, status=query.status, offset=(query.page - 1) * query.per_page, limit=query.per_page
    )
    cash_of = arrivals_cash(found.bookings)
    items = [
        HostBookingOut(
            id=b.code,
            code=b.code,
            status=b.status,
            listing=Ref(id=b.listing.id, name=b.listing.name),
            unit_type=Ref(id=b.unit_type.id, name=b.unit_type.name),
            session_id=b.session_id,
            session_starts_at=b.session.starts_at if b.session is not None else None,
            checkin=b.check_in_date,
            checkout=b.check_out_date,
            nights=b.nights,
            guests=b.guests,
            units=b.units,
            guest_name=b.user.name or b.user.email,
            pay_on_arrival=b.pay_on_arrival,
            total_fen=b.total_fen,
            due_fen=cash_of[b.id].due_fen,
            taken_fen=cash_of[b.id].taken_fen,
        )
        for b in found.bookings
    ]
    return ok(HostBookingsPage(items=items, total=found.total, page=query.page, per_page=query.per_page))


@endpoint(
    "/host/cashbook",
    query=CashbookQuery,
    response=HostCashbookOut,
    roles=(Role.HOST,),
    tags=("tourism",),
    errors=(403,),
)
def host_cashbook(query: CashbookQuery):
    """The calling host's cash book for one Beijing day (default today): cash taken on arrival,
    remittances, corrections, expected, counted, closed — the station cash book's shape."""
    host_id = api_user().id  # roles=(HOST,): the caller's own till
    return ok(_dump(HostCashbookOut, host_cashbook_out(host_id, query.date or local_date(now_utc()))))


@endpoint(
    "/host/cashbook/close",
    methods=("POST",),
    body=CashCloseBody,
    response=HostCashbookOut,
    roles=(Role.HOST,),
    tags=("tourism",),
    errors=(403, 409),
)
def close_host_cashbook(body: CashCloseBody):
    """The host's daily close (日结): expected from the book, counted by the host, a difference needs a
    note; a closed day (409 `cash_day_closed`) never changes again."""
    host_id = api_user().id  # roles=(HOST,): the caller's own till
    cash.close_day(
        host_id,
        body.date,
        counted_fen=body.counted_fen,
        note=body.note or "",
        actor=api_user(),
        now=now_utc(),
        till=HOST_TILL,
    )
    commit()
    return ok(_dump(HostCashbookOut, host_cashbook_out(host_id, body.date)))


@endpoint(
    "/host/cashbook/remittances",
    methods=("POST",),
    body=RemittanceBody,
    response=HostCashbookOut,
    status=201,
    roles=(Role.HOST,),
    tags=("tourism",),
    errors=(403, 409),
)
def remit_host_cash(body: RemittanceBody):
    """Cash the host hands over to the platform: a `remittance` entry (negative) in the book of `date`
    (default the open day); a closed day answers 409 `cash_day_closed`, more than the cash in hand 409
    `remittance_exceeds_cash`. Returns that day's book."""
    host_id = api_user().id  # roles=(HOST,): the caller's own till
    entry = cash.remit(
        host_id, body.amount_fen, actor=api_user(), now=now_utc(), note=body.note or "", day=body.date, till=HOST_TILL
    )
    commit()
    return ok(_dump(HostCashbookOut, host_cashbook_out(host_id, entry.business_date)), 201)


@endpoint(
    "/host/cashbook/corrections",
    methods=("POST",),
    body=CorrectionBody,
    response=HostCashbookOut,
    status=201,
    roles=(Role.HOST,),
    tags=("tourism",),
    errors=(403, 409),
)
def correct_host_cash(body: CorrectionBody):
    """An error in the host's till put right: a signed `correction` entry with its reason (required), in
    the book of `date` (default the open day); a closed day answers 409 `cash_day_closed`, a negative
    amount larger than the cash in hand 409 `correction_exceeds_cash`."""
    host_id = api_user().id  # roles=(HOST,): the caller's own till
    entry = cash.correct(
        host_id, body.amount_fen, reason=body.reason, actor=api_user(), now=now_utc(), day=body.date, till=HOST_TILL
    )
    commit()
    return ok(_dump(HostCashbookOut, host_cashbook_out(host_id, entry.business_date)), 201)
