"""Payouts (issue #20): payables, payout batches, the bank file and the bank's result file.

Credits are written by the ledger services (`credit_line`, `reverse_line`); batches, exports and
result files go through the county's services, pages and API."""

from __future__ import annotations

import io
from datetime import date, timedelta

import hypothesis.strategies as st
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from openpyxl import Workbook, load_workbook

from county.services import payouts, reports
from ledger.models import IncomeEntry, SaleFigure
from ledger.payouts import PAYABLES_REBUILD, Payable, PayoutBatch, PayoutItem, PayoutLine
from ledger.services import credit_line, reverse_line
from shop.audit import AuditEntry
from shop.db import commit
from shop.errors import Conflict, ValidationError
from shop.money import apply_bps
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.county.factories import make_line
from tests.factories import make_household, make_user, make_village

ACCOUNT = "6217991234567890123"
ACCOUNT_B = "6230520012345678"


def _credit(households, amount, *, now, weights=None):
    line = make_line(households=households, weights=weights, unit_price_fen=amount)
    credit_line(line, now=now)
    return line


def _account(household, number=ACCOUNT, *, now, actor=None):
    return payouts.set_account(
        household, kind="huinong_card", number=number, bank_name="南昌农商银行", actor=actor, now=now
    )


def _batch(now, *, days=30, **scope):
    today = (now + timedelta(hours=8)).date()
    return payouts.create_batch(period_from=today - timedelta(days=days), period_to=today, actor=None, now=now, **scope)


def _result_file(rows, header=("明细编号", "金额(元)", "状态", "银行流水号", "失败原因")) -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def _export_and_answer(batch, answers: dict, *, now):
    """Export the batch, then import a result file answering each line: {household_id: ("paid"|"failed")}."""
    payouts.export_batch(batch, actor=None, now=now)
    rows = []
    for line in batch.lines:
        answer = answers.get(line.household_id)
        if answer == "paid":
            rows.append((payouts.line_ref(batch, line), line.amount_fen / 100, "成功", f"BK{line.id:06d}", ""))
        elif answer == "failed":
            rows.append((payouts.line_ref(batch, line), line.amount_fen / 100, "失败", "", "账户已冻结"))
    return payouts.import_result(batch, _result_file(rows), actor=None, now=now)


def _figures(household):
    return payouts.household_payout_figures(household.id)


def _payables() -> set[tuple]:
    from shop.extensions import db

    return {
        tuple(r)
        for r in db.session.execute(
            sa.select(Payable.entry_id, Payable.household_id, Payable.entry_date, Payable.amount_fen)
        )
    }


def _unheld_entries() -> set[tuple]:
    """What `payables` must hold: the ledger's entries that no live payout item holds."""
    from shop.extensions import db

    live = sa.select(PayoutItem.entry_id).where(~PayoutItem.released)
    return {
        tuple(r)
        for r in db.session.execute(
            sa.select(IncomeEntry.id, IncomeEntry.household_id, IncomeEntry.entry_date, IncomeEntry.amount_fen).where(
                IncomeEntry.id.not_in(live)
            )
        )
    }


def _ledger_fen(household) -> int:
    from shop.extensions import db

    return int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(IncomeEntry.amount_fen), 0)).where(
                IncomeEntry.household_id == household.id
            )
        )
    )


# --- batches -------------------------------------------------------------------------------------


def test_batch_pays_each_household_its_payable_and_skips_those_without_account(db, now):
    a, b, c = make_household(), make_household(), make_household()
    _credit([a, b], 10001, now=now, weights=[2, 1])
    _credit([c], 5000, now=now)
    _account(a, now=now)
    _account(b, ACCOUNT_B, now=now)
    result = _batch(now)
    assert result.created
    lines = {ln.household_id: ln for ln in result.batch.lines}
    assert set(lines) == {a.id, b.id}
    assert lines[a.id].amount_fen == _ledger_fen(a) == 6667 and lines[b.id].amount_fen == _ledger_fen(b) == 3334
    assert result.batch.skipped_no_account == 1
    assert _figures(c) == {
        "credited_fen": 5000,
        "paid_fen": 0,
        "in_batch_fen": 0,
        "payable_fen": 5000,
        "deducted_later_fen": 0,
    }
    assert _figures(a)["in_batch_fen"] == 6667


