"""What a traveller needs about a listing beyond its terms: where it is (address and a point on the
map), whom to call once booked, its photos (checked and resized like product photos,
docs/uploads.md), and the price of the dates tapped on its calendar before booking."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app

from catalog.images import check_image, store_photo
from shop.args import half_width
from shop.audit import record_audit
from shop.db import after_commit
from shop.errors import Conflict, ValidationError
from shop.extensions import db
from shop.phone import is_phone, normalise_phone
from shop.timeutil import local_date
from tourism.models import Listing, ListingImage, ListingKind, Session, UnitType
from tourism.services.availability import Occupancy, Span, read_occupancy
from tourism.services.host import lock_listing, shown_digest
from tourism.services.pricing import holidays_between, per_person_total_fen, stay_total_fen

MAX_PHOTOS = 8
MAX_NIGHTS_QUOTED = 30
_DEGREES = re.compile(r"-?[0-9]{1,3}(\.[0-9]{1,6})?")  # ASCII digits (٣ is refused)


def parse_degrees(text: str, *, limit: int, field: str) -> int | None:
    """'28.547123' -> 28547123 (millionths of a degree), within ±limit; '' -> None. Full-width digits as typed
    (`shop.args.half_width`) are read as ASCII, other scripts' digits refused."""
    text = half_width(text or "").strip()
    if not text:
        return None
    if not _DEGREES.fullmatch(text):
        raise ValidationError("invalid_coordinate", fields={field: "invalid"})
    whole, _sep, frac = text.lstrip("-").partition(".")
    value = int(whole) * 1_000_000 + int((frac + "000000")[:6])
    value = -value if text.startswith("-") else value
    if abs(value) > limit * 1_000_000:
        raise ValidationError("coordinate_out_of_range", fields={field: "out_of_range"})
    return value


@dataclass(frozen=True)
class ListingPlace:
    address: str
    latitude: str
    longitude: str
    contact_phone: str


def clean_address(text: str) -> str:
    """An address as stored: spaces collapsed, at most 200 characters."""
    address = " ".join((text or "").split())
    if len(address) > 200:
        raise ValidationError("address_too_long", fields={"address": "too_long"})
    return address


def clean_contact_phone(text: str) -> str:
    """A contact phone as stored (normalised), or "" for none; a mobile or a landline."""
    phone = normalise_phone(text) if (text or "").strip() else ""
    if phone and not is_phone(phone, landline=True):
        raise ValidationError("invalid_contact_phone", fields={"contact_phone": "invalid"})
    return phone


def listing_place_shown(listing: Listing) -> str:
    """What a page showed of a listing's place as its 位置与电话 form carries it back (`update_listing_place`'s
    `shown`)."""
    return shown_digest(listing.address, listing.lat_e6, listing.lon_e6, listing.contact_phone)


def update_listing_place(
    listing: Listing, place: ListingPlace, *, actor, now: datetime, shown: str | None = None
) -> dict:
    """Address, map point (both coordinates or neither) and contact phone; audited.

    `shown`: what the page the form came from showed (`listing_place_shown`). When the place was changed
    since (the host's other tab or phone), it is refused under the listing's lock (409
    `listing_place_changed_since_shown`, naming the address and phone stored now), nothing changes."""
    address = clean_address(place.address)
    lat = parse_degrees(place.latitude, limit=90, field="latitude")
    lon = parse_degrees(place.longitude, limit=180, field="longitude")
    if (lat is None) != (lon is None):
        raise ValidationError("coordinates_incomplete", fields={"latitude": "pair"})
    phone = clean_contact_phone(place.contact_phone)
    if shown is not None:
        listing = lock_listing(listing)
        if shown != listing_place_shown(listing):
            raise Conflict(
                "listing_place_changed_since_shown",
                name=listing.name,
                address=listing.address or "—",
                phone=listing.contact_phone or "—",
                fields={"address": "changed since shown"},
            )
    changes = {}
    for name, new in (("address", address), ("lat_e6", lat), ("lon_e6", lon), ("contact_phone", phone)):
        if getattr(listing, name) != new:
            changes[name] = "changed"
            setattr(listing, name, new)
    if changes:
        record_audit(actor=actor, action="listing.place", subject=listing, detail=changes, now=now)
    db.session.flush()
    return changes


