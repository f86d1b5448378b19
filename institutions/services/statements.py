"""An organisation's year: its food procurement budget, the share reserved for products of the
lifted-out areas, and its purchases against that share month by month (the statement, 对账单), for a
year or for any period (`from`–`to`, at most a year), with the period's orders one by one.

A month's purchases are the orders placed for the organisation's approved purchases in that month
(Beijing time), each counted at what it is due now (`orders.services.amounts.order_due_fen`: live
lines and shipping; canceled lines, canceled and expired orders count nothing), so the statement is
always the sum of its orders. Setting the budget is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from io import BytesIO

import sqlalchemy as sa
from flask_babel import gettext as _

from catalog.models import Household
from institutions.models import (
    MemberRole,
    Organisation,
    OrganisationBudget,
    Purchase,
    PurchaseDestination,
    PurchaseOrder,
)
from institutions.services.organisations import membership
from ledger.models import IncomeEntry
from orders.models import Order, OrderLine, OrderStatus
from orders.services.amounts import order_due_fen
from shop.audit import record_audit
from shop.auth.models import Role
from shop.errors import Conflict, Forbidden, ValidationError
from shop.exports import append_row
from shop.extensions import db
from shop.money import (
    MAX_FEN,
    AmountTooLarge,
    MoneyError,
    NegativeAmount,
    TooManyDecimals,
    apply_bps,
    fen_to_decimal,
    format_yuan,
    parse_yuan,
)
from shop.personal_data import mask_name
from shop.timeutil import TZ, local_date, local_midnight_utc

MIN_YEAR, MAX_YEAR = 2016, 2100
#: A year's budget: 0 to ¥10 billion (the most any amount typed in yuan may be, `shop.money.MAX_FEN`; far above
#: any real organisation's food budget), in whole fen (two decimals of yuan). `check_budget_fen` holds the rule.
MAX_BUDGET_FEN = MAX_FEN
#: The reserved share: 0 to 100 percent, in basis points (two decimals of a percent).
MAX_RESERVED_BPS = 10000


MAX_PERIOD_DAYS = 366


@dataclass
class Month:
    month: int
    orders: int
    purchased_fen: int
    cumulative_fen: int
    year: int = 0


@dataclass
class StatementOrder:
    """One order of the statement, at what it is due now."""

    code: str
    placed_on: date
    purchase_id: int
    label: str  # the delivery address's name (东校区食堂), or "" for a pick-up
    status: str
    due_fen: int


@dataclass
class Statement:
    year: int
    budget_fen: int | None
    reserved_bps: int | None
    share_fen: int | None
    purchased_fen: int
    months: list[Month]
    period_from: date | None = None
    period_to: date | None = None
    orders: list[StatementOrder] | None = None

    @property
    def whole_year(self) -> bool:
        """The statement of one calendar year (1 January to 31 December), not of a period within it."""
        return (self.period_from, self.period_to) in ((None, None), (date(self.year, 1, 1), date(self.year, 12, 31)))

    @property
    def progress_bps(self) -> int | None:
        """The year's purchases against its reserved share, in basis points: None without a share, and for a
        period within the year (its purchases are the period's, not the year's progress: 本期采购)."""
        if not self.share_fen or not self.whole_year:
            return None
        return self.purchased_fen * 10000 // self.share_fen


def check_year(year) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError("invalid_year", fields={"year": "invalid"})
    return year


def _budget_refused(reason: str) -> ValidationError:
    """422 `invalid_budget`: its message says what a budget may be (0 to the limit, at most two decimals),
    `fields` what was wrong with this one: `not_an_integer` (the API's fen), `not_an_amount` (typed yuan),
    `negative`, `too_high`, `too_many_decimals`."""
    return ValidationError("invalid_budget", max=f"{MAX_BUDGET_FEN // 100:,}", fields={"budget_fen": reason})


def _share_refused(reason: str) -> ValidationError:
    """422 `invalid_reserved_share` (0 to 100, at most two decimals), `fields` as `_budget_refused`'s."""
    return ValidationError("invalid_reserved_share", fields={"reserved_bps": reason})


def check_budget_fen(value) -> int:
    """A year's budget in fen (the API's `budget_fen`, any JSON value): a whole number from 0 to
    `MAX_BUDGET_FEN`, else 422 `invalid_budget` (`_budget_refused`)."""
    return _whole_number(value, MAX_BUDGET_FEN, _budget_refused)


def check_reserved_bps(value) -> int:
    """The reserved share in basis points (the API's `reserved_bps`): a whole number from 0 to 10000, else
    422 `invalid_reserved_share`."""
    return _whole_number(value, MAX_RESERVED_BPS, _share_refused)


def _whole_number(value, maximum: int, refused) -> int:
    """`value` when it is a whole number (a JSON integer, not a boolean) from 0 to `maximum`; else
    `refused(why)`: not_an_integer, negative or too_high."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise refused("not_an_integer")
    if value < 0:
        raise refused("negative")
    if value > maximum:
        raise refused("too_high")
    return value


def typed_budget(text: str) -> int:
    """A budget as typed in yuan on the statement page ('50000', '1,200.50', '¥8000') in fen, refused as
    `check_budget_fen` refuses a wrong one, and a fraction of a fen ('50000.555') as `too_many_decimals`."""
    return check_budget_fen(_parsed(text, _budget_refused, unreadable="not_an_amount"))


def typed_reserved_share(text: str) -> int:
    """A reserved share as typed in percent ('30', '12.5', '30%' or '30％' under a label that says (%)) in
    basis points, refused as `check_reserved_bps` refuses a wrong one."""
    cleaned = text.strip().rstrip("%％").strip()
    # a percentage with two decimals, x100: read as an amount is
    return check_reserved_bps(_parsed(cleaned, _share_refused, unreadable="not_a_number"))


def _parsed(text: str, refused, *, unreadable: str) -> int:
    """`text` read as an amount with two decimals (`shop.money.parse_yuan`), x100; what it cannot read is
    `refused(why)`: negative, too_high, too_many_decimals or `unreadable`."""
    try:
        return parse_yuan(text)
    except NegativeAmount:
        raise refused("negative") from None
    except AmountTooLarge:
        raise refused("too_high") from None
    except TooManyDecimals:
        raise refused("too_many_decimals") from None
    except MoneyError:
        raise refused(unreadable) from None


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
    """The organisation's manager or an approver sets (or changes) a year's budget and reserved share; audited.
    A budget below what the year's purchase orders are due already (the statement's figure) is refused
    (409 `budget_below_purchased`, naming that amount): approvals never go past the budget
    (`refuse_over_budget`), so neither does setting it; read under the organisation's row lock."""
    if not can_set_budget(organisation, actor):
        raise Forbidden("budget_setter_only")
    check_year(year)
    check_budget_fen(budget_fen)
    check_reserved_bps(reserved_bps)
    db.session.execute(sa.select(Organisation.id).where(Organisation.id == organisation.id).with_for_update())
    start, end = _year_bounds(year)
    purchased = sum(counted_fen(order) for _org, _link, order in _purchase_orders(organisation.id, start, end))
    if budget_fen < purchased:
        raise Conflict(
            "budget_below_purchased",
            year=year,
            purchased=format_yuan(purchased),
            fields={"budget_fen": "below_purchased", "purchased_fen": str(purchased)},
        )
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


