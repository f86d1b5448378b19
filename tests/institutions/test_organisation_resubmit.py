"""A registration the county office did not verify is no dead end: its manager reads the reason on the
organisation's page, corrects the registration (checked as registering is) and submits it again, which
puts it back in the county office's list (audited, a status event); nobody else may, and only while it
is rejected: a second submit changes nothing. The managers are mailed the county office's decision in
their own language (mails read from shop.mail's log, tests/sent_mail.py): verified, or not with the
reason and the link to correct it."""

from __future__ import annotations

import re

import sqlalchemy as sa

from institutions.models import Organisation
from shop.audit import AuditEntry
from shop.db import commit
from shop.history import StatusEvent
from shop.once import new_form_token
from tests.factories import make_user
from tests.institutions.factories import REGISTRATION, add_member, make_credit_code, make_organisation
from tests.institutions.purchase_setup import logged_in_client
from tests.sent_mail import mails_to

CJK = re.compile(r"[\u4e00-\u9fff]")
SITE = "http://shop.test"  # SITE_URL of the tests: where mailed links point
REASON = "名称应与事业单位法人证书一致：南昌县莲塘第一小学"


def _registered_and_rejected(app, manager, county) -> tuple[int, str]:
    """`manager` registers on the page, the county office rejects it on its page: (id, credit code)."""
    code = make_credit_code()
    pages = logged_in_client(app, manager)
    r = pages.post("/organisations/new", data={**REGISTRATION, "credit_code": code, "form_token": new_form_token()})
    organisation_id = int(r.headers["Location"].rsplit("/", 1)[1])
    county_pages = logged_in_client(app, county)
    r = county_pages.post(f"/organisations/{organisation_id}/reject", data={"reason": REASON, "confirm": "1"})
    assert r.status_code == 303
    return organisation_id, code


def _events(organisation_id: int) -> list[tuple]:
    from shop.extensions import db

    return db.session.execute(
        sa.select(StatusEvent.from_status, StatusEvent.to_status)
        .where(StatusEvent.subject_type == "organisations", StatusEvent.subject_id == organisation_id)
        .order_by(StatusEvent.id)
    ).all()


def _audit(organisation_id: int) -> list[str]:
    from shop.extensions import db

    return list(
        db.session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.subject_id == organisation_id, AuditEntry.action.like("organisation.%"))
            .order_by(AuditEntry.id)
        )
    )


