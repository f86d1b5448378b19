"""An organisation's year: its food procurement budget, the share reserved for products of the
lifted-out areas, and its purchases against that share month by month (the statement, 对账单).

A month's purchases are the orders placed for the organisation's approved purchases in that month
(Beijing time), each counted at what it is due now (`orders.services.amounts.order_due_fen`: live
lines and shipping; canceled lines, canceled and expired orders count nothing), so the statement is
always the sum of its orders. Setting the budget is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timezone
from io import BytesIO

import sqlalchemy as sa
from flask_babel import gettext as _

from institutions.models import MemberRole, Organisation, OrganisationBudget, PurchaseOrder, Purchase
from institutions.services.organisations import membership
from orders.models import Order, OrderStatus
from orders.services.amounts import order_due_fen
from shop.audit import record_audit
from shop.auth.models import Role
from shop.errors import Forbidden, ValidationError
from shop.exports import append_row
from shop.extensions import db
from shop.money import apply_bps, fen_to_decimal
from shop.timeutil import TZ, local_date

MIN_YEAR, MAX_YEAR = 2016, 2100
MAX_BUDGET_FEN = 10**14  # a trillion yuan


@dataclass
class Month:
    month: int
    orders: int
    purchased_fen: int
    cumulative_fen: int


@dataclass
class Statement:
    year: int
    budget_fen: int | None
    reserved_bps: int | None
    share_fen: int | None
    purchased_fen: int
    months: list[Month]

    @property
    def progress_bps(self) -> int | None:
        """Purchases against the reserved share, in basis points (None without a share)."""
        if not self.share_fen:
            return None
        return self.purchased_fen * 10000 // self.share_fen


def check_year(year) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError("invalid_year", fields={"year": "invalid"})
    return year


def can_set_budget(organisation: Organisation, user) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.role == Role.ADMIN:
        return True
    member = membership(organisation.id, user)
    return member is not None and (member.is_manager or member.role == MemberRole.APPROVER)


def set_budget(
    organisation: Organisation, *, year: int, budget_fen: int, reserved_bps: int, actor, now: datetime
) -> OrganisationBudget:
    """The organisation's manager or an approver sets (or changes) a year's budget and reserved share; audited."""
    if not can_set_budget(organisation, actor):
        raise Forbidden("budget_setter_only")
    check_year(year)
    if isinstance(budget_fen, bool) or not isinstance(budget_fen, int) or not 0 <= budget_fen <= MAX_BUDGET_FEN:
        raise ValidationError("invalid_budget", fields={"budget_fen": "invalid"})
    if isinstance(reserved_bps, bool) or not isinstance(reserved_bps, int) or not 0 <= reserved_bps <= 10000:
        raise ValidationError("invalid_reserved_share", fields={"reserved_bps": "invalid"})
    db.session.execute(sa.select(Organisation.id).where(Organisation.id == organisation.id).with_for_update())
    budget = db.session.scalar(
        sa.select(OrganisationBudget).where(
            OrganisationBudget.organisation_id == organisation.id, OrganisationBudget.year == year
        )
    )
    old = None if budget is None else {"budget_fen": budget.budget_fen, "reserved_bps": budget.reserved_bps}
    if budget is None:
        budget = OrganisationBudget(organisation_id=organisation.id, year=year)
        db.session.add(budget)
    budget.budget_fen, budget.reserved_bps = budget_fen, reserved_bps
    budget.updated_by_id, budget.updated_at = actor.id, now
    db.session.flush()
    record_audit(
        actor=actor,
        action="organisation.budget",
        subject=organisation,
        detail={"year": year, "budget_fen": budget_fen, "reserved_bps": reserved_bps, "old": old},
        now=now,
    )
    return budget


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    start = datetime.combine(datetime(year, 1, 1).date(), time(0), tzinfo=TZ).astimezone(timezone.utc)
    end = datetime.combine(datetime(year + 1, 1, 1).date(), time(0), tzinfo=TZ).astimezone(timezone.utc)
    return start, end


def statement(organisation: Organisation, year: int) -> Statement:
    """The year's budget, share and purchases month by month (all twelve months)."""
    check_year(year)
    budget = db.session.scalar(
        sa.select(OrganisationBudget).where(
            OrganisationBudget.organisation_id == organisation.id, OrganisationBudget.year == year
        )
    )
    start, end = _year_bounds(year)
    orders = db.session.scalars(
        sa.select(Order)
        .join(PurchaseOrder, PurchaseOrder.order_id == Order.id)
        .join(Purchase, Purchase.id == PurchaseOrder.purchase_id)
        .where(
            Purchase.organisation_id == organisation.id,
            Order.created_at >= start,
            Order.created_at < end,
            Order.status.not_in((OrderStatus.CANCELED, OrderStatus.EXPIRED)),
        )
        .order_by(Order.id)
    ).all()
    by_month = {m: [0, 0] for m in range(1, 13)}
    for order in orders:
        month = local_date(order.created_at).month
        by_month[month][0] += 1
        by_month[month][1] += order_due_fen(order)
    months, running = [], 0
    for m in range(1, 13):
        running += by_month[m][1]
        months.append(Month(month=m, orders=by_month[m][0], purchased_fen=by_month[m][1], cumulative_fen=running))
    share = apply_bps(budget.budget_fen, budget.reserved_bps) if budget is not None else None
    return Statement(
        year=year,
        budget_fen=budget.budget_fen if budget else None,
        reserved_bps=budget.reserved_bps if budget else None,
        share_fen=share,
        purchased_fen=running,
        months=months,
    )


