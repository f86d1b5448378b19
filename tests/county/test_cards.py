"""The household statement (明白卡): every figure equals the ledger's for that household and month."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa
from openpyxl import Workbook

from county.services import cards, payouts
from ledger.models import IncomeEntry
from ledger.payouts import PayoutLine
from ledger.services import credit_line, reverse_line
from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.county.benefit_entries import other_kinds
from tests.county.conftest import SECRET_NAME
from tests.county.factories import make_line, make_order
from tests.factories import make_household, make_station, make_village

ACCOUNT = "6217991234567890123"


def _pay_everything(household, *, now):
    payouts.set_account(household, kind="bank_card", number=ACCOUNT, actor=None, now=now)
    today = (now + timedelta(hours=8)).date()
    batch = payouts.create_batch(period_from=today.replace(day=1), period_to=today, actor=None, now=now).batch
    payouts.export_batch(batch, actor=None, now=now)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["明细编号", "金额(元)", "状态", "银行流水号"])
    for line in batch.lines:
        sheet.append([payouts.line_ref(batch, line), line.amount_fen / 100, "成功", "BK77"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    payouts.import_result(batch, buffer, actor=None, now=now)


def _entries(db, household, month_start, month_end):
    return db.session.scalars(
        sa.select(IncomeEntry).where(
            IncomeEntry.household_id == household.id,
            IncomeEntry.entry_date >= month_start,
            IncomeEntry.entry_date <= month_end,
        )
    ).all()


def test_card_figures_equal_the_ledger_for_the_household_and_month(db, world, now):
    other_kinds(world)
    a, b, _c = world["households"]
    _pay_everything(a, now=now)
    # a reversal after payment, and a credit of the next month: neither changes November's credits
    reverse_line(world["lines"][0], now=now + timedelta(days=3), amount_fen=1001, ref="refund:9")
    card = cards.household_card(a, "2026-11")
    entries = _entries(db, a, card.date_from, card.date_to)
    credits = [e for e in entries if e.kind != "reversal"]
    assert card.credited_fen == sum(e.amount_fen for e in credits)
    assert card.reversed_fen == sum(e.amount_fen for e in entries if e.kind == "reversal")
    assert card.net_fen == sum(e.amount_fen for e in entries)
    for k in card.kinds:
        assert k["total_fen"] == sum(e.amount_fen for e in credits if e.benefit_kind == k["kind"])
    assert {k["kind"] for k in card.kinds} == {e.benefit_kind for e in credits}
    paid = db.session.scalar(
        sa.select(sa.func.sum(PayoutLine.amount_fen)).where(
            PayoutLine.household_id == a.id, PayoutLine.status == "paid"
        )
    )
    assert card.paid_in_month_fen == paid == card.total_paid_fen
    assert card.total_credited_fen == sum(e.amount_fen for e in entries)  # nothing before November
    assert card.outstanding_fen == card.total_credited_fen - card.total_paid_fen == 0
    december = cards.household_card(a, "2026-12")
    assert december.reversed_fen < 0 and december.credited_fen == 0 and december.paid_in_month_fen == 0
    assert december.outstanding_fen == december.reversed_fen  # the reversal after payment waits, negative
    assert december.total_credited_fen == december.total_paid_fen + december.outstanding_fen


def test_card_pages_print_a_household_and_a_whole_village_masked(client, auth, county_user, world, db, now):
    a, b, c = world["households"]
    _pay_everything(a, now=now)
    commit()
    auth.login(county_user)
    html = client.get(f"/county/households/{a.id}/card?month=2026-11").get_data(as_text=True)
    assert SECRET_NAME not in html and ACCOUNT not in html and "欧***" in html
    assert "**** 0123" in html and "*****" not in html  # the account paid, short (a phone's card fits it)
    assert "村干部签字" in html and "农户签字" in html and "BK77" in html
    net = sum(e.amount_fen for e in _entries(db, a, *cards.parse_month("2026-11")))
    assert f'class="card-net" data-fen="{net}"' in html
    village = world["villages"][0]
    html = client.get(f"/county/cards?village_id={village.id}&month=2026-11").get_data(as_text=True)
    assert sorted(int(h) for h in re.findall(r'data-household="(\d+)"', html)) == sorted([a.id, b.id])
    assert client.get(f"/county/households/{a.id}/card?month=2026-13").status_code == 422
    assert client.get("/county/cards?village_id=999999&month=2026-11").status_code == 404
    assert client.get(f"/county/households/{a.id}/card").status_code == 200  # this month by default


def test_the_cards_open_on_this_month_where_the_money_just_credited_is(client, auth, county_user, db):
    """With no month asked, a household's card and its village's cards show this month (Beijing time), keeping
    a month that is asked: they opened on last month, empty while the money (fresh demo data too) was in this
    one. The village cards' month on the payouts page is this month as well."""
    now = now_utc()
    village = make_village(name="黄马村")
    household = make_household(village=village, head_name="胡冬生")
    order, shipment = make_order(station=make_station(village=village))
    credit_line(make_line(order=order, shipment=shipment, households=[household], unit_price_fen=1234), now=now)
    commit()
    month = f"{local_date(now):%Y-%m}"
    net = sum(e.amount_fen for e in _entries(db, household, *cards.parse_month(month)))
    assert net > 0
    auth.login(county_user)
    for url in (f"/county/households/{household.id}/card", f"/county/cards?village_id={village.id}"):
        html = client.get(url).get_data(as_text=True)
        assert f'name="month" value="{month}"' in html and f'class="card-net" data-fen="{net}"' in html, url
    asked = client.get(f"/county/households/{household.id}/card?month=2026-10").get_data(as_text=True)
    assert 'name="month" value="2026-10"' in asked and 'class="card-net" data-fen="0"' in asked
    refused = client.get(f"/county/households/{household.id}/card?month=2026-13")
    assert refused.status_code == 422 and f'name="month" value="{month}"' in refused.get_data(as_text=True)
    payouts_page = client.get("/county/payouts").get_data(as_text=True)
    village_form = payouts_page[payouts_page.index('action="/county/cards"') :]
    assert f'value="{month}"></label>' in village_form[: village_form.index("</form>")]


