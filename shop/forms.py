"""Form fields shared by the packages' forms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask import abort, flash, redirect, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, StringField  # noqa: TID251 (WholeNumberField's base)
from wtforms.validators import ValidationError

from shop.args import MAX_DATE, MIN_DATE, check_date, half_width, parse_count
from shop.db import commit, rollback
from shop.kept_form import LEFT_OUT
from shop.kept_form import restored as restored_form
from shop.money import AmountTooLarge, MoneyError, NegativeAmount, format_yuan, parse_yuan
from shop.once import AlreadySubmitted, claim_or_refuse, new_form_token, valid_token

T = TypeVar("T")


def flash_form_errors(form) -> None:
    """Each error of a refused form as a flash message that names its field ("重量（克）：…"), for
    the top of the page; the `field` macro (templates/_macros/catalog.html) shows the same error under
    the field itself. A hidden field's error (an expired page) is said without a field name."""
    for name, errors in form.errors.items():
        field = getattr(form, name, None)
        hidden = field is None or getattr(field.widget, "input_type", "") == "hidden"
        for error in errors:
            if hidden:
                flash(str(error), "error")
            else:
                flash(_("%(field)s：%(error)s", field=field.label.text, error=error), "error")


def mark_refused_fields(form, exc) -> None:
    """A service's refusal (a `DomainError`) under every field of `form` it names (`exc.fields`; a name
    ending in `_fen` is its yuan field, `price_fen` -> `price`), besides the flash at the top that the view
    gives: the fields' values in `exc.fields` are machine codes, so each shows the message itself."""
    for name in exc.fields:
        for candidate in (name, name.removesuffix("_fen")):
            if candidate in form:  # a field of the form (not one of its other attributes)
                form[candidate].errors = list(form[candidate].errors) + [exc.message]
                break


class DayField(DateField):
    """A date field accepting only dates within [MIN_DATE, MAX_DATE] (shop/args.py): adding days to
    what it holds never overflows."""

    def pre_validate(self, form):
        if self.data is not None:
            try:
                check_date(self.data)
            except ValueError:
                self.data = None
                raise ValidationError(
                    _l("日期须在 %(min)s 到 %(max)s 之间", min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())
                ) from None


#: WTForms' own msgid for a field that is no whole number (said through BUILTIN_MESSAGES as 请输入整数); a name, so
#: that extraction does not take WTForms' English into the shop's catalogue.
_NOT_AN_INTEGER = "Not a valid integer value."


