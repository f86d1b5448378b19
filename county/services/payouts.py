"""Payouts: households are paid what the ledger credited them (docs/MONEY.md "Payouts").

- `set_account` / `reveal_account`: a household's payment account (encrypted, masked, audited reveal).
- `create_batch(period_from, period_to, village_id|township_id)`: every ledger entry dated up to the
  period's end that no live batch holds (this period's credits, earlier ones not yet paid, failed
  lines' credits, reversals after payment: the `payables` rows, `ledger.payouts.Payable`) is summed per
  household; a household with a positive sum and an account gets a line, the entries become its items
  and leave `payables`. A negative or zero sum (a reversal after payment bigger than the new credits)
  stays payable and is carried into the next batch. When no household would get a line (nothing unpaid,
  or only households without an account), no batch is made: 409 `payout_no_account` (how many
  households wait for an account, and how much), `payout_credited_later` (money is waiting, but it was
  credited after the period's end) or `payout_nothing_payable`, and a later request for
  the period makes it.
  Creators are serialised (one lock), one batch per period and scope (the second gets the first's),
  and a partial unique index keeps every entry in at most one live item.
- `export_batch`: the bank's batch-payment workbook (pending lines only, so a line can never be sent
  twice once the bank paid it); audited.
- `preview_result` / `import_result`: the bank's result file. All or nothing: every row is checked first
  (known line, same amount, a reference for paid rows, no contradiction with what is recorded), then
  applied; a row saying what is already recorded changes nothing, so importing the same file twice
  changes nothing. `preview_result` checks it the same way and says what it would do (the page's
  confirmation) with the batch's state it saw; `import_result(expected_state=…)` refuses to apply it to a
  batch that changed since (409 `payout_batch_changed`). Failed lines release their items: the credits
  are payable again (back in `payables`).
- `household_payout_figures`: paid, in a batch, payable — credited − reversed = paid + payable.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zipfile import BadZipFile

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from catalog.models import Household, Township, Village
from catalog.services import village_labels
from county.exports import append_row
from county.services.registry import check_may_reveal
from ledger.models import IncomeEntry
from ledger.payouts import (
    BATCH_TRANSITIONS,
    LINE_TRANSITIONS,
    AccountKind,
    BatchStatus,
    LineStatus,
    Payable,
    PaymentAccount,
    PayoutBatch,
    PayoutItem,
    PayoutLine,
)
from shop.audit import record_audit
from shop.codes import typed_number
from shop.errors import Conflict, IllegalTransition, NotFound, ValidationError
from shop.extensions import db
from shop.money import MoneyError, fen_to_decimal, format_yuan, parse_yuan
from shop.personal_data import mask_account_no, mask_name
from shop.timeutil import local_date

log = logging.getLogger(__name__)

# keyed by the stored text (the enums are str)
ACCOUNT_KIND_LABELS: dict[str, Any] = {
    AccountKind.BANK_CARD: _l("银行卡"),
    AccountKind.HUINONG_CARD: _l("惠农一卡通"),
    AccountKind.SOCIAL_SECURITY_CARD: _l("社保卡"),
}
BATCH_STATUS_LABELS: dict[str, Any] = {
    BatchStatus.OPEN: _l("待导出"),
    BatchStatus.EXPORTED: _l("已导出，待回盘"),
    BatchStatus.SETTLED: lazy_pgettext("payout", "已完成"),
}
LINE_STATUS_LABELS: dict[str, Any] = {
    LineStatus.PENDING: _l("待发放"),
    LineStatus.PAID: _l("已发放"),
    LineStatus.FAILED: _l("失败"),
}
ACCOUNT_NO_RE = re.compile(r"^[0-9]{8,30}$")  # ASCII digits only (\d would take any script's digits)
#: The longest period one batch may pay (a year and a day: a leap year's January to January).
MAX_PERIOD_DAYS = 366
#: Bank file columns (README "Payout bank file"): (heading, what).
BANK_COLUMNS = ["序号", "明细编号", "户名", "账号", "账户类型", "开户行", "金额(元)", "摘要"]
#: Result file headings -> field; several spellings accepted.
RESULT_HEADERS = {
    "明细编号": "ref",
    "明细号": "ref",
    "付款编号": "ref",
    "ref": "ref",
    "金额(元)": "amount",
    "金额": "amount",
    "交易金额": "amount",
    "amount": "amount",
    "状态": "status",
    "处理结果": "status",
    "交易状态": "status",
    "status": "status",
    "银行流水号": "bank_ref",
    "流水号": "bank_ref",
    "交易流水号": "bank_ref",
    "bank_ref": "bank_ref",
    "失败原因": "reason",
    "备注": "reason",
    "reason": "reason",
}
PAID_WORDS = {"成功", "已成功", "交易成功", "success", "paid", "ok"}
FAILED_WORDS = {"失败", "交易失败", "failed", "fail", "error"}
#: Largest result file read (rows): a batch has at most one line per household of the county.
MAX_RESULT_ROWS = 50000


# --- accounts ----------------------------------------------------------------------------------------


def get_account(household: Household) -> PaymentAccount | None:
    return db.session.scalar(sa.select(PaymentAccount).where(PaymentAccount.household_id == household.id))


def account_row(account: PaymentAccount | None) -> dict | None:
    """Masked: what pages and the API show."""
    if account is None:
        return None
    return {
        "kind": account.kind,
        "kind_label": str(ACCOUNT_KIND_LABELS.get(account.kind, account.kind)),
        "number": mask_account_no(account.number),
        "holder_name": mask_name(account.holder_name),
        "bank_name": account.bank_name,
    }


def set_account(
    household: Household, *, kind: str, number: str, holder_name: str = "", bank_name: str = "", actor, now: datetime
) -> PaymentAccount:
    """Create or replace the household's payment account (audited: which fields, never the values)."""
    # full-width digits (an input method left in full-width mode) fold to the ASCII the bank file needs
    number = typed_number(str(number or ""))
    holder_name = str(holder_name or "").strip() or household.head_name
    bank_name = str(bank_name or "").strip()
    errors = {}
    if kind not in set(AccountKind):
        errors["kind"] = _("请选择账户类型")
    if not ACCOUNT_NO_RE.match(number):
        errors["number"] = _("账号须为8到30位数字")
    if len(holder_name) > 40:
        errors["holder_name"] = _("户名最多 %(n)s 个字，请按银行卡上的户名填写", n=40)
    if len(bank_name) > 60:
        errors["bank_name"] = _("开户行最多 %(n)s 个字，请只填银行和支行名称", n=60)
    if errors:
        raise ValidationError("invalid_account", fields=errors)
    account = get_account(household)
    if account is None:
        account = PaymentAccount(household_id=household.id)
        db.session.add(account)
    account.kind, account.number, account.holder_name, account.bank_name = kind, number, holder_name, bank_name
    account.updated_by_id, account.updated_at = getattr(actor, "id", None), now
    db.session.flush()
    record_audit(
        actor=actor,
        action="payment_account.update",
        subject=household,
        detail={"kind": kind, "account_id": account.id},
        now=now,
    )
    return account


