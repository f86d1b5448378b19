"""The error codes this package raises (organisation accounts) and their messages.

A service raises `shop.errors.DomainError`s by code; `shop.errors.error_message` shows the message of the
code in the reader's language (the msgids are in this package's catalogue). Importing the package
registers them.
"""

from shop.errors import N_, register_messages

MESSAGES = {
    "budget_setter_only": N_("只有单位管理员或审批人可以设置预算"),
    "budget_below_purchased": N_("本单位 %(year)s 年已采购 %(purchased)s，年度预算不能低于已采购的金额"),
    "invalid_budget": N_("年度食品采购预算须为 0 到 %(max)s 元之间的金额，最多两位小数"),
    "invalid_reserved_share": N_("预留比例须在 0 到 100 之间，最多两位小数"),
    "invalid_year": N_("年份无效"),
    "invalid_statement_period": N_("请选择正确的对账期间（起止日期，最长一年）"),
    "statement_period_required": N_("请给出年份，或起止日期（from 和 to）"),
    "address_label_required": N_("请为每个收货地址起一个名称（最多 40 字）"),
    "approver_only": N_("只有本单位的审批人可以审批采购单"),
    "buyer_account_required": N_("请用买家账户登记单位"),
    "credit_code_taken": N_("该统一社会信用代码已登记：请本单位的管理员在单位页面把您的邮箱添加为成员"),
    "invalid_credit_code": N_("统一社会信用代码无效：应为 18 位，最后一位校验码须正确"),
    "invalid_delivery_date": N_("请选择今天起一年内的送达日期"),
    "invalid_organisation_phone": N_("请填写正确的联系电话（手机号或带区号的座机）"),
    "member_account_not_found": N_("没有这个邮箱的账户，请对方先注册"),
    "member_role_not_allowed": N_("站点、接待户和扶贫办的账户不能加入采购单位"),
    "member_role_required": N_("请选择成员角色"),
    "member_not_found": N_("该账号不是本单位的成员"),
    "member_remove_forbidden": N_("只有单位管理员可以移出其他成员；成员可以自己退出单位"),
    "member_rights_forbidden": N_("只有单位管理员可以更改成员的权限"),
    "not_submitted": N_("采购单已审批过或尚未提交"),
    "note_too_long": N_("备注最多 %(max)s 字"),
    "organisation_admin_only": N_("只有单位管理员可以添加成员"),
    "organisation_already_reviewed": N_("该单位已审核过"),
    "organisation_manager_only": N_("只有单位管理员可以修改登记"),
    "organisation_not_rejected": N_("该单位的登记已提交审核或已通过，不能再修改"),
    "organisation_full": N_("单位成员已达上限"),
    "organisation_needs_manager": N_("%(name)s 是本单位唯一的管理员，不能移出或退出：单位须有管理员添加成员、修改登记"),
    "organisation_needs_manager_kept": N_(
        "%(name)s 是本单位唯一的管理员，不能取消其管理员权限：请先把另一名成员设为管理员"
    ),
    "organisation_needs_approver_left": N_("%(name)s 是本单位唯一的审批人，不能移出或退出：请先把另一名成员设为审批人"),
    "organisation_needs_approver": N_("本单位至少要有一名审批人：请先把另一名成员设为审批人，再更改这名审批人的角色"),
    "organisation_incomplete": N_("请完整填写单位信息"),
    "organisation_not_found": N_("单位不存在"),
    "organisation_not_verified": N_("单位通过扶贫办审核后才能采购"),
    "pickup_purchase_no_address": N_("自提的采购单不填收货地址"),
    "purchase_address_required": N_("请至少填写一个收货地址"),
    "purchase_address_incomplete": N_("“%(label)s”的收货地址不完整：收货人、手机号、省、市、区县和详细地址都要填写"),
    "purchase_address_mobile": N_("“%(label)s”的收货人手机号不正确：请填写 11 位手机号"),
    "purchase_already_submitted": N_("采购单已提交"),
    "purchase_buyer_left": N_(
        "建这张采购单的采购员已不是本单位的成员，不能再为其下单：请退回，由本单位的采购员重新建单"
    ),
    "purchase_creator_only": N_("只有建单的采购员可以提交"),
    "purchase_author_only": N_("只有建单的采购员可以修改或删除采购单"),
    "purchase_not_draft": N_("采购单已提交审批，不能再修改或删除"),
    "purchase_quoted_line_kept": N_("采纳报价的商品须留在原收货地址：不能删去该地址，也不能改变配送方式"),
    "purchase_row_invalid": N_("第 %(row)s 行：请选择商品"),
    "purchase_row_invalid_at": N_("“%(label)s”第 %(row)s 行：请选择商品"),
    "purchase_row_product_not_found": N_("第 %(row)s 行：商品不存在"),
    "purchase_row_product_not_found_at": N_("“%(label)s”第 %(row)s 行：商品不存在"),
    "purchase_row_unavailable": N_("第 %(row)s 行“%(name)s”已下架"),
    "purchase_row_unavailable_at": N_("“%(label)s”第 %(row)s 行“%(name)s”已下架"),
    "purchase_row_papers_missing": N_("第 %(row)s 行“%(name)s”暂停销售：%(what)s"),
    "purchase_row_papers_missing_at": N_("“%(label)s”第 %(row)s 行“%(name)s”暂停销售：%(what)s"),
    "purchase_row_quantity": N_("第 %(row)s 行“%(name)s”的数量无效：请填写 1 到 %(high)s 之间的整数"),
    "purchase_row_quantity_at": N_("“%(label)s”第 %(row)s 行“%(name)s”的数量无效：请填写 1 到 %(high)s 之间的整数"),
    "purchase_items_required": N_("请至少添加一种商品"),
    "purchase_not_found": N_("采购单不存在"),
    "purchase_out_of_stock": N_(
        "“%(name)s”（%(village)s）库存不足：本采购单要 %(wanted)s，现有 %(available)s。"
        "请退回采购员修改数量，或等服务站补货后再审批"
    ),
    "purchase_short_stock": N_(
        "“%(name)s”（%(village)s）库存不足：本采购单要 %(wanted)s，现有 %(available)s。"
        "审批时库存不足将无法下单：请减少数量，或提交后等服务站补货再审批"
    ),
    "purchase_over_budget": N_(
        "超出本单位 %(year)s 年的采购预算：预算还剩 %(left)s，本单 %(total)s。请退回让采购员减少数量，或先调整年度预算"
    ),
    "purchase_price_changed": N_("价格或运费已变化，请确认新的总价后再审批"),
    "purchase_return_reason_required": N_("请填写退回原因（最多 %(max)s 字）"),
    "purchase_return_reason_too_long": N_("退回原因最多 %(max)s 字，请删减后再提交"),
    "purchaser_only": N_("只有本单位的采购员可以建采购单"),
    "reason_too_long": N_("原因最多 %(max)s 字"),
    "rejection_reason_required": N_("请填写不通过的原因"),
    "invalid_lead_days": N_("交货周期须为 0 到 365 天"),
    "invalid_quote_price": N_("单价须在 0.01 元到 1000 万元之间"),
    # the station's form: what it typed is no amount at all (letters, three decimals), not one out of range
    "invalid_quote_price_typed": N_("单价须为 0.01 元到 1000 万元之间的金额，最多两位小数"),
    "invalid_quote_quantity": N_("报价数量须在 1 到询价数量之间"),
    "invalid_valid_until": N_("报价有效期须为今天起 90 天内"),
    "product_already_in_purchase": N_("该商品已在这个收货地址的采购单中"),
    "quote_already_accepted": N_("该报价已采纳"),
    "quote_already_answered": N_("该询价已答复"),
    "quote_decline_reason_required": N_("请填写无法供货的原因"),
    "quote_expired": N_("报价已于 %(day)s 过期，请重新询价"),
    "quote_not_answered": N_("站点尚未报价"),
    "quote_not_found": N_("询价单不存在"),
    "quote_station_only": N_("只有被询价的站点可以报价"),
    "same_person": N_("审批人不能审批自己建的采购单，须由另一人审批"),
    "too_many_addresses": N_("收货地址太多"),
}

register_messages(MESSAGES)