def check_period(start, end) -> tuple[date, date]:
    """A statement period: two dates, in order, at most a year long, within the supported years."""
    if not isinstance(start, date) or not isinstance(end, date):
        raise ValidationError("invalid_statement_period", fields={"from": "invalid", "to": "invalid"})
    if start > end or (end - start).days >= MAX_PERIOD_DAYS or start.year < MIN_YEAR or end.year > MAX_YEAR:
        raise ValidationError("invalid_statement_period", fields={"from": "invalid", "to": "invalid"})
    return start, end


def _purchase_orders(
    organisation_id: int | None, start: datetime, end: datetime
) -> list[tuple[int, PurchaseOrder, Order]]:
    """(organisation id, link, order) of the orders placed for approved purchases (of one organisation,
    or all) in [start, end), live ones."""
    query = (
        sa.select(Purchase.organisation_id, PurchaseOrder, Order)
        .join(Order, PurchaseOrder.order_id == Order.id)
        .join(Purchase, Purchase.id == PurchaseOrder.purchase_id)
        .where(
            Order.created_at >= start,
            Order.created_at < end,
            Order.status.not_in((OrderStatus.CANCELED, OrderStatus.EXPIRED)),
        )
        .order_by(Order.id)
    )
    if organisation_id is not None:
        query = query.where(Purchase.organisation_id == organisation_id)
    return [(org_id, link, order) for org_id, link, order in db.session.execute(query).all()]


