"""The host's cash book (现金账, /host/cash) and the desk's list of its latest entries (/host/) show each
entry's booking code: each entry's booking was read in a statement of its own (the desk's older entries, whose
bookings are not among the day's arrivals), so the pages sent one statement more for every entry. Now the
bookings are read with the entries (`orders.services.cashbook.Till.entry_refs`, `tourism.services.host_cash.
host_book`): as many statements for several entries as for one."""

from __future__ import annotations

from shop.db import commit
from tests.factories import make_user
from tests.sql_count import page_statements
from tests.tourism.factories import make_listing, paying_on_arrival_today
from tourism.models import BookingStatus


def _cash_taken(listing) -> str:
    """A stay paid on arrival, checked in today (its cash in the host's book), then completed: no longer one of
    the desk's arrivals, an older entry of its book. Returns the booking's code."""
    booking = paying_on_arrival_today(listing, checked_in=True)
    booking.status = BookingStatus.COMPLETED
    commit()
    return booking.code


def test_the_hosts_cash_pages_read_their_entries_bookings_at_once(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, units=5, price_fen=15000, pay_on_arrival=True)
    codes = [_cash_taken(listing)]
    auth.login(host)
    book, book_one = page_statements(client, "/host/cash")
    desk, desk_one = page_statements(client, "/host/")
    assert f"<code>{codes[0]}</code>" in book and f"<code>{codes[0]}</code>" in desk

    codes += [_cash_taken(listing) for _ in range(3)]
    book, book_several = page_statements(client, "/host/cash")
    desk, desk_several = page_statements(client, "/host/")
    assert all(f"<code>{code}</code>" in book and f"<code>{code}</code>" in desk for code in codes)
    assert len(book_several) == len(book_one), "\n\n".join(book_several)
    assert len(desk_several) == len(desk_one), "\n\n".join(desk_several)
