"""The harness itself: the live server answers, pages render at both viewports, problems are caught."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect


def test_home_page_renders_in_the_readers_language_without_errors(open_page, viewport, lang):
    shopper = open_page("shopper")
    response = shopper.goto("/")
    assert response is not None and response.status == 200
    expect(shopper.page.locator("html")).to_have_attribute("lang", re.compile("^zh" if lang == "zh_CN" else "^en"))
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
        r'<link[^>]+href="([^"]+)"[^>]*rel="(?:shortcut )?icon"', html
    )
    icon = urllib.parse.urljoin(live_server.url + "/", link.group(1)) if link else live_server.url + "/favicon.ico"
    assert status_of(icon) == 200, f"{icon} is not served; add an icon (static file + <link rel=icon>) to base.html"


BAD_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/css/site.css"></head>
<body><main><h1>{title}</h1>
<p>{other_language}</p>
<button class="btn btn-primary" type="button">{title}</button>
<button class="btn primary no-such-modifier" type="button">{title}</button>
<img src="/static/favicon.svg">
<div style="width: 3000px">{title}</div>
</main></body></html>"""


def test_harness_fails_a_page_with_each_kind_of_problem(open_page, live_server, lang):
    """A page served in place of ours (same origin, our stylesheet) with one of each problem the
    harness looks for: every one is reported."""
    user = open_page("probe")
    zh = lang == "zh_CN"
    html = BAD_PAGE.format(
        lang="zh-CN" if zh else "en",
        title="结算" if zh else "Checkout",
        other_language="The CSRF token is invalid." if zh else "去结算",
    )
    user.page.route(
        f"{live_server.url}/harness-probe",
        lambda route: route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8"),
    )
    user.goto("/harness-probe")
    found = "\n".join(open_page.problems.items)
    open_page.problems.items.clear()
    assert "sideways scrolling" in found
    assert "class btn-primary is in no stylesheet" in found
    assert "class no-such-modifier is in no stylesheet" in found
    assert "text in the other language" in found and ("CSRF" in found if zh else "去结算" in found)
    assert "axe (WCAG 2 A/AA)" in found and "image-alt" in found


def test_harness_fails_a_button_modifier_that_changes_nothing(open_page, live_server, lang):
    """`button.btn` outranking `.btn-danger` drew 取消订单 as a plain white button (#19.4)."""
    user = open_page("probe")
    html = (
        '<!doctype html><html lang="{lang}"><head><meta name="viewport" content="width=device-width">'
        '<title>OK</title><link rel="stylesheet" href="/static/css/site.css"><style>.btn.weak {{ }}</style>'
        '</head><body><main><h1>OK</h1><button class="btn weak" type="button">OK</button></main></body></html>'
    ).format(lang="zh-CN" if lang == "zh_CN" else "en")
    user.page.route(
        f"{live_server.url}/harness-probe",
        lambda route: route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8"),
    )
    user.goto("/harness-probe")
    found = "\n".join(open_page.problems.items)
    open_page.problems.items.clear()
    assert "weak changes nothing" in found, found


SHAPED_PAGE = """<!doctype html><html lang="{lang}"><head><meta name="viewport" content="width=device-width">
<title>{word}</title><link rel="stylesheet" href="/static/css/site.css"></head>
<body><main><h1>{word}</h1><p style="color: {color}">{word} 12</p><img src="/static/favicon.svg" {alt}></main></body></html>"""


def _serve(html: str):
    return lambda route: route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")


def test_harness_runs_axe_again_when_a_page_changes_shape_not_only_words(open_page, live_server, lang):
    """axe is skipped for a page shaped like one it passed (the same template with other data), so a page
    that differs by a missing alt text or an inline colour is still run through axe and fails."""
    user = open_page("probe")
    zh = lang == "zh_CN"
    pages = {
        "good": SHAPED_PAGE.format(
            lang="zh-CN" if zh else "en", word="甲" if zh else "One", color="#222", alt='alt="x"'
        ),
        "other-words": SHAPED_PAGE.format(
            lang="zh-CN" if zh else "en", word="乙" if zh else "Two", color="#222", alt='alt="y"'
        ),
        "no-alt": SHAPED_PAGE.format(lang="zh-CN" if zh else "en", word="丙" if zh else "Three", color="#222", alt=""),
        "faint": SHAPED_PAGE.format(
            lang="zh-CN" if zh else "en", word="丁" if zh else "Four", color="#ddd", alt='alt="z"'
        ),
    }
    for name, html in pages.items():
        user.page.route(f"{live_server.url}/harness-probe-{name}", _serve(html))
    for name in ("good", "other-words"):
        user.goto(f"/harness-probe-{name}")
        assert open_page.problems.items == [], open_page.problems.items
    user.goto("/harness-probe-no-alt")
    found = "\n".join(open_page.problems.items)
    open_page.problems.items.clear()
    assert "image-alt" in found, found
    user.goto("/harness-probe-faint")
    found = "\n".join(open_page.problems.items)
    open_page.problems.items.clear()
    assert "color-contrast" in found, found
