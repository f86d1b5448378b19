"""Payout pages and API (issue #20): accounts masked everywhere but the bank file, audited reveals and
exports, the bank's result file through the page and the API, the statement's paid and payable."""

from __future__ import annotations

import io
import logging
import re
from html import unescape

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from county.services.payouts import household_payout_figures
from ledger.models import IncomeEntry
from ledger.payouts import PayoutBatch
from ledger.services import reverse_line
from shop.audit import AuditEntry
from shop.db import commit
from tests.factories import make_user

ACCOUNT_A = "6217991234567890123"
ACCOUNT_B = "6230520012345678"
PERIOD = {"period_from": "2026-11-01", "period_to": "2026-11-28"}


def _result(rows) -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["明细编号", "金额(元)", "状态", "银行流水号", "失败原因"])
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def _upload(client, batch_id: int, rows):
    """The officer's first POST: the bank's answer uploaded on the batch's page."""
    return client.post(
        f"/county/payouts/{batch_id}/result",
        data={"file": (_result(rows), "result.xlsx")},
        content_type="multipart/form-data",
    )


def _confirmation(client, asked) -> tuple[str, dict[str, str]]:
    """The page the upload was sent to (a 303 to GET /confirm/<token>, shop.confirm) and its form's fields."""
    assert asked.status_code == 303, asked.status_code
    assert asked.headers["Location"].startswith("/confirm/"), asked.headers["Location"]
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    form = page[page.index('<section class="card confirm-step">') :]
    fields = {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
        if name != "csrf_token"
    }
    assert fields["confirm"] == "1"
    return page, fields


def _import(client, batch_id: int, rows):
    """Upload the bank's answer and confirm what it will do, as the officer does."""
    _page, fields = _confirmation(client, _upload(client, batch_id, rows))
    return client.post(f"/county/payouts/{batch_id}/result", data=fields)


def _results_applied(db) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "payout.result")
    )


def _statuses(db, batch) -> dict[int, tuple[str, str, str]]:
    db.session.expire_all()
    return {ln.id: (ln.status, ln.bank_ref, ln.failure_reason) for ln in db.session.get(PayoutBatch, batch.id).lines}


def _set_accounts(client, auth, county_user, world):
    auth.login(county_user)
    a, b, _c = world["households"]
    for household, number in ((a, ACCOUNT_A), (b, ACCOUNT_B)):
        response = client.post(
            f"/county/households/{household.id}/account",
            data={"kind": "bank_card", "number": number, "bank_name": "南昌农商银行"},
        )
        assert response.status_code == 302


def _bank_pays_a_and_refuses_the_rest(client, batch) -> None:
    """Export the batch and import the bank's answer to it: ACCOUNT_A's line paid (BK1), every other line
    refused for a wrong name (户名不符)."""
    bank = load_workbook(io.BytesIO(client.get(f"/county/payouts/{batch.id}/export.xlsx").data)).active
    rows = list(bank.iter_rows(min_row=2, values_only=True))[:-1]
    answers = [
        (r[1], r[6], "成功", "BK1", "") if r[3] == ACCOUNT_A else (r[1], r[6], "失败", "", "户名不符") for r in rows
    ]
    assert _import(client, batch.id, answers).status_code == 302


def test_account_form_refuses_bad_numbers_and_the_page_shows_only_the_last_four_digits(
    client, auth, county_user, world, db
):
    auth.login(county_user)
    a = world["households"][0]
    response = client.post(f"/county/households/{a.id}/account", data={"kind": "bank_card", "number": "12-34"})
    assert response.status_code == 422 and "账号须为8到30位数字" in response.get_data(as_text=True)
    _set_accounts(client, auth, county_user, world)
    html = client.get(f"/county/households/{a.id}").get_data(as_text=True)
    assert ACCOUNT_A not in html and '<span id="account-number">**** 0123</span>' in html
    before = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "payment_account.reveal")
    )
    html = client.post(f"/county/households/{a.id}/account/reveal").get_data(as_text=True)
    assert f'id="revealed-account_number">{ACCOUNT_A}<' in html
    reveals = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "payment_account.reveal")).all()
    assert len(reveals) == before + 1 and reveals[-1].actor_id == county_user.id


def test_an_account_number_typed_in_full_width_digits_goes_to_the_bank_in_ascii(client, auth, county_user, world, db):
    """An input method left in full-width mode types ６２１７…: the number was stored so and sent to the bank
    file as the bank cannot read it; digits of another script were taken too (\\d)."""
    auth.login(county_user)
    a = world["households"][0]
    url = f"/county/households/{a.id}/account"
    refused = client.post(url, data={"kind": "bank_card", "number": "٦٢١٧٩٩١٢٣٤٥٦٧٨٩٠"})
    assert refused.status_code == 422 and "账号须为8到30位数字" in refused.get_data(as_text=True)
    saved = client.post(url, data={"kind": "bank_card", "number": "６２１７　９９１２　３４５６　７８９０　１２３"})
    assert saved.status_code == 302
    batch_url = client.post("/county/payouts", data={**PERIOD, "village_id": str(a.village_id)}).headers["Location"]
    bank = load_workbook(io.BytesIO(client.get(f"{batch_url}/export.xlsx").data)).active
    numbers = [r[3] for r in bank.iter_rows(min_row=2, values_only=True)][:-1]
    assert numbers == [ACCOUNT_A]


