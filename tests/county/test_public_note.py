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
    response = client.post("/api/v1/orders", headers=headers, json={
        "items": [{"product_id": product.id, "quantity": 2}],
        "address": {"name": "李游客", "phone": "13900001234", "province": "江西省", "city": "南昌市",
                    "district": "南昌县", "line": "莲塘镇1号"},
        "delivery": "ship", "payment_method": "station_cash",
    })
    assert response.status_code == 201, response.json
    auth.login(buyer)
    order_page = client.get(f"/orders/{response.json['id']}").get_data(as_text=True)
    assert "柳溪村 的 2 户脱贫户增收 ¥36.00" in order_page