def test_credits_after_the_period_wait_for_a_later_batch(db, now):
    a = make_household()
    _account(a, now=now)
    _credit([a], 3000, now=now - timedelta(days=40))
    _credit([a], 1000, now=now)
    first = _batch(now - timedelta(days=35), days=30).batch
    assert [ln.amount_fen for ln in first.lines] == [3000]
    second = _batch(now).batch
    assert [ln.amount_fen for ln in second.lines] == [1000]


def test_no_credit_is_in_two_batches_whatever_their_periods_or_scopes(db, now):
    village = make_village()
    a = make_household(village=village)
    _account(a, now=now)
    _credit([a], 4000, now=now)
    village_batch = _batch(now, village_id=village.id).batch
    with pytest.raises(Conflict) as caught:  # the village's batch holds the credit: nothing left to pay
        _batch(now, days=10)
    assert caught.value.code == "payout_nothing_payable"
    assert [ln.amount_fen for ln in village_batch.lines] == [4000]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutBatch)) == 1
    items = db.session.scalars(sa.select(PayoutItem)).all()
    assert len(items) == len({i.entry_id for i in items})


def test_the_same_period_and_scope_gives_the_same_batch(db, now):
    a = make_household()
    _account(a, now=now)
    _credit([a], 4000, now=now)
    first = _batch(now)
    _credit([a], 500, now=now)
    again = _batch(now)
    assert not again.created and again.batch.id == first.batch.id
    assert [ln.amount_fen for ln in again.batch.lines] == [4000]


def test_nothing_payable_makes_no_batch_and_the_period_is_paid_once_accounts_are_registered(db, now):
    """Households with money but no account: no empty batch stands in the period's place; the officer is
    told how many households wait for an account and how much, and the same period asked again once the
    accounts are registered is a real batch."""
    a, b = make_household(), make_household()
    _credit([a], 7000, now=now)
    _credit([b], 2500, now=now)
    before = _payables()
    with pytest.raises(Conflict) as caught:
        _batch(now)
    assert caught.value.code == "payout_no_account" and caught.value.status == 409
    assert caught.value.params["households"] == 2 and caught.value.params["amount"] == "¥95.00"
    assert "2 户" in caught.value.message and "¥95.00" in caught.value.message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutBatch)) == 0
    assert _payables() == before == _unheld_entries()
    _account(a, now=now)
    _account(b, ACCOUNT_B, now=now)
    result = _batch(now)
    assert result.created
    assert sorted((ln.household_id, ln.amount_fen) for ln in result.batch.lines) == [(a.id, 7000), (b.id, 2500)]
    assert result.batch.skipped_no_account == 0 and _payables() == set() == _unheld_entries()


def test_an_empty_batch_left_from_before_gives_way_to_the_real_one(db, now):
    """A ¥0 batch made before a batch needed a line (it holds nothing) is not reopened: the period is paid."""
    a = make_household()
    _credit([a], 7000, now=now)
    today = (now + timedelta(hours=8)).date()
    empty = PayoutBatch(
        code="PO-old", period_from=today - timedelta(days=30), period_to=today, scope="county", created_at=now
    )
    db.session.add(empty)
    db.session.flush()
    _account(a, now=now)
    result = _batch(now)
    assert result.created and [ln.amount_fen for ln in result.batch.lines] == [7000]
    assert db.session.scalars(sa.select(PayoutBatch.id)).all() == [result.batch.id]


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"period_from": date(2026, 11, 30), "period_to": date(2026, 11, 1)}, "period_from"),
        ({"period_from": date(2026, 11, 1), "period_to": date(2027, 1, 1)}, "period_to"),
        ({"period_from": date(2024, 1, 1), "period_to": date(2026, 11, 1)}, "period_to"),
        ({"period_from": date(2026, 11, 1), "period_to": date(2026, 11, 2), "village_id": 999999}, "village_id"),
    ],
)
def test_bad_batch_requests_are_refused_and_create_nothing(db, now, kwargs, field):
    with pytest.raises(ValidationError) as caught:
        payouts.create_batch(**kwargs, actor=None, now=now)
    assert field in caught.value.fields
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutBatch)) == 0