def counted_fen(order: Order) -> int:
    """What the statement counts of one order now: what it is due (`order_due_fen`: live lines and
    shipping), nothing once canceled or expired. The purchase page and its API answer list each order at it."""
    if order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
        return 0
    return order_due_fen(order)


@dataclass(frozen=True)
class OrderAmounts:
    """One order of a purchase as its page and API answer list it: what the statement counts of it now
    (`counted_fen`), and the money given back on it so far (its payments' refunds)."""

    due_fen: int
    refunded_fen: int


def purchase_order_amounts(purchase: Purchase) -> dict[int, OrderAmounts]:
    """{order id: OrderAmounts} of the purchase's orders."""
    return {
        po.order_id: OrderAmounts(
            due_fen=counted_fen(po.order), refunded_fen=sum(p.refunded_fen or 0 for p in po.order.payments)
        )
        for po in purchase.orders
    }


def _months_between(start: date, end: date) -> list[tuple[int, int]]:
    months, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def statement_for(organisation: Organisation, start: date, end: date) -> Statement:
    """The organisation's purchases between two Beijing dates (both included), month by month and order
    by order; the budget and share of the year when the period lies in one year."""
    start, end = check_period(start, end)
    budget = (
        db.session.scalar(
            sa.select(OrganisationBudget).where(
                OrganisationBudget.organisation_id == organisation.id, OrganisationBudget.year == start.year
            )
        )
        if start.year == end.year
        else None
    )
    rows = _purchase_orders(organisation.id, local_midnight_utc(start), local_midnight_utc(end + timedelta(days=1)))
    by_month = {key: [0, 0] for key in _months_between(start, end)}
    lines = []
    for _org_id, link, order in rows:
        placed = local_date(order.created_at)
        due = counted_fen(order)
        by_month[(placed.year, placed.month)][0] += 1
        by_month[(placed.year, placed.month)][1] += due
        destination = link.destination_id and db.session.get(PurchaseDestination, link.destination_id)
        lines.append(
            StatementOrder(
                code=order.code,
                placed_on=placed,
                purchase_id=link.purchase_id,
                label=destination.label if destination else "",
                status=order.status,
                due_fen=due,
            )
        )
    months, running = [], 0
    for (y, m), (count, fen) in by_month.items():
        running += fen
        months.append(Month(month=m, orders=count, purchased_fen=fen, cumulative_fen=running, year=y))
    share = apply_bps(budget.budget_fen, budget.reserved_bps) if budget is not None else None
    return Statement(
        year=start.year,
        budget_fen=budget.budget_fen if budget else None,
        reserved_bps=budget.reserved_bps if budget else None,
        share_fen=share,
        purchased_fen=running,
        months=months,
        period_from=start,
        period_to=end,
        orders=lines,
    )


def statement(organisation: Organisation, year: int) -> Statement:
    """The year's budget, share and purchases month by month (all twelve months) and order by order."""
    check_year(year)
    return statement_for(organisation, date(year, 1, 1), date(year, 12, 31))


@dataclass
class BudgetCheck:
    """A purchase against its organisation's budget of the year it is placed in (Beijing time)."""

    year: int
    budget_fen: int
    share_fen: int
    #: what the year's live purchase orders are due now (the statement's figure)
    purchased_fen: int
    #: the purchase's total (today's prices and shipping)
    this_fen: int

    @property
    def remaining_fen(self) -> int:
        """What is left of the budget once this purchase is placed (negative: over budget)."""
        return self.budget_fen - self.purchased_fen - self.this_fen

    @property
    def over(self) -> bool:
        return self.remaining_fen < 0


