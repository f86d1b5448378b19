"""HTML views of the platform admin (系统管理), all under /admin, role admin only.

Thin routes: parse → load/404 → one service → commit → respond. The rules are in admin.services.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from admin.forms import (
    CategoryForm,
    CategoryNewForm,
    NewUserForm,
    RoleForm,
    StationForm,
    StationNewForm,
    VillageForm,
    VillageNewForm,
)
from admin.services import categories, places, users
from catalog.services import list_stations
from shop.args import int_arg
from shop.audit import count as audit_count
from shop.audit_views import audit_page
from shop.auth.models import Role
from shop.auth.password import setup_link_days
from shop.auth.permissions import role_required
from shop.confirm import ask_first
from shop.db import commit, rollback
from shop.errors import DomainError, NotFound, flash_domain_errors
from shop.forms import create_once, flash_form_errors
from shop.timeutil import now_utc

bp = Blueprint("admin", __name__, url_prefix="/admin")

admin_only = role_required(Role.ADMIN)


@bp.after_request
def _no_store(response):
    # account lists carry e-mail addresses and phone numbers: never cache them
    response.headers["Cache-Control"] = "no-store"
    return response


def _found(load, object_id: int):
    try:
        return load(object_id)
    except NotFound:
        abort(404)


@bp.get("/")
@admin_only
def index():
    _rows, total_users = users.search_users(users.UserQuery(per_page=1))
    total_villages, total_stations = places.counts()
    return render_template(
        "admin/index.html",
        total_users=total_users,
        total_categories=categories.count(),
        total_villages=total_villages,
        total_stations=total_stations,
        total_audit=audit_count(),
    )


@bp.get("/audit")
@admin_only
def audit():
    """操作日志: every audit entry, filtered, newest first; `?format=csv` for the file (`shop.audit_views`)."""
    return audit_page(template="admin/audit.html", actions=None, export_name="audit-log")


# --- accounts and roles ------------------------------------------------------------------------


@bp.get("/users")
@admin_only
def users_index():
    role = request.args.get("role") or None
    if role is not None and role not in users.ROLE_LABELS:
        abort(400, _("未知角色"))
    f = users.UserQuery(
        q=request.args.get("q", "")[:100], role=role, page=int_arg("page", minimum=1, maximum=10**6) or 1
    )
    rows, total = users.search_users(f)
    return render_template(
        "admin/users.html",
        rows=rows,
        total=total,
        f=f,
        page=f.page,
        pages=max(1, -(-total // f.per_page)),
        roles=users.ROLE_LABELS,
    )


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(k, _(v)) for k, v in users.ROLE_LABELS.items()]


def _station_choices() -> list[SelectChoice]:
    return [SelectChoice(0, _("（无）"))] + [SelectChoice(s.id, f"{s.code} {s.name}") for s in list_stations()]


def _role_form(user=None) -> RoleForm:
    """The role form, showing `user`'s role and station; without `user`, reading the POST alone (a station
    the POST does not send is none, not the account's current one, so a role with no station needs none)."""
    form = RoleForm(data={"role": user.role, "station_id": user.station_id or 0} if user is not None else None)
    form.role.choices = _role_choices()
    form.station_id.choices = _station_choices()
    return form


@bp.route("/users/new", methods=["GET", "POST"])
@admin_only
def user_new():
    """A new account: the admin gives its e-mail, name, role (and an operator's station), never a password;
    the owner is mailed a link to set it (`users.invite_user`)."""
    form = NewUserForm()
    form.role.choices = _role_choices()
    form.station.choices = _station_choices()
    form.locale.choices = [SelectChoice(k, _(v)) for k, v in users.LOCALES.items()]
    if request.method == "POST":
        account = users.NewAccount(
            email=form.email.data or "",
            name=(form.name.data or "").strip(),
            role=form.role.data or "",
            station_id=form.station.data or None,
            locale=form.locale.data or "",
        )
        done = _created(
            form,
            once="admin.user_new",
            create=lambda now: users.invite_user(account, actor=current_user, now=now),
            said=lambda user: _("已创建账号 %(email)s，设置密码的链接已发到该邮箱", email=user.email),
            back=lambda user: url_for("admin.user_detail", user_id=user.id),
            listed="admin.users_index",
        )
        if done is not None:
            return done
        return render_template("admin/user_new.html", form=form, days=setup_link_days()), 422
    return render_template("admin/user_new.html", form=form, days=setup_link_days())