def test_batch_page_flow_export_and_result(client, auth, county_user, world, db, caplog):
    caplog.set_level(logging.DEBUG)
    _set_accounts(client, auth, county_user, world)
    response = client.post("/county/payouts", data=PERIOD)
    assert response.status_code == 302
    batch = db.session.scalar(sa.select(PayoutBatch))
    html = client.get(f"/county/payouts/{batch.id}").get_data(as_text=True)
    assert ACCOUNT_A not in html and ACCOUNT_B not in html
    # short, as a banking app shows a card: a star per hidden digit pushed the amounts off a phone's screen
    assert "**** 0123" in html and "**** 5678" in html and "*****" not in html
    assert batch.skipped_no_account == 1  # household c has income but no account
    # each village of the batch prints all its statements (明白卡) at once, for the batch's month
    village = world["villages"][0]
    month = f"{batch.period_to:%Y-%m}"
    assert f'href="/county/cards?village_id={village.id}&amp;month={month}"' in html
    cards = client.get(f"/county/cards?village_id={village.id}&month={month}").get_data(as_text=True)
    assert ACCOUNT_A not in cards and 'class="card-who"' in cards
    # the same period again opens the same batch
    assert client.post("/county/payouts", data=PERIOD).headers["Location"].endswith(f"/county/payouts/{batch.id}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutBatch)) == 1
    bank = load_workbook(io.BytesIO(client.get(f"/county/payouts/{batch.id}/export.xlsx").data)).active
    rows = list(bank.iter_rows(min_row=2, values_only=True))[:-1]
    assert {r[3] for r in rows} == {ACCOUNT_A, ACCOUNT_B}
    answers = [
        (r[1], r[6], "成功" if r[3] == ACCOUNT_A else "失败", "BK1" if r[3] == ACCOUNT_A else "", "户名不符")
        for r in rows
    ]
    response = _import(client, batch.id, answers)
    assert response.status_code == 302
    html = client.get(f"/county/payouts/{batch.id}").get_data(as_text=True)
    assert 'data-status="paid"' in html and 'data-status="failed"' in html and "户名不符" in html
    assert ACCOUNT_A not in caplog.text and ACCOUNT_B not in caplog.text
    bad = client.post(
        f"/county/payouts/{batch.id}/result",
        data={"file": (io.BytesIO(b"nope"), "x.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "无法读取回盘文件" in bad.get_data(as_text=True)


def test_a_failed_line_says_what_to_do_next_and_the_account_fixed_from_it_is_paid_in_a_new_period(
    client, auth, county_user, world, db
):
    """The bank refused a line: the settled batch said nothing of what to do, and the same period asked
    again only opened it. The page says the money is payable again and how to retry, the failed line links
    to the household's account form, which comes back to the batch; a new period pays it."""
    _set_accounts(client, auth, county_user, world)
    batch_url = client.post("/county/payouts", data=PERIOD).headers["Location"]
    batch = db.session.scalar(sa.select(PayoutBatch))
    _bank_pays_a_and_refuses_the_rest(client, batch)
    b = world["households"][1]
    html = client.get(batch_url).get_data(as_text=True)
    assert 'id="failed-next"' in html and "1 笔发放失败，收益已退回待发放" in html
    account_link = f"/county/households/{b.id}/account?next=/county/payouts/{batch.id}"
    assert f'href="{account_link}"' in html
    english = client.get(f"{batch_url}?lang=en").get_data(as_text=True)
    assert "1 line failed" in english and "Change the payment account" in english
    client.get("/?lang=zh_CN")
    fixed = client.post(account_link, data={"kind": "bank_card", "number": "6217000011112222333"})
    assert fixed.status_code == 302 and fixed.headers["Location"].endswith(f"/county/payouts/{batch.id}")
    again = client.post("/county/payouts", data={**PERIOD, "period_from": "2026-11-02"})
    retry = db.session.get(PayoutBatch, int(again.headers["Location"].rsplit("/", 1)[1]))
    assert retry.id != batch.id and [ln.household_id for ln in retry.lines] == [b.id]


def _proposed_period(client) -> dict[str, str]:
    """The period 收益发放's form proposes, as the officer finds it."""
    html = client.get("/county/payouts").get_data(as_text=True)
    return {
        name: re.search(rf'name="{name}" required[^>]*value="([^"]*)"', html).group(1)
        for name in ("period_from", "period_to")
    }


def test_after_a_failed_line_the_proposed_period_makes_the_next_batch_the_same_day(
    client, auth, county_user, world, db
):
    """The officer made this month's batch with the period 收益发放 proposed and the bank refused a line;
    the batch page sends them back to 收益发放 to make a batch for a new period. The form proposed the same
    period again, so 生成发放批次 only reopened the batch (该期间已有发放批次) and the failed line's money
    could not be paid that day. It now proposes a period no county-wide batch has, which pays it."""
    _set_accounts(client, auth, county_user, world)
    first = client.post("/county/payouts", data=_proposed_period(client))
    batch = db.session.get(PayoutBatch, int(first.headers["Location"].rsplit("/", 1)[1]))
    _bank_pays_a_and_refuses_the_rest(client, batch)
    proposed = _proposed_period(client)
    assert (proposed["period_from"], proposed["period_to"]) != (str(batch.period_from), str(batch.period_to))
    again = client.post("/county/payouts", data=proposed)
    retry = db.session.get(PayoutBatch, int(again.headers["Location"].rsplit("/", 1)[1]))
    assert retry.id != batch.id and [ln.household_id for ln in retry.lines] == [world["households"][1].id]
    assert _proposed_period(client)["period_from"] not in (str(batch.period_from), str(retry.period_from))


def test_counts_of_households_read_as_english_plurals(client, auth, county_user, world, db):
    """「1 户」 read "1 households" in English on the batch, the village's cards and the income totals."""
    _set_accounts(client, auth, county_user, world)
    batch_url = client.post("/county/payouts", data={**PERIOD, "village_id": str(world["villages"][0].id)}).headers[
        "Location"
    ]
    one = world["villages"][1]  # 罗渡村: household c only
    client.get("/?lang=en")
    assert "· 2 households" in client.get(batch_url).get_data(as_text=True)
    cards = client.get(f"/county/cards?village_id={one.id}&month=2026-11").get_data(as_text=True)
    assert "· 1 household<" in cards and "1 households" not in cards
    income = client.get("/county/income?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert "· 3 households ·" in income and "entries" in income
    client.get("/?lang=zh_CN")
    assert "· 1 户<" in client.get(f"/county/cards?village_id={one.id}&month=2026-11").get_data(as_text=True)


def test_payout_api_masks_accounts_audits_exports_and_imports_results_once(
    client, auth, api_token, county_user, world, db
):
    headers = api_token(county_user)
    _set_accounts(client, auth, county_user, world)
    body = client.post("/api/v1/county/payouts", json=PERIOD, headers=headers).json
    assert body["created"] is True and len(body["lines"]) == 2
    assert ACCOUNT_A not in str(body) and {ln["account_number"] for ln in body["lines"]} == {"**** 0123", "**** 5678"}
    again = client.post("/api/v1/county/payouts", json=PERIOD, headers=headers).json
    assert again["created"] is False and again["id"] == body["id"]
    assert (
        client.post("/api/v1/county/payouts", json={**PERIOD, "period_to": "2026-10-01"}, headers=headers).status_code
        == 422
    )
    export = client.get(f"/api/v1/county/payouts/{body['id']}/export.xlsx", headers=headers)
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "payout.export")
        )
        == 1
    )
    rows = [(ln["ref"], ln["amount_fen"] / 100, "成功", f"BK{ln['id']}", "") for ln in body["lines"]]
    for expected in ({"paid": 2, "failed": 0, "unchanged": 0}, {"paid": 0, "failed": 0, "unchanged": 2}):
        answer = client.post(
            f"/api/v1/county/payouts/{body['id']}/result",
            headers=headers,
            data={"file": (_result(rows), "result.xlsx")},
            content_type="multipart/form-data",
        )
        assert answer.status_code == 200 and answer.json == expected
    assert (
        client.post(
            f"/api/v1/county/payouts/{body['id']}/result", headers=headers, data={}, content_type="multipart/form-data"
        ).status_code
        == 422
    )
    batch = client.get(f"/api/v1/county/payouts/{body['id']}", headers=headers).json
    assert batch["status"] == "settled" and batch["paid_fen"] == batch["total_fen"]
    a = world["households"][0]
    statement = client.get(f"/api/v1/county/households/{a.id}/statement", headers=headers).json
    paid_a = next(ln["amount_fen"] for ln in body["lines"] if ln["household_id"] == a.id)
    assert statement["paid_fen"] == paid_a and statement["payable_fen"] == statement["closing_fen"] - paid_a == 0
    # the account numbers are in no county page, API answer or county export but the bank file
    auth.login(county_user)
    for path in (
        "/county/income?group_by=household&format=csv",
        f"/county/households/{a.id}/statement?format=csv",
        "/county/households?format=csv",
        f"/county/payouts/{body['id']}",
        "/county/payouts",
        f"/county/households/{a.id}",
    ):
        assert ACCOUNT_A not in client.get(path).get_data(as_text=True), path
    spec = client.get("/api/v1/openapi.json").json
    assert (
        "multipart/form-data"
        in spec["paths"]["/api/v1/county/payouts/{batch_id}/result"]["post"]["requestBody"]["content"]
    )


def test_statement_for_a_range_says_paid_payable_and_in_batch_and_each_entry_kind(
    client, auth, api_token, county_user, world, db
):
    """`GET /county/households/{id}/statement?from=&to=`: paid_fen + payable_fen = what was credited up to
    `to` (closing_fen), in_batch_fen the part of payable in a batch the bank has not answered; entries
    carry their kind and source."""
    headers = api_token(county_user)
    _set_accounts(client, auth, county_user, world)
    a, b, _c = world["households"]
    entries = {
        h.id: db.session.scalars(sa.select(IncomeEntry).where(IncomeEntry.household_id == h.id)).all() for h in (a, b)
    }

    def statement(household, query="from=2026-11-01&to=2026-11-30"):
        return client.get(f"/api/v1/county/households/{household.id}/statement?{query}", headers=headers).json

    before = statement(b)
    assert {(e["kind"], e["source"]) for e in before["entries"]} == {(x.benefit_kind, x.kind) for x in entries[b.id]}
    assert (before["paid_fen"], before["in_batch_fen"]) == (0, 0)
    assert before["payable_fen"] == before["closing_fen"] == sum(x.amount_fen for x in entries[b.id]) > 0
    body = client.post("/api/v1/county/payouts", json=PERIOD, headers=headers).json
    lines = {ln["household_id"]: ln for ln in body["lines"]}
    pending = statement(b)
    assert (pending["paid_fen"], pending["in_batch_fen"], pending["payable_fen"]) == (
        0,
        lines[b.id]["amount_fen"],
        before["payable_fen"],
    )
    assert client.get(f"/api/v1/county/payouts/{body['id']}/export.xlsx", headers=headers).status_code == 200
    rows = [
        (lines[a.id]["ref"], lines[a.id]["amount_fen"] / 100, "成功", "BK1", ""),
        (lines[b.id]["ref"], lines[b.id]["amount_fen"] / 100, "失败", "", "账户已冻结"),
    ]
    answer = client.post(
        f"/api/v1/county/payouts/{body['id']}/result",
        headers=headers,
        data={"file": (_result(rows), "result.xlsx")},
        content_type="multipart/form-data",
    )
    assert answer.json == {"paid": 1, "failed": 1, "unchanged": 0}
    paid, failed = statement(a), statement(b)
    assert (paid["paid_fen"], paid["payable_fen"], paid["in_batch_fen"]) == (lines[a.id]["amount_fen"], 0, 0)
    assert (failed["paid_fen"], failed["payable_fen"], failed["in_batch_fen"]) == (0, before["payable_fen"], 0)
    # a range ending before the credits (the world's are of 2026-11-28): nothing credited, paid or payable
    earlier = statement(a, "from=2026-11-01&to=2026-11-27")
    assert (earlier["entries"], earlier["closing_fen"], earlier["paid_fen"], earlier["payable_fen"]) == ([], 0, 0, 0)


def test_a_period_with_nothing_payable_makes_no_batch_and_says_why_then_pays_once_accounts_exist(
    client, auth, api_token, county_user, world, db
):
    """No household of the period has an account: the page and the API make no (empty) batch and say how
    many households wait for one (zh_CN and en); once the accounts are registered, the same period is a
    real batch."""
    headers = api_token(county_user)
    auth.login(county_user)
    response = client.post("/county/payouts", data=PERIOD)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "未生成发放批次" in html and "3 户有待发放的收益" in html and "登记收款账户" in html
    refused = client.post("/api/v1/county/payouts", json=PERIOD, headers=headers)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "payout_no_account"
    assert refused.json["error"]["fields"] == {"skipped_no_account": "3"}
    client.get("/?lang=en")
    english = client.post("/county/payouts", data=PERIOD).get_data(as_text=True)
    assert "no payout batch was made" in english and "3 households" in english
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutBatch)) == 0
    _set_accounts(client, auth, county_user, world)
    body = client.post("/api/v1/county/payouts", json=PERIOD, headers=headers).json
    assert body["created"] is True and len(body["lines"]) == 2 and body["skipped_no_account"] == 1
    assert body["total_fen"] == sum(
        db.session.scalar(sa.select(sa.func.sum(IncomeEntry.amount_fen)).where(IncomeEntry.household_id == h.id))
        for h in world["households"][:2]
    )


