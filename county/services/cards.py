"""The household statement (明白卡): one household, one month, in plain words, for print and phone.

Every figure is read from the ledger and the payout lines, never stored:
- credited this month, by benefit kind and by product or listing (the order line's title), and the
  reversals one by one;
- paid this month (lines the bank paid, by the Beijing date of the result) with the masked account;
- up to the month's end: credited in total, paid of it by then (the lines the bank paid up to the month's
  end: the sum of every card's 本月发放到账 so far, so a past month's card prints the same later), still to pay.
`village_cards` gives the cards of every household of a village (the village prints them at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from catalog.models import Household, Village
from county.services.payouts import household_payout_figures
from county.services.reports import BENEFIT_KIND_LABELS, parse_month
from ledger.models import BENEFIT_KINDS, IncomeEntry, IncomeKind
from ledger.payouts import LineStatus, PayoutBatch, PayoutLine
from ledger.records import BenefitRecord
from orders.models import OrderLine
from shop.extensions import db
from shop.personal_data import mask_account_no, mask_name
from shop.timeutil import TZ


@dataclass
class Card:
    household: Household
    head_name: str  # masked
    village: str
    month: str
    date_from: date
    date_to: date
    #: [{kind, label, items: [{title, amount_fen, entries}], total_fen}] — credits of the month, by kind
    kinds: list[dict]
    credited_fen: int
    #: [{entry_date, title, label, amount_fen}] — negative
    reversals: list[dict]
    reversed_fen: int
    #: credited + reversals: what the ledger says the household earned this month
    net_fen: int
    #: [{paid_date, amount_fen, account, bank_ref, batch}] — paid this month
    payments: list[dict]
    paid_in_month_fen: int
    #: up to the month's end
    total_credited_fen: int
    total_paid_fen: int
    outstanding_fen: int


def _month_bounds_utc(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    start = datetime(date_from.year, date_from.month, date_from.day, tzinfo=TZ)
    end = datetime(date_to.year, date_to.month, date_to.day, tzinfo=TZ) + timedelta(days=1)
    return start, end


def household_card(household: Household, month: str) -> Card:
    date_from, date_to = parse_month(month)
    rows = db.session.execute(
        sa.select(
            IncomeEntry.kind,
            IncomeEntry.benefit_kind,
            IncomeEntry.entry_date,
            IncomeEntry.amount_fen,
            sa.func.coalesce(OrderLine.title, BenefitRecord.description),
        )
        .outerjoin(OrderLine, OrderLine.id == IncomeEntry.order_line_id)
        .outerjoin(BenefitRecord, BenefitRecord.id == IncomeEntry.record_id)
        .where(
            IncomeEntry.household_id == household.id,
            IncomeEntry.entry_date >= date_from,
            IncomeEntry.entry_date <= date_to,
        )
        .order_by(IncomeEntry.entry_date, IncomeEntry.id)
    ).all()
    by_kind: dict[str, dict[str, dict]] = {}
    reversals: list[dict[str, Any]] = []
    for kind, benefit_kind, entry_date, amount, title in rows:
        label = str(BENEFIT_KIND_LABELS.get(benefit_kind, benefit_kind))
        if kind == IncomeKind.REVERSAL:
            reversals.append({"entry_date": entry_date, "title": title or "", "label": label, "amount_fen": amount})
            continue
        item = by_kind.setdefault(benefit_kind, {}).setdefault(
            title or "", {"title": title or "", "amount_fen": 0, "entries": 0}
        )
        item["amount_fen"] += amount
        item["entries"] += 1
    kinds: list[dict[str, Any]] = []
    for kind in BENEFIT_KINDS:
        if kind in by_kind:
            items = sorted(by_kind[kind].values(), key=lambda i: -i["amount_fen"])
            kinds.append(
                {
                    "kind": kind,
                    "label": str(BENEFIT_KIND_LABELS[kind]),
                    "items": items,
                    "total_fen": sum(i["amount_fen"] for i in items),
                }
            )
    start, end = _month_bounds_utc(date_from, date_to)
    paid = db.session.execute(
        sa.select(
            PayoutLine.settled_at,
            PayoutLine.amount_fen,
            PayoutLine.account_number,
            PayoutLine.bank_ref,
            PayoutBatch.code,
        )
        .join(PayoutBatch, PayoutBatch.id == PayoutLine.batch_id)
        .where(
            PayoutLine.household_id == household.id,
            PayoutLine.status == LineStatus.PAID,
            PayoutLine.settled_at >= start,
            PayoutLine.settled_at < end,
        )
        .order_by(PayoutLine.settled_at, PayoutLine.id)
    ).all()
    payments: list[dict[str, Any]] = [
        {
            "paid_date": settled_at.astimezone(TZ).date(),
            "amount_fen": amount,
            "account": mask_account_no(number),
            "bank_ref": bank_ref,
            "batch": code,
        }
        for settled_at, amount, number, bank_ref, code in paid
        if settled_at is not None
    ]  # a paid line has its settlement time (the query asks a range of it)
    figures = household_payout_figures(household.id, until=date_to)
    # paid by the month's end: a line holds entries dated up to its batch's period end, before it was paid,
    # so the lines paid by then paid credits of this card's total only
    paid_by_end = int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(PayoutLine.amount_fen), 0)).where(
                PayoutLine.household_id == household.id,
                PayoutLine.status == LineStatus.PAID,
                PayoutLine.settled_at < end,
            )
        )
        or 0
    )
    credited = sum(k["total_fen"] for k in kinds)
    reversed_ = sum(r["amount_fen"] for r in reversals)
    village = db.session.get(Village, household.village_id)
    return Card(
        household=household,
        head_name=mask_name(household.head_name),
        village=village.name if village else "",
        month=month,
        date_from=date_from,
        date_to=date_to,
        kinds=kinds,
        credited_fen=credited,
        reversals=reversals,
        reversed_fen=reversed_,
        net_fen=credited + reversed_,
        payments=payments,
        paid_in_month_fen=sum(p["amount_fen"] for p in payments),
        total_credited_fen=figures["credited_fen"],
        total_paid_fen=paid_by_end,
        outstanding_fen=figures["credited_fen"] - paid_by_end,
    )


def village_cards(village: Village, month: str) -> list[Card]:
    """The cards of every registered household of the village, in registry order."""
    parse_month(month)  # a bad month is refused before anything is read
    households = db.session.scalars(
        sa.select(Household).where(Household.village_id == village.id).order_by(Household.id)
    ).all()
    return [household_card(h, month) for h in households]
