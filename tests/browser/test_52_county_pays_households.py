"""Journey 52 (#20, money that reaches households): the county officer, new to the job, pays the households
their income. From the county's menu to 收益发放; a household with income but no payment account is listed
first, and its account is registered from there (the form comes back to 收益发放); a batch for this month is
made, its bank file downloaded, and the bank's answer uploaded — the page says what it will do (one line
paid, one refused for a wrong name) and it is applied once confirmed. The batch page says what the refusal
means and leads to the household's account, which comes back to the batch; the household's statement
(明白卡) shows what was paid. Phone and desktop, both languages."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from shop.timeutil import local_date, now_utc
from tests.browser.harness import DEMO
from tests.browser.journeys import confirm_if_asked


def _bank_answer(exported: bytes, *, refuse: str) -> bytes:
    """The bank's result file for the exported batch: every line paid but the one to `refuse`'s account
    holder, refused for a wrong name (户名不符), as the county's bank sends it back."""
    rows = list(load_workbook(io.BytesIO(exported)).active.iter_rows(values_only=True))
    heads = [str(h) for h in rows[0]]
    ref, amount, holder = heads.index("明细编号"), heads.index("金额(元)"), heads.index("户名")
    answer = Workbook()
    sheet = answer.active
    sheet.append(["明细编号", "金额(元)", "状态", "银行流水号", "失败原因"])
    for n, row in enumerate(r for r in rows[1:] if r[ref] and not str(r[ref]).startswith("合计")):
        if row[holder] == refuse:
            sheet.append([row[ref], row[amount], "失败", "", "户名不符"])
        else:
            sheet.append([row[ref], row[amount], "成功", f"BK{n:06d}", ""])
    out = io.BytesIO()
    answer.save(out)
    return out.getvalue()


def _holder_of(exported: bytes, ref: str) -> str:
    """The account holder the bank file names for the line `ref`."""
    rows = list(load_workbook(io.BytesIO(exported)).active.iter_rows(values_only=True))
    heads = [str(h) for h in rows[0]]
    return next(str(r[heads.index("户名")]) for r in rows[1:] if r[heads.index("明细编号")] == ref)


def _batches(live) -> int:
    from ledger.payouts import PayoutBatch

    with live.app_context() as db:
        return db.session.scalar(sa.select(sa.func.count()).select_from(PayoutBatch))


def _line_statuses(live, batch_code: str) -> dict[str, str]:
    from ledger.payouts import PayoutBatch

    with live.app_context() as db:
        batch = db.session.scalar(sa.select(PayoutBatch).where(PayoutBatch.code == batch_code))
        return {str(line.id): str(line.status) for line in batch.lines}


def _household_entries(live, household_id: int) -> list[tuple[str, int]]:
    from ledger.models import IncomeEntry

    with live.app_context() as db:
        rows = db.session.execute(
            sa.select(IncomeEntry.kind, IncomeEntry.amount_fen).where(IncomeEntry.household_id == household_id)
        ).all()
        return [(str(kind), amount) for kind, amount in rows]


def _owed(live, wage_for: int) -> int:
    """Money the county owes for this run of the journey (each variant of it runs on the same demo data): a
    new household in the registry, without a payment account, and a day's wage for it and for `wage_for`
    demo households that have one. Returns the new household's id."""
    from catalog.models import Household, Village
    from county.services import benefits, registry
    from ledger.models import BenefitKind
    from ledger.payouts import PaymentAccount
    from shop.auth.models import User

    now = now_utc()
    with live.app_context() as db:
        officer = db.session.scalar(sa.select(User).where(User.email == DEMO["county"]))
        village = db.session.scalar(sa.select(Village).where(Village.is_demo.is_(True)).order_by(Village.slug))
        serial = db.session.scalar(sa.select(sa.func.count()).select_from(Household)) + 1
        first17 = f"36012119800101{serial:03d}"
        new = registry.create_household(
            registry.HouseholdData(
                village_id=village.id,
                head_name="新登记户",
                registry_no=f"3601219{serial:05d}",
                id_number=first17 + registry.id_check_character(first17),
                phone=f"1370000{serial:04d}",
            ),
            actor=officer,
            now=now,
        )
        paid_to = db.session.scalars(
            sa.select(PaymentAccount.household_id).order_by(PaymentAccount.household_id).limit(wage_for)
        ).all()
        today = local_date(now)
        benefits.record_benefit(
            benefits.RecordData(
                kind=BenefitKind.WAGE,
                period_from=today,
                period_to=today,
                description=f"旅游季节日帮工 {serial}",
                lines=[
                    benefits.RecordLine(household_id=h, member_no=1, units=1, rate_fen=15_000)
                    for h in [new.id, *paid_to]
                ],
            ),
            actor=officer,
            now=now,
        )
        db.session.commit()
        return new.id


