"""The error codes this package raises (stations: fulfilment, assisted selling) and their messages.

A service raises `shop.errors.DomainError`s by code; `shop.errors.error_message` shows the message of the
code in the reader's language (the msgids are in this package's catalogue). Importing the package
registers them.
"""

from shop.errors import N_, register_messages

MESSAGES = {
    "lot_already_recalled": N_("批次 %(code)s 已召回，无需再次召回"),
    "lot_not_found": N_("没有这个批次"),
    "lot_not_recalled": N_("批次未召回"),
    "recall_reason_required": N_("请填写召回原因"),
    "recall_reason_too_long": N_("召回原因最多 200 个字"),
    "beneficiary_not_served": N_("受益农户必须属于本站服务的村"),
    "cancel_reason_required": N_("请填写告知顾客的原因"),
    "cancel_reason_too_long": N_("取消原因最多 %(max)s 个字，请删减后再提交"),
    "cannot_cancel_line": N_("发货单状态为「%(status)s」，不能再取消商品"),
    "cannot_cancel_shipment": N_("当前状态「%(status)s」不能取消"),
    "cannot_deliver": N_("当前状态「%(status)s」不能交付"),
    "cannot_receive": N_("当前状态「%(status)s」不能收货"),
    "cannot_ship": N_("当前状态「%(status)s」不能发货"),
    "cash_before_shipping": N_("此订单是到站点付款：顾客在本站柜台付清现金（确认已收现金）后才能发货"),
    "household_not_served": N_("请选择本站服务村的农户"),
    "product_changed_since_shown": N_("「%(name)s」在您打开这个页面后已被修改（价格 %(price)s，上架）：请核对后再保存"),
    "product_changed_since_shown_unpublished": N_(
        "「%(name)s」在您打开这个页面后已被修改（价格 %(price)s，已下架）：请核对后再保存"
    ),
    "producer_not_found": N_("生产者（合作社）不存在"),
    "household_repeated": N_("同一农户重复填写"),
    "invalid_initial_stock": N_("库存须在 0 到 100000 之间"),
    "invalid_name": N_("名称为 1 到 80 个字"),
    "invalid_unit": N_("单位为 1 到 20 个字"),
    "invalid_weight_g": N_("重量须为 1 到 1000000 之间的整数克数"),
    "line_not_found": N_("没有这个商品行"),
    "line_not_open": N_("该商品已取消"),
    "lot_not_sellable": N_("批次 %(codes)s 已过期或已召回，请扫描同一商品的其他批次"),
    "no_stock_record_for_product": N_("该商品没有库存记录"),
    "no_such_station": N_("没有这个站点"),
    "not_a_pickup": N_("此订单为快递配送，不是到站自提"),
    "not_your_station": N_("不是您的站点"),
    "not_your_step": N_("这一步由发货站点操作"),
    "nothing_to_receive": N_("只有送往自提站点的发货单需要收货"),
    "nothing_to_return": N_("此发货单没有待退回的货物"),
    "order_not_confirmed": N_("订单未确认（尚未付款或已关闭）"),
    "order_not_ready": N_("还有发货单未到自提站点（%(codes)s），整单到齐后才能交付"),
    "pickup_locked": N_("取货码错误次数过多，已锁定，请联系管理员解锁"),
    "pickup_not_locked": N_("取货码没有被锁定，无需解锁"),
    "pickup_needs_code": N_("此订单为到站自提，须在自提站点凭取货码交付"),
    "pickup_not_shippable": N_("此订单为到站自提，不能发快递"),
    "pickup_station_only": N_("只有顾客选择的自提站点才能收货和交付"),
    "shipment_line_not_found": N_("这个发货单没有这一行"),
    "shipment_not_found": N_("没有这个发货单"),
    "station_id_required": N_("请指定 station_id"),
    "station_product_not_found": N_("没有这个商品"),
    "family_not_found": N_("没有这个商品"),
    "family_position_invalid": N_("规格顺序请填 1 至 99 的数字"),
    "stock_ambiguous": N_("stock 与 stock_delta 只能给一个"),
    "stock_reason_required": N_("库存调整需要填写原因"),
    "tracking_number_required": N_("请填写运单号（最多 40 个字符）"),
    "unit_required": N_("请填写单位（斤、盒、只……）"),
    "unknown_action": N_("未知操作"),
    "wrong_pickup_code": N_("取货码错误"),
    "wrong_pickup_station": N_("此发货单须送往顾客选择的自提站点"),
}

register_messages(MESSAGES)