def _render_user(user, form: RoleForm | None = None, status: int = 200):
    return render_template(
        "admin/user.html",
        user=user,
        form=form or _role_form(user),
        roles=users.ROLE_LABELS,
        actions=users.ACTION_LABELS,
        locales=users.LOCALES,
        history=users.user_history(user),
        days=setup_link_days(),
    ), status


@bp.get("/users/<int:user_id>")
@admin_only
def user_detail(user_id: int):
    return _render_user(_found(users.get_user, user_id))


@bp.post("/users/<int:user_id>/role")
@admin_only
def user_role(user_id: int):
    user = _found(users.get_user, user_id)
    form = _role_form()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _render_user(user, form, 422)
    role, station_id = form.role.data or "", form.station_id.data or None
    if users.same_role(user, role, station_id):
        flash(_("没有变化"), "warning")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    with flash_domain_errors():
        users.check_role_change(user, role, station_id, now=now_utc())  # refused: says why at once, unconfirmed
        page = ask_first(
            _(
                "确认将 %(email)s 的角色从「%(old)s」改为「%(new)s」？变更会记入审计日志。",
                email=user.email,
                old=_(users.ROLE_LABELS[user.role]),
                new=_(users.ROLE_LABELS[role]),
            ),
            back=url_for("admin.user_detail", user_id=user.id),
            # a role is changed back the same way (never 此操作不能撤销); the account keeps its sessions
            undo=_("角色变更立即生效；需要时可以在本页把角色改回。"),
        )
        if page is not None:
            return page
        if users.set_role(user, role, station_id, actor=current_user, now=now_utc()):
            commit()
            flash(_("角色已变更"), "success")
        else:
            flash(_("没有变化"), "warning")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/active")
@admin_only
def user_active(user_id: int):
    user = _found(users.get_user, user_id)
    wanted = request.form.get("active", "")
    if wanted not in ("0", "1"):
        abort(400)
    active = wanted == "1"
    with flash_domain_errors():
        users.check_active_change(user, active, actor=current_user)
        if not active:
            page = ask_first(
                _("确认停用 %(email)s？该账号会立即退出所有设备，API 令牌失效，不能再登录。", email=user.email),
                back=url_for("admin.user_detail", user_id=user.id),
                button=_("停用账号"),
                # the account comes back with 启用账号; only the devices it was signed in on stay signed out
                undo=_("停用后可以在本页再启用账号；已退出的设备需要重新登录。"),
            )
            if page is not None:
                return page
        if users.set_active(user, active, actor=current_user, now=now_utc()):
            commit()
            flash(_("账号已启用") if active else _("账号已停用"), "success")
        else:  # confirmed again (Back), or another admin was first: said, not silent
            flash(_("账号已是启用状态") if active else _("账号已是停用状态"), "info")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/setup-link")