def reveal_account(household: Household, *, actor, now: datetime) -> str:
    """The full account number for a county officer (or an admin); audited (who, when — not the value)."""
    check_may_reveal(actor)
    account = get_account(household)
    if account is None:
        raise NotFound("no_payment_account")
    record_audit(
        actor=actor, action="payment_account.reveal", subject=household, detail={"account_id": account.id}, now=now
    )
    return account.number


# --- batches -----------------------------------------------------------------------------------------


def _transition(obj, to_status: str, table: dict) -> None:
    if to_status not in table.get(obj.status, set()):
        raise IllegalTransition("illegal_payout_transition", a=obj.status, b=to_status)
    log.info("%s %s: %s -> %s", obj.__tablename__, obj.id, obj.status, to_status)
    obj.status = to_status


def get_batch(batch_id: int, *, lock: bool = False) -> PayoutBatch:
    query = sa.select(PayoutBatch).where(PayoutBatch.id == batch_id)
    if lock:
        query = query.with_for_update()
    batch = db.session.scalar(query)
    if batch is None:
        raise NotFound("payout_batch_not_found")
    return batch


def scope_label(batch: PayoutBatch) -> str:
    """全县, or the township's or village's name."""
    if batch.village_id:
        village = db.session.get(Village, batch.village_id)
        return village.name if village else batch.scope
    if batch.township_id:
        township = db.session.get(Township, batch.township_id)
        return township.name if township else batch.scope
    return _("全县")


def list_batches(limit: int = 100) -> list[PayoutBatch]:
    return list(db.session.scalars(sa.select(PayoutBatch).order_by(PayoutBatch.id.desc()).limit(limit)))


@dataclass(frozen=True)
class WaitingHousehold:
    """A household whose money is payable but which has no payment account yet (names masked)."""

    household_id: int
    village: str
    head_name: str
    amount_fen: int


def waiting_for_account(until: date, *, limit: int = 200) -> list[WaitingHousehold]:
    """The households with a positive payable dated up to `until` and no payment account: no batch can
    pay them (`create_batch` skips them, or refuses with `payout_no_account` when they are all there is)
    until the county registers an account; the payouts page lists them, each linked to its account form, its
    village named with its township when another township has a village of its name (`village_labels`)."""
    sums = _payable_sums(until, village_id=None, township_id=None).subquery()
    rows = db.session.execute(
        sa.select(Household, sums.c.amount_fen)
        .join(sums, sums.c.household_id == Household.id)
        .join(Village, Village.id == Household.village_id)
        .outerjoin(PaymentAccount, PaymentAccount.household_id == Household.id)
        .where(PaymentAccount.id.is_(None))
        .order_by(Village.name, Household.id)
        .limit(limit)
    ).all()
    villages = village_labels(household.village_id for household, _amount in rows)
    return [
        WaitingHousehold(household.id, villages[household.village_id], mask_name(household.head_name), int(amount))
        for household, amount in rows
    ]