def statement_xlsx(organisation: Organisation, st: Statement) -> bytes:
    """The statement as a workbook: the organisation, budget and share, then one row per month."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(st.year)
    yuan = fen_to_decimal
    append_row(sheet, [_("单位名称"), organisation.name])
    append_row(sheet, [_("统一社会信用代码"), organisation.credit_code])
    append_row(sheet, [_("年份"), st.year])
    append_row(sheet, [_("年度食品采购预算(元)"), float(yuan(st.budget_fen)) if st.budget_fen is not None else ""])
    append_row(sheet, [_("预留比例(%)"), st.reserved_bps / 100 if st.reserved_bps is not None else ""])
    append_row(sheet, [_("预留份额(元)"), float(yuan(st.share_fen)) if st.share_fen is not None else ""])
    append_row(sheet, [])
    append_row(sheet, [_("月份"), _("订单数"), _("当月采购(元)"), _("累计采购(元)")])
    for m in st.months:
        append_row(sheet, [m.month, m.orders, float(yuan(m.purchased_fen)), float(yuan(m.cumulative_fen))])
    append_row(sheet, [_("合计"), sum(m.orders for m in st.months), float(yuan(st.purchased_fen)), ""])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@dataclass
class ReportRow:
    organisation: Organisation
    months: list[int]  # purchased_fen, January first
    total_fen: int


@dataclass
class CountyReport:
    year: int
    rows: list[ReportRow]
    by_kind: dict[str, int]
    by_month: list[int]
    total_fen: int


def county_report(year: int) -> CountyReport:
    """Institutional purchasing of a year for the county office: per organisation and month, by type
    and by month; each figure the sum of the organisations' statements (the same orders, the same dues)."""
    check_year(year)
    start, end = _year_bounds(year)
    rows = db.session.execute(
        sa.select(Purchase.organisation_id, Order)
        .join(PurchaseOrder, PurchaseOrder.order_id == Order.id)
        .join(Purchase, Purchase.id == PurchaseOrder.purchase_id)
        .where(
            Order.created_at >= start,
            Order.created_at < end,
            Order.status.not_in((OrderStatus.CANCELED, OrderStatus.EXPIRED)),
        )
        .order_by(Order.id)
    ).all()
    months: dict[int, list[int]] = {}
    for organisation_id, order in rows:
        months.setdefault(organisation_id, [0] * 12)[local_date(order.created_at).month - 1] += order_due_fen(order)
    organisations = (
        db.session.scalars(
            sa.select(Organisation).where(Organisation.id.in_(list(months))).order_by(Organisation.id)
        ).all()
        if months
        else []
    )
    report_rows = [ReportRow(o, months[o.id], sum(months[o.id])) for o in organisations]
    by_kind: dict[str, int] = {}
    for row in report_rows:
        by_kind[row.organisation.kind] = by_kind.get(row.organisation.kind, 0) + row.total_fen
    by_month = [sum(row.months[m] for row in report_rows) for m in range(12)]
    return CountyReport(year=year, rows=report_rows, by_kind=by_kind, by_month=by_month, total_fen=sum(by_month))
