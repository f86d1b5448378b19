"""The error codes this package raises (reviews, replies, hiding) and their messages.

A service raises `shop.errors.DomainError`s by code; `shop.errors.error_message` shows the message of the
code in the reader's language (the msgids are in this package's catalogue). Importing the package
registers them.
"""

from shop.errors import N_, Nn_, register_messages

MESSAGES = {
    "already_hidden": N_("这条评价已隐藏"),
    "already_replied": N_("已经回复过了"),
    "already_reviewed": N_("这件商品已经评价过了"),
    "already_reviewed_booking": N_("这项预订已经评价过了"),
    "hide_forbidden": N_("只有县扶贫办或管理员可以隐藏评价"),
    "hide_reason_required": N_("请填写隐藏原因"),
    "not_reviewable": N_("商品送达或行程完成后才能评价"),
    "rating_out_of_range": N_("请给出 1 到 5 星的评分"),
    "reply_required": N_("请填写回复"),
    "review_not_found": N_("评价不存在"),
    "review_too_long": Nn_(
        "最多 %(num)s 个字",
        "最多 %(num)s 个字",
        count="n",
    ),
    "too_many_photos": Nn_(
        "最多上传 %(num)s 张照片",
        "最多上传 %(num)s 张照片",
        count="n",
    ),
}

register_messages(MESSAGES)
