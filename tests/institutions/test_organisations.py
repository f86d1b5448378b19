"""Organisation accounts (#22 a): registration with a checked credit code, the county office's
verification (audited), members and roles, and an organisation nobody else can see (404)."""

from __future__ import annotations

import sqlalchemy as sa

from institutions.models import Organisation, OrganisationMember
from shop.audit import AuditEntry
from shop.db import commit
from shop.once import new_form_token
from tests.factories import make_user
from tests.form_fields import field_block
from tests.institutions.factories import add_member, make_credit_code, make_organisation
from tests.once_token import once_token

FORM = {
    "name": "南昌县莲塘第一小学",
    "kind": "budget_unit",
    "address": "南昌县莲塘镇向阳路 8 号",
    "contact_name": "王会计",
    "contact_phone": "0791-85712345",
    "form_token": new_form_token(),  # claimed only by a POST that registers (each test's own transaction)
}


FULL_WIDTH = str.maketrans(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
)


def _count(model) -> int:
    from shop.extensions import db

    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_buyer_registers_an_organisation_and_becomes_its_manager_and_approver(client, db, auth):
    user = make_user(name="王会计")
    commit()
    auth.login(user)
    assert "登记单位" in client.get("/organisations").get_data(as_text=True)
    code = make_credit_code()
    r = client.post("/organisations/new", data={**FORM, "credit_code": code.lower()})
    assert r.status_code == 303
    organisation = db.session.scalar(sa.select(Organisation))
    assert (organisation.credit_code, organisation.status, organisation.contact_phone) == (
        code,
        "pending",
        "0791-85712345",
    )
    assert [(m.user_id, m.role, m.is_manager) for m in organisation.members] == [(user.id, "approver", True)]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "南昌县莲塘第一小学" in page and "待审核" in page and code in page
    assert "南昌县莲塘第一小学" in client.get("/organisations").get_data(as_text=True)


def test_a_credit_code_typed_in_full_width_is_read_as_ascii(client, db, auth):
    """统一社会信用代码 copied from a licence with a Chinese input method in full-width mode (９１３６…Ｘ, an
    ideographic space) is the code it stands for (docs/input-validation.md, digits)."""
    user = make_user()
    commit()
    auth.login(user)
    code = make_credit_code()
    typed = code[:9].translate(FULL_WIDTH) + "\u3000" + code[9:].translate(FULL_WIDTH)
    r = client.post("/organisations/new", data={**FORM, "credit_code": typed})
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    assert db.session.scalar(sa.select(Organisation.credit_code)) == code


def test_the_organisation_page_says_who_builds_purchases_when_it_offers_no_button(client, db, auth):
    """A first-time manager (the approver who registered it) is not a buyer: the page says why there is
    no 新建采购单 and how to get one (add a buyer), in either language; a buyer gets the button."""
    manager, buyer, viewer = make_user(), make_user(), make_user()
    pending = make_organisation(name="待审核的单位", status="pending")
    add_member(pending, manager, role="approver", is_manager=True)
    alone = make_organisation(name="还没有采购员的单位")
    add_member(alone, manager, role="approver", is_manager=True)
    approved = make_organisation(members={"buyer": buyer, "viewer": viewer})
    add_member(approved, manager, role="approver", is_manager=True)
    commit()
    auth.login(manager)
    page = client.get(f"/organisations/{pending.id}").get_data(as_text=True)
    assert "扶贫办审核通过后，本单位的采购员可以新建采购单。" in page
    page = client.get(f"/organisations/{alone.id}").get_data(as_text=True)
    assert "采购单由本单位的采购员新建，再由审批人审批。" in page and "请在下方“添加成员或更改角色”里添加采购员" in page
    assert "新建采购单</a>" not in page
    page = client.get(f"/organisations/{alone.id}?lang=en").get_data(as_text=True)
    assert "Purchases are built by the organisation's buyers" in page and "add a buyer" in page
    page = client.get(f"/organisations/{approved.id}?lang=zh_CN").get_data(as_text=True)  # it has a buyer
    assert "采购单由本单位的采购员新建，再由审批人审批。" in page and "添加采购员" not in page
    auth.login(viewer)
    page = client.get(f"/organisations/{approved.id}?lang=zh_CN").get_data(as_text=True)
    assert "采购单由本单位的采购员新建，再由审批人审批。" in page and "添加采购员" not in page
    auth.login(buyer)
    page = client.get(f"/organisations/{approved.id}").get_data(as_text=True)
    assert "新建采购单</a>" in page and "purchase-hint" not in page


