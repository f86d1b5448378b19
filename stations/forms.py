"""Forms of the operator's workspace (plain HTML forms, CSRF-protected)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from orders.forms import CashCloseForm, CashMoveForm  # noqa: F401 (the cash page's forms, shared with the host's)
from shop.args import coerce_id
from shop.forms import DayField, OnceTokenField, ShopForm, WholeNumberField, YuanField
from stock.services import MAX_COUNT_REASON


class ActionForm(ShopForm):
    action = HiddenField(validators=[DataRequired(), Length(max=16)])
    tracking_number = StringField(_l("运单号"), validators=[Optional(), Length(max=40)])
    pickup_code = StringField(_l("取货码"), validators=[Optional(), Length(max=12)])
    reason = StringField(_l("原因"), validators=[Optional(), Length(max=200)])
    #: Cash orders: the cash taken from the buyer in this hand-over, in yuan (must equal what is due).
    cash_received = YuanField(
        _l("收到现金（元）"), validators=[Length(max=16)], optional=True, not_positive=_l("收到的现金须大于零")
    )


class CancelLineForm(ShopForm):
    # its length is the cancellation's rule (`fulfilment.cancel_reason`: 422 cancel_reason_too_long)
    reason = StringField(_l("取消原因"), validators=[DataRequired()])


class EmptyForm(ShopForm):
    """CSRF only (confirm cash)."""


class ReceiveForm(ShopForm):
    quantity = WholeNumberField(_l("入库数量"), validators=[InputRequired(), NumberRange(min=1, max=100_000)])
    harvest_date = DayField(_l("采收/生产日期"), validators=[Optional()])
    best_before_date = DayField(_l("保质期至（不适用可留空）"), validators=[Optional()])
    lot_note = StringField(_l("批次/采收说明"), validators=[Optional(), Length(max=200)])
    from_household_id = SelectField(_l("交货农户"), coerce=coerce_id, validate_choice=True)
    #: 代销 (the household is credited when the units sell) or 收购 (bought now at `purchase_price`)
    acquisition = SelectField(
        _l("货品来源"),
        choices=[
            SelectChoice("consigned", _l("代销：售出后按比例记入农户收益")),
            SelectChoice("purchased", _l("收购：按约定价或保底价现在记入农户收益")),
        ],
        default="consigned",
        validate_choice=True,
    )
    purchase_price = YuanField(_l("收购单价（元，收购时填写）"), validators=[Length(max=16)], optional=True)
    form_token = OnceTokenField()  # two POSTs of the same form receive the goods once

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.acquisition.data == "purchased":
            if self.purchase_price.fen is None and not self.purchase_price.errors:
                self.purchase_price.errors = [*self.purchase_price.errors, _l("收购须填写收购单价")]
                ok = False
            if not self.from_household_id.data:
                self.from_household_id.errors = [*self.from_household_id.errors, _l("收购须选择交货农户")]
                ok = False
        return ok


class CorrectForm(ShopForm):
    delta = WholeNumberField(
        _l("调整数量（正数增加，负数减少）"), validators=[InputRequired(), NumberRange(min=-100_000, max=100_000)]
    )
    #: its length is the correction's rule (`stock.services.correct_stock`: 422 count_reason_too_long)
    reason = StringField(
        _l("调整原因"),
        validators=[DataRequired()],
        description=_l("最多 %(max)s 个字", max=MAX_COUNT_REASON),
        render_kw={"maxlength": MAX_COUNT_REASON},
    )
    lot_id = SelectField(_l("批次"), coerce=coerce_id, validate_choice=True, default=0)
    #: the count (在库) the page showed: a correction decided on a count that has changed since (another
    #: operator's page did it first) is refused, not added to it (`stock.services.correct_stock`)
    on_hand_seen = HiddenField()
    form_token = OnceTokenField()  # two POSTs of the same form adjust once


class ProductEditForm(ShopForm):
    price = YuanField(_l("价格（元）"), validators=[DataRequired(), Length(max=16)])
    is_published = SelectField(
        _l("上架"), choices=[SelectChoice("1", _l("上架")), SelectChoice("0", _l("下架"))], validate_choice=True
    )
    #: what 本站商品 showed of the product (`stations.services.assisted.product_shown`), set as the page is drawn:
    #: a form from a page drawn before another operator's change is refused, not saved over it
    shown = HiddenField()


class FamilyForm(ShopForm):
    """A product sold in several variants (规格): its name and the picker order of its variants (the
    order comes as `position_<variant id>` numbers, read by the view)."""

    name = StringField(_l("商品名称（各规格共用）"), validators=[DataRequired(), Length(max=80)])


class ProductPhotoForm(ShopForm):
    image = FileField(_l("新的商品照片（JPEG/PNG/WebP/GIF/HEIC，最大 5MB）"))


class PaperForm(ShopForm):
    """A food-safety document for one of the station's products (catalog.papers checks the rest)."""

    product_id = SelectField(_l("商品"), coerce=coerce_id, validate_choice=True)
    kind = SelectField(_l("证件类型"), validate_choice=True)
    number = StringField(_l("证件编号（生产许可证为 SC 加 14 位数字）"), validators=[DataRequired(), Length(max=40)])
    issuer = StringField(_l("发证机关/检测机构"), validators=[DataRequired(), Length(max=80)])
    valid_from = DayField(_l("有效期起"), validators=[InputRequired()])
    valid_until = DayField(_l("有效期至"), validators=[InputRequired()])
    file = FileField(_l("证件文件（PDF、JPEG、PNG 或 HEIC，最大 5MB）"))
    form_token = OnceTokenField()  # a double tap uploads once


