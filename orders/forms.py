"""Forms of the orders pages (Flask-WTF; CSRF included)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from orders.services.placement import ADDRESS_FIELDS, AddressData
from shop.args import coerce_id, half_width
from shop.errors import DomainError
from shop.forms import DayField, OnceTokenField, ShopForm
from shop.money import MoneyError, parse_yuan


class AddressFields(ShopForm):
    """The fields of a delivery address, as checkout and the address book (收货地址) show them. What a
    complete address is, is the service's rule (`orders.services.placement.check_address`): its refusal
    is shown under each field it names (`mark_address_fields`)."""

    name = StringField(_l("收货人"), validators=[Optional(), Length(max=40)])
    phone = StringField(_l("手机号"), validators=[Optional(), Length(max=20)])
    province = StringField(_l("省"), default="江西省", validators=[Optional(), Length(max=20)])
    city = StringField(_l("市"), default="南昌市", validators=[Optional(), Length(max=20)])
    district = StringField(_l("区县"), default="南昌县", validators=[Optional(), Length(max=20)])
    line = StringField(_l("详细地址"), validators=[Optional(), Length(max=200)])

    def address_data(self) -> AddressData:
        """The address as typed, for the service to check."""
        return AddressData(*(getattr(self, f).data or "" for f in ADDRESS_FIELDS))


#: What a refused address field is told under it (the service's reasons: orders.services.placement)
ADDRESS_FIELD_WORDS = {"required": _l("请填写此项")}


def mark_address_fields(form, exc: DomainError) -> None:
    """The address fields the service refused (`address.<field>` in the error's fields), each with its
    reason under it, as the flash at the top says the whole: an empty 收货人 or 详细地址 is found where it is."""
    for key, why in exc.fields.items():
        if not key.startswith("address."):
            continue
        field = getattr(form, key.removeprefix("address."), None)
        if field is not None:
            field.errors = list(field.errors) + [ADDRESS_FIELD_WORDS.get(why, exc.message)]


class AddressForm(AddressFields):
    """An entry of the address book, new or edited (/account/addresses)."""

    is_default = BooleanField(_l("设为默认地址"), default=False)


class NewAddressForm(AddressForm):
    """A new entry: two POSTs of the same page (a double tap, Back and 保存 again) add it once."""

    form_token = OnceTokenField()


class CheckoutForm(AddressFields):
    address_id = SelectField(_l("选择已保存的地址"), coerce=coerce_id, choices=[], validators=[Optional()])
    save_address = BooleanField(_l("保存到地址簿"), default=True)
    delivery = RadioField(
        _l("配送方式"),
        choices=[SelectChoice("ship", _l("快递到家")), SelectChoice("pickup", _l("站点自提"))],
        default="ship",
    )
    pickup_station_id = SelectField(_l("自提站点"), coerce=coerce_id, choices=[], validators=[Optional()])
    payment_method = RadioField(_l("支付方式"), choices=[])
    form_token = OnceTokenField()  # two POSTs of the same page place one order


class BankTransferForm(ShopForm):
    """The county office or a selling station records the transfer that paid an order (对公转账)."""

    amount = StringField(_l("到账金额（元）"), validators=[DataRequired(), Length(max=16)])
    reference = StringField(_l("银行流水号"), validators=[DataRequired(), Length(max=64)])
    received_on = DayField(_l("到账日期"), validators=[Optional()])


class RefundRequestForm(ShopForm):
    #: 仅退款 / 退货退款 (`orders.models.RefundKind`): checked by the service (`check_kind`), which says
    #: why a missing or unknown one is refused; the template draws the two radios.
    kind = StringField(_l("退款类型"), validators=[Optional()])
    reason = TextAreaField(_l("退款原因"), validators=[InputRequired(), Length(max=200)])


# --- a till's cash book (a station's or a host's; orders.services.cashbook) -----------------------


class CashCloseForm(ShopForm):
    """日结: what the operator counted in the till."""

    day = DayField(_l("日期"), validators=[InputRequired()])
    counted = StringField(_l("清点现金（元）"), validators=[DataRequired(), Length(max=16)])
    note = StringField(_l("差额原因"), validators=[Optional()])  # its length: the book's rule (`cash_note`)


class CashMoveForm(ShopForm):
    """A remittance to the platform, or a correction (signed) with its reason."""

    kind = SelectField(
        _l("类型"),
        choices=[SelectChoice("remittance", _l("上缴平台")), SelectChoice("correction", _l("更正"))],
        validate_choice=True,
    )
    amount = StringField(_l("金额（元，更正可为负数）"), validators=[DataRequired(), Length(max=16)])
    reason = StringField(_l("原因"), validators=[Optional()])  # its length: the book's rule (`cash_note`)
    #: the cash in hand (fen) the page showed, set as the page is drawn (`cashbook_pages.book_page`): a move
    #: decided on a book another keeper has changed since is refused (`cashbook._check_seen_in_hand`)
    in_hand_seen = HiddenField()
    form_token = OnceTokenField()  # two POSTs of the same form record one entry


def cash_amount_fen(text: str, *, signed: bool = False) -> int | None:
    """A yuan amount typed into a cash-book form, in fen (a leading minus when `signed`); None if unreadable."""
    raw = half_width(text or "").strip()  # a full-width minus (－) too, as parse_yuan reads the amount
    negative = signed and raw.startswith("-")
    try:
        fen = parse_yuan(raw[1:] if negative else raw)
    except MoneyError:
        return None
    return -fen if negative else fen
