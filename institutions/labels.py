"""What pages and the API call the kinds, roles and statuses (translated; stored values stay English)."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

KIND_LABELS = {
    "budget_unit": _l("预算单位"),
    "union": _l("工会"),
    "company": _l("企业"),
    "other": _l("其他"),
}
#: a registration's fields, as the county office reads which of them a resubmission changed
FIELD_LABELS = {
    "name": _l("单位名称"),
    "kind": _l("单位类型"),
    "credit_code": _l("统一社会信用代码"),
    "address": _l("单位地址"),
    "contact_name": _l("联系人"),
    "contact_phone": _l("联系电话"),
}
ROLE_LABELS = {
    "buyer": _l("采购员"),
    "approver": _l("审批人"),
    "viewer": _l("查看者"),
}
ORGANISATION_STATUS_LABELS = {
    "pending": _l("待审核"),
    "approved": _l("已通过"),
    "rejected": _l("未通过"),
}
PURCHASE_STATUS_LABELS = {
    "draft": _l("草稿"),
    "submitted": _l("待审批"),
    "approved": _l("已审批下单"),
    "rejected": lazy_pgettext("purchase", "已退回"),  # sent back to its buyer
}
PAYMENT_LABELS = {  # how a purchase's orders are paid (orders.models.PaymentMethod)
    "bank_transfer": _l("对公转账"),
    "card": _l("在线支付"),
    "station_cash": _l("到站付款"),
    "cod": _l("货到付款"),
}
