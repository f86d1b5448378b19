"""The plan's targets (the income ledger itself is `ledger.models`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.columns import pk
from shop.extensions import db


class Target(db.Model):
    """A target of the 2017 plan, with how its progress is measured (`metric`)."""

    __tablename__ = "targets"

    id: Mapped[int] = pk()
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    label: Mapped[str] = mapped_column(sa.String(120))
    label_en: Mapped[str] = mapped_column(sa.String(160), default="")
    metric: Mapped[str] = mapped_column(sa.String(40))
    target_value: Mapped[int] = mapped_column(sa.BigInteger)
    unit: Mapped[str] = mapped_column(sa.String(12), default="")
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
