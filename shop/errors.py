"""Domain errors and the HTML/JSON error handlers.

Services raise `DomainError` subclasses carrying a stable machine `code` (one message per code), the
message's parameters and, for form-like input, `fields`; they never translate. The message is looked up
in one place, `error_message(code, params)`, through the code's catalogue entry (`<package>/errors.py`
registers its codes with `register_messages`) in the reader's language: the API turns an error into
docs/api.md's `{"error": {"code", "message", "fields"}}` envelope, the HTML views into a flash message or
an error page. Nothing reaches the user as a 500 that we can name.

A message that says a count of things ("最多预订 %(num)s 晚") is declared with `Nn_(singular, plural,
count="nights")` and shown through ngettext, so English says "1 night" and "2 nights": the same Chinese
twice with `%(num)s` for the count (scripts/i18n.sh's rule for counts), and `count` names the raise
site's parameter holding it (`DomainError("too_many_nights", nights=14)`).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app, flash, g, jsonify, render_template, request
from flask_babel import gettext, ngettext
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, SecurityError

from shop.db import rollback
from shop.money import format_yuan
from shop.urls import same_site_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counted:
    """A message that says a count of things, shown through ngettext (`Nn_` makes one). `singular` and
    `plural` are the same Chinese with `%(num)s` for the count; `count` is the name of the message
    parameter that holds it, as the raise sites give it (`n`, `nights`, `max`...)."""

    singular: str
    plural: str
    count: str


#: code -> its message: the Chinese msgid, or a `Counted` pair of them. Every code a service raises has
#: one entry (`tests/test_error_codes.py` walks the raise sites and the English catalogue).
MESSAGES: dict[str, str | Counted] = {}


def N_(msgid: str) -> str:
    """Mark a msgid for the catalogue (pybabel extracts `N_`); it is translated when shown."""
    return msgid


def Nn_(singular: str, plural: str, *, count: str) -> Counted:
    """Mark a counted message for the catalogue (scripts/i18n.sh extracts `Nn_` as ngettext's pair): the
    count is the parameter `count` of the raise site, shown as `%(num)s`. English gets "%(num)s night"
    and "%(num)s nights" (msgstr[0], msgstr[1])."""
    return Counted(singular, plural, count)


def register_messages(messages: dict[str, str | Counted]) -> None:
    """Add a package's codes; a code means one message, whichever package registers it."""
    for code, msgid in messages.items():
        if MESSAGES.get(code, msgid) != msgid:
            raise ValueError(f"error code {code!r} registered twice with different messages")
        MESSAGES[code] = msgid


def error_message(code: str, params: dict | None = None) -> str:
    """The message of `code` with its parameters, in the current request's language (a counted one in
    the singular or plural form its count asks for)."""
    msgid = MESSAGES.get(code)
    if msgid is None:
        log.error("error code %r has no message", code)
        return gettext("请求有误。")
    if isinstance(msgid, Counted):
        values = dict(params or {})
        return ngettext(msgid.singular, msgid.plural, int(values.pop(msgid.count)), **values)
    return gettext(msgid, **(params or {}))


#: The kernel's own codes (and the classes' default codes).
register_messages(
    {
        "account_deactivated": N_("账号已停用，请联系管理员"),
        "already_submitted": N_("此表单已提交过，没有重复创建"),
        "conflict": N_("操作与当前状态冲突，请刷新后重试"),
        "current_password_wrong": N_("当前密码不正确"),
        "email_taken": N_("该邮箱已注册"),
        "forbidden": N_("您的角色无权进行此操作"),
        "form_token_invalid": N_("表单已过期，请刷新页面后重新提交"),
        "illegal_transition": N_("当前状态不允许此操作"),
        "invalid": N_("请求有误。"),
        "invalid_credentials": N_("邮箱或密码不正确"),
        "invalid_email": N_("请填写有效的邮箱地址"),
        "invalid_json": N_("请求正文必须是 JSON 对象"),
        "invalid_token": N_("令牌无效或已过期"),
        "json_too_deep": Nn_(
            "请求正文嵌套过深（最多 %(num)s 层）", "请求正文嵌套过深（最多 %(num)s 层）", count="depth"
        ),
        "login_required": N_("请先登录"),
        "not_found": N_("您要找的内容不存在"),
        "operator_needs_station": N_("站点操作员必须属于一个站点"),
        "password_too_long": N_("密码太长"),
        "password_too_short": Nn_("密码至少需要 %(num)s 个字符", "密码至少需要 %(num)s 个字符", count="n"),
        "password_unchanged": N_("新密码不能与当前密码相同"),
        "price_not_positive": N_("价格必须大于零"),
        "price_too_high": N_("价格不能超过 %(max)s"),
        "service_unavailable": N_("服务暂时不可用，请稍后再试"),
        "unauthorized": N_("请使用 Authorization: Bearer <令牌>"),
        "unknown_role": N_("未知角色"),
        "unknown_status": N_("未知状态"),
        "validation_error": N_("请求有误，请检查标出的项"),
    }
)


class DomainError(Exception):
    """A rule of the domain refused the action. `status` is the HTTP status the API uses; `code` names
    the rule (and its message: `error_message`); keyword arguments are the message's parameters."""

    status = 422
    code = "invalid"

    def __init__(self, code: str | None = None, /, *, fields: dict | None = None, **params):
        if code:
            self.code = code
        super().__init__(self.code)
        self.params = params
        self.fields = fields or {}

    @property
    def message(self) -> str:
        """The message in the current request's language (read it inside a request or app context)."""
        return error_message(self.code, self.params)

    def __str__(self) -> str:
        return f"{self.code} {self.params}" if self.params else self.code


class ValidationError(DomainError):
    status = 422
    code = "validation_error"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Conflict(DomainError):
    """Stock, availability, illegal state transitions."""

    status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


def check_price_fen(value, *, limit: int, field: str = "price_fen") -> None:
    """A price typed by an owner: a positive integer of fen up to `limit`. Too high is said as such
    (价格不能超过 ¥…), not as 价格必须大于零."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValidationError("price_not_positive", fields={field: "invalid"})
    if value > limit:
        raise ValidationError("price_too_high", max=format_yuan(limit), fields={field: "too high"})


class ServiceUnavailable(DomainError):
    """A service we depend on (e.g. the payment provider) cannot be reached: nothing changed, retry later."""

    status = 503
    code = "service_unavailable"


@contextmanager
def flash_domain_errors():
    """For HTML actions: a refused action rolls back and becomes an error flash message.

    with flash_domain_errors():
        service(...)
        commit()
        flash(_("done"), "success")
    return redirect(...)
    """
    try:
        yield
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


def http_message(exc: HTTPException) -> str | None:
    """What an HTTP error says to a person, in their language; None for the status's generic text.
    Werkzeug's and the extensions' own descriptions are English ("The CSRF token is invalid.",
    a rate limit's "10 per 1 minute") and never shown: only messages the shop wrote itself
    (`abort(400, _("…"))`) are."""
    if isinstance(exc, CSRFError):
        return gettext("页面已过期，请刷新后重试")
    if exc.code == 429:
        return gettext("操作太频繁，请稍后再试")
    if exc.code == 413:  # the whole request over MAX_CONTENT_LENGTH (a photo straight off the camera, a scan)
        return gettext("每个文件最大 %(mb)s MB，请返回上一页换一个较小的文件。", mb=upload_limit_mb())
    if exc.description == type(exc).description:
        return None
    return exc.description


def upload_limit_mb() -> int:
    """The per-file upload limit (`MAX_UPLOAD_BYTES`, read as `shop.uploads.max_upload_bytes` does) in
    whole megabytes, as the forms' labels say it."""
    return max(1, int(current_app.config.get("MAX_UPLOAD_BYTES", 5 * 1024 * 1024)) // (1024 * 1024))


def generic_http_message(status: int) -> str:
    """The status's text for a person (the API's message when nothing more precise is known)."""
    if status >= 500:
        return gettext("服务器出错了，请稍后再试。")
    if status == 404:
        return gettext("页面不存在。")
    if status == 403:
        return gettext("您没有权限访问此页面。")
    if status == 401:
        return gettext("请先登录。")
    return gettext("请求有误。")


def http_error_response(exc: HTTPException):
    """An HTTP error as the API's error envelope or the error page, with `http_message`'s words (the
    handler of every HTTPException; `shop.resubmit` answers a CSRF error with it when it does not show
    the form again)."""
    status = exc.code or 500
    message = http_message(exc)
    if wants_json():
        return json_error(status, _HTTP_CODES.get(status, "error"), message or generic_http_message(status))
    return error_page(status, message)


#: The error pages that link back to the page they came from (返回上一页): a page one may not open (403) or
#: that is none (404), whose visitor followed a link and wants to go on from where they were; 413 says "go
#: back and pick a smaller file" (without a Referer of this site its page goes back in the tab's history).
WAY_BACK_STATUSES = (403, 404, 413)


def error_page(status: int, message: str | None):
    """The error page (templates/errors/error.html) of `status`, its ways back included: the page it came
    from when the Referer is a page of this site other than this one (a foreign Referer is never linked),
    and, on a 403 or 404, the signed-in user's own work area (the template's `desk`) or 登录 for a visitor."""
    back = None
    if status in WAY_BACK_STATUSES:
        back = same_site_path(request.referrer, host=request.host)
        if back is not None and back.split("#", 1)[0] == request.full_path.rstrip("?"):
            back = None  # (a link back to this very page leads nowhere)
    return render_template("errors/error.html", status=status, message=message, back=back), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        rollback()
        if wants_json():
            return json_error(exc.status, exc.code, exc.message, exc.fields)
        return error_page(exc.status, exc.message)

    @app.errorhandler(SecurityError)
    def _untrusted_host(_exc: SecurityError):
        """A Host (or X-Forwarded-Host) outside TRUSTED_HOSTS: no URL can be built for it, so the
        answer is a plain 400, not the error page (whose links need the request's URL adapter)."""
        return gettext("请求有误。"), 400, {"Content-Type": "text/plain; charset=utf-8"}

    app.register_error_handler(HTTPException, http_error_response)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            rollback()
        except Exception:  # the database may be what failed
            log.exception("rollback failed")
        if wants_json():
            return json_error(500, "server_error", "Internal server error")
        return render_template("errors/error.html", status=500, message=None), 500


#: Set on `g` when this request found the database unreachable: its error answer reads nothing more from
#: it, not even the signed-in account's saved language (the locale selector, `shop._configure_i18n`, then
#: goes by `?lang=`, the session's choice or Chinese).
DATABASE_FAILED = "database_failed"


def register_outage_handler(app) -> None:
    """The database unreachable (a PostgreSQL restart, a failover) or a transient lock/serialisation
    failure: roll back and answer 503 with Retry-After, in the API's error envelope or the error page.
    Nothing was written (the transaction is gone); the pool replaces the dead connections (SQLAlchemy
    invalidates the pool on a disconnect, `ping_idle_connections` checks idle ones), so the next
    requests work again without restarting the app."""

    def _unavailable(exc):
        log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        setattr(g, DATABASE_FAILED, True)
        try:
            rollback()
        except Exception:  # the connection is what failed; the pool discards it
            log.debug("rollback after a database error failed", exc_info=True)
        message = _("服务器出错了，请稍后再试。")
        if wants_json():
            response, status = json_error(503, "service_unavailable", message)
        else:
            try:
                response, status = render_template("errors/error.html", status=503, message=message), 503
            except Exception:  # the page itself needs the database (the signed-in user)
                response, status = message, 503
        response = app.make_response((response, status))
        response.headers["Retry-After"] = "1"
        return response

    app.register_error_handler(OperationalError, _unavailable)
    app.register_error_handler(InterfaceError, _unavailable)