def test_a_batch_reads_the_payables_not_the_ledger(db, now):
    """Every new entry is payable at once (its `payables` row, written with it by the ledger); a batch takes
    the rows it pays out of `payables` and never reads `income_entries` (no anti-join over the ledger)."""
    a, b = make_household(), make_household()
    _account(a, now=now)
    _credit([a, b], 10001, now=now, weights=[2, 1])
    assert _payables() == _unheld_entries() and len(_payables()) == 2
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        batch = _batch(now).batch
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert [ln.amount_fen for ln in batch.lines] == [6667]
    assert statements and not [s for s in statements if "income_entries" in s]
    assert _payables() == _unheld_entries() and {p[1] for p in _payables()} == {b.id}


def test_rebuilding_the_payables_gives_the_rows_the_ledger_and_the_batches_kept(db, now):
    a, b = make_household(), make_household()
    _account(a, now=now)
    _account(b, ACCOUNT_B, now=now)
    line = _credit([a, b], 9000, now=now - timedelta(days=3))
    batch = _batch(now - timedelta(days=2)).batch
    _export_and_answer(batch, {a.id: "paid", b.id: "failed"}, now=now)
    reverse_line(line, now=now, amount_fen=3000, ref="refund:1")
    _credit([a], 500, now=now)
    kept = _payables()
    assert kept == _unheld_entries() and len(kept) == 4  # b's failed credit, two reversals, a's new credit
    for statement in PAYABLES_REBUILD:
        db.session.execute(sa.text(statement))
    assert _payables() == kept


# --- result file -----------------------------------------------------------------------------------


def test_paid_lines_get_the_bank_reference_and_failed_lines_are_payable_again(db, now):
    a, b = make_household(), make_household()
    _account(a, now=now)
    _account(b, ACCOUNT_B, now=now)
    _credit([a], 7000, now=now)
    _credit([b], 2500, now=now)
    batch = _batch(now).batch
    report = _export_and_answer(batch, {a.id: "paid", b.id: "failed"}, now=now)
    assert (report.paid, report.failed) == (1, 1)
    lines = {ln.household_id: ln for ln in batch.lines}
    assert lines[a.id].status == "paid" and lines[a.id].bank_ref == f"BK{lines[a.id].id:06d}"
    assert lines[b.id].status == "failed" and lines[b.id].failure_reason == "账户已冻结"
    assert batch.status == "settled"
    assert _figures(a) == {
        "credited_fen": 7000,
        "paid_fen": 7000,
        "in_batch_fen": 0,
        "payable_fen": 0,
        "deducted_later_fen": 0,
    }
    assert _figures(b) == {
        "credited_fen": 2500,
        "paid_fen": 0,
        "in_batch_fen": 0,
        "payable_fen": 2500,
        "deducted_later_fen": 0,
    }
    assert {p[1:] for p in _payables()} == {(b.id, (now + timedelta(hours=8)).date(), 2500)}
    later = payouts.create_batch(
        period_from=batch.period_to,
        period_to=batch.period_to + timedelta(days=1),
        actor=None,
        now=now + timedelta(days=1),
    ).batch
    assert [(ln.household_id, ln.amount_fen) for ln in later.lines] == [(b.id, 2500)]


def test_importing_the_same_result_twice_changes_nothing(db, now):
    a = make_household()
    _account(a, now=now)
    _credit([a], 7000, now=now)
    batch = _batch(now).batch
    payouts.export_batch(batch, actor=None, now=now)
    line = batch.lines[0]
    rows = [(payouts.line_ref(batch, line), "70.00", "成功", "BK1", "")]
    first = payouts.import_result(batch, _result_file(rows), actor=None, now=now)
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    second = payouts.import_result(batch, _result_file(rows), actor=None, now=now + timedelta(hours=1))
    assert (first.paid, second.paid, second.unchanged) == (1, 0, 1)
    assert line.settled_at == now and line.bank_ref == "BK1"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == audits


@pytest.mark.parametrize(
    "row,message",
    [
        (lambda ref: (ref, "69.99", "成功", "BK1", ""), "金额"),
        (lambda ref: (ref, "70.00", "成功", "", ""), "流水号"),
        (lambda ref: ("PO-nope-1", "70.00", "成功", "BK1", ""), "不属于"),
        (lambda ref: (ref, "70.00", "处理中", "BK1", ""), "状态"),
    ],
)
def test_a_bad_result_row_refuses_the_whole_file(db, now, row, message):
    a, b = make_household(), make_household()
    _account(a, now=now)
    _account(b, ACCOUNT_B, now=now)
    _credit([a], 7000, now=now)
    _credit([b], 7000, now=now)
    batch = _batch(now).batch
    payouts.export_batch(batch, actor=None, now=now)
    good = (payouts.line_ref(batch, batch.lines[1]), "70.00", "成功", "BK2", "")
    with pytest.raises(ValidationError) as caught:
        payouts.import_result(
            batch, _result_file([good, row(payouts.line_ref(batch, batch.lines[0]))]), actor=None, now=now
        )
    assert message in caught.value.message
    assert {ln.status for ln in batch.lines} == {"pending"}


