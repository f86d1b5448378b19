"""A buyer's address book (收货地址): the addresses checkout offers, the default one first.

Checkout saves a new address there (保存到地址簿) and preselects the first of `address_book`: the
default, else the newest. The buyer's page `/account/addresses` adds, edits, deletes and chooses the
default. Every entry is checked by the one rule of a delivery address, `placement.check_address`
(all fields filled, a mobile number), whichever page sends it.

The book holds no two identical entries (`_identical`): adding one it holds returns that one (checkout's
保存到地址簿 for an address saved already), and editing an entry into a copy of another is refused
(`address_duplicate`): the buyer keeps one and deletes the other.

An order copies its address into its own columns (`Order.ship_*`) when it is placed and never reads the
book again, so deleting or editing an entry changes no order: the entry is deleted outright.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa

from orders.models import Address
from orders.services.placement import ADDRESS_FIELDS, AddressData, check_address
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db
from shop.phone import normalise_phone

#: Entries one account keeps at most.
MAX_ADDRESSES = 20


def _checked(data: AddressData) -> AddressData:
    """`data` checked (`check_address`), its fields trimmed and its phone in the one stored form."""
    check_address(data)
    trimmed = AddressData(**{f: (getattr(data, f) or "").strip() for f in ADDRESS_FIELDS})
    return replace(trimmed, phone=normalise_phone(trimmed.phone))


def _identical(entries: list[Address], data: AddressData, *, besides: Address | None = None) -> Address | None:
    """The entry of `entries` identical to `data` (checked: every field as it is stored), other than
    `besides` (the entry being edited); None when there is none."""
    for a in entries:
        if a is not besides and all(getattr(a, f) == getattr(data, f) for f in ADDRESS_FIELDS):
            return a
    return None


def address_book(user) -> list[Address]:
    """The user's addresses, the default first, then the newest."""
    return list(
        db.session.scalars(
            sa.select(Address).where(Address.user_id == user.id).order_by(Address.is_default.desc(), Address.id.desc())
        )
    )


def get_address(user, address_id: int) -> Address:
    """One of the user's addresses; another account's, or none, is 404 `address_not_found`."""
    address = db.session.get(Address, address_id)
    if address is None or address.user_id != user.id:
        raise NotFound("address_not_found")
    return address


#: The fields of a new address that have nothing in them until the buyer types (province, city and district
#: come filled in with the county's).
TYPED_FIELDS = ("name", "phone", "line")


def checkout_address(user, address_id: int | None, typed: AddressData) -> AddressData:
    """The address a checkout sends the goods to: the saved entry chosen (`address_id`, one of the user's, else
    404), else the new address `typed` (checked by the placement, `check_address`).

    A saved entry chosen while a new address is typed too (收货人, 手机号 or 详细地址 filled in, and not the
    chosen entry's own) is refused, 422 `address_chosen_and_typed`, nothing placed: the checkout showed the new
    address fields under the saved entry, and what a buyer typed there went nowhere while the goods went to the
    saved address. The buyer chooses: 新地址 in the list, or the typed fields emptied. (checkout.js hides and
    disables those fields while an entry is chosen, so a browser with JavaScript never sends both.)"""
    if not address_id:
        return typed
    a = get_address(user, address_id)
    shown = {f: (getattr(typed, f) or "").strip() for f in TYPED_FIELDS}
    shown["phone"] = normalise_phone(shown["phone"])
    if any(shown.values()) and shown != {f: getattr(a, f) for f in TYPED_FIELDS}:
        raise ValidationError(
            "address_chosen_and_typed",
            fields={"address_id": "chosen_and_typed", **{f"address.{f}": "typed" for f, v in shown.items() if v}},
        )
    return AddressData(a.name, a.phone, a.province, a.city, a.district, a.line)


def save_address(user, data: AddressData, *, now: datetime, make_default: bool = False) -> Address:
    """Add an entry to the user's address book (an identical entry is not added twice: that one is
    returned, made the default when asked). The first entry is the default."""
    data = _checked(data)
    existing = address_book(user)
    same = _identical(existing, data)
    if same is not None:
        if make_default:
            set_default_address(same)
        return same
    if len(existing) >= MAX_ADDRESSES:
        raise Conflict("address_book_full")
    if make_default:
        for a in existing:
            a.is_default = False
    address = Address(
        user_id=user.id,
        created_at=now,
        is_default=make_default or not existing,
        **{f: getattr(data, f) for f in ADDRESS_FIELDS},
    )
    db.session.add(address)
    db.session.flush()
    return address


def update_address(address: Address, data: AddressData, *, make_default: bool = False) -> Address:
    """Change an entry (checked as a new one); with `make_default`, it becomes the default. Changed into a
    copy of another entry of the book it is refused, 409 `address_duplicate`, nothing changed."""
    data = _checked(data)
    entries = db.session.scalars(sa.select(Address).where(Address.user_id == address.user_id)).all()
    if _identical(list(entries), data, besides=address) is not None:
        raise Conflict("address_duplicate")
    for f in ADDRESS_FIELDS:
        setattr(address, f, getattr(data, f))
    if make_default:
        set_default_address(address)
    db.session.flush()
    return address


def set_default_address(address: Address) -> Address:
    """Make `address` its owner's default (the one checkout preselects), and no other."""
    db.session.execute(
        sa.update(Address)
        .where(Address.user_id == address.user_id, Address.id != address.id, Address.is_default.is_(True))
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )
    address.is_default = True
    db.session.flush()
    return address


def delete_address(address: Address) -> None:
    """Delete an entry (orders keep their own copy of it). When it was the default, the newest left
    becomes the default."""
    user_id, was_default = address.user_id, address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        newest = db.session.scalars(
            sa.select(Address).where(Address.user_id == user_id).order_by(Address.id.desc()).limit(1)
        ).first()
        if newest is not None:
            newest.is_default = True
            db.session.flush()
