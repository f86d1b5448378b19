"""Journey 51: an organisation's purchase told by e-mail, on a phone, and the way back from its orders.
The buyer submits a draft; the approver (signed in before, so the mail is in the language they chose) is
mailed and follows the mail's link to decide, and sends it back with a note; the buyer is mailed the
note and follows the mail's link straight to the purchase form, changes it and submits it again (the
approver is mailed again); the approver approves, taps Back and confirms again (nothing mailed twice);
the buyer is mailed the order, follows it to the order page, which says 来自采购单 <number>, and taps
that back to the purchase, as from the order list. Every link on the way is a 40 px target.

With no MAIL_SERVER the live app logs its mails (`shop.mail`); the outbox sends them just after the
commit, so the journey waits a moment for each."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shop.timeutil import local_date, now_utc
from tests.browser.harness import VIEWPORTS
from tests.browser.journeys import VILLAGE_A, api, confirm_if_asked, demo_product
from tests.browser.organisation_journey import PASSWORD, assert_thumb_sized, new_organisation, purchase_order_codes


def _mails(caplog, email: str) -> list[tuple[str, str]]:
    """(subject, body) of every mail the live app sent to `email` so far."""
    return [
        (r.args[1], r.args[2])
        for r in caplog.records
        if r.name == "shop.mail" and r.msg.startswith("mail to") and r.args[0] == email
    ]


def _mail(caplog, email: str, subject: str, *, count: int = 1, timeout: float = 5.0) -> str:
    """The body of the `count`-th mail to `email` with `subject`, waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bodies = [body for s, body in _mails(caplog, email) if s == subject]
        if len(bodies) >= count:
            return bodies[count - 1]
        time.sleep(0.1)
    raise AssertionError(f"no mail {subject!r} to {email}: {_mails(caplog, email)}")


