"""The public side of the ledger: product and order pages say how much goes to how many households
in which villages — never who."""

import sqlalchemy as sa

from orders.models import Order
from shop.db import commit
from tests.factories import make_household, make_product, make_station, make_user, make_village


def test_product_page_and_order_page_say_what_the_purchase_credits(client, auth, db, api_token):
    village = make_village(name="柳溪村")
    station = make_station(village=village, commission_bps=1000)
    households = [make_household(village=village, head_name="张建华"), make_household(village=village)]
    product = make_product(name="三江腌菜500克", price_fen=2000, station=station, households=households)
    buyer = make_user()
    commit()

    page = client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    # one unit at ¥20.00 less 10 % station commission = ¥18.00 to 2 households in 柳溪村
    assert "柳溪村 的 2 户脱贫户增收 ¥18.00" in page
    assert "张建华" not in page and "张**" not in page

    headers = api_token(buyer)
    response = client.post(
        "/api/v1/orders",
        headers=headers,
        json={
            "items": [{"product_id": product.id, "quantity": 2}],
            "address": {
                "name": "李游客",
                "phone": "13900001234",
                "province": "江西省",
                "city": "南昌市",
                "district": "南昌县",
                "line": "莲塘镇1号",
            },
            "delivery": "ship",
            "payment_method": "cod",
        },
    )
    assert response.status_code == 201, response.json
    auth.login(buyer)
    order_page = client.get(f"/orders/{response.json['id']}").get_data(as_text=True)
    assert "柳溪村 的 2 户脱贫户增收 ¥36.00" in order_page


def test_an_order_from_two_villages_names_them_in_the_readers_language(client, auth, db, api_token):
    """Two villages are joined with 、 on a Chinese page and with a comma on an English one (no Chinese
    punctuation left between the names on an English page)."""
    products = []
    for name in ("柳溪村", "东湖村"):
        village = make_village(name=name)
        station = make_station(village=village)
        products.append(make_product(station=station, households=[make_household(village=village)]))
    buyer = make_user()
    commit()
    response = client.post(
        "/api/v1/orders",
        headers=api_token(buyer),
        json={
            "items": [{"product_id": p.id, "quantity": 1} for p in products],
            "address": {
                "name": "李游客",
                "phone": "13900001234",
                "province": "江西省",
                "city": "南昌市",
                "district": "南昌县",
                "line": "莲塘镇1号",
            },
            "delivery": "ship",
            "payment_method": "cod",
        },
    )
    assert response.status_code == 201, response.json
    auth.login(buyer)
    zh = client.get(f"/orders/{response.json['id']}").get_data(as_text=True)
    assert "东湖村、柳溪村" in zh or "柳溪村、东湖村" in zh
    en = client.get(f"/orders/{response.json['id']}?lang=en").get_data(as_text=True)
    assert "for 2 households in" in en
    assert "东湖村, 柳溪村" in en or "柳溪村, 东湖村" in en
    assert "村、" not in en


def test_a_canceled_order_promises_no_income(client, auth, db, api_token):
    """A canceled order credits no one: its page says nothing of households, not 将为 … 增收 ¥0.00."""
    village = make_village(name="桃花村")
    product = make_product(station=make_station(village=village), households=[make_household(village=village)])
    buyer = make_user()
    commit()
    headers = api_token(buyer)
    response = client.post(
        "/api/v1/orders",
        headers=headers,
        json={
            "items": [{"product_id": product.id, "quantity": 1}],
            "delivery": "pickup",
            "pickup_station_id": product.station_id,
            "payment_method": "station_cash",
        },
    )
    assert response.status_code == 201, response.json
    code = response.json["id"]
    auth.login(buyer)
    assert "桃花村 的 1 户脱贫户增收" in client.get(f"/orders/{code}").get_data(as_text=True)
    assert client.post(f"/orders/{code}/cancel", data={"confirm": "1"}).status_code == 303
    page = client.get(f"/orders/{code}").get_data(as_text=True)
    assert "已取消" in page
    assert "增收" not in page


def test_a_mixed_order_says_what_its_goods_credited_and_what_its_stay_ahead_will(
    client, auth, db, api_token, fake_stripe
):
    """Goods handed over while the stay is ahead: the page said only the goods' households (its stay's
    share gone from the note until the stay was over); it says both, the stay's as still to come, and once
    the stay is completed what the whole order credited."""
    from datetime import timedelta

    from orders.services import payments
    from shop.timeutil import now_utc
    from tests.orders.cart_items import stay_item
    from tests.orders.factories import ADDRESS_JSON, FakeStripeProvider
    from tests.tourism.factories import make_listing
    from tourism.services.booking import complete_stays

    farm, resort = make_village(name="柳溪村"), make_village(name="桃花村")
    station = make_station(village=farm, commission_bps=1000)
    operator, host, buyer = make_user(role="operator", station=station), make_user(role="host"), make_user()
    product = make_product(price_fen=2000, stock=5, station=station, households=[make_household(village=farm)])
    listing = make_listing(
        host=host, village=resort, price_fen=20000, units=1, households=[make_household(village=resort)]
    )
    commit()
    headers, station_headers, host_headers = api_token(buyer), api_token(operator), api_token(host)
    placed = client.post(
        "/api/v1/orders",
        headers=headers,
        json={
            "items": [{"product_id": product.id, "quantity": 1}, stay_item(listing, checkin=0, nights=1)],
            "address": ADDRESS_JSON,
            "payment_method": "card",
        },
    )
    assert placed.status_code == 201, placed.json
    code, [shipment] = placed.json["id"], placed.json["shipments"]
    auth.login(buyer)
    before = client.get(f"/orders/{code}").get_data(as_text=True)
    assert "此项消费将为 柳溪村、桃花村 的 2 户脱贫户增收 ¥218.00" in before  # ¥18.00 (less 10 %) + ¥200.00
    payment = db.session.scalar(sa.select(Order).where(Order.code == code)).payments[0]
    FakeStripeProvider.succeed(payment.provider_ref)
    payments.sync_payment(payment, now=now_utc())
    commit()
    steps = (
        {"action": "accept"},
        {"action": "pack"},
        {"action": "ship", "tracking_number": "SF1"},
        {"action": "deliver"},
    )
    for step in steps:
        res = client.post(f"/api/v1/shipments/{shipment['id']}/transition", json=step, headers=station_headers)
        assert res.status_code == 200, res.json

    page = client.get(f"/orders/{code}").get_data(as_text=True)
    assert "此订单已为 柳溪村 的 1 户脱贫户增收 ¥18.00；其余部分完成后，还将为 桃花村 的 1 户脱贫户增收 ¥200.00" in page
    english = client.get(f"/orders/{code}?lang=en").get_data(as_text=True)
    assert (
        "This order has raised ¥18.00 for 1 household in 柳溪村; once the rest of it has taken place, it will raise"
        " ¥200.00 more for 1 household in 桃花村"
    ) in english

    [stay] = client.get(f"/api/v1/orders/{code}", headers=headers).json["bookings"]
    res = client.post(
        f"/api/v1/bookings/{stay['id']}/check-in",
        json={"confirmation_code": stay["confirmation_code"]},
        headers=host_headers,
    )
    assert res.status_code == 200, res.json
    complete_stays(now_utc() + timedelta(days=1))
    commit()
    after = client.get(f"/orders/{code}?lang=zh_CN").get_data(as_text=True)
    assert "此订单已为 柳溪村、桃花村 的 2 户脱贫户增收 ¥218.00" in after
    assert "还将为" not in after