class AssistedProductForm(ShopForm):
    household_id = SelectField(_l("代卖农户"), coerce=coerce_id, validate_choice=True)
    name = StringField(_l("商品名称"), validators=[DataRequired(), Length(max=80)])
    category_id = SelectField(_l("类别"), coerce=coerce_id, validate_choice=True)
    price = YuanField(_l("价格（元）"), validators=[DataRequired(), Length(max=16)])
    unit = StringField(lazy_pgettext("measure", "单位"), default="斤", validators=[DataRequired(), Length(max=20)])
    weight_g = WholeNumberField(
        _l("重量（克）"),
        default=500,
        validators=[
            InputRequired(),
            NumberRange(min=1, max=1_000_000, message=_l("重量须为 1 到 1000000 之间的整数克数")),
        ],
    )
    initial_stock = WholeNumberField(
        _l("首批库存"), default=0, validators=[InputRequired(), NumberRange(min=0, max=100_000)]
    )
    harvest_date = DayField(_l("采收/生产日期"), validators=[Optional()])
    lot_note = StringField(_l("批次/采收说明"), validators=[Optional(), Length(max=200)])
    season = StringField(_l("季节（如 3-5月，空=全年）"), validators=[Optional(), Length(max=40)])
    description = TextAreaField(_l("介绍"), validators=[Optional(), Length(max=4000)])
    image = FileField(_l("商品照片（JPEG/PNG/WebP/GIF/HEIC，最大 5MB）"))
    #: A new variant (规格) of one of the station's products: that product, the new variant's label and,
    #: when that product has no variants yet, its own label (docs/catalog.md).
    variant_of = SelectField(_l("作为哪个商品的新规格（可不选）"), coerce=coerce_id, validate_choice=True, default=0)
    variant_label = StringField(_l("新规格名称（如 2斤礼盒）"), validators=[Optional(), Length(max=40)])
    variant_of_label = StringField(_l("原商品的规格名称（如 500克袋装）"), validators=[Optional(), Length(max=40)])
    #: Once per shown form: a double tap creates one product (shop.once).
    form_token = OnceTokenField()
