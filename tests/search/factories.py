"""Extra factories for the search tests."""

from __future__ import annotations

from shop.extensions import db
from tests.factories import NOW, make_category, make_station, make_township, make_user, make_village


def make_place(village_name: str, township_name: str):
    township = make_township(name=township_name)
    village = make_village(name=village_name, township=township)
    station = make_station(village=village)
    return village, station


def make_listing(*, name: str, village, kind: str = "stay", description: str = "", is_published: bool = True):
    from tourism.models import Listing

    host = make_user(role="host")
    listing = Listing(
        kind=kind,
        slug="listing",
        name=name,
        description=description,
        village_id=village.id,
        host_id=host.id,
        is_published=is_published,
        created_at=NOW,
    )
    db.session.add(listing)
    db.session.flush()
    return listing


__all__ = ["make_place", "make_listing", "make_category"]
