"""Journey 39: a visitor on the smallest phone still sold (320 px wide, an iPhone SE of the first kind or a
cheap Android) reads the shop without scrolling sideways, in Chinese and in English: the home page, the
goods, a product, a search, the stays, the cart and the sign-in page. The header's search box shrinks to
the screen (it was held at its input's natural width: every page 12-32 px too wide below 352 px)."""

from __future__ import annotations

from tests.browser.harness import Viewport
from tests.browser.journeys import VILLAGE_A, demo_product

SMALLEST_PHONE = Viewport("smallest-phone", 320, 568, True)


def test_no_page_scrolls_sideways_on_a_320px_phone(open_page, live_server):
    product = demo_product(live_server, VILLAGE_A)
    visitor = open_page("visitor", size=SMALLEST_PHONE)
    page = visitor.page
    product_path = f"/products/{product['id']}-{product['slug']}"
    for path in ("/", "/products", product_path, "/search?q=yancai", "/stays", "/cart", "/login"):
        visitor.goto(path)
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], (path, widths)
        search = page.get_by_role("search").bounding_box()
        assert search is not None and search["x"] + search["width"] <= widths[1], (path, search)
    visitor.step("every page within the 320 px screen")
