"""A station renames a product sold in variants (规格) and sets its variants' order (the product page's
picker; the first one on sale is the card in lists) from its product page (#21): audited, CSRF-protected,
another station's family is a 404, bad input changes nothing; the shop's pages (cached ones too) follow."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.models import Product, ProductFamily
from catalog.services import join_family, update_family
from shop.audit import AuditEntry
from shop.db import commit
from shop.errors import ValidationError
from tests.factories import make_product


def _family(world, now):
    """A土鸡蛋 (30枚装, ¥33.33) and a 60枚礼盒 (¥66.00) at station A, in that order."""
    eggs = world.a.product
    box = make_product(
        name="A土鸡蛋60枚礼盒", price_fen=6600, stock=5, station=world.a.station, category=world.category
    )
    join_family(box, eggs.id, "60枚礼盒", now=now, sibling_label="30枚装")
    return eggs, box


def _audits(db) -> list[AuditEntry]:
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "product_family.update")).all()


def test_the_admin_renames_the_family_and_puts_the_gift_box_first(client, db, world, auth, now, cache_on):
    eggs, box = _family(world, now)
    family_id = eggs.family_id
    commit()
    assert "A土鸡蛋" in client.get(f"/products/{eggs.id}-{eggs.slug}").get_data(as_text=True)  # cached now
    auth.login(world.admin)
    page = client.get("/station/products?station=STA").get_data(as_text=True)
    assert f'action="/station/families/{family_id}"' in page
    assert f'name="position_{eggs.id}"' in page and f'name="position_{box.id}"' in page

    res = client.post(
        f"/station/families/{family_id}",
        data={"name": "柳溪土鸡蛋", f"position_{eggs.id}": "2", f"position_{box.id}": "1"},
    )
    assert res.status_code == 303 and res.headers["Location"].endswith(
        f"/station/products?station=STA#family-{family_id}"
    )
    db.session.expire_all()
    family = db.session.get(ProductFamily, family_id)
    assert family.name == "柳溪土鸡蛋" and [m.id for m in family.members] == [box.id, eggs.id]
    assert eggs.name == "A土鸡蛋" and box.name == "A土鸡蛋60枚礼盒"  # each variant's certified name stays
    [audit] = _audits(db)
    assert audit.actor_id == world.admin.id and audit.subject_id == family_id
    assert audit.detail == {"name": ["A土鸡蛋", "柳溪土鸡蛋"], "order": [[eggs.id, box.id], [box.id, eggs.id]]}

    client.post("/logout")
    html = client.get(f"/products/{eggs.id}-{eggs.slug}").get_data(as_text=True)  # not the cached page
    assert "<h1>柳溪土鸡蛋</h1>" in html
    picker = html.split("data-variant-picker", 1)[1]
    assert picker.index("60枚礼盒") < picker.index("30枚装")  # the picker's new order
    listed = next(i for i in client.get("/api/v1/products").json["items"] if i["name"] == "柳溪土鸡蛋")
    assert listed["id"] == box.id and [v["id"] for v in listed["variants"]] == [box.id, eggs.id]

    # the same form again changes nothing and audits nothing
    auth.login(world.admin)
    client.post(
        f"/station/families/{family_id}",
        data={"name": "柳溪土鸡蛋", f"position_{eggs.id}": "2", f"position_{box.id}": "1"},
    )
    assert len(_audits(db)) == 1


def test_another_stations_family_is_a_404_and_an_admin_may(client, db, world, auth, now):
    eggs, box = _family(world, now)
    data = {"name": "别的名字", f"position_{eggs.id}": "1", f"position_{box.id}": "2"}
    auth.login(world.b.operator)
    assert client.post(f"/station/families/{eggs.family_id}", data=data).status_code == 404
    assert client.post("/station/families/99999999", data=data).status_code == 404
    assert f"/station/families/{eggs.family_id}" not in client.get("/station/products").get_data(as_text=True)
    assert db.session.get(ProductFamily, eggs.family_id).name == "A土鸡蛋" and _audits(db) == []
    client.post("/logout")
    assert client.post(f"/station/families/{eggs.family_id}", data=data).status_code in (302, 401, 403)
    auth.login(world.admin)
    res = client.post(f"/station/families/{eggs.family_id}", data=data)
    assert res.status_code == 303 and "station=STA" in res.headers["Location"]
    db.session.expire_all()
    assert db.session.get(ProductFamily, eggs.family_id).name == "别的名字"


def test_an_operator_orders_the_variants_but_may_not_rename_the_certified_name(client, db, world, auth, now):
    """The family's name is what cards and the product page's title show, a certified fact: an
    operator's form shows it read-only; a forged rename is refused whole (the order in the same form
    is not applied either) and audits nothing; the order alone is saved."""
    eggs, box = _family(world, now)
    family_id = eggs.family_id
    auth.login(world.a.operator)
    page = client.get("/station/products").get_data(as_text=True)
    assert f'id="fname-{family_id}" name="name" value="A土鸡蛋" readonly' in page
    res = client.post(
        f"/station/families/{family_id}",
        data={"name": "有机富硒土鸡蛋", f"position_{eggs.id}": "2", f"position_{box.id}": "1"},
    )
    assert res.status_code == 303
    assert "改名请联系平台管理员" in client.get("/station/products").get_data(as_text=True)
    db.session.expire_all()
    family = db.session.get(ProductFamily, family_id)
    assert family.name == "A土鸡蛋" and [m.id for m in family.members] == [eggs.id, box.id] and _audits(db) == []
    client.post(
        f"/station/families/{family_id}",
        data={"name": "A土鸡蛋", f"position_{eggs.id}": "2", f"position_{box.id}": "1"},
    )
    db.session.expire_all()
    family = db.session.get(ProductFamily, family_id)
    assert family.name == "A土鸡蛋" and [m.id for m in family.members] == [box.id, eggs.id]
    [audit] = _audits(db)
    assert audit.actor_id == world.a.operator.id and audit.detail == {"order": [[eggs.id, box.id], [box.id, eggs.id]]}


def test_a_family_with_a_variant_at_another_station_is_not_the_operators(client, db, world, auth, now):
    eggs, _box = _family(world, now)
    elsewhere = make_product(name="B土鸡蛋礼盒", station=world.b.station, category=world.category)
    join_family(elsewhere, eggs.id, "B礼盒", now=now)
    auth.login(world.a.operator)
    assert client.post(f"/station/families/{eggs.family_id}", data={"name": "x"}).status_code == 404


def test_bad_names_and_positions_change_nothing(client, db, world, auth, now):
    eggs, box = _family(world, now)
    auth.login(world.admin)
    for data in (
        {"name": "", f"position_{eggs.id}": "2", f"position_{box.id}": "1"},
        {"name": "x" * 81, f"position_{eggs.id}": "2", f"position_{box.id}": "1"},
        {"name": "新名字", f"position_{eggs.id}": "二", f"position_{box.id}": "1"},
        {"name": "新名字", f"position_{eggs.id}": "0", f"position_{box.id}": "1"},
        {"name": "新名字", f"position_{box.id}": "1"},
    ):
        res = client.post(f"/station/families/{eggs.family_id}", data=data)
        assert res.status_code == 303, data
        db.session.expire_all()
        family = db.session.get(ProductFamily, eggs.family_id)
        assert family.name == "A土鸡蛋" and [m.id for m in family.members] == [eggs.id, box.id], data
    assert _audits(db) == []
    flashed = client.get("/station/products?station=STA").get_data(as_text=True)
    assert "规格顺序请填 1 至 99 的数字" in flashed


def test_the_service_refuses_an_order_that_is_not_the_family(db, world, now):
    eggs, box = _family(world, now)
    other = make_product(name="其他", station=world.a.station, category=world.category)
    family = eggs.family
    for order in ([eggs.id], [eggs.id, box.id, box.id], [eggs.id, other.id], [box.id, eggs.id, other.id]):
        try:
            update_family(family, actor=world.a.operator, now=now, order=order)
        except ValidationError as exc:
            assert exc.code == "family_order_mismatch"
        else:
            raise AssertionError(order)
    assert [m.id for m in family.members] == [eggs.id, box.id]
    assert db.session.scalar(sa.select(Product.variant_position).where(Product.id == other.id)) == 0


def test_a_rename_alone_reaches_the_cached_pages(client, db, world, auth, now, cache_on):
    eggs, box = _family(world, now)
    commit()
    assert "<h1>A土鸡蛋</h1>" in client.get(f"/products/{eggs.id}-{eggs.slug}").get_data(as_text=True)
    update_family(eggs.family, actor=world.admin, now=now, name="柳溪土鸡蛋")
    commit()
    assert "<h1>柳溪土鸡蛋</h1>" in client.get(f"/products/{eggs.id}-{eggs.slug}").get_data(as_text=True)
