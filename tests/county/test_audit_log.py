"""操作日志: the admin's (/admin/audit, every entry) and the county office's (/county/audit, the actions on the
office's records), their filters, paging, CSV and statement count; no personal data in them. Also who made
each change of a household's status (状态历史)."""

from __future__ import annotations

import ast
import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest

from county.services import registry
from shop.audit import ACTION_LABELS, COUNTY_ACTIONS, PER_PAGE, record_audit
from shop.db import commit
from tests.county.conftest import SECRET_ID, SECRET_PHONE
from tests.factories import make_station, make_user
from tests.sql_count import page_statements

ROOT = Path(__file__).resolve().parents[2]
#: an action as `record_audit` is given it ("household.reveal"); an f-string's pieces ("document.") are not
ACTION = re.compile(r"[a-z_]+(\.[a-z_]+)+")


def _login(app, user):
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": "password123"})
    assert response.status_code in (302, 303)
    return client


@pytest.fixture
def admin(db):
    user = make_user(role="admin", email="boss@test.cn")
    commit()
    return user


@pytest.fixture
def officer(db):
    user = make_user(role="county", email="officer@test.cn")
    commit()
    return user


def _rows(html: str) -> list[str]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


@pytest.mark.parametrize("role", ["consumer", "operator", "host"])
def test_only_the_admin_and_the_county_office_read_the_log(app, db, role):
    user = make_user(role=role, station=make_station() if role == "operator" else None)
    commit()
    client = _login(app, user)
    for url in ("/admin/audit", "/admin/audit?format=csv", "/county/audit", "/county/audit?format=csv"):
        assert client.get(url).status_code == 403, url
    assert app.test_client().get("/admin/audit").status_code == 302  # to the sign-in page


def test_who_revealed_a_households_id_number(app, db, world, officer, admin):
    """The county officer's question: who revealed household 5's ID number — the log names the account and
    the field, never the value, on the county's page and the admin's."""
    household = world["households"][0]
    client = _login(app, officer)
    revealed = client.post(f"/county/households/{household.id}/reveal", data={"field": "id_number"})
    assert SECRET_ID in revealed.get_data(as_text=True)
    _login(app, admin).post(f"/county/households/{household.id}/reveal", data={"field": "phone"})

    url = f"/county/audit?action=household.reveal&subject_type=households&subject_id={household.id}"
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    rows = _rows(html)
    assert len(rows) == 2
    assert "查看农户个人信息" in rows[0] and "boss@test.cn" in rows[0] and "field: phone" in rows[0]  # newest first
    assert "officer@test.cn" in rows[1] and "field: id_number" in rows[1]
    assert SECRET_ID not in html and SECRET_PHONE not in html
    only_officer = client.get(url + "&actor=OFFICER@").get_data(as_text=True)
    assert len(_rows(only_officer)) == 1 and "officer@test.cn" in only_officer
    admin_view = _login(app, admin).get(url.replace("/county/", "/admin/")).get_data(as_text=True)
    assert len(_rows(admin_view)) == 2 and SECRET_ID not in admin_view


def test_the_county_reads_its_own_records_and_not_the_accounts(app, db, world, officer, admin):
    """A deactivated account (user.deactivate) is the admin's business: in /admin/audit, not in /county/audit;
    the county's select offers only the office's actions."""
    watched = make_user(email="watched@test.cn")
    commit()
    admin_client = _login(app, admin)
    admin_client.post(f"/admin/users/{watched.id}/active", data={"active": "0", "confirm": "1"})
    _login(app, officer).post(f"/county/households/{world['households'][1].id}/reveal", data={"field": "phone"})

    admin_page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "停用账号" in admin_page and "查看农户个人信息" in admin_page
    county = _login(app, officer)
    county_page = county.get("/county/audit").get_data(as_text=True)
    assert "查看农户个人信息" in county_page
    assert not any("停用账号" in row for row in _rows(county_page))
    assert 'value="user.deactivate"' not in county_page and 'value="household.reveal"' in county_page
    refused = county.get("/county/audit?action=user.deactivate")
    assert refused.status_code == 422 and "未知的操作类型" in refused.get_data(as_text=True)
    assert "停用账号" not in "".join(_rows(refused.get_data(as_text=True)))


def test_a_wrong_date_range_is_said_not_a_500(app, db, admin):
    client = _login(app, admin)
    reversed_range = client.get("/admin/audit?from=2026-12-01&to=2026-11-01")
    assert reversed_range.status_code == 422
    assert "开始日期晚于结束日期" in reversed_range.get_data(as_text=True)
    bad_day = client.get("/admin/audit?from=2026-13-45")
    assert bad_day.status_code == 422 and "2026-13-45" in bad_day.get_data(as_text=True)
    assert client.get("/admin/audit?subject_id=abc").status_code == 422
    assert client.get("/admin/audit?subject_type=nothing").status_code == 422
    csv_refused = client.get("/admin/audit?format=csv&from=2026-12-01&to=2026-11-01")
    assert csv_refused.status_code == 400 and "开始日期晚于结束日期" in csv_refused.get_data(as_text=True)


