"""A rejected registration corrected and submitted again through the JSON API, under the page's rules
(`organisations.resubmit_organisation`): its own manager only, only while rejected, another user's
organisation a 404; and the page marks a refused field under it, as registering does."""

from __future__ import annotations

from institutions.models import Organisation
from shop.db import commit
from shop.extensions import db as _db
from tests.factories import make_user
from tests.form_fields import field_block
from tests.institutions.factories import REGISTRATION, add_member, make_credit_code, make_organisation
from tests.institutions.purchase_setup import logged_in_client


def test_its_manager_resubmits_a_rejected_registration_through_the_api(client, api_token, db):
    manager, viewer, stranger, county = make_user(), make_user(), make_user(), make_user(role="county")
    commit()
    m = api_token(manager)
    r = client.post("/api/v1/organisations", headers=m, json={**REGISTRATION, "credit_code": make_credit_code()})
    assert r.status_code == 201, r.json
    organisation_id = r.json["id"]
    url = f"/api/v1/organisations/{organisation_id}/resubmit"
    corrected = {**REGISTRATION, "name": "南昌县莲塘第一小学", "credit_code": r.json["credit_code"]}
    early = client.post(url, headers=m, json=corrected)  # pending: nothing to correct yet
    assert early.status_code == 409 and early.json["error"]["code"] == "organisation_not_rejected"
    rejected = client.post(
        f"/api/v1/organisations/{organisation_id}/reject", headers=api_token(county), json={"reason": "名称不全"}
    )
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    add_member(_db.session.get(Organisation, organisation_id), viewer, role="viewer")
    commit()

    assert client.post(url, headers=api_token(stranger), json=corrected).status_code == 404
    assert client.post(url, headers=api_token(viewer), json=corrected).status_code == 403
    # who may is asked first: the county office reads it, but a bad code from it is still a 403
    assert client.post(url, headers=api_token(county), json={**corrected, "credit_code": "x"}).status_code == 403
    bad = client.post(url, headers=m, json={**corrected, "contact_phone": "12345"})
    assert bad.status_code == 422 and "contact_phone" in bad.json["error"]["fields"]

    r = client.post(url, headers=m, json=corrected)
    assert r.status_code == 200, r.json
    assert (r.json["name"], r.json["status"], r.json["decision_reason"]) == ("南昌县莲塘第一小学", "pending", "")
    again = client.post(url, headers=m, json={**corrected, "name": "又改了"})  # a second submit changes nothing
    assert again.status_code == 409 and again.json["error"]["code"] == "organisation_not_rejected"
    got = client.get(f"/api/v1/organisations/{organisation_id}", headers=m).json
    assert (got["name"], got["status"]) == ("南昌县莲塘第一小学", "pending")


def test_the_correction_page_marks_a_refused_field_under_it(app, db):
    manager = make_user()
    organisation = make_organisation(status="rejected")
    organisation.decision_reason = "地址不全"
    add_member(organisation, manager, role="approver", is_manager=True)
    other = make_organisation(name="莲塘二小")
    commit()
    pages = logged_in_client(app, manager)
    url = f"/organisations/{organisation.id}/edit"
    code = organisation.credit_code
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    page = pages.post(url, data={**REGISTRATION, "credit_code": wrong}).get_data(as_text=True)
    field = field_block(page, "credit_code")
    assert "has-error" in field and "校验码须正确" in field and f'value="{wrong}"' in field
    assert "has-error" not in field_block(page, "contact_phone")
    r = pages.post(url, data={**REGISTRATION, "credit_code": other.credit_code})
    field = field_block(r.get_data(as_text=True), "credit_code")
    assert r.status_code == 409 and "has-error" in field and "该统一社会信用代码已登记" in field
    r = pages.post(url, data={**REGISTRATION, "credit_code": code, "contact_phone": "12345"})
    field = field_block(r.get_data(as_text=True), "contact_phone")
    assert r.status_code == 422 and "has-error" in field and "请填写正确的联系电话" in field
    assert "has-error" not in field_block(r.get_data(as_text=True), "credit_code")
