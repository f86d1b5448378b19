"""The admin's accounts pages (/admin/users) and the rules of admin.services.users."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from admin.services import users
from shop.audit import AuditEntry
from shop.auth.models import User
from shop.auth.services import authenticate, get_user_by_email
from shop.db import commit
from shop.extensions import db as _db
from tests.factories import NOW, make_station, make_user
from tests.tourism.factories import make_booking, make_listing
from tourism.models import BookingStatus


def _new_user(**kwargs) -> User:
    """A committed account (a refused request rolls back what the test had not committed)."""
    user = make_user(**kwargs)
    commit()
    return user


def _new_station(**kwargs):
    station = make_station(**kwargs)
    commit()
    return station


def _user(user_id: int) -> User:
    _db.session.expire_all()
    return _db.session.get(User, user_id)


def _audits(user_id: int) -> list[str]:
    return list(
        _db.session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.subject_type == "users", AuditEntry.subject_id == user_id)
            .order_by(AuditEntry.id)
        )
    )


# --- the list ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang,words", [("zh_CN", "账号与角色"), ("en", "Accounts and roles")])
def test_the_list_renders_in_both_languages(admin_client, db, lang, words):
    _new_user(email="alice@test.cn", name="爱丽丝")
    admin_client.get(f"/lang/{lang}")
    html = admin_client.get("/admin/users").get_data(as_text=True)
    assert words in html and "alice@test.cn" in html


def test_the_list_searches_by_email_or_name_and_filters_by_role(admin_client, db, station):
    _new_user(email="alice@test.cn", name="爱丽丝")
    _new_user(email="bob@test.cn", name="张三丰", role="host")
    _new_user(email="carol@test.cn", name="卡罗", role="operator", station=station)
    html = admin_client.get("/admin/users?q=ALICE").get_data(as_text=True)
    assert "alice@test.cn" in html and "bob@test.cn" not in html
    html = admin_client.get("/admin/users?q=三丰").get_data(as_text=True)
    assert "bob@test.cn" in html and "alice@test.cn" not in html
    html = admin_client.get("/admin/users?role=operator").get_data(as_text=True)
    assert "carol@test.cn" in html and "bob@test.cn" not in html
    # a LIKE wildcard is a plain character
    assert "alice@test.cn" not in admin_client.get("/admin/users?q=%25").get_data(as_text=True)
    # a NUL (PostgreSQL cannot compare one) or another control character is dropped, not a 500
    assert "alice@test.cn" in admin_client.get("/admin/users?q=ali%00ce").get_data(as_text=True)


def test_the_list_is_paged(admin_client, db):
    for n in range(users.PER_PAGE + 5):
        _new_user(email=f"many{n:02d}@test.cn")
    first = admin_client.get("/admin/users?q=many").get_data(as_text=True)
    second = admin_client.get("/admin/users?q=many&page=2").get_data(as_text=True)
    assert first.count("@test.cn</a>") == users.PER_PAGE and second.count("@test.cn</a>") == 5
    assert "page=2" in first and "q=many" in first  # the pager keeps the search


def test_the_list_loads_the_stations_in_one_query_whatever_their_number(admin_client, db):
    from tests.sql_count import count_statements

    def statements_with(operators: int) -> int:
        for _n in range(operators):
            _new_user(role="operator", station=_new_station())
        _db.session.expire_all()
        with count_statements() as statements:
            assert admin_client.get("/admin/users?role=operator").status_code == 200
        return len(statements)

    assert statements_with(1) == statements_with(4)


def test_an_unknown_role_filter_is_a_400(admin_client, db):
    assert admin_client.get("/admin/users?role=king").status_code == 400


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_user_page_renders_in_both_languages(admin_client, db, station, lang):
    user = _new_user(role="operator", station=station, email="op@test.cn")
    admin_client.get(f"/lang/{lang}")
    html = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "op@test.cn" in html and "NC77" in html
    assert ("Change role" if lang == "en" else "更改角色") in html


def test_an_unknown_user_is_a_404(admin_client, db):
    assert admin_client.get("/admin/users/999999").status_code == 404
    assert admin_client.post("/admin/users/999999/role", data={"role": "host", "confirm": "1"}).status_code == 404
    assert admin_client.post("/admin/users/999999/active", data={"active": "0", "confirm": "1"}).status_code == 404


# --- roles ---------------------------------------------------------------------------------------


def test_a_role_change_asks_first_then_changes_and_is_audited(admin_client, db):
    user = _new_user(email="c@test.cn")
    response = admin_client.post(f"/admin/users/{user.id}/role", data={"role": "host"}, follow_redirects=True)
    assert response.status_code == 200 and 'name="confirm" value="1"' in response.get_data(as_text=True)
    # a role can be changed back: the confirmation says so, never 此操作不能撤销
    assert "此操作不能撤销" not in response.get_data(as_text=True)
    assert "角色变更立即生效；需要时可以在本页把角色改回。" in response.get_data(as_text=True)
    assert _user(user.id).role == "consumer"  # nothing changed before the confirmation
    response = admin_client.post(f"/admin/users/{user.id}/role", data={"role": "host", "confirm": "1"})
    assert response.status_code == 302
    assert _user(user.id).role == "host"
    assert _audits(user.id) == ["user.role"]


def test_an_operator_needs_an_existing_station(admin_client, db, station):
    user = _new_user(email="c@test.cn")
    for data in ({"role": "operator", "station_id": "0"}, {"role": "operator", "station_id": "999999"}):
        response = admin_client.post(
            f"/admin/users/{user.id}/role", data={**data, "confirm": "1"}, follow_redirects=True
        )
        assert "站点操作员必须属于一个站点" in response.get_data(as_text=True) or "没有这个站点" in response.get_data(
            as_text=True
        )
        assert _user(user.id).role == "consumer" and _user(user.id).station_id is None
    admin_client.post(
        f"/admin/users/{user.id}/role", data={"role": "operator", "station_id": str(station.id), "confirm": "1"}
    )
    assert (_user(user.id).role, _user(user.id).station_id) == ("operator", station.id)
    # another station for the operator, then another role: the station goes with it
    other = _new_station(code="NC78")
    admin_client.post(
        f"/admin/users/{user.id}/role", data={"role": "operator", "station_id": str(other.id), "confirm": "1"}
    )
    assert _user(user.id).station_id == other.id
    # another role with a station is refused, before the confirmation step, not silently stripped of it
    for confirm in ({}, {"confirm": "1"}):
        response = admin_client.post(
            f"/admin/users/{user.id}/role",
            data={"role": "county", "station_id": str(other.id), **confirm},
            follow_redirects=True,
        )
        html = response.get_data(as_text=True)
        assert "只有站点操作员属于站点：其他角色不能指定站点" in html and 'name="confirm" value="1"' not in html
        assert (_user(user.id).role, _user(user.id).station_id) == ("operator", other.id)
    # with no station (（无）, or none sent at all), the station goes with the role
    admin_client.post(f"/admin/users/{user.id}/role", data={"role": "county", "station_id": "0", "confirm": "1"})
    assert (_user(user.id).role, _user(user.id).station_id) == ("county", None)
    admin_client.post(
        f"/admin/users/{user.id}/role", data={"role": "operator", "station_id": str(other.id), "confirm": "1"}
    )
    admin_client.post(f"/admin/users/{user.id}/role", data={"role": "host", "confirm": "1"})
    assert (_user(user.id).role, _user(user.id).station_id) == ("host", None)
    assert _audits(user.id) == ["user.role", "user.role", "user.role", "user.role", "user.role"]


def test_the_service_refuses_a_station_for_another_role(db, station):
    user = _new_user(email="c@test.cn")
    for role in ("consumer", "host", "county", "admin"):
        with pytest.raises(Exception) as refused:
            users.set_role(user, role, station.id, actor=None, now=NOW)
        assert getattr(refused.value, "code", "") == "station_only_for_operators"
        with pytest.raises(Exception) as refused:
            users.check_role_change(user, role, station.id)
        assert getattr(refused.value, "code", "") == "station_only_for_operators"


@pytest.mark.parametrize("lang,message", [("zh_CN", "未知角色"), ("en", "Unknown role")])
def test_an_invalid_role_is_refused_clearly_and_changes_nothing(admin_client, db, lang, message):
    user = _new_user(email="c@test.cn")
    admin_client.get(f"/lang/{lang}")
    response = admin_client.post(
        f"/admin/users/{user.id}/role", data={"role": "superuser", "confirm": "1"}, follow_redirects=True
    )
    assert message in response.get_data(as_text=True)
    assert _user(user.id).role == "consumer" and _audits(user.id) == []
    response = admin_client.post(f"/admin/users/{user.id}/role", data={"role": "host", "station_id": "x"})
    assert response.status_code == 422 and _user(user.id).role == "consumer"


def test_the_last_active_admin_keeps_the_role(admin_client, db, admin_user):
    response = admin_client.post(
        f"/admin/users/{admin_user.id}/role", data={"role": "consumer", "confirm": "1"}, follow_redirects=True
    )
    assert "最后一个有效的管理员" in response.get_data(as_text=True)
    assert _user(admin_user.id).role == "admin"
    # an inactive admin does not count
    idle = make_user(role="admin", email="idle@test.cn")
    idle.is_active_account = False
    commit()
    admin_client.post(f"/admin/users/{admin_user.id}/role", data={"role": "consumer", "confirm": "1"})
    assert _user(admin_user.id).role == "admin"
    # with a second active admin, one may step down
    _new_user(role="admin", email="second@test.cn")
    admin_client.post(f"/admin/users/{admin_user.id}/role", data={"role": "county", "confirm": "1"})
    assert _user(admin_user.id).role == "county"


def test_the_service_refuses_the_last_admin_directly(db):
    only = _new_user(role="admin")
    with pytest.raises(Exception) as refused:
        users.set_role(only, "consumer", None, actor=only, now=NOW)
    assert getattr(refused.value, "code", "") == "last_active_admin"
    with pytest.raises(Exception) as refused:
        users.set_active(only, False, actor=None, now=NOW)
    assert getattr(refused.value, "code", "") == "last_active_admin"


# --- deactivation --------------------------------------------------------------------------------


def test_the_admin_cannot_deactivate_themselves(admin_client, db, admin_user):
    _new_user(role="admin", email="second@test.cn")
    response = admin_client.post(
        f"/admin/users/{admin_user.id}/active", data={"active": "0", "confirm": "1"}, follow_redirects=True
    )
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    assert _user(admin_user.id).is_active_account


def test_deactivation_ends_sessions_and_tokens_and_is_audited(app, admin_client, db, api_token):
    user = _new_user(email="victim@test.cn")
    headers = api_token(user)
    theirs = app.test_client()
    theirs.post("/login", data={"email": user.email, "password": "password123"})
    assert theirs.get("/orders").status_code == 200
    assert theirs.get("/api/v1/me", headers=headers).status_code == 200
    # the first POST asks; nothing changes
    page = admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0"}, follow_redirects=True)
    assert page.status_code == 200 and 'name="confirm" value="1"' in page.get_data(as_text=True)
    assert _user(user.id).is_active_account
    admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0", "confirm": "1"})
    assert not _user(user.id).is_active_account
    assert theirs.get("/orders").status_code == 302  # signed out: to the login page
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401
    assert app.test_client().post("/login", data={"email": user.email, "password": "password123"}).status_code != 302
    # reactivated: the account may sign in again, the old token and session stay dead
    admin_client.post(f"/admin/users/{user.id}/active", data={"active": "1"})
    assert _user(user.id).is_active_account
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401
    assert theirs.get("/orders").status_code == 302
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": "password123"}).status_code == 302
    assert _audits(user.id) == ["user.deactivate", "user.reactivate"]


def test_deactivating_asks_first_says_it_can_be_undone_and_a_second_confirm_is_told(admin_client, db):
    """The confirmation does not say 此操作不能撤销 of what 启用账号 undoes; confirming again (Back, confirm)
    changes nothing and says the account is deactivated already instead of showing the page silently."""
    user = _new_user(email="twice@test.cn")
    page = admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0"}, follow_redirects=True)
    html = page.get_data(as_text=True)
    assert page.request.path.startswith("/confirm/") and "此操作不能撤销" not in html
    assert "停用后可以在本页再启用账号；已退出的设备需要重新登录。" in html
    first = admin_client.post(
        f"/admin/users/{user.id}/active", data={"active": "0", "confirm": "1"}, follow_redirects=True
    )
    assert "账号已停用" in first.get_data(as_text=True) and not _user(user.id).is_active_account
    again = admin_client.post(
        f"/admin/users/{user.id}/active", data={"active": "0", "confirm": "1"}, follow_redirects=True
    )
    assert "账号已是停用状态" in again.get_data(as_text=True)
    assert _audits(user.id) == ["user.deactivate"]


def test_the_accounts_history_names_who_made_each_change(app, admin_client, db, admin_user):
    """With several admins, who deactivated an account is the audit's first question: each line of 变更记录
    names the admin's e-mail, and 命令行 for a change made with `flask users` (no account acts there)."""
    user = _new_user(email="watched@test.cn")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "set-role", "--email", user.email, "--role", "host"])
    assert result.exit_code == 0, result.output
    admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0", "confirm": "1"})
    page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    history = page[page.index("变更记录") :]
    lines = re.findall(r"<li>(.*?)</li>", history, flags=re.S)
    assert "停用账号" in lines[0] and '<span class="history-by">boss@test.cn</span>' in lines[0]
    assert "接待户" in lines[1] and '<span class="history-by">命令行</span>' in lines[1]
    english = admin_client.get(f"/admin/users/{user.id}?lang=en").get_data(as_text=True)
    assert '<span class="history-by">command line</span>' in english


