"""Re-certification: an approved product's certified facts change only with the county's approval.

The county certified a product (扶贫产品认定) with its name, unit, price and photo. An operator's change to
any of these on an approved product does not go live: it is kept as a pending `ProductChange` (one
per product; a later request merges into it), the shop keeps selling the approved version, and the
county's approvals page shows old and new side by side. Approving applies it; rejecting discards it
with a reason, which the station's product list shows until it asks another change (`returned_changes_of`);
request, approval and rejection are audited. A product not yet approved (pending or
rejected) is not certified yet: its facts change directly and are certified with it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from catalog.images import check_image, save_product_image, store_image_files
from catalog.models import ApprovalStatus, Product, ProductChange, ProductChangeStatus, ProductImage
from catalog.services import decision_note
from shop.audit import record_audit
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db

#: The facts the county certifies besides the photo (`request_photo_change`).
CERTIFIED = ("name", "unit", "price_fen")
IMAGE_FIELDS = ("image_path", "image_thumb_path", "image_width", "image_height")


def _lock_product(product_id: int) -> Product:
    return db.session.execute(
        sa.select(Product).where(Product.id == product_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def pending_change(product_id: int) -> ProductChange | None:
    return db.session.scalar(
        sa.select(ProductChange).where(
            ProductChange.product_id == product_id, ProductChange.status == ProductChangeStatus.PENDING
        )
    )


def pending_changes_of(product_ids: list[int]) -> dict[int, ProductChange]:
    """The pending change of each of these products that has one, by product id (one statement): what
    the station's product list shows as waiting for the county beside the price still sold."""
    if not product_ids:
        return {}
    changes = db.session.scalars(
        sa.select(ProductChange).where(
            ProductChange.product_id.in_(product_ids), ProductChange.status == ProductChangeStatus.PENDING
        )
    )
    return {change.product_id: change for change in changes}


def returned_changes_of(product_ids: list[int]) -> dict[int, ProductChange]:
    """The change the county returned, with its reason, of each of these products whose latest change it is
    (one statement): what the station's product list says was not certified, and why, until the station asks
    for another change. Without it the station, still selling at the old price, never learnt its new price
    was refused."""
    if not product_ids:
        return {}
    latest = (
        sa.select(sa.func.max(ProductChange.id))
        .where(ProductChange.product_id.in_(product_ids))
        .group_by(ProductChange.product_id)
    )
    changes = db.session.scalars(
        sa.select(ProductChange).where(
            ProductChange.id.in_(latest), ProductChange.status == ProductChangeStatus.REJECTED
        )
    )
    return {change.product_id: change for change in changes}


def needs_recertification(product: Product) -> bool:
    return product.approval_status == ApprovalStatus.APPROVED


def resubmit_if_returned(product: Product, *, actor, now: datetime) -> bool:
    """A product the county returned (rejected, with its reason) goes back to the county's queue when
    the station changes what it certifies (name, unit, price, photo): pending again, the reason it was
    returned kept in the audit log (`product.resubmit`). True when it was resubmitted."""
    if product.approval_status != ApprovalStatus.REJECTED:
        return False
    detail = {"returned_for": product.approval_note}
    product.approval_status = ApprovalStatus.PENDING
    product.approval_note = ""
    record_audit(actor=actor, action="product.resubmit", subject=product, detail=detail, now=now)
    return True


def request_change(product: Product, *, actor, now: datetime, **values) -> ProductChange | None:
    """Keep the asked-for `name` / `unit` / `price_fen` of an approved product for the county.

    Values equal to the certified ones are dropped (asking for the approved price back withdraws
    that part; nothing left withdraws the whole request). Returns the pending change, or None.
    """
    unknown = set(values) - set(CERTIFIED)
    if unknown:
        raise ValueError(f"not a certified fact: {sorted(unknown)}")
    product = _lock_product(product.id)  # one request at a time per product: merged, never two pending
    change = pending_change(product.id)
    wanted = {key: (change and getattr(change, key)) for key in CERTIFIED}
    for key, value in values.items():
        if value is not None:
            wanted[key] = value
    wanted = {key: value for key, value in wanted.items() if value is not None and value != getattr(product, key)}
    if not wanted and not (change is not None and change.image_path):
        if change is not None:
            db.session.delete(change)
            record_audit(actor=actor, action="product.change.withdraw", subject=product, detail={}, now=now)
            db.session.flush()
        return None
    change = change or _new_change(product, now=now)
    for key in CERTIFIED:
        setattr(change, key, wanted.get(key))
    change.requested_by_id = getattr(actor, "id", None)
    change.requested_at = now
    db.session.flush()
    record_audit(
        actor=actor,
        action="product.change.request",
        subject=product,
        detail={key: [getattr(product, key), value] for key, value in wanted.items()},
        now=now,
    )
    return change


