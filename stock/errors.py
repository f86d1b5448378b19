"""The error codes this package raises (stock records, allocations, movements) and their messages.

A service raises `shop.errors.DomainError`s by code; `shop.errors.error_message` shows the message of the
code in the reader's language (the msgids are in this package's catalogue). Importing the package
registers them.
"""

from shop.errors import N_, Nn_, register_messages

MESSAGES = {
    "allocation_mismatch": N_("没有库存记录"),
    "allocation_missing": N_("这一行没有对应的库存分配"),
    "allocation_released": N_("库存分配已释放"),
    "best_before_before_harvest": N_("保质期不能早于采收/生产日期"),
    "count_reason_required": N_("盘点修正需要填写原因"),
    "count_reason_too_long": N_("调整原因最多 %(max)s 个字，请删减后再提交"),
    "expired_goods": N_("已过保质期的商品不能入库"),
    "harvest_in_future": N_("采收/生产日期不能晚于今天"),
    "invalid_delta": N_("修正数量必须是非零整数"),
    "invalid_purchase_price": N_("收购单价须为 0.01 到 10000 元"),
    "invalid_quantity": N_("数量必须是 1 到 100000 之间的整数"),
    "invalid_stock": N_("库存须为 0 到 100000 的整数"),
    "lot_allocation_missing": N_("这一行没有对应的批次分配"),
    "lot_below_allocated": N_("批次库存最少为 %(least)s（已售出或已占用的数量），最多只能减少 %(most)s 件"),
    "lot_blocked": N_("批次已召回或过期，不能修正"),
    "lot_blocked_out": N_("批次 %(code)s 已过期或已召回，不能出库"),
    "lot_not_of_product": N_("批次码 %(code)s 不是这个商品的批次：请扫描这个商品标签上的批次码，或留空用先到期的批次"),
    "lot_of_other_product": N_("批次不属于这个商品"),
    "lot_recalled": N_("批次 %(code)s 已召回，不能出库"),
    "lot_unavailable": N_("批次 %(code)s 的数量不够"),
    "nothing_handed_over": N_("这一行没有交付出去的货品，无法退回入库"),
    "out_of_stock": N_("库存不足，无法购买所选数量"),
    "purchase_too_large": N_("一次收购金额不能超过 100 万元"),
    "purchase_needs_household": N_("收购入库须选择交货农户"),
    "return_above_handed_over": Nn_(
        "退回数量不能超过这一行交付出去的 %(num)s 个单位",
        "退回数量不能超过这一行交付出去的 %(num)s 个单位",
        count="max",
    ),
    "stock_below_allocated": N_("库存最少为 %(least)s（已售出或已占用的数量），最多只能减少 %(most)s 件"),
    "stock_changed_since_shown": N_("页面打开后库存已有变动，现在在库 %(on_hand)s：请核对后再调整"),
}

register_messages(MESSAGES)
