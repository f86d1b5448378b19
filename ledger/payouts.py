"""Payouts: what the ledger credited is paid to the households (issue #20, docs/MONEY.md "Payouts").
The county office creates batches, exports and imports the bank files (`county.services.payouts`).

- `PaymentAccount`: a household's account for payouts (bank card, 惠农一卡通, 社保卡), the number and the
  holder's name encrypted like other personal data, shown masked, revealed only with an audit row.
- `PayoutBatch`: the county (or a township, or a village) pays a period: one per period and scope.
- `PayoutLine`: one household in a batch, the amount and the account it is paid to (a snapshot),
  `pending` until the bank's result file says `paid` (with the bank's reference) or `failed` (with the
  reason; its credits are payable again).
- `PayoutItem`: which ledger entry a line pays. An entry is held by at most one live item (a partial
  unique index: `released` is set when the line failed), so no credit is ever in two batches.
- `Payable`: the ledger entries no live item holds, one row each — what the next batch may pay. The
  ledger writes every new entry's row (`add_payables`, from `ledger.services.insert_entries`); a batch
  moves the rows it pays into its items; a failed line puts its entries' rows back. So a batch reads this small table (the unpaid entries: about a month of
  the ledger), never an anti-join of the whole ledger with every item ever written.

Payable = ledger entries held by no live item (= the `payables` rows); paid = entries held by items of
paid lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.columns import BigIntPK, fk, pk
from shop.extensions import db
from shop.personal_data import EncryptedString


class AccountKind(StrEnum):
    BANK_CARD = "bank_card"  # 银行卡
    HUINONG_CARD = "huinong_card"  # 惠农一卡通
    SOCIAL_SECURITY_CARD = "social_security_card"  # 社保卡


class PaymentAccount(db.Model):
    __tablename__ = "payment_accounts"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('bank_card','huinong_card','social_security_card')", name="kind_valid"),
        sa.UniqueConstraint("household_id", name="uq_payment_accounts_household_id"),
    )

    id: Mapped[int] = pk()
    household_id: Mapped[int] = fk("households.id", index=False)
    kind: Mapped[str] = mapped_column(sa.String(24))
    #: The card or account number, encrypted; shown masked (`mask_account_no`).
    number: Mapped[str] = mapped_column(EncryptedString())
    #: 户名: the account holder, encrypted.
    holder_name: Mapped[str] = mapped_column(EncryptedString())
    #: 开户行 (e.g. 南昌农商银行向塘支行).
    bank_name: Mapped[str] = mapped_column(sa.String(60), default="")
    updated_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    updated_at: Mapped[datetime]


class BatchStatus(StrEnum):
    OPEN = "open"  # created, not yet sent to the bank
    EXPORTED = "exported"  # the bank file was downloaded at least once
    SETTLED = "settled"  # every line is paid or failed


BATCH_TRANSITIONS = {
    BatchStatus.OPEN: {BatchStatus.EXPORTED},
    BatchStatus.EXPORTED: {BatchStatus.EXPORTED, BatchStatus.SETTLED},
    BatchStatus.SETTLED: set(),
}


class LineStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"


LINE_TRANSITIONS = {
    LineStatus.PENDING: {LineStatus.PAID, LineStatus.FAILED},
    LineStatus.PAID: set(),
    LineStatus.FAILED: set(),
}


class PayoutBatch(db.Model):
    __tablename__ = "payout_batches"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open','exported','settled')", name="status_valid"),
        sa.CheckConstraint("period_from <= period_to", name="period_ordered"),
        # one batch per period and scope: two officers creating it at once make one
        sa.UniqueConstraint("period_from", "period_to", "scope", name="uq_payout_batches_period_scope"),
    )

    id: Mapped[int] = pk()
    #: Shown to people and written into the bank file's 摘要 and line references, e.g. PO202611-12.
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    period_from: Mapped[date]
    period_to: Mapped[date]
    #: "county", "township:<id>" or "village:<id>".
    scope: Mapped[str] = mapped_column(sa.String(32))
    township_id: Mapped[int | None] = fk("townships.id", nullable=True)
    village_id: Mapped[int | None] = fk("villages.id", nullable=True)
    status: Mapped[str] = mapped_column(sa.String(12), default=BatchStatus.OPEN)
    #: Households with money payable but no payment account (not in the batch; their credits wait).
    skipped_no_account: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]

    lines = relationship("PayoutLine", back_populates="batch", order_by="PayoutLine.id")


class PayoutLine(db.Model):
    __tablename__ = "payout_lines"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending','paid','failed')", name="status_valid"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.UniqueConstraint("batch_id", "household_id", name="uq_payout_lines_batch_household"),
    )

    id: Mapped[int] = pk()
    batch_id: Mapped[int] = fk("payout_batches.id", index=False)
    household_id: Mapped[int] = fk("households.id")
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(12), default=LineStatus.PENDING)
    # the account it is paid to, as it was when the batch was made (encrypted like the account)
    account_kind: Mapped[str] = mapped_column(sa.String(24))
    account_number: Mapped[str] = mapped_column(EncryptedString())
    holder_name: Mapped[str] = mapped_column(EncryptedString())
    bank_name: Mapped[str] = mapped_column(sa.String(60), default="")
    #: The bank's reference of the transfer (paid lines).
    bank_ref: Mapped[str] = mapped_column(sa.String(64), default="")
    #: Why the bank could not pay (failed lines).
    failure_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    settled_at: Mapped[datetime | None]

    batch = relationship(PayoutBatch, back_populates="lines")
    household = relationship("Household")


class PayoutItem(db.Model):
    __tablename__ = "payout_items"
    __table_args__ = (
        # a ledger entry is in at most one live (not released) item: never in two batches
        sa.Index(
            "uq_payout_items_live_entry",
            "entry_id",
            unique=True,
            postgresql_where=sa.text("NOT released"),
            sqlite_where=sa.text("NOT released"),
        ),
    )

    id: Mapped[int] = pk()
    line_id: Mapped[int] = fk("payout_lines.id")
    #: The ledger entry paid. No foreign key: an item is written only from that entry's `payables` row,
    #: whose key was checked when the entry was written, and the ledger deletes nothing (append-only);
    #: a key checked here would lock every entry a batch pays (a write to each of a month's entries).
    entry_id: Mapped[int] = mapped_column(BigIntPK)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: Set when the line failed: the entry is payable again.
    released: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class Payable(db.Model):
    """A ledger entry that no live payout item holds: the next batch may pay it (docs/MONEY.md "Payouts").

    Invariant: the rows of `payables` are exactly the entries of `income_entries` held by no live item
    of `payout_items`. It is kept in the transactions that change either side:

    - every new entry gets its row when it is written (`add_payables`, called by
      `ledger.services.insert_entries`, the one way entries are written), in the same transaction;
    - `county.services.payouts.create_batch` turns the rows it pays into items and deletes them;
    - a failed line's items are released and their entries' rows written back (`import_result`).

    The household, date and amount are the entry's (an entry never changes), so a batch sums and takes
    what is unpaid up to its period's end from this table alone: `(household_id, entry_date)` serves
    a village's or township's households, a county batch reads the table, which holds what is unpaid
    (about a month of entries once the earlier months are paid) rather than the whole ledger.
    `PAYABLES_REBUILD` makes it again from the entries and the items (the migration, a bulk load)."""

    __tablename__ = "payables"
    __table_args__ = (sa.Index("ix_payables_household_date", "household_id", "entry_date"),)

    entry_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("income_entries.id", ondelete="RESTRICT"), primary_key=True, autoincrement=False
    )
    household_id: Mapped[int] = fk("households.id", index=False)
    entry_date: Mapped[date]
    #: Signed like the entry: a reversal after payment is a negative payable.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)


def add_payables(entries: Iterable[Mapping[Any, Any]]) -> None:
    """Ledger entries just inserted (mappings with id, household_id, entry_date, amount_fen) are payable:
    their `payables` rows, in the same transaction (`ledger.services.insert_entries` calls this)."""
    rows = [
        {
            "entry_id": e["id"],
            "household_id": e["household_id"],
            "entry_date": e["entry_date"],
            "amount_fen": e["amount_fen"],
        }
        for e in entries
    ]
    if rows:
        db.session.execute(sa.insert(Payable.__table__).values(rows))


#: Make `payables` again from the ledger and the items (after a bulk load that wrote entries around the
#: ledger's services).
PAYABLES_REBUILD = (
    "DELETE FROM payables",
    "INSERT INTO payables (entry_id, household_id, entry_date, amount_fen) "
    "SELECT e.id, e.household_id, e.entry_date, e.amount_fen FROM income_entries e "
    "WHERE NOT EXISTS (SELECT 1 FROM payout_items i WHERE i.entry_id = e.id AND NOT i.released)",
)
