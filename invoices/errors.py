"""The error codes this package raises (invoices) and their messages; importing the package registers them."""

from shop.errors import N_, register_messages

MESSAGES = {
    "invoice_already_issued": N_("发票已开具"),
    "invoice_already_requested": N_("该订单已申请发票，正在等待开票"),
    "invoice_period_already_requested": N_("这段期间的订单都已申请发票，正在等待开票"),
    "invoice_exceeds_paid": N_("开票金额超过可开票金额（已付款减去退款、未开票的部分）：最多 %(available)s"),
    "invoice_file_required": N_("请上传发票文件（PDF 或 OFD）"),
    "invoice_file_too_large": N_("发票文件太大（最大 %(mb)s MB）"),
    "invoice_file_type": N_("发票文件须为 PDF 或 OFD 格式"),
    "invoice_incomplete": N_("请完整填写发票信息：专用发票须填写税号、地址、电话、开户行和账号"),
    "invoice_invalid_amount": N_("请填写正确的开票金额"),
    "invoice_invalid_date": N_("开票日期无效：不能早于申请日期前一年，也不能晚于今天"),
    "invoice_invalid_account": N_("银行账号无效：请填写 4 到 40 位数字（可含空格或 -）"),
    "invoice_invalid_number": N_("发票号码须为 8 到 20 位数字"),
    "invoice_invalid_phone": N_("注册电话无效：请填写手机号或带区号的固定电话"),
    "invoice_invalid_period": N_("请选择正确的开票期间（起止日期，最长一年）"),
    "invoice_period_after_today": N_("开票期间的截止日期不能晚于今天（%(today)s）：发票只开已付款的订单"),
    "invoice_invalid_tax_number": N_(
        "税号无效：应为 15、17、18 或 20 位数字或大写字母（18 位须为有效的统一社会信用代码）"
    ),
    "invoice_kind_required": N_("请选择发票类型"),
    "invoice_not_found": N_("发票不存在"),
    "invoice_number_taken": N_("该发票号码已登记"),
    "invoice_not_needed": N_("无需开票：该站点的部分已全部退款或取消"),
    "invoice_not_issued": N_("只能对已开具的蓝字发票开红字发票"),
    "invoice_order_not_invoiceable": N_("订单已取消或已过期，不能开票"),
    "invoice_red_exceeds": N_("红字发票金额须为负数，且绝对值不超过原发票尚未冲红的金额 %(available)s"),
    "invoice_station_only": N_("只有售出商品的站点可以开具发票"),
    "invoice_title_required": N_("请填写发票抬头（最多 100 字）"),
    "invoice_title_too_long": N_("发票抬头最多 %(max)s 个字，请删减后再提交"),
    "nothing_to_invoice": N_("没有可开票的金额（未付款，或已全部开票）"),
}

register_messages(MESSAGES)