def test_the_county_officer_pays_households_and_fixes_a_refused_account(open_page, live_server, tmp_path):
    new_household = _owed(live_server, wage_for=3)
    officer = open_page("county")
    page = officer.page
    main = page.locator("main")
    officer.login(DEMO["county"])

    # from the county's menu, as a new officer finds it
    officer.goto("/county/income")
    officer.submit_and_wait(lambda: main.get_by_role("link", name=officer.t("收益发放"), exact=True).first.click())
    officer.step("payouts, first visit")

    # a household with income and no account is listed first: register its account from there
    waiting = main.locator("#waiting-for-account tbody tr")
    mine = waiting.filter(has=page.locator("td:first-child", has_text=re.compile(rf"^{new_household}$")))
    expect(mine).to_have_count(1)
    waiting_before = waiting.count()
    officer.submit_and_wait(lambda: mine.get_by_role("link", name=officer.t("登记/修改")).click())
    officer.step("account form")
    form = main.locator("form.county-form")
    form.get_by_label(officer.t("账号")).fill("62170")  # a digit short of a card: refused, with the form
    with officer.problems.allow(422, r"/county/households/\d+/account"):
        officer.submit_and_wait(lambda: form.get_by_role("button", name=officer.t("保存")).click())
        expect(main.get_by_role("alert").first).to_contain_text(officer.t("账号须为8到30位数字"))
        officer.step("account number refused")
    form.get_by_label(officer.t("账号")).fill("6217 0000 1111 2222 333")  # as printed on the card
    form.get_by_label(officer.t("开户行")).fill("南昌农商银行")
    officer.submit_and_wait(lambda: form.get_by_role("button", name=officer.t("保存")).click())
    expect(page).to_have_url(re.compile(r"/county/payouts$"))
    expect(main).to_contain_text(officer.t("收款账户已保存"))
    expect(main.locator("#waiting-for-account tbody tr")).to_have_count(waiting_before - 1)
    officer.step("back on payouts, one waiting less")

    # a batch: the period is filled in already (this month to today); each run of the journey names its own
    # start (the same period again would open the batch an earlier run made)
    today = local_date(now_utc())
    make = main.locator("form.county-filter").first
    expect(make.get_by_label(officer.t("从"), exact=True)).to_have_value(today.replace(day=1).isoformat())
    expect(make.get_by_label(officer.t("到"), exact=True)).to_have_value(today.isoformat())
    runs = _batches(live_server)
    make.get_by_label(officer.t("从"), exact=True).fill((today - timedelta(days=1 + runs)).isoformat())
    officer.submit_and_wait(lambda: make.get_by_role("button", name=officer.t("生成发放批次")).click())
    expect(main).to_contain_text(officer.t("发放批次已生成"))
    batch_code = main.locator("h1").inner_text().split()[-1]
    lines = main.locator("#payout-lines tbody tr")
    expect(lines.filter(has=page.locator(f'a[href="/county/households/{new_household}"]'))).to_have_count(1)
    if (
        officer.viewport.is_phone
    ):  # each line a card of labelled fields: amount and status in sight, not off to the right
        wrap = main.locator(".table-wrap", has=page.locator("#payout-lines"))
        assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth"), "the batch's lines scroll sideways on a phone"
        box = lines.first.locator("td[data-fen]").bounding_box()
        assert box is not None and box["x"] + box["width"] <= officer.viewport.width, box
    officer.step("batch made")

    # the bank file: downloaded, sent to the bank, which pays all but one (a wrong name) and answers
    with page.expect_download() as download:
        main.get_by_role("link", name=officer.t("导出银行代发文件 (XLSX)")).click()
    exported = Path(download.value.path()).read_bytes()
    refused_line = lines.first
    holder = _holder_of(exported, refused_line.locator("td").first.inner_text().strip())
    answer = tmp_path / "result.xlsx"
    answer.write_bytes(_bank_answer(exported, refuse=holder))
    main.get_by_label(officer.t("银行回盘文件")).set_input_files(answer)
    officer.submit_and_wait(lambda: main.get_by_role("button", name=officer.t("导入回盘")).click())
    # the answer is checked and said first (how many paid, how many failed and why): nothing is applied yet
    expect(main).to_contain_text("户名不符")
    assert set(_line_statuses(live_server, batch_code).values()) == {"pending"}
    assert confirm_if_asked(officer), "the bank's answer was applied without a confirmation"
    paid = lines.count() - 1
    expect(main).to_contain_text(
        officer.t(
            "回盘已导入：成功 %(paid)s 笔，失败 %(failed)s 笔，未变 %(unchanged)s 笔", paid=paid, failed=1, unchanged=0
        )
    )
    statuses = _line_statuses(live_server, batch_code)
    assert sorted(statuses.values()).count("paid") == paid and list(statuses.values()).count("failed") == 1
    expect(main.locator("#failed-next")).to_be_visible()
    officer.step("bank answer imported, one refused")

    # the refused line leads to the household's account, which comes back to the batch
    failed = main.locator('#payout-lines tbody tr[data-status="failed"]')
    expect(failed).to_contain_text("户名不符")
    officer.submit_and_wait(lambda: failed.get_by_role("link", name=officer.t("修改收款账户")).click())
    form = main.locator("form.county-form")
    form.get_by_label(officer.t("账号")).fill("6230520012345678")
    officer.submit_and_wait(lambda: form.get_by_role("button", name=officer.t("保存")).click())
    expect(page).to_have_url(re.compile(r"/county/payouts/\d+$"))
    officer.step("account fixed, back on the batch")

    # a paid household's statement (明白卡) says what was paid
    paid_line = main.locator('#payout-lines tbody tr[data-status="paid"]').first
    officer.submit_and_wait(lambda: paid_line.get_by_role("link").first.click())
    household_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    officer.submit_and_wait(lambda: main.get_by_role("link", name=officer.t("收入明细")).click())
    figures = main.locator("#payout-figures")
    expect(figures).to_contain_text(officer.t("已发放"))
    paid_fen = int(figures.locator("strong").get_attribute("data-fen") or 0)
    assert paid_fen > 0 and paid_fen == sum(amount for _kind, amount in _household_entries(live_server, household_id))
    officer.step("a paid household's statement")