def add_listing_photo(listing: Listing, upload, *, actor, now: datetime) -> ListingImage:
    """Check the upload by its content (format, pixel budget) before anything is stored, re-encode
    it at most 1200 px with a 400 px thumbnail; at most MAX_PHOTOS per listing."""
    if len(listing.images) >= MAX_PHOTOS:
        raise Conflict("listing_photos_full", n=MAX_PHOTOS, fields={"image": "too_many"})
    stored = store_photo(f"listings/{listing.id}", check_image(upload))
    image = ListingImage(
        listing_id=listing.id,
        path=stored.path,
        thumb_path=stored.thumb_path,
        width=stored.width,
        height=stored.height,
        alt=listing.name[:120],
        position=max((i.position for i in listing.images), default=-1) + 1,
    )
    db.session.add(image)
    record_audit(actor=actor, action="listing.photo_add", subject=listing, detail={"path": stored.path}, now=now)
    db.session.flush()
    db.session.refresh(listing)
    return image


def remove_listing_photo(listing: Listing, image_id: int, *, actor, now: datetime) -> bool:
    """Remove one of the listing's photos (its files after the commit). Idempotent: a photo that is
    not (or no longer) there changes nothing and answers False."""
    image = next((i for i in listing.images if i.id == image_id), None)
    if image is None:
        return False
    paths = (image.path, image.thumb_path)
    listing.images.remove(image)
    record_audit(actor=actor, action="listing.photo_remove", subject=listing, detail={"path": image.path}, now=now)
    db.session.flush()

    after_commit(lambda: _unlink(paths))
    return True


def _unlink(paths) -> None:
    root = current_app.config["UPLOAD_DIR"]
    for rel in paths:
        try:
            os.remove(os.path.join(root, rel))
        except OSError:
            pass


#: Bookings whose guest sees the host's phone and the address (a hold not yet paid does not).
CONTACT_VISIBLE = ("confirmed", "checked_in", "completed")


def host_contact_visible(booking) -> bool:
    return booking.status in CONTACT_VISIBLE


@dataclass(frozen=True)
class QuoteLine:
    """One unit type's line of the tapped dates' quote: its total, and whether it is free on those dates."""

    unit_type: UnitType
    total_fen: int
    #: Rooms free every night of the stay, a ticket's places left that day, the places left of the session an
    #: experience's booking form has chosen (its unit type's line); None for an experience's other lines, or
    #: with no session of that day chosen.
    left: int | None
    #: Whether `left` takes what is asked: the rooms (a stay), the guests (a ticket, a session). A guide before
    #: booking: the booking checks it again under its lock (`booking.book_listing`, 409 `sold_out`).
    fits: bool
    #: A stay's rooms this line is for: the rooms asked of the room type the booking form has chosen, the rooms
    #: the party needs of each other type (`rooms_needed`); None for an experience or a ticket.
    rooms: int | None = None
    #: Whether those rooms sleep the party (`booking.sleeps`): the chosen type's rooms asked may not (the
    #: booking refuses them, 422 `too_many_guests_for_rooms`), the page says so rather than 有空房.
    sleeps_party: bool = True


@dataclass(frozen=True)
class DatesQuote:
    """What the tapped dates cost, before booking: per unit type, for `units` rooms (stays) or
    `guests` people (experiences, tickets), and whether that type is free on those dates."""

    check_in: date
    check_out: date | None
    nights: int
    lines: list[QuoteLine]
    #: The first of the dates the host closed (休息 on the calendar), if any: the page says so instead
    #: of 已订满 / 已售完 (the booking is refused for it: `booking.day_closed`).
    closed_day: date | None = None