def budget_check(organisation: Organisation, *, total_fen: int, now: datetime) -> BudgetCheck | None:
    """The purchase of `total_fen` against the year's budget (None when the year has none set)."""
    year = local_date(now).year
    budget = db.session.scalar(
        sa.select(OrganisationBudget).where(
            OrganisationBudget.organisation_id == organisation.id, OrganisationBudget.year == year
        )
    )
    if budget is None:
        return None
    start, end = _year_bounds(year)
    purchased = sum(order_due_fen(order) for _org, _link, order in _purchase_orders(organisation.id, start, end))
    return BudgetCheck(
        year=year,
        budget_fen=budget.budget_fen,
        share_fen=apply_bps(budget.budget_fen, budget.reserved_bps),
        purchased_fen=purchased,
        this_fen=total_fen,
    )


def refuse_over_budget(check: BudgetCheck | None) -> None:
    """Refuse (409 `purchase_over_budget`, naming what is left) a purchase that would take the year's
    purchases past the organisation's budget for the year; no budget set (None): nothing to refuse. The
    approval reads the check under the organisation's row lock (`set_budget` takes it too), so two
    approvals at once cannot both spend the same remainder."""
    if check is not None and check.over:
        raise Conflict(
            "purchase_over_budget",
            year=check.year,
            left=format_yuan(max(check.budget_fen - check.purchased_fen, 0)),
            total=format_yuan(check.this_fen),
            fields={"total_fen": str(check.this_fen)},
        )


def statement_xlsx(organisation: Organisation, st: Statement) -> bytes:
    """The statement as a workbook: the organisation, period, budget and share, one row per month, then
    one row per order (their sum is the total). Every cell through `shop.exports.append_row` (no formulas)."""
    # openpyxl only while a workbook is made or read, never in every web worker (tests/bench/test_worker_footprint.py)
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = (
        str(st.year)
        if st.period_from == date(st.year, 1, 1) and st.period_to == date(st.year, 12, 31)
        else (f"{st.period_from}~{st.period_to}"[:31])
    )
    yuan = fen_to_decimal
    append_row(sheet, [_("单位名称"), organisation.name])
    append_row(sheet, [_("统一社会信用代码"), organisation.credit_code])
    append_row(sheet, [_("期间"), f"{st.period_from} ~ {st.period_to}"])
    append_row(sheet, [_("年度食品采购预算(元)"), float(yuan(st.budget_fen)) if st.budget_fen is not None else ""])
    append_row(sheet, [_("预留比例(%)"), st.reserved_bps / 100 if st.reserved_bps is not None else ""])
    append_row(sheet, [_("预留份额(元)"), float(yuan(st.share_fen)) if st.share_fen is not None else ""])
    append_row(sheet, [])
    one_year = st.period_from is None or st.period_to is None or st.period_from.year == st.period_to.year

    def label(m: Month) -> int | str:
        return m.month if one_year else f"{m.year}-{m.month:02d}"

    append_row(sheet, [_("月份"), _("订单数"), _("当月采购(元)"), _("累计采购(元)")])
    for m in st.months:
        append_row(
            sheet,
            [label(m), m.orders, float(yuan(m.purchased_fen)), float(yuan(m.cumulative_fen))],
        )
    append_row(sheet, [_("合计"), sum(m.orders for m in st.months), float(yuan(st.purchased_fen)), ""])
    append_row(sheet, [])
    append_row(sheet, [_("订单号"), _("下单日期"), _("采购单"), _("收货地址"), _("状态"), _("金额(元)")])
    for line in st.orders or []:
        append_row(
            sheet,
            [
                line.code,
                line.placed_on.isoformat(),
                line.purchase_id,
                line.label,
                line.status,
                float(yuan(line.due_fen)),
            ],
        )
    append_row(sheet, [_("合计"), "", "", "", "", float(yuan(sum(line.due_fen for line in st.orders or [])))])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@dataclass
