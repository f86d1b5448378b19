"""The household income ledger: what each poor household was credited for the sales it is linked to.

`IncomeEntry` is append-only: never updated or deleted (`shop.schema.append_only`: an ORM guard and a
trigger on PostgreSQL). A household's balance is a SUM over its entries, never a stored running total.

The ledger sits below orders, stations and tourism, which credit and reverse through
`ledger.services`; the county office (county/) reads it for its reports (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.columns import fk, pk
from shop.extensions import db
from shop.schema import append_only


class IncomeKind(StrEnum):
    """Where an entry comes from: a product sale, a booking's money, a reversal of either, or a record."""

    SALE = "sale"
    TOURISM = "tourism"
    REVERSAL = "reversal"
    RECORDED = "recorded"  # a benefit recorded by hand (`ledger.records.BenefitRecord`)


class BenefitKind(StrEnum):
    """What the household really earned (docs/MONEY.md, "Benefit kinds"). A reversal carries the
    benefit kind of the credit it reverses, so a kind's sum is already net."""

    SALE = "sale"  # its share of a sale it supplied on consignment (a product line, a booking)
    PURCHASE = "purchase"  # goods bought from it at intake (agreed or guaranteed price)
    WAGE = "wage"  # days or hours of work at a rate
    DIVIDEND = "dividend"  # a cooperative's or listing's profit distributed by shares
    RENT = "rent"  # land or house let to a cooperative or host
    COLLECTIVE = "collective"  # the village collective's share


BENEFIT_KINDS = tuple(k.value for k in BenefitKind)


@append_only
class IncomeEntry(db.Model):
    __tablename__ = "income_entries"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('sale','tourism','reversal','recorded')", name="kind_valid"),
        # from an order line, or (recorded benefits) from a record
        sa.CheckConstraint("order_line_id IS NOT NULL OR record_id IS NOT NULL", name="source_present"),
        sa.CheckConstraint(
            "benefit_kind IN ('sale','purchase','wage','dividend','rent','collective')", name="benefit_kind_valid"
        ),
        # `ref` is "" for credits (one per line, household and kind) and names the refund for reversals
        sa.UniqueConstraint(
            "order_line_id", "household_id", "kind", "ref", name="uq_income_entries_line_household_kind"
        ),
        sa.Index("ix_income_entries_household_date", "household_id", "entry_date"),
        # the county reports (county.services.reports) sum a date range grouped by one of these
        # columns: on PostgreSQL they read only this index (an index-only scan; figures in bench/README.md,
        # "Figures behind rules in the code"), not the entries scattered over the table
        sa.Index(
            "ix_income_entries_date_covering",
            "entry_date",
            postgresql_include=[
                "kind",
                "benefit_kind",
                "amount_fen",
                "household_id",
                "village_id",
                "station_id",
                "category_id",
            ],
        ),
    )

    id: Mapped[int] = pk()
    household_id: Mapped[int] = fk("households.id")
    #: The sale it comes from (a product line, or the line that sold a booking); None for records.
    order_line_id: Mapped[int | None] = fk("order_lines.id", nullable=True)
    #: The record it comes from (wages, purchases, dividends, rents, collective distributions).
    record_id: Mapped[int | None] = fk("benefit_records.id", nullable=True)
    kind: Mapped[str] = mapped_column(sa.String(12))
    #: What the household earned (`BenefitKind`); entries written before kinds existed are sales.
    benefit_kind: Mapped[str] = mapped_column(sa.String(12), default=BenefitKind.SALE, server_default="sale")
    #: "" for credits; for reversals, which refund it answers ("full", "refund:12", ...).
    ref: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    #: Signed: credits positive, reversals negative.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: The split used: {"producer_share_fen": ..., "weight": w, "weight_total": W}.
    split: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # denormalised from the line, for reports (they never change after the sale)
    village_id: Mapped[int | None] = fk("villages.id", nullable=True)
    station_id: Mapped[int | None] = fk("stations.id", nullable=True)
    category_id: Mapped[int | None] = fk("categories.id", nullable=True)
    #: Beijing calendar date of the credit (months and ranges are by this date).
    entry_date: Mapped[date]
    created_at: Mapped[datetime]

    household = relationship("Household")