def test_the_organisation_page_leads_its_members_with_rights_to_the_invoices(client, db, auth):
    """The finance approver never placed the orders, so no order page leads them to 发票: the
    organisation's page does (the list of its invoices, and from there a period's request); a viewer,
    who may not ask for invoices, gets no such link."""
    approver, viewer = make_user(), make_user()
    organisation = make_organisation(members={"approver": approver, "viewer": viewer})
    commit()
    auth.login(approver)
    page = client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert 'href="/invoices" id="organisation-invoices">发票</a>' in page
    assert "按期间申请发票" in client.get("/invoices").get_data(as_text=True)
    assert ">Invoices</a>" in client.get(f"/organisations/{organisation.id}?lang=en").get_data(as_text=True)
    auth.login(viewer)
    assert "organisation-invoices" not in client.get(f"/organisations/{organisation.id}").get_data(as_text=True)


def test_a_double_tap_on_register_registers_once_and_says_so(client, db, auth):
    """The second POST of the same page (a double tap) is not told 该代码已登记 as if someone else had
    registered it: it registers nothing and lands on 单位采购, where the organisation is listed."""
    user = make_user()
    commit()
    auth.login(user)
    page = client.get("/organisations/new").get_data(as_text=True)
    token = once_token(page)
    data = {**FORM, "credit_code": make_credit_code(), "form_token": token}
    assert client.post("/organisations/new", data=data).status_code == 303
    second = client.post("/organisations/new", data=data, follow_redirects=True)
    page = second.get_data(as_text=True)
    assert second.status_code == 200 and "此表单已提交过，没有重复创建" in page and FORM["name"] in page
    assert "已登记" not in page.replace("单位已登记", "")
    missing = client.post("/organisations/new", data={**data, "form_token": ""})
    assert missing.status_code == 422 and "表单已过期，请刷新页面后重新提交" in missing.get_data(as_text=True)
    assert 'name="form_token" type="hidden" value=""' not in missing.get_data(as_text=True)  # drawn afresh
    assert _count(Organisation) == 1


def _taken_code_and_a_wrong_one(auth) -> tuple[str, str]:
    """A credit code another organisation holds, and one with a wrong check character; a new user signed in."""
    code = make_credit_code()
    make_organisation(name="已登记的单位").credit_code = code
    user = make_user()
    commit()
    auth.login(user)
    return code, code[:17] + ("0" if code[17] != "0" else "1")


def test_a_wrong_check_character_or_a_taken_code_is_refused_and_nothing_is_written(client, db, auth):
    code, wrong = _taken_code_and_a_wrong_one(auth)
    r = client.post("/organisations/new", data={**FORM, "credit_code": wrong})
    assert r.status_code == 422 and "校验码" in r.get_data(as_text=True)
    r = client.post("/organisations/new", data={**FORM, "credit_code": code})
    assert r.status_code == 409 and "已登记" in r.get_data(as_text=True)
    assert "请本单位的管理员在单位页面把您的邮箱添加为成员" in r.get_data(as_text=True)  # how a colleague joins
    r = client.post("/organisations/new?lang=en", data={**FORM, "credit_code": code})
    assert "ask its manager to add your e-mail as a member" in r.get_data(as_text=True)
    r = client.post("/organisations/new", data={**FORM, "credit_code": make_credit_code(), "contact_phone": "12345"})
    assert r.status_code == 422
    assert _count(Organisation) == 1 and _count(OrganisationMember) == 0


def test_the_county_office_approves_or_rejects_with_a_reason_and_both_are_audited(client, db, auth):
    county = make_user(role="county")
    first, second = (
        make_organisation(status="pending"),
        make_organisation(name="某公司", kind="company", status="pending"),
    )
    commit()
    auth.login(county)
    listing = client.get("/county/organisations").get_data(as_text=True)
    assert "南昌县第一中学" in listing and "某公司" in listing
    assert "请确认" in client.post(f"/organisations/{first.id}/approve", data={}, follow_redirects=True).get_data(
        as_text=True
    )
    assert client.post(f"/organisations/{first.id}/approve", data={"confirm": "1"}).status_code == 303
    r = client.post(f"/organisations/{second.id}/reject", data={"reason": "", "confirm": "1"})
    assert "请填写不通过的原因" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert db.session.get(Organisation, second.id).status == "pending"
    client.post(f"/organisations/{second.id}/reject", data={"reason": "信用代码与营业执照不符", "confirm": "1"})
    db.session.expire_all()
    assert db.session.get(Organisation, first.id).status == "approved"
    refused = db.session.get(Organisation, second.id)
    assert (refused.status, refused.decision_reason, refused.decided_by_id) == (
        "rejected",
        "信用代码与营业执照不符",
        county.id,
    )
    r = client.post(f"/organisations/{first.id}/reject", data={"reason": "改主意", "confirm": "1"})  # decided once
    assert "已审核过" in client.get(r.headers["Location"]).get_data(as_text=True)
    audit = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.subject_id, AuditEntry.actor_id).order_by(AuditEntry.id)
    ).all()
    assert audit == [("organisation.approve", first.id, county.id), ("organisation.reject", second.id, county.id)]


