"""Forms of the organisation and purchase pages (Flask-WTF; CSRF included)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from institutions.labels import KIND_LABELS, PAYMENT_LABELS, ROLE_LABELS
from institutions.services.organisations import LIMITS, MAX_DECISION_REASON
from institutions.services.purchases import MAX_RETURN_REASON
from institutions.services.quotes import MAX_NOTE
from shop.args import coerce_id
from shop.forms import DayField, OnceTokenField, ShopForm, WholeNumberField


class OrganisationFieldsForm(ShopForm):
    """A registration's fields: registering one, and correcting a rejected one (`OrganisationCorrectionForm`)."""

    name = StringField(_l("单位名称"), validators=[InputRequired(), Length(max=LIMITS["name"])])
    kind = SelectField(
        _l("单位类型"), choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()], validators=[InputRequired()]
    )
    credit_code = StringField(_l("统一社会信用代码（18 位）"), validators=[InputRequired(), Length(max=30)])
    address = StringField(_l("单位地址"), validators=[InputRequired(), Length(max=LIMITS["address"])])
    contact_name = StringField(_l("联系人"), validators=[InputRequired(), Length(max=LIMITS["contact_name"])])
    contact_phone = StringField(_l("联系电话"), validators=[InputRequired(), Length(max=LIMITS["contact_phone"])])


class OrganisationForm(OrganisationFieldsForm):
    form_token = OnceTokenField()  # two POSTs of the same page register once (not "this code is registered")


class OrganisationCorrectionForm(OrganisationFieldsForm):
    """A rejected registration corrected and submitted again: a second POST finds it pending (refused)."""


class MemberForm(ShopForm):
    email = StringField(_l("成员的登录邮箱"), validators=[InputRequired(), Length(max=254)])
    role = SelectField(
        _l("角色"), choices=[SelectChoice(k, v) for k, v in ROLE_LABELS.items()], validators=[InputRequired()]
    )


class MemberRightsForm(ShopForm):
    """A member's rights, changed on its row of the members list (`organisations.change_member_rights`)."""

    role = SelectField(
        _l("角色"), choices=[SelectChoice(k, v) for k, v in ROLE_LABELS.items()], validators=[InputRequired()]
    )
    is_manager = BooleanField(_l("管理员"))


class DecisionForm(ShopForm):
    reason = TextAreaField(_l("原因（不通过时必填）"), validators=[Optional(), Length(max=MAX_DECISION_REASON)])


ROWS = 5  # product rows on the page's form (the API takes up to 50 per address, and up to 20 addresses)
MAX_ROWS = 50  # rows the form reads: an edited draft shows each of its lines (and one blank row)


class PurchaseForm(ShopForm):
    delivery = SelectField(
        _l("配送方式"), choices=[SelectChoice("ship", _l("送货到单位")), SelectChoice("pickup", _l("到服务站自提"))]
    )
    pickup_station_id = SelectField(
        _l("自提站点"),
        coerce=coerce_id,
        choices=[],
        validate_choice=False,
        description=_l("配送方式选“到服务站自提”时才用；送货到单位时不用管"),
    )
    requested_date = DateField(_l("希望送达日期"), validators=[InputRequired()])
    payment_method = SelectField(
        _l("支付方式"),
        choices=[SelectChoice(k, v) for k, v in PAYMENT_LABELS.items()],
        # the placement's rule (orders.services.placement.GOODS_PAYMENT_METHODS), said before the draft is saved
        description=_l("到站付款只用于到服务站自提，货到付款只用于送货到单位"),
    )
    label = StringField(_l("收货地点名称（如东校区食堂）"), validators=[Optional(), Length(max=40)])
    name = StringField(_l("收货人"), validators=[Optional(), Length(max=40)])
    phone = StringField(_l("收货人手机号"), validators=[Optional(), Length(max=20)])
    province = StringField(_l("省"), validators=[Optional(), Length(max=20)])
    city = StringField(_l("市"), validators=[Optional(), Length(max=20)])
    district = StringField(_l("区县"), validators=[Optional(), Length(max=20)])
    line = StringField(_l("详细地址"), validators=[Optional(), Length(max=200)])
    note = StringField(_l("备注"), validators=[Optional(), Length(max=MAX_NOTE)])
    form_token = OnceTokenField()  # two POSTs of the same page save one draft


class RejectForm(ShopForm):
    reason = TextAreaField(
        lazy_pgettext("purchase", "退回原因"), validators=[InputRequired(), Length(max=MAX_RETURN_REASON)]
    )


# --- quote requests (询价) ------------------------------------------------------------------------


class QuoteRequestForm(ShopForm):
    #: coerce_id: a typed id past BIGINT or in Unicode digits is a form error, not a database overflow
    product_id = SelectField(_l("商品"), coerce=coerce_id, choices=[], validate_choice=False)
    quantity = WholeNumberField(_l("数量"), validators=[InputRequired(), NumberRange(min=1, max=999)])
    needed_by = DayField(_l("希望送达日期"), validators=[InputRequired()])
    note = StringField(_l("备注"), validators=[Optional(), Length(max=MAX_NOTE)])
    form_token = OnceTokenField()  # two POSTs of the same page send one request


class QuoteAnswerForm(ShopForm):
    quantity = WholeNumberField(_l("可供数量"), validators=[InputRequired(), NumberRange(min=1, max=999)])
    unit_price = StringField(_l("单价（元）"), validators=[InputRequired(), Length(max=16)])
    lead_days = WholeNumberField(_l("交货周期（天）"), validators=[InputRequired(), NumberRange(min=0, max=365)])
    valid_until = DayField(_l("报价有效至"), validators=[InputRequired()])
    note = StringField(_l("说明"), validators=[Optional(), Length(max=MAX_NOTE)])


class QuoteDeclineForm(ShopForm):
    reason = StringField(_l("无法供货的原因"), validators=[InputRequired(), Length(max=200)])


class QuoteAcceptForm(ShopForm):
    #: "<purchase id>:<destination id or 0>", from the buyer's draft purchases
    target = SelectField(_l("加入采购单"), choices=[], validate_choice=True)