def test_a_refused_period_comes_back_with_the_dates_and_village_typed(client, auth, county_user, world):
    """The officer typed a period (and chose a village) and was refused: the form shows them again to
    correct, instead of empty fields to fill in from the start."""
    auth.login(county_user)
    village = world["villages"][1]
    form = {"period_from": "2026-11-28", "period_to": "2026-11-01", "village_id": str(village.id)}
    response = client.post("/county/payouts", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "开始日期晚于结束日期" in html
    assert 'name="period_from" required' in html and 'value="2026-11-28"' in html and 'value="2026-11-01"' in html
    assert f'<option value="{village.id}" selected>' in html
    response = client.post("/county/payouts", data=PERIOD)  # nothing payable without accounts (409)
    assert response.status_code == 409 and 'value="2026-11-28"' in response.get_data(as_text=True)


def test_a_period_ending_before_the_money_was_credited_says_so_instead_of_nothing_to_pay(
    client, auth, api_token, county_user, world, db
):
    """November's wages recorded on 6 December are dated 6 December: a batch for November found nothing
    and said only that, beside households the pages show money waiting for. It says the money was
    credited after the period's end and how to include it (zh_CN, en, the API's code)."""
    headers = api_token(county_user)
    _set_accounts(client, auth, county_user, world)
    october = {"period_from": "2026-10-01", "period_to": "2026-10-31"}
    response = client.post("/county/payouts", data=october)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "未生成发放批次" in html
    assert "3 户有 2026-10-31 以后入账的待发放收益" in html and "把结束日期选到今天" in html
    english = client.post("/county/payouts?lang=en", data=october).get_data(as_text=True)
    assert "3 households have money credited after 2026-10-31" in english
    refused = client.post("/api/v1/county/payouts", json=october, headers=headers)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "payout_credited_later"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutBatch)) == 0


