"""JSON API of the caller's address book (收货地址, the page `/account/addresses`), added to shop.api's blueprint.

- GET    /me/addresses                 the book, the default first, then the newest (at most MAX_ADDRESSES:
                                       one page)
- POST   /me/addresses                 {name, phone, province, city, district, line, is_default?}: 201 with the
                                       new entry; an entry the book holds already is not added twice: 200 with
                                       that one (made the default when asked)
- PUT    /me/addresses/<id>            the whole entry again, checked as a new one; `is_default: true` makes it
                                       the default (false does not unset it: choose another)
- DELETE /me/addresses/<id>            the book after it (a default deleted: the newest left is the default)
- POST   /me/addresses/<id>/default    the book after it, with this entry the default

The same services as the page (`orders.account_views`): `orders.services.addresses` and its one rule of an
address (`placement.check_address`): 422 `address_incomplete` (a field `required` or `too_long`),
`invalid_mobile`; 409 `address_duplicate` (an edit into a copy of another entry), `address_book_full`.
The refused fields are named as this body names them (`phone`, not the service's `address.phone`).
Another account's entry, or none, is 404 `address_not_found`. Orders keep their own copy of an address:
nothing here changes an order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from pydantic import BaseModel, Field

from orders.models import Address
from orders.services import addresses
from orders.services.placement import ADDRESS_LIMITS, AddressData
from shop.api import Schema, api_user, committed, endpoint, ok
from shop.errors import DomainError
from shop.timeutil import now_utc


def _limit(name: str) -> str:
    return f"at most {ADDRESS_LIMITS[name]} characters once trimmed (longer: 422 address_incomplete, `too_long`)"


class AddressIn(Schema):
    """An entry as the page's form takes it; every field is required by the address rule (an empty one is
    422 `address_incomplete`, naming it)."""

    name: str = Field(default="", description="收货人; " + _limit("name"))
    phone: str = Field(default="", description="a mobile number (1 and 10 more digits; else 422 invalid_mobile)")
    province: str = Field(default="", description=_limit("province"))
    city: str = Field(default="", description=_limit("city"))
    district: str = Field(default="", description=_limit("district"))
    line: str = Field(default="", description="详细地址; " + _limit("line"))
    is_default: bool = Field(default=False, description="make it the default, the one checkout picks first")


class AddressOut(BaseModel):
    id: int
    name: str
    phone: str
    province: str
    city: str
    district: str
    line: str
    is_default: bool
    created_at: datetime


class AddressBook(BaseModel):
    items: list[AddressOut]
    total: int
    page: int = Field(description="always 1: the whole book is one page")
    per_page: int = Field(description=f"the most entries a book holds ({addresses.MAX_ADDRESSES})")


def address_out(a: Address) -> AddressOut:
    return AddressOut.model_validate(a, from_attributes=True)


def _book(user) -> AddressBook:
    entries = addresses.address_book(user)
    return AddressBook(
        items=[address_out(a) for a in entries], total=len(entries), page=1, per_page=addresses.MAX_ADDRESSES
    )


def _data(body: AddressIn) -> AddressData:
    return AddressData(
        name=body.name, phone=body.phone, province=body.province, city=body.city, district=body.district, line=body.line
    )


@contextmanager
def _fields_as_sent() -> Iterator[None]:
    """A refusal of the address service, its fields named as this API's body names them."""
    try:
        yield
    except DomainError as exc:
        exc.fields = {key.removeprefix("address."): why for key, why in exc.fields.items()}
        raise


@endpoint("/me/addresses", response=AddressBook, auth=True, tags=("orders",))
def my_addresses():
    """The caller's address book (收货地址), the default first, then the newest."""
    return ok(_book(api_user()))


@endpoint(
    "/me/addresses",
    methods=("POST",),
    body=AddressIn,
    response=AddressOut,
    status=201,
    auth=True,
    tags=("orders",),
    errors=(409,),
)
def add_my_address(body: AddressIn):
    """Add an entry to the caller's address book (201); one it holds already answers 200 with that entry."""
    user = api_user()
    held = {a.id for a in addresses.address_book(user)}
    with _fields_as_sent():
        address = addresses.save_address(user, _data(body), now=now_utc(), make_default=body.is_default)
    return committed(address_out(address), 200 if address.id in held else 201)


@endpoint(
    "/me/addresses/<int:address_id>",
    methods=("PUT",),
    body=AddressIn,
    response=AddressOut,
    auth=True,
    tags=("orders",),
    errors=(409,),
    load=addresses.get_address,  # another account's entry: 404 before its body is read
)
def update_my_address(address_id: int, body: AddressIn, loaded):
    """Change one of the caller's entries (the whole entry, checked as a new one)."""
    address = loaded
    with _fields_as_sent():
        addresses.update_address(address, _data(body), make_default=body.is_default)
    return committed(address_out(address))


@endpoint("/me/addresses/<int:address_id>", methods=("DELETE",), response=AddressBook, auth=True, tags=("orders",))
def delete_my_address(address_id: int):
    """Delete one of the caller's entries (orders keep their own copy); answers the book after it."""
    user = api_user()
    addresses.delete_address(addresses.get_address(user, address_id))
    return committed(_book(user))


@endpoint(
    "/me/addresses/<int:address_id>/default", methods=("POST",), response=AddressBook, auth=True, tags=("orders",)
)
def set_my_default_address(address_id: int):
    """Make one of the caller's entries the default (the one checkout picks first); answers the book after it."""
    user = api_user()
    addresses.set_default_address(addresses.get_address(user, address_id))
    return committed(_book(user))