def test_a_month_to_come_has_no_card_this_months_is_shown_with_the_reason(client, auth, county_user, world, db):
    """A card of a month not begun (typed into the URL: the picker ends at this month) would print figures up
    to that month's end and lines to sign: the household's and its village's pages show this month's cards
    instead, with the reason, 422 — as for a month typed wrong."""
    a = world["households"][0]
    village = world["villages"][0]
    this_month = f"{local_date(now_utc()):%Y-%m}"
    year, month = (int(part) for part in this_month.split("-"))
    next_month = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    auth.login(county_user)
    for url in (f"/county/households/{a.id}/card", f"/county/cards?village_id={village.id}"):
        for to_come in (next_month, "2099-12"):
            response = client.get(f"{url}{'&' if '?' in url else '?'}month={to_come}")
            html = response.get_data(as_text=True)
            assert response.status_code == 422, (url, to_come)
            assert f"{to_come} 还没有到，没有这个月的明白卡；已显示本月的明白卡" in html
            assert f"收益明白卡 · {this_month}" in html and f"收益明白卡 · {to_come}" not in html
            assert f'name="month" value="{this_month}" required min="2000-01" max="{this_month}"' in html
        assert client.get(f"{url}{'&' if '?' in url else '?'}month={this_month}").status_code == 200
    english = client.get(f"/county/households/{a.id}/card?month=2099-12&lang=en").get_data(as_text=True)
    assert "2099-12 has not come yet" in english


def test_this_months_card_says_its_figures_run_to_today_not_to_the_months_end(client, auth, county_user, world, db):
    """The cards open on this month, printed and signed mid-month: 四 said 截至月底 of a month not over. This
    month's card says 截至今天 with the date; a past month's still says 截至月底."""
    a = world["households"][0]
    village = world["villages"][0]
    today = local_date(now_utc())
    auth.login(county_user)
    for url in (f"/county/households/{a.id}/card", f"/county/cards?village_id={village.id}"):
        html = client.get(url).get_data(as_text=True)
        assert f"<h3>四、截至今天（{today.isoformat()}）</h3>" in html and "截至月底" not in html, url
    past = client.get(f"/county/households/{a.id}/card?month=2026-10").get_data(as_text=True)
    assert "<h3>四、截至月底</h3>" in past and "截至今天" not in past
    english = client.get(f"/county/households/{a.id}/card?lang=en").get_data(as_text=True)
    assert f"<h3>4. Up to today ({today.isoformat()})</h3>" in english


def test_a_card_without_reversals_still_numbers_its_sections_one_to_four(client, auth, county_user, world, db):
    """A month with no refund showed 一, 三, 四: the printed card read as if a part were missing."""
    a = world["households"][0]
    auth.login(county_user)
    html = client.get(f"/county/households/{a.id}/card?month=2026-10").get_data(as_text=True)
    card = html[html.index('<article class="mingbai-card"') : html.index("</article>")]
    heads = re.findall(r"<h3>(.)、", card)
    assert heads == ["一", "二", "三", "四"] and "本月没有冲减。" in card
    english = client.get(f"/county/households/{a.id}/card?month=2026-10&lang=en").get_data(as_text=True)
    assert "Nothing taken back this month." in english