def test_a_result_contradicting_a_recorded_payment_is_refused(db, now):
    a = make_household()
    _account(a, now=now)
    _credit([a], 7000, now=now)
    batch = _batch(now).batch
    _export_and_answer(batch, {a.id: "paid"}, now=now)
    ref = payouts.line_ref(batch, batch.lines[0])
    for row in ((ref, "70.00", "失败", "", "x"), (ref, "70.00", "成功", "OTHER", "")):
        with pytest.raises(ValidationError):
            payouts.import_result(batch, _result_file([row]), actor=None, now=now)
    assert batch.lines[0].status == "paid" and _figures(a)["paid_fen"] == 7000


def test_unreadable_result_files_are_refused(db, now):
    a = make_household()
    _account(a, now=now)
    _credit([a], 7000, now=now)
    batch = _batch(now).batch
    payouts.export_batch(batch, actor=None, now=now)
    for source in (io.BytesIO(b"not a workbook"), _result_file([("x", "y")], header=("姓名", "电话"))):
        with pytest.raises(ValidationError):
            payouts.import_result(batch, source, actor=None, now=now)


def test_a_reversal_after_payment_is_a_negative_payable_carried_into_the_next_batch(db, now):
    a = make_household()
    _account(a, now=now)
    line = _credit([a], 10000, now=now)
    batch = _batch(now).batch
    _export_and_answer(batch, {a.id: "paid"}, now=now)
    later = now + timedelta(days=1)
    reverse_line(line, now=later, amount_fen=3000, ref="refund:1")
    assert _figures(a) == {
        "credited_fen": 7000,
        "paid_fen": 10000,
        "in_batch_fen": 0,
        "payable_fen": -3000,
        "deducted_later_fen": 0,
    }
    # nothing positive to pay: no batch, the negative payable waits
    with pytest.raises(Conflict) as caught:
        payouts.create_batch(period_from=later.date(), period_to=later.date(), actor=None, now=later)
    assert caught.value.code == "payout_nothing_payable"
    assert _payables() == _unheld_entries()
    _credit([a], 5000, now=later + timedelta(days=1))
    after = later + timedelta(days=1)
    carried = payouts.create_batch(period_from=after.date(), period_to=after.date(), actor=None, now=after).batch
    assert [ln.amount_fen for ln in carried.lines] == [2000]
    _export_and_answer(carried, {a.id: "paid"}, now=after)
    assert _figures(a) == {
        "credited_fen": 12000,
        "paid_fen": 12000,
        "in_batch_fen": 0,
        "payable_fen": 0,
        "deducted_later_fen": 0,
    }


def test_the_bank_file_has_pending_lines_unmasked_and_every_export_is_audited(db, now):
    a, b = make_household(), make_household()
    _account(a, now=now)
    _account(b, ACCOUNT_B, now=now)
    _credit([a], 7000, now=now)
    _credit([b], 2000, now=now)
    batch = _batch(now).batch
    data = payouts.export_batch(batch, actor=None, now=now)
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == payouts.BANK_COLUMNS
    assert {r[3] for r in rows[1:-1]} == {ACCOUNT, ACCOUNT_B}  # text, every digit kept
    assert sum(r[6] for r in rows[1:-1]) == pytest.approx(90.0) and rows[-1][6] == pytest.approx(90.0)
    assert batch.status == "exported"
    first = {ln.household_id: ln for ln in batch.lines}
    payouts.import_result(
        batch, _result_file([(payouts.line_ref(batch, first[a.id]), "70", "成功", "BK9", "")]), actor=None, now=now
    )
    again = load_workbook(io.BytesIO(payouts.export_batch(batch, actor=None, now=now))).active
    assert [r[3] for r in again.iter_rows(min_row=2, values_only=True)][:-1] == [ACCOUNT_B]  # never sent twice
    exports = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "payout.export")).all()
    assert len(exports) == 2 and all(e.subject_id == batch.id for e in exports)
    assert all(ACCOUNT not in str(e.detail) for e in db.session.scalars(sa.select(AuditEntry)))


