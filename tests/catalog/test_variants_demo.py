"""The demo's packs of one product are its variants (规格): 三江腌菜 500克袋装 / 2斤礼盒, 南安板鸭 整只 /
半只, 土鸡蛋 30枚装 / 15枚装; a database seeded before variants existed is grouped by seeding again."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.models import Product, ProductFamily, Village
from shop.db import commit
from shop.extensions import db


def _village_products(name):
    village = db.session.scalar(sa.select(Village).where(Village.name == name))
    return db.session.scalars(sa.select(Product).where(Product.village_id == village.id).order_by(Product.id)).all()


def test_seeded_demo_groups_packs_into_one_product_and_reseeding_groups_old_data(app, db, client):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    pickles = _village_products("柳溪村")
    assert [(p.name, p.variant_label) for p in pickles] == [
        ("三江腌菜500克", "500克袋装"),
        ("三江腌菜礼盒2斤", "2斤礼盒"),
    ]
    assert pickles[0].family_id == pickles[1].family_id and pickles[0].family.name == "三江腌菜"
    duck = _village_products("东湖村")
    assert {p.variant_label for p in duck} == {"整只", "半只"} and duck[0].family.name == "南安板鸭"
    html = client.get(f"/villages/{pickles[0].village.slug}").get_data(as_text=True)
    assert html.count('class="card product-card"') == 1 and "2 种规格" in html
    # a database seeded before variants: separate products, no family; seeding again groups them
    db.session.execute(sa.update(Product).values(family_id=None, variant_label="", variant_position=0))
    db.session.execute(sa.delete(ProductFamily))
    commit()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "Demo data loaded" in result.output
    db.session.expire_all()
    pickles = _village_products("柳溪村")
    assert pickles[0].family_id is not None and pickles[0].family_id == pickles[1].family_id
    assert runner.invoke(args=["seed-demo"]).output.count("nothing changed") == 1