def rooms_needed(unit_type: UnitType, *, guests: int) -> int:
    """The fewest rooms of a stay's room type that sleep `guests` (the booking's rule, `booking.sleeps`:
    guests <= max_guests × rooms); at least one."""
    if unit_type.max_guests <= 0:
        return 1
    return max(1, -(-guests // unit_type.max_guests))


def booking_horizon_days() -> int:
    """How many days ahead of today a booking may start (`BOOKING_HORIZON_DAYS`): a later first day is
    refused by the booking (`booking.horizon_refusal`) and given no quote (`quote_span`)."""
    return int(current_app.config.get("BOOKING_HORIZON_DAYS", 365))


def quote_span(
    listing: Listing, check_in: date | None, check_out: date | None, *, now: datetime
) -> tuple[date, date] | None:
    """The dates [first, end) a quote is for: a stay's nights, a ticket's or an experience's day; None when
    they are not a valid choice (none, past, beyond the booking horizon, reversed, longer than
    MAX_NIGHTS_QUOTED). Beyond the horizon the quote said 有空房 with its total for dates no booking takes."""
    today = local_date(now)
    if check_in is None or check_in < today or (check_in - today).days > booking_horizon_days():
        return None
    if listing.kind != ListingKind.STAY:
        return check_in, check_in + timedelta(days=1)
    if check_out is None or not 0 < (check_out - check_in).days <= MAX_NIGHTS_QUOTED:
        return None
    return check_in, check_out


def quote_dates(
    listing: Listing,
    *,
    check_in: date | None,
    check_out: date | None,
    guests: int,
    units: int,
    now: datetime,
    occupancy: Occupancy | None = None,
    unit_type_id: int | None = None,
    session: tuple[Session, int] | None = None,
) -> DatesQuote | None:
    """The total of the chosen dates for each unit type and the rooms (places) it has left on them, or None
    when the dates are not a valid choice (`quote_span`): the booking form then says why. What is left is
    counted by the booking's rules (`Occupancy.stay_free`, `ticket_free`) from `occupancy`, the bookings and
    closures the page read already with its calendar's (`availability.listing_occupancy`), else read here.

    A stay's `units` are the rooms asked of the room type the booking form has chosen (`unit_type_id`, else
    the first, which the booking takes then); each other type is quoted for the rooms the party needs of it
    (`rooms_needed`: a party of 5 takes 3 标准间 for 2 but 2 家庭房 for 4), never for the chosen type's rooms,
    which said 只余 2 间 of a type whose 2 rooms sleep the party.

    An experience's line of the session its booking form has chosen says that session's places left
    (`session`: the session and its places, as `availability.sessions_to_choose` offers it), as a ticket's
    line says the day's; not when the session is of another day than the quote's."""
    span = quote_span(listing, check_in, check_out, now=now)
    if span is None:
        return None
    first, end = span
    holidays = holidays_between(first, end)  # once for all the unit types
    if listing.kind == ListingKind.EXPERIENCE:  # the chosen session's places, counted with the sessions offered
        chosen_session, session_left = session if session and session[0].session_date == first else (None, None)
        lines = []
        for ut in listing.unit_types:
            total = per_person_total_fen(ut, first, guests, kind=listing.kind, holidays=holidays)
            if chosen_session is not None and session_left is not None and chosen_session.unit_type_id == ut.id:
                lines.append(QuoteLine(ut, total, session_left, session_left >= guests))
            else:
                lines.append(QuoteLine(ut, total, None, True))
        return DatesQuote(first, None, 0, lines)
    if occupancy is None:
        occupancy = read_occupancy(
            [Span(tuple(ut.id for ut in listing.unit_types), (listing.id,), first, end)], now=now
        )
    lines = []
    ids = [ut.id for ut in listing.unit_types]
    chosen = unit_type_id if unit_type_id in ids else next(iter(ids), None)
    for ut in listing.unit_types:
        if listing.kind == ListingKind.STAY:
            left = min(occupancy.stay_free(ut, first, end).values())
            rooms = units if ut.id == chosen else rooms_needed(ut, guests=guests)
            total = stay_total_fen(ut, first, end, rooms, holidays=holidays)
            sleeps_party = guests <= ut.max_guests * rooms
            lines.append(QuoteLine(ut, total, left, sleeps_party and left >= rooms, rooms, sleeps_party))
        else:
            left = occupancy.ticket_free(ut, first, end)[first]
            total = per_person_total_fen(ut, first, guests, kind=listing.kind, holidays=holidays)
            lines.append(QuoteLine(ut, total, left, left >= guests))
    closed = [d for d in occupancy.closed.get(listing.id, ()) if first <= d < end]
    closed_day = min(closed) if closed else None
    if listing.kind == ListingKind.STAY:
        return DatesQuote(first, end, (end - first).days, lines, closed_day)
    return DatesQuote(first, None, 0, lines, closed_day)