def test_the_payouts_page_lists_the_households_waiting_for_a_payment_account(client, auth, county_user, world):
    """「3 户有待发放的收益，但还没有登记收款账户」 named no household: the officer had to search the registry
    for them. The page lists each (masked) with its payable and a link to its account form; a household
    with an account is not listed."""
    a, b, c = world["households"]
    auth.login(county_user)
    html = client.get("/county/payouts").get_data(as_text=True)
    assert 'id="waiting-for-account"' in html
    for household in (a, b, c):
        assert f'href="/county/households/{household.id}/account?next=/county/payouts"' in html
    assert "李**" in html and "李大山" not in html
    english = client.get("/county/payouts?lang=en").get_data(as_text=True)
    assert "Waiting for a payment account" in english
    client.get("/county/payouts?lang=zh_CN")
    _set_accounts(client, auth, county_user, world)  # a and b
    html = client.get("/county/payouts").get_data(as_text=True)
    assert f'href="/county/households/{c.id}/account?next=/county/payouts"' in html
    assert f'href="/county/households/{a.id}/account' not in html
    assert f'href="/county/households/{b.id}/account' not in html
    # saved from the list, the account form goes back to it (a next off the site is not followed)
    account = {"kind": "bank_card", "number": ACCOUNT_A, "bank_name": "南昌农商银行"}
    saved = client.post(f"/county/households/{c.id}/account?next=%2Fcounty%2Fpayouts", data=account)
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/county/payouts")
    saved = client.post(f"/county/households/{c.id}/account?next=//evil.example/x", data=account)
    assert saved.headers["Location"].endswith(f"/county/households/{c.id}")


