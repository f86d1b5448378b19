"""Benefits recorded by hand (issue #20): purchases at intake, wages, dividends, rents, collective
distributions. One `BenefitRecord` per recording (a pay sheet, a distribution, a rent for a period),
with its lines as entered; each line credits one `IncomeEntry` (kind `recorded`, `record_id` set, the
record's benefit kind) in the same transaction. Records are never edited: a mistake is put right by a
reversal record (negative lines are refused). Recorded by `county.services.benefits` (the county office's
service, which checks who may record what)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.columns import fk, pk
from shop.extensions import db


class BenefitRecord(db.Model):
    __tablename__ = "benefit_records"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('purchase','wage','dividend','rent','collective')", name="kind_valid"),
        sa.CheckConstraint("period_from <= period_to", name="period_ordered"),
        sa.CheckConstraint("total_fen > 0", name="total_positive"),
        sa.UniqueConstraint("lot_id", name="uq_benefit_records_lot_id"),
    )

    id: Mapped[int] = pk()
    #: The benefit kind it credits (never `sale`: sales are credited from order lines).
    kind: Mapped[str] = mapped_column(sa.String(12))
    period_from: Mapped[date]
    period_to: Mapped[date]
    #: Who pays it: a station, a listing's host, or (neither) the county office on a cooperative's behalf.
    station_id: Mapped[int | None] = fk("stations.id", nullable=True)
    listing_id: Mapped[int | None] = fk("listings.id", nullable=True)
    #: A purchase at stock intake: the lot bought (`stock.models.Lot.purchase_price_fen`), once per lot.
    lot_id: Mapped[int | None] = fk("lots.id", nullable=True, index=False)
    #: What it is for, e.g. "采摘工 11月" or "合作社 2026 年分红" or "土地流转 3 亩".
    description: Mapped[str] = mapped_column(sa.String(120))
    #: The lines as entered, with what each credited: [{household_id, member_no?, units?, unit?, rate_fen?,
    #: quantity?, shares?, amount_fen}], plus {"shares_total": n} for dividends.
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    total_fen: Mapped[int] = mapped_column(sa.BigInteger)
    recorded_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime]
