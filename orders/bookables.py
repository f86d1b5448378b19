"""Booking lines in the cart and in checkout, without orders knowing tourism.

Orders sits below tourism (docs/ARCHITECTURE.md), so the cart keeps a booking line as plain values
(`BookingItem`: a listing id, dates, guests...) and asks the one registered `BookingLines` — tourism's,
connected by `tourism.init_app` with `register` — to check and price it (`quote`, no locks; the cart
page and the checkout ask for all their lines at once with `quote_many`, a fixed number of statements
whatever the number of lines) and to hold it inside the checkout's transaction (`hold`: the same unit-type lock, availability
check, expiry and pay-on-arrival limits as `POST /bookings`). A refusal raises a `DomainError`; the
checkout's transaction then rolls back whole, stock allocations included.

The order's lifecycle after placement (paid, released, cancel) reaches tourism through
`orders.signals`, as for an order placed by `POST /bookings`. The other way round, what each booking of
an order has come to (`Outcome`: still to come, took place, called off) is asked of the provider
(`outcomes`) when the order settles (`orders.services.settlement`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from shop.errors import DomainError, ValidationError

#: The payment methods a booking line may allow: card (online), arrival (cash to the host on
#: arrival or at the gate).
CARD = "card"
ARRIVAL = "arrival"


@dataclass(frozen=True)
class BookingItem:
    """What the buyer asks for, as plain values. A stay: check_in and check_out (and rooms in
    `units`); a session: session_id; a ticket day: check_in."""

    listing_id: int
    guests: int
    check_in: date | None = None
    check_out: date | None = None
    session_id: int | None = None
    unit_type_id: int | None = None
    units: int = 1


@dataclass
class BookingQuote:
    """What one booking line is, as the cart page and checkout show it."""

    listing_id: int
    kind: str  # stay | experience | ticket
    title: str  # listing name
    detail: str  # room type, ticket kind or session kind
    check_in: date
    check_out: date
    nights: int
    guests: int
    units: int
    total_fen: int
    #: Whether there is room now (checked again, under lock, at checkout).
    available: bool
    #: Payment methods this line allows: ("card",) or ("card", "arrival").
    methods: tuple[str, ...] = (CARD,)
    #: The listing's public page (path).
    url: str = ""
    #: The cancellation policy: free until this many days before, then this percent is kept.
    free_cancel_days: int = 0
    cancel_fee_pct: int = 0
    #: The listing's first photo's thumbnail (a path under the media folder), "" without a photo:
    #: the cart line's picture.
    thumb_path: str = ""
    #: A ticket's day or an experience's session: the places left (the cart says 只剩 N 个名额 when the
    #: party does not fit but a smaller one would); None for a stay.
    places_left: int | None = None
    #: The most guests the line's room type (ticket, session) takes in one booking: its guests box offers
    #: no more (None: not said).
    guests_limit: int | None = None
    #: A stay's: the most rooms of the line's room type one booking takes (its number of rooms): its rooms
    #: box offers no more (None: not a stay, or not said).
    units_limit: int | None = None
    #: The first day of the line's dates that its host closed (休息 on the listing's calendar), when there
    #: is one: the line cannot be booked for it (the cart says so, not 已订满); None otherwise.
    closed_day: date | None = None
    #: An experience's: its session's start (aware UTC), which the cart and checkout name date first, as
    #: the listing's 场次 choices do (2026-12-09 09:00, `local_dt`); None for a stay or a ticket day.
    starts_at: datetime | None = None


@dataclass(frozen=True)
class SessionChoice:
    """One session an experience's cart line may be changed to: a session its listing offers now (not
    started, not withdrawn, not on a day its host closed, within the days its page offers), its start (aware
    UTC) and its places left (0: full) — the 场次 choices of the listing's booking form, 余 N / 已满."""

    session_id: int
    starts_at: datetime
    places_left: int


@dataclass
class HeldLines:
    """What `hold` made for the order, not yet added to the session: the booking order lines
    (their bookings attached), every new row to add (`rows`), their total, when the holds lapse
    (None: confirmed at once), and status events to record once the rows have ids:
    (subject, from, to, note)."""

    lines: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    total_fen: int = 0
    expires_at: datetime | None = None
    events: list[tuple[Any, Any, Any, str]] = field(default_factory=list)


@dataclass(frozen=True)
class LineCancel:
    """What cancelling one booking line of an order now gives back under its listing's policy: the
    refund and the fee kept (both 0 when nothing was paid for it)."""

    line_id: int
    refund_fen: int
    fee_fen: int


class Outcome(StrEnum):
    """What one part of an order (a shipment, a booking) has come to, for the order's own status
    (`orders.services.settlement`)."""

    OPEN = "open"  # still to come or under way
    DONE = "done"  # took place: goods handed over, a stay (experience, ticket) completed
    VOID = "void"  # called off: canceled, expired, a no-show


