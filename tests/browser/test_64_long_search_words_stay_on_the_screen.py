"""Journey: a first-time buyer, not signed in, pastes what a friend sent on WeChat into the search box: a
shop link with no space in it. The results page says 搜索：<what was typed> as its title, and that one long
word ran off the screen: the page scrolled sideways on a 390 px phone (over 1000 px wide) and on a desktop too.
The title now breaks the word to fit; the results and the filters are read without scrolling sideways
(the harness fails any page wider than its screen), and the buyer searches again with a short word."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.journeys import PICKLES_FAMILY, search

#: pasted from a chat: a shop link, one word of 98 characters (the box takes 100)
PASTED = "https://m.example.cn/i/" + "sanjiangyancai" * 5 + "?wx=1"


def test_a_pasted_link_in_the_search_box_stays_on_the_screen(open_page, viewport):
    buyer = open_page("buyer")
    page = buyer.page
    buyer.goto("/")
    search(buyer, PASTED)  # the harness checks the results page is no wider than the screen
    title = page.get_by_role("heading", level=1)
    expect(title).to_contain_text(PASTED)
    box = title.bounding_box()
    assert box is not None and box["x"] + box["width"] <= viewport.width, box
    assert title.evaluate("h => h.scrollWidth <= h.clientWidth"), "the title's word runs past its box"
    buyer.step("a pasted link: the title wraps")

    search(buyer, "yancai")
    expect(page.get_by_role("article").filter(has_text=PICKLES_FAMILY).first).to_be_visible()
    buyer.step("searched again: the pickles")
