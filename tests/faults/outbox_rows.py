"""What the outbox holds, read by the outbox tests (test_outbox.py, test_outbox_relay.py)."""

from __future__ import annotations

import sqlalchemy as sa

import shop.outbox
from shop.outbox import OutboxMessage


def outbox_rows():
    """Every row of `outbox_messages`, oldest first."""
    return list(shop.outbox.db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
