"""The public side of the ledger: product and order pages say how much goes to how many households
in which villages — never who."""

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
            "payment_method": "station_cash",
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
            "payment_method": "station_cash",
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
