"""Form fields shared by the packages' forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField
from wtforms.validators import ValidationError

from shop.money import MoneyError, parse_yuan


class YuanField(StringField):
    """A price typed in yuan ('12.5'); `.fen` holds the integer fen after validation.

    `optional=True` accepts an empty field (then `.fen` is None): e.g. a weekend price that
    falls back to the weekday price.
    """

    fen: int | None = None

    def __init__(self, label=None, validators=None, *, optional: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.optional = optional

    def pre_validate(self, form):
        self.fen = None
        if self.optional and not (self.data or "").strip():
            return
        try:
            fen = parse_yuan(self.data or "")
        except MoneyError:
            raise ValidationError(_l("请输入正确的金额，例如 12.50")) from None
        if fen <= 0:
            raise ValidationError(_l("价格必须大于零"))
        self.fen = fen


class FormTokenField(HiddenField):
    """The once-per-form token (`shop.once`): drawn when the form is shown, claimed by the service."""

    def __init__(self, label=None, validators=None, **kwargs):
        from shop.once import new_form_token

        kwargs.setdefault("default", new_form_token)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        # a submitted form without its token gets none (not a fresh default): it is refused
        self.data = valuelist[0] if valuelist else ""

    def pre_validate(self, form):
        from shop.once import valid_token

        if not valid_token(self.data):
            raise ValidationError(_l("表单已过期，请刷新页面后重新提交"))