def test_a_bad_active_value_is_a_400(admin_client, db):
    user = _new_user()
    assert admin_client.post(f"/admin/users/{user.id}/active", data={"active": "maybe"}).status_code == 400
    assert _user(user.id).is_active_account


# --- who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["consumer", "operator", "host", "county"])
def test_other_roles_are_refused(app, db, station, role):
    user = _new_user(role=role, station=station if role == "operator" else None)
    target = _new_user(email="target@test.cn")
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": "password123"})
    for path in ("/admin/", "/admin/users", f"/admin/users/{target.id}"):
        assert client.get(path).status_code == 403
    assert client.post(f"/admin/users/{target.id}/role", data={"role": "admin", "confirm": "1"}).status_code == 403
    assert client.post(f"/admin/users/{target.id}/active", data={"active": "0", "confirm": "1"}).status_code == 403
    assert _user(target.id).role == "consumer" and _user(target.id).is_active_account


def test_the_anonymous_visitor_is_sent_to_sign_in(client, db):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_forms_are_csrf_protected(admin_client, db, csrf_on):
    user = _new_user(email="c@test.cn")
    response = admin_client.post(f"/admin/users/{user.id}/role", data={"role": "host", "confirm": "1"})
    assert response.status_code == 400 and _user(user.id).role == "consumer"
    response = admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0", "confirm": "1"})
    assert response.status_code == 400 and _user(user.id).is_active_account
    html = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    admin_client.post(f"/admin/users/{user.id}/role", data={"role": "host", "confirm": "1", "csrf_token": token})
    assert _user(user.id).role == "host"


