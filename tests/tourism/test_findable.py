"""Tourism is a first-class kind (#19.3): every page links to stays, experiences and tickets (header,
footer, home), and a village's page shows its listings beside its goods."""

from __future__ import annotations

from tests.factories import make_product, make_village
from tests.tourism.factories import make_listing


def test_every_page_links_to_stays_experiences_and_tickets(client, db):
    for url in ("/", "/products", "/cart", "/login"):
        html = client.get(url).get_data(as_text=True)
        for path in ('href="/stays"', 'href="/experiences"', 'href="/tickets"'):
            assert html.count(path) >= 2, (url, path)  # the header's row and the footer


def test_home_page_offers_the_three_kinds(client, db):
    html = client.get("/").get_data(as_text=True)
    assert "乡村旅游" in html and "农家乐民宿" in html and "乡村体验" in html and "景区门票" in html


def test_a_village_page_shows_its_stay_and_tickets_and_no_empty_goods_count(client, db):
    village = make_village(name="花海村", signature_product="花海门票")
    make_listing(village=village, name="花海原乡民宿", price_fen=26800)
    make_listing(kind="ticket", village=village, name="黄马罗渡花海原乡门票", price_fen=3000)
    make_listing(name="别村农家乐")  # another village's
    html = client.get(f"/villages/{village.slug}").get_data(as_text=True)
    assert "花海原乡民宿" in html and "黄马罗渡花海原乡门票" in html and "别村农家乐" not in html
    assert "¥268.00" in html and "¥30.00" in html
    assert "共 0 件商品" not in html and "没有找到商品" not in html
    assert "本村商品即将上架" in html


def test_a_village_with_goods_still_lists_them(client, db):
    village = make_village(name="罗渡村")
    make_product(name="罗渡板鸭", village=village)
    html = client.get(f"/villages/{village.slug}").get_data(as_text=True)
    assert "罗渡板鸭" in html and "共 1 件商品" in html
