"""The station's cash book (现金账, /station/cash) links each entry to its shipment: each entry's shipment was
read in a statement of its own, so the page sent one statement more for every entry. Now the shipments are
read with the entries (`orders.services.cashbook.Till.entry_refs`, `STATION_TILL`): as many statements for
several entries as for one."""

from __future__ import annotations

from shop.db import commit
from shop.timeutil import now_utc
from stations.services import fulfilment
from tests.sql_count import page_statements
from tests.stations.factories import PICKUP_CODE, make_order
from tests.stations.fulfilment_steps import shipped


def _cash_taken(world) -> str:
    """A pick-up order paid at station A's counter now (its cash in today's book); its shipment's code."""
    now = now_utc()
    order = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash")
    shipment = order.shipments[0]
    shipped(order, world.a.operator, now)
    fulfilment.hand_over_pickup(
        shipment, pickup_code=PICKUP_CODE, actor=world.a.operator, now=now, cash_received_fen=order.total_fen
    )
    commit()
    return shipment.code


def test_the_station_cash_page_reads_its_entries_shipments_at_once(db, world, client, auth):
    codes = [_cash_taken(world)]
    auth.login(world.a.operator)
    page, one = page_statements(client, "/station/cash")
    assert f">{codes[0]}</a>" in page

    codes += [_cash_taken(world) for _ in range(3)]
    page, several = page_statements(client, "/station/cash")
    assert all(f">{code}</a>" in page for code in codes)
    assert len(several) == len(one), "\n\n".join(several)
