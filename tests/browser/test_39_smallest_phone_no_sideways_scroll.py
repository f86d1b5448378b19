"""Journey 39: a visitor on the smallest phone still sold (320 px wide, an iPhone SE of the first kind or a
cheap Android) reads the shop without scrolling sideways, in Chinese and in English: the home page, the
goods, a product, a search, the stays, the cart and the sign-in page. The header's search box shrinks to
the screen (it was held at its input's natural width: every page 12-32 px too wide below 352 px). The
header's 特产 / 农家乐民宿 / 乡村体验 / 景区门票 row wraps onto a second line where it does not fit (in
English, "Attraction tickets" was cut off at the screen's edge, reachable only by swiping the bar)."""

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
        kinds = page.locator(".site-header nav.kinds a")
        assert kinds.count() == 4
        for i in range(4):
            box = kinds.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= widths[1], (path, i, box)
    visitor.step("every page within the 320 px screen")
