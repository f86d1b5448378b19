"""Tourism listings, their unit types (rooms, sessions, ticket quotas) and bookings.

Availability is computed from bookings, never counted down (docs/ARCHITECTURE.md, "Stock and nights"):
nights are the half-open range [check_in_date, check_out_date).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.columns import fk, pk
from shop.extensions import db
from shop.schema import append_only, closed_day_ddl, register_postgres_ddl


class ListingKind(StrEnum):
    STAY = "stay"
    EXPERIENCE = "experience"
    TICKET = "ticket"


class Listing(db.Model):
    """旅游项目: a farm stay, an experience or a ticket, run by a host in a village."""

    __tablename__ = "listings"
    __table_args__ = (sa.CheckConstraint("kind IN ('stay','experience','ticket')", name="kind_valid"),)

    id: Mapped[int] = pk()
    kind: Mapped[str] = mapped_column(sa.String(12))
    slug: Mapped[str] = mapped_column(sa.String(120))
    name: Mapped[str] = mapped_column(sa.String(80))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    included: Mapped[str] = mapped_column(sa.Text, default="")
    village_id: Mapped[int] = fk("villages.id")
    host_id: Mapped[int] = fk("users.id")
    #: Free cancellation until this many days before the start; then `cancel_fee_pct` is kept.
    free_cancel_days: Mapped[int] = mapped_column(sa.Integer, default=3)
    cancel_fee_pct: Mapped[int] = mapped_column(sa.Integer, default=50)
    pay_on_arrival: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: Poor household members this listing employs (toward the tourism-employment target).
    employed_poor_members: Mapped[int] = mapped_column(sa.Integer, default=0)
    is_published: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: Where guests go, and the point on the map: integer millionths of a degree (WGS 84), shown
    #: with an OpenStreetMap link (no map service is called by the shop).
    address: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    lat_e6: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    lon_e6: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    #: The phone guests call once booked (empty: the host account's phone).
    contact_phone: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    #: Visible reviews' count and sum of ratings (average = sum / count), kept by `reviews.services`.
    rating_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    rating_sum: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    created_at: Mapped[datetime]

    village = relationship("Village")
    host = relationship("User")
    unit_types = relationship("UnitType", back_populates="listing", order_by="UnitType.id")
    images = relationship("ListingImage", order_by="ListingImage.position", cascade="all, delete-orphan")
    #: The households a sale of this listing credits (read-only here: catalog owns the links).
    benefit_links = relationship("BenefitLink", viewonly=True, order_by="BenefitLink.household_id")

    @property
    def rating_average(self) -> float | None:
        """The visible reviews' average rating to one decimal, None without reviews."""
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None

    @property
    def coordinates(self) -> tuple[str, str] | None:
        """(latitude, longitude) as decimal text, or None when the host has not placed it."""
        if self.lat_e6 is None or self.lon_e6 is None:
            return None
        return f"{self.lat_e6 / 1e6:.6f}", f"{self.lon_e6 / 1e6:.6f}"

    @property
    def phone(self) -> str:
        """Who guests call: the listing's contact phone, else the host's."""
        return self.contact_phone or (self.host.phone if self.host is not None else "")


class ListingImage(db.Model):
    """A photo of a listing; paths are relative to the upload folder (like ProductImage)."""

    __tablename__ = "listing_images"

    id: Mapped[int] = pk()
    listing_id: Mapped[int] = fk("listings.id", ondelete="CASCADE")
    path: Mapped[str] = mapped_column(sa.String(255))
    thumb_path: Mapped[str] = mapped_column(sa.String(255))
    width: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    height: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    alt: Mapped[str] = mapped_column(sa.String(120), default="")
    position: Mapped[int] = mapped_column(sa.Integer, default=0)


class UnitType(db.Model):
    """房型/场次: a room type with `units` rooms, an experience with `units` places per session,
    or a ticket with a daily quota of `units`."""

    __tablename__ = "unit_types"
    __table_args__ = (
        sa.CheckConstraint("units >= 0", name="units_non_negative"),
        sa.CheckConstraint("price_fen >= 0", name="price_non_negative"),
    )

    id: Mapped[int] = pk()
    listing_id: Mapped[int] = fk("listings.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(sa.String(60))
    units: Mapped[int] = mapped_column(sa.Integer, default=1)
    max_guests: Mapped[int] = mapped_column(sa.Integer, default=2)
    #: Nightly price (stays) or per-person price (experiences, tickets).
    price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    weekend_price_fen: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    holiday_price_fen: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)

    listing = relationship(Listing, back_populates="unit_types")


