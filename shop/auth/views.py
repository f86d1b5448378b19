"""Login, logout, registration (HTML)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user, make_next_param

from shop import kept_form
from shop.auth.forms import LoginForm, RegisterForm
from shop.auth.services import (
    Registration,
    authenticate,
    end_sessions,
    register_user,
    session_account_deactivated,
    user_by_id,
)
from shop.db import commit
from shop.errors import DomainError
from shop.security import AUTH_LIMIT, limiter
from shop.timeutil import now_utc
from shop.urls import same_site_path

bp = Blueprint("auth", __name__)

#: Hooks run after a successful login with (user, previous session dict), e.g. merging a guest cart.
LOGIN_HOOKS: list = []

#: Where each role lands after signing in when no safe `next` is given: role -> endpoint. Filled by
#: the domain packages' `init_app` (stations: operator; tourism: host; county; admin), so the kernel
#: names none of them; a role with no entry (consumer) lands on the home page.
ROLE_HOMES: dict[str, str] = {}


#: The sign-in page's query argument saying that `next` needs an account (set only by needs_account):
#: a 登录 or 注册 tapped in the header carries the page it was tapped on as `next` too, which needs none.
NEEDS_ACCOUNT_ARG = "need"


def needs_account():
    """Flask-Login's unauthorized handler: what Flask-Login does by default (to the sign-in page with the
    page asked for as `next`, no flash in an anonymous session), and the page says why
    (templates/auth/_sign_in_reason.html): an account deactivated while signed in is told so. A form posted there is kept for its page after signing in
    (`shop.kept_form`), and the sign-in page says so (`need=form`)."""
    login = url_for("auth.login")
    if session_account_deactivated(session.get("_user_id")):
        need = "deactivated"  # the account of this browser's session was deactivated: signing in will not do
    else:
        need = "form" if kept_form.keep_for_sign_in() else "account"
    return redirect(url_for("auth.login", next=make_next_param(login, request.url), **{NEEDS_ACCOUNT_ARG: need}))


def safe_next(target: str | None, default: str = "home.index") -> str:
    """Only same-site relative paths are followed after login ('//evil', 'http://…' are not)."""
    return same_site_path(target) or url_for(default)


def landing(user, target: str | None) -> str:
    """After signing in: a safe `next` if given, else the user's role's workspace (ROLE_HOMES)."""
    return safe_next(target, ROLE_HOMES.get(str(user.role), "home.index"))


def sign_in(user) -> None:
    """The one way a browser session becomes signed in (login and registration alike): the session
    is rotated, every LOGIN_HOOKS hook (e.g. the guest cart merge) runs with the guest's session,
    and everything is committed together. Callers must not sign in any other way."""
    guest = dict(session)
    session.clear()  # rotate: nothing of the anonymous session survives but what hooks carry over
    kept_form.carry(guest)  # what the guest typed into a form that needed an account
    if "lang" in guest:
        session["lang"] = guest["lang"]
        if guest["lang"] in current_app.config["LANGUAGES"]:
            user.locale = guest["lang"]  # the language the account's e-mails are written in
    login_user(user)
    for hook in LOGIN_HOOKS:
        hook(user, guest)
    commit()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def login():
    if current_user.is_authenticated and request.method == "GET" and request.args.get("next"):
        # signed in already (the back button from the checkout it led to): go on where it led
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except DomainError as exc:  # account_deactivated: the password was right
            user = None
            form.password.errors.append(exc.message)
        else:
            if user is None:
                form.password.errors.append(_("邮箱或密码不正确"))
        if user is not None:
            sign_in(user)
            flash(_("欢迎回来，%(name)s", name=user.name or user.email), "success")
            return redirect(landing(user, request.args.get("next")))
    return render_template("auth/login.html", form=form), (422 if form.errors else 200)


@bp.post("/logout")
@login_required
def logout():
    end_sessions(user_by_id(current_user.id))  # server-side: a copy of this cookie signs nobody in
    commit()
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("已退出登录"), "info")
    return redirect(url_for("home.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def register():
    if current_user.is_authenticated:  # (the back button from the checkout it led to): go on where it led
        return redirect(safe_next(request.args.get("next")))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = register_user(
                Registration(email=form.email.data, password=form.password.data, name=form.name.data or ""),
                now=now_utc(),
            )
        except DomainError as exc:  # the message is already in the request's language
            field = form.password if "password" in exc.fields else form.email
            field.errors.append(exc.message)
        else:
            sign_in(user)  # the account, the session and the guest's cart commit together
            flash(_("注册成功"), "success")
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/register.html", form=form), (422 if form.errors else 200)
