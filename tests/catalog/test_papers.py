"""#23 food-safety papers: the one rule (catalog.papers) and every place that asks it — the product
page, the product API, the cart, checkout (in the placement's own read and transaction)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from itertools import product as combinations

import pytest
import sqlalchemy as sa

from catalog.models import Category, Product
from catalog.papers import REQUIRED_DOCUMENTS, paper_gaps, papers_ok_clause
from orders.models import Order
from shop import pagecache
from shop.errors import Conflict
from stock.models import StockRecord
from tests.factories import make_category, make_document, make_product, make_user
from tests.orders.factories import ADDRESS_JSON, make_order


def _farm_product(**kw):
    return make_product(name="鲜无花果1斤", category=make_category(food_class="farm"), stock=10, **kw)


def _processed_product(**kw):
    return make_product(name="三江腌菜500克", category=make_category(food_class="processed"), stock=10, **kw)


def _checkout(client, headers, product, quantity=1):
    return client.post(
        "/api/v1/orders",
        headers=headers,
        json={
            "items": [{"product_id": product.id, "quantity": quantity}],
            "address": ADDRESS_JSON,
            "delivery": "ship",
            "payment_method": "cod",
        },
    )


def _on_hand(db, product):
    return db.session.scalar(
        sa.select(StockRecord.on_hand - StockRecord.allocated).where(StockRecord.product_id == product.id)
    )


def test_the_rule_is_one_table_by_food_class():
    assert REQUIRED_DOCUMENTS == {
        "farm": ("compliance_certificate",),
        "processed": ("production_licence", "test_report"),
        "non_food": (),
    }


@pytest.mark.parametrize("case", ["missing", "expired", "pending", "rejected"])
def test_a_product_without_valid_papers_is_not_sold_anywhere(db, client, api_token, case, today):
    product = _farm_product()
    if case == "expired":
        make_document(product, valid_from=today - timedelta(days=400), valid_until=today - timedelta(days=1))
    elif case in ("pending", "rejected"):
        make_document(product, status=case)
    db.session.commit()
    reason = {
        "missing": "缺少食用农产品承诺达标合格证",
        "expired": "食用农产品承诺达标合格证已过期",
        "pending": "食用农产品承诺达标合格证待县扶贫办审核",
        "rejected": "缺少食用农产品承诺达标合格证",
    }[case]

    page = client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    assert "暂停销售" in page and reason in page
    assert "加入购物车" not in page  # the buy bar offers nothing to press

    api = client.get(f"/api/v1/products/{product.id}").json
    assert api["sellable"] is False
    assert [(g["kind"], g["message"]) for g in api["paper_gaps"]] == [("compliance_certificate", reason)]

    res = client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    assert res.status_code == 303
    assert reason in client.get("/cart").get_data(as_text=True)  # the flash says why

    buyer = make_user()
    res = _checkout(client, api_token(buyer), product)
    assert res.status_code == 409 and res.json["error"]["code"] == "papers_missing"
    assert reason in res.json["error"]["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert _on_hand(db, product) == 10


def test_approved_and_valid_papers_sell(db, client, api_token, today):
    product = _farm_product()
    make_document(product, valid_from=today, valid_until=today)  # valid today only: still counts
    db.session.commit()
    page = client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    assert "暂停销售" not in page and "加入购物车" in page and "食品安全证件" in page
    api = client.get(f"/api/v1/products/{product.id}").json
    assert api["sellable"] is True and api["paper_gaps"] == []
    assert [d["kind"] for d in api["documents"]] == ["compliance_certificate"]
    assert api["documents"][0]["issuer"] == ""  # a 合格证's issuer is its producer: never public
    # the dates as the spec says them (`format: date`), not as HTTP dates
    assert (api["documents"][0]["valid_from"], api["documents"][0]["valid_until"]) == (today.isoformat(),) * 2
    res = _checkout(client, api_token(make_user()), product, 2)
    assert res.status_code == 201, res.json
    assert _on_hand(db, product) == 8


def test_processed_goods_need_a_licence_and_a_test_report(db, client, api_token):
    product = _processed_product()
    make_document(product, "production_licence")
    db.session.commit()
    api = client.get(f"/api/v1/products/{product.id}").json
    assert api["sellable"] is False and [g["kind"] for g in api["paper_gaps"]] == ["test_report"]
    headers = api_token(make_user())
    assert _checkout(client, headers, product).json["error"]["code"] == "papers_missing"
    make_document(product, "test_report", issuer="江西省食品检验检测研究院")
    db.session.commit()
    assert _checkout(client, headers, product).status_code == 201
    api = client.get(f"/api/v1/products/{product.id}").json
    assert {d["issuer"] for d in api["documents"]} == {"南昌县市场监督管理局", "江西省食品检验检测研究院"}


def test_checkout_asks_the_rule_on_its_own_day_in_its_own_transaction(db):
    """A document valid until today: the cart may hold the product, but a placement dated tomorrow
    is refused by the placement itself, and writes nothing."""
    product = _farm_product()
    make_document(product, valid_until=date(2026, 11, 28))
    buyer = make_user()
    today = datetime(2026, 11, 28, 4, 0, tzinfo=timezone.utc)
    make_order(buyer, [(product, 1)], now=today)
    db.session.commit()
    orders = db.session.scalar(sa.select(sa.func.count()).select_from(Order))
    with pytest.raises(Conflict) as refused:
        make_order(buyer, [(product, 1)], now=today + timedelta(days=1))
    assert refused.value.code == "papers_missing"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == orders


def test_an_expired_lot_still_blocks_a_product_whose_papers_are_valid(db, client, api_token, today):
    product = make_product(category=make_category(food_class="farm"), stock=0)
    from tests.factories import make_lot

    make_lot(product.stock, 5, best_before=today - timedelta(days=1))
    make_document(product)
    db.session.commit()
    res = _checkout(client, api_token(make_user()), product)
    assert res.status_code == 409 and res.json["error"]["code"] == "out_of_stock"


def test_non_food_needs_no_papers(db, today):
    product = make_product(category=make_category(food_class="non_food"))
    assert paper_gaps([product.id], today=today) == {product.id: []}


STATES = ["none", "approved", "approved_expired", "approved_future", "pending", "rejected"]


@pytest.mark.parametrize("food_class", ["farm", "processed", "non_food"])
def test_the_sql_rule_agrees_with_the_python_rule(db, food_class):
    """Every combination of document states for the kinds: the checkout's SQL expression and the
    explaining Python say the same."""
    category = make_category(food_class=food_class)
    kinds = ["compliance_certificate", "production_licence", "test_report"]
    day = date(2026, 6, 1)
    spans = {
        "approved": (day - timedelta(days=9), day + timedelta(days=9)),
        "approved_expired": (day - timedelta(days=9), day - timedelta(days=1)),
        "approved_future": (day + timedelta(days=1), day + timedelta(days=9)),
        "pending": (day, day),
        "rejected": (day, day),
    }
    products = []
    for states in combinations(["none", "approved", "approved_expired", "pending"], repeat=2):
        for kind_states in (dict(zip(kinds[1:], states)), dict(zip(kinds[:1], states[:1]))):
            p = make_product(category=category, stock=0)
            for kind, state in kind_states.items():
                if state != "none":
                    valid_from, valid_until = spans[state]
                    make_document(p, kind, status=state.split("_")[0], valid_from=valid_from, valid_until=valid_until)
            products.append(p)
    python = {pid: not gaps for pid, gaps in paper_gaps([p.id for p in products], today=day).items()}
    clause = papers_ok_clause(Product.id, Category.food_class, sa.bindparam("today", type_=sa.Date()))
    sql = dict(
        db.session.execute(
            sa.select(Product.id, clause)
            .join(Category, Category.id == Product.category_id)
            .where(Product.id.in_([p.id for p in products])),
            {"today": day},
        ).all()
    )
    assert {k: bool(v) for k, v in sql.items()} == python
    assert any(python.values()) and (food_class == "non_food" or not all(python.values()))


def test_the_demo_shop_sells_every_demo_product_with_approved_papers(app, db, today):
    """seed-demo gives each product the papers its category needs, approved and valid; a second run adds none."""
    from catalog.papers import ProductDocument

    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    products = db.session.scalars(sa.select(Product)).all()
    gaps = paper_gaps([p.id for p in products], today=today)
    assert products and all(not g for g in gaps.values()), {k: v for k, v in gaps.items() if v}
    pickles = next(p for p in products if p.category.slug == "pickles")
    kinds = db.session.scalars(sa.select(ProductDocument.kind).where(ProductDocument.product_id == pickles.id)).all()
    assert sorted(kinds) == ["production_licence", "test_report"]
    figs = next(p for p in products if p.category.slug == "fruit")
    assert db.session.scalars(sa.select(ProductDocument.kind).where(ProductDocument.product_id == figs.id)).all() == [
        "compliance_certificate"
    ]
    count = db.session.scalar(sa.select(sa.func.count()).select_from(ProductDocument))
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProductDocument)) == count


def _card(html: str, name: str) -> str:
    """The product card of `name` in a list page."""
    start = html.index(f">{name}</h3>")
    return html[start : html.index("</article>", start)]


def test_lists_and_the_list_api_flag_a_product_without_valid_papers_as_its_page_does(db, client):
    fig = _farm_product()  # no 合格证: its page says 暂停销售
    pickles = _processed_product()
    make_document(pickles, "production_licence")
    make_document(pickles, "test_report")
    db.session.commit()
    html = client.get("/products").get_data(as_text=True)
    assert "暂停销售" in _card(html, "鲜无花果1斤") and "有货" not in _card(html, "鲜无花果1斤")
    assert "暂停销售" not in _card(html, "三江腌菜500克") and "仅剩 10 盒" in _card(html, "三江腌菜500克")
    village = client.get(f"/villages/{fig.village.slug}").get_data(as_text=True)
    assert "暂停销售" in _card(village, "鲜无花果1斤")
    assert "暂停销售" in _card(client.get("/").get_data(as_text=True), "鲜无花果1斤")
    items = {i["id"]: i for i in client.get("/api/v1/products").json["items"]}
    assert items[fig.id]["sellable"] is False and items[fig.id]["variants"][0]["sellable"] is False
    assert items[pickles.id]["sellable"] is True and items[pickles.id]["variants"][0]["sellable"] is True
    make_document(fig)  # approved (as catalog.papers.decide_document marks its product for the page cache)
    pagecache.mark_products(db.session, [fig.id])
    db.session.commit()
    assert "暂停销售" not in _card(client.get("/products").get_data(as_text=True), "鲜无花果1斤")
    assert client.get(f"/api/v1/products/{fig.id}").json["sellable"] is True


def test_a_product_with_variants_is_flagged_only_when_no_shown_variant_may_be_sold(db, client):
    from catalog.services import join_family

    cat = make_category(food_class="farm")
    small = make_product(name="鲜无花果1斤", category=cat)
    big = make_product(name="鲜无花果3斤", category=cat)
    join_family(big, small.id, "3斤装", now=small.created_at, sibling_label="1斤装")
    small.family.name = "鲜无花果"
    make_document(big)  # only 3斤装 has its 合格证
    db.session.commit()
    html = client.get("/products").get_data(as_text=True)
    assert "暂停销售" not in _card(html, "鲜无花果")  # 3斤装 may be bought
    item = client.get("/api/v1/products").json["items"][0]
    assert (item["id"], item["sellable"]) == (small.id, False)  # the shown variant's own papers
    assert [(v["id"], v["sellable"]) for v in item["variants"]] == [(small.id, False), (big.id, True)]
    big.is_published = False  # the only sellable variant leaves the shop
    db.session.commit()
    assert "暂停销售" in _card(client.get("/products").get_data(as_text=True), "鲜无花果")


def _cards(html: str) -> list[str]:
    """The names on a list page's product cards, in order."""
    return [part.split("<h3>", 1)[1].split("</h3>", 1)[0] for part in html.split('class="card product-card"')[1:]]