@admin_only
def user_setup_link(user_id: int):
    """重新发送设置密码链接: a new set-up link for an account whose owner has not set a password yet (the
    earlier links stop working); confirmed first, refused at once with the reason (`users.check_setup_link`)."""
    user = _found(users.get_user, user_id)
    with flash_domain_errors():
        now = now_utc()
        users.check_setup_link(user, now=now)
        page = ask_first(
            ngettext(
                "确认给 %(email)s 重新发送设置密码的链接？新链接 %(num)s 天内有效，之前发出的链接随即失效。",
                "确认给 %(email)s 重新发送设置密码的链接？新链接 %(num)s 天内有效，之前发出的链接随即失效。",
                setup_link_days(),
                email=user.email,
            ),
            back=url_for("admin.user_detail", user_id=user.id),
            button=_("重新发送设置密码链接"),
        )
        if page is not None:
            return page
        users.resend_setup_link(user, actor=current_user, now=now)
        commit()
        flash(_("设置密码的链接已重新发到 %(email)s", email=user.email), "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


# --- categories ---------------------------------------------------------------------------------


def _category_data(form: CategoryForm) -> categories.CategoryData:
    return categories.CategoryData(
        name=form.name.data or "", name_en=form.name_en.data or "", food_class=form.food_class.data or ""
    )


def _created(
    form,
    *,
    once: str,
    create: Callable[[datetime], Any],
    said: Callable[[Any], str],
    back: str | Callable[[Any], str],
    listed: str | None = None,
):
    """A new-thing form posted: validated, created once (`shop.forms.create_once`: the service's `create(now)`
    committed with the form's token claimed as `once`), `said(thing)` flashed and a redirect to `back` (an
    endpoint, or the URL `back(thing)`); the same form posted again is sent to the endpoint `listed` (default
    `back`), where the first POST's thing is listed. None when the form or the service refused it (the errors
    are on the form, and said at the top: an expired page's token has no field to show it under)."""
    if not form.validate_on_submit():
        flash_form_errors(form)
        return None
    now = now_utc()
    again = listed if listed is not None else back
    assert isinstance(again, str), "a `back` made from the thing needs `listed`"
    try:
        thing = create_once(form, once, lambda: create(now), now=now, done=url_for(again))
    except DomainError as exc:
        _service_errors(form, exc)
        return None
    flash(said(thing), "success")
    return redirect(url_for(back) if isinstance(back, str) else back(thing))


def _updated(form, *, update: Callable[[datetime], bool], back: str):
    """An edit form posted: validated, the service's `update(now)` (True when something changed)
    committed, said, and a redirect to `back`; None when the form or the service refused it."""
    if not form.validate_on_submit():
        return None
    try:
        changed = update(now_utc())
        commit()
    except DomainError as exc:
        _service_errors(form, exc)
        return None
    flash(_("已保存") if changed else _("没有变化"), "success" if changed else "warning")
    return redirect(url_for(back))


def _new_page(template: str, name: str, form, *, once: str, create: Callable[[datetime], Any], said, back: str):
    """The page `template` of a new thing (`name` None) with its `form`; posted, the thing created as `_created`
    does, or the page again (422) with the form's errors."""
    if request.method == "POST":
        done = _created(form, once=once, create=create, said=said, back=back)
        if done is not None:
            return done
        return render_template(template, form=form, **{name: None}), 422
    return render_template(template, form=form, **{name: None})


def _edit_page(
    template: str,
    name: str,
    load: Callable[[int], Any],
    object_id: int,
    *,
    form_of: Callable[[Any], Any],
    update: Callable[[Any, Any, datetime], bool],
    back: str,
):
    """The edit page `template` of the thing `load(object_id)` (a 404 when there is none), as `name`, with its form
    `form_of(thing)`; posted, `update(thing, form, now)` as `_updated` does, or the page again (422) with the form's
    errors and the thing as stored (the refusal rolled back)."""
    thing = _found(load, object_id)
    form = form_of(thing)
    if request.method == "POST":
        done = _updated(form, update=lambda now: update(thing, form, now), back=back)
        if done is not None:
            return done
        thing = _found(load, object_id)  # as stored (a refusal rolled back)
        return render_template(template, form=form, **{name: thing}), 422
    return render_template(template, form=form, **{name: thing})


def _service_errors(form, exc: DomainError) -> None:
    """A refusal of the service under the field it names (else at the top of the page)."""
    rollback()
    for name in exc.fields:
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, exc.message]
            return
    flash(exc.message, "error")


@bp.route("/categories", methods=["GET", "POST"])
@admin_only
def categories_index():
    form = CategoryNewForm()
    status = 200
    if request.method == "POST":
        done = _created(
            form,
            once="admin.category_new",
            create=lambda now: categories.create_category(_category_data(form), actor=current_user, now=now),
            said=lambda category: _("已添加分类 %(name)s", name=category.name),
            back="admin.categories_index",
        )
        if done is not None:
            return done
        status = 422
    return render_template(
        "admin/categories.html", rows=categories.list_all(), form=form, food_classes=categories.FOOD_CLASS_LABELS
    ), status


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@admin_only
def category_edit(category_id: int):
    return _edit_page(
        "admin/category_edit.html",
        "category",
        categories.get_category,
        category_id,
        form_of=lambda category: CategoryForm(obj=category),
        update=lambda category, form, now: categories.update_category(
            category, _category_data(form), actor=current_user, now=now
        ),
        back="admin.categories_index",
    )


# --- villages and stations ----------------------------------------------------------------------


@bp.get("/villages")
@admin_only
def villages_index():
    return render_template("admin/villages.html", rows=places.villages())


def _village_form(form_class, village=None):
    form = form_class(obj=village)
    form.township_id.choices = [SelectChoice(t.id, t.name) for t in places.townships()]
    return form


def _village_data(form: VillageForm) -> places.VillageData:
    return places.VillageData(
        name=form.name.data or "",
        township_id=form.township_id.data or None,
        is_poverty_village=bool(form.is_poverty_village.data),
        signature_product=form.signature_product.data or "",
        story=form.story.data or "",
    )


