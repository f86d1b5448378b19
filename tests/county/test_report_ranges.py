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
