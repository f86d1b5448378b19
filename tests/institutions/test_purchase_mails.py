"""Who is mailed at each step of a purchase, through the pages (mails read from shop.mail's log,
tests/sent_mail.py): a submitted purchase mails each approver of the organisation (a link to decide),
in the approver's own language; one sent back mails its buyer the reason and a link to change it; an
approved one mails its buyer the orders it became. After the commit, once: a double tap, or a step
refused, mails nobody again."""

from __future__ import annotations

import re
from contextlib import contextmanager

from celery.signals import task_prerun

from shop.db import commit
from tests.factories import make_user
from tests.institutions.factories import add_member
from tests.institutions.purchase_setup import logged_in_client, organisation_with_products, purchase_form
from tests.sent_mail import mails_to

CJK = re.compile(r"[\u4e00-\u9fff]")
SITE = "http://shop.test"  # SITE_URL of the tests: where mailed links point


def _submitted(app, organisation, buyer, rice, eggs) -> tuple[int, str]:
    """A draft made and submitted by `buyer` on the pages, the submit tapped twice: (id, its page)."""
    pages = logged_in_client(app, buyer)
    url = pages.post(f"/organisations/{organisation.id}/purchases/new", data=purchase_form(rice, eggs)).headers[
        "Location"
    ]
    purchase_id = int(url.rsplit("/", 1)[1])
    assert pages.post(f"/purchases/{purchase_id}/submit").status_code == 303
    assert pages.post(f"/purchases/{purchase_id}/submit").status_code == 303  # the double tap: refused
    return purchase_id, url


def test_a_submitted_purchase_mails_each_approver_once_in_their_language_with_a_link_to_decide(app, db, caplog):
    organisation, buyer, approver, viewer, rice, eggs = organisation_with_products()
    english = make_user(email="finance-en@test.cn", name="Li")
    english.locale = "en"
    add_member(organisation, english, role="approver")
    commit()
    with caplog.at_level("INFO", logger="shop.mail"):
        purchase_id, _url = _submitted(app, organisation, buyer, rice, eggs)

    [(subject, body)] = mails_to(caplog, approver.email)
    assert subject == f"[乡村e线] 采购单 {purchase_id} 待审批"
    assert "采购小张" in body and organisation.name in body
    link = f"{SITE}/purchases/{purchase_id}"
    assert f"查看并审批: {link}" in body
    [(en_subject, en_body)] = mails_to(caplog, english.email)
    assert en_subject == f"[Village e-Line] Purchase {purchase_id} awaits approval"
    assert f"View and decide: {link}" in en_body
    assert not CJK.search(en_subject + en_body.replace("采购小张", "").replace(organisation.name, ""))
    assert mails_to(caplog, buyer.email) == [] and mails_to(caplog, viewer.email) == []
    # the link is the approver's page to decide
    page = logged_in_client(app, approver).get(link.removeprefix(SITE)).get_data(as_text=True)
    assert "审批通过并下单" in page


@contextmanager
def tasks_run():
    """The names of the Celery tasks run meanwhile (the tests run them in process, after the commit)."""
    names: list[str] = []

    def record(sender=None, **_kw):
        names.append(sender.name)

    task_prerun.connect(record, weak=False)
    try:
        yield names
    finally:
        task_prerun.disconnect(record)


def test_a_submitted_purchase_is_one_task_that_mails_every_approver_in_their_language(app, db, caplog):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    others = [make_user(email=f"approver-{n}@test.cn") for n in range(3)]
    others[0].locale = "en"
    for user in others:
        add_member(organisation, user, role="approver")
    commit()
    with caplog.at_level("INFO", logger="shop.mail"), tasks_run() as names:
        purchase_id, _url = _submitted(app, organisation, buyer, rice, eggs)

    assert names.count("institutions.tasks.notify_approvers") == 1
    assert "institutions.tasks.notify_purchase" not in names
    for user in [approver, *others]:
        [(subject, _body)] = mails_to(caplog, user.email)
        english = user.locale == "en"
        assert subject == (
            f"[Village e-Line] Purchase {purchase_id} awaits approval"
            if english
            else f"[乡村e线] 采购单 {purchase_id} 待审批"
        )


def test_a_submit_refused_mails_nobody(app, db, caplog):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    pages = logged_in_client(app, buyer)
    url = pages.post(f"/organisations/{organisation.id}/purchases/new", data=purchase_form(rice, eggs)).headers[
        "Location"
    ]
    rice.is_published = False  # withdrawn since the draft: the submit is refused
    commit()
    with caplog.at_level("INFO", logger="shop.mail"):
        pages.post(f"{url}/submit")
    assert mails_to(caplog, approver.email) == []


def test_a_purchase_sent_back_mails_its_buyer_the_reason_and_a_link_to_change_it_once(app, db, caplog):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    purchase_id, url = _submitted(app, organisation, buyer, rice, eggs)
    finance = logged_in_client(app, approver)
    with caplog.at_level("INFO", logger="shop.mail"):
        for _tap in range(2):  # the second is refused: decided already
            assert finance.post(f"{url}/reject", data={"confirm": "1", "reason": "大米改为 2 袋"}).status_code == 303

    [(subject, body)] = mails_to(caplog, buyer.email)
    assert subject == f"[乡村e线] 采购单 {purchase_id} 被退回"
    assert "退回原因: 大米改为 2 袋" in body
    edit = f"{SITE}/purchases/{purchase_id}/edit"
    assert f"修改后可再次提交审批: {edit}" in body
    assert logged_in_client(app, buyer).get(edit.removeprefix(SITE)).status_code == 200  # the link opens the form


def test_an_approved_purchase_mails_its_buyer_the_orders_it_became_once(app, db, caplog):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    buyer.locale = "en"
    commit()
    purchase_id, url = _submitted(app, organisation, buyer, rice, eggs)
    finance = logged_in_client(app, approver)
    with caplog.at_level("INFO", logger="shop.mail"):
        for _tap in range(2):
            assert finance.post(f"{url}/approve", data={"confirm": "1"}).status_code == 303

    mails = [(s, b) for s, b in mails_to(caplog, buyer.email) if "Purchase" in s]
    [(subject, body)] = mails
    assert subject == f"[Village e-Line] Purchase {purchase_id} approved"
    [code] = re.findall(rf"{SITE}/orders/([A-Z0-9]+)", body)
    assert f"本部食堂: Order {code} ¥" in body  # the address's label is data, as typed
    assert f"{SITE}/purchases/{purchase_id}" in body
    # each order still sends its own mail
    assert any(code in s for s, _b in mails_to(caplog, buyer.email) if s not in dict(mails))
