"""The organisation journeys' shared steps: a verified organisation with a buyer and an approver made
on the live server (they sign in with PASSWORD), the codes of the orders a purchase was placed as, and
a control a thumb can tap."""

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
