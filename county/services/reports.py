"""Income review: every figure is a SUM over `income_entries` (never a stored total).

`income_report(group_by, date_from, date_to)` (rows and totals; `income_by` the rows) groups by household,
village, station, category, month or benefit kind (by the Beijing `entry_date`, range inclusive) in one
scan of the range's entries; every row also splits its total by benefit kind (`kind_<kind>_fen`,
reversals inside the kind they reverse). `sale_figures` says where the sales' money went. `household_statement` lists every entry.
`write_monthly_report` writes the month's statement workbook into instance/reports/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from catalog.models import Category, Household, Village
from catalog.services import village_labels
from ledger import summaries
from ledger.models import BENEFIT_KINDS, BenefitKind, IncomeDaily, IncomeEntry, IncomeKind, SaleDaily
from shop.errors import ValidationError
from shop.exports import append_row, cell_value, heading
from shop.extensions import db
from shop.filters import bracketed
from shop.personal_data import mask_name
from shop.timeutil import month_bounds
from stock.models import Station

GROUPS = ("household", "village", "station", "category", "month", "kind")
#: Benefit kinds in the reader's words (lazy: in the reader's language on a page, the default in tasks).
BENEFIT_KIND_LABELS: dict[str, Any] = {
    BenefitKind.SALE: _l("代销分成"),
    BenefitKind.PURCHASE: _l("订单收购"),
    BenefitKind.WAGE: _l("务工工资"),
    BenefitKind.DIVIDEND: _l("分红"),
    BenefitKind.RENT: _l("租金"),
    BenefitKind.COLLECTIVE: _l("村集体"),
}
#: The per-kind columns of every income row.
KIND_COLUMNS = [(f"kind_{k}_fen", BENEFIT_KIND_LABELS[k]) for k in BENEFIT_KINDS]
#: Export headings: lazy msgids, in the reader's language on a page, the default in the monthly task.
INCOME_COLUMNS = [
    ("key", _l("编号")),
    ("label", _l("名称")),
    ("sale_fen", _l("电商销售")),
    ("tourism_fen", _l("乡村旅游")),
    ("reversal_fen", _l("冲销")),
    ("recorded_fen", _l("登记收益")),
    *KIND_COLUMNS,
    ("total_fen", _l("合计")),
    ("entries", _l("笔数")),
    ("households", _l("户数")),
]
STATEMENT_COLUMNS = [
    ("entry_date", _l("日期")),
    ("kind_label", _l("类型")),
    ("benefit_kind_label", _l("受益类型")),
    ("order_line_id", _l("订单行")),
    ("sale_title", _l("销售内容")),
    ("order_code", _l("订单号")),
    ("village", _l("村")),
    ("station", _l("站点")),
    ("category", _l("品类")),
    ("amount_fen", _l("金额")),
    ("balance_fen", _l("余额")),
]
#: Where the money of the sales went (`ledger.models.SaleFigure`): sale = households + commission + collective
#: + purchased units, row by row and in total, to the fen.
SALE_PARTS = ("sale_fen", "household_fen", "commission_fen", "collective_fen", "purchased_fen")
SALE_GROUPS = ("village", "station", "category", "month")
SALE_COLUMNS = [
    ("key", _l("编号")),
    ("label", _l("名称")),
    ("sale_fen", _l("销售额")),
    ("household_fen", _l("农户代销分成")),
    ("commission_fen", _l("平台/站点佣金")),
    ("collective_fen", _l("村集体")),
    ("purchased_fen", _l("收购货品（入库时已付农户）")),
    ("lines", _l("笔数")),
]
KIND_LABELS = {
    IncomeKind.SALE: "电商销售",
    IncomeKind.TOURISM: "乡村旅游",
    IncomeKind.REVERSAL: "冲销",
    IncomeKind.RECORDED: "登记收益",
}


def _range(query, date_from: date | None, date_to: date | None):
    if date_from is not None:
        query = query.where(IncomeEntry.entry_date >= date_from)
    if date_to is not None:
        query = query.where(IncomeEntry.entry_date <= date_to)
    return query


def _check_range(date_from, date_to):
    if date_from and date_to and date_from > date_to:
        raise ValidationError("from_after_to", fields={"from": "after to"})


def _labels(group_by: str, keys: set) -> dict:
    keys = {k for k in keys if k is not None}
    if not keys:
        return {}
    if group_by == "household":
        households = db.session.scalars(sa.select(Household).where(Household.id.in_(keys))).all()
        return {h.id: bracketed(mask_name(h.head_name), h.village.name) for h in households}
    if group_by == "category":  # categories carry an English name
        english = str(get_locale() or "").startswith("en")
        return {
            c.id: (c.name_en or c.name) if english else c.name
            for c in db.session.scalars(sa.select(Category).where(Category.id.in_(keys)))
        }
    if group_by == "kind":
        return {k: str(BENEFIT_KIND_LABELS.get(k, k)) for k in keys}
    if group_by == "village":
        return village_labels(keys)
    if group_by != "station":  # a month or the like is its own label: never looked up here
        raise ValueError(f"no labels to read for {group_by!r}")
    return dict(db.session.execute(sa.select(Station.id, Station.name).where(Station.id.in_(keys))).all())


def income_report(group_by: str, date_from: date | None = None, date_to: date | None = None) -> tuple[list[dict], dict]:
    """(rows, totals) from ONE scan of the range's days in `income_daily` (the ledger summed by day,
    household, village, station, category and kinds, kept by the ledger in the inserting transaction
    (`ledger.summaries`): always a GROUP BY of the entries): SUMs grouped by the grouping's key, the entry kind, the benefit kind and
    the household, folded here into the rows (their households counted distinct) and the totals
    {total_fen, entries, households} — the same figures as `income_by` and `income_total`, one pass."""
    if group_by not in GROUPS:
        raise ValidationError("invalid_group_by", groups=", ".join(GROUPS), fields={"group_by": "invalid"})
    _check_range(date_from, date_to)
    summaries.apply_pending()  # what this transaction wrote, if anything, as autoflush does for rows
    rows: dict = {}

    def row(key):
        return rows.setdefault(
            key,
            {
                "key": key,
                "label": "",
                "sale_fen": 0,
                "tourism_fen": 0,
                "reversal_fen": 0,
                "recorded_fen": 0,
                **{k: 0 for k, _h in KIND_COLUMNS},
                "total_fen": 0,
                "entries": 0,
                "households": 0,
                "_households": set(),
            },
        )

    daily = IncomeDaily
    column = {
        "household": daily.household_id,
        "village": daily.village_id,
        "station": daily.station_id,
        "category": daily.category_id,
        "kind": daily.benefit_kind,
        "month": daily.entry_date,  # by day, folded into months below (month SQL differs by dialect)
    }[group_by]

    def in_range(query, first=date_from, last=date_to):
        if first is not None:
            query = query.where(daily.entry_date >= first)
        if last is not None:
            query = query.where(daily.entry_date <= last)
        return query

    # SQL aggregation: the sums by key and kinds, then the households counted distinct by key and in all
    # (a month of the county's 12,000 households is tens of thousands of summary rows: never in Python)
    query = sa.select(
        column.label("key"), daily.kind, daily.benefit_kind, sa.func.sum(daily.amount_fen), sa.func.sum(daily.entries)
    ).group_by(column, daily.kind, daily.benefit_kind)
    total = entries = 0
    for key, kind, benefit_kind, amount, count in db.session.execute(in_range(query)):
        amount, count = int(amount), int(count)
        if group_by == "month":
            key = f"{key.year:04d}-{key.month:02d}"
        elif group_by in ("village", "station", "category") and key == 0:
            key = None  # the summary keeps 0 for "none"
        r = row(key)
        r[f"{kind}_fen"] += amount
        r[f"kind_{benefit_kind}_fen"] += amount
        r["total_fen"] += amount
        r["entries"] += count
        total += amount
        entries += count
    distinct = sa.func.count(sa.distinct(daily.household_id))
    if group_by == "month":
        for key, r in rows.items():
            year, month = (int(p) for p in key.split("-"))
            first, end = month_bounds(year, month)
            first = max(first, date_from) if date_from else first
            last = min(end - timedelta(days=1), date_to) if date_to else end - timedelta(days=1)
            r["households"] = int(db.session.scalar(in_range(sa.select(distinct), first, last)) or 0)
    elif group_by == "household":
        for r in rows.values():
            r["households"] = 1
    else:
        for key, count in db.session.execute(in_range(sa.select(column, distinct).group_by(column))):
            if group_by != "kind" and key == 0:
                key = None
            if key in rows:
                rows[key]["households"] = int(count)
    households = int(db.session.scalar(in_range(sa.select(distinct))) or 0)
    if group_by == "month":
        for r in rows.values():
            r["label"] = r["key"]
        ordered = sorted(rows.values(), key=lambda r: r["key"])
    else:
        labels = _labels(group_by, set(rows))
        for key, r in rows.items():
            r["label"] = labels.get(key, "—") if key is not None else _("（未指定）")
        if group_by == "kind":
            ordered = sorted(rows.values(), key=lambda r: BENEFIT_KINDS.index(r["key"]))
        else:
            ordered = sorted(rows.values(), key=lambda r: (-r["total_fen"], str(r["key"])))
    return ordered, {"total_fen": total, "entries": entries, "households": households}


def income_by(group_by: str, date_from: date | None = None, date_to: date | None = None) -> list[dict]:
    """Rows {key, label, sale_fen, tourism_fen, reversal_fen, recorded_fen, kind_<benefit kind>_fen…, total_fen, entries,
    households}, biggest first (by month: in calendar order; by kind: in `BenefitKind` order)."""
    return income_report(group_by, date_from, date_to)[0]


def income_total(date_from: date | None = None, date_to: date | None = None) -> dict:
    summaries.apply_pending()
    query = sa.select(
        sa.func.coalesce(sa.func.sum(IncomeDaily.amount_fen), 0),
        sa.func.coalesce(sa.func.sum(IncomeDaily.entries), 0),
        sa.func.count(sa.distinct(IncomeDaily.household_id)),
    )
    if date_from is not None:
        query = query.where(IncomeDaily.entry_date >= date_from)
    if date_to is not None:
        query = query.where(IncomeDaily.entry_date <= date_to)
    total, entries, households = db.session.execute(query).one()
    return {"total_fen": int(total), "entries": int(entries), "households": int(households)}


def sale_figures(group_by: str, date_from: date | None = None, date_to: date | None = None) -> dict:
    """{"group_by", "total": {sale_fen, household_fen, commission_fen, collective_fen, purchased_fen, lines},
    "rows": [{key, label, ...the same}]} — SUMs over `sale_figures` (by the Beijing `entry_date`). Rows by
    village, station, category or month (grouped by station for the household and kind groupings, which
    a sale's commission and collective share have no household or benefit kind of)."""
    _check_range(date_from, date_to)
    by = group_by if group_by in SALE_GROUPS else "station"
    # SUMs over `sale_daily` (the figures summed by day, village, station and category, kept by the
    # ledger: always a GROUP BY of `sale_figures`), ids 0 for none
    summaries.apply_pending()
    sums = [sa.func.coalesce(sa.func.sum(getattr(SaleDaily, k)), 0) for k in SALE_PARTS]
    key: Any
    if by == "month":
        # month by SQL would differ by dialect: sum by day, fold into months here (a year is 366 rows)
        key = SaleDaily.entry_date
    else:
        key = {"village": SaleDaily.village_id, "station": SaleDaily.station_id, "category": SaleDaily.category_id}[by]
    query = sa.select(key, *sums, sa.func.coalesce(sa.func.sum(SaleDaily.lines), 0)).group_by(key)
    if date_from is not None:
        query = query.where(SaleDaily.entry_date >= date_from)
    if date_to is not None:
        query = query.where(SaleDaily.entry_date <= date_to)
    rows: dict = {}
    for k, *values in db.session.execute(query):
        if by == "month":
            k = f"{k.year:04d}-{k.month:02d}"
        elif k == 0:
            k = None
        row = rows.setdefault(k, {"key": k, "label": "", **{p: 0 for p in SALE_PARTS}, "lines": 0})
        for part, value in zip(SALE_PARTS, values[:-1]):
            row[part] += int(value)
        row["lines"] += int(values[-1])
    if by == "month":
        ordered = sorted(rows.values(), key=lambda r: r["key"])
        for r in ordered:
            r["label"] = r["key"]
    else:
        labels = _labels(by, set(rows))
        for k, r in rows.items():
            r["label"] = labels.get(k, "—") if k is not None else _("（未指定）")
        ordered = sorted(rows.values(), key=lambda r: (-r["sale_fen"], str(r["key"])))
    total = {p: sum(r[p] for r in ordered) for p in (*SALE_PARTS, "lines")}
    return {"group_by": by, "total": total, "rows": ordered}


@dataclass
class Statement:
    household: Household
    date_from: date | None
    date_to: date | None
    opening_fen: int
    entries: list[dict]
    total_fen: int  # sum of the entries in the range
    closing_fen: int


def household_statement(household: Household, date_from: date | None = None, date_to: date | None = None) -> Statement:
    _check_range(date_from, date_to)
    opening = 0
    if date_from is not None:
        opening = int(
            db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(IncomeEntry.amount_fen), 0)).where(
                    IncomeEntry.household_id == household.id, IncomeEntry.entry_date < date_from
                )
            )
            or 0
        )
    query = _range(sa.select(IncomeEntry).where(IncomeEntry.household_id == household.id), date_from, date_to)
    entries = db.session.scalars(query.order_by(IncomeEntry.entry_date, IncomeEntry.id)).all()
    names = {}
    for model, ids in (
        (Village, {e.village_id for e in entries}),
        (Station, {e.station_id for e in entries}),
        (Category, {e.category_id for e in entries}),
    ):
        ids.discard(None)
        names[model] = (
            dict(db.session.execute(sa.select(model.id, model.name).where(model.id.in_(ids))).all()) if ids else {}
        )
    balance = opening
    rows = []
    for e in entries:
        balance += e.amount_fen
        rows.append(
            {
                "id": e.id,
                "entry_date": e.entry_date,
                "kind": e.kind,
                "kind_label": KIND_LABELS.get(e.kind, e.kind),
                "benefit_kind": e.benefit_kind,
                "benefit_kind_label": str(BENEFIT_KIND_LABELS.get(e.benefit_kind, e.benefit_kind)),
                "order_line_id": e.order_line_id,
                "record_id": e.record_id,
                "amount_fen": e.amount_fen,
                "balance_fen": balance,
                "village": names[Village].get(e.village_id, ""),
                "station": names[Station].get(e.station_id, ""),
                "category": names[Category].get(e.category_id, ""),
                "split": e.split,
            }
        )
    total = sum(r["amount_fen"] for r in rows)
    return Statement(household, date_from, date_to, opening, rows, total, opening + total)


