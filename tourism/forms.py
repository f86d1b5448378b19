"""Forms of the tourism pages (dates are Beijing calendar dates)."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from shop.args import coerce_id
from shop.forms import DayField, OnceTokenField, ShopForm, WholeNumberField, YuanField
from tourism.models import MAX_CLOSURE_REASON, MAX_HOST_CANCEL_REASON
from tourism.qr import MAX_CHECKIN_TEXT
from tourism.services.host import MAX_DESCRIPTION, MAX_FREE_CANCEL_DAYS, MAX_INCLUDED, MAX_UNIT_PRICE_FEN


class BookingForm(ShopForm):
    unit_type_id = SelectField(_l("房型/票种"), coerce=coerce_id, validators=[Optional()], validate_choice=False)
    session_id = SelectField(_l("场次"), coerce=coerce_id, validators=[Optional()], validate_choice=False)
    checkin = DateField(_l("入住/游玩日期"), validators=[Optional()])
    checkout = DateField(_l("离店日期"), validators=[Optional()])
    #: no upper bound here: the booking refuses a party over the listing's limit in its own words
    #: (每个预订最多 6 人: tourism.services.booking), and the page's box offers no more (`listing_guests_limit`)
    guests = WholeNumberField(_l("人数"), default=2, validators=[InputRequired(), NumberRange(min=1)])
    units = WholeNumberField(_l("间数"), default=1, validators=[Optional(), NumberRange(min=1, max=50)])
    payment_method = RadioField(
        _l("支付方式"),
        choices=[SelectChoice("card", _l("在线支付")), SelectChoice("arrival", _l("到店支付"))],
        default="card",
    )
    form_token = OnceTokenField()  # two POSTs of the same page make one booking


class CheckInForm(ShopForm):
    #: typed by hand, or the whole text of the guest's QR code a scanner types (`tourism.qr.read_checkin_text`)
    confirmation_code = StringField(
        _l("确认码"),
        validators=[DataRequired(), Length(min=1, max=MAX_CHECKIN_TEXT)],
        description=_l("客人出示的 6 位确认码，或扫描客人的二维码"),
    )
    #: A booking paid on arrival: the cash taken from the guest in this check-in, in yuan (must equal what is due).
    cash_received = YuanField(
        _l("收到现金（元）"), validators=[Length(max=16)], optional=True, not_positive=_l("收到的现金须大于零")
    )


class CloseDatesForm(ShopForm):
    start = DayField(_l("从"), validators=[DataRequired()])
    end = DayField(_l("到（含）"), validators=[DataRequired()])
    #: its length is the closure's rule (`tourism.services.host.closure_reason`), said and bounded here
    reason = StringField(
        _l("原因"),
        validators=[Optional()],
        description=_l("最多 %(max)s 个字", max=MAX_CLOSURE_REASON),
        render_kw={"maxlength": MAX_CLOSURE_REASON},
    )


class HostCancelForm(ShopForm):
    """The host's 取消预订: why, for the guest. Required and bounded by the service
    (`tourism.services.booking.host_cancel_reason`), which says either in its own words."""

    reason = TextAreaField(
        _l("取消原因（客人会在通知里看到）"),
        validators=[Optional()],
        description=_l("必填，最多 %(max)s 个字", max=MAX_HOST_CANCEL_REASON),
        render_kw={"rows": 3},
    )


class ListingTermsForm(ShopForm):
    """What a host may change about their listing (name, kind and village are the county's)."""

    description = TextAreaField(_l("介绍"), validators=[Optional(), Length(max=MAX_DESCRIPTION)])
    included = TextAreaField(_l("包含的服务"), validators=[Optional(), Length(max=MAX_INCLUDED)])
    free_cancel_days = WholeNumberField(
        _l("提前几天可免费取消"), validators=[InputRequired(), NumberRange(min=0, max=MAX_FREE_CANCEL_DAYS)]
    )
    cancel_fee_pct = WholeNumberField(
        _l("逾期取消收取（%）"), validators=[InputRequired(), NumberRange(min=0, max=100)]
    )
    pay_on_arrival = BooleanField(_l("允许到店支付"))
    is_published = BooleanField(_l("对游客开放（取消勾选即暂停接受新预订）"))
    #: what the page showed of the stored terms (`tourism.services.host.listing_terms_shown`), set as the page is
    #: drawn: a form from a page drawn before another change is refused, not saved over it
    shown = HiddenField()


class UnitTypeForm(ShopForm):
    """Price and size of one room type, experience or ticket."""

    price = YuanField(_l("价格（元）"), validators=[DataRequired(), Length(max=16)], max_fen=MAX_UNIT_PRICE_FEN)
    weekend_price = YuanField(
        _l("周末价（元，空=同平日）"), validators=[Length(max=16)], optional=True, max_fen=MAX_UNIT_PRICE_FEN
    )
    holiday_price = YuanField(
        _l("节假日价（元，空=同平日）"), validators=[Length(max=16)], optional=True, max_fen=MAX_UNIT_PRICE_FEN
    )
    units = WholeNumberField(_l("数量（房间数/每日票数）"), validators=[InputRequired(), NumberRange(min=0, max=1000)])
    max_guests = WholeNumberField(_l("每间最多入住人数"), validators=[InputRequired(), NumberRange(min=1, max=50)])
    #: what the page showed of the stored room type (`tourism.services.host.unit_type_shown`), set as the page is
    #: drawn: a form from a page drawn before another change is refused, not saved over it
    shown = HiddenField()


class ListingPlaceForm(ShopForm):
    address = StringField(_l("地址（游客到哪里找您）"), validators=[Optional(), Length(max=200)])
    latitude = StringField(_l("纬度（如 28.547123）"), validators=[Optional(), Length(max=12)])
    longitude = StringField(_l("经度（如 115.944321）"), validators=[Optional(), Length(max=12)])
    contact_phone = StringField(
        _l("联系电话（预订后游客可见；空=账户手机号）"), validators=[Optional(), Length(max=20)]
    )
    #: what the page showed of the stored place (`tourism.services.place.listing_place_shown`), as `shown` above
    shown = HiddenField()


class ListingPhotoForm(ShopForm):
    image = FileField(_l("照片（JPEG/PNG/WebP/GIF/HEIC，最大 5MB）"))


class NewUnitTypeForm(UnitTypeForm):
    """Another room type of a stay or ticket kind of a sight: its name, and the unit-type fields."""

    name = StringField(_l("房型/票种名称（如 标准间、成人票）"), validators=[DataRequired(), Length(max=60)])
    form_token = OnceTokenField()  # a double tap adds one


class NewListingForm(UnitTypeForm):
    """A host's new listing and its first room type, ticket kind or experience (the unit-type fields)."""

    kind = RadioField(
        _l("项目类型"),
        choices=[
            SelectChoice("stay", _l("住宿")),
            SelectChoice("experience", _l("体验")),
            SelectChoice("ticket", _l("门票")),
        ],
        validators=[InputRequired()],
    )
    name = StringField(_l("项目名称"), validators=[DataRequired(), Length(max=80)])
    village_id = SelectField(_l("所在村"), coerce=coerce_id, validators=[InputRequired()])
    address = StringField(_l("地址（游客到哪里找您）"), validators=[Optional(), Length(max=200)])
    contact_phone = StringField(
        _l("联系电话（预订后游客可见；空=账户手机号）"), validators=[Optional(), Length(max=20)]
    )
    description = TextAreaField(_l("介绍"), validators=[Optional(), Length(max=MAX_DESCRIPTION)])
    included = TextAreaField(_l("包含的服务"), validators=[Optional(), Length(max=MAX_INCLUDED)])
    unit_name = StringField(
        _l("第一个房型/票种/体验名称（如 标准间、成人票、草莓采摘）"), validators=[DataRequired(), Length(max=60)]
    )
    #: a stay's only (a ticket or an experience left empty is 1: tourism.services.listings), so not required here
    max_guests = WholeNumberField(_l("每间最多入住人数"), validators=[Optional(), NumberRange(min=1, max=50)])
    form_token = OnceTokenField()  # a double tap creates one


class AddSessionsForm(ShopForm):
    """A run of an experience's sessions: each day of a range, at one or more start times."""

    unit_type_id = SelectField(_l("活动"), coerce=coerce_id, validators=[Optional()], validate_choice=False)
    start = DayField(_l("从"), validators=[DataRequired()])
    end = DayField(_l("到（含）"), validators=[DataRequired()])
    times = StringField(_l("开始时间（如 09:00, 14:00）"), validators=[DataRequired(), Length(max=200)])
    capacity = WholeNumberField(_l("每场人数"), validators=[InputRequired(), NumberRange(min=1, max=1000)])
    form_token = OnceTokenField()  # a double tap adds nothing twice