class WholeNumberField(IntegerField):
    """The whole-number field of every form (WTForms' `IntegerField` reads with `int()`, which takes `٣`,
    `३` and `1_000`): ASCII digits with an optional sign, full-width ones as a Chinese input method types
    them (`３`, `－３`) made ASCII (`shop.args.half_width`); anything else, other scripts' digits too, is the
    error a non-number gets, 请输入整数. A whole number too large to hold is read as the largest INTEGER
    (`shop.args.parse_count`), so the field's `NumberRange` says its range and nothing downstream overflows;
    the page shows what was typed."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = half_width(str(valuelist[0])).strip()
        try:
            self.data = parse_count(text[1:] if text.startswith("+") and text[1:2] != "-" else text)
        except ValueError:
            self.data = None
            raise ValueError(self.invalid_value_message or self.gettext(_NOT_AN_INTEGER)) from None


class YuanField(StringField):
    """A price typed in yuan ('12.5'); `.fen` holds the integer fen after validation.

    `optional=True` accepts an empty field (then `.fen` is None): e.g. a weekend price that
    falls back to the weekday price. A negative amount is said as zero is, `not_positive` (价格必须大于零 unless
    the field is not a price: cash received says its own); `max_fen`, when given, is the highest price the
    form takes (its service's limit), and a higher one, however high, is said as 价格不能超过 ¥… rather than as
    请输入正确的金额.
    """

    fen: int | None = None

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        optional: bool = False,
        max_fen: int | None = None,
        not_positive=None,
        **kwargs,
    ):
        super().__init__(label, validators, **kwargs)
        self.optional = optional
        self.max_fen = max_fen
        self.not_positive = not_positive if not_positive is not None else _l("价格必须大于零")

    def pre_validate(self, form):
        self.fen = None
        if self.optional and not (self.data or "").strip():
            return
        try:
            fen = parse_yuan(self.data or "")
        except NegativeAmount:
            raise ValidationError(self.not_positive) from None
        except AmountTooLarge:
            if self.max_fen is None:
                raise ValidationError(_l("请输入正确的金额，例如 12.50")) from None
            raise self._too_high() from None
        except MoneyError:
            raise ValidationError(_l("请输入正确的金额，例如 12.50")) from None
        if fen <= 0:
            raise ValidationError(self.not_positive)
        if self.max_fen is not None and fen > self.max_fen:
            raise self._too_high()
        self.fen = fen

    def _too_high(self) -> ValidationError:
        return ValidationError(_l("价格不能超过 %(max)s", max=format_yuan(self.max_fen)))


class OnceTokenField(HiddenField):
    """The once-token of every form that creates something (`shop.once`), one behaviour for all:

    - drawn when the form is shown (a fresh token per page), and drawn afresh when a form refused
      without a valid one is shown again (`__call__`), so every page's form can be sent;
    - a POST must send it back: a missing or malformed token is a form error ("表单已过期，请刷新页面后
      重新提交") and nothing is created;
    - the view creates through `create_once(form, form_name, create, …)`, which claims it (`claim`) in the
      transaction that creates the object: a second POST of the same page (a double tap, a resubmitted
      page, a retry after a slow upload) finds it claimed (`shop.once.AlreadySubmitted`), creates nothing
      and is sent where the first POST's result is.

    The JSON API has no such token yet: a client that retries a POST after a lost answer should look
    for what it created (GET /orders, GET /bookings) before sending it again."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("default", new_form_token)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        # a submitted form without its token gets none (not a fresh default): it is refused
        self.data = valuelist[0] if valuelist else ""

    def pre_validate(self, form):
        if not valid_token(self.data):
            raise ValidationError(_l("表单已过期，请刷新页面后重新提交"))

    def __call__(self, **kwargs):
        """Drawn into a page, the field always carries a token that can be sent: a form refused without
        one (or with a malformed one) and shown again with what was typed gets a fresh one, since this
        is a new showing of the form; a valid one is kept (it is unclaimed: the refusal rolled back)."""
        if not valid_token(self.data):
            self.data = new_form_token()
        return super().__call__(**kwargs)

    def claim(self, form_name: str, *, user_id: int | None, now) -> None:
        """Claim this form's token (flushes only: it commits with what the form creates)."""
        claim_or_refuse(form_name, self.data, user_id=user_id, now=now)


def create_once(form, name: str, create: Callable[[], T], *, now: datetime, done: str) -> T:
    """What a form creates, created once: the form's once-token (its `form_token`, an `OnceTokenField`)
    claimed as `name` for the signed-in user, then `create()`, then the commit; returns what `create()` made.

    The same page posted again (a double tap, a resubmitted page, a retry after a slow upload) finds its
    token claimed: nothing is created, the transaction is rolled back, the user is told the first POST did it
    (an "info" flash: not an error) and sent to `done` with a 303 — raised as `abort(redirect(...))`, so the
    view reads on only with what was created. A `DomainError` of `create()` (or a malformed token) reaches the
    view, which rolls back and shows it on its form::

        try:
            booking = create_once(form, "tourism.book", lambda: book(...), now=now, done=url_for(".my_bookings"))
        except DomainError as exc:
            rollback()
            ...  # the form again, with the reason
    """
    try:
        form.form_token.claim(name, user_id=current_user.id, now=now)
        created = create()
        commit()
    except AlreadySubmitted as exc:
        rollback()
        flash(exc.message, "info")
        abort(redirect(done, 303))
    return created


#: WTForms' built-in messages (its English msgids) as this shop says them, through its own catalogue:
#: no field name ("password") or WTForms' own Chinese ("字段必须和 password 相等。") reaches a page.
#: Placeholders (%(min)d, %(max)d) are filled by WTForms after the lookup.
BUILTIN_MESSAGES = {
    "This field is required.": _l("请填写此项"),
    "Invalid email address.": _l("请填写有效的邮箱地址"),
    "Field must be equal to %(other_name)s.": _l("两次输入不一致"),
    "Field must be at least %(min)d character long.": _l("至少需要 %(min)d 个字符"),
    "Field must be at least %(min)d characters long.": _l("至少需要 %(min)d 个字符"),
    "Field cannot be longer than %(max)d character.": _l("最多 %(max)d 个字符"),
    "Field cannot be longer than %(max)d characters.": _l("最多 %(max)d 个字符"),
    "Field must be exactly %(max)d character long.": _l("必须是 %(max)d 个字符"),
    "Field must be exactly %(max)d characters long.": _l("必须是 %(max)d 个字符"),
    "Field must be between %(min)d and %(max)d characters long.": _l("长度须为 %(min)d 到 %(max)d 个字符"),
    "Number must be at least %(min)s.": _l("不能小于 %(min)s"),
    "Number must be at most %(max)s.": _l("不能大于 %(max)s"),
    "Number must be between %(min)s and %(max)s.": _l("须在 %(min)s 到 %(max)s 之间"),
    "Date must be at least %(min)s.": _l("日期不能早于 %(min)s"),
    "Date must be at most %(max)s.": _l("日期不能晚于 %(max)s"),
    "Date must be between %(min)s and %(max)s.": _l("日期须在 %(min)s 到 %(max)s 之间"),
    "Invalid input.": _l("格式不正确"),
    "Invalid URL.": _l("网址不正确"),
    "Not a valid choice.": _l("请选择一个有效的选项"),
    "Invalid Choice: could not coerce.": _l("请选择一个有效的选项"),
    "Not a valid integer value.": _l("请输入整数"),
    "Not a valid decimal value.": _l("请输入数字"),
    "Not a valid float value.": _l("请输入数字"),
    "Not a valid date value.": _l("请输入有效的日期"),
    "Not a valid datetime value.": _l("请输入有效的日期和时间"),
    "Not a valid time value.": _l("请输入有效的时间"),
    "Invalid value, must be one of: %(values)s.": _l("请选择一个有效的选项"),
    "Invalid value, can't be any of: %(values)s.": _l("这个值不可用"),
    "This field cannot be edited.": _l("此项不能修改"),
    "This field is disabled and cannot have a value.": _l("此项不能填写"),
    # Flask-WTF's form-level CSRF check
    "The CSRF token is missing.": _l("页面已过期，请刷新后重试"),
    "The CSRF token is invalid.": _l("页面已过期，请刷新后重试"),
    "The CSRF token has expired.": _l("页面已过期，请刷新后重试"),
    "The CSRF tokens do not match.": _l("页面已过期，请刷新后重试"),
}


class _Messages:
    """WTForms' translations object (`gettext`/`ngettext`): built-in messages from BUILTIN_MESSAGES in the
    request's language; a message WTForms has that the shop has not mapped stays as WTForms wrote it
    (tests/test_messages_locale.py checks every form's messages are mapped)."""

    def gettext(self, string):
        message = BUILTIN_MESSAGES.get(str(string))
        return str(message) if message is not None else string  # a lazy string: the request's language

    def ngettext(self, singular, plural, n):
        return self.gettext(singular if n == 1 else plural)


class ShopForm(FlaskForm):
    """The base of every form of the shop: Flask-WTF (CSRF) with WTForms' built-in messages in the
    shop's own words and language (`Meta.get_translations`, WTForms' documented hook).

    Shown on a GET of the address a signed-out visitor posted it to, before signing in, it holds what
    they typed then (`shop.kept_form.restored()`; `restored` true): a view that sets defaults on GET
    leaves those fields alone then. A form of the page none of whose fields were kept stays as it is."""

    restored = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kept = restored_form() if not args and "formdata" not in kwargs and request.method == "GET" else None
        if kept and any(f.name in kept for f in self if f.name not in LEFT_OUT):
            self.process(formdata=kept)
            self.restored = True

    class Meta:
        def get_translations(self, form):
            return _Messages()


class OnceTokenForm(ShopForm):
    """Only the once-token (`form_token`), for a page whose fields are read by hand from `request.form` (the
    county's benefit sheet with its rows, the period invoice request): it too creates through `create_once`,
    so a second POST of the page is the shop's usual "already done" (an info flash and a 303), not an
    error. The page draws its token with `shop.once.new_form_token()` into a hidden `form_token` input."""

    form_token = OnceTokenField()
