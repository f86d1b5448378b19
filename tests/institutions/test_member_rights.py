"""Changing a member's rights (`organisations.change_member_rights`): whoever may add a member (its manager, an
admin) changes a member's role and whether it manages the organisation — a second manager or approver is made
so, and the manager who registered it may then leave —, never leaving it without an active manager or
approver; audited with time and actor, counted from the member's next request. On the members list (its row's
更改权限) and through `PATCH /api/v1/organisations/{id}/members/{user_id}`."""

from __future__ import annotations

import re

import sqlalchemy as sa

from institutions.models import OrganisationMember
from shop.audit import AuditEntry
from shop.db import commit
from shop.extensions import db as _db
from tests.factories import make_user
from tests.institutions.factories import add_member, make_organisation
from tests.institutions.purchase_setup import logged_in_client, organisation_with_products, purchase_body


def _alerts(page: str) -> list[str]:
    return re.findall(r'class="alert[^"]*"[^>]*>(.*?)<', page, re.S)


def _rights(organisation_id: int) -> dict[int, tuple[str, bool]]:
    _db.session.expire_all()
    return {
        m.user_id: (m.role, m.is_manager)
        for m in _db.session.scalars(
            sa.select(OrganisationMember).where(OrganisationMember.organisation_id == organisation_id)
        )
    }


def _audits(organisation_id: int) -> list[tuple]:
    return [
        (
            a.action,
            a.actor_id,
            a.detail.get("user_id"),
            a.detail.get("old_role"),
            a.detail.get("role"),
            a.detail.get("old_is_manager"),
            a.detail.get("is_manager"),
            a.created_at is not None,
        )
        for a in _db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.subject_type == "organisations", AuditEntry.subject_id == organisation_id)
            .order_by(AuditEntry.id)
        )
    ]


def _registered():
    """An organisation as registering leaves it: its registrant the only member, approver and manager; and two
    accounts added as viewers. (organisation, registrant, first, second), committed."""
    registrant, first, second = make_user(name="王会计"), make_user(name="李老师"), make_user(name="张老师")
    organisation = make_organisation()
    add_member(organisation, registrant, role="approver", is_manager=True)
    add_member(organisation, first, role="viewer")
    add_member(organisation, second, role="viewer")
    commit()
    return organisation, registrant, first, second


def test_the_registrant_makes_a_second_manager_and_approver_on_the_page_then_leaves(app, client, db, api_token):
    organisation, registrant, first, second = _registered()
    pages = logged_in_client(app, registrant)
    page = pages.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    url = f"/organisations/{organisation.id}/members/{first.id}/rights"
    assert f'action="{url}"' in page and f'id="member-rights-{first.id}-manager"' in page
    done = pages.post(url, data={"role": "approver", "is_manager": "y"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/organisations/{organisation.id}")
    assert f"已保存 {first.email} 的权限" in _alerts(pages.get(done.headers["Location"]).get_data(as_text=True))
    assert _rights(organisation.id)[first.id] == ("approver", True)
    assert _audits(organisation.id) == [
        ("organisation.member_rights", registrant.id, first.id, "viewer", "approver", False, True, True)
    ]

    # from its next request the new manager adds, changes and removes members
    f = api_token(first)
    base = f"/api/v1/organisations/{organisation.id}/members"
    third = make_user()
    commit()
    assert client.post(base, headers=f, json={"email": third.email, "role": "buyer"}).status_code == 201
    r = client.patch(f"{base}/{second.id}", headers=f, json={"role": "buyer"})
    assert r.status_code == 200 and r.json["role"] == "buyer" and r.json["is_manager"] is False, r.json
    assert client.delete(f"{base}/{third.id}", headers=f).status_code == 200
    first_pages = logged_in_client(app, first)
    assert f'id="member-rights-{second.id}"' in first_pages.get(f"/organisations/{organisation.id}").get_data(
        as_text=True
    )

    # the registrant is no longer its only manager nor approver: it may leave
    assert client.delete(f"{base}/{registrant.id}", headers=api_token(registrant)).status_code == 200
    assert set(_rights(organisation.id)) == {first.id, second.id}


def test_an_approver_whose_right_was_taken_can_no_longer_approve(app, client, db, api_token):
    organisation, buyer, approver, viewer, rice, eggs = organisation_with_products()
    manager = make_user()
    add_member(organisation, manager, role="viewer", is_manager=True)
    commit()
    m = api_token(manager)
    base = f"/api/v1/organisations/{organisation.id}/members"
    # its only approver: its right is kept (a purchase could never be approved), nothing changed nor audited
    r = client.patch(f"{base}/{approver.id}", headers=m, json={"role": "viewer"})
    assert r.status_code == 409 and r.json["error"]["code"] == "organisation_needs_approver", r.json
    assert _rights(organisation.id)[approver.id] == ("approver", False) and _audits(organisation.id) == []
    # another approver first, then it goes
    assert client.patch(f"{base}/{viewer.id}", headers=m, json={"role": "approver"}).status_code == 200
    r = client.patch(f"{base}/{approver.id}", headers=m, json={"role": "viewer"})
    assert r.status_code == 200 and r.json["role"] == "viewer", r.json

    b, a = api_token(buyer), api_token(approver)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    assert client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b).status_code == 200
    r = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=a, json={})
    assert r.status_code == 403 and r.json["error"]["code"] == "approver_only", r.json
    page = logged_in_client(app, approver).get(f"/purchases/{purchase_id}").get_data(as_text=True)
    assert "审批通过并下单" not in page
    r = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=api_token(viewer), json={})
    assert r.status_code == 200, r.json