def test_the_date_range_is_in_beijing_days(app, db, world, admin, now):
    """`to` includes its whole (Beijing) day; `from` starts at its midnight."""
    household = world["households"][0]
    record_audit(actor=admin, action="household.update", subject=household, detail={"fields": ["members"]}, now=now)
    record_audit(
        actor=admin,
        action="household.update",
        subject=household,
        detail={"fields": ["phone"]},
        now=now - timedelta(days=3),
    )
    commit()
    client = _login(app, admin)
    day = "2026-11-28"  # `now` is 12:00 in Beijing that day
    page = client.get(f"/admin/audit?action=household.update&from={day}&to={day}").get_data(as_text=True)
    rows = _rows(page)
    assert len(rows) == 1 and "members" in rows[0]
    earlier = client.get("/admin/audit?action=household.update&to=2026-11-27").get_data(as_text=True)
    assert len(_rows(earlier)) == 1 and "phone" in _rows(earlier)[0]


def test_pages_newest_first_in_a_fixed_number_of_statements(app, db, world, admin, now):
    household = world["households"][0]
    client = _login(app, admin)

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            record_audit(
                actor=admin if i % 2 else None,
                action="household.status",
                subject=household,
                detail={"from": "poor", "to": f"s{i}"},
                now=now + timedelta(minutes=i),
            )
        commit()

    add(3, 0)
    _html, few = page_statements(client, "/admin/audit?action=household.status")
    add(PER_PAGE + 7, 3)
    html, many = page_statements(client, "/admin/audit?action=household.status")
    assert len(many) == len(few), many
    rows = _rows(html)
    assert len(rows) == PER_PAGE and "to: s59" in rows[0] and "boss@test.cn" in rows[0]
    assert "命令行" in rows[1]  # no account acted
    second = client.get("/admin/audit?action=household.status&page=2").get_data(as_text=True)
    assert len(_rows(second)) == 10 and "to: s0<" in _rows(second)[-1] + "<"
    assert "action=household.status" in html[html.index('class="pager"') :]  # the pager keeps the filter


def test_the_csv_has_the_filtered_entries_with_a_bom(app, db, world, officer, now):
    household = world["households"][0]
    record_audit(actor=officer, action="review.hide", subject=household, detail={"reason": "=HYPERLINK(1)"}, now=now)
    record_audit(actor=None, action="household.status", subject=household, detail={}, now=now)
    commit()
    response = _login(app, officer).get("/county/audit?format=csv&actor=officer")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="county-audit-log.csv"'
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["时间", "操作类型", "操作代码", "操作人", "对象", "对象编号", "详情"]
    assert len(rows) == 2
    assert rows[1][1:6] == ["隐藏评价", "review.hide", "officer@test.cn", "农户", str(household.id)]
    assert rows[1][6] == "reason==HYPERLINK(1)"
    english = _login(app, officer).get("/county/audit?format=csv&lang=en").data.decode("utf-8-sig")
    assert "command line" in english and "Hide a review" in english


def test_the_log_page_in_english(app, db, admin):
    html = _login(app, admin).get("/admin/audit?lang=en").get_data(as_text=True)
    assert "Audit log" in html and "Reveal a household's personal data" in html
    workspace = _login(app, admin).get("/admin/").get_data(as_text=True)
    assert 'href="/admin/audit"' in workspace


def test_the_county_overview_links_its_log(app, db, officer):
    assert 'href="/county/audit"' in _login(app, officer).get("/county/").get_data(as_text=True)


def test_every_recorded_action_has_a_label():
    """A new `record_audit(action="...")` gets its label in `shop.audit.ACTION_LABELS` (the page's select)."""
    found = set()
    for path in ROOT.rglob("*.py"):
        if any(part in (".venv", "tests", "migrations", "bench") for part in path.parts):
            continue
        text = path.read_text(encoding="utf-8")
        if "record_audit(" not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("record_audit", "_audit_unit_type"):
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        for sub in ast.walk(keyword.value):
                            if (
                                isinstance(sub, ast.Constant)
                                and isinstance(sub.value, str)
                                and ACTION.fullmatch(sub.value)
                            ):
                                found.add(sub.value)
    assert found and found <= set(ACTION_LABELS), sorted(found - set(ACTION_LABELS))
    assert COUNTY_ACTIONS <= set(ACTION_LABELS)


def test_a_households_status_history_names_who_changed_it(app, db, world, officer, now):
    """状态历史 says who made each change: the officer's e-mail; 命令行 where no account acted (the import
    command, the demo data)."""
    village = world["villages"][0]
    data = registry.HouseholdData(
        village_id=village.id, head_name="赵六", registry_no="36010000112233", members=2, status="poor"
    )
    household = registry.create_household(data, actor=None, now=now)  # as `flask county import-households`
    commit()
    client = _login(app, officer)
    assert (
        client.post(f"/county/households/{household.id}/status", data={"confirm": "1", "status": "lifted"}).status_code
        == 302
    )
    html = client.get(f"/county/households/{household.id}").get_data(as_text=True)
    history = html[html.index("状态历史") :]
    lines = re.findall(r"<li>(.*?)</li>", history[: history.index("</ul>")], flags=re.S)
    assert len(lines) == 2
    assert '<span class="history-by">命令行</span>' in lines[0]
    assert '<span class="history-by">officer@test.cn</span>' in lines[1]
    english = client.get(f"/county/households/{household.id}?lang=en").get_data(as_text=True)
    assert '<span class="history-by">command line</span>' in english