class ReportRow:
    organisation: Organisation
    months: list[int]  # purchased_fen, January first
    total_fen: int


@dataclass
class CreditedHousehold:
    household_id: int
    label: str  # masked head name · village (personal data stays masked in reports)
    credited_fen: int  # credits minus reversals of the year's institutional order lines


@dataclass
class CountyReport:
    year: int
    rows: list[ReportRow]
    by_kind: dict[str, int]
    by_month: list[int]
    total_fen: int
    households: list[CreditedHousehold] = field(default_factory=list)

    @property
    def credited_fen(self) -> int:
        return sum(h.credited_fen for h in self.households)


def _credited_households(order_ids: list[int]) -> list[CreditedHousehold]:
    """The households the orders' lines earned income for (the ledger: credits less reversals, more than
    nothing — one whose every credit was reversed earned nothing and is not listed, as the plan's targets
    count only households with net income, `county.services.targets`), largest first."""
    if not order_ids:
        return []
    rows = db.session.execute(
        sa.select(IncomeEntry.household_id, sa.func.sum(IncomeEntry.amount_fen))
        .where(IncomeEntry.order_line_id.in_(sa.select(OrderLine.id).where(OrderLine.order_id.in_(order_ids))))
        .group_by(IncomeEntry.household_id)
        .having(sa.func.sum(IncomeEntry.amount_fen) > 0)
    ).all()
    households = {
        h.id: h for h in db.session.scalars(sa.select(Household).where(Household.id.in_([r[0] for r in rows])))
    }
    out = [
        CreditedHousehold(
            household_id=household_id,
            label=f"{mask_name(households[household_id].head_name)} · {households[household_id].village.name}",
            credited_fen=int(total or 0),
        )
        for household_id, total in rows
    ]
    return sorted(out, key=lambda h: (-h.credited_fen, h.household_id))


def county_report(year: int) -> CountyReport:
    """Institutional purchasing of a year for the county office: per organisation and month, by type
    and by month; each figure the sum of the organisations' statements (the same orders, the same dues);
    and the households those orders credited (the ledger entries of their lines)."""
    check_year(year)
    start, end = _year_bounds(year)
    rows = [(org_id, order) for org_id, _link, order in _purchase_orders(None, start, end)]
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
    return CountyReport(
        year=year,
        rows=report_rows,
        by_kind=by_kind,
        by_month=by_month,
        total_fen=sum(by_month),
        households=_credited_households([order.id for _, order in rows]),
    )


def county_report_xlsx(report: CountyReport, kind_labels: dict[str, str]) -> bytes:
    """The county's institutional report as a workbook: by organisation and month, by type, and the
    households credited (masked names). Cells through `shop.exports.append_row` (no formulas)."""
    # openpyxl only while a workbook is made or read, never in every web worker (tests/bench/test_worker_footprint.py)
    from openpyxl import Workbook

    yuan = fen_to_decimal
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("按单位和月份")
    append_row(sheet, [_("单位名称"), _("单位类型"), *[str(m) for m in range(1, 13)], _("合计(元)")])
    for row in report.rows:
        append_row(
            sheet,
            [
                row.organisation.name,
                kind_labels.get(row.organisation.kind, row.organisation.kind),
                *[float(yuan(fen)) for fen in row.months],
                float(yuan(row.total_fen)),
            ],
        )
    append_row(sheet, [_("合计"), "", *[float(yuan(fen)) for fen in report.by_month], float(yuan(report.total_fen))])
    kinds = workbook.create_sheet(_("按单位类型"))
    append_row(kinds, [_("单位类型"), _("采购金额(元)")])
    for kind, label in kind_labels.items():
        append_row(kinds, [label, float(yuan(report.by_kind.get(kind, 0)))])
    homes = workbook.create_sheet(_("带动农户"))
    append_row(homes, [_("农户"), _("增收(元)")])
    for household in report.households:
        append_row(homes, [household.label, float(yuan(household.credited_fen))])
    append_row(homes, [_("合计"), float(yuan(report.credited_fen))])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
