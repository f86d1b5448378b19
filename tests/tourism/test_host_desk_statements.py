"""The host's desk (工作台) lists the day's arrivals with the cash each one owes (到店应收) or gave (已收):
those were read one statement per arrival (its cash-book entry, twice: what is due, what was taken) and its
guest and room type one each. Now the arrivals come with their guest, room type and session, and their
cash-book entries are read at once (`tourism.services.host_cash.arrivals_cash`): the page sends as many
statements for several arrivals as for one, and shows the same figures."""

from __future__ import annotations

from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.sql_count import page_statements
from tests.tourism.factories import make_booking, make_listing, paying_on_arrival_today
from tourism.models import UnitType


def test_the_desk_reads_its_arrivals_cash_in_a_fixed_number_of_statements(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, units=5, price_fen=15000, pay_on_arrival=True)
    family = UnitType(listing_id=listing.id, name="家庭房", units=5, max_guests=4, price_fen=30000)
    listing.unit_types.append(family)
    first = paying_on_arrival_today(listing, listing.unit_types[0], checked_in=True)
    commit()
    auth.login(host)
    page, one = page_statements(client, "/host/")
    assert first.code in page and "已收 ¥150.00" in page

    due = paying_on_arrival_today(listing, family)
    taken = paying_on_arrival_today(listing, family, checked_in=True)
    online = make_booking(listing, check_in=local_date(now_utc()))  # no cash due: paid online
    paying_on_arrival_today(listing, listing.unit_types[0])
    commit()
    page, several = page_statements(client, "/host/")
    assert len(several) == len(one), "\n\n".join(several)
    rows = {
        code: page[page.index(code) :].split("</tr>", 1)[0] for code in (first.code, due.code, taken.code, online.code)
    }
    assert "已收 ¥150.00" in rows[first.code] and "已收 ¥300.00" in rows[taken.code]
    assert "¥300.00" in rows[due.code] and "已收" not in rows[due.code]
    assert "—" in rows[online.code] and "¥" not in rows[online.code].split("到店应收", 1)[-1]
