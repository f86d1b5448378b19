"""Journey 30: the platform admin signs in, opens 系统管理 from the header, finds a consumer account by its
e-mail, makes it a station operator of NC02 (through the confirmation step), sees the new role and its line
in the account's history, makes it a host (the station select follows the role), deactivates another
account (confirmed), adds a category and edits a village. The accounts are made for each run (the demo
consumer is left as it is for the other journeys). Another test has the admin create a host's account
(新建账号) with no password and in English, is refused a second link at once, and its owner sets one from the
mailed link and signs in. A last one walks the admin's lists and forms on a small phone (360 px): nothing scrolls the page
sideways."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO, DEMO_PASSWORD, VIEWPORTS, LiveServer, Viewport
from tests.browser.journeys import confirm_if_asked

SMALL_PHONE = Viewport("small-phone", 360, 740, True)
STATION = "NC02"


def make_consumer(live: LiveServer, tag: str) -> str:
    """A fresh consumer account (`flask users create`, as the README says); returns its e-mail."""
    email = f"walk-{tag}-{uuid.uuid4().hex[:8]}@demo.cn"
    with live.app_context():
        result = live.app.test_cli_runner().invoke(
            args=["users", "create", "--email", email, "--password", DEMO_PASSWORD, "--name", "王小满"]
        )
    assert result.exit_code == 0, result.output
    return email


def account(live: LiveServer, email: str) -> tuple[str, str | None, bool]:
    from shop.auth.models import User

    with live.app_context() as db:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        return str(user.role), user.station.code if user.station else None, bool(user.is_active_account)


def test_admin_changes_a_role_deactivates_an_account_adds_a_category_and_edits_a_village(open_page, live_server):
    to_operator = make_consumer(live_server, "op")
    to_stop = make_consumer(live_server, "off")
    run = uuid.uuid4().hex[:6]

    admin = open_page("admin")
    page = admin.page
    main = page.locator("main")
    admin.login(DEMO["admin"])

    admin.submit_and_wait(lambda: page.get_by_role("link", name=admin.t("系统管理"), exact=True).first.click())
    expect(page.get_by_role("heading", level=1)).to_have_text(admin.t("系统管理"))
    admin.step("admin overview")

    # find the consumer by its e-mail
    nav = page.get_by_role("navigation", name=admin.t("系统管理"))
    admin.submit_and_wait(lambda: nav.get_by_role("link", name=admin.t("账号与角色")).click())
    search = main.locator("form.county-filter")
    search.get_by_label(admin.t("邮箱或姓名")).fill(to_operator)
    admin.submit_and_wait(lambda: search.get_by_role("button", name=admin.t("查询")).click())
    rows = main.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(admin.t("消费者"))
    admin.step("account found by e-mail")
    admin.submit_and_wait(lambda: rows.first.get_by_role("link", name=to_operator).click())
    expect(page.get_by_role("heading", level=1)).to_have_text(to_operator)
    admin.step("account")

    # make it an operator of NC02, through the confirmation step
    role_form = main.locator("form").filter(has=page.get_by_role("button", name=admin.t("更改角色")))
    role_form.get_by_label(admin.t("角色"), exact=True).select_option(label=admin.t("站点操作员"))
    station = role_form.get_by_label(admin.t("所属站点（站点操作员）"))
    station.select_option(label=next(o for o in station.locator("option").all_inner_texts() if o.startswith(STATION)))
    admin.submit_and_wait(lambda: role_form.get_by_role("button", name=admin.t("更改角色")).click())
    expect(main).to_contain_text(to_operator)
    assert confirm_if_asked(admin), "a role change is confirmed first"
    expect(page.get_by_text(admin.t("角色已变更"))).to_be_visible()
    facts = main.locator("dl")
    expect(facts).to_contain_text(admin.t("站点操作员"))
    expect(facts).to_contain_text(STATION)
    history = main.locator("ul.county-history li")
    expect(history.first).to_contain_text(admin.t("消费者"))
    expect(history.first).to_contain_text(admin.t("站点操作员"))
    admin.step("role changed, in the history")
    assert account(live_server, to_operator) == ("operator", STATION, True)

    # and back to another role: choosing it sets the station select to none and disables it
    # (static/js/role_station.js), so the change goes through without a refusal
    role_form = main.locator("form").filter(has=page.get_by_role("button", name=admin.t("更改角色")))
    station = role_form.get_by_label(admin.t("所属站点（站点操作员）"))
    expect(station).to_be_enabled()
    role_form.get_by_label(admin.t("角色"), exact=True).select_option(label=admin.t("接待户"))
    expect(station).to_be_disabled()
    expect(station).to_have_value("0")
    admin.submit_and_wait(lambda: role_form.get_by_role("button", name=admin.t("更改角色")).click())
    assert confirm_if_asked(admin), "a role change is confirmed first"
    expect(page.get_by_text(admin.t("角色已变更"))).to_be_visible()
    assert account(live_server, to_operator) == ("host", None, True)

    # deactivate another account, confirmed
    admin.goto("/admin/users?q=" + to_stop)
    admin.submit_and_wait(lambda: main.get_by_role("link", name=to_stop).click())
    admin.submit_and_wait(lambda: main.get_by_role("button", name=admin.t("停用账号")).click())
    assert confirm_if_asked(admin), "a deactivation is confirmed first"
    expect(page.get_by_text(admin.t("账号已停用"))).to_be_visible()
    expect(main.locator("dl")).to_contain_text(admin.t("已停用"))
    expect(main.get_by_role("button", name=admin.t("启用账号"))).to_be_visible()
    admin.step("account deactivated")
    assert account(live_server, to_stop)[2] is False

    # a new category
    admin.submit_and_wait(lambda: nav.get_by_role("link", name=admin.t("产品分类")).click())
    name = f"竹编 {run}"
    new = main.locator("form").filter(has=page.get_by_role("button", name=admin.t("添加分类")))
    new.get_by_label(admin.t("分类名称")).fill(name)
    new.get_by_label(admin.t("英文名称")).fill(f"Bamboo {run}")
    admin.submit_and_wait(lambda: new.get_by_role("button", name=admin.t("添加分类")).click())
    expect(page.get_by_text(admin.t("已添加分类 %(name)s", name=name))).to_be_visible()
    expect(main.get_by_role("table").locator("tbody tr").filter(has_text=name)).to_have_count(1)
    admin.step("category added")

    # edit a village: its 一村一品
    admin.submit_and_wait(lambda: nav.get_by_role("link", name=admin.t("村", context="plural"), exact=True).click())
    row = main.get_by_role("table").locator("tbody tr").first
    village = row.locator("td").first.inner_text().strip()
    admin.submit_and_wait(lambda: row.get_by_role("link", name=admin.t("编辑")).click())
    admin.step("village form")
    product = f"高山茶 {run}"
    main.get_by_label(admin.t("一村一品")).fill(product)
    admin.submit_and_wait(lambda: main.get_by_role("button", name=admin.t("保存")).click())
    expect(page.get_by_text(admin.t("已保存"), exact=True)).to_be_visible()
    expect(main.get_by_role("table").locator("tbody tr").filter(has_text=village).first).to_contain_text(product)
    admin.step("village edited")


def mailed_setup_path(caplog, email: str, timeout: float = 5.0) -> str:
    """The path of the set-up link mailed to `email` (with no MAIL_SERVER the live app logs its mails; the
    outbox sends them just after the commit, so wait a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in caplog.records:
            if record.name == "shop.mail" and record.msg.startswith("mail to") and record.args[0] == email:
                match = re.search(r"https?://[^/\s]+(/password/setup/\S+)", record.args[2])
                assert match, record.args[2]
                return match.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no set-up mail to {email}")


def test_admin_creates_an_account_and_its_owner_sets_the_password_from_the_mail(open_page, live_server, caplog):
    email = f"host-{uuid.uuid4().hex[:8]}@demo.cn"
    admin = open_page("admin")
    page = admin.page
    main = page.locator("main")
    admin.login(DEMO["admin"])
    admin.goto("/admin/users")
    admin.submit_and_wait(lambda: main.get_by_role("link", name=admin.t("新建账号")).click())
    form = main.locator("form").filter(has=page.get_by_role("button", name=admin.t("新建账号")))
    expect(form.locator("input[type=password]")).to_have_count(0)  # the admin never chooses the password
    form.get_by_label(admin.t("邮箱")).fill(email)
    form.get_by_label(admin.t("姓名")).fill("刘大姐")
    form.get_by_label(admin.t("角色"), exact=True).select_option(label=admin.t("接待户"))
    language = form.get_by_label(admin.t("账号语言"))
    expect(language).to_have_value("zh_CN")  # 简体中文 unless the admin chooses
    language.select_option("en")
    admin.step("new account form")
    with caplog.at_level("INFO", logger="shop.mail"):
        admin.submit_and_wait(lambda: form.get_by_role("button", name=admin.t("新建账号")).click())
        expect(page.get_by_role("heading", level=1)).to_have_text(email)
        expect(
            page.get_by_text(admin.t("已创建账号 %(email)s，设置密码的链接已发到该邮箱", email=email))
        ).to_be_visible()
        expect(main.locator("dl")).to_contain_text(admin.t("接待户"))
        expect(main.locator("ul.county-history li").first).to_contain_text(admin.t("创建账号"))
        expect(main.locator("dl")).to_contain_text(admin.t("等待本人设置"))
        expect(main.locator("dl")).to_contain_text("English")
        admin.step("account created, mail sent")
        path = mailed_setup_path(caplog, email)
        # sending the link again at once is refused with the reason (a double tap sends one mail)
        admin.submit_and_wait(lambda: main.get_by_role("button", name=admin.t("重新发送设置密码链接")).click())
        pause = "设置密码的链接刚刚发出：%(num)s 分钟内不再重发，请让对方先查收邮件（包括垃圾邮件）"
        expect(page.get_by_text(admin.tn(pause, 5))).to_be_visible()
        admin.step("a second link at once is refused")
    assert account(live_server, email) == ("host", None, True)
    mails = [r.args[1] for r in caplog.records if r.name == "shop.mail" and r.args and r.args[0] == email]
    assert mails == ["Village e-Line: set your account password"]  # one mail, in the account's language

    # the owner opens the link, sets a password, and signs in with it
    owner = open_page("owner")
    owner.goto(path)
    expect(owner.page.get_by_role("heading", level=1)).to_have_text(owner.t("设置密码"))
    setup = owner.page.locator("main form")
    setup.get_by_label(owner.t("新密码")).fill("host-own-pass-1")
    setup.get_by_label(owner.t("确认密码")).fill("host-own-pass-1")
    owner.step("set password")
    owner.submit_and_wait(lambda: setup.get_by_role("button", name=owner.t("设置密码")).click())
    expect(owner.page.get_by_text(owner.t("密码已设置，请登录。"))).to_be_visible()
    owner.login(email, "host-own-pass-1")
    owner.step("signed in with the new password")
    # the link worked once
    owner.goto(path)
    expect(owner.page.get_by_text(owner.t("设置密码的链接无效、已使用或已过期：请在这里重新获取。"))).to_be_visible()
    owner.step("the link is used up")


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_the_admin_pages_fit_a_small_phone(open_page, live_server, viewport):
    someone = make_consumer(live_server, "small")
    admin = open_page("admin", size=SMALL_PHONE)
    page = admin.page
    admin.login(DEMO["admin"])
    for path, what in (
        ("/admin/", "overview"),
        ("/admin/users", "accounts"),
        ("/admin/users/new", "new account"),
        ("/admin/categories", "categories"),
        ("/admin/villages", "villages"),
        ("/admin/stations", "stations"),
        ("/admin/stations/new", "new station"),
        ("/admin/villages/new", "new village"),
    ):
        admin.goto(path)
        admin.step(what)
    admin.goto("/admin/users?q=" + someone)
    admin.submit_and_wait(lambda: page.locator("main").get_by_role("link", name=someone).click())
    admin.step("account")
    for wrap in page.locator(".table-wrap").all():
        assert wrap.evaluate("e => e.getBoundingClientRect().right <= window.innerWidth + 1")
