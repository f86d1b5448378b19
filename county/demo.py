"""County demo data (idempotent): the plan's targets, the demo households' payment accounts and a little
history of recorded benefits, so that a county officer trying the demo finds income to read, statements
(明白卡) with lines and households to pay (收益发放), and a few households still waiting for an account.

Everything goes through the county's own services (`payouts.set_account`, `benefits.record_benefit`), as
an officer's typing would: accounts are audited, each benefit record credits its ledger entries on the
day it is recorded. No sale or stay is invented here: sale and tourism income is credited only when the
money is received (a card captured, cash written in a station's or a host's cash book), which the demo's
history does through the shop's services (`demo.sales`, `demo.stays`) and its buyers when they try the shop.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from catalog.models import Household, Village
from county.services import benefits, payouts
from county.services.targets import seed_targets
from ledger.models import BenefitKind
from ledger.payouts import AccountKind, PaymentAccount
from ledger.records import BenefitRecord
from shop.auth.models import User
from shop.extensions import db
from shop.timeutil import local_date, local_hour_utc
from stock.models import Station

#: Every WAITING_EVERY-th demo household has no payment account yet (收益发放 lists them, to register).
WAITING_EVERY = 5
COUNTY_EMAIL = "county@demo.cn"


def seed(now: datetime) -> bool:
    created = seed_targets(now=now)
    officer = db.session.scalar(sa.select(User).where(User.email == COUNTY_EMAIL))
    households = db.session.scalars(
        sa.select(Household).where(Household.is_demo.is_(True)).order_by(Household.id)
    ).all()
    if officer is None or not households:
        return created
    created |= _seed_accounts(households, officer, now)
    created |= _seed_benefits(households, officer, now)
    return created


def demo_account_number(household_id: int) -> str:
    """A demo household's bank card number: 19 digits, unique per household."""
    return f"621799{household_id:013d}"


def _seed_accounts(households: list[Household], officer: User, now: datetime) -> bool:
    with_account = set(db.session.scalars(sa.select(PaymentAccount.household_id)))
    created = False
    for n, household in enumerate(households):
        if n % WAITING_EVERY == WAITING_EVERY - 1 or household.id in with_account:
            continue
        payouts.set_account(
            household,
            kind=AccountKind.BANK_CARD,
            number=demo_account_number(household.id),
            bank_name="南昌农商银行",
            actor=officer,
            now=now,
        )
        created = True
    return created


def _at(day: date) -> datetime:
    """10:00 Beijing time on `day`: when the demo's records are typed in."""
    return local_hour_utc(day, 10)


def _seed_benefits(households: list[Household], officer: User, now: datetime) -> bool:
    """Last month's wages at the first demo station and a village cooperative's dividend, both recorded on
    the month's last day; this month's intake purchase, recorded two days ago (today on a month's first two
    days). Each record once: its description is its key."""
    today = local_date(now)
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    last_month_start = last_month_end.replace(day=1)
    station = db.session.scalar(sa.select(Station).order_by(Station.code))
    village = db.session.scalar(sa.select(Village).where(Village.is_demo.is_(True)).order_by(Village.slug))
    in_village = [h for h in households if village is not None and h.village_id == village.id]
    month = f"{last_month_start:%Y年%m月}"
    records = [
        (
            _at(last_month_end),
            benefits.RecordData(
                kind=BenefitKind.WAGE,
                period_from=last_month_start,
                period_to=last_month_end,
                description=f"{month}电商服务站分拣打包用工",
                unit="day",
                station_id=station.id if station else None,
                lines=[
                    benefits.RecordLine(household_id=h.id, member_no=1, units=8 + n % 5, rate_fen=12_000)
                    for n, h in enumerate(households[:6])
                ],
            ),
        ),
        (
            _at(last_month_end),
            benefits.RecordData(
                kind=BenefitKind.DIVIDEND,
                period_from=last_month_start,
                period_to=last_month_end,
                description=f"{month}{village.name if village else ''}腌菜合作社分红",
                total_fen=600_000,
                shares_total=sum(1 + h.members for h in in_village),
                lines=[benefits.RecordLine(household_id=h.id, shares=1 + h.members) for h in in_village],
            ),
        ),
        (
            _at(max(today - timedelta(days=2), month_start)),
            benefits.RecordData(
                kind=BenefitKind.PURCHASE,
                period_from=month_start,
                period_to=max(today - timedelta(days=2), month_start),
                description=f"{month_start:%Y年%m月}收购农户腌菜（保底价）",
                station_id=station.id if station else None,
                lines=[
                    benefits.RecordLine(household_id=h.id, quantity=20 + 5 * n, rate_fen=800)
                    for n, h in enumerate(households[6:12])
                ],
            ),
        ),
    ]
    done = set(db.session.scalars(sa.select(BenefitRecord.description)))
    created = False
    for recorded_at, data in records:
        if data.description in done or not data.lines:
            continue
        benefits.record_benefit(data, actor=officer, now=recorded_at)
        created = True
    return created
