"""The cash-book pages' forms, the same for every till (a station's /station/cash, a host's /host/cash):
the daily close and a remittance or correction, each asked first, written once, said, and back to the
till's page (for the admin at a station, that station's); a refused close or move answers the till's
page with what was typed."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from orders.models import CashClose, CashEntry
from shop.db import commit
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.factories import make_station, make_user
from tests.once_token import once_token
from tourism.models import HostCashClose, HostCashEntry


@pytest.fixture(params=["station", "admin", "host"])
def till(request, db):
    """Who keeps the till, where its page is, its rows — and the query its page's links carry."""
    if request.param == "host":
        return SimpleNamespace(
            keeper=make_user(role="host"), page="/host/cash", entry=HostCashEntry, close=HostCashClose, args={}
        )
    station = make_station()
    keeper = make_user(role="admin") if request.param == "admin" else make_user(role="operator", station=station)
    args = {"station": [station.code]} if request.param == "admin" else {}
    return SimpleNamespace(keeper=keeper, page="/station/cash", entry=CashEntry, close=CashClose, args=args)


def _post(client, till, what: str, data: dict):
    query = f"?station={till.args['station'][0]}" if till.args else ""
    return client.post(f"{till.page}/{what}{query}", data=data)


def _back(res, till, status: int = 302) -> dict:
    """The redirect's query, after checking it goes back to the till's own page."""
    assert res.status_code == status, res.status_code
    where = urlsplit(res.headers["Location"])
    assert where.path == till.page
    query = parse_qs(where.query)
    assert {k: v for k, v in query.items() if k != "date"} == till.args
    return query


def _kept(res, till, counted: str) -> str:
    """A refused close: the till's page itself (422), not a redirect to an empty form — the count typed is
    in the close's box again. Returns the page."""
    assert res.status_code == 422, res.status_code
    html = res.get_data(as_text=True)
    form = html.split(f'action="{till.page}/close', 1)[1].split("</form>", 1)[0]
    assert f'name="counted" required maxlength="16" inputmode="decimal" autocomplete="off" value="{counted}"' in form
    return html


def _move_kept(res, amount: str, reason: str, status: int = 422) -> str:
    """A refused remittance or correction: the till's page itself (422 for the form, the refusal's own
    status for the book's: 409 for more than the cash in hand), the amount and the reason typed
    in their boxes again, and a valid once-token to send it with. Returns the page."""
    assert res.status_code == status, res.status_code
    html = res.get_data(as_text=True)
    form = (
        html.split('name="amount"', 1)[0].rsplit("<form", 1)[1] + html.split('name="amount"', 1)[1].split("</form>")[0]
    )
    assert f'autocomplete="off" value="{amount}"' in form
    assert f'name="reason" maxlength="200" value="{reason}"' in form
    token = once_token(form)
    assert len(token) >= 16
    return html


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_move_is_written_once_and_said(db, client, auth, till):
    commit()
    auth.login(till.keeper)
    token = new_form_token()
    move = {"confirm": "1", "kind": "correction", "amount": "1.50", "reason": "找到", "form_token": token}
    res = _post(client, till, "entries", move)
    assert "date" not in _back(res, till)
    assert "已记入现金账" in client.get(res.headers["Location"]).get_data(as_text=True)
    again = _post(client, till, "entries", move)  # the same form twice: one entry, told so (not an error)
    assert "date" not in _back(again, till, status=303)
    said = client.get(again.headers["Location"]).get_data(as_text=True)
    assert '<div class="alert alert-info" role="status">此表单已提交过，没有重复创建' in said
    remit = {"confirm": "1", "kind": "remittance", "amount": "1", "form_token": new_form_token()}
    _back(_post(client, till, "entries", remit), till)
    assert [e.amount_fen for e in db.session.scalars(sa.select(till.entry).order_by(till.entry.id))] == [150, -100]


def test_the_days_money_out_reads_as_a_sum_out_not_a_negative_figure(db, client, auth, till):
    """当日支出 is the day's money out as a positive sum (a remittance of ¥30.00 reads ¥30.00, not -¥30.00);
    the entries below keep their signs and 账面应有 is opening + in − out."""
    commit()
    auth.login(till.keeper)
    move = {"confirm": "1", "kind": "correction", "amount": "50", "reason": "找到", "form_token": new_form_token()}
    _back(_post(client, till, "entries", move), till)
    remit = {"confirm": "1", "kind": "remittance", "amount": "30", "form_token": new_form_token()}
    _back(_post(client, till, "entries", remit), till)
    query = f"?station={till.args['station'][0]}" if till.args else ""
    page = client.get(f"{till.page}{query}").get_data(as_text=True)
    facts = page.split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]
    assert "<dt>当日收入</dt><dd>¥50.00</dd>" in facts
    assert "<dt>当日支出</dt><dd>¥30.00</dd>" in facts
    assert '<dd id="expected">¥20.00</dd>' in facts


def test_a_close_is_said_and_goes_back_to_its_day(db, client, auth, till):
    commit()
    auth.login(till.keeper)
    day = local_date(now_utc()).isoformat()
    res = _post(client, till, "close", {"confirm": "1", "day": day, "counted": "0"})
    assert _back(res, till)["date"] == [day]
    assert f"{day} 已日结" in client.get(res.headers["Location"]).get_data(as_text=True)
    assert _count(db, till.close) == 1


