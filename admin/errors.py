"""The error codes this package raises (the admin's workspace) and their messages.

A service raises `shop.errors.DomainError`s by code; `shop.errors.error_message` shows the message of the
code in the reader's language (the msgids are in this package's catalogue). Importing the package
registers them.
"""

from shop.errors import N_, Nn_, register_messages

MESSAGES = {
    "cannot_deactivate_self": N_("不能停用自己的账号"),
    "category_name_en_invalid": N_("英文名称最多 60 个字符"),
    "category_name_invalid": N_("请填写分类名称（最多 40 个字）"),
    "category_name_taken": N_("已有名为「%(name)s」的分类"),
    "food_class_invalid": N_("请选择一个有效的食品类别"),
    "last_active_admin": N_("这是最后一个有效的管理员账号：请先让另一个账号成为管理员"),
    "host_has_commitments": N_(
        "该接待户还有对游客开放的项目 %(listings)s 个、未结束的预订 %(bookings)s 个，换了角色就没有人接待："
        "请接待户先在项目编辑页取消「对游客开放」，办理完预订（入住、取消或标记未到店），再更改角色"
    ),
    "organisation_member_role": N_(
        "%(email)s 是采购单位「%(organisations)s」的成员：站点操作员、接待户、扶贫办和管理员的账号不能是采购单位成员。"
        "请先在该单位的页面把这个账号移出单位（管理员可以移出成员，本人也可以退出），再更改角色"
    ),
    "no_such_station": N_("没有这个站点"),
    "no_such_user": N_("没有这个账号"),
    "station_code_invalid": N_("站点编号须为 2 到 16 个字母、数字或连字符"),
    "station_code_taken": N_("站点编号 %(code)s 已被使用"),
    "station_only_for_operators": N_("只有站点操作员属于站点：其他角色不能指定站点"),
    "station_name_invalid": N_("请填写站点名称（最多 60 个字）"),
    "station_address_too_long": N_("地址最多 200 个字"),
    "station_hours_too_long": N_("营业时间最多 80 个字"),
    "station_phone_invalid": N_("请填写正确的电话：手机号（1 开头的 11 位数字）或带区号的固定电话（如 0791-85712345）"),
    "station_villages_required": N_("请至少选择一个服务的村"),
    "village_name_invalid": N_("请填写村名（最多 40 个字）"),
    "village_name_taken": N_("该乡镇已有名为「%(name)s」的村"),
    "signature_product_too_long": N_("一村一品最多 40 个字"),
    "village_story_too_long": N_("村庄介绍最多 %(max)s 个字"),
    "no_such_township": N_("没有这个乡镇"),
    "no_such_village": N_("没有这个村"),
    "unknown_locale": N_("请选择账号的语言：中文或英文"),
    "setup_link_inactive": N_("该账号已停用：请先启用账号，再发送设置密码的链接"),
    "password_already_set": N_(
        "该账号的密码已由本人设置，不再发送设置链接：忘记密码时，本人可在登录页点击“忘记密码？”重设"
    ),
    "setup_link_just_sent": Nn_(
        "设置密码的链接刚刚发出：%(num)s 分钟内不再重发，请让对方先查收邮件（包括垃圾邮件）",
        "设置密码的链接刚刚发出：%(num)s 分钟内不再重发，请让对方先查收邮件（包括垃圾邮件）",
        count="minutes",
    ),
}

register_messages(MESSAGES)