def test_the_card_in_english_has_no_chinese_punctuation(client, auth, county_user, world, db, now):
    """The 明白卡 read in English: labels end in ': ' and the closing sentence uses ', ' and '.' (the
    full-width '：', '，' and '。' were written into the template outside the catalogue)."""
    a = world["households"][0]
    _pay_everything(a, now=now)
    commit()
    auth.login(county_user)
    client.get("/?lang=en")
    html = client.get(f"/county/households/{a.id}/card?month=2026-11").get_data(as_text=True)
    card = html[html.index('<article class="mingbai-card"') : html.index("</article>")]
    assert "Village cadre's signature: " in card or "Village cadre&#39;s signature: " in card
    for mark in ("：", "，", "。"):
        assert mark not in card, mark
    client.get("/?lang=zh_CN")
    html = client.get(f"/county/households/{a.id}/card?month=2026-11").get_data(as_text=True)
    assert "村干部签字：" in html and "尚待发放" in html


def test_a_card_says_an_overpayment_as_such_not_a_negative_amount_still_to_pay(
    client, auth, county_user, world, db, now
):
    """A refund after the household was paid leaves it credited less than it was paid: the card read
    「尚待发放 -¥10.01」, a negative sum still to pay, to a household that signs the card. It now says the
    household was paid that much more and that it is taken from its later credits."""
    a = world["households"][0]
    _pay_everything(a, now=now)
    reverse_line(world["lines"][0], now=now + timedelta(days=3), amount_fen=1001, ref="refund:9")
    commit()
    december = cards.household_card(a, "2026-12")
    assert december.outstanding_fen < 0
    auth.login(county_user)
    html = client.get(f"/county/households/{a.id}/card?month=2026-12").get_data(as_text=True)
    over = -december.outstanding_fen
    assert f'data-fen="{december.outstanding_fen}">¥{over // 100}.{over % 100:02d}</strong>' in html
    assert "已多发" in html and "将从以后的收益中扣除" in html and "尚待发放" not in html
    english = client.get(f"/county/households/{a.id}/card?month=2026-12&lang=en").get_data(as_text=True)
    assert "overpaid" in english and "still to pay" not in english
    november = client.get(f"/county/households/{a.id}/card?month=2026-11&lang=zh_CN").get_data(as_text=True)
    assert "尚待发放" in november and "已多发" not in november


def test_the_household_page_says_an_overpayment_too(client, auth, county_user, world, db, now):
    """The household's page read 待发放 -¥10.01 after a refund reversed a credit already paid out."""
    a = world["households"][0]
    _pay_everything(a, now=now)
    reverse_line(world["lines"][0], now=now + timedelta(days=3), amount_fen=1001, ref="refund:9")
    commit()
    auth.login(county_user)
    html = client.get(f"/county/households/{a.id}").get_data(as_text=True)
    row = html[html.index('id="payable-fen"') :].split("</dd>")[0]
    assert "多发" in html and "-¥" not in row and "将从以后的收益中扣除" in row


def test_a_months_card_counts_what_was_paid_by_its_end_not_what_was_paid_since(
    client, auth, county_user, world, db, now
):
    """November's money was paid on 3 December. November's card said, under 四、截至月底, that it was paid
    (其中已发放 the whole month, 尚待发放 ¥0.00) beside 本月没有发放 — the card changed after it was signed, and
    its payments did not add up to its paid total. It now counts what the bank paid by the month's end; the
    payment is December's, on December's card."""
    a = world["households"][0]
    november = sum(e.amount_fen for e in _entries(db, a, *cards.parse_month("2026-11")))
    _pay_everything(a, now=now + timedelta(days=5))  # 3 December, Beijing time
    commit()
    auth.login(county_user)
    html = client.get(f"/county/households/{a.id}/card?month=2026-11").get_data(as_text=True)
    assert "本月没有发放" in html
    assert 'class="card-paid" data-fen="0"' in html
    assert f'class="card-outstanding" data-fen="{november}"' in html
    html = client.get(f"/county/households/{a.id}/card?month=2026-12").get_data(as_text=True)
    assert "BK77" in html and f'class="card-paid" data-fen="{november}"' in html
    assert 'class="card-outstanding" data-fen="0"' in html
