"""#19.8: forgot-password is linked from the login page; change-password from 我的 (`/account`), which the
header and the account's lists (我的订单, 我的预订) link to."""

from __future__ import annotations

from tests.factories import make_user


def test_login_page_links_to_forgot_password(client, db):
    assert 'href="/password/forgot"' in client.get("/login").get_data(as_text=True)


def test_account_pages_lead_to_change_password_through_my_account(client, db, auth):
    auth.login(make_user(name="小李"))
    for url in ("/", "/orders", "/bookings"):
        assert 'href="/account"' in client.get(url).get_data(as_text=True), url
    assert 'href="/password/change"' in client.get("/account").get_data(as_text=True)
