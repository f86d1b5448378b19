"""Removing a member of an organisation, and a member leaving (`organisations.remove_member`): whoever may add a
member may remove one (its manager, an admin), a member may leave, never its only manager or approver; confirmed
on the page, audited with time and actor, and the account's access ends with its next request — it gets what a
stranger gets (404) of the organisation's page, statement, purchases, quotes and invoices — while what it did
stays the organisation's. The same through `DELETE /api/v1/organisations/{id}/members/{user_id}`."""

from __future__ import annotations

import re

import sqlalchemy as sa

from institutions.models import OrganisationMember, Purchase
from shop.audit import AuditEntry
from shop.auth.models import User
from shop.db import commit
from shop.extensions import db as _db
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.institutions.factories import add_member, make_organisation
from tests.institutions.purchase_setup import (
    approved_purchase,
    ask_quote,
    logged_in_client,
    organisation_with_products,
    purchase_body,
)
from tests.sent_mail import mails_to

DETAILS = {"kind": "ordinary", "title": "南昌县第一中学", "tax_number": ""}


def _alerts(page: str) -> list[str]:
    return re.findall(r'class="alert[^"]*"[^>]*>(.*?)<', page, re.S)


def _members(organisation_id: int) -> list[int]:
    _db.session.expire_all()
    return list(
        _db.session.scalars(
            sa.select(OrganisationMember.user_id)
            .where(OrganisationMember.organisation_id == organisation_id)
            .order_by(OrganisationMember.user_id)
        )
    )


def _audits(organisation_id: int) -> list[tuple]:
    return [
        (a.action, a.actor_id, a.detail.get("user_id"), a.detail.get("role"), a.created_at is not None)
        for a in _db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.subject_type == "organisations", AuditEntry.subject_id == organisation_id)
            .order_by(AuditEntry.id)
        )
    ]


def _with_manager(organisation):
    """A manager added to `organisation` (a viewer who manages it), committed."""
    manager = make_user(name="单位管理员")
    add_member(organisation, manager, role="viewer", is_manager=True)
    commit()
    return manager