def test_a_rejection_without_its_reason_is_said_before_the_confirmation_step(client, db, auth):
    """不通过 tapped with the reason left empty is refused at once, not confirmed first (此操作不能撤销)
    and then refused; with its reason it is asked for confirmation; a second decision is said at once."""
    county = make_user(role="county")
    organisation = make_organisation(status="pending")
    commit()
    auth.login(county)
    r = client.post(f"/organisations/{organisation.id}/reject", data={"reason": " "})
    assert r.status_code == 303 and "/confirm/" not in r.headers["Location"]
    assert "请填写不通过的原因" in client.get(r.headers["Location"]).get_data(as_text=True)
    r = client.post(f"/organisations/{organisation.id}/reject", data={"reason": "营业执照照片不清晰"})
    assert "/confirm/" in r.headers["Location"]
    client.post(f"/organisations/{organisation.id}/approve", data={"confirm": "1"})
    r = client.post(f"/organisations/{organisation.id}/reject", data={"reason": "改主意"})
    assert "/confirm/" not in r.headers["Location"]
    assert "已审核过" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_the_manager_adds_members_with_roles_and_others_may_not(client, db, auth):
    manager, buyer, viewer = make_user(), make_user(name="采购小张"), make_user()
    host = make_user(role="host")
    organisation = make_organisation()
    add_member(organisation, manager, role="approver", is_manager=True)
    add_member(organisation, viewer, role="viewer")
    commit()
    auth.login(manager)
    client.post(f"/organisations/{organisation.id}/members", data={"email": buyer.email.upper(), "role": "buyer"})
    client.post(f"/organisations/{organisation.id}/members", data={"email": "nobody@test.cn", "role": "buyer"})
    client.post(f"/organisations/{organisation.id}/members", data={"email": host.email, "role": "buyer"})
    roles = dict(db.session.execute(sa.select(OrganisationMember.user_id, OrganisationMember.role)).all())
    assert roles == {manager.id: "approver", buyer.id: "buyer", viewer.id: "viewer"}
    assert "采购小张" in client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    auth.logout()
    auth.login(viewer)
    assert (
        client.post(
            f"/organisations/{organisation.id}/members", data={"email": viewer.email, "role": "approver"}
        ).status_code
        == 403
    )
    assert (
        db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.subject_id == organisation.id))
        == "organisation.member"
    )


