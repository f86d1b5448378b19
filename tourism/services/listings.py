"""A host puts a new farm stay, experience or ticketed sight on the site, and adds room types or ticket
kinds to it. A new listing is not open to tourists: the host adds photos first, then opens it on its
edit page (`tourism.services.host.update_listing_terms`). And what a listing's page and the API's list
say of its households (`households_linked`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from catalog.models import BenefitLink, Village
from catalog.services import slugify
from shop.audit import record_audit
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db
from tourism.models import Listing, ListingKind, UnitType
from tourism.services.host import check_listing_texts, check_unit_type_values
from tourism.services.place import clean_address, clean_contact_phone

MAX_NAME = 80
MAX_UNIT_TYPE_NAME = 60
#: The kinds whose listing may have several unit types (room types, ticket kinds); an experience has
#: one, and its dated sessions.
SEVERAL_UNIT_TYPES = frozenset({ListingKind.STAY, ListingKind.TICKET})


@dataclass(frozen=True)
class NewUnitType:
    """A room type (stays) or ticket kind (tickets), or an experience's places, as typed by its host."""

    name: str
    units: int
    #: guests a room sleeps: a stay's to give; a ticket kind or an experience has no rooms, 1 when not given
    max_guests: int | None
    price_fen: int
    weekend_price_fen: int | None = None
    holiday_price_fen: int | None = None


@dataclass(frozen=True)
class NewListing:
    kind: str
    name: str
    village_id: int
    address: str = ""
    contact_phone: str = ""
    description: str = ""
    included: str = ""


def _unit_type(listing: Listing, new: NewUnitType) -> UnitType:
    name = " ".join((new.name or "").split())
    if not name or len(name) > MAX_UNIT_TYPE_NAME:
        raise ValidationError("unit_type_name_invalid", n=MAX_UNIT_TYPE_NAME, fields={"name": "invalid"})
    if new.units < 1:  # a new room type, ticket kind or experience with none to sell: a stay nobody can book
        raise ValidationError("unit_type_needs_units", fields={"units": "too_few"})
    max_guests = new.max_guests
    if max_guests is None and listing.kind != ListingKind.STAY:
        max_guests = 1
    check_unit_type_values(  # a stay's room without its guests is refused here (max_guests_out_of_range)
        price_fen=new.price_fen,
        weekend_price_fen=new.weekend_price_fen,
        holiday_price_fen=new.holiday_price_fen,
        units=new.units,
        max_guests=max_guests,
    )
    unit_type = UnitType(
        listing_id=listing.id,
        name=name,
        units=new.units,
        max_guests=max_guests,
        price_fen=new.price_fen,
        weekend_price_fen=new.weekend_price_fen,
        holiday_price_fen=new.holiday_price_fen,
    )
    db.session.add(unit_type)
    db.session.flush()
    return unit_type


def _audit_unit_type(unit_type: UnitType, *, action: str, actor, now: datetime) -> None:
    detail = {
        name: getattr(unit_type, name)
        for name in ("name", "units", "max_guests", "price_fen", "weekend_price_fen", "holiday_price_fen")
    }
    record_audit(actor=actor, action=action, subject=unit_type, detail=detail, now=now)


def create_listing(new: NewListing, first: NewUnitType, *, host, now: datetime) -> Listing:
    """The host's new listing with its first unit type, not open to tourists; audited. Search finds it
    once its host publishes it (the index keeps only published listings)."""
    if new.kind not in set(ListingKind):
        raise ValidationError("listing_kind_invalid", fields={"kind": "invalid"})
    name = " ".join((new.name or "").split())
    if not name or len(name) > MAX_NAME:
        raise ValidationError("listing_name_invalid", n=MAX_NAME, fields={"name": "invalid"})
    if db.session.get(Village, new.village_id) is None:
        raise NotFound("village_not_found", fields={"village_id": "not_found"})
    check_listing_texts(new.description, new.included)
    listing = Listing(
        kind=new.kind,
        slug=slugify(name),
        name=name,
        description=(new.description or "").strip(),
        included=(new.included or "").strip(),
        village_id=new.village_id,
        host_id=host.id,
        address=clean_address(new.address),
        contact_phone=clean_contact_phone(new.contact_phone),
        is_published=False,
        created_at=now,
    )
    db.session.add(listing)
    db.session.flush()
    taken = db.session.scalar(
        sa.select(sa.func.count()).select_from(Listing).where(Listing.slug == listing.slug, Listing.id != listing.id)
    )
    if taken:  # slugs identify the demo's listings: a new one never takes another's
        listing.slug = f"{listing.slug[:100]}-{listing.id}"
    record_audit(
        actor=host,
        action="listing.create",
        subject=listing,
        detail={"kind": listing.kind, "name": listing.name, "village_id": listing.village_id},
        now=now,
    )
    unit_type = _unit_type(listing, first)
    _audit_unit_type(unit_type, action="unit_type.create", actor=host, now=now)
    db.session.flush()
    # no index task here: the listing is not published yet, and publishing it (like any change of a
    # listing's indexed fields) is picked up by the search package's session hook (search.tasks.after_flush)
    return listing


def add_unit_type(listing: Listing, new: NewUnitType, *, actor, now: datetime) -> UnitType:
    """Another room type of a stay or ticket kind of a sight (an experience has one: its sessions
    are added on its page); audited."""
    if listing.kind not in SEVERAL_UNIT_TYPES:
        raise Conflict("unit_type_not_addable", fields={"name": "experience"})
    unit_type = _unit_type(listing, new)
    _audit_unit_type(unit_type, action="unit_type.create", actor=actor, now=now)
    db.session.flush()
    return unit_type


def households_linked(listing_ids) -> dict[int, int]:
    """How many households each listing is linked to (its benefit links, 利益联结), in one statement
    whatever the number of listings; a listing without links is absent (0)."""
    ids = sorted(set(listing_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(BenefitLink.listing_id, sa.func.count())
        .where(BenefitLink.listing_id.in_(ids))
        .group_by(BenefitLink.listing_id)
    )
    return {listing_id: count for listing_id, count in rows if listing_id is not None}