class Session(db.Model):
    """A dated session of an experience (e.g. strawberry picking, Saturday 09:00)."""

    __tablename__ = "sessions"

    __table_args__ = (sa.CheckConstraint("capacity >= 0", name="capacity_non_negative"),)

    id: Mapped[int] = pk()
    unit_type_id: Mapped[int] = fk("unit_types.id", ondelete="CASCADE")
    starts_at: Mapped[datetime]
    #: The Beijing date of `starts_at`.
    session_date: Mapped[date]
    capacity: Mapped[int] = mapped_column(sa.Integer)

    unit_type = relationship(UnitType)


#: The longest reason a host's closure keeps: a longer one is refused (`tourism.services.host.closure_reason`),
#: never cut.
MAX_CLOSURE_REASON = 120


class Closure(db.Model):
    """A date a listing does not receive guests (maintenance, family event)."""

    __tablename__ = "listing_closures"
    __table_args__ = (sa.UniqueConstraint("listing_id", "closed_date", name="uq_listing_closures_listing_date"),)

    id: Mapped[int] = pk()
    listing_id: Mapped[int] = fk("listings.id", ondelete="CASCADE")
    closed_date: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(MAX_CLOSURE_REASON), default="")
    created_at: Mapped[datetime]


class Holiday(db.Model):
    """A public holiday night/day: unit types with a `holiday_price_fen` charge it."""

    __tablename__ = "holidays"

    id: Mapped[int] = pk()
    holiday_date: Mapped[date] = mapped_column(sa.Date, unique=True)
    name: Mapped[str] = mapped_column(sa.String(40))


#: The longest reason a host gives the guest for cancelling a booking (`booking.host_cancel_reason`).
MAX_HOST_CANCEL_REASON = 200


class BookingStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELED = "canceled"
    EXPIRED = "expired"
    NO_SHOW = "no_show"


class Booking(db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        sa.CheckConstraint("check_out_date > check_in_date", name="dates_ordered"),
        sa.CheckConstraint("guests > 0 AND units > 0", name="counts_positive"),
        sa.Index("ix_bookings_unit_type_dates", "unit_type_id", "check_in_date", "check_out_date"),
        sa.Index("ix_bookings_status_expires", "status", "expires_at"),
        sa.CheckConstraint(
            "status IN ('held','confirmed','checked_in','completed','canceled','expired','no_show')",
            name="status_valid",
        ),
        sa.CheckConstraint("total_fen >= 0 AND refunded_fen >= 0", name="amounts_non_negative"),
    )
    TRANSITIONS = {
        BookingStatus.HELD: {BookingStatus.CONFIRMED, BookingStatus.CANCELED, BookingStatus.EXPIRED},
        BookingStatus.EXPIRED: {BookingStatus.CONFIRMED},  # a late payment re-holds if it can
        BookingStatus.CONFIRMED: {BookingStatus.CHECKED_IN, BookingStatus.CANCELED, BookingStatus.NO_SHOW},
        BookingStatus.CHECKED_IN: {BookingStatus.COMPLETED},
        BookingStatus.COMPLETED: set(),
        BookingStatus.CANCELED: set(),
        BookingStatus.NO_SHOW: set(),
    }

    id: Mapped[int] = pk()
    #: Public reference, used in URLs and the API.
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    user_id: Mapped[int] = fk("users.id")
    listing_id: Mapped[int] = fk("listings.id")
    #: Indexed by ix_bookings_unit_type_dates (its leading column): no index of its own.
    unit_type_id: Mapped[int] = fk("unit_types.id", index=False)
    session_id: Mapped[int | None] = fk("sessions.id", nullable=True)
    #: Stays: nights [check_in_date, check_out_date). Experiences and tickets: one day.
    check_in_date: Mapped[date]
    check_out_date: Mapped[date]
    guests: Mapped[int] = mapped_column(sa.Integer)
    units: Mapped[int] = mapped_column(sa.Integer, default=1)
    status: Mapped[str] = mapped_column(sa.String(12), default=BookingStatus.HELD)
    total_fen: Mapped[int] = mapped_column(sa.BigInteger)
    confirmation_code: Mapped[str] = mapped_column(sa.String(12), default="")
    #: The order that sells this booking (one order line of kind "booking").
    order_id: Mapped[int | None] = fk("orders.id", nullable=True, ondelete="SET NULL")
    #: The guest pays the host on arrival: confirmed without an online payment.
    pay_on_arrival: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    refunded_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    expires_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]
    #: Why the host canceled it, as the host typed it for the guest (`booking.host_cancel_booking`); "" otherwise.
    host_cancel_reason: Mapped[str] = mapped_column(sa.String(MAX_HOST_CANCEL_REASON), default="", server_default="")
    created_at: Mapped[datetime]

    listing = relationship(Listing)
    unit_type = relationship(UnitType)
    session = relationship(Session)
    order = relationship("Order")
    user = relationship("User")

    @property
    def nights(self) -> int:
        return (self.check_out_date - self.check_in_date).days


