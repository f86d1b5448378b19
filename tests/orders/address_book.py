"""The address book the tests of its page (tests/orders/test_account_pages.py) and of its API
(tests/orders/test_addresses_api.py) share: a valid entry as a form or body sends it, an entry saved for an
account, and the account's book as stored."""

from __future__ import annotations

import sqlalchemy as sa

from orders.models import Address
from shop.extensions import db
from tests.factories import NOW

#: An entry as typed: the phone with spaces, stored as 13800138000.
ADDRESS = {
    "name": "王小明",
    "phone": "138 0013 8000",
    "province": "江西省",
    "city": "南昌市",
    "district": "南昌县",
    "line": "莲塘镇幸福路1号",
}


def book_rows(user) -> list[tuple]:
    """(name, phone, line, is_default) of each entry of `user`'s book as stored, oldest first."""
    db.session.expire_all()
    return [
        (a.name, a.phone, a.line, a.is_default)
        for a in db.session.scalars(sa.select(Address).where(Address.user_id == user.id).order_by(Address.id))
    ]


def saved_address(user, *, line="莲塘镇1号", default=False) -> Address:
    """An entry of 张三 at `line` in `user`'s book (the default when `default`). Not committed."""
    address = Address(
        user_id=user.id,
        name="张三",
        phone="13900000000",
        province="江西省",
        city="南昌市",
        district="南昌县",
        line=line,
        is_default=default,
        created_at=NOW,
    )
    db.session.add(address)
    db.session.flush()
    return address