def test_account_numbers_are_validated_encrypted_and_revealed_with_an_audit_row(db, now):
    a = make_household()
    officer = make_user(role="county")
    with pytest.raises(ValidationError):
        payouts.set_account(a, kind="bank_card", number="12ab", actor=officer, now=now)
    with pytest.raises(ValidationError):
        payouts.set_account(a, kind="wallet", number=ACCOUNT, actor=officer, now=now)
    _account(a, now=now, actor=officer)
    stored = db.session.execute(sa.text("SELECT number FROM payment_accounts")).scalar()
    assert ACCOUNT not in stored
    assert payouts.account_row(payouts.get_account(a))["number"] == "**** 0123"
    assert payouts.reveal_account(a, actor=officer, now=now) == ACCOUNT
    reveal = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "payment_account.reveal"))
    assert reveal.actor_id == officer.id and reveal.subject_id == a.id and ACCOUNT not in str(reveal.detail)


# --- property: credited − reversed = paid + payable, whatever happens (sales, records, reversals,
# batches, bank answers) -----------------------------------------------------------------------------


class PayoutMachine(RuleBasedStateMachine):
    now = None

    def __init__(self):
        super().__init__()
        self.clock = PayoutMachine.now
        self.households = [make_household() for _ in range(3)]
        for i, h in enumerate(self.households[:2]):
            _account(h, f"62170000000000{i:04d}", now=self.clock)
        self.lines = []
        self.batches = []
        self.sold = {}  # line id: its money not given back
        self.bought = {}  # line id: the part of its money units bought at intake make up

    def _tick(self, days=0):
        self.clock += timedelta(days=days, minutes=1)
        return self.clock

    @rule(who=st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True), amount=st.integers(1, 50000))
    def credit(self, who, amount):
        line = _credit([self.households[i] for i in who], amount, now=self._tick())
        self.lines.append(line)
        self.sold[line.id] = line.line_total_fen
        self.bought[line.id] = 0

    @rule(
        kind=st.sampled_from(["purchase", "wage", "dividend", "rent", "collective"]),
        who=st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True),
        amount=st.integers(1, 9000),
    )
    def record(self, kind, who, amount):
        from county.services import benefits

        now = self._tick()
        today = (now + timedelta(hours=8)).date()
        lines = [
            benefits.RecordLine(
                household_id=self.households[i].id,
                member_no=1,
                units=1,
                quantity=2,
                rate_fen=amount,
                shares=i + 1,
                amount_fen=amount,
            )
            for i in who
        ]
        benefits.record_benefit(
            benefits.RecordData(
                kind=kind,
                period_from=today,
                period_to=today,
                description="t",
                lines=lines,
                total_fen=amount * 3,
                shares_total=sum(i + 1 for i in who),
            ),
            actor=None,
            now=now,
        )

    @rule(
        who=st.lists(st.integers(0, 2), max_size=3, unique=True),
        quantity=st.integers(1, 6),
        bought=st.integers(0, 6),
        price=st.integers(1, 9000),
        bps=st.sampled_from([0, 500, 1000, 1234]),
    )
    def sell(self, who, quantity, bought, price, bps):
        """A product line of `quantity` units, `bought` of them from a lot bought at intake from the first
        household (credited `purchase` then); no household linked: the collective's goods."""
        from ledger.purchases import credit_intake_purchase
        from shop.extensions import db
        from stock.models import LotAllocation
        from tests.factories import make_lot, make_product

        now = self._tick()
        bought = min(bought, quantity)
        product = make_product(stock=0)
        line = make_line(
            households=[self.households[i] for i in who],
            unit_price_fen=price,
            quantity=quantity,
            commission_bps=bps,
            product=product,
        )
        if bought:
            lot = make_lot(product.stock, bought, household=self.households[0])
            lot.purchase_price_fen = max(1, price // 2)
            credit_intake_purchase(lot, actor=None, now=now)
            db.session.add(LotAllocation(order_line_id=line.id, lot_id=lot.id, allocated=0, consumed=bought))
            db.session.flush()
        credit_line(line, now=now)
        self.lines.append(line)
        self.sold[line.id] = line.line_total_fen
        self.bought[line.id] = line.line_total_fen - line.line_total_fen * (quantity - bought) // quantity

    @rule(index=st.integers(0, 20), amount=st.none() | st.integers(1, 50000))
    def reverse(self, index, amount):
        if self.lines:
            line = self.lines[index % len(self.lines)]
            reverse_line(line, now=self._tick(), amount_fen=amount, ref=f"refund:{len(self.lines)}:{index}:{amount}")
            if amount is None or amount >= self.sold[line.id]:
                self.sold[line.id] = 0
            else:
                self.sold[line.id] -= amount

    @rule(days=st.integers(1, 3))
    def batch(self, days):
        now = self._tick(days)
        today = (now + timedelta(hours=8)).date()
        try:
            batch = payouts.create_batch(period_from=today, period_to=today, actor=None, now=now).batch
        except Conflict:  # nothing payable (no account, or nothing positive): refused before any write
            return
        self.batches.append(batch)

    @rule(index=st.integers(0, 20), answers=st.lists(st.sampled_from(["paid", "failed", None]), min_size=3, max_size=3))
    def answer(self, index, answers):
        if self.batches:
            batch = self.batches[index % len(self.batches)]
            if batch.status != "settled":
                # the bank answers the lines still pending (a line it answered before is not answered again)
                pending = {ln.household_id for ln in batch.lines if ln.status == "pending"}
                answer = {h.id: answers[i] for i, h in enumerate(self.households) if h.id in pending}
                if any(answer.values()):
                    _export_and_answer(batch, answer, now=self._tick())
                else:  # a file answering no line is refused (bank_file_no_lines): the batch is only exported
                    payouts.export_batch(batch, actor=None, now=self._tick())

    @invariant()
    def paid_plus_payable_is_the_ledger(self):
        from shop.extensions import db

        for h in self.households:
            f = _figures(h)
            assert f["paid_fen"] + f["payable_fen"] == f["credited_fen"] == _ledger_fen(h)
            paid_lines = db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(PayoutLine.amount_fen), 0)).where(
                    PayoutLine.household_id == h.id, PayoutLine.status == "paid"
                )
            )
            assert paid_lines == f["paid_fen"]
        live = db.session.scalars(sa.select(PayoutItem.entry_id).where(~PayoutItem.released)).all()
        assert len(live) == len(set(live))

    @invariant()
    def the_payables_are_the_entries_no_live_item_holds(self):
        """What a batch reads (`payables`) is exactly what is unpaid: every writer's entries (sales,
        records, purchases at intake, reversals) arrive there, batches take them, failed lines give them back."""
        assert _payables() == _unheld_entries()
        from shop.extensions import db

        # every item names a ledger entry (payout_items.entry_id has no foreign key: items are written from
        # payables rows, whose key is checked)
        assert not db.session.scalars(
            sa.select(PayoutItem.entry_id).where(PayoutItem.entry_id.not_in(sa.select(IncomeEntry.id)))
        ).all()

    @invariant()
    def every_sale_is_households_commission_collective_and_purchased_units(self):
        """Per sale: sale value = household kinds + commission + collective (+ the units bought at intake,
        whose household was credited then), to the fen; the household part is the ledger's."""
        from shop.extensions import db

        parts = ("sale_fen", "household_fen", "commission_fen", "collective_fen", "purchased_fen")
        for line in self.lines:
            sums = db.session.execute(
                sa.select(*(sa.func.coalesce(sa.func.sum(getattr(SaleFigure, p)), 0) for p in parts)).where(
                    SaleFigure.order_line_id == line.id
                )
            ).one()
            sale, household, commission, collective, purchased = (int(v) for v in sums)
            assert sale == household + commission + collective + purchased == self.sold[line.id]
            ledger = db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(IncomeEntry.amount_fen), 0)).where(
                    IncomeEntry.order_line_id == line.id
                )
            )
            assert household == ledger
            if not line.benefit_split:
                assert household == 0
            if self.sold[line.id] == line.line_total_fen:  # nothing given back yet
                assert purchased == self.bought[line.id]
                assert commission == apply_bps(sale - purchased, line.commission_bps)
        county = reports.sale_figures("station")["total"]
        everything = db.session.execute(
            sa.select(*(sa.func.coalesce(sa.func.sum(getattr(SaleFigure, p)), 0) for p in parts))
        ).one()
        assert [county[p] for p in parts] == [int(v) for v in everything]
        from_sales = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(IncomeEntry.amount_fen), 0)).where(
                IncomeEntry.order_line_id.is_not(None)
            )
        )
        assert county["household_fen"] == from_sales

    @invariant()
    def the_daily_summary_is_the_ledger_grouped(self):
        """income_daily and sale_daily (kept by the ledger, read by the county reports) = a GROUP BY over the
        entries and figures, at every commit (the steps run in one transaction: apply what it wrote, as
        a report does)."""
        from ledger.models import IncomeDaily
        from ledger.summaries import apply_pending
        from shop.extensions import db

        apply_pending()

        keys = (
            IncomeEntry.entry_date,
            IncomeEntry.household_id,
            sa.func.coalesce(IncomeEntry.village_id, 0),
            sa.func.coalesce(IncomeEntry.station_id, 0),
            sa.func.coalesce(IncomeEntry.category_id, 0),
            IncomeEntry.kind,
            IncomeEntry.benefit_kind,
        )
        grouped = {
            tuple(r[:-2]): (int(r[-2]), int(r[-1]))
            for r in db.session.execute(
                sa.select(*keys, sa.func.sum(IncomeEntry.amount_fen), sa.func.count()).group_by(*keys)
            )
        }
        d = IncomeDaily  # rows, not ORM objects: upserts change them behind the identity map
        daily = {
            tuple(r[:-2]): (int(r[-2]), int(r[-1]))
            for r in db.session.execute(
                sa.select(
                    d.entry_date,
                    d.household_id,
                    d.village_id,
                    d.station_id,
                    d.category_id,
                    d.kind,
                    d.benefit_kind,
                    d.amount_fen,
                    d.entries,
                )
            )
        }
        assert daily == grouped
        from ledger.models import SaleDaily

        parts = ("sale_fen", "household_fen", "commission_fen", "collective_fen", "purchased_fen")
        keys = (
            SaleFigure.entry_date,
            sa.func.coalesce(SaleFigure.village_id, 0),
            sa.func.coalesce(SaleFigure.station_id, 0),
            sa.func.coalesce(SaleFigure.category_id, 0),
        )
        grouped = {
            tuple(r[:4]): tuple(int(v) for v in r[4:])
            for r in db.session.execute(
                sa.select(*keys, *(sa.func.sum(getattr(SaleFigure, p)) for p in parts), sa.func.count()).group_by(*keys)
            )
        }
        s = SaleDaily
        daily = {
            tuple(r[:4]): tuple(int(v) for v in r[4:])
            for r in db.session.execute(
                sa.select(
                    s.entry_date, s.village_id, s.station_id, s.category_id, *(getattr(s, p) for p in parts), s.lines
                )
            )
        }
        assert daily == grouped


