"""The harness itself: the live server answers, pages render at both viewports, problems are caught."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect


def test_home_page_renders_in_chinese_without_errors(open_page, viewport):
    shopper = open_page("shopper")
    response = shopper.goto("/")
    assert response is not None and response.status == 200
    expect(shopper.page.locator("html")).to_have_attribute("lang", re.compile("^zh"))
    expect(shopper.page.get_by_role("search")).to_be_visible()
    width = shopper.page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport.width, f"page is {width}px wide on a {viewport.width}px {viewport.name} screen"
    shopper.step("home")


def test_harness_reports_a_404_from_our_server_and_allows_an_expected_one(open_page, viewport):
    page = open_page("probe")
    page.goto("/definitely-not-a-page")
    assert any("HTTP 404" in p for p in open_page.problems.items), open_page.problems.items
    open_page.problems.items.clear()
    with open_page.problems.allow(404, r"/definitely-not-a-page$"):
        page.goto("/definitely-not-a-page")
    assert open_page.problems.items == []
    with pytest.raises(AssertionError, match="HTTP 404"):
        page.goto("/definitely-not-a-page")
        page.step("unexpected 404")
    open_page.problems.items.clear()


def test_site_has_a_favicon_so_browsers_get_no_404(live_server):
    """Chromium asks for an icon on every site; the journeys ignore a /favicon.ico 404, this test does not."""
    import urllib.error
    import urllib.parse
    import urllib.request

    def status_of(url: str) -> int:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with urllib.request.urlopen(live_server.url + "/", timeout=5) as r:
        html = r.read().decode()
    link = re.search(r'<link[^>]+rel="(?:shortcut )?icon"[^>]*href="([^"]+)"', html) or re.search(
        r'<link[^>]+href="([^"]+)"[^>]*rel="(?:shortcut )?icon"', html)
    icon = urllib.parse.urljoin(live_server.url + "/", link.group(1)) if link else live_server.url + "/favicon.ico"
    assert status_of(icon) == 200, f"{icon} is not served; add an icon (static file + <link rel=icon>) to base.html"
