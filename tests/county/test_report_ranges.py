"""#19.8: a reversed date range on the county's reports is explained on the page, not a bare 400."""

from __future__ import annotations

from tests.factories import make_household, make_user


def test_a_reversed_range_is_an_in_page_error(client, db, auth):
    household = make_household()
    auth.login(make_user(role="county"))
    for url in (
        "/county/?from=2026-12-01&to=2026-11-01",
        "/county/income?from=2026-12-01&to=2026-11-01",
        f"/county/households/{household.id}/statement?from=2026-12-01&to=2026-11-01",
    ):
        res = client.get(url)
        html = res.get_data(as_text=True)
        assert res.status_code == 422, url
        assert "开始日期晚于结束日期" in html and 'class="site-header"' in html and "<h1>422" not in html, url
    assert client.get("/county/income?from=2026-11-01&to=2026-12-01").status_code == 200
    export = client.get("/county/income?from=2026-12-01&to=2026-11-01&format=csv")
    assert export.status_code == 400 and "开始日期晚于结束日期" in export.get_data(as_text=True)


def test_the_range_forms_date_pickers_stay_within_the_dates_the_reports_accept(client, db, auth):
    """A date outside [2000-01-01, 2099-12-31] (a year 20260 typed into the picker) came back as a bare 400
    page naming the argument `from`; the picker now refuses it before the form is sent."""
    import re

    from shop.args import MAX_DATE, MIN_DATE

    household = make_household()
    auth.login(make_user(role="county"))
    for url in ("/county/", "/county/income", f"/county/households/{household.id}/statement"):
        html = client.get(url).get_data(as_text=True)
        inputs = re.findall(r'<input type="date" name="(?:from|to)"[^>]*>', html)
        assert len(inputs) == 2, url
        for tag in inputs:
            assert f'min="{MIN_DATE.isoformat()}"' in tag and f'max="{MAX_DATE.isoformat()}"' in tag, (url, tag)


def test_the_export_links_of_a_page_that_dropped_its_range_export_what_it_shows(client, db, auth):
    """A reversed or mistyped range shows the whole period with the reason; its XLSX/CSV links still carried
    the URL's dates, so a tap on them (on a phone: a download that never came) was a bare 400 page."""
    import re
    from html import unescape

    household = make_household()
    auth.login(make_user(role="county"))
    for page in (
        "/county/income?from=2026-12-01&to=2026-11-01",
        "/county/income?from=2026-13-45&group_by=month",
        f"/county/households/{household.id}/statement?from=2026-12-01&to=2026-11-01",
    ):
        html = client.get(page).get_data(as_text=True)
        links = [unescape(u) for u in re.findall(r'href="([^"]*format=(?:xlsx|csv)[^"]*)"', html)]
        assert links, page
        for link in links:
            assert "2026-1" not in link, link
            assert client.get(link).status_code == 200, link
    # a good range is kept in the links
    html = client.get("/county/income?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    links = [unescape(u) for u in re.findall(r'href="([^"]*format=(?:xlsx|csv)[^"]*)"', html)]
    assert links and all("from=2026-11-01" in u and "to=2026-11-30" in u for u in links)
