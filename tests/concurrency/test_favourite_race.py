"""PostgreSQL race: two variants of one product added to one buyer's 收藏 at the same instant (two
tabs, a double tap across the picker) keep one favourite row (docs/catalog.md, "Favourites")."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.models import Product
from favourites.models import Favourite
from favourites.services import add_favourite
from shop.auth.models import User
from shop.db import commit
from shop.extensions import db
from shop.timeutil import now_utc
from tests.catalog.variant_family import make_family
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import make_user

ROUNDS = 5  # races, so that without the lock a run fails every time (measured: 5 runs of 5, all failed)


@requires_postgres
def test_two_variants_added_at_once_keep_one_favourite(app, committed_db):
    bag, box, jar = make_family()
    buyers = [make_user() for _ in range(ROUNDS)]
    commit()
    variant_ids, buyer_ids = (bag.id, box.id, jar.id), [b.id for b in buyers]

    def adding(buyer_id: int, product_id: int) -> Loaded:
        return Loaded(
            load=lambda: (db.session.get(User, buyer_id), db.session.get(Product, product_id)),
            act=lambda loaded: add_favourite(*loaded, now=now_utc()).id,
        )

    for buyer_id in buyer_ids:
        race = at_once(app, [adding(buyer_id, product_id) for product_id in variant_ids])
        assert race.errors == [] and race.won == [0, 1, 2]
        assert len(set(race.values)) == 1  # each add answered with the one favourite
    rows = committed_db.session.execute(sa.select(Favourite.user_id, Favourite.product_id)).all()
    assert sorted(user_id for user_id, _ in rows) == buyer_ids  # one row per buyer