def _ask_namesakes(form, village=None):
    """A village named as a village of another township (`places.namesakes`) is asked first (shop.confirm):
    every list then names the two by their townships, and the household import wants 「乡镇·村」 for them.
    None when there is nothing to ask, the POST is the confirmed one, or the form or the service refuses
    the village (the page says why, unconfirmed, as the save would: `places.check_village`)."""
    if request.method != "POST" or not form.validate_on_submit():
        return None
    data = _village_data(form)
    try:
        places.check_village(data, village)
    except DomainError:
        rollback()
        return None
    others = places.namesakes(data, village)
    if not others:
        return None
    township = next((t.name for t in places.townships() if t.id == data.township_id), "")
    name = (data.name or "").strip()
    if village is None:
        question = _(
            "其他乡镇已有名为「%(name)s」的村：%(places)s。确认在%(township)s再添加一个「%(name)s」？",
            name=name,
            places=_("、").join(others),
            township=township,
        )
        back, button = url_for("admin.village_new"), _("仍然添加")
    else:
        question = _(
            "其他乡镇已有名为「%(name)s」的村：%(places)s。确认把这个村保存为%(township)s的「%(name)s」？",
            name=name,
            places=_("、").join(others),
            township=township,
        )
        back, button = url_for("admin.village_edit", village_id=village.id), _("仍然保存")
    return ask_first(
        question,
        back=back,
        details=[_("同名的村在各处的选择列表里以「乡镇 · 村」区分；导入农户花名册时，这些村须写成「乡镇·村」。")],
        button=button,
        undo=_("保存后仍可在村的编辑页改名或改乡镇。"),
    )


@bp.route("/villages/new", methods=["GET", "POST"])
@admin_only
def village_new():
    form = _village_form(VillageNewForm)
    asked = _ask_namesakes(form)
    if asked is not None:
        return asked
    return _new_page(
        "admin/village_edit.html",
        "village",
        form,
        once="admin.village_new",
        create=lambda now: places.create_village(_village_data(form), actor=current_user, now=now),
        said=lambda village: _("已添加村 %(name)s", name=village.name),
        back="admin.villages_index",
    )


@bp.route("/villages/<int:village_id>", methods=["GET", "POST"])
@admin_only
def village_edit(village_id: int):
    village = _found(places.get_village, village_id)
    asked = _ask_namesakes(_village_form(VillageForm, village), village)
    if asked is not None:
        return asked
    return _edit_page(
        "admin/village_edit.html",
        "village",
        places.get_village,
        village_id,
        form_of=lambda village: _village_form(VillageForm, village),
        update=lambda village, form, now: places.update_village(
            village, _village_data(form), actor=current_user, now=now
        ),
        back="admin.villages_index",
    )


@bp.get("/stations")
@admin_only
def stations_index():
    return render_template("admin/stations.html", rows=list_stations())


def _station_form(form_class, station=None):
    form = form_class(obj=station, village_ids=[v.id for v in station.villages] if station else [])
    form.village_ids.choices = [SelectChoice(v.id, f"{v.township.name} · {v.name}") for v in places.villages()]
    return form


def _station_data(form: StationForm) -> places.StationData:
    return places.StationData(
        code=form.code.data or "",
        name=form.name.data or "",
        address=form.address.data or "",
        hours=form.hours.data or "",
        phone=form.phone.data or "",
        village_ids=list(form.village_ids.data or []),
    )


@bp.route("/stations/new", methods=["GET", "POST"])
@admin_only
def station_new():
    form = _station_form(StationNewForm)
    return _new_page(
        "admin/station_edit.html",
        "station",
        form,
        once="admin.station_new",
        create=lambda now: places.create_station(_station_data(form), actor=current_user, now=now),
        said=lambda station: _("已添加站点 %(code)s", code=station.code),
        back="admin.stations_index",
    )


@bp.route("/stations/<int:station_id>", methods=["GET", "POST"])
@admin_only
def station_edit(station_id: int):
    return _edit_page(
        "admin/station_edit.html",
        "station",
        places.get_station,
        station_id,
        form_of=lambda station: _station_form(StationForm, station),
        update=lambda station, form, now: places.update_station(
            station, _station_data(form), actor=current_user, now=now
        ),
        back="admin.stations_index",
    )