def _scope(village_id: int | None, township_id: int | None) -> tuple[str, int | None, int | None]:
    if village_id and township_id:
        raise ValidationError("village_or_township", fields={"village_id": "either village or township"})
    if village_id:
        if db.session.get(Village, village_id) is None:
            raise ValidationError("no_such_village", fields={"village_id": "unknown"})
        return f"village:{village_id}", None, village_id
    if township_id:
        if db.session.get(Township, township_id) is None:
            raise ValidationError("no_such_township", fields={"township_id": "unknown"})
        return f"township:{township_id}", township_id, None
    return "county", None, None


def _lock_batch_creation() -> None:
    """Serialise batch creation (transaction-scoped). SQLite's writers are serialised already."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('payout_batches.create'))"))


def _payable_sums(period_to: date, *, village_id: int | None, township_id: int | None):
    """SELECT (household_id, amount_fen) of what a new batch may pay, per household with a positive sum:
    the `payables` rows (entries no live item holds) dated up to `period_to`, in the scope."""
    query = sa.select(Payable.household_id, sa.func.sum(Payable.amount_fen).label("amount_fen")).where(
        Payable.entry_date <= period_to
    )
    if village_id or township_id:
        query = query.join(Household, Household.id == Payable.household_id)
        if village_id:
            query = query.where(Household.village_id == village_id)
        else:
            query = query.join(Village, Village.id == Household.village_id).where(Village.township_id == township_id)
    return query.group_by(Payable.household_id).having(sa.func.sum(Payable.amount_fen) > 0)


def _reopen(line_ids) -> None:
    """The entries of these lines' items are payable again: their `payables` rows are written back (a
    failed line, whose items are released; a line dropped before it was ever sent)."""
    items = PayoutItem.__table__
    db.session.execute(
        sa.insert(Payable.__table__).from_select(
            ["entry_id", "household_id", "entry_date", "amount_fen"],
            sa.select(items.c.entry_id, IncomeEntry.household_id, IncomeEntry.entry_date, IncomeEntry.amount_fen)
            .join(IncomeEntry, IncomeEntry.id == items.c.entry_id)
            .where(items.c.line_id.in_(line_ids), ~items.c.released),
        )
    )


@dataclass
class BatchResult:
    batch: PayoutBatch
    created: bool


def default_period(today: date) -> tuple[date, date]:
    """The period 收益发放's form proposes: this month so far. A batch pays every unpaid credit up to its
    end, earlier months' included, so the period's start only names the batch.

    Once the county's batch of this month so far was made today, the form proposes a period no
    county-wide batch has — today alone, then from yesterday, and so on back — so that 生成发放批次, as the
    batch page asks after a failed line, makes the next batch (the failed line's money in it) instead of
    opening the same one again."""
    month_start = today.replace(day=1)
    taken = set(
        db.session.scalars(
            sa.select(PayoutBatch.period_from).where(PayoutBatch.period_to == today, PayoutBatch.scope == "county")
        )
    )
    starts = [month_start] + [today - timedelta(days=back) for back in range(MAX_PERIOD_DAYS)]
    return next((start for start in starts if start not in taken), month_start), today


def create_batch(
    *,
    period_from: date,
    period_to: date,
    village_id: int | None = None,
    township_id: int | None = None,
    actor,
    now: datetime,
) -> BatchResult:
    """Create the payout batch of a period (and scope), or return the one that exists."""
    if period_from > period_to:
        raise ValidationError("from_after_to", fields={"period_from": "after period_to"})
    if period_to > local_date(now):
        raise ValidationError("payout_end_in_future", fields={"period_to": "in the future"})
    if (period_to - period_from).days >= MAX_PERIOD_DAYS:
        raise ValidationError("payout_period_too_long", fields={"period_to": "period too long"})
    scope, township_id, village_id = _scope(village_id, township_id)
    _lock_batch_creation()
    existing = db.session.scalar(
        sa.select(PayoutBatch).where(
            PayoutBatch.period_from == period_from, PayoutBatch.period_to == period_to, PayoutBatch.scope == scope
        )
    )
    if existing is not None:
        if db.session.scalar(sa.select(sa.exists().where(PayoutLine.batch_id == existing.id))):
            return BatchResult(existing, False)
        # an empty batch (made before a batch needed a line) holds nothing: this request makes the real one
        db.session.delete(existing)
        db.session.flush()
    sums = _payable_sums(period_to, village_id=village_id, township_id=township_id).subquery()
    accounts = PaymentAccount.__table__
    positive, payable, waiting_fen = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(accounts.c.id),
            sa.func.coalesce(sa.func.sum(sa.case((accounts.c.id.is_(None), sums.c.amount_fen))), 0),
        ).select_from(sums.outerjoin(accounts, accounts.c.household_id == sums.c.household_id))
    ).one()
    if not payable:
        if not positive:  # nothing up to the period's end: is there money credited after it?
            later = _payable_sums(date.max, village_id=village_id, township_id=township_id).subquery()
            count, later_fen = db.session.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(later.c.amount_fen), 0))
            ).one()
            if count:
                raise _credited_later(period_to, int(count), int(later_fen))
        raise _nothing_payable(period_to, int(positive), int(waiting_fen))
    batch = PayoutBatch(
        code="",
        period_from=period_from,
        period_to=period_to,
        scope=scope,
        township_id=township_id,
        village_id=village_id,
        status=BatchStatus.OPEN,
        created_by_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(batch)
    db.session.flush()
    batch.code = f"PO{period_to:%Y%m%d}-{batch.id}"
    # per household, the sum of what it may be paid; those with a positive sum and an account get a line,
    # in SQL: the account's encrypted number and name are copied as they are stored (never decrypted here)
    db.session.execute(
        sa.insert(PayoutLine.__table__).from_select(
            [
                "batch_id",
                "household_id",
                "amount_fen",
                "status",
                "account_kind",
                "account_number",
                "holder_name",
                "bank_name",
                "bank_ref",
                "failure_reason",
            ],
            sa.select(
                sa.literal(batch.id),
                sums.c.household_id,
                sums.c.amount_fen,
                sa.literal(LineStatus.PENDING.value),
                accounts.c.kind,
                accounts.c.number,
                accounts.c.holder_name,
                accounts.c.bank_name,
                sa.literal(""),
                sa.literal(""),
            )
            .join(accounts, accounts.c.household_id == sums.c.household_id)
            .order_by(sums.c.household_id),
        )
    )
    lines = int(
        db.session.scalar(sa.select(sa.func.count()).select_from(PayoutLine).where(PayoutLine.batch_id == batch.id))
        or 0
    )
    batch.skipped_no_account = int(positive) - lines
    if lines:
        _take_payables(batch)
        if _settle_amounts(batch):
            lines = batch_totals(batch)["lines"]
    if not lines:  # a reversal committed between the statements took every line's money: nothing to pay
        raise _nothing_payable(period_to, 0, 0)
    db.session.flush()
    record_audit(
        actor=actor,
        action="payout.create",
        subject=batch,
        detail={"lines": lines, "skipped_no_account": batch.skipped_no_account},
        now=now,
    )
    return BatchResult(batch, True)


def _credited_later(period_to: date, households: int, amount_fen: int) -> Conflict:
    """Nothing payable up to the period's end, but money credited after it: a benefit recorded (or a
    sale credited) after the month it is for is dated the day it was entered, so the period has to reach
    that day. Says so, rather than "nothing to pay" beside households the pages show money waiting for."""
    return Conflict(
        "payout_credited_later", to=period_to.isoformat(), households=households, amount=format_yuan(amount_fen)
    )


def _nothing_payable(period_to: date, households_without_account: int, waiting_fen: int) -> Conflict:
    """No household of the scope has a positive payable and an account: no batch is made (an empty
    one would stand in the period's place). Says why: the households whose money waits for an account,
    or nothing unpaid at all."""
    if households_without_account:
        return Conflict(
            "payout_no_account",
            to=period_to.isoformat(),
            households=households_without_account,
            amount=format_yuan(waiting_fen),
            fields={"skipped_no_account": str(households_without_account)},
        )
    return Conflict("payout_nothing_payable", to=period_to.isoformat())


def _take_payables(batch: PayoutBatch) -> None:
    """Move each line's payable rows (its household's, dated up to the period's end) into the line's
    items: the rows taken leave `payables`, exactly those, even if an entry is committed meanwhile."""
    payables, items = Payable.__table__, PayoutItem.__table__
    columns = ["line_id", "entry_id", "amount_fen", "released"]
    taken = sa.and_(
        PayoutLine.batch_id == batch.id,
        payables.c.household_id == PayoutLine.household_id,
        payables.c.entry_date <= batch.period_to,
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # one statement (DELETE ... RETURNING feeding the INSERT): one pass over the rows
        moved = (
            sa.delete(payables)
            .where(taken)
            .returning(PayoutLine.id.label("line_id"), payables.c.entry_id, payables.c.amount_fen)
            .cte("moved")
        )
        db.session.execute(
            sa.insert(items).from_select(
                columns, sa.select(moved.c.line_id, moved.c.entry_id, moved.c.amount_fen, sa.false())
            )
        )
        return
    # elsewhere in two statements; the second deletes the rows the items hold, whatever was committed between
    db.session.execute(
        sa.insert(items).from_select(
            columns, sa.select(PayoutLine.id, payables.c.entry_id, payables.c.amount_fen, sa.false()).where(taken)
        )
    )
    held = sa.select(items.c.entry_id).join(PayoutLine, PayoutLine.id == items.c.line_id)
    db.session.execute(sa.delete(payables).where(payables.c.entry_id.in_(held.where(PayoutLine.batch_id == batch.id))))


def _settle_amounts(batch: PayoutBatch) -> bool:
    """Make each line's amount the sum of its items. They agree unless an entry was committed between
    the statements of `create_batch` (the sums, then the items); then the items win, and a line left
    with nothing positive to pay is dropped with its items (its entries payable again)."""
    totals = (
        sa.select(PayoutItem.line_id, sa.func.sum(PayoutItem.amount_fen).label("total"))
        .join(PayoutLine)
        .where(PayoutLine.batch_id == batch.id)
        .group_by(PayoutItem.line_id)
        .subquery()
    )
    changed = db.session.execute(
        sa.select(PayoutLine.id, sa.func.coalesce(totals.c.total, 0))
        .outerjoin(totals, totals.c.line_id == PayoutLine.id)
        .where(PayoutLine.batch_id == batch.id, PayoutLine.amount_fen != sa.func.coalesce(totals.c.total, 0))
    ).all()
    dropped = [line_id for line_id, total in changed if total <= 0]
    for line_id, total in changed:
        if total > 0:
            db.session.execute(sa.update(PayoutLine).where(PayoutLine.id == line_id).values(amount_fen=int(total)))
    if dropped:
        _reopen(dropped)
        db.session.execute(sa.delete(PayoutItem).where(PayoutItem.line_id.in_(dropped)))
        db.session.execute(sa.delete(PayoutLine).where(PayoutLine.id.in_(dropped)))
    return bool(dropped)


def batch_lines(batch: PayoutBatch) -> list[dict]:
    """Masked rows of a batch's lines (pages, API, the county's own export)."""
    lines = db.session.scalars(
        sa.select(PayoutLine).where(PayoutLine.batch_id == batch.id).order_by(PayoutLine.id)
    ).all()
    households = (
        {
            h.id: h
            for h in db.session.scalars(sa.select(Household).where(Household.id.in_([ln.household_id for ln in lines])))
        }
        if lines
        else {}
    )
    villages = dict(db.session.execute(sa.select(Village.id, Village.name)).all()) if lines else {}
    return [
        {
            "id": ln.id,
            "ref": line_ref(batch, ln),
            "household_id": ln.household_id,
            "head_name": mask_name(households[ln.household_id].head_name),
            "village": villages.get(households[ln.household_id].village_id, ""),
            "amount_fen": ln.amount_fen,
            "status": ln.status,
            "status_label": str(LINE_STATUS_LABELS.get(ln.status, ln.status)),
            "account_kind": ln.account_kind,
            "account_number": mask_account_no(ln.account_number),
            "bank_ref": ln.bank_ref,
            "failure_reason": ln.failure_reason,
            "settled_at": ln.settled_at,
        }
        for ln in lines
    ]


def batch_villages(batch: PayoutBatch) -> list[tuple[int, str]]:
    """[(village id, label)] of the batch's households, by name (each village's cards print at once); a
    village's label names its township when another township has a village of its name (`village_labels`)."""
    ids = list(
        db.session.scalars(
            sa.select(Village.id)
            .join(Household, Household.village_id == Village.id)
            .join(PayoutLine, PayoutLine.household_id == Household.id)
            .where(PayoutLine.batch_id == batch.id)
            .group_by(Village.id, Village.name)
            .order_by(Village.name, Village.id)
        )
    )
    labels = village_labels(ids)
    return [(int(vid), labels.get(vid, "")) for vid in ids]