def _new_change(product: Product, *, now: datetime) -> ProductChange:
    change = ProductChange(
        product_id=product.id,
        status=ProductChangeStatus.PENDING,
        old_name=product.name,
        old_unit=product.unit,
        old_price_fen=product.price_fen,
        requested_at=now,
        decision_note="",
    )
    db.session.add(change)
    return change


def change_photo(product: Product, upload, *, actor, now: datetime):
    """A new main photo. On an approved product it waits for the county (the files are stored, the
    shop keeps showing the certified photo); otherwise it becomes the first photo at once.
    Returns the pending change, or the new ProductImage."""
    checked = check_image(upload)  # before any write: a bad file changes nothing
    product = _lock_product(product.id)
    if not needs_recertification(product):
        for image in product.images:
            image.position += 1
        image = save_product_image(product, None, checked=checked, position=0)
        record_audit(actor=actor, action="product.photo", subject=product, detail={"image": image.path}, now=now)
        resubmit_if_returned(product, actor=actor, now=now)
        return image
    stored = store_image_files(product.id, checked)
    change = pending_change(product.id) or _new_change(product, now=now)
    change.image_path, change.image_thumb_path = stored.path, stored.thumb_path
    change.image_width, change.image_height = stored.width, stored.height
    change.requested_by_id = getattr(actor, "id", None)
    change.requested_at = now
    db.session.flush()
    record_audit(actor=actor, action="product.change.request", subject=product, detail={"image": stored.path}, now=now)
    return change


def pending_changes() -> list[ProductChange]:
    return list(
        db.session.scalars(
            sa.select(ProductChange)
            .where(ProductChange.status == ProductChangeStatus.PENDING)
            .order_by(ProductChange.requested_at, ProductChange.id)
        )
    )


def get_change(change_id: int) -> ProductChange:
    change = db.session.get(ProductChange, change_id)
    if change is None:
        raise NotFound("change_not_found")
    return change


def _lock_change(change: ProductChange) -> tuple[Product, ProductChange]:
    product = _lock_product(change.product_id)  # lock order: product, then its change
    change = db.session.execute(
        sa.select(ProductChange)
        .where(ProductChange.id == change.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if change.status != ProductChangeStatus.PENDING:
        raise Conflict("change_already_decided")
    return product, change


def approve_change(change: ProductChange, *, actor, now: datetime, note: str = "") -> Product:
    """Apply the change: the product now sells with the new, re-certified facts."""
    product, change = _lock_change(change)
    applied = {}
    for key in CERTIFIED:
        value = getattr(change, key)
        if value is not None and value != getattr(product, key):
            applied[key] = [getattr(product, key), value]
            setattr(product, key, value)
    if change.image_path:
        for image in product.images:
            image.position += 1
        db.session.add(
            ProductImage(
                product_id=product.id,
                path=change.image_path,
                thumb_path=change.image_thumb_path,
                width=change.image_width or 0,
                height=change.image_height or 0,
                alt=product.name[:120],
                position=0,
            )
        )
        applied["image"] = change.image_path
    change.status = ProductChangeStatus.APPROVED
    change.decided_by_id = getattr(actor, "id", None)
    change.decided_at = now
    change.decision_note = decision_note(note, field="note")
    product.approved_at = now
    product.approved_by_id = getattr(actor, "id", None)
    product.updated_at = now
    db.session.flush()
    record_audit(
        actor=actor,
        action="product.change.approve",
        subject=product,
        detail={"change_id": change.id, **applied, "note": change.decision_note},
        now=now,
    )
    return product


def reject_change(change: ProductChange, *, actor, now: datetime, reason: str) -> ProductChange:
    """Discard the change with a reason; the approved version stays on sale."""
    reason = decision_note(reason)
    if not reason:
        raise ValidationError("reason_required_to_return", fields={"reason": "required"})
    product, change = _lock_change(change)
    change.status = ProductChangeStatus.REJECTED
    change.decided_by_id = getattr(actor, "id", None)
    change.decided_at = now
    change.decision_note = reason
    db.session.flush()
    record_audit(
        actor=actor,
        action="product.change.reject",
        subject=product,
        detail={"change_id": change.id, "reason": reason},
        now=now,
    )
    return change
