"""The setup the tourism API tests share: a booking asked through `POST /api/v1/bookings`, its nights
counted in days from today."""

from __future__ import annotations

from datetime import timedelta

from shop.timeutil import local_date, now_utc


def day_ahead(n):
    """The date `n` days from today (Asia/Shanghai)."""
    return local_date(now_utc()) + timedelta(days=n)


def book(client, headers, listing, **extra):
    """Two guests ask `listing` for the nights from 10 to 12 days ahead (`headers`: the buyer's API
    headers; `extra` adds or overrides fields); the response."""
    body = {
        "listing_id": listing.id,
        "checkin": day_ahead(10).isoformat(),
        "checkout": day_ahead(12).isoformat(),
        "guests": 2,
    }
    body.update(extra)
    return client.post("/api/v1/bookings", json=body, headers=headers)
