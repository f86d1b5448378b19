"""Forms of the admin's workspace (CSRF-protected; the rules themselves are in admin.services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from admin.services.categories import FOOD_CLASS_LABELS
from shop.args import coerce_id
from shop.forms import OnceTokenField, ShopForm


class RoleForm(ShopForm):
    #: Not validated against the choices here: an unknown role is the service's `unknown_role` (未知角色).
    role = SelectField(_l("角色"), validate_choice=False)
    #: 0: no station (every role but operator).
    station_id = SelectField(_l("所属站点（站点操作员）"), coerce=coerce_id, validate_choice=False, default=0)


class NewUserForm(ShopForm):
    """A new account (/admin/users/new). No password: the owner sets it from a mailed link. The field names
    are the service's (`fields` of its refusals), so a refusal shows under its field."""

    email = EmailField(_l("邮箱"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("姓名"), validators=[Optional(), Length(max=80)])
    #: Not validated against the choices here: an unknown role is the service's `unknown_role` (未知角色).
    role = SelectField(_l("角色"), validate_choice=False)
    #: 0: no station (every role but operator); a station for another role is the service's refusal.
    station = SelectField(_l("所属站点（站点操作员）"), coerce=coerce_id, validate_choice=False, default=0)
    #: The account's language (its mails, its pages once signed in); an unknown one is the service's
    #: `unknown_locale`.
    locale = SelectField(_l("账号语言"), validate_choice=False, default="zh_CN")
    form_token = OnceTokenField()  # two POSTs of the same form create one account (and send one mail)


class CategoryForm(ShopForm):
    name = StringField(_l("分类名称"), validators=[DataRequired(), Length(max=40)])
    name_en = StringField(_l("英文名称"), validators=[Optional(), Length(max=60)])
    food_class = SelectField(
        _l("食品类别"), choices=[SelectChoice(k, _l(v)) for k, v in FOOD_CLASS_LABELS.items()], validate_choice=True
    )


class CategoryNewForm(CategoryForm):
    form_token = OnceTokenField()  # two POSTs of the same form create one category


class VillageForm(ShopForm):
    name = StringField(_l("村名"), validators=[DataRequired(), Length(max=40)])
    township_id = SelectField(_l("乡镇"), coerce=coerce_id, validate_choice=True)
    is_poverty_village = BooleanField(_l("贫困村"))
    signature_product = StringField(_l("一村一品"), validators=[Optional(), Length(max=40)])
    # its length is the service's rule (admin.services.places.STORY_MAX), said under the field too long
    story = TextAreaField(_l("村庄介绍"))


class VillageNewForm(VillageForm):
    form_token = OnceTokenField()  # two POSTs of the same form create one village


class StationForm(ShopForm):
    code = StringField(_l("站点编号"), validators=[DataRequired(), Length(max=16)])
    name = StringField(_l("站点名称"), validators=[DataRequired(), Length(max=60)])
    # their lengths are the service's rule (admin.services.places), said under the field too long
    address = StringField(_l("地址"))
    hours = StringField(_l("营业时间"))
    #: A mobile number or a landline with its area code (the service's rule, `shop.phone`).
    phone = StringField(_l("联系电话"))
    village_ids = SelectMultipleField(_l("服务的村"), coerce=coerce_id, validate_choice=True)


class StationNewForm(StationForm):
    form_token = OnceTokenField()  # two POSTs of the same form create one station
