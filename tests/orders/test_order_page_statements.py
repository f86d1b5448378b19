"""The buyer's order page, order list and the API's orders read what they show of every line (review
state, booking, thumbnails, refunds, shipments, their histories) with the order: the same number of SQL
statements for an order of 1 line as for one of 8, and for a list of 1 order as for one of 10.

Goods: 1 line against 8 lines from two stations (reviewed, a review hidden, refunded in part with the
refund, a request waiting, refunded whole). Goods and bookings: 1 goods line and an experience's session
against 5 goods lines and 3 bookings (a session and a stay completed, a ticket day to come): a booking
brings its listing, photos, unit type, session and host, one SELECT each, which an order of goods alone
never reads. Counted with `tests.sql_count.page_statements` (a warm-up request, the session expired)."""

from __future__ import annotations

import pytest

from shop.db import commit
from tests.orders.order_lines_setup import order_with
from tests.sql_count import api_statements, page_statements
from tests.stations.conftest import world  # noqa: F401

SIZES = {"goods": ({"goods": 1}, {"goods": 8}), "mixed": ({"goods": 1, "bookings": 1}, {"goods": 5, "bookings": 3})}


@pytest.mark.parametrize("kind", SIZES)
def test_the_order_page_reads_8_lines_in_the_statements_of_1(client, db, world, now, auth, kind):  # noqa: F811
    small, large = (order_with(world, now, **size) for size in SIZES[kind])
    commit()
    auth.login(world.buyer)
    _, one = page_statements(client, f"/orders/{small.code}")
    page, eight = page_statements(client, f"/orders/{large.code}")
    assert len(eight) == len(one), "\n".join(eight)
    # what the lines show is there: 评价 where it may be written, 已评价 where it was, the refunds
    assert "已评价 5 星" in page and "已被隐藏：广告" in page
    assert page.count(f"/orders/{large.code}/lines/") >= 3
    assert "已退款 2/3" in page and "已全部退款 3/3" in page
    if kind == "mixed":
        assert "已评价 4 星" in page and page.count('class="card booking"') == 3


@pytest.mark.parametrize("kind", SIZES)
def test_the_api_reads_an_order_of_8_lines_in_the_statements_of_1(client, db, world, now, api_token, kind):  # noqa: F811
    small, large = (order_with(world, now, **size) for size in SIZES[kind])
    commit()
    headers = api_token(world.buyer)
    _, one = api_statements(client, f"/api/v1/orders/{small.code}", headers)
    body, eight = api_statements(client, f"/api/v1/orders/{large.code}", headers)
    assert len(eight) == len(one), "\n".join(eight)
    assert len(body["shipments"]) == 2


#: The tabs the first order is in (a line to review, a refund), with the item names and thumbnails of each order.
TABS = ("all", "to_review", "after_sale")


def test_the_order_list_and_its_tabs_read_10_orders_in_the_statements_of_1(client, db, world, now, auth, api_token):  # noqa: F811
    headers = api_token(world.buyer)
    order_with(world, now, goods=3, bookings=1)
    commit()
    auth.login(world.buyer)
    one = {tab: page_statements(client, f"/orders?tab={tab}")[1] for tab in TABS}
    api_one = api_statements(client, "/api/v1/orders", headers)[1]
    for i in range(9):
        order_with(world, now, goods=3 + i % 3, bookings=1 + i % 3)
    commit()
    for tab in TABS:
        page, ten = page_statements(client, f"/orders?tab={tab}")
        assert len(ten) == len(one[tab]), (tab, "\n".join(ten))
    body, api_ten = api_statements(client, "/api/v1/orders", headers)
    assert len(api_ten) == len(api_one), "\n".join(api_ten)
    assert len(body["items"]) == 10
    assert page.count("_t.jpg") >= 10  # every order's item thumbnails
