"""Forms of the organisation and purchase pages (Flask-WTF; CSRF included)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from institutions.labels import KIND_LABELS, ROLE_LABELS
from institutions.services.organisations import LIMITS
from shop.forms import ShopForm


class OrganisationForm(ShopForm):
    name = StringField(_l("单位名称"), validators=[InputRequired(), Length(max=LIMITS["name"])])
    kind = SelectField(_l("单位类型"), choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()], validators=[InputRequired()])
    credit_code = StringField(_l("统一社会信用代码（18 位）"), validators=[InputRequired(), Length(max=30)])
    address = StringField(_l("单位地址"), validators=[InputRequired(), Length(max=LIMITS["address"])])
    contact_name = StringField(_l("联系人"), validators=[InputRequired(), Length(max=LIMITS["contact_name"])])
    contact_phone = StringField(_l("联系电话"), validators=[InputRequired(), Length(max=LIMITS["contact_phone"])])


class MemberForm(ShopForm):
    email = StringField(_l("成员的登录邮箱"), validators=[InputRequired(), Length(max=254)])
    role = SelectField(_l("角色"), choices=[SelectChoice(k, v) for k, v in ROLE_LABELS.items()], validators=[InputRequired()])


class DecisionForm(ShopForm):
    reason = TextAreaField(_l("原因（不通过时必填）"), validators=[Optional(), Length(max=400)])