def test_the_manager_corrects_a_rejected_registration_and_submits_it_again_once(app, db):
    manager, county = make_user(name="王会计"), make_user(role="county")
    other = make_organisation(name="莲塘二小")
    commit()
    organisation_id, code = _registered_and_rejected(app, manager, county)
    pages = logged_in_client(app, manager)

    page = pages.get(f"/organisations/{organisation_id}").get_data(as_text=True)
    assert REASON in page and "无需重新登记" in page
    assert f'href="/organisations/{organisation_id}/edit"' in page
    form = pages.get(f"/organisations/{organisation_id}/edit").get_data(as_text=True)
    assert REASON in form and 'value="莲塘一小"' in form and code in form

    # checked as registering is: a wrong phone, another organisation's credit code
    corrected = {**REGISTRATION, "name": "南昌县莲塘第一小学", "credit_code": code}
    r = pages.post(f"/organisations/{organisation_id}/edit", data={**corrected, "contact_phone": "12345"})
    assert r.status_code == 422 and "请填写正确的联系电话" in r.get_data(as_text=True)
    r = pages.post(f"/organisations/{organisation_id}/edit", data={**corrected, "credit_code": other.credit_code})
    assert r.status_code == 409 and "该统一社会信用代码已登记" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organisation, organisation_id).status == "rejected"

    r = pages.post(f"/organisations/{organisation_id}/edit", data=corrected)
    assert r.status_code == 303 and r.headers["Location"] == f"/organisations/{organisation_id}"
    assert "等待扶贫办审核" in pages.get(r.headers["Location"]).get_data(as_text=True)
    again = pages.post(f"/organisations/{organisation_id}/edit", data={**corrected, "name": "又改了"})  # double tap
    assert again.status_code == 303
    assert "已提交审核或已通过" in pages.get(again.headers["Location"]).get_data(as_text=True)

    db.session.expire_all()
    organisation = db.session.get(Organisation, organisation_id)
    assert (organisation.name, organisation.status, organisation.decision_reason, organisation.decided_by_id) == (
        "南昌县莲塘第一小学",
        "pending",
        "",
        None,
    )
    assert _events(organisation_id) == [(None, "pending"), ("pending", "rejected"), ("rejected", "pending")]
    assert _audit(organisation_id) == ["organisation.reject", "organisation.resubmit"]
    # back in the county office's list, to verify
    county_pages = logged_in_client(app, county)
    assert "南昌县莲塘第一小学" in county_pages.get("/county/organisations").get_data(as_text=True)
    assert county_pages.post(f"/organisations/{organisation_id}/approve", data={"confirm": "1"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Organisation, organisation_id).status == "approved"
    assert pages.get(f"/organisations/{organisation_id}/edit").status_code == 303  # verified: nothing to correct


def test_only_its_own_manager_corrects_it_and_only_while_rejected(app, db):
    manager, viewer, stranger, county = make_user(), make_user(), make_user(), make_user(role="county")
    rejected = make_organisation(status="rejected")
    rejected.decision_reason = "地址不全"
    pending = make_organisation(name="待审核的单位", status="pending")
    for organisation in (rejected, pending):
        add_member(organisation, manager, role="approver", is_manager=True)
    add_member(rejected, viewer, role="viewer")
    commit()
    data = {**REGISTRATION, "credit_code": rejected.credit_code}

    for user, expected in ((stranger, 404), (viewer, 403), (county, 403)):
        pages = logged_in_client(app, user)
        assert pages.get(f"/organisations/{rejected.id}/edit").status_code == expected
        assert pages.post(f"/organisations/{rejected.id}/edit", data=data).status_code == expected
    assert "修改登记并重新提交" not in logged_in_client(app, viewer).get(f"/organisations/{rejected.id}").get_data(
        as_text=True
    )
    mine = logged_in_client(app, manager)
    r = mine.post(f"/organisations/{pending.id}/edit", data={**REGISTRATION, "credit_code": pending.credit_code})
    assert r.status_code == 303 and "已提交审核或已通过" in mine.get(r.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organisation, rejected.id).status == "rejected"
    assert db.session.get(Organisation, pending.id).name == "待审核的单位"
    assert _audit(rejected.id) == [] and _audit(pending.id) == []


def test_the_managers_are_mailed_the_county_offices_decision_in_their_language(app, db, caplog):
    manager, county = make_user(), make_user(role="county")
    english, buyer = make_user(email="manager-en@test.cn"), make_user()
    english.locale = "en"
    commit()
    with caplog.at_level("INFO", logger="shop.mail"):
        organisation_id, code = _registered_and_rejected(app, manager, county)
        from shop.extensions import db as _db

        organisation = _db.session.get(Organisation, organisation_id)
        add_member(organisation, english, role="approver", is_manager=True)
        add_member(organisation, buyer, role="buyer")
        commit()
        [(subject, body)] = mails_to(caplog, manager.email)
        assert subject == "[乡村e线] 单位「莲塘一小」的登记未通过审核"
        link = f"{SITE}/organisations/{organisation_id}/edit"
        assert f"原因: {REASON}" in body and f"请按原因修改登记信息后重新提交审核: {link}" in body
        # the link is the form to correct it
        pages = logged_in_client(app, manager)
        assert "重新提交审核" in pages.get(link.removeprefix(SITE)).get_data(as_text=True)
        pages.post(link.removeprefix(SITE), data={**REGISTRATION, "name": "南昌县莲塘第一小学", "credit_code": code})

        county_pages = logged_in_client(app, county)
        assert county_pages.post(f"/organisations/{organisation_id}/approve", data={"confirm": "1"}).status_code == 303
        county_pages.post(f"/organisations/{organisation_id}/approve", data={"confirm": "1"})  # decided once
        [_rejected, (subject, body)] = mails_to(caplog, manager.email)
        assert subject == "[乡村e线] 单位「南昌县莲塘第一小学」已通过审核"
        assert f"{SITE}/organisations/{organisation_id}" in body
        [(en_subject, en_body)] = mails_to(caplog, english.email)
        assert en_subject == "[Village e-Line] 南昌县莲塘第一小学 is verified"
        assert not CJK.search(en_subject.replace("南昌县莲塘第一小学", "") + en_body.replace("南昌县莲塘第一小学", ""))
        assert mails_to(caplog, buyer.email) == []


def test_the_county_office_reads_why_it_rejected_and_what_changed_when_a_registration_comes_back(app, db):
    """Deciding a registration submitted again, the county officer sees on its page the reason it was rejected
    for and which fields the manager changed (here only the name): nothing to look up in the audit log.
    Its manager, and a first registration never rejected, see no such note."""
    manager, county = make_user(name="王会计"), make_user(role="county")
    first_time = make_organisation(name="莲塘三小", status="pending")
    commit()
    organisation_id, code = _registered_and_rejected(app, manager, county)
    pages = logged_in_client(app, manager)
    corrected = {**REGISTRATION, "name": "南昌县莲塘第一小学", "credit_code": code}
    assert pages.post(f"/organisations/{organisation_id}/edit", data=corrected).status_code == 303

    county_pages = logged_in_client(app, county)
    page = county_pages.get(f"/organisations/{organisation_id}").get_data(as_text=True)
    note = page[page.index('id="organisation-resubmitted"') :]
    assert "重新提交的登记" in note and f"上次不通过的原因：{REASON}" in note
    assert "本次修改：单位名称</p>" in note  # only the name was changed
    assert "organisation-resubmitted" not in pages.get(f"/organisations/{organisation_id}").get_data(as_text=True)
    assert "organisation-resubmitted" not in county_pages.get(f"/organisations/{first_time.id}").get_data(as_text=True)

    english = county_pages.get(f"/organisations/{organisation_id}?lang=en").get_data(as_text=True)
    note = english[english.index('id="organisation-resubmitted"') :]
    assert REASON in note and "Changed this time: Organisation name</p>" in note
