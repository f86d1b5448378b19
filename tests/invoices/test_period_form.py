"""The period invoice form starts with what the shop knows: an organisation's buyer who follows its statement
of a period to 申请本期发票 finds the organisation chosen, its name as the title, its credit code as the tax
number and the period's dates from the link (`invoices.services.invoices.period_organisation_id`,
`suggested_period_details`); a link naming an organisation the reader has no rights in tells nothing of it."""

from __future__ import annotations

import html
import re

from shop.db import commit
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.institutions.factories import make_organisation


def _value(page: str, name: str) -> str:
    match = re.search(rf'<input id="[^"]+"(?: type="date")? name="{name}"[^>]*value="([^"]*)"', page)
    assert match, name
    return html.unescape(match.group(1))


def _chosen(page: str) -> str:
    select = page.split('<select id="inv-org" name="organisation_id">', 1)[1].split("</select>", 1)[0]
    chosen = re.findall(r'<option value="(\d*)" selected>', select)
    return chosen[0] if chosen else ""


def test_the_statements_link_starts_the_period_form_with_the_organisation_and_the_period(client, db, auth):
    buyer, stranger = make_user(), make_user()
    organisation = make_organisation(name="南昌县莲塘第一小学", members={"buyer": buyer, "approver": None})
    other = make_organisation(name="另一单位", members={"approver": None})
    commit()
    auth.login(buyer)
    statement = client.get(f"/organisations/{organisation.id}/statement?from=2026-09-01&to=2026-09-30")
    link = re.search(r'<a id="statement-invoice" href="([^"]+)">申请本期发票</a>', statement.get_data(as_text=True))
    assert link, "the statement of a period links its invoice request"
    page = client.get(html.unescape(link.group(1))).get_data(as_text=True)
    assert _chosen(page) == str(organisation.id)
    assert _value(page, "title") == "南昌县莲塘第一小学"
    assert _value(page, "tax_number") == organisation.credit_code
    assert (_value(page, "from"), _value(page, "to")) == ("2026-09-01", "2026-09-30")

    # reached from 我的发票 (no link's choices): the buyer's own orders, nothing of the organisation
    page = client.get("/invoices/period").get_data(as_text=True)
    assert _chosen(page) == "" and _value(page, "title") == "" and _value(page, "tax_number") == ""

    # someone with no rights in the organisation the link names: their own orders, its name untold
    auth.logout()
    auth.login(stranger)
    page = client.get(f"/invoices/period?organisation_id={other.id}&from=2026-09-01&to=x").get_data(as_text=True)
    assert _chosen(page) == "" and "另一单位" not in page and _value(page, "from") == "2026-09-01"
    assert _value(page, "to") == local_date(now_utc()).isoformat()  # the default: "x" is no date


def test_this_months_statement_asks_its_invoice_up_to_today_and_a_later_end_is_said_as_such(client, db, auth):
    """本月's statement runs to the month's end, after today; an invoice covers what is paid, so up to today: its
    申请本期发票 starts the form at today (it started at the month's end, which the form refused with
    请选择正确的开票期间 and no word of why). A period all to come links no invoice; an end typed after today
    is said as that."""
    from datetime import timedelta

    buyer = make_user()
    organisation = make_organisation(members={"buyer": buyer, "approver": None})
    commit()
    auth.login(buyer)
    today = local_date(now_utc())
    first = today.replace(day=1)
    month_end = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    statement = client.get(f"/organisations/{organisation.id}/statement?from={first}&to={month_end}")
    link = re.search(r'<a id="statement-invoice" href="([^"]+)">申请本期发票</a>', statement.get_data(as_text=True))
    assert link
    page = client.get(html.unescape(link.group(1))).get_data(as_text=True)
    assert (_value(page, "from"), _value(page, "to")) == (first.isoformat(), today.isoformat())

    later = today + timedelta(days=40)
    statement = client.get(f"/organisations/{organisation.id}/statement?from={later}&to={later + timedelta(days=3)}")
    assert statement.status_code == 200 and 'id="statement-invoice"' not in statement.get_data(as_text=True)

    form = {"organisation_id": str(organisation.id), "from": first.isoformat(), "to": month_end.isoformat()}
    form |= {"kind": "ordinary", "title": organisation.name}
    page = client.post("/invoices/period", data={**form, "form_token": new_form_token()}).get_data(as_text=True)
    if month_end > today:  # not on a month's last day
        assert f"开票期间的截止日期不能晚于今天（{today.isoformat()}）" in page
    form |= {"to": later.isoformat(), "form_token": new_form_token()}
    page = client.post("/invoices/period", data=form).get_data(as_text=True)
    assert f"开票期间的截止日期不能晚于今天（{today.isoformat()}）" in page and "请选择正确的开票期间" not in page