def test_its_only_manager_keeps_the_right_and_gives_it_up_once_another_has_it(app, client, db, api_token):
    organisation, registrant, first, _second = _registered()
    base = f"/api/v1/organisations/{organisation.id}/members"
    g = api_token(registrant)
    admin = make_user(role="admin")
    commit()
    for headers in (g, api_token(admin)):
        r = client.patch(f"{base}/{registrant.id}", headers=headers, json={"is_manager": False})
        assert r.status_code == 409 and r.json["error"]["code"] == "organisation_needs_manager_kept", r.json
        assert "王会计 是本单位唯一的管理员" in r.json["error"]["message"]
    r = client.patch(f"{base}/{registrant.id}", headers=g, json={"role": "buyer"})
    assert r.status_code == 409 and r.json["error"]["code"] == "organisation_needs_approver", r.json
    # the page says the same, with its status, nothing changed
    pages = logged_in_client(app, registrant)
    refused = pages.post(f"/organisations/{organisation.id}/members/{registrant.id}/rights", data={"role": "approver"})
    assert refused.status_code == 409
    assert "王会计 是本单位唯一的管理员，不能取消其管理员权限" in "".join(_alerts(refused.get_data(as_text=True)))
    assert _rights(organisation.id)[registrant.id] == ("approver", True) and _audits(organisation.id) == []

    # an admin makes another manager and approver; the registrant then lowers its own rights
    assert client.patch(
        f"{base}/{first.id}", headers=api_token(admin), json={"role": "approver", "is_manager": True}
    ).json == {"user_id": first.id, "name": "李老师", "email": first.email, "role": "approver", "is_manager": True}
    r = client.patch(f"{base}/{registrant.id}", headers=g, json={"role": "buyer", "is_manager": False})
    assert r.status_code == 200 and (r.json["role"], r.json["is_manager"]) == ("buyer", False), r.json
    assert _audits(organisation.id) == [
        ("organisation.member_rights", admin.id, first.id, "viewer", "approver", False, True, True),
        ("organisation.member_rights", registrant.id, registrant.id, "approver", "buyer", True, False, True),
    ]
    # no longer a manager: from its next request it changes nobody's rights
    r = client.patch(f"{base}/{first.id}", headers=g, json={"role": "viewer"})
    assert r.status_code == 403 and r.json["error"]["code"] == "member_rights_forbidden", r.json


def test_who_may_change_rights_is_who_may_add_and_bad_input_changes_nothing(app, client, db, api_token):
    organisation, buyer, approver, viewer, _rice, _eggs = organisation_with_products()
    manager = make_user()
    add_member(organisation, manager, role="viewer", is_manager=True)
    county, stranger = make_user(role="county"), make_user()
    commit()
    base = f"/api/v1/organisations/{organisation.id}/members"
    before = _rights(organisation.id)
    r = client.patch(f"{base}/{viewer.id}", headers=api_token(buyer), json={"role": "approver"})
    assert r.status_code == 403 and r.json["error"]["code"] == "member_rights_forbidden", r.json
    r = client.patch(f"{base}/{buyer.id}", headers=api_token(buyer), json={"is_manager": True})
    assert r.status_code == 403  # nobody raises their own rights
    assert client.patch(f"{base}/{viewer.id}", headers=api_token(county), json={"role": "buyer"}).status_code == 403
    r = client.patch(f"{base}/{viewer.id}", headers=api_token(stranger), json={"role": "buyer"})
    assert r.status_code == 404 and r.json["error"]["code"] == "organisation_not_found"
    m = api_token(manager)
    r = client.patch(f"{base}/{stranger.id}", headers=m, json={"role": "buyer"})
    assert r.status_code == 404 and r.json["error"]["code"] == "member_not_found", r.json
    assert client.patch(f"{base}/{viewer.id}", headers=m, json={"role": "owner"}).status_code == 422
    assert client.patch(f"{base}/{viewer.id}", headers=m, json={"is_manager": "yes"}).status_code == 422
    pages = logged_in_client(app, manager)
    bad = pages.post(f"/organisations/{organisation.id}/members/{viewer.id}/rights", data={"role": "owner"})
    assert bad.status_code == 422
    assert (
        logged_in_client(app, buyer)
        .post(f"/organisations/{organisation.id}/members/{viewer.id}/rights", data={"role": "approver"})
        .status_code
        == 403
    )
    page = logged_in_client(app, buyer).get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert "member-rights-" not in page
    assert _rights(organisation.id) == before and _audits(organisation.id) == []
    # the same rights again: answered, nothing audited
    r = client.patch(f"{base}/{viewer.id}", headers=m, json={"role": "viewer", "is_manager": False})
    assert r.status_code == 200 and _audits(organisation.id) == []