@pytest.mark.parametrize("what", ["close", "entries"])
def test_an_unreadable_amount_is_said_and_writes_nothing(db, client, auth, till, what):
    commit()
    auth.login(till.keeper)
    day = local_date(now_utc()).isoformat()
    if what == "close":
        data = {"day": day, "counted": "十块"}
    else:
        data = {"kind": "correction", "amount": "十块", "reason": "找到", "form_token": new_form_token()}
    for confirm in ({}, {"confirm": "1"}):  # no confirmation page for it, and refused after one
        res = _post(client, till, what, {**data, **confirm})
        if what == "close":  # the page of its day, the count as typed
            page = _kept(res, till, "十块")
            assert f'name="day" value="{day}"' in page
        else:  # today's page, the amount and reason as typed
            page = _move_kept(res, "十块", "找到")
        assert "请输入正确的金额，例如 12.50" in page
    assert _count(db, till.entry) == 0 and _count(db, till.close) == 0


@pytest.mark.parametrize("what", ["close", "entries"])
def test_a_refused_form_is_said_and_writes_nothing(db, client, auth, till, what):
    commit()
    auth.login(till.keeper)
    data = {"counted": "1"} if what == "close" else {"kind": "correction", "amount": "1", "reason": "找到"}
    res = _post(client, till, what, {"confirm": "1", **data})  # no day / no form token: an expired page
    if what == "close":
        page = _kept(res, till, "1")  # today's page, the count as typed
    else:  # today's page, what was typed, and a fresh token to send it with
        page = _move_kept(res, "1", "找到")
    assert ("请填写此项" if what == "close" else "表单已过期，请刷新页面后重新提交") in page
    assert _count(db, till.entry) == 0 and _count(db, till.close) == 0


def test_a_refused_field_is_named(db, client, auth, till):
    """Each refused field's message names the field, on every till (the host's page said only 请填写此项)."""
    commit()
    auth.login(till.keeper)
    res = _post(client, till, "entries", {"kind": "correction", "amount": "", "form_token": new_form_token()})
    assert "金额（元，更正可为负数）：请填写此项" in _move_kept(res, "", "")
    assert _count(db, till.entry) == 0


def test_a_move_the_book_refuses_keeps_what_was_typed_and_can_be_sent_again(db, client, auth, till):
    """A remittance of more than the cash in hand is refused before its confirmation, the amount and the
    reason kept; corrected and sent with the token the page carries, it is written."""
    commit()
    auth.login(till.keeper)
    data = {"kind": "remittance", "amount": "500", "reason": "交县里", "form_token": new_form_token()}
    page = _move_kept(_post(client, till, "entries", data), "500", "交县里", status=409)
    assert _count(db, till.entry) == 0
    token = once_token(page)
    fix = {"kind": "correction", "amount": "5", "reason": "找到", "form_token": token, "confirm": "1"}
    _back(_post(client, till, "entries", fix), till)
    assert _count(db, till.entry) == 1


def test_a_reason_or_note_over_the_limit_is_refused_under_its_field_not_cut(db, client, auth, api_token, till):
    """A correction's reason, a remittance's note and a close's difference reason of 201 characters used
    to be kept cut to 200: refused now, before the confirmation and after it, the message naming the
    limit under the field and what was typed kept, nothing written; the API answers the same code; 200
    characters are kept whole. The fields say the limit."""
    commit()
    headers = api_token(till.keeper)
    auth.login(till.keeper)
    query = f"?station={till.args['station'][0]}" if till.args else ""
    page = client.get(f"{till.page}{query}").get_data(as_text=True)
    assert page.count('maxlength="200"') >= 2 and page.count("最多 200 个字") >= 2
    day = local_date(now_utc()).isoformat()
    long = "差" * 201
    said = "原因或说明最多 200 个字，请删减后再提交"
    for confirm in ({}, {"confirm": "1"}):
        for kind in ("correction", "remittance"):
            data = {"kind": kind, "amount": "1", "reason": long, "form_token": new_form_token(), **confirm}
            html = _move_kept(_post(client, till, "entries", data), "1", long)
            assert f'<p class="error" role="alert" id="reason-error">{said}</p>' in html
        res = _post(client, till, "close", {"day": day, "counted": "1", "note": long, **confirm})
        html = _kept(res, till, "1")
        assert f'name="note" maxlength="200" value="{long}"' in html
        assert f'<p class="error" role="alert" id="note-error">{said}</p>' in html
    if till.args:  # the station's API is its operator's
        api = None
    elif till.page == "/host/cash":
        api = "/api/v1/host/cashbook"
    else:
        api = f"/api/v1/stations/{till.keeper.station_id}/cashbook"
    if api:
        for what, body in (
            ("corrections", {"amount_fen": 100, "reason": long}),
            ("remittances", {"amount_fen": 100, "note": long}),
            ("close", {"date": day, "counted_fen": 100, "note": long}),
        ):
            r = client.post(f"{api}/{what}", json=body, headers=headers)
            assert r.status_code == 422 and r.json["error"]["code"] == "cash_note_too_long", (what, r.json)
    assert _count(db, till.entry) == 0 and _count(db, till.close) == 0
    whole = "差" * 200
    fix = {"kind": "correction", "amount": "1", "reason": whole, "form_token": new_form_token(), "confirm": "1"}
    _back(_post(client, till, "entries", fix), till)
    _back(_post(client, till, "close", {"day": day, "counted": "2", "note": whole, "confirm": "1"}), till)
    db.session.expire_all()
    assert [e.reason for e in db.session.scalars(sa.select(till.entry))] == [whole, whole]  # the difference's too
    assert db.session.scalar(sa.select(till.close.note)) == whole
    assert "At most 200 characters" in client.get(f"{till.page}{query}{'&' if query else '?'}lang=en").get_data(
        as_text=True
    )
