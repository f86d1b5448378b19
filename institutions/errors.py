"""The error codes this package raises (organisation accounts) and their messages.

A service raises `shop.errors.DomainError`s by code; `shop.errors.error_message` shows the message of the
code in the reader's language (the msgids are in this package's catalogue). Importing the package
registers them.
"""
from shop.errors import N_, register_messages

MESSAGES = {
    "buyer_account_required": N_("请用买家账户登记单位"),
    "credit_code_taken": N_("该统一社会信用代码已登记"),
    "invalid_credit_code": N_("统一社会信用代码无效：应为 18 位，最后一位校验码须正确"),
    "invalid_organisation_phone": N_("请填写正确的联系电话（手机号或带区号的座机）"),
    "member_account_not_found": N_("没有这个邮箱的账户，请对方先注册"),
    "member_role_not_allowed": N_("站点、接待户和扶贫办的账户不能加入采购单位"),
    "member_role_required": N_("请选择成员角色"),
    "organisation_admin_only": N_("只有单位管理员可以添加成员"),
    "organisation_already_reviewed": N_("该单位已审核过"),
    "organisation_full": N_("单位成员已达上限"),
    "organisation_incomplete": N_("请完整填写单位信息"),
    "organisation_not_found": N_("单位不存在"),
    "reason_too_long": N_("原因最多 400 字"),
    "rejection_reason_required": N_("请填写不通过的原因"),
}

register_messages(MESSAGES)