# --- the host cash book (docs/MONEY.md, "Tourism") -----------------------------------------------


class HostCashKind(StrEnum):
    ARRIVAL = "arrival"  # the guest paid the host on arrival (or at the gate): positive
    REMITTANCE = "remittance"  # cash handed over to the platform: negative
    CORRECTION = "correction"  # an error put right, with its reason: signed
    CLOSE_DIFFERENCE = "close_difference"  # counted − expected at the daily close, with its reason


@append_only
class HostCashEntry(db.Model):
    """One cash event in a host's hands, like a station's till row (`orders.models.CashEntry`).

    Append-only; what a host holds is a SUM over its entries. The cash of a booking paid on
    arrival is taken once, at check-in, for exactly what the booking owes
    (`tourism.services.host_cash.take_arrival_cash`); the booking's income is credited only after.
    """

    __tablename__ = "host_cash_entries"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('arrival','remittance','correction','close_difference')", name="kind_valid"),
        sa.CheckConstraint(
            "(kind = 'arrival' AND amount_fen > 0 AND booking_id IS NOT NULL)"
            " OR (kind = 'remittance' AND amount_fen < 0)"
            " OR (kind IN ('correction','close_difference') AND amount_fen <> 0)",
            name="amount_sign",
        ),
        sa.Index("ix_host_cash_entries_host_date", "host_id", "business_date"),
        #: a booking's cash is taken once
        sa.Index(
            "uq_host_cash_entries_booking_arrival",
            "booking_id",
            unique=True,
            postgresql_where=sa.text("kind = 'arrival'"),
            sqlite_where=sa.text("kind = 'arrival'"),
        ),
    )

    id: Mapped[int] = pk()
    #: Whose hands hold the cash: the listing's host.
    host_id: Mapped[int] = fk("users.id", index=False)
    #: The listing and booking of an arrival; none for a remittance, correction or close difference.
    listing_id: Mapped[int | None] = fk("listings.id", nullable=True)
    #: The Beijing day whose book holds the entry (the next open day when that day is closed).
    business_date: Mapped[date]
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: Signed: cash into the host's hands positive, out of them negative.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    booking_id: Mapped[int | None] = fk("bookings.id", index=False, nullable=True)
    order_id: Mapped[int | None] = fk("orders.id", nullable=True)
    reason: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    actor_id: Mapped[int | None] = fk("users.id", nullable=True)
    created_at: Mapped[datetime]

    booking = relationship(Booking)


@append_only
class HostCashClose(db.Model):
    """The daily close (日结) of a host's cash book, like a station's (`orders.models.CashClose`):
    once written, that day's book never changes."""

    __tablename__ = "host_cash_closes"
    __table_args__ = (sa.UniqueConstraint("host_id", "business_date", name="uq_host_cash_closes_host_date"),)

    id: Mapped[int] = pk()
    host_id: Mapped[int] = fk("users.id", index=False)
    business_date: Mapped[date]
    #: The till's balance from the book at the close (every entry up to and including the day).
    expected_fen: Mapped[int] = mapped_column(sa.BigInteger)
    counted_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: counted - expected; when not zero a `close_difference` entry of this amount is in the day's book.
    difference_fen: Mapped[int] = mapped_column(sa.BigInteger)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    actor_id: Mapped[int | None] = fk("users.id", nullable=True)
    created_at: Mapped[datetime]


#: PostgreSQL: no entry can be written into a day the host closed, even by raw SQL.
HOST_CASH_DAY_CLOSED_DDL = closed_day_ddl("host_cash_entries", "host_cash_closes", "host_id")
register_postgres_ddl(*HOST_CASH_DAY_CLOSED_DDL)