def test_the_header_links_admins_to_the_workspace(admin_client, app, db):
    assert 'href="/admin/"' in admin_client.get("/").get_data(as_text=True)
    county = _new_user(role="county")
    other = app.test_client()
    other.post("/login", data={"email": county.email, "password": "password123"})
    assert 'href="/admin/"' not in other.get("/").get_data(as_text=True)


# --- the command line uses the same rules --------------------------------------------------------


def test_the_cli_creates_and_changes_roles_through_the_service(app, db, station):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "--email", "new@test.cn", "--password", "longenough1", "--role", "operator"]
    )
    assert result.exit_code != 0 and "站点操作员必须属于一个站点" in result.output
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "new@test.cn",
            "--password",
            "longenough1",
            "--role",
            "operator",
            "--station",
            "NC77",
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "set-role", "--email", "new@test.cn", "--role", "host"])
    assert result.exit_code == 0, result.output
    user = _db.session.scalar(sa.select(User).where(User.email == "new@test.cn"))
    assert (user.role, user.station_id) == ("host", None)
    assert _audits(user.id) == ["user.create", "user.role"]
    result = runner.invoke(
        args=["users", "create", "--email", "x@test.cn", "--password", "longenough1", "--station", "NOPE"]
    )
    assert result.exit_code != 0 and "no station" in result.output