class BookingLines(Protocol):
    def quote(self, item: BookingItem, *, now: datetime) -> BookingQuote:
        """Check and price one line without locks; raise a DomainError when it cannot be booked
        (unknown listing 404, bad dates or guests 422)."""
        ...

    def quote_many(self, items: list[BookingItem], *, now: datetime) -> list[BookingQuote | DomainError]:
        """`quote` of every item, in their order, with a fixed number of statements whatever their number
        (the cart page and the checkout quote all their booking lines with it). An item that cannot be
        booked gets, in its place, the DomainError `quote` would raise for it; the others are quoted."""
        ...

    def sessions_to_choose(
        self, listing_ids: list[int], *, now: datetime, session_ids: Iterable[int] = ()
    ) -> dict[int, list[SessionChoice]]:
        """{listing id: the sessions its booking form offers now, in order of their start} for the listings
        of a cart's session lines (a listing not published, or without sessions to offer, has none), with a
        fixed number of statements whatever their number: the cart line's 场次 box. The lines' own sessions
        (`session_ids`) that lie past the days the form offers bring their day's sessions too."""
        ...

    def hold(self, order, items: list[BookingItem], *, buyer, now: datetime, pay_on_arrival: bool) -> HeldLines:
        """Hold every item for `order` (not yet flushed) under the unit-type locks, or raise and
        hold nothing (the caller rolls back). Pay on arrival: confirmed at once, as `POST /bookings`."""
        ...

    def placed(self, held: HeldLines) -> None:
        """The order `held` was made for is flushed (its rows have ids): the bookings confirmed at once (pay on
        arrival) are the hosts' to prepare for, and tourism tells them (after commit, as `POST /bookings`)."""
        ...

    def mail_attachments(self, order) -> list[tuple[str, bytes, str]]:
        """What the order's own mail attaches for its bookings: the check-in QR code of each booking
        confirmed (file name, PNG, MIME type), as the booking's own mail attaches it. An order's mail
        (placed, paid) is the one mail its bookings get for that event: the booking mail is not sent."""
        ...

    def cancel_quotes(self, order, *, now: datetime) -> list[LineCancel]:
        """What cancelling the whole order now would give back for each of its booking lines still to
        come, each under its listing's policy (the same figures the cancellation then refunds)."""
        ...

    def outcomes(self, order_id: int) -> list[Outcome]:
        """What each booking of the order has come to (in no particular order), read from the database
        now (one statement), so that the order's status follows its bookings."""
        ...

    def shown_options(self) -> tuple:
        """Loader options on `OrderLine.booking` for lists of orders (我的订单): what they show of a
        booking — its listing with its photos (the line's thumbnail), its unit type, an experience's
        session (its start is named, as the cart names it) — loaded with the lines, one SELECT per
        relation, never one per line."""
        ...

    def page_options(self) -> tuple:
        """Loader options on `OrderLine.booking` for the buyer's order page: `shown_options` and what the
        page says of each booking besides — its listing's host (the host's contact) — one SELECT per
        relation, never one per line."""
        ...


_provider: list[BookingLines] = []


def register(provider: BookingLines) -> None:
    """Called by the package that sells bookings (tourism.init_app); once."""
    _provider[:] = [provider]


def booking_lines() -> BookingLines:
    """The registered provider; without one, booking lines are refused (422)."""
    if not _provider:
        raise ValidationError("bookings_not_sold", fields={"items": "bookings are not sold here"})
    return _provider[0]


def booking_shown_options() -> tuple:
    """The registered provider's `shown_options` (none without a provider: no booking lines then)."""
    return _provider[0].shown_options() if _provider else ()


def booking_page_options() -> tuple:
    """The registered provider's `page_options` (none without a provider: no booking lines then)."""
    return _provider[0].page_options() if _provider else ()


def booking_outcomes(order_id: int) -> list[Outcome]:
    """The registered provider's `outcomes` of the order's bookings (none without a provider: no
    booking is sold then)."""
    return _provider[0].outcomes(order_id) if _provider else []


def booking_mail_attachments(order) -> list[tuple[str, bytes, str]]:
    """The registered provider's `mail_attachments` of the order (none without a provider, or without
    booking lines)."""
    if not _provider or not any(line.kind == "booking" for line in order.lines):
        return []
    return _provider[0].mail_attachments(order)


def item_of(line) -> BookingItem:
    """The `BookingItem` of a cart line of kind "booking"."""
    return BookingItem(
        listing_id=line.listing_id,
        guests=line.guests or 0,
        check_in=line.check_in,
        check_out=line.check_out,
        session_id=line.session_id,
        unit_type_id=line.unit_type_id,
        units=line.units or 1,
    )
