"""Existing orders take the status their parts give (the settlement rule, data only)

An order's status now follows all its parts (`orders.services.settlement.settle_order`): a confirmed
order stays confirmed while any shipment or booking is open; once none is, it is completed if any part
took place, else canceled. Orders that ended before kept the statuses the old rules gave them: a
booking-only order still confirmed after its stay was completed; a mixed order completed when its goods
were handed over while its stay is still ahead; a mixed order canceled because its goods could not be
supplied while its stay stands (or took place); a mixed order canceled when its booking was canceled
although its goods were handed over.

This migration brings them to the rule. The rule is written here in SQL, as it is at this revision
(settle_order and tourism.services.booking.BOOKING_OUTCOMES of 2026-12-07), on purpose: a migration
does not import application code, which may change after it. A part's outcome:

- a shipment: done once delivered, void once canceled, else open;
- a booking: done once completed, void once canceled, expired or a no-show, else open.

An order with parts, confirmed or completed or — once confirmed (its history has a `confirmed` event)
— canceled, becomes confirmed while any part is open, else completed when any part is done, else
canceled. Only the orders whose status that changes are written, each with a status event (no actor,
note "status corrected by its parts", shown as 已按订单各部分更正状态) as `shop.history.transition`
records a change. Pending and expired orders (never confirmed, or not yet) and orders without parts
are left alone: the rule does not settle them. Money and credits are not touched: they moved with
each part at its own moment.

Downgrade is a no-op: the old statuses were wrong, and nothing recorded which the rule replaced but
the status events this upgrade wrote.

Revision ID: c1ee512ceb53
Revises: b4e7d2a9c361
Create Date: 2026-12-07 03:00:00
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "c1ee512ceb53"
down_revision = "b4e7d2a9c361"
branch_labels = None
depends_on = None

#: The note of the status events this migration writes (a key of shop.history.NOTE_LABELS).
NOTE = "status corrected by its parts"

_PARTS = """
SELECT o.id, o.status,
  (SELECT count(*) FROM shipments s WHERE s.order_id = o.id)
  + (SELECT count(*) FROM bookings b WHERE b.order_id = o.id) AS parts,
  (SELECT count(*) FROM shipments s WHERE s.order_id = o.id AND s.status NOT IN ('delivered', 'canceled'))
  + (SELECT count(*) FROM bookings b WHERE b.order_id = o.id
       AND b.status NOT IN ('completed', 'canceled', 'expired', 'no_show')) AS open_parts,
  (SELECT count(*) FROM shipments s WHERE s.order_id = o.id AND s.status = 'delivered')
  + (SELECT count(*) FROM bookings b WHERE b.order_id = o.id AND b.status = 'completed') AS done_parts
FROM orders o
WHERE o.status IN ('confirmed', 'completed')
   OR (o.status = 'canceled' AND EXISTS (
         SELECT 1 FROM status_events e
         WHERE e.subject_type = 'orders' AND e.subject_id = o.id AND e.to_status = 'confirmed'))
ORDER BY o.id
"""


def _settled(parts: int, open_parts: int, done_parts: int) -> str | None:
    """The status the rule gives an order with these counts of parts; None: the rule leaves it."""
    if not parts:
        return None
    if open_parts:
        return "confirmed"
    return "completed" if done_parts else "canceled"


def upgrade():
    bind = op.get_bind()
    changes = []
    for order_id, status, parts, open_parts, done_parts in bind.execute(sa.text(_PARTS)).all():
        to = _settled(int(parts), int(open_parts), int(done_parts))
        if to is not None and to != status:
            changes.append({"id": order_id, "from": status, "to": to})
    if not changes:
        return
    now = datetime.now(timezone.utc)
    bind.execute(sa.text("UPDATE orders SET status = :to WHERE id = :id AND status = :from"), changes)
    bind.execute(
        sa.text(
            "INSERT INTO status_events (subject_type, subject_id, from_status, to_status, actor_id, note, created_at)"
            " VALUES ('orders', :id, :from, :to, NULL, :note, :now)"
        ).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True))),
        [{**change, "note": NOTE, "now": now} for change in changes],
    )


def downgrade():
    """Nothing: the statuses the old rules gave were wrong (see the module's docstring)."""