def parse_month(text: str) -> tuple[date, date]:
    """'2026-11' -> (first day, last day) of that month."""
    try:
        year, month = (int(p) for p in text.strip().split("-"))
        start, end = month_bounds(year, month)
    except (ValueError, TypeError):
        raise ValidationError("invalid_month", fields={"month": "invalid"}) from None
    return start, end - timedelta(days=1)


def this_month(today: date) -> str:
    """'2026-12' for any day of December 2026: the month the county's pages open on."""
    return f"{today.year:04d}-{today.month:02d}"


def previous_month(today: date) -> str:
    """The month before `today`'s: the monthly statement file written on the 1st is last month's, closed."""
    first = today.replace(day=1)
    last = first - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def reports_dir() -> str:
    """instance/reports/ (or the REPORTS_DIR setting)."""
    path = current_app.config.get("REPORTS_DIR") or os.path.join(current_app.instance_path, "reports")
    os.makedirs(path, exist_ok=True)
    return path


def write_monthly_report(month: str, *, directory: str | None = None) -> str:
    """Write instance/reports/income-YYYY-MM.xlsx: totals and one sheet per grouping (masked). Returns the path."""
    # openpyxl only while a workbook is made or read, never in every web worker (tests/bench/test_worker_footprint.py)
    from openpyxl import Workbook

    date_from, date_to = parse_month(month)
    workbook = Workbook()
    summary = workbook.active
    summary.title = "汇总"
    totals = income_total(date_from, date_to)
    summary.append(["月份", month])
    summary.append(["入账合计(元)", float(cell_value("total_fen", totals["total_fen"]))])
    summary.append(["笔数", totals["entries"]])
    summary.append(["受益户数", totals["households"]])
    sales = sale_figures("station", date_from, date_to)
    for part, title in (
        ("sale_fen", "销售额(元)"),
        ("household_fen", "其中农户代销分成(元)"),
        ("commission_fen", "其中平台/站点佣金(元)"),
        ("collective_fen", "其中村集体(元)"),
        ("purchased_fen", "其中收购货品(元)"),
    ):
        summary.append([title, float(cell_value(part, sales["total"][part]))])
    titles = {"household": "按农户", "village": "按村", "station": "按站点", "category": "按品类", "kind": "按受益类型"}
    for group_by, title in titles.items():
        sheet = workbook.create_sheet(title)
        append_row(sheet, [heading(k, h) for k, h in INCOME_COLUMNS])
        for r in income_by(group_by, date_from, date_to):
            append_row(
                sheet,
                [
                    float(v) if k.endswith("_fen") else v
                    for k, v in ((k, cell_value(k, r.get(k))) for k, _h in INCOME_COLUMNS)
                ],
            )
    sheet = workbook.create_sheet("销售去向")
    append_row(sheet, [heading(k, h) for k, h in SALE_COLUMNS])
    for r in sales["rows"]:
        append_row(
            sheet,
            [
                float(v) if k.endswith("_fen") else v
                for k, v in ((k, cell_value(k, r.get(k))) for k, _h in SALE_COLUMNS)
            ],
        )
    directory = directory or reports_dir()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"income-{month}.xlsx")
    tmp = path + ".tmp"
    workbook.save(tmp)
    os.replace(tmp, path)  # atomic: a half-written report is never seen
    return path