def test_a_member_refused_shows_the_page_again_with_what_was_typed(client, db, auth):
    """An e-mail with no account yet (the colleague has not signed up) is refused with what to do, and the
    form keeps the e-mail and role typed: the manager sends it again once the colleague has signed up."""
    manager = make_user()
    organisation = make_organisation()
    add_member(organisation, manager, role="approver", is_manager=True)
    commit()
    auth.login(manager)
    r = client.post(f"/organisations/{organisation.id}/members", data={"email": "caigou@school.cn", "role": "viewer"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "没有这个邮箱的账户，请对方先注册" in page
    assert 'value="caigou@school.cn"' in page
    assert '<option selected value="viewer">' in page
    assert [m.user_id for m in organisation.members] == [manager.id]


def test_the_last_approver_keeps_the_role_until_another_member_approves(client, db, auth, api_token):
    """The manager who registered (its only approver) making themselves a buyer would leave purchases
    no one may approve: refused with what to do first; once another member approves, it is allowed."""
    manager, colleague = make_user(), make_user()
    organisation = make_organisation()
    add_member(organisation, manager, role="approver", is_manager=True)
    commit()
    token = api_token(manager)
    auth.login(manager)
    url = f"/organisations/{organisation.id}/members"
    r = client.post(url, data={"email": manager.email, "role": "buyer"}, follow_redirects=True)
    assert "本单位至少要有一名审批人" in r.get_data(as_text=True)
    r = client.post(
        f"/api/v1/organisations/{organisation.id}/members",
        headers=token,
        json={"email": manager.email, "role": "viewer"},
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "organisation_needs_approver"
    db.session.expire_all()
    assert [(m.user_id, m.role) for m in organisation.members] == [(manager.id, "approver")]
    client.post(url, data={"email": colleague.email, "role": "approver"})
    r = client.post(url, data={"email": manager.email, "role": "buyer"}, follow_redirects=True)
    assert "成员已保存" in r.get_data(as_text=True)
    db.session.expire_all()
    assert {(m.user_id, m.role) for m in organisation.members} == {(manager.id, "buyer"), (colleague.id, "approver")}


def test_a_deactivated_approver_does_not_count_as_the_one_left_to_approve(client, db, auth):
    """The guard counted every approver, deactivated accounts too: the last active one could become a buyer
    beside a deactivated approver, leaving purchases no one may approve (and mailed to no one)."""
    manager, gone = make_user(), make_user()
    organisation = make_organisation()
    add_member(organisation, manager, role="approver", is_manager=True)
    add_member(organisation, gone, role="approver")
    gone.is_active_account = False
    commit()
    auth.login(manager)
    r = client.post(
        f"/organisations/{organisation.id}/members",
        data={"email": manager.email, "role": "buyer"},
        follow_redirects=True,
    )
    assert "本单位至少要有一名审批人" in r.get_data(as_text=True)
    db.session.expire_all()
    assert {(m.user_id, m.role) for m in organisation.members} == {(manager.id, "approver"), (gone.id, "approver")}


def test_a_member_of_one_organisation_sees_nothing_of_another(client, db, auth, api_token):
    a_buyer, b_buyer = make_user(), make_user()
    a = make_organisation(name="甲单位", members={"buyer": a_buyer})
    b = make_organisation(name="乙单位", members={"buyer": b_buyer})
    commit()
    auth.login(a_buyer)
    assert client.get(f"/organisations/{a.id}").status_code == 200
    assert client.get(f"/organisations/{b.id}").status_code == 404
    assert (
        client.post(f"/organisations/{b.id}/members", data={"email": a_buyer.email, "role": "buyer"}).status_code == 404
    )
    assert "乙单位" not in client.get("/organisations").get_data(as_text=True)
    auth.logout()
    headers = api_token(a_buyer)
    assert client.get(f"/api/v1/organisations/{a.id}", headers=headers).status_code == 200
    for r in (
        client.get(f"/api/v1/organisations/{b.id}", headers=headers),
        client.get("/api/v1/organisations/99999", headers=headers),
        client.post(
            f"/api/v1/organisations/{b.id}/members", headers=headers, json={"email": a_buyer.email, "role": "approver"}
        ),
    ):
        assert r.status_code == 404 and r.json["error"]["code"] == "organisation_not_found"
    assert _count(OrganisationMember) == 2


def test_the_api_registers_reads_adds_members_and_the_county_verifies(client, db, api_token):
    user, colleague, county = make_user(), make_user(), make_user(role="county")
    commit()
    headers = api_token(user)
    code = make_credit_code()
    r = client.post("/api/v1/organisations", headers=headers, json={**FORM, "kind": "union", "credit_code": code})
    assert r.status_code == 201, r.json
    org = r.json
    assert (org["kind"], org["status"], org["credit_code"]) == ("union", "pending", code)
    assert org["members"][0]["role"] == "approver" and org["members"][0]["is_manager"]
    bad = client.post(
        "/api/v1/organisations",
        headers=headers,
        json={**FORM, "credit_code": code[:17] + ("0" if code[17] != "0" else "1")},
    )
    assert bad.status_code == 422 and bad.json["error"]["fields"] == {"credit_code": "invalid"}
    r = client.post(
        f"/api/v1/organisations/{org['id']}/members", headers=headers, json={"email": colleague.email, "role": "buyer"}
    )
    assert r.status_code == 201 and r.json["role"] == "buyer"
    assert client.post(f"/api/v1/organisations/{org['id']}/approve", headers=headers, json={}).status_code == 403
    county_headers = api_token(county)
    r = client.post(f"/api/v1/organisations/{org['id']}/reject", headers=county_headers, json={})
    assert r.status_code == 422
    r = client.post(f"/api/v1/organisations/{org['id']}/approve", headers=county_headers, json={})
    assert r.status_code == 200 and r.json["status"] == "approved"
    got = client.get(f"/api/v1/organisations/{org['id']}", headers=api_token(colleague)).json
    assert got["status"] == "approved" and len(got["members"]) == 2


def test_the_openapi_document_describes_the_organisation_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/organisations"]
    assert "get" in paths["/api/v1/organisations/{organisation_id}"]
    assert "post" in paths["/api/v1/organisations/{organisation_id}/members"]


def test_organisation_pages_speak_english_too(client, db, auth):
    user = make_user()
    organisation = make_organisation(members={"approver": user})
    commit()
    client.get("/?lang=en")
    auth.login(user)
    page = client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert "Budget unit" in page and "Unified social credit code" in page and "统一社会信用代码" not in page


def test_a_refused_form_names_its_field_at_the_top_of_the_page(client, db, auth):
    user = make_user()
    organisation = make_organisation()
    add_member(organisation, user, role="approver", is_manager=True)
    commit()
    auth.login(user)
    long_name = {**FORM, "credit_code": make_credit_code(), "name": "校" * 500}
    r = client.post("/organisations/new", data=long_name)
    assert r.status_code == 422 and "单位名称：" in r.get_data(as_text=True)
    r = client.post(f"/organisations/{organisation.id}/members", data={"email": "", "role": "approver"})
    assert r.status_code == 422 and "成员的登录邮箱：" in r.get_data(as_text=True)
    r = client.post("/organisations/new?lang=en", data=long_name)
    assert r.status_code == 422 and "Organisation name: " in r.get_data(as_text=True)
    assert _count(Organisation) == 1


def test_the_county_desk_pages_other_packages_serve_keep_the_county_menu(db, client, auth):
    """采购单位审核, 单位采购统计, an organisation's page and 对公转账 are the county officer's desk too (the
    last is in its menu, the first now as well): they keep the office's menu, so a first-time officer has
    a way back to 总览 other than the header; a buyer of the organisation and an admin see the page alone."""
    organisation = make_organisation(status="pending", members={"approver": None})
    buyer = organisation.members[0].user
    commit()
    auth.login(make_user(role="county"))
    for path in (
        "/county/organisations",
        "/county/organisations/report",
        f"/organisations/{organisation.id}",
        "/bank-transfers",
    ):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert 'class="county-nav"' in body and 'href="/county/"' in body and "css/county.css" in body, path
        assert 'href="/county/organisations"' in body, path
    assert 'href="/county/organisations"' in client.get("/county/").get_data(as_text=True)
    for other in (buyer, make_user(role="admin")):
        client.post("/logout")
        auth.login(other)
        body = client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
        assert 'class="county-nav"' not in body


def test_a_visitor_finds_organisation_buying_in_the_footer_and_signs_up_into_it(client, db):
    """A canteen with no account yet: every page's footer leads to 单位采购; signed out, it is asked to sign
    in or sign up, and signing up leads back to the page that explains it and offers 登记单位."""
    home = client.get("/").get_data(as_text=True)
    footer = home[home.index('class="site-footer"') :]
    assert '<a href="/organisations">单位采购</a>' in footer
    r = client.get("/organisations")
    assert r.status_code in (302, 303)
    login_page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'href="/register?next=/organisations' in login_page
    r = client.post(
        "/register?next=/organisations",
        data={"name": "食堂李主任", "email": "canteen@school.cn", "password": "demo12345", "confirm": "demo12345"},
    )
    assert r.status_code in (302, 303) and r.headers["Location"].endswith("/organisations")
    page = client.get("/organisations").get_data(as_text=True)
    assert "经扶贫办审核后批量采购" in page and 'href="/organisations/new"' in page
    english = client.get("/?lang=en").get_data(as_text=True)
    assert '<a href="/organisations">Organisation buying</a>' in english


def test_a_bad_credit_code_or_phone_is_said_at_its_field_with_what_was_typed(client, db, auth):
    code, wrong = _taken_code_and_a_wrong_one(auth)
    page = client.post("/organisations/new", data={**FORM, "credit_code": wrong}).get_data(as_text=True)
    field = field_block(page, "credit_code")
    assert "has-error" in field and "校验码须正确" in field and f'value="{wrong}"' in field
    assert "has-error" not in field_block(page, "contact_phone") and 'value="0791-85712345"' in page
    page = client.post("/organisations/new", data={**FORM, "credit_code": code}).get_data(as_text=True)
    assert "has-error" in field_block(page, "credit_code") and "该统一社会信用代码已登记" in field_block(
        page, "credit_code"
    )
    fresh = make_credit_code()
    r = client.post("/organisations/new", data={**FORM, "credit_code": fresh, "contact_phone": "12345"})
    field = field_block(r.get_data(as_text=True), "contact_phone")
    assert (
        r.status_code == 422 and "has-error" in field and "请填写正确的联系电话" in field and 'value="12345"' in field
    )
    assert "has-error" not in field_block(r.get_data(as_text=True), "credit_code")
    assert f'value="{fresh}"' in r.get_data(as_text=True)