def test_in_stock_means_it_can_be_bought_now_papers_included(db, client, today):
    """只看有货 lists what can be bought now: stock alone is not enough, the papers must count today
    (catalog.services.buyable_now over papers_ok_clause); without the tick the card says 暂停销售."""
    fig = _farm_product()  # 10 in stock, no 合格证
    expired = make_product(name="鲜草莓1斤", category=fig.category, stock=10)
    make_document(expired, valid_from=today - timedelta(days=400), valid_until=today - timedelta(days=1))
    pickles = _processed_product()
    make_document(pickles, "production_licence")
    make_document(pickles, "test_report")
    eggs = make_product(name="土鸡蛋30枚", category=make_category(food_class="non_food"), stock=10)
    db.session.commit()
    assert sorted(_cards(client.get("/products?in_stock=1").get_data(as_text=True))) == ["三江腌菜500克", "土鸡蛋30枚"]
    assert sorted(i["id"] for i in client.get("/api/v1/products?in_stock=true").json["items"]) == sorted(
        [pickles.id, eggs.id]
    )
    assert _cards(client.get(f"/categories/{fig.category.slug}?in_stock=1").get_data(as_text=True)) == []
    assert _cards(client.get(f"/villages/{fig.village.slug}?in_stock=1").get_data(as_text=True)) == []
    html = client.get("/products").get_data(as_text=True)  # without the tick: listed, flagged
    assert "暂停销售" in _card(html, "鲜无花果1斤") and "暂停销售" in _card(html, "鲜草莓1斤")
    make_document(fig)
    pagecache.mark_products(db.session, [fig.id])
    db.session.commit()
    assert fig.id in [i["id"] for i in client.get("/api/v1/products?in_stock=true").json["items"]]


def test_in_stock_asks_for_a_variant_with_both_stock_and_papers(db, client):
    """A family whose variant in stock lacks papers and whose variant with papers is sold out cannot
    be bought now: not listed under 只看有货; once the variant with papers has stock it is, unflagged."""
    from catalog.services import join_family
    from tests.factories import make_lot

    cat = make_category(food_class="farm")
    small = make_product(name="鲜无花果1斤", category=cat, stock=5)  # no 合格证
    big = make_product(name="鲜无花果3斤", category=cat, stock=0)
    join_family(big, small.id, "3斤装", now=small.created_at, sibling_label="1斤装")
    small.family.name = "鲜无花果"
    make_document(big)
    db.session.commit()
    assert client.get("/api/v1/products?in_stock=true").json["items"] == []
    assert _cards(client.get("/products?in_stock=1").get_data(as_text=True)) == []
    make_lot(big.stock, 2)
    pagecache.mark_products(db.session, [big.id])
    db.session.commit()
    assert [i["id"] for i in client.get("/api/v1/products?in_stock=true").json["items"]] == [small.id]
    html = client.get("/products?in_stock=1").get_data(as_text=True)
    assert _cards(html) == ["鲜无花果"] and "暂停销售" not in _card(html, "鲜无花果")
