"""Record benefits that do not come from a sale: purchases at intake, wages, dividends, rents,
collective distributions (issue #20; docs/MONEY.md "Benefit kinds").

`record_benefit(data, actor, now)` validates the whole record first (a period that has happened, a rate,
shares that sum, known households and members), then writes one `BenefitRecord` and one ledger entry
per line (kind `recorded`, the record's benefit kind), and an audit row — or raises ValidationError and
writes nothing. Who may record: the county office (any), a station's operator (its own station), a host
(its own listing); `can_record` says so.

- purchase: quantity × agreed or guaranteed unit price (保底价), per household.
- wage: days or hours × rate, per registered member (`member_no` from 1 to the household's members).
- rent: the amount for the period, per household (land or house let).
- dividend / collective: `total_fen` split by shares (`split_fen`, largest remainder: the parts add up
  to the total); the shares must add up to `shares_total`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from catalog.models import Household
from ledger.models import BenefitKind, IncomeKind
from ledger.records import BenefitRecord
from ledger.services import insert_entries
from shop.audit import record_audit
from shop.errors import NotFound, ValidationError
from shop.extensions import db
from shop.money import split_fen
from shop.timeutil import local_date
from stock.models import Station
from tourism.models import Listing

RECORDED_KINDS = (
    BenefitKind.PURCHASE,
    BenefitKind.WAGE,
    BenefitKind.DIVIDEND,
    BenefitKind.RENT,
    BenefitKind.COLLECTIVE,
)
UNITS = ("day", "hour")
MAX_LINES = 500
#: Bounds that catch typing errors (a rate in fen typed as yuan, a year of hours in a month).
MAX_RATE_FEN = {"day": 100_000, "hour": 20_000}  # 1,000 yuan a day, 200 yuan an hour
MAX_AMOUNT_FEN = 100_000_000  # 1,000,000 yuan in one line or record
MAX_PERIOD_DAYS = 366


@dataclass
class RecordLine:
    household_id: int
    member_no: int | None = None
    units: int | None = None  # wage: days or hours worked
    quantity: int | None = None  # purchase
    rate_fen: int | None = None  # wage: per day/hour; purchase: unit price
    shares: int | None = None  # dividend, collective
    amount_fen: int | None = None  # rent


@dataclass
class RecordData:
    kind: str
    period_from: date
    period_to: date
    description: str
    lines: list[RecordLine] = field(default_factory=list)
    unit: str = "day"
    station_id: int | None = None
    listing_id: int | None = None
    total_fen: int | None = None
    shares_total: int | None = None


def can_record(user, *, station_id: int | None, listing_id: int | None) -> bool:
    """County office and admins: any record. An operator: its own station's. A host: its own listing's."""
    if user is None:
        return False
    if user.role in ("county", "admin"):
        return True
    if user.role == "operator":
        return station_id is not None and listing_id is None and station_id == getattr(user, "station_id", None)
    if user.role == "host" and listing_id is not None and station_id is None:
        listing = db.session.get(Listing, listing_id)
        return listing is not None and listing.host_id == user.id
    return False


def _positive(value, limit: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= limit


def _check(data: RecordData, now: datetime) -> tuple[dict[str, str], dict[int, Household]]:
    errors: dict[str, str] = {}
    if data.kind not in RECORDED_KINDS:
        errors["kind"] = _("收益类型须为订单收购、务工工资、分红、租金或村集体分配")
    if data.period_from > data.period_to:
        errors["period_from"] = _("开始日期晚于结束日期")
    elif data.period_to > local_date(now):
        errors["period_to"] = _("结束日期不能晚于今天")
    elif (data.period_to - data.period_from).days >= MAX_PERIOD_DAYS:
        errors["period_to"] = _("期间最长一年")
    if not 1 <= len(data.description.strip()) <= 120:
        errors["description"] = _("请填写说明（120字以内）")
    if data.station_id is not None and data.listing_id is not None:
        errors["station_id"] = _("站点和民宿只能选一个")
    if data.station_id is not None:
        if db.session.get(Station, data.station_id) is None:
            errors["station_id"] = _("没有这个站点")
    if data.listing_id is not None:
        if db.session.get(Listing, data.listing_id) is None:
            errors["listing_id"] = _("没有这个民宿或景点")
    if not 1 <= len(data.lines) <= MAX_LINES:
        errors["lines"] = _("请填写1到%(n)s行", n=MAX_LINES)
        return errors, {}
    ids = {line.household_id for line in data.lines if isinstance(line.household_id, int)}
    households = {h.id: h for h in db.session.scalars(sa.select(Household).where(Household.id.in_(ids)))} if ids else {}
    seen = set()
    for i, line in enumerate(data.lines):
        where = f"lines.{i}"
        household = households.get(line.household_id)
        if household is None:
            errors[where] = _("第%(n)s行：没有这个农户", n=i + 1)
            continue
        key = (line.household_id, line.member_no if data.kind == BenefitKind.WAGE else None)
        if key in seen:
            errors[where] = _("第%(n)s行：重复", n=i + 1)
            continue
        seen.add(key)
        if data.kind == BenefitKind.WAGE:
            if data.unit not in UNITS:
                errors["unit"] = _("计工单位须为天或小时")
            elif not _positive(line.member_no, household.members):
                errors[where] = _("第%(n)s行：成员序号须为1到%(m)s（该户登记人口）", n=i + 1, m=household.members)
            elif not _positive(
                line.units,
                (data.period_to - data.period_from).days + 1
                if data.unit == "day"
                else 24 * ((data.period_to - data.period_from).days + 1),
            ):
                errors[where] = _("第%(n)s行：工日或工时须为正数且不超过期间", n=i + 1)
            elif not _positive(line.rate_fen, MAX_RATE_FEN[data.unit]):
                errors[where] = _("第%(n)s行：工价须为正数且在合理范围内", n=i + 1)
        elif data.kind == BenefitKind.PURCHASE:
            if (
                not _positive(line.quantity, 1_000_000)
                or not _positive(line.rate_fen, MAX_AMOUNT_FEN)
                or int(line.quantity or 0) * int(line.rate_fen or 0) > MAX_AMOUNT_FEN
            ):
                errors[where] = _("第%(n)s行：数量和收购单价须为正数", n=i + 1)
        elif data.kind == BenefitKind.RENT:
            if not _positive(line.amount_fen, MAX_AMOUNT_FEN):
                errors[where] = _("第%(n)s行：租金须为正数", n=i + 1)
        elif data.kind in (BenefitKind.DIVIDEND, BenefitKind.COLLECTIVE):
            if not _positive(line.shares, 10_000_000):
                errors[where] = _("第%(n)s行：股份须为正整数", n=i + 1)
    if data.kind in (BenefitKind.DIVIDEND, BenefitKind.COLLECTIVE):
        if not _positive(data.total_fen, MAX_AMOUNT_FEN):
            errors["total_fen"] = _("请填写分配总额")
        shares = sum(line.shares for line in data.lines if isinstance(line.shares, int))
        if not errors and data.shares_total != shares:
            errors["shares_total"] = _(
                "各户股份之和（%(sum)s）与总股数（%(total)s）不符", sum=shares, total=data.shares_total
            )
    return errors, households


def _amounts(data: RecordData) -> list[int]:
    """What each line credits (the record was checked: the fields its kind needs are set)."""
    if data.kind == BenefitKind.WAGE:
        return [int(line.units or 0) * int(line.rate_fen or 0) for line in data.lines]
    if data.kind == BenefitKind.PURCHASE:
        return [int(line.quantity or 0) * int(line.rate_fen or 0) for line in data.lines]
    if data.kind == BenefitKind.RENT:
        return [int(line.amount_fen or 0) for line in data.lines]
    return split_fen(int(data.total_fen or 0), [int(line.shares or 0) for line in data.lines])


def record_benefit(data: RecordData, *, actor, now: datetime) -> BenefitRecord:
    """Validate and write a record with its ledger entries (flushes; the caller commits)."""
    errors, households = _check(data, now)
    if not errors:
        amounts = _amounts(data)
        if sum(amounts) > MAX_AMOUNT_FEN:
            errors["lines"] = _("合计金额过大")
    if errors:
        raise ValidationError(
            "benefit_entries_invalid", errors=_("；").join(str(v) for v in list(errors.values())[:5]), fields=errors
        )
    lines = []
    for line, amount in zip(data.lines, amounts):
        row = {k: v for k, v in vars(line).items() if v is not None}
        row["amount_fen"] = amount
        lines.append(row)
    detail: dict[str, Any] = {"lines": lines, "unit": data.unit if data.kind == BenefitKind.WAGE else None}
    if data.shares_total is not None:
        detail["shares_total"] = data.shares_total
    record = BenefitRecord(
        kind=str(data.kind),
        period_from=data.period_from,
        period_to=data.period_to,
        station_id=data.station_id,
        listing_id=data.listing_id,
        description=data.description.strip(),
        detail=detail,
        total_fen=sum(amounts),
        recorded_by_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(record)
    db.session.flush()
    entry_date = local_date(now)
    insert_entries(
        [
            {
                "household_id": households[line.household_id].id,
                "order_line_id": None,
                "record_id": record.id,
                "kind": IncomeKind.RECORDED.value,
                "benefit_kind": str(data.kind),
                "ref": f"record:{record.id}:{index}",
                "amount_fen": amount,
                "split": {
                    "record_id": record.id,
                    "line": index,
                    **({"member_no": line.member_no} if line.member_no else {}),
                },
                "village_id": households[line.household_id].village_id,
                "station_id": data.station_id,
                "category_id": None,
                "entry_date": entry_date,
                "created_at": now,
            }
            for index, (line, amount) in enumerate(zip(data.lines, amounts))
            if amount > 0  # a share too small to earn a fen
        ]
    )
    record_audit(
        actor=actor,
        action="benefit.record",
        subject=record,
        detail={"kind": record.kind, "lines": len(lines), "total_fen": record.total_fen},
        now=now,
    )
    return record


def get_record(record_id: int) -> BenefitRecord:
    record = db.session.get(BenefitRecord, record_id)
    if record is None:
        raise NotFound("benefit_entry_not_found")
    return record


def list_records(
    limit: int = 100, *, station_id: int | None = None, listing_ids: list[int] | None = None
) -> list[BenefitRecord]:
    """The latest records: all, a station's, or those of some listings (a host's)."""
    query = sa.select(BenefitRecord)
    if station_id is not None:
        query = query.where(BenefitRecord.station_id == station_id)
    if listing_ids is not None:
        query = query.where(BenefitRecord.listing_id.in_(listing_ids or [-1]))
    return list(db.session.scalars(query.order_by(BenefitRecord.id.desc()).limit(limit)))
