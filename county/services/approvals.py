"""扶贫产品认定 / 消费帮扶产品: the county approves (or rejects, with a reason) products stations submit."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from catalog.models import ApprovalStatus, BenefitLink, Product
from catalog.services import decision_note, household_labels
from shop.audit import record_audit
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db


def pending_products() -> list[Product]:
    return list(
        db.session.scalars(
            sa.select(Product)
            .where(Product.approval_status == ApprovalStatus.PENDING)
            .order_by(Product.created_at, Product.id)
        )
    )


def get_product(product_id: int, *, lock: bool = False) -> Product:
    query = sa.select(Product).where(Product.id == product_id)
    if lock:
        query = query.with_for_update()
    product = db.session.scalar(query)
    if product is None:
        raise NotFound("no_such_product")
    return product


def _decide(product: Product, to: str, *, actor, now: datetime, note: str) -> Product:
    if product.approval_status == to:
        return product  # idempotent: a double click changes nothing
    if product.approval_status != ApprovalStatus.PENDING:
        raise Conflict("already_approved" if product.approval_status == ApprovalStatus.APPROVED else "already_returned")
    product.approval_status = to
    product.approval_note = note
    product.approved_at = now if to == ApprovalStatus.APPROVED else None
    product.approved_by_id = getattr(actor, "id", None)
    product.updated_at = now
    db.session.flush()
    record_audit(
        actor=actor,
        action=f"product.{'approve' if to == ApprovalStatus.APPROVED else 'reject'}",
        subject=product,
        detail={"note": note},
        now=now,
    )
    return product


def approve(product: Product, *, actor, now: datetime, note: str = "") -> Product:
    return _decide(product, ApprovalStatus.APPROVED, actor=actor, now=now, note=decision_note(note, field="note"))


def reject(product: Product, *, actor, now: datetime, reason: str) -> Product:
    reason = decision_note(reason)
    if not reason:
        raise ValidationError("reason_required_to_return", fields={"reason": "required"})
    return _decide(product, ApprovalStatus.REJECTED, actor=actor, now=now, note=reason)


def benefit_rows(product_ids) -> dict[int, list[dict]]:
    """{product_id: [{"household_id": id, "household": its label, "weight": w}]}: who a
    product credits, for the approvals page, each household named as every picker names it
    (`catalog.services.household_labels`: its number, the head's name masked, its village)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows: dict[int, list[dict]] = {}
    links = list(
        db.session.scalars(
            sa.select(BenefitLink)
            .options(selectinload(BenefitLink.household))
            .where(BenefitLink.product_id.in_(ids))
            .order_by(BenefitLink.product_id, BenefitLink.household_id)
        )
    )
    labels = household_labels(link.household for link in links)
    for link in links:
        assert link.product_id is not None  # the query names products only
        rows.setdefault(link.product_id, []).append(
            {"household_id": link.household_id, "household": labels[link.household_id], "weight": link.weight}
        )
    return rows
