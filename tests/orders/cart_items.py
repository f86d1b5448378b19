"""The items the cart tests put in an API order (`POST /api/v1/orders`) or in the cart through its page
(`POST /cart/bookings`): a stay's item, its nights counted in days from today."""

from __future__ import annotations

from datetime import timedelta

from shop.timeutil import local_date, now_utc


def day_ahead(n: int):
    """The date `n` days from today (Asia/Shanghai)."""
    return local_date(now_utc()) + timedelta(days=n)


def stay_item(listing, *, checkin=7, nights=2, guests=2, **extra) -> dict:
    """A stay's item: `guests` at `listing` from `checkin` days ahead for `nights` nights; `extra` adds
    or overrides fields."""
    return {
        "listing_id": listing.id,
        "checkin": day_ahead(checkin).isoformat(),
        "checkout": day_ahead(checkin + nights).isoformat(),
        "guests": guests,
        **extra,
    }


def add_stay_to_cart(client, listing, *, checkin=10, nights=1, guests=2, **extra):
    """The stay's form on its page (`POST /cart/bookings`): `guests` at `listing` from `checkin` days ahead
    for `nights` nights; `extra` adds form fields (units, buy_now). The response."""
    data = {
        "listing_id": listing.id,
        "checkin": day_ahead(checkin).isoformat(),
        "checkout": day_ahead(checkin + nights).isoformat(),
        "guests": guests,
        **extra,
    }
    return client.post("/cart/bookings", data=data)