def _path(body: str, pattern: str) -> str:
    """The path of the link in a mail matching `pattern` (the link's host is SITE_URL's, not the test server's)."""
    match = re.search(rf"https?://[^/\s]+({pattern})(?:\s|$)", body)
    assert match, body
    return match.group(1)


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_a_purchase_is_told_by_mail_and_its_orders_lead_back_to_it(open_page, live_server, viewport, lang, caplog):
    assert viewport.is_phone
    org = new_organisation(live_server, lang)
    pickles = demo_product(live_server, VILLAGE_A)
    status, body = api(live_server, "POST", "/auth/token", {"email": org["buyer"], "password": PASSWORD})
    assert status == 200, body
    token = body["token"]
    status, draft = api(
        live_server,
        "POST",
        "/purchases",
        {
            "organisation_id": org["id"],
            "delivery": "ship",
            "requested_date": (local_date(now_utc()) + timedelta(days=5)).isoformat(),
            "payment_method": "cod",
            "destinations": [
                {
                    "label": "东校区食堂",
                    "address": {
                        "name": "李明",
                        "phone": "13800138000",
                        "province": "江西省",
                        "city": "南昌市",
                        "district": "南昌县",
                        "line": "莲塘镇澄湖路1号",
                    },
                    "items": [{"product_id": pickles["id"], "quantity": 3}],
                }
            ],
        },
        token=token,
    )
    assert status == 201, draft
    purchase_id = draft["id"]
    purchase_path = f"/purchases/{purchase_id}"

    approver = open_page("approver")
    ap = approver.page
    approver.login(org["approver"], PASSWORD)  # signed in from a page in the reader's language: the mails' too
    buyer = open_page("buyer")
    bp = buyer.page
    main = bp.locator("main")
    buyer.login(org["buyer"], PASSWORD)

    with caplog.at_level("INFO", logger="shop.mail"):
        # the buyer submits: the approver is mailed a link to decide
        buyer.goto(purchase_path)
        buyer.submit_and_wait(main.get_by_role("button", name=buyer.t("提交审批")).click)
        expect(bp.locator(".purchase-status")).to_have_text(buyer.t("待审批"))
        buyer.step("submitted")
        to_decide = approver.t("[乡村e线] 采购单 %(id)s 待审批", id=purchase_id)
        body = _mail(caplog, org["approver"], to_decide)
        assert approver.t("查看并审批: %(url)s", url="") in body
        approver.goto(_path(body, rf"/purchases/{purchase_id}"))
        approver.step("opened from the mail")

        # the approver sends it back with a note: the buyer is mailed the note and a link to change it
        ap.locator("#reason").fill("腌菜改为 2 袋")
        approver.submit_and_wait(
            ap.locator("main").get_by_role("button", name=approver.t("退回", context="purchase"), exact=True).click
        )
        assert confirm_if_asked(approver)
        expect(ap.locator(".purchase-status")).to_have_text(approver.t("已退回", context="purchase"))
        body = _mail(caplog, org["buyer"], buyer.t("[乡村e线] 采购单 %(id)s 被退回", id=purchase_id))
        assert buyer.t("退回原因: %(reason)s", reason="腌菜改为 2 袋") in body
        buyer.goto(_path(body, rf"/purchases/{purchase_id}/edit"))
        form = bp.locator("main form")
        expect(form.locator("#quantity_0")).to_have_value("3")
        buyer.step("the form, from the mail")
        form.locator("#quantity_0").fill("2")
        buyer.submit_and_wait(form.get_by_role("button", name=buyer.t("保存草稿"), exact=True).click)
        buyer.submit_and_wait(main.get_by_role("button", name=buyer.t("提交审批")).click)
        expect(bp.locator(".purchase-status")).to_have_text(buyer.t("待审批"))

        # mailed again; the approver approves, goes Back and confirms again: refused, nothing mailed twice
        body = _mail(caplog, org["approver"], to_decide, count=2)
        approver.goto(_path(body, rf"/purchases/{purchase_id}"))
        approver.submit_and_wait(ap.locator("main").get_by_role("button", name=approver.t("审批通过并下单")).click)
        assert confirm_if_asked(approver)
        expect(ap.locator(".purchase-status")).to_have_text(approver.t("已审批下单"))
        approver.submit_and_wait(ap.go_back)
        approver.submit_and_wait(
            lambda: ap.locator("main form").get_by_role("button", name=re.compile(".")).first.click()
        )
        expect(ap.locator(".alert-error")).to_contain_text(approver.t("采购单已审批过或尚未提交"))
        approver.step("approved, confirmed twice")
        [code] = purchase_order_codes(live_server, purchase_id)
        approved = buyer.t("[乡村e线] 采购单 %(id)s 已审批通过", id=purchase_id)
        body = _mail(caplog, org["buyer"], approved)

    # the buyer follows the mail to the order, and the order back to its purchase
    order_path = _path(body, rf"/orders/{code}")
    buyer.goto(order_path)
    origin = main.get_by_role("link", name=buyer.t("来自采购单 %(id)s", id=purchase_id))
    expect(origin).to_be_visible()
    assert_thumb_sized(origin)
    buyer.step("the order says where it came from")
    buyer.submit_and_wait(origin.click)
    assert bp.url.endswith(purchase_path), bp.url
    expect(bp.locator(".purchase-status")).to_have_text(buyer.t("已审批下单"))
    buyer.goto("/orders")
    listed = (
        main.locator(".order-list li")
        .filter(has_text=code)
        .get_by_role("link", name=buyer.t("来自采购单 %(id)s", id=purchase_id))
    )
    assert_thumb_sized(listed)
    buyer.step("the order list says it too")
    buyer.submit_and_wait(listed.click)
    assert bp.url.endswith(purchase_path), bp.url

    # each mail once: two requests to decide (the two submissions), one return, one approval
    assert [s for s, _b in _mails(caplog, org["approver"])] == [to_decide, to_decide]
    assert [s for s, _b in _mails(caplog, org["buyer"]) if s == approved] == [approved]