@pytest.mark.parametrize("role", ["consumer", "host", "county", "admin"])
def test_the_cli_refuses_a_station_for_another_role_than_operator(app, db, station, role):
    runner = app.test_cli_runner()
    user = _new_user(email="op@test.cn", role="operator", station=station)
    result = runner.invoke(args=["users", "set-role", "--email", "op@test.cn", "--role", role, "--station", "NC77"])
    assert result.exit_code != 0 and "只有站点操作员属于站点：其他角色不能指定站点" in result.output
    assert (_user(user.id).role, _user(user.id).station_id) == ("operator", station.id) and _audits(user.id) == []
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@test.cn",
            "--password",
            "longenough1",
            "--role",
            role,
            "--station",
            "NC77",
        ]
    )
    assert result.exit_code != 0 and "只有站点操作员属于站点" in result.output
    assert _db.session.scalar(sa.select(User).where(User.email == "x@test.cn")) is None
    # without --station the change is made
    result = runner.invoke(args=["users", "set-role", "--email", "op@test.cn", "--role", role])
    assert result.exit_code == 0, result.output
    assert (_user(user.id).role, _user(user.id).station_id) == (role, None)


def test_users_create_asks_for_the_password_when_it_is_not_on_the_command_line(app, db):
    """`flask users create` without --password asks for it twice, not echoed: a password typed on the
    command line stays in the shell's history and in `ps`."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "asked@test.cn"], input="longenough1\nlongenough1\n")
    assert result.exit_code == 0, result.output
    assert "longenough1" not in result.output
    assert authenticate("asked@test.cn", "longenough1") is not None
    mismatch = runner.invoke(args=["users", "create", "--email", "other@test.cn"], input="longenough1\nlongenough2\n")
    assert mismatch.exit_code != 0 and get_user_by_email("other@test.cn") is None


def test_every_account_is_counted_and_paged_without_a_filter(admin_client):
    """Without a search or a role, the overview and the accounts page count every account (they said 1)
    and the page offers the next page past the first 30."""
    for _ in range(users.PER_PAGE):
        make_user()
    commit()
    total = _db.session.scalar(sa.select(sa.func.count(User.id)))
    assert total == users.PER_PAGE + 1
    overview = admin_client.get("/admin/").get_data(as_text=True)
    assert re.search(rf'<p class="big">{total}</p>', overview)
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert f"<small>({total})</small>" in page and "page=2" in page
    assert "boss@test.cn" in admin_client.get("/admin/users?page=2").get_data(as_text=True)


def test_a_host_keeps_its_role_while_it_has_listings_open_or_bookings_not_ended(admin_client, db):
    """An admin turned the demo host into a consumer: its listings stayed open to tourists and went on
    taking bookings, and no one could open the host pages to check its guests in. The role changes once
    the host has closed its listings to tourists and settled its bookings; until then the page says what
    is left, before any confirmation, and nothing changes."""
    host = _new_user(role="host", email="host@test.cn")
    listing = make_listing(host=host)
    commit()
    refused = admin_client.post(
        f"/admin/users/{host.id}/role", data={"role": "consumer"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "该接待户还有对游客开放的项目 1 个、未结束的预订 0 个" in refused and "请确认" not in refused
    admin_client.post(f"/admin/users/{host.id}/role", data={"role": "consumer", "confirm": "1"})
    assert _user(host.id).role == "host" and _audits(host.id) == []
    # closed to tourists, but a guest is still to come
    listing.is_published = False
    booking = make_booking(listing, check_in=NOW.date() + timedelta(days=3))
    commit()
    with pytest.raises(Exception) as held:
        users.set_role(_user(host.id), "operator", make_station().id, actor=None, now=NOW)
    assert getattr(held.value, "code", "") == "host_has_commitments"
    # the booking settled: the host may become what the admin says
    booking.status = BookingStatus.CANCELED
    commit()
    admin_client.post(f"/admin/users/{host.id}/role", data={"role": "consumer", "confirm": "1"})
    assert _user(host.id).role == "consumer" and _audits(host.id) == ["user.role"]


def test_a_member_of_an_organisation_keeps_a_shoppers_role(admin_client, db):
    """The demo union's only approver (its manager) was made a county officer by the admin: the organisation
    was left with a county officer to approve its purchases, one the county office itself would verify, though
    institutions never adds a staff account to an organisation (member_role_not_allowed). The change is
    refused before any confirmation, saying which organisation and what to do; nothing changes."""
    from tests.institutions.factories import make_organisation

    manager = _new_user(email="union@test.cn")
    make_organisation(name="县人社局工会", members={"approver": manager})
    commit()
    for role in ("county", "operator", "host", "admin"):
        data = {"role": role, "station_id": str(make_station().id)} if role == "operator" else {"role": role}
        commit()
        refused = admin_client.post(f"/admin/users/{manager.id}/role", data=data, follow_redirects=True)
        page = refused.get_data(as_text=True)
        assert "union@test.cn 是采购单位「县人社局工会」的成员" in page and "请确认" not in page, role
        admin_client.post(f"/admin/users/{manager.id}/role", data={**data, "confirm": "1"})
        assert _user(manager.id).role == "consumer" and _audits(manager.id) == []
    with pytest.raises(Exception) as held:
        users.set_role(_user(manager.id), "county", None, actor=None, now=NOW)
    assert getattr(held.value, "code", "") == "organisation_member_role"