def test_the_manager_removes_a_member_after_a_confirmation_and_it_is_audited(app, db):
    organisation, buyer, approver, viewer, _rice, _eggs = organisation_with_products()
    manager = _with_manager(organisation)
    pages = logged_in_client(app, manager)
    page = pages.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    url = f"/organisations/{organisation.id}/members/{viewer.id}/remove"
    assert f'action="{url}"' in page and f'id="remove-member-{viewer.id}"' in page
    # the manager's own row offers no 退出单位: they are its only manager
    assert "leave-organisation" not in page and "唯一的管理员" in page

    asked = pages.post(url)
    assert asked.status_code == 303 and "/confirm/" in asked.headers["Location"]
    question = pages.get(asked.headers["Location"]).get_data(as_text=True)
    assert f"（{viewer.email}）移出单位「{organisation.name}」" in question
    assert "移出后对方立即不能再查看本单位的页面、采购单、询价和发票" in question
    assert "单位管理员可以再把这个账号添加为成员" in question and "此操作不能撤销" not in question
    assert viewer.id in _members(organisation.id)  # asked, not done

    done = pages.post(url, data={"confirm": "1"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/organisations/{organisation.id}")
    assert f"已把 {viewer.email} 移出本单位" in _alerts(pages.get(done.headers["Location"]).get_data(as_text=True))
    assert _members(organisation.id) == sorted([buyer.id, approver.id, manager.id])
    assert _audits(organisation.id) == [("organisation.member_remove", manager.id, viewer.id, "viewer", True)]
    # confirmed again (Back to the confirmation): told the account is no member, nothing more happens
    again = pages.post(url, data={"confirm": "1"})
    assert again.status_code == 303
    assert "该账号不是本单位的成员" in _alerts(pages.get(again.headers["Location"]).get_data(as_text=True))
    assert len(_audits(organisation.id)) == 1


def test_a_member_leaves_and_lands_on_their_organisations(app, db):
    organisation, buyer, approver, viewer, _rice, _eggs = organisation_with_products()
    _with_manager(organisation)
    pages = logged_in_client(app, viewer)
    page = pages.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert 'id="leave-organisation"' in page and "remove-member-" not in page  # not theirs to remove others
    url = f"/organisations/{organisation.id}/members/{viewer.id}/remove"
    question = pages.get(pages.post(url).headers["Location"]).get_data(as_text=True)
    assert f"确认退出单位「{organisation.name}」" in question and "退出后您不能再查看本单位" in question
    done = pages.post(url, data={"confirm": "1"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/organisations")
    assert f"您已退出单位「{organisation.name}」" in _alerts(pages.get("/organisations").get_data(as_text=True))
    assert viewer.id not in _members(organisation.id)
    assert _audits(organisation.id) == [("organisation.member_leave", viewer.id, viewer.id, "viewer", True)]
    assert pages.get(f"/organisations/{organisation.id}").status_code == 404
    # a member removing another: 403, nothing asked; a stranger: 404
    assert (
        logged_in_client(app, buyer).post(f"/organisations/{organisation.id}/members/{approver.id}/remove").status_code
        == 403
    )
    assert pages.post(f"/organisations/{organisation.id}/members/{buyer.id}/remove").status_code == 404
    assert buyer.id in _members(organisation.id) and approver.id in _members(organisation.id)


def test_a_removed_member_gets_what_a_stranger_gets_from_their_next_request(app, client, db, api_token):
    """The buyer placed the organisation's orders, asked a quote and an invoice for one of its orders; removed
    through the API, each of the organisation's pages and API resources is a 404 for them, as for a stranger,
    while the organisation's members still see all of it: it stays the organisation's."""
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    manager = _with_manager(organisation)
    stranger = make_user()
    commit()
    codes = approved_purchase(client, api_token, organisation, buyer, approver, rice, eggs)
    purchase_id = _db.session.scalar(sa.select(Purchase.id))
    b = api_token(buyer)
    quote = ask_quote(client, {"b": b, "organisation": organisation, "rice": rice})
    asked = client.post(f"/api/v1/orders/{codes[0]}/invoice-request", headers=b, json=DETAILS)
    assert asked.status_code == 201, asked.json
    invoice_id = asked.json["items"][0]["id"]
    year = local_date(now_utc()).year
    api_urls = [
        f"/api/v1/organisations/{organisation.id}",
        f"/api/v1/organisations/{organisation.id}/statement?year={year}",
        f"/api/v1/purchases/{purchase_id}",
        f"/api/v1/quote-requests/{quote['id']}",
        f"/api/v1/invoices/{invoice_id}",
    ]
    page_urls = [
        f"/organisations/{organisation.id}",
        f"/organisations/{organisation.id}/statement?year={year}",
        f"/organisations/{organisation.id}/quote-requests",
        f"/purchases/{purchase_id}",
        f"/quote-requests/{quote['id']}",
        f"/invoices/{invoice_id}",
    ]
    buyer_pages = logged_in_client(app, buyer)
    assert [client.get(u, headers=b).status_code for u in api_urls] == [200] * len(api_urls)
    assert [buyer_pages.get(u).status_code for u in page_urls] == [200] * len(page_urls)

    removed = client.delete(f"/api/v1/organisations/{organisation.id}/members/{buyer.id}", headers=api_token(manager))
    assert removed.status_code == 200, removed.json
    assert removed.json == {"organisation_id": organisation.id, "user_id": buyer.id, "removed": True}
    assert _audits(organisation.id)[-1] == ("organisation.member_remove", manager.id, buyer.id, "buyer", True)

    s = api_token(stranger)
    stranger_pages = logged_in_client(app, stranger)
    assert [client.get(u, headers=s).status_code for u in api_urls] == [404] * len(api_urls)
    assert [client.get(u, headers=b).status_code for u in api_urls] == [404] * len(api_urls)
    assert [stranger_pages.get(u).status_code for u in page_urls] == [404] * len(page_urls)
    assert [buyer_pages.get(u).status_code for u in page_urls] == [404] * len(page_urls)
    assert invoice_id not in [i["id"] for i in client.get("/api/v1/invoices", headers=b).json["items"]]
    # nor ask for another of the organisation's invoices, nor a new purchase for it
    assert client.post(f"/api/v1/orders/{codes[1]}/invoice-request", headers=b, json=DETAILS).status_code == 404
    body = purchase_body(organisation, rice, eggs)
    assert client.post("/api/v1/purchases", headers=b, json=body).status_code in (403, 404)
    # the orders they placed stay the organisation's: on its purchase, its statement, its invoices
    a = api_token(approver)
    purchase = client.get(f"/api/v1/purchases/{purchase_id}", headers=a).json
    assert sorted(o["code"] for o in purchase["orders"]) == sorted(codes)
    assert client.get(f"/api/v1/invoices/{invoice_id}", headers=a).status_code == 200
    # placed on the buyer's account, they stay in its own orders, with no link to the purchase
    mine = client.get(f"/api/v1/orders/{codes[0]}", headers=b)
    assert mine.status_code == 200 and mine.json["origin"] is None


def test_the_only_manager_and_the_only_approver_cannot_be_removed_nor_leave(app, client, db, api_token):
    manager, approver, second = make_user(name="王会计"), make_user(name="财务老李"), make_user()
    organisation = make_organisation()
    add_member(organisation, manager, role="approver", is_manager=True)  # registered it
    add_member(organisation, approver, role="approver")
    admin = make_user(role="admin")
    commit()
    base = f"/api/v1/organisations/{organisation.id}/members"
    m = api_token(manager)
    for who, headers in ((manager, m), (manager, api_token(admin))):
        r = client.delete(f"{base}/{who.id}", headers=headers)
        assert r.status_code == 409 and r.json["error"]["code"] == "organisation_needs_manager", r.json
        assert "王会计 是本单位唯一的管理员，不能移出或退出" in r.json["error"]["message"]
    # the organisation has two approvers: one may go; then the other (the manager) is its only one
    assert client.delete(f"{base}/{approver.id}", headers=api_token(approver)).status_code == 200
    add_member(organisation, second, role="viewer", is_manager=True)
    commit()
    r = client.delete(f"{base}/{manager.id}?lang=en", headers=m)  # a second manager now, but no other approver
    assert r.status_code == 409 and r.json["error"]["code"] == "organisation_needs_approver_left", r.json
    assert "the only approver" in r.json["error"]["message"], r.json
    assert _members(organisation.id) == sorted([manager.id, second.id])
    # the page offers them no button and refuses a POST at once, before any confirmation
    pages = logged_in_client(app, manager)
    page = pages.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert "唯一的审批人" in page and 'id="leave-organisation"' not in page
    r = pages.post(f"/organisations/{organisation.id}/members/{manager.id}/remove")
    assert r.status_code == 303 and "/confirm/" not in r.headers["Location"]
    assert "王会计 是本单位唯一的审批人，不能移出或退出" in "".join(
        _alerts(pages.get(r.headers["Location"]).get_data(as_text=True))
    )
    assert _members(organisation.id) == sorted([manager.id, second.id])


def test_who_may_remove_is_who_may_add(client, db, api_token):
    organisation, buyer, approver, viewer, _rice, _eggs = organisation_with_products()
    manager = _with_manager(organisation)
    county, admin, stranger = make_user(role="county"), make_user(role="admin"), make_user()
    commit()
    base = f"/api/v1/organisations/{organisation.id}/members"
    r = client.delete(f"{base}/{viewer.id}", headers=api_token(buyer))
    assert r.status_code == 403 and r.json["error"]["code"] == "member_remove_forbidden", r.json
    assert client.delete(f"{base}/{viewer.id}", headers=api_token(county)).status_code == 403  # reads, never manages
    r = client.delete(f"{base}/{viewer.id}", headers=api_token(stranger))
    assert r.status_code == 404 and r.json["error"]["code"] == "organisation_not_found"
    r = client.delete(f"{base}/{stranger.id}", headers=api_token(manager))
    assert r.status_code == 404 and r.json["error"]["code"] == "member_not_found"
    assert client.delete(f"{base}/{viewer.id}", headers=api_token(admin)).status_code == 200
    assert (
        client.delete(
            f"/api/v1/organisations/{organisation.id + 1000}/members/{buyer.id}", headers=api_token(admin)
        ).status_code
        == 404
    )
    assert _members(organisation.id) == sorted([buyer.id, approver.id, manager.id])


def test_a_submitted_purchase_whose_buyer_left_is_sent_back_not_placed(app, client, db, api_token, caplog):
    """Approving it would place orders on an account outside the organisation: refused, nothing placed; the
    approver sends it back, and the buyer who left is not mailed about it."""
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    b = api_token(buyer)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    assert client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b).status_code == 200
    assert client.delete(f"/api/v1/organisations/{organisation.id}/members/{buyer.id}", headers=b).status_code == 200
    a = api_token(approver)
    r = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=a, json={})
    assert r.status_code == 409 and r.json["error"]["code"] == "purchase_buyer_left", r.json
    finance = logged_in_client(app, approver)
    page = finance.get(f"/purchases/{purchase_id}").get_data(as_text=True)
    assert "采购员已不是本单位的成员：请写明原因退回" in page and "审批通过并下单" not in page
    refused = finance.post(f"/purchases/{purchase_id}/approve")
    assert refused.status_code == 303 and "/confirm/" not in refused.headers["Location"]
    assert "建这张采购单的采购员已不是本单位的成员" in "".join(
        _alerts(finance.get(refused.headers["Location"]).get_data(as_text=True))
    )
    with caplog.at_level("INFO", logger="shop.mail"):
        r = client.post(f"/api/v1/purchases/{purchase_id}/reject", headers=a, json={"reason": "请重新建单"})
    assert r.status_code == 200 and r.json["status"] == "rejected"
    assert mails_to(caplog, buyer.email) == []  # its link would be a 404 for them


def test_an_admin_changes_the_role_of_an_account_once_it_has_left_its_organisation(app, db):
    """The role change's refusal no longer says to create another account: it says to remove the account from
    the organisation (or leave it) first, which then lets the change through."""
    organisation, _buyer, _approver, viewer, _rice, _eggs = organisation_with_products()
    admin = make_user(role="admin")
    commit()
    pages = logged_in_client(app, admin)
    refused = pages.post(f"/admin/users/{viewer.id}/role", data={"role": "county"}, follow_redirects=True)
    said = refused.get_data(as_text=True)
    assert "请先在该单位的页面把这个账号移出单位" in said and "另建一个账号" not in said
    removed = pages.post(f"/organisations/{organisation.id}/members/{viewer.id}/remove", data={"confirm": "1"})
    assert removed.status_code == 303
    pages.post(f"/admin/users/{viewer.id}/role", data={"role": "county", "confirm": "1"})
    _db.session.expire_all()
    assert _db.session.get(User, viewer.id).role == "county"
