"""The error codes this package raises (the county office: registry, benefit links, approvals, reports, payouts) and their messages.

A service raises `shop.errors.DomainError`s by code; `shop.errors.error_message` shows the message of the
code in the reader's language (the msgids are in this package's catalogue). Importing the package
registers them.
"""

from shop.errors import N_, Nn_, register_messages

MESSAGES = {
    "already_approved": N_("该产品已认定"),
    "already_returned": N_("该产品已退回"),
    "bank_file_headers": N_("回盘文件缺少“明细编号”和“状态”列"),
    "bank_file_invalid": N_("回盘文件有误，未做任何更改：%(errors)s"),
    "bank_file_other_batch": N_(
        "这是发放批次 %(code)s 的回盘文件，不是本批次的，未做任何更改：请到批次 %(code)s 的页面导入，本批次请导入银行对本批次代发文件的回盘"
    ),
    "bank_file_no_lines": N_("回盘文件里没有本批次的明细行，未做任何更改：请上传银行返回的、填好每笔结果的文件"),
    "bank_file_required": N_("请上传银行回盘文件"),
    "bank_file_too_long": N_("回盘文件行数过多"),
    "bank_file_unreadable": N_("无法读取回盘文件：请上传银行返回的 .xlsx 文件"),
    "benefit_entries_invalid": N_("登记有误，未保存：%(errors)s"),
    "benefit_entry_not_found": N_("没有这条收益登记"),
    "benefit_scope_forbidden": N_("只能登记本站点或本民宿的收益"),
    "choose_from_list": N_("请从列表中选择"),
    "duplicate_link": N_("同一农户重复联结"),
    "field_not_revealable": N_("该项不能查看"),
    "from_after_to": N_("开始日期晚于结束日期"),
    "illegal_payout_transition": N_("状态不能从 %(a)s 变为 %(b)s"),
    "illegal_status_change": N_("不能从「%(old)s」变为「%(new)s」"),
    "sale_not_found": N_("没有这笔销售"),
    "status_note_too_long": N_("状态变更说明最多 %(max)s 个字，请删减后再提交"),
    "import_headers": N_("表格须有「户主姓名」和「建档立卡编号」两列"),
    "invalid_account": N_("账户信息有误"),
    "invalid_amount_format": N_("金额格式不对"),
    "invalid_group_by": N_("分组方式须为以下之一：%(groups)s"),
    "invalid_household": N_("农户信息有误，请检查标出的项"),
    "invalid_links": N_("户编号和权重须为正整数"),
    "invalid_month": N_("月份格式应为 YYYY-MM"),
    "link_weight_out_of_range": N_("权重须为 1 到 1000000 的整数"),
    "no_payment_account": N_("该户尚未登记收款账户"),
    "no_such_household": N_("没有这个农户"),
    "no_such_product": N_("没有这个产品"),
    "no_such_township": N_("没有这个乡镇"),
    "no_such_village": N_("没有这个村"),
    "not_xlsx": N_("不是 Excel（.xlsx）文件"),
    "payout_batch_changed": N_(
        "发放批次 %(code)s 在您确认之前已有变动（例如已导入另一份回盘），本次未做任何更改：请重新上传回盘文件，看清它现在将做的变更后再确认"
    ),
    "payout_batch_done": N_("该批次已完成，没有待发放的明细"),
    "payout_batch_not_exported": N_("该批次尚未导出给银行，不能导入回盘"),
    "payout_batch_not_found": N_("没有这个发放批次"),
    "payout_no_account": Nn_(
        "截至 %(to)s 没有可以发放的收益，未生成发放批次：%(num)s 户有待发放的收益（共 %(amount)s），"
        "但还没有登记收款账户。请先在农户页面登记收款账户，再为这个期间生成批次。",
        "截至 %(to)s 没有可以发放的收益，未生成发放批次：%(num)s 户有待发放的收益（共 %(amount)s），"
        "但还没有登记收款账户。请先在农户页面登记收款账户，再为这个期间生成批次。",
        count="households",
    ),
    "payout_credited_later": Nn_(
        "截至 %(to)s，这个范围内没有待发放的收益，未生成发放批次。收益按入账日期计入期间："
        "%(num)s 户有 %(to)s 以后入账的待发放收益（共 %(amount)s），把结束日期选到今天即可列入。",
        "截至 %(to)s，这个范围内没有待发放的收益，未生成发放批次。收益按入账日期计入期间："
        "%(num)s 户有 %(to)s 以后入账的待发放收益（共 %(amount)s），把结束日期选到今天即可列入。",
        count="households",
    ),
    "payout_nothing_payable": N_("截至 %(to)s，这个范围内没有待发放的收益，未生成发放批次"),
    "payout_end_in_future": N_("只能为已经开始的日期发放：结束日期不能晚于今天"),
    "payout_period_required": N_("请填写发放期间的开始和结束日期"),
    "payout_period_too_long": N_("一个批次最长一年"),
    "positive_integer_required": N_("请填写正整数"),
    "record_period_required": N_("请填写期间的开始和结束日期"),
    "unknown_household_id": N_("没有编号为 %(id)s 的农户"),
    "unreadable_link": N_("无法识别「%(text)s」：请按“户编号:权重”填写"),
    "village_or_township": N_("村和乡镇只能选一个"),
}

register_messages(MESSAGES)