def test_a_result_file_without_a_line_of_the_batch_is_refused_not_imported_as_nothing(
    client, auth, county_user, world, db
):
    """The headings alone (an empty sheet, the wrong sheet saved first) were "回盘已导入：成功 0 笔，失败 0 笔"
    in green, as if the bank's result had been read; the batch stayed unsettled with no word why."""
    _set_accounts(client, auth, county_user, world)
    batch_url = client.post("/county/payouts", data=PERIOD).headers["Location"]
    client.get(f"{batch_url}/export.xlsx")
    for lang, said in (("zh_CN", "回盘文件里没有本批次的明细行，未做任何更改"), ("en", "has no line of this batch")):
        client.get(f"/?lang={lang}")
        response = client.post(
            f"{batch_url}/result",
            data={"file": (_result([]), "result.xlsx")},
            content_type="multipart/form-data",
            follow_redirects=True,
        )
        html = response.get_data(as_text=True)
        assert said in html and "回盘已导入" not in html and "Result imported" not in html
    assert all(line.status == "pending" for line in db.session.scalar(sa.select(PayoutBatch)).lines)


def test_a_refused_result_file_lists_its_rows_in_the_readers_language(client, auth, county_user, world, db):
    """Each wrong row of the bank's file is named; in English they were joined by a full-width "；"."""
    _set_accounts(client, auth, county_user, world)
    batch_url = client.post("/county/payouts", data=PERIOD).headers["Location"]
    client.get(f"{batch_url}/export.xlsx")
    client.get("/?lang=en")
    rows = [("NO-SUCH-1", "", "成功", "BK1", ""), ("NO-SUCH-2", "", "成功", "BK2", "")]
    html = client.post(
        f"{batch_url}/result",
        data={"file": (_result(rows), "result.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "NO-SUCH-1" in html and "NO-SUCH-2" in html and "；" not in html


def test_the_statement_page_says_what_was_paid_and_what_is_still_owed(client, auth, county_user, world, db):
    """收入明细 said what was credited, not what the county had paid of it: an officer answering a household's
    question had to read the API. It now says paid and still to pay, as the API does, up to the range's end."""
    _set_accounts(client, auth, county_user, world)
    a, b, _c = world["households"]
    credited = {
        h.id: db.session.scalar(sa.select(sa.func.sum(IncomeEntry.amount_fen)).where(IncomeEntry.household_id == h.id))
        for h in (a, b)
    }
    client.post("/county/payouts", data=PERIOD)
    batch = db.session.scalar(sa.select(PayoutBatch))
    in_batch = client.get(f"/county/households/{a.id}/statement").get_data(as_text=True)
    assert re.search(rf'id="payout-figures">.*data-fen="0".*data-fen="{credited[a.id]}"', in_batch)
    assert "其中发放中" in in_batch
    _bank_pays_a_and_refuses_the_rest(client, batch)
    paid = client.get(f"/county/households/{a.id}/statement").get_data(as_text=True)
    assert re.search(rf'id="payout-figures">.*<strong data-fen="{credited[a.id]}">.*data-fen="0"', paid)
    assert "其中发放中" not in paid
    refused = client.get(f"/county/households/{b.id}/statement?lang=en").get_data(as_text=True)
    assert re.search(
        rf'id="payout-figures">Paid <strong data-fen="0">.*To pay <span data-fen="{credited[b.id]}"', refused
    )


def test_the_bank_answer_to_another_batch_is_refused_naming_that_batch(client, auth, county_user, world, db):
    """The officer uploaded the bank's answer to one batch on another batch's page: the refusal listed every
    row as 「明细编号 … 不属于本批次」 and said nothing of what to do. It now says whose answer the file is and
    to import it on that batch's page (zh_CN, en); nothing changes."""
    _set_accounts(client, auth, county_user, world)
    client.post(
        f"/county/households/{world['households'][2].id}/account", data={"kind": "bank_card", "number": ACCOUNT_B}
    )
    first_village, second_village = world["villages"]
    first = client.post("/county/payouts", data={**PERIOD, "village_id": str(first_village.id)})
    second = client.post("/county/payouts", data={**PERIOD, "village_id": str(second_village.id)})
    one, other = (db.session.get(PayoutBatch, int(r.headers["Location"].rsplit("/", 1)[1])) for r in (first, second))
    for batch in (one, other):
        client.get(f"/county/payouts/{batch.id}/export.xlsx")
    answer = [(f"{one.code}-{line.id}", line.amount_fen / 100, "成功", "BK9", "") for line in one.lines]
    assert answer

    def upload(lang):
        client.get(f"/?lang={lang}")
        return client.post(
            f"/county/payouts/{other.id}/result",
            data={"file": (_result(answer), "result.xlsx")},
            content_type="multipart/form-data",
            follow_redirects=True,
        ).get_data(as_text=True)

    html = upload("zh_CN")
    assert f"这是发放批次 {one.code} 的回盘文件" in html and "不属于本批次" not in html
    assert f"This is the result file of payout batch {one.code}" in upload("en")
    assert {ln.status for ln in one.lines} == {"pending"} and {ln.status for ln in other.lines} == {"pending"}


def test_a_wrong_amount_in_the_bank_answer_names_both_amounts(client, auth, county_user, world, db):
    """A result row whose amount is not its line's was refused as 「金额与明细不符」: which amount the line
    has, and what to check, the officer had to find out. The refusal names both (zh_CN, en)."""
    _set_accounts(client, auth, county_user, world)
    client.post("/county/payouts", data=PERIOD)
    batch = db.session.scalar(sa.select(PayoutBatch))
    client.get(f"/county/payouts/{batch.id}/export.xlsx")
    line = batch.lines[0]
    want = f"¥{line.amount_fen // 100:,}.{line.amount_fen % 100:02d}"

    def upload(lang):
        client.get(f"/?lang={lang}")
        return client.post(
            f"/county/payouts/{batch.id}/result",
            data={"file": (_result([(f"{batch.code}-{line.id}", "1.23", "成功", "BK1", "")]), "result.xlsx")},
            content_type="multipart/form-data",
            follow_redirects=True,
        ).get_data(as_text=True)

    assert f"第2行：金额 1.23 与明细金额 {want} 不符" in upload("zh_CN")
    assert f"Row 2: the amount 1.23 is not the line&#39;s {want}" in upload("en")
    assert line.status == "pending"


def test_a_too_long_holder_or_branch_says_how_long_it_may_be(client, auth, county_user, world):
    """户名过长 / 开户行名称过长 said what was wrong but not how long a name may be, nor what to write. The
    refusal names the limit and what belongs in the field (zh_CN, en); nothing is saved."""
    auth.login(county_user)
    a = world["households"][0]
    form = {"kind": "bank_card", "number": ACCOUNT_A, "holder_name": "张" * 41, "bank_name": "农" * 61}

    def save(lang):
        client.get(f"/?lang={lang}")
        response = client.post(f"/county/households/{a.id}/account", data=form)
        assert response.status_code == 422
        return response.get_data(as_text=True)

    html = save("zh_CN")
    assert "户名最多 40 个字，请按银行卡上的户名填写" in html and "开户行最多 60 个字，请只填银行和支行名称" in html
    english = save("en")
    assert "at most 40 characters" in english and "at most 60 characters" in english
    assert ACCOUNT_A not in html


def test_a_refused_account_comes_back_with_the_holder_and_branch_typed_but_not_the_number(
    client, auth, county_user, world
):
    """An officer on a phone typed the card's 户名 and 开户行, one digit too few: the refusal kept the type and
    the branch but emptied 户名, to be typed again. Everything typed comes back but the card number, which is in
    no page (docs/MONEY.md)."""
    auth.login(county_user)
    a = world["households"][0]
    typed = {"kind": "bank_card", "number": "6217 991", "holder_name": "欧阳晓燕", "bank_name": "南昌农商银行莲塘支行"}
    response = client.post(f"/county/households/{a.id}/account", data=typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "账号须为8到30位数字" in html
    assert 'name="holder_name" maxlength="40" value="欧阳晓燕"' in html
    assert 'value="南昌农商银行莲塘支行"' in html and '<option value="bank_card" selected>' in html
    assert "6217 991" not in html and 'name="number" inputmode="numeric" maxlength="40" required>' in html


def test_a_refund_after_the_batch_took_the_credit_is_said_beside_the_batch_part(
    client, auth, county_user, world, db, now
):
    """A sale's credit went into a batch the bank had not answered yet, then a refund reversed part of it: the
    household's page said 待发放 ¥X「其中 ¥Y 已在发放批次中」 with Y larger than X, a part larger than its whole.
    It now says the batch's part and the refund to be deducted from later income (household page and
    statement, zh_CN and en); payable = in the batch − the refund still."""
    _set_accounts(client, auth, county_user, world)
    client.post("/county/payouts", data=PERIOD)
    a = world["households"][0]
    reverse_line(world["lines"][0], now=now, amount_fen=1500, ref="refund:after-batch")
    commit()
    figures = household_payout_figures(a.id)
    in_batch, payable = figures["in_batch_fen"], figures["payable_fen"]
    assert in_batch > payable >= 0 and figures["deducted_later_fen"] == in_batch - payable

    def yuan(fen):
        return f"¥{fen // 100:,}.{fen % 100:02d}"

    page = client.get(f"/county/households/{a.id}").get_data(as_text=True)
    assert f"{yuan(in_batch)} 已在发放批次中，发放后有退款冲销 {yuan(in_batch - payable)}" in page
    assert f"其中 {yuan(in_batch)} 已在发放批次中" not in page
    statement = client.get(f"/county/households/{a.id}/statement").get_data(as_text=True)
    assert f"发放中 {yuan(in_batch)}，退款冲销 {yuan(in_batch - payable)} 将从以后的收益中扣除" in statement
    client.get("/?lang=en")
    english = client.get(f"/county/households/{a.id}").get_data(as_text=True)
    assert f"{yuan(in_batch)} is in a payout batch; a refund of {yuan(in_batch - payable)}" in english


def test_a_second_post_of_the_same_period_says_when_its_batch_was_made(client, auth, county_user, world, db):
    """A double tap on 生成发放批次 (or another officer's batch of the period): the second POST opens the batch
    made by the first and says when it was made, not 该期间已有发放批次 as if it were an old one; one batch."""
    from shop.filters import local_dt

    _set_accounts(client, auth, county_user, world)
    first = client.post("/county/payouts", data=PERIOD, follow_redirects=True).get_data(as_text=True)
    assert "发放批次已生成" in first
    second = client.post("/county/payouts", data=PERIOD)
    batch = db.session.scalars(sa.select(PayoutBatch)).one()
    assert second.headers["Location"].endswith(f"/county/payouts/{batch.id}")
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert f"该期间的发放批次已于 {local_dt(batch.created_at)} 生成，已为您打开" in page
    assert "该期间已有发放批次" not in page


def _exported_batch(client, auth, county_user, world, db) -> tuple[PayoutBatch, list]:
    """A county batch of two lines (households a and b), exported: the bank file's rows."""
    _set_accounts(client, auth, county_user, world)
    client.post("/county/payouts", data=PERIOD)
    batch = db.session.scalar(sa.select(PayoutBatch))
    bank = load_workbook(io.BytesIO(client.get(f"/county/payouts/{batch.id}/export.xlsx").data)).active
    rows = list(bank.iter_rows(min_row=2, values_only=True))[:-1]
    assert len(rows) == 2
    return batch, rows


def test_the_bank_answer_says_what_it_will_do_and_is_applied_once_when_confirmed(client, auth, county_user, world, db):
    """Uploading the bank's answer marked households paid or failed at once. The upload now only says what the
    answer will do — the batch, the lines paid and failed with their sums, each failure's reason — and changes
    nothing; the confirmation applies it, once: confirmed again (a double tap, Back) nothing happens twice."""
    batch, rows = _exported_batch(client, auth, county_user, world, db)
    paid_row, failed_row = sorted(rows, key=lambda r: r[3] != ACCOUNT_A)
    answers = [(paid_row[1], paid_row[6], "成功", "BK1", ""), (failed_row[1], failed_row[6], "失败", "", "户名不符")]
    amount = {r[3]: f"¥{float(r[6]):,.2f}" for r in rows}
    households = [h.id for h in world["households"][:2]]
    before, figures = _statuses(db, batch), [household_payout_figures(h) for h in households]
    page, fields = _confirmation(client, _upload(client, batch.id, answers))
    assert f"确认导入发放批次 {batch.code} 的银行回盘？" in page
    assert f"批次 {batch.code}：2026-11-01 至 2026-11-28 · 全县" in page
    assert f"成功 1 笔，共 {amount[ACCOUNT_A]}：记为已发放" in page
    assert f"失败 1 笔，共 {amount[ACCOUNT_B]}：记为失败，这些收益退回待发放" in page
    assert f"失败原因「户名不符」：1 笔，共 {amount[ACCOUNT_B]}" in page
    assert "导入后本批次没有待发放的明细，批次完成" in page
    assert fields.keys() == {"upload", "digest", "confirm"}
    # the preview changed nothing: every line pending, no result recorded, the household's money as it was
    assert _statuses(db, batch) == before and {s for s, _r, _f in before.values()} == {"pending"}
    assert _results_applied(db) == 0
    assert [household_payout_figures(h) for h in households] == figures
    # confirmed: applied
    done = client.post(f"/county/payouts/{batch.id}/result", data=fields, follow_redirects=True)
    assert "回盘已导入：成功 1 笔，失败 1 笔，未变 0 笔" in done.get_data(as_text=True)
    applied = _statuses(db, batch)
    assert sorted(applied.values()) == [("failed", "", "户名不符"), ("paid", "BK1", "")]
    assert _results_applied(db) == 1
    # confirmed again (a double tap, Back and confirm): told so, nothing twice
    again = client.post(f"/county/payouts/{batch.id}/result", data=fields, follow_redirects=True)
    assert again.status_code == 200 and "这份回盘已经导入，没有重复导入" in again.get_data(as_text=True)
    assert _statuses(db, batch) == applied and _results_applied(db) == 1
    # the same answer uploaded again has nothing to apply: said at once, no confirmation
    same = _upload(client, batch.id, answers)
    assert same.status_code == 302 and same.headers["Location"].endswith(f"/county/payouts/{batch.id}")
    assert "没有需要导入的变更" in client.get(same.headers["Location"]).get_data(as_text=True)
    # a file the import refuses is refused at the upload, never confirmed first
    bad = _upload(client, batch.id, [(paid_row[1], "1.23", "成功", "BK1", "")])
    assert bad.status_code == 302 and not bad.headers["Location"].startswith("/confirm/")
    assert _statuses(db, batch) == applied and _results_applied(db) == 1


def test_what_the_confirmation_applies_is_the_file_kept_on_the_server_never_what_the_browser_sends(
    client, auth, county_user, world, db
):
    """The confirmed POST carries the kept file's token and digest: a changed digest, a token nobody was given,
    another officer's token or another batch's refuse it; nothing changes."""
    batch, rows = _exported_batch(client, auth, county_user, world, db)
    answers = [(r[1], r[6], "成功", f"BK{i}", "") for i, r in enumerate(rows)]
    _page, fields = _confirmation(client, _upload(client, batch.id, answers))
    url = f"/county/payouts/{batch.id}/result"

    def refused(data, said):
        response = client.post(url, data=data, follow_redirects=True)
        assert said in response.get_data(as_text=True)
        assert {s for s, _r, _f in _statuses(db, batch).values()} == {"pending"} and _results_applied(db) == 0

    refused({**fields, "digest": "0" * 64}, "回盘文件与确认页所示的不一致，未做任何更改")
    refused({**fields, "upload": "x" * 43}, "确认页已过期，或上传的回盘文件已不在，未做任何更改")
    refused({k: v for k, v in fields.items() if k != "upload"}, "确认页已过期")
    # a file sent with the confirmation is not what is applied
    refused({**fields, "upload": "", "file": (_result(answers), "result.xlsx")}, "确认页已过期")
    other = make_user(role="county")
    commit()
    auth.login(other)
    refused(fields, "确认页已过期")
    auth.login(county_user)
    assert client.post(url, data=fields).status_code == 302  # the asker's own confirmation applies it
    assert {s for s, _r, _f in _statuses(db, batch).values()} == {"paid"} and _results_applied(db) == 1


def test_a_batch_changed_between_the_preview_and_the_confirmation_is_refused(client, auth, county_user, world, db):
    """The officer read what the bank's answer would do; before they confirmed, another answer was imported
    on the batch (a colleague, another tab). What they read is no longer what it would do: the confirmation
    is refused with the reason, nothing changes, and uploading it again says what it does now."""
    batch, rows = _exported_batch(client, auth, county_user, world, db)
    whole = [(r[1], r[6], "成功", f"BK{i}", "") for i, r in enumerate(rows)]
    _page, fields = _confirmation(client, _upload(client, batch.id, whole))
    assert _import(client, batch.id, whole[:1]).status_code == 302  # one line paid meanwhile
    meanwhile = _statuses(db, batch)
    response = client.post(f"/county/payouts/{batch.id}/result", data=fields, follow_redirects=True)
    assert f"发放批次 {batch.code} 在您确认之前已有变动" in response.get_data(as_text=True)
    assert _statuses(db, batch) == meanwhile and _results_applied(db) == 1
    page, _fields = _confirmation(client, _upload(client, batch.id, whole))
    assert "成功 1 笔" in page and "与已记录一致 1 笔：不作更改" in page


def test_a_batchs_village_buttons_name_the_township_of_villages_of_one_name(client, auth, county_user, world, db):
    """Two townships each have a 柳溪村 in the batch: its buttons to print each village's cards both read
    柳溪村. Each names its township."""
    here, there = world["villages"]
    there.name = "柳溪村"
    commit()
    _set_accounts(client, auth, county_user, world)
    client.post(
        f"/county/households/{world['households'][2].id}/account", data={"kind": "bank_card", "number": ACCOUNT_B}
    )
    html = client.get(client.post("/county/payouts", data=PERIOD).headers["Location"]).get_data(as_text=True)
    for village in (here, there):
        assert re.search(rf'data-village="{village.id}" href="[^"]*">{village.township.name} · 柳溪村</a>', html), html
    cards = client.get(f"/county/cards?village_id={there.id}&month=2026-11").get_data(as_text=True)
    assert f"{there.township.name} · 柳溪村 · " in cards


def test_the_households_waiting_for_an_account_name_the_township_of_a_village_another_shares(
    client, auth, county_user, world, db
):
    """The list to pick a household from for its payment account named its village 柳溪村 alone, though
    another township has a 柳溪村 too; it names the township now (`catalog.services.village_labels`), and a
    village no other township's shares stays named alone. Heads stay masked."""
    from tests.factories import make_township, make_village

    a, b, c = world["households"]
    here = a.village.township.name
    make_village(name="柳溪村", township=make_township(name="别镇"))
    commit()
    auth.login(county_user)
    html = unescape(client.get("/county/payouts").get_data(as_text=True))
    rows = dict(re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td>", html))
    assert rows[str(a.id)] == rows[str(b.id)] == f"{here} · 柳溪村"
    assert rows[str(c.id)] == "罗渡村"
    assert "王**" in html and "王小明" not in html and "李大山" not in html
