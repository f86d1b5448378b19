"""County demo data: the plan's targets (idempotent). Income entries come from the demo orders'
deliveries (stations) and completed stays (tourism), which call the ledger."""

from __future__ import annotations

from datetime import datetime

from county.services.targets import seed_targets


def seed(now: datetime) -> bool:
    return seed_targets(now=now)