def test_paid_plus_payable_equals_the_ledger_through_random_sequences(db, now):
    PayoutMachine.now = now - timedelta(days=200)
    run_state_machine_as_test(
        PayoutMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=15,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


# --- PostgreSQL: two officers at once --------------------------------------------------------------


@requires_postgres
def test_two_officers_creating_batches_at_once_never_include_a_credit_twice(app, committed_db, now):
    village = make_village()
    households = [make_household(village=village) for _ in range(4)]
    for i, h in enumerate(households):
        _account(h, f"62170000000001{i:04d}", now=now)
        _credit([h], 1000 * (i + 1), now=now)
    commit()
    village_id = village.id
    scopes = [{}, {}, {}, {"village_id": village_id}, {"village_id": village_id}, {"days": 10}]
    # another scope's batch may take every credit first: refused (payout_nothing_payable), no empty batch
    race = at_once(app, [lambda scope=scope: _batch(now, **scope) for scope in scopes])
    assert race.errors == []
    created, refused = [result.created for result in race.values], race.refused
    with app.app_context():
        # the first batch pays every credit (one scope covers the others); the same scope again gets that
        # batch, another scope finds nothing left and makes no batch
        batches = committed_db.session.scalars(sa.select(PayoutBatch)).all()
        assert len(batches) == 1 and created.count(True) == 1
        assert refused and set(refused) == {"payout_nothing_payable"} and len(created) + len(refused) == 6
        items = committed_db.session.scalars(sa.select(PayoutItem)).all()
        assert len(items) == 4 == len({i.entry_id for i in items})
        assert committed_db.session.scalar(sa.select(sa.func.sum(PayoutLine.amount_fen))) == 10000
