"""Forms of the review pages (Flask-WTF; CSRF included)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from reviews.models import MAX_BODY, MAX_REPLY
from shop.args import parse_int
from shop.forms import ShopForm

RATING_MESSAGE = _l("请给出 1 到 5 星的评分")


class ReviewForm(ShopForm):
    #: None chosen, or a value no star is (a tampered 0, 6, "abc" or "٣", which int() reads as 3): the rating's
    #: own message, once, not WTForms' generic 请选择一个有效的选项 (the radios are marked required by the template).
    rating = RadioField(
        _l("评分"),
        coerce=parse_int,
        choices=[SelectChoice(n, str(n)) for n in (5, 4, 3, 2, 1)],
        invalid_value_message=RATING_MESSAGE,
        invalid_choice_message=RATING_MESSAGE,
    )
    body = TextAreaField(_l("评价内容"), validators=[Optional(), Length(max=MAX_BODY)])
    photos = MultipleFileField(_l("照片（最多 3 张，JPEG/PNG/WebP/GIF/HEIC，每张最大 5MB）"))


class ReplyForm(ShopForm):
    body = TextAreaField(_l("回复"), validators=[InputRequired(), Length(max=MAX_REPLY)])


class HideForm(ShopForm):
    reason = TextAreaField(_l("隐藏原因"), validators=[InputRequired(), Length(max=200)])
