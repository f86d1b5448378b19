"""The organisation journeys' shared steps: a verified organisation with a buyer and an approver made
on the live server (they sign in with PASSWORD), a rejected one with its manager, the codes of the orders
a purchase was placed as, and a control a thumb can tap."""

from __future__ import annotations

import sqlalchemy as sa

PASSWORD = "password123"


def new_organisation(live, lang: str) -> dict:
    """A verified organisation with a buyer and an approver (the county office verified it before)."""
    from institutions.models import Organisation
    from shop.db import commit
    from tests.factories import make_user
    from tests.institutions.factories import add_member, make_organisation

    english = lang == "en"
    with live.app_context() as db:
        tag = db.session.scalar(sa.select(sa.func.count(Organisation.id))) + 1
        buyer = make_user(
            name="Buyer Zhang" if english else "采购小张", email=f"org-buyer-{lang.lower()}-{tag}@test.cn"
        )
        approver = make_user(
            name="Finance Li" if english else "财务老李", email=f"org-approver-{lang.lower()}-{tag}@test.cn"
        )
        organisation = make_organisation(name="Lianta No.1 School" if english else "莲塘第一中学")
        add_member(organisation, buyer, role="buyer")
        add_member(organisation, approver, role="approver")
        facts = {"id": organisation.id, "buyer": buyer.email, "approver": approver.email}
        commit()
    return facts


def new_rejected_organisation(live, lang: str) -> dict:
    """An organisation registered by its manager under its short name and rejected by the demo county officer
    for it (through the services, as their taps would; the manager mailed): its id, the manager's e-mail
    (password PASSWORD), the reason, and the full name the reason asks for."""
    from datetime import timedelta

    from institutions.models import Organisation
    from institutions.services.organisations import OrganisationData, decide_organisation, register_organisation
    from shop.auth.models import User
    from shop.db import commit
    from shop.timeutil import now_utc
    from tests.browser.harness import DEMO
    from tests.factories import make_user
    from tests.institutions.factories import make_credit_code

    english = lang == "en"
    now = now_utc()
    with live.app_context() as db:
        tag = db.session.scalar(sa.select(sa.func.count(Organisation.id))) + 1
        manager = make_user(
            name="Accountant Liu" if english else "刘会计", email=f"org-manager-{lang.lower()}-{tag}@test.cn"
        )
        short, full = (
            ("Lianta Union", "Lianta Town Trade Union Committee")
            if english
            else ("莲塘镇工会", "南昌县莲塘镇工会委员会")
        )
        data = OrganisationData(
            name=short,
            kind="union",
            credit_code=make_credit_code(900000 + tag),
            address="8 Xiangyang Road, Lianta" if english else "南昌县莲塘镇向阳路 8 号",
            contact_name="Accountant Liu" if english else "刘会计",
            contact_phone="0791-85716688",
        )
        reason = (
            f"Register under the full name on the union's certificate: {full}"
            if english
            else f"单位名称须与《工会法人资格证书》上的全称一致：{full}"
        )
        organisation = register_organisation(data, user=manager, now=now - timedelta(days=1))
        officer = db.session.scalar(sa.select(User).where(User.email == DEMO["county"]))
        decide_organisation(organisation, approve=False, reason=reason, actor=officer, now=now)
        facts = {"id": organisation.id, "manager": manager.email, "reason": reason, "full_name": full}
        commit()
    return facts


def purchase_order_codes(live, purchase_id: int) -> list[str]:
    """The codes of the orders the purchase `purchase_id` was placed as, oldest first."""
    from institutions.models import PurchaseOrder
    from orders.models import Order

    with live.app_context() as db:
        return list(
            db.session.scalars(
                sa.select(Order.code)
                .join(PurchaseOrder, PurchaseOrder.order_id == Order.id)
                .where(PurchaseOrder.purchase_id == purchase_id)
                .order_by(Order.id)
            )
        )


def assert_thumb_sized(locator) -> None:
    """The control is at least 40 × 40 CSS pixels, big enough for a thumb."""
    box = locator.bounding_box()
    assert box is not None and box["height"] >= 40 and box["width"] >= 40, box
