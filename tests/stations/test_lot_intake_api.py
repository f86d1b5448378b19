"""#23 stock intake through the JSON API: a lot with its dates and origin, refused clearly (nothing
changed) when the dates are out of order or in the past, the origin is not the station's, or the product
is another station's."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from stock.models import Lot, StockRecord
from tests.factories import make_household, make_village


def _lots(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(Lot))


def _on_hand(db, product):
    return db.session.scalar(sa.select(StockRecord.on_hand).where(StockRecord.product_id == product.id))


def test_intake_records_a_lot_with_its_dates_and_origin(db, world, client, api_token, today):
    headers = api_token(world.a.operator)
    product = world.a.product
    before = _on_hand(db, product)
    res = client.post(
        f"/api/v1/products/{product.id}/lots",
        headers=headers,
        json={
            "quantity": 12,
            "harvest_date": (today - timedelta(days=2)).isoformat(),
            "best_before_date": (today + timedelta(days=28)).isoformat(),
            "household_id": world.a.h1.id,
            "note": "秋收第二批",
        },
    )
    assert res.status_code == 201, res.json
    lot = res.json
    assert (lot["received_quantity"], lot["on_hand"], lot["household_id"], lot["status"], lot["purchased"]) == (
        12,
        12,
        world.a.h1.id,
        "active",
        False,
    )
    assert lot["best_before_date"] == (today + timedelta(days=28)).isoformat()
    assert lot["trace_url"] == f"http://shop.test/trace/{lot['code']}"
    assert _on_hand(db, product) == before + 12
    listed = client.get(f"/api/v1/products/{product.id}/lots", headers=headers).json["items"]
    assert listed[0]["code"] == lot["code"]
    page = client.get(f"/trace/{lot['code']}").get_data(as_text=True)
    assert (today - timedelta(days=2)).isoformat() in page and "本村 1 户脱贫户" in page


def test_a_purchased_lot_credits_its_household(db, world, client, api_token):
    from ledger.records import BenefitRecord

    res = client.post(
        f"/api/v1/products/{world.a.product.id}/lots",
        headers=api_token(world.a.operator),
        json={"quantity": 10, "household_id": world.a.h2.id, "purchase_price_fen": 250},
    )
    assert res.status_code == 201 and res.json["purchased"] is True and res.json["purchase_price_fen"] == 250
    lot = db.session.scalar(sa.select(Lot).where(Lot.code == res.json["code"]))
    records = db.session.scalars(sa.select(BenefitRecord).where(BenefitRecord.lot_id == lot.id)).all()
    assert [(r.kind, r.total_fen) for r in records] == [("purchase", 2500)]


# a date given as a number is that many days from today; the test turns it into a date when it runs
BAD = [
    ("harvest in the future", {"harvest_date": 1}, 422, "harvest_in_future"),
    ("dates reversed", {"harvest_date": -1, "best_before_date": -3}, 422, "best_before_before_harvest"),
    ("best-before past", {"best_before_date": -1}, 422, "expired_goods"),
    ("no quantity", {"quantity": 0}, 422, "validation_error"),
    ("not a date", {"best_before_date": "2026-02-30"}, 422, "validation_error"),
    ("unknown producer", {"producer_id": 999999}, 422, "producer_not_found"),
    ("purchase without household", {"purchase_price_fen": 300}, 422, "purchase_needs_household"),
    # a JSON boolean is no number: `true` received a lot of 1 unit, and named household or producer 1
    ("quantity as a boolean", {"quantity": True}, 422, "validation_error"),
    ("household as a boolean", {"household_id": True}, 422, "validation_error"),
    ("producer as a boolean", {"producer_id": True}, 422, "validation_error"),
    ("price as a boolean", {"purchase_price_fen": True}, 422, "validation_error"),
]


@pytest.mark.parametrize("name,changes,status,code", BAD, ids=[b[0] for b in BAD])
def test_bad_intake_is_refused_and_changes_nothing(db, world, client, api_token, today, name, changes, status, code):
    changes = {
        k: (today + timedelta(days=v)).isoformat() if isinstance(v, int) and k.endswith("_date") else v
        for k, v in changes.items()
    }
    product = world.a.product
    lots, on_hand = _lots(db), _on_hand(db, product)
    res = client.post(
        f"/api/v1/products/{product.id}/lots", headers=api_token(world.a.operator), json={"quantity": 5, **changes}
    )
    assert res.status_code == status and res.json["error"]["code"] == code, res.json
    assert res.json["error"]["message"]
    assert (_lots(db), _on_hand(db, product)) == (lots, on_hand)


def test_another_stations_product_or_household_is_refused(db, world, client, api_token):
    headers = api_token(world.a.operator)
    lots = _lots(db)
    res = client.post(f"/api/v1/products/{world.b.product.id}/lots", headers=headers, json={"quantity": 5})
    assert res.status_code == 404
    assert client.get(f"/api/v1/products/{world.b.product.id}/lots", headers=headers).status_code == 404
    res = client.post(
        f"/api/v1/products/{world.a.product.id}/lots",
        headers=headers,
        json={"quantity": 5, "household_id": world.b.h1.id},
    )
    assert res.status_code == 422 and res.json["error"]["code"] == "household_not_served"
    stranger = make_household(village=make_village(name="别村"))
    res = client.post(
        f"/api/v1/products/{world.a.product.id}/lots",
        headers=headers,
        json={"quantity": 5, "household_id": stranger.id},
    )
    assert res.status_code == 422
    assert _lots(db) == lots
