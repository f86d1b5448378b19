"""Journey 56: a household's statement (明白卡) read on a phone after the bank paid it. The line 三、本月发放到账
names the account as its masked number (stars and the last four digits, one unbreakable word): the table grew
wider than the card and the amount paid stood past the card's right edge. The card's cells now break such a
word, so the whole line — date, account, bank reference, amount — stays inside the card. In English the
headings of 一、本月入账 (Kind of income, From (product or stay)…) did not wrap either, and last month's card
scrolled sideways; every table of the card, this month's and last month's, in both languages, now fits.
On the way there the office's links are thumb-sized: the overview's counts, the batches, a batch's households."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from playwright.sync_api import expect

from shop.timeutil import local_date, now_utc
from tests.browser.harness import DEMO, VIEWPORTS


def _a_paid_batch(live) -> tuple[int, int]:
    """A batch for one demo village whose every line the bank paid (each run names its own period); returns
    the batch and a household paid this month."""
    from catalog.models import Household
    from county.services import payouts
    from ledger.payouts import PaymentAccount, PayoutBatch
    from shop.auth.models import User

    now = now_utc()
    today = local_date(now)
    with live.app_context() as db:
        officer = db.session.scalar(sa.select(User).where(User.email == DEMO["county"]))
        village_id = db.session.scalar(
            sa.select(Household.village_id)
            .join(PaymentAccount, PaymentAccount.household_id == Household.id)
            .order_by(Household.id)
            .limit(1)
        )
        runs = db.session.scalar(sa.select(sa.func.count()).select_from(PayoutBatch))
        made = payouts.create_batch(
            period_from=today - timedelta(days=100 + runs),
            period_to=today,
            village_id=village_id,
            actor=officer,
            now=now,
        )
        batch = made.batch
        payouts.export_batch(batch, actor=officer, now=now)
        answer = Workbook()
        answer.active.append(["明细编号", "金额(元)", "状态", "银行流水号"])
        for n, line in enumerate(batch.lines):
            answer.active.append(
                [payouts.line_ref(batch, line), f"{line.amount_fen / 100:.2f}", "成功", f"BK55{n:04d}"]
            )
        body = io.BytesIO()
        answer.save(body)
        body.seek(0)
        payouts.import_result(batch, body, actor=officer, now=now)
        db.session.commit()
        return batch.id, batch.lines[0].household_id


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_the_amount_paid_stays_inside_the_card_on_a_phone(open_page, live_server, viewport):
    batch, household = _a_paid_batch(live_server)
    officer = open_page("county")
    page = officer.page
    officer.login(DEMO["county"])
    # on the way, the office's links are thumb-sized: the overview's counts (待认定产品 0 was a digit wide),
    # the batches' codes and a batch's households (a masked name, 16 px high)
    for path, links in (
        ("/county/", "main .county-cards .big a"),
        ("/county/payouts", "main #batches tbody a"),
        (f"/county/payouts/{batch}", "main #payout-lines tbody td:nth-child(2) a"),
    ):
        officer.goto(path)
        found = page.locator(links)
        assert found.count() >= 1, path
        for box in (found.nth(i).bounding_box() for i in range(found.count())):
            assert box and box["width"] >= 40 and box["height"] >= 40, (path, box)
    officer.goto(f"/county/households/{household}/card")
    card = page.locator("article.mingbai-card")
    paid = card.locator("td[data-fen]").last  # the last table is 三、本月发放到账
    expect(paid).to_be_visible()
    officer.step("the statement with this month's payment")
    card_box, paid_box = card.bounding_box(), paid.bounding_box()
    assert card_box and paid_box
    assert paid_box["x"] + paid_box["width"] <= card_box["x"] + card_box["width"], (paid_box, card_box)

    this_month = local_date(now_utc()).replace(day=1)
    last_month = f"{this_month - timedelta(days=1):%Y-%m}"
    for lang in ("en", "zh_CN"):
        for month in (f"{this_month:%Y-%m}", last_month):
            # the reader switches language (the harness checks each page against the test's own language)
            officer.goto(f"/county/households/{household}/card?month={month}&lang={lang}", check=lang == "zh_CN")
            card_box = card.bounding_box()
            assert card_box
            for table in card.locator("table").all():
                box = table.bounding_box()
                assert box and box["x"] + box["width"] <= card_box["x"] + card_box["width"], (lang, month, box)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (lang, month)
    officer.step("last month's card, back in Chinese")