def batch_totals(batch: PayoutBatch) -> dict:
    rows = db.session.execute(
        sa.select(PayoutLine.status, sa.func.count(), sa.func.sum(PayoutLine.amount_fen))
        .where(PayoutLine.batch_id == batch.id)
        .group_by(PayoutLine.status)
    ).all()
    out = {f"{s}_{k}": 0 for s in LineStatus for k in ("lines", "fen")}
    for status, count, total in rows:
        out[f"{status}_lines"], out[f"{status}_fen"] = int(count), int(total or 0)
    out["lines"] = sum(out[f"{s}_lines"] for s in LineStatus)
    out["total_fen"] = sum(out[f"{s}_fen"] for s in LineStatus)
    return out


class _Line(Protocol):
    id: int


def line_ref(batch: PayoutBatch, line: _Line) -> str:
    """The line's reference in the bank file and its result: <batch code>-<line id> (a `PayoutLine`, or a
    row of its columns)."""
    return f"{batch.code}-{line.id}"


# --- the bank file -----------------------------------------------------------------------------------


def export_batch(batch: PayoutBatch, *, actor, now: datetime) -> bytes:
    """The bank's batch-payment workbook of the batch's pending lines, unmasked (it is the bank's
    instruction); audited. The first export moves the batch to `exported`."""
    # openpyxl only while a workbook is made or read, never in every web worker (tests/bench/test_worker_footprint.py)
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    if batch.status == BatchStatus.SETTLED:
        raise Conflict("payout_batch_done")
    # the columns the file needs (rows, not ORM objects: a county's batch has a line per household)
    lines = db.session.execute(
        sa.select(
            PayoutLine.id,
            PayoutLine.amount_fen,
            PayoutLine.holder_name,
            PayoutLine.account_number,
            PayoutLine.account_kind,
            PayoutLine.bank_name,
        )
        .where(PayoutLine.batch_id == batch.id, PayoutLine.status == LineStatus.PENDING)
        .order_by(PayoutLine.id)
    ).all()
    # write-only mode (openpyxl's optimised mode for large files): rows are streamed, not kept as a grid
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("代发明细")
    append_row(sheet, BANK_COLUMNS)
    memo = f"乡村e线收益 {batch.period_from:%Y%m%d}-{batch.period_to:%Y%m%d}"
    kind_labels = {kind: str(label) for kind, label in ACCOUNT_KIND_LABELS.items()}  # once, not per line
    for index, line in enumerate(lines, start=1):
        # account numbers are text (a number cell would lose digits past 15)
        number = WriteOnlyCell(sheet, value=str(line.account_number))
        number.number_format = "@"
        amount = WriteOnlyCell(sheet, value=float(fen_to_decimal(line.amount_fen)))
        amount.number_format = "0.00"
        append_row(
            sheet,
            [
                index,
                line_ref(batch, line),
                line.holder_name,
                number,
                kind_labels.get(line.account_kind, line.account_kind),
                line.bank_name,
                amount,
                memo,
            ],
        )
    append_row(
        sheet,
        ["合计", "", "", "", "", "", float(fen_to_decimal(sum(ln.amount_fen for ln in lines))), f"{len(lines)}笔"],
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    if batch.status == BatchStatus.OPEN:
        _transition(batch, BatchStatus.EXPORTED, BATCH_TRANSITIONS)
    record_audit(
        actor=actor,
        action="payout.export",
        subject=batch,
        detail={"lines": len(lines), "total_fen": sum(ln.amount_fen for ln in lines)},
        now=now,
    )
    return buffer.getvalue()


# --- the bank's result file --------------------------------------------------------------------------


@dataclass
class ResultReport:
    paid: int = 0
    failed: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _read_result(source) -> list[tuple[int, dict]]:
    """[(row number, {ref, amount, status, bank_ref, reason})] from an XLSX file."""
    # openpyxl only while a workbook is made or read, never in every web worker (tests/bench/test_worker_footprint.py)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise ValidationError("bank_file_unreadable") from None
    try:
        rows = workbook.active.iter_rows(values_only=True)
        header = None
        out: list[tuple[int, dict[str, str]]] = []
        for number, row in enumerate(rows, start=1):
            cells = ["" if c is None else str(c).strip() for c in row]
            if header is None:
                mapped = [RESULT_HEADERS.get(c.replace("（", "(").replace("）", ")"), None) for c in cells]
                if {"ref", "status"} <= set(mapped):
                    header = mapped
                elif number > 10:
                    break
                continue
            if not any(cells):
                continue
            if len(out) >= MAX_RESULT_ROWS:
                raise ValidationError("bank_file_too_long")
            out.append((number, {name: cells[i] for i, name in enumerate(header) if name and i < len(cells)}))
    finally:
        workbook.close()
    if header is None:
        raise ValidationError("bank_file_headers")
    return out


def _refuse_another_batchs_answer(batch: PayoutBatch, prefixes: set[str], *, answered: bool) -> None:
    """A file none of whose rows is a line of this batch, all naming one other batch: the bank's answer to
    that batch, uploaded on this one's page. Said in one sentence that names the batch to import it on,
    rather than a row-by-row list of references "not in this batch"."""
    if answered or len(prefixes) != 1:
        return
    (code,) = prefixes
    if code != batch.code and db.session.scalar(sa.select(sa.exists().where(PayoutBatch.code == code))):
        raise ValidationError("bank_file_other_batch", code=code, fields={"file": f"another batch: {code}"})


@dataclass
class _Checked:
    """A result file read against the batch's lines: what it would change (`plan`: line, new status, bank
    reference or reason), the rows repeating what is recorded, and the refusals."""

    report: ResultReport
    plan: list[tuple[PayoutLine, LineStatus, str]]
    lines: dict[str, PayoutLine]


def _batch_state(batch: PayoutBatch, lines) -> str:
    """A digest of what a bank answer is applied to: the batch's status and each line's id, status, amount,
    bank reference and reason. Equal at the preview and at the confirmation, the file does at the second
    what the first said; else the batch changed between them (another answer imported, say)."""
    text = "|".join(
        [str(batch.status)]
        + [
            f"{ln.id}:{ln.status}:{ln.amount_fen}:{ln.bank_ref}:{ln.failure_reason}"
            for ln in sorted(lines, key=lambda ln: ln.id)
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _check_result(batch: PayoutBatch, rows: list[tuple[int, dict]], *, lock: bool) -> _Checked:
    """Every row of the file checked against the batch's lines (locked when `lock`); nothing changes."""
    if batch.status == BatchStatus.OPEN:
        raise Conflict("payout_batch_not_exported")
    query = sa.select(PayoutLine).where(PayoutLine.batch_id == batch.id)
    if lock:
        query = query.with_for_update()
    lines = {line_ref(batch, ln): ln for ln in db.session.scalars(query)}
    report, plan, seen, foreign = ResultReport(), [], set(), set()
    for number, row in rows:
        ref = row.get("ref", "")
        if ref.startswith("合计") or (not ref and not row.get("status")):
            continue
        line = lines.get(ref)
        status = row.get("status", "").lower()
        if line is None:
            foreign.add(ref.rsplit("-", 1)[0])
            report.errors.append(_("第%(n)s行：明细编号 %(ref)s 不属于本批次", n=number, ref=ref[:40]))
            continue
        if ref in seen:
            report.errors.append(_("第%(n)s行：明细编号 %(ref)s 重复", n=number, ref=ref))
            continue
        seen.add(ref)
        if row.get("amount"):
            try:
                amount = parse_yuan(row["amount"])
            except (MoneyError, ValueError, ArithmeticError):
                amount = None
            if amount != line.amount_fen:
                report.errors.append(
                    _(
                        "第%(n)s行：金额 %(got)s 与明细金额 %(want)s 不符，请核对回盘文件是否为本批次的",
                        n=number,
                        got=str(row["amount"])[:20],
                        want=format_yuan(line.amount_fen),
                    )
                )
                continue
        if status in PAID_WORDS:
            bank_ref = row.get("bank_ref", "")[:64]
            if not bank_ref:
                report.errors.append(_("第%(n)s行：成功的明细须有银行流水号", n=number))
            elif line.status == LineStatus.PAID and line.bank_ref == bank_ref:
                report.unchanged += 1
            elif line.status != LineStatus.PENDING:
                report.errors.append(
                    _("第%(n)s行：该明细已记为%(s)s，与回盘不符", n=number, s=str(LINE_STATUS_LABELS[line.status]))
                )
            else:
                plan.append((line, LineStatus.PAID, bank_ref))
        elif status in FAILED_WORDS:
            reason = row.get("reason", "")[:200] or _("银行未说明原因")
            if line.status == LineStatus.FAILED:
                report.unchanged += 1
            elif line.status != LineStatus.PENDING:
                report.errors.append(
                    _("第%(n)s行：该明细已记为%(s)s，与回盘不符", n=number, s=str(LINE_STATUS_LABELS[line.status]))
                )
            else:
                plan.append((line, LineStatus.FAILED, reason))
        else:
            report.errors.append(_("第%(n)s行：状态须为“成功”或“失败”", n=number))
    if not report.errors and not plan and not report.unchanged:
        # headings and no line of this batch (an empty sheet, the wrong sheet saved first): nothing was
        # imported, which "imported: 0 paid, 0 failed" told the officer as a success
        raise ValidationError("bank_file_no_lines", fields={"file": "empty"})
    _refuse_another_batchs_answer(batch, foreign, answered=bool(plan or report.unchanged or seen))
    return _Checked(report, plan, lines)


def _refuse_rows(report: ResultReport) -> None:
    if report.errors:
        raise ValidationError(
            "bank_file_invalid", errors=_("；").join(report.errors[:20]), fields={"file": "; ".join(report.errors[:20])}
        )


#: The most distinct failure reasons a preview names one by one (the rest are summed as 其他原因).
PREVIEW_REASONS = 10


@dataclass
class ResultPreview:
    """What a bank answer will do to its batch, said before it is applied (`preview_result`): lines to be
    marked paid and failed, with their sums, the failures by reason (most frequent first), the rows that
    repeat what is recorded, the lines still pending after it, and `state`, the batch as the preview saw
    it (`_batch_state`), which `import_result(expected_state=…)` compares."""

    paid: int
    paid_fen: int
    failed: int
    failed_fen: int
    reasons: list[tuple[str, int, int]]
    other_reasons: tuple[int, int]
    unchanged: int
    pending_after: int
    state: str

    @property
    def changes(self) -> bool:
        return bool(self.paid or self.failed)


def preview_result(batch: PayoutBatch, source) -> ResultPreview:
    """Check the bank's result file as `import_result` does and say what it would do, changing nothing: a
    file `import_result` would refuse is refused here, with the same error, before any confirmation."""
    checked = _check_result(batch, _read_result(source), lock=False)
    _refuse_rows(checked.report)
    by_reason: dict[str, list[int]] = {}
    paid = [ln.amount_fen for ln, to_status, _value in checked.plan if to_status == LineStatus.PAID]
    for line, to_status, value in checked.plan:
        if to_status == LineStatus.FAILED:
            counted = by_reason.setdefault(value, [0, 0])
            counted[0] += 1
            counted[1] += line.amount_fen
    reasons = sorted(((r, n, fen) for r, (n, fen) in by_reason.items()), key=lambda x: (-x[1], -x[2], x[0]))
    rest = reasons[PREVIEW_REASONS:]
    planned = {ln.id for ln, _to, _value in checked.plan}
    return ResultPreview(
        paid=len(paid),
        paid_fen=sum(paid),
        failed=sum(n for _r, n, _fen in reasons),
        failed_fen=sum(fen for _r, _n, fen in reasons),
        reasons=reasons[:PREVIEW_REASONS],
        other_reasons=(sum(n for _r, n, _f in rest), sum(fen for _r, _n, fen in rest)),
        unchanged=checked.report.unchanged,
        pending_after=sum(
            1 for ln in checked.lines.values() if ln.status == LineStatus.PENDING and ln.id not in planned
        ),
        state=_batch_state(batch, checked.lines.values()),
    )


def import_result(
    batch: PayoutBatch, source, *, actor, now: datetime, expected_state: str | None = None
) -> ResultReport:
    """Apply the bank's result file to the batch. All rows are checked before anything changes: one bad
    row refuses the whole file (ValidationError listing the rows). Rows that repeat what is recorded
    change nothing.

    `expected_state`: the batch's state when the officer was shown what the file would do
    (`ResultPreview.state`). If the batch changed since and the file would now change something or be
    refused, nothing is applied: 409 `payout_batch_changed` (the officer uploads it again and reads what it
    does now). A file that now changes nothing (the same answer imported meanwhile) changes nothing."""
    rows = _read_result(source)
    batch = get_batch(batch.id, lock=True)  # two imports of the same batch at once: one after the other
    checked = _check_result(batch, rows, lock=True)
    report, plan, lines = checked.report, checked.plan, checked.lines
    if expected_state is not None and (plan or report.errors) and _batch_state(batch, lines.values()) != expected_state:
        raise Conflict("payout_batch_changed", code=batch.code)
    _refuse_rows(report)
    failed = []
    for line, to_status, value in plan:
        _transition(line, to_status, LINE_TRANSITIONS)
        line.settled_at = now
        if to_status == LineStatus.PAID:
            line.bank_ref = value
            report.paid += 1
        else:
            line.failure_reason = value
            failed.append(line.id)
            report.failed += 1
    db.session.flush()
    if failed:  # their credits are payable again: rows back into `payables`, then the items released
        _reopen(failed)
        db.session.execute(sa.update(PayoutItem).where(PayoutItem.line_id.in_(failed)).values(released=True))
    if batch.status == BatchStatus.EXPORTED and not any(ln.status == LineStatus.PENDING for ln in lines.values()):
        _transition(batch, BatchStatus.SETTLED, BATCH_TRANSITIONS)
        batch.settled_at = now
    if plan:
        record_audit(
            actor=actor,
            action="payout.result",
            subject=batch,
            detail={"paid": report.paid, "failed": report.failed, "unchanged": report.unchanged},
            now=now,
        )
    db.session.flush()
    return report


# --- figures -----------------------------------------------------------------------------------------


def household_payout_figures(household_id: int, *, until: date | None = None) -> dict:
    """{credited_fen (net of reversals), paid_fen, in_batch_fen, payable_fen, deducted_later_fen}: paid +
    payable = credited; `in_batch_fen` is the part of payable already in a batch that the bank has not
    answered. A reversal after the batch took the credits makes the rest negative (payable ¥20.45 of which
    ¥63.96 in the batch): `deducted_later_fen` is that rest, positive, netted in a later batch — said
    beside the batch's part so that the part is not read as larger than its whole."""
    query = (
        sa.select(PayoutLine.status, sa.func.coalesce(sa.func.sum(IncomeEntry.amount_fen), 0))
        .select_from(IncomeEntry)
        .outerjoin(PayoutItem, sa.and_(PayoutItem.entry_id == IncomeEntry.id, ~PayoutItem.released))
        .outerjoin(PayoutLine, PayoutLine.id == PayoutItem.line_id)
        .where(IncomeEntry.household_id == household_id)
        .group_by(PayoutLine.status)
    )
    if until is not None:
        query = query.where(IncomeEntry.entry_date <= until)
    sums = {status: int(total) for status, total in db.session.execute(query)}
    credited = sum(sums.values())
    paid = sums.get(LineStatus.PAID.value, 0)
    return {
        "credited_fen": credited,
        "paid_fen": paid,
        "in_batch_fen": sums.get(LineStatus.PENDING.value, 0),
        "payable_fen": credited - paid,
        "deducted_later_fen": max(0, sums.get(LineStatus.PENDING.value, 0) - max(0, credited - paid)),
    }