class SaleFigure(db.Model):
    """Where a sale's money went, written beside its ledger entries in the same transaction
    (docs/MONEY.md "Where a sale's money goes"): one row per credit of a line (`ref` "" or a kept-money
    ref) and per reversal (`ref` of the refund), signed like the entries. For every row

        sale_fen = household_fen + commission_fen + collective_fen + purchased_fen

    - `household_fen`: what the row's ledger entries credited (or reversed) to households (kind `sale`);
    - `commission_fen`: the platform's or station's commission on the consigned part;
    - `collective_fen`: the producer share no registered household holds (a product with no benefit
      link: the village collective's cooperative's goods), and the fen or two of rounding that a capped
      reversal, or a partial refund's households rounded one by one, leaves (zero again once all is refunded);
    - `purchased_fen`: the part of the sale that units bought at intake (订单收购) make up — the station's
      or cooperative's, whose household was credited `purchase` at intake, never again at sale.

    The county's figures (`county.services.reports.sale_figures`) are SUMs over these rows.
    """

    __tablename__ = "sale_figures"
    __table_args__ = (
        sa.UniqueConstraint("order_line_id", "ref", name="uq_sale_figures_line_ref"),
        sa.CheckConstraint(
            "sale_fen = household_fen + commission_fen + collective_fen + purchased_fen", name="parts_add_up"
        ),
        sa.Index(
            "ix_sale_figures_date_covering",
            "entry_date",
            postgresql_include=[
                "sale_fen",
                "household_fen",
                "commission_fen",
                "collective_fen",
                "purchased_fen",
                "village_id",
                "station_id",
                "category_id",
            ],
        ),
    )

    id: Mapped[int] = pk()
    order_line_id: Mapped[int] = fk("order_lines.id", index=False)
    #: "" for the credit at hand-over or a completed stay, a kept-money ref, or the refund's ref.
    ref: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    sale_fen: Mapped[int] = mapped_column(sa.BigInteger)
    household_fen: Mapped[int] = mapped_column(sa.BigInteger)
    commission_fen: Mapped[int] = mapped_column(sa.BigInteger)
    collective_fen: Mapped[int] = mapped_column(sa.BigInteger)
    purchased_fen: Mapped[int] = mapped_column(sa.BigInteger)
    village_id: Mapped[int | None] = fk("villages.id", nullable=True, index=False)
    station_id: Mapped[int | None] = fk("stations.id", nullable=True, index=False)
    category_id: Mapped[int | None] = fk("categories.id", nullable=True, index=False)
    entry_date: Mapped[date]
    created_at: Mapped[datetime]


class IncomeDaily(db.Model):
    """The ledger summed by day (docs/MONEY.md "County figures at volume"): one row per Beijing day,
    household, village, station, category, entry kind and benefit kind, with the SUM of the entries'
    amounts and their count. Kept by the ledger in the transaction that inserts the entries, as its last
    write, in key order (`ledger.summaries`), so it always equals a GROUP BY over the ledger; the ledger
    being append-only, nothing else ever changes it. The county reports
    (`county.services.reports.income_report`) read it: a month of a million orders is some thousands of
    rows here instead of hundreds of thousands of entries. Ids are 0 where the entry has none."""

    __tablename__ = "income_daily"

    entry_date: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    village_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    benefit_kind: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    entries: Mapped[int] = mapped_column(sa.Integer)


class SaleDaily(db.Model):
    """The sale figures summed by Beijing day, village, station and category (ids 0 for none), kept like
    `IncomeDaily` by the ledger in the transaction that inserts the figures (`ledger.summaries`), so it is
    always a GROUP BY of them; the county's 销售去向 reads it (`county.services.reports.sale_figures`)."""

    __tablename__ = "sale_daily"

    entry_date: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    village_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    sale_fen: Mapped[int] = mapped_column(sa.BigInteger)
    household_fen: Mapped[int] = mapped_column(sa.BigInteger)
    commission_fen: Mapped[int] = mapped_column(sa.BigInteger)
    collective_fen: Mapped[int] = mapped_column(sa.BigInteger)
    purchased_fen: Mapped[int] = mapped_column(sa.BigInteger)
    lines: Mapped[int] = mapped_column(sa.Integer)
