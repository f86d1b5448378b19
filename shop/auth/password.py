"""Password change (logs out every other session and token), reset by e-mailed, single-use,
expiring link, and the first password of an account the admin created (`send_setup_link`).

Both links carry a token signed (itsdangerous) over the user id and a fingerprint of the current password
hash and auth version: once the password changes, every earlier link stops working (single use). Each kind
has its own salt, so a reset link (valid for an hour) is never accepted as a set-up link (valid for
ACCOUNT_SETUP_DAYS) nor the other way round.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from shop.auth.forms import new_password_field
from shop.auth.models import User
from shop.auth.services import change_own_password, change_password, get_user_by_email, user_by_id
from shop.celery import enqueue_after_commit
from shop.db import commit
from shop.errors import DomainError
from shop.extensions import db
from shop.forms import ShopForm, mark_refused_fields
from shop.mail import send_mail
from shop.security import AUTH_LIMIT, limiter
from shop.urls import external_url

bp = Blueprint("password", __name__, url_prefix="/password")

RESET_MAX_AGE = 3600  # seconds
RESET_SALT = "password-reset"
SETUP_SALT = "account-setup"


class ForgotForm(ShopForm):
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])


class ResetForm(ShopForm):
    password = new_password_field(_l("新密码"))
    confirm = PasswordField(_l("确认密码"), validators=[DataRequired(), EqualTo("password")])


class ChangeForm(ResetForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(), Length(max=200)])


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"{user.password_hash}:{user.auth_version}".encode()).hexdigest()[:16]


def _make_token(user: User, salt: str) -> str:
    return _serializer(salt).dumps({"uid": user.id, "fp": _fingerprint(user)})


def _user_for_token(token: str, salt: str, max_age: int) -> User | None:
    """The active user `token` names, if it is no older than `max_age` seconds and the password has not
    changed since it was made; else None."""
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    uid = data.get("uid") if isinstance(data, dict) else None
    user = db.session.get(User, uid) if isinstance(uid, int) else None
    if user is None or not user.is_active or data.get("fp") != _fingerprint(user):
        return None
    return user


def make_reset_token(user: User) -> str:
    return _make_token(user, RESET_SALT)


def user_for_reset_token(token: str, max_age: int = RESET_MAX_AGE) -> User | None:
    return _user_for_token(token, RESET_SALT, max_age)


def setup_link_days() -> int:
    """How many days a set-up link stays valid (ACCOUNT_SETUP_DAYS)."""
    return int(current_app.config["ACCOUNT_SETUP_DAYS"])


def make_setup_token(user: User) -> str:
    return _make_token(user, SETUP_SALT)


def user_for_setup_token(token: str, max_age: int | None = None) -> User | None:
    """The account a set-up link names, while it is valid (ACCOUNT_SETUP_DAYS) and no password was set since."""
    return _user_for_token(token, SETUP_SALT, setup_link_days() * 86400 if max_age is None else max_age)


def send_setup_link(user: User) -> None:
    """Mail `user` (an account the admin just created, with a random password no one knows) a link to set
    their own password, after the caller's commit (through the outbox, as every mail). The mail is written
    now, in the account's language (Chinese when it has none yet: the shop's default), so the link in it
    is made from the password hash as it is now and stops working once a password is set."""
    link = external_url("password.setup", token=make_setup_token(user))
    days = setup_link_days()
    with force_locale(user.locale or "zh_CN"):
        subject = _("乡村e线：请设置您的账号密码")
        body = ngettext(
            "管理员已为您（%(email)s）开通乡村e线账号。请在 %(num)s 天内打开以下链接设置密码"
            "（仅可使用一次）：\n%(link)s\n链接过期后，可在登录页点击“忘记密码？”重新获取。",
            "管理员已为您（%(email)s）开通乡村e线账号。请在 %(num)s 天内打开以下链接设置密码"
            "（仅可使用一次）：\n%(link)s\n链接过期后，可在登录页点击“忘记密码？”重新获取。",
            days,
            email=user.email,
            link=link,
        )
    enqueue_after_commit(send_mail, user.email, subject, body)


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def forgot():
    form = ForgotForm()
    if form.validate_on_submit():
        user = get_user_by_email(form.email.data)
        if user is not None and user.is_active:
            link = external_url("password.reset", token=make_reset_token(user))
            # the account holder's language (the page's when the account has none yet)
            with force_locale(user.locale or str(get_locale())):
                subject = _("乡村e线：重设密码")
                body = _("请在一小时内打开以下链接重设密码（仅可使用一次）：\n%(link)s", link=link)
            enqueue_after_commit(send_mail, user.email, subject, body)
        commit()
        # the same answer whether or not the address is registered
        flash(_("如果该邮箱已注册，我们已发送重设密码的邮件。"), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/password_forgot.html", form=form), (422 if form.errors else 200)


def _new_password_page(user: User | None, *, invalid: str, done: str, template: str, **context):
    """The page behind an e-mailed link (reset or first password): `invalid` flashed and back to 忘记密码
    when the link names no user any more, else the form; a valid one sets the password, `done` flashed."""
    if user is None:
        flash(invalid, "error")
        return redirect(url_for("password.forgot"))
    form = ResetForm()
    if form.validate_on_submit():
        change_password(user, form.password.data)
        commit()
        flash(done, "success")
        return redirect(url_for("auth.login"))
    return render_template(template, form=form, **context), (422 if form.errors else 200)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    return _new_password_page(
        user_for_reset_token(token),
        invalid=_("重设链接无效或已过期。"),
        done=_("密码已重设，请重新登录。"),
        template="auth/password_reset.html",
    )


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token: str):
    """The first password of an account the admin created (the link of `send_setup_link`)."""
    user = user_for_setup_token(token)
    return _new_password_page(
        user,
        invalid=_("设置密码的链接无效、已使用或已过期：请在这里重新获取。"),
        done=_("密码已设置，请登录。"),
        template="auth/password_setup.html",
        email=user.email if user is not None else "",
    )


@bp.route("/change", methods=["GET", "POST"])
@login_required
def change():
    form = ChangeForm()
    if form.validate_on_submit():
        user = user_by_id(current_user.id)  # the signed-in User itself (the request's identity map)
        try:
            change_own_password(user, current=form.current.data, new=form.password.data)
        except DomainError as exc:
            mark_refused_fields(form, exc)
        else:
            commit()
            login_user(user)  # this session carries the new auth version; all others end
            flash(_("密码已修改，其他设备已退出登录。"), "success")
            return redirect(url_for("home.index"))
    return render_template("auth/password_change.html", form=form), (422 if form.errors else 200)
