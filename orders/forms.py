"""Forms of the orders pages (Flask-WTF; CSRF included)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from shop.args import coerce_id
from shop.forms import OnceTokenField, ShopForm


class CheckoutForm(ShopForm):
    address_id = SelectField(_l("收货地址"), coerce=coerce_id, choices=[], validators=[Optional()])
    name = StringField(_l("收货人"), validators=[Optional(), Length(max=40)])
    phone = StringField(_l("手机号"), validators=[Optional(), Length(max=20)])
    province = StringField(_l("省"), default="江西省", validators=[Optional(), Length(max=20)])
    city = StringField(_l("市"), default="南昌市", validators=[Optional(), Length(max=20)])
    district = StringField(_l("区县"), default="南昌县", validators=[Optional(), Length(max=20)])
    line = StringField(_l("详细地址"), validators=[Optional(), Length(max=200)])
    save_address = BooleanField(_l("保存到地址簿"), default=True)
    delivery = RadioField(_l("配送方式"), choices=[SelectChoice("ship", _l("快递到家")), SelectChoice("pickup", _l("站点自提"))],
                          default="ship")
    pickup_station_id = SelectField(_l("自提站点"), coerce=coerce_id, choices=[], validators=[Optional()])
    payment_method = RadioField(_l("支付方式"), choices=[])
    form_token = OnceTokenField()  # two POSTs of the same page place one order


class RefundRequestForm(ShopForm):
    reason = TextAreaField(_l("退款原因"), validators=[InputRequired(), Length(max=200)])
