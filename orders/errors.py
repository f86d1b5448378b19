"""The error codes this package raises (cart, checkout, orders, payments, refunds, the station cash book) and their messages.

A service raises `shop.errors.DomainError`s by code; `shop.errors.error_message` shows the message of the
code in the reader's language (the msgids are in this package's catalogue). Importing the package
registers them.
"""

from shop.errors import N_, register_messages

MESSAGES = {
    "address_book_full": N_("地址簿已满"),
    "address_incomplete": N_("请填写完整的收货地址"),
    "address_not_found": N_("地址不存在"),
    "already_requested": N_("已提交过退款申请，请等待处理"),
    "already_shipped": N_("商品已发出，不能取消；请在收货后申请退款"),
    "bank_transfer_institutional_only": N_("对公转账只用于单位审批通过的采购单"),
    "bad_signature": N_("支付通知的签名无效或缺失"),
    "card_payments_off": N_("暂不支持在线支付"),
    "cart_full": N_("购物车已满"),
    "cart_line_not_found": N_("购物车中没有这一项"),
    "cash_already_confirmed": N_("此发货单的现金已确认过"),
    "cash_already_received": N_("此发货单的现金已收过"),
    "cash_day_closed": N_("%(day)s 的现金账已日结"),
    "cash_day_closed_no_change": N_("%(day)s 的现金账已日结，不能再更改"),
    "cash_held_by_host": N_("到店付款的现金在接待户手中，不能在此退款"),
    "cash_not_received": N_("应收现金 %(due)s，请收款后再交付"),
    "close_future_day": N_("不能为将来的日期日结"),
    "close_note_required": N_("清点金额与账面不符，请填写原因"),
    "correction_reason_required": N_("请填写更正原因"),
    "correction_zero": N_("更正金额不能为零"),
    "counted_negative": N_("清点金额不能为负"),
    "delivery_required": N_("请选择配送方式"),
    "entry_in_future": N_("不能记入将来的日期"),
    "handover_not_positive": N_("上缴金额必须大于零"),
    "invalid_card": N_("银行卡信息无效"),
    "invalid_cash_received": N_("收款金额无效"),
    "invalid_mobile": N_("请填写正确的手机号（1 开头的 11 位数字）"),
    "invalid_money": N_("金额无效"),
    "invalid_product_id": N_("商品编号无效"),
    "invalid_transfer_amount": N_("请填写到账金额"),
    "invalid_transfer_reference": N_("请填写银行流水号（4 到 64 位字母、数字或 - / _）"),
    "not_bank_transfer": N_("此订单不是对公转账付款"),
    "transfer_already_recorded": N_("此订单已登记过一笔转账（流水号 %(reference)s）"),
    "transfer_amount_mismatch": N_("到账金额与应付金额 %(due)s 不符，未登记；请与付款单位核对后按全额登记"),
    "transfer_date_future": N_("到账日期不能晚于今天"),
    "transfer_reference_used": N_("该银行流水号已登记在另一张订单上"),
    "invalid_refund_amount": N_("退款金额无效"),
    "line_already_refunded": N_("该商品已退款或取消"),
    "no_items": N_("订单中没有商品"),
    "no_online_payment": N_("此订单无需在线支付"),
    "not_cash": N_("此订单不是现金支付"),
    "not_cash_order": N_("此订单为在线支付，不收现金"),
    "not_delivered": N_("收货后才能申请退款；未发货的订单可直接取消"),
    "not_integer": N_("请输入整数"),
    "not_payable": N_("此订单当前不能支付"),
    "not_refundable": N_("该支付不能退款"),
    "online_payment_off": N_("在线支付暂未开通"),
    "order_cash_already_received": N_("此订单的现金已收过"),
    "order_line_not_found": N_("订单中没有这一项"),
    "order_not_cancelable": N_("订单当前状态不能取消"),
    "order_not_collectable": N_("订单状态不允许收款"),
    "order_not_found": N_("订单不存在"),
    "order_not_refundable": N_("订单状态不允许退款"),
    "pay_later_quantity": N_("到站付款和货到付款的订单，每种商品最多 %(max)s 件；更多请分次购买或在线支付"),
    "payment_error": N_("支付服务暂时不可用，请稍后再试"),
    "payment_method_required": N_("请选择支付方式"),
    "payment_not_started": N_("请先发起支付"),
    "payment_unavailable": N_(
        "支付服务暂时无法连接。订单仍为待支付，商品已为您保留到付款期限；请稍后重试，不会重复扣款。"
    ),
    "pickup_station_not_found": N_("自提站点不存在"),
    "pickup_station_required": N_("请选择自提站点"),
    "price_changed": N_("价格或运费已变化，请确认新的总价后再提交"),
    "product_unavailable": N_("“%(name)s”已下架"),
    "provider_unavailable": N_("暂时无法连接支付服务，请稍后重试"),
    "quantity_not_integer": N_("数量必须是整数"),
    "quantity_out_of_range": N_("数量必须在 %(low)s 到 %(high)s 之间"),
    "refund_reason_required": N_("请填写退款原因"),
    "refund_request_forbidden": N_("无权处理该退款申请"),
    "refund_request_not_found": N_("退款申请不存在"),
    "shipment_canceled": N_("此发货单已取消"),
    "too_many_items": N_("商品种类太多"),
    "too_many_open_orders": N_(
        "您已有 %(max)s 个未付款的到站付款或货到付款订单。请先取货付款或取消其中的订单，再下新单。"
    ),
    "unavailable": N_("该商品已下架"),
}

register_messages(MESSAGES)
