"""The error codes this package raises (listings, bookings, hosts, the host's cash book) and their messages.

A service raises `shop.errors.DomainError`s by code; `shop.errors.error_message` shows the message of the
code in the reader's language (the msgids are in this package's catalogue). Importing the package
registers them.
"""

from shop.errors import N_, Nn_, register_messages

MESSAGES = {
    "address_too_long": N_("地址最多 200 个字"),
    "arrival_day_later": N_("确认码正确，但该预订的到店日期是 %(date)s，还没到入住日"),
    "arrival_payment_not_allowed": N_("该接待户不支持到店支付"),
    "arrival_too_many_nights": Nn_(
        "到店支付最多预订 %(num)s 晚；更长的住宿请在线支付",
        "到店支付最多预订 %(num)s 晚；更长的住宿请在线支付",
        count="n",
    ),
    "arrival_too_many_units": Nn_(
        "到店支付最多预订 %(num)s 间；更多房间请在线支付",
        "到店支付最多预订 %(num)s 间；更多房间请在线支付",
        count="n",
    ),
    "beyond_booking_horizon": Nn_(
        "只能预订 %(num)s 天以内的日期（最晚 %(last)s）",
        "只能预订 %(num)s 天以内的日期（最晚 %(last)s）",
        count="days",
    ),
    "booking_line_unavailable": N_(
        "「%(name)s」已订满，订单没有提交，也没有扣款。请从购物车删除这一项或改换日期后重试"
    ),
    "booking_line_closed": N_(
        "「%(name)s」%(day)s 休息，不接待预订，订单没有提交，也没有扣款。请从购物车删除这一项或改换日期后重试"
    ),
    "booking_card_payments_off": N_("暂不支持在线支付，请选择到店支付"),
    "booking_cash_already_received": N_("此预订的现金已收过"),
    "booking_fee_not_returnable": N_("只有已取消或未到店的预订才能退还违约金"),
    "booking_not_cancelable": N_("该预订当前不能取消"),
    "booking_already_checked_in": N_("预订 %(code)s 已办理入住，无需重复办理"),
    "booking_not_confirmed": N_("只有已确认的预订才能办理入住"),
    "booking_not_found": N_("预订不存在"),
    "calendar_range_too_long": Nn_(
        "最多查询 %(num)s 天",
        "最多查询 %(num)s 天",
        count="days",
    ),
    "cancel_fee_out_of_range": N_("取消费比例须在 0 到 100 之间"),
    "cash_not_due": N_("此预订无需现金付款"),
    "checkin_cash_not_received": N_(
        "应收现金 %(due)s：收齐后在「收到现金」填写 %(due)s 再办理入住（找给客人的零钱不算在内）"
    ),
    "checkin_required": N_("请选择日期"),
    "checkin_required_with_checkout": N_("请同时提供入住日期"),
    "checkout_not_after_checkin": N_("离店日期必须晚于入住日期"),
    "checkout_required": N_("请选择离店日期"),
    "close_past_date": N_("不能关闭过去的日期"),
    "closure_reason_too_long": N_("关闭原因最多 %(max)s 个字，请删减后再提交"),
    "confirmation_code_failed": N_("生成确认码失败，请重试"),
    "coordinate_out_of_range": N_("坐标超出范围（纬度 ±90，经度 ±180）"),
    "coordinates_incomplete": N_("请同时填写纬度和经度，或都不填"),
    "date_in_past": N_("日期不能早于今天"),
    "day_closed": N_("%(day)s 休息，不接待预订，请改选日期"),
    "dates_booked": N_("这些日期已有预订，不能关闭：%(bookings)s。请先与客人联系并取消预订。"),
    "dates_checked_in": N_("这些日期有客人已入住，不能关闭：%(bookings)s。"),
    "end_not_after_start": N_("结束日期必须晚于开始日期"),
    "free_cancel_days_out_of_range": N_("免费取消天数须在 0 到 %(n)s 之间"),
    "guests_at_least_one": N_("人数不能小于 1"),
    "host_cancel_reason_required": N_("请填写取消原因：客人会在通知里看到"),
    "host_cancel_reason_too_long": N_("取消原因最多 %(max)s 个字，请删减后再提交"),
    "invalid_arrival_cash": N_("收款金额无效"),
    "invalid_contact_phone": N_("请填写正确的手机号或座机号，例如 13800001234 或 0791-85712345"),
    "invalid_coordinate": N_("坐标须为十进制度数，最多 6 位小数，例如 28.547123"),
    "listing_kind_invalid": N_("请选择项目类型：住宿、体验或门票"),
    "listing_name_invalid": N_("请填写项目名称（最多 %(n)s 个字）"),
    "listing_changed_since_shown": N_(
        "「%(name)s」的介绍与取消政策在您打开这个页面后已修改（现在：提前 %(days)s 天可免费取消，逾期取消收取 %(pct)s%%）："
        "请核对后再保存"
    ),
    "listing_place_changed_since_shown": N_(
        "「%(name)s」的位置与电话在您打开这个页面后已修改（现在：地址 %(address)s，电话 %(phone)s）：请核对后再保存"
    ),
    "listing_needs_photo": N_("请先上传至少一张照片，再对游客开放"),
    "listing_not_found": N_("项目不存在"),
    "listing_photos_full": Nn_(
        "最多 %(num)s 张照片，请先删除一张",
        "最多 %(num)s 张照片，请先删除一张",
        count="n",
    ),
    "max_guests_out_of_range": N_("人数须在 1 到 %(n)s 之间"),
    "not_arrival_day": N_("只能在预订日期内办理入住"),
    "check_in_too_late": Nn_(
        "预订 %(code)s 已退房超过 %(num)s 天，不能再补登入住；客人没来，请标记未到店",
        "预订 %(code)s 已退房超过 %(num)s 天，不能再补登入住；客人没来，请标记未到店",
        count="days",
    ),
    "no_show_before_arrival": N_("客人的入住日是 %(day)s：当天起才能标记未到店"),
    "no_show_before_session": N_("场次 %(start)s 开始：开始后才能标记未到店"),
    "no_show_not_confirmed": N_("只有已确认、尚未入住的预订才能标记未到店"),
    "nothing_bookable": N_("该项目暂无可预订的房型或票种"),
    "nothing_kept": N_("该预订没有可退还的款项"),
    "one_unit_only": N_("每次只能预订一份"),
    "paid_booking": N_("已在线付款的预订不能由接待户取消"),
    "policy_in_use": N_("已有未到期的预订：取消政策只能放宽，不能收紧"),
    "session_booked": Nn_(
        "该场次已有 %(num)s 位客人预订，不能删除。请先与客人联系并取消预订。",
        "该场次已有 %(num)s 位客人预订，不能删除。请先与客人联系并取消预订。",
        count="n",
    ),
    "session_capacity_out_of_range": N_("每场人数须在 1 到 %(n)s 之间"),
    "session_dates_out_of_range": N_("场次日期须在 %(first)s 到 %(last)s 之间"),
    "session_end_before_start": N_("结束日期不能早于开始日期"),
    "session_not_found": N_("场次不存在或已删除"),
    "session_places_left": Nn_(
        "该场次只剩 %(num)s 个名额，请减少人数或改选场次",
        "该场次只剩 %(num)s 个名额，请减少人数或改选场次",
        count="left",
    ),
    "session_required": N_("请选择场次"),
    "session_span_too_long": Nn_(
        "一次最多添加 %(num)s 天的场次",
        "一次最多添加 %(num)s 天的场次",
        count="n",
    ),
    "session_started": N_("该场次已经开始"),
    "session_times_invalid": N_("请填写开始时间，如 09:00, 14:00"),
    "session_times_too_many": N_("每天最多 %(n)s 个开始时间"),
    "sold_out": N_("所选日期已订满"),
    "places_left": Nn_(
        "只剩 %(num)s 个名额，请减少人数或改选日期",
        "只剩 %(num)s 个名额，请减少人数或改选日期",
        count="left",
    ),
    "text_too_long": N_("文字太长"),
    "too_many_guests": Nn_(
        "每个预订最多 %(num)s 人",
        "每个预订最多 %(num)s 人",
        count="n",
    ),
    "too_many_guests_for_rooms": Nn_(
        "所选 %(units)s 间最多住 %(num)s 人",
        "所选 %(units)s 间最多住 %(num)s 人",
        count="n",
    ),
    "too_many_nights": Nn_(
        "最多预订 %(num)s 晚",
        "最多预订 %(num)s 晚",
        count="nights",
    ),
    "too_many_units": Nn_(
        "每个预订最多 %(num)s 间",
        "每个预订最多 %(num)s 间",
        count="n",
    ),
    "too_many_unpaid_bookings": Nn_(
        "您已有 %(num)s 个到店支付的预订未完成；请先入住或取消，或选择在线支付",
        "您已有 %(num)s 个到店支付的预订未完成；请先入住或取消，或选择在线支付",
        count="n",
    ),
    "too_many_unpaid_bookings_card_off": Nn_(
        "您已有 %(num)s 个到店支付的预订未完成；请先入住，或在「我的预订」取消其中一个，再预订",
        "您已有 %(num)s 个到店支付的预订未完成；请先入住，或在「我的预订」取消其中一个，再预订",
        count="n",
    ),
    "unit_type_changed_since_shown": N_(
        "「%(name)s」在您打开这个页面后已修改（现价 %(price)s，数量 %(units)s）：请核对后再保存"
    ),
    "unit_type_name_invalid": N_("请填写房型/票种名称（最多 %(n)s 个字）"),
    "unit_type_needs_units": N_("数量至少为 1（房间数、每日票数或每场人数）"),
    "unit_type_not_addable": N_("只有住宿和门票可以添加房型或票种；体验的场次在项目页面添加"),
    "unit_type_not_found": N_("房型不存在"),
    "units_at_least_one": N_("间数至少为 1"),
    "units_in_use": Nn_(
        "已有预订占用 %(num)s，不能减少到 %(m)s",
        "已有预订占用 %(num)s，不能减少到 %(m)s",
        count="n",
    ),
    "units_out_of_range": N_("数量须在 0 到 %(n)s 之间"),
    "unknown_session": N_("该项目没有这个场次"),
    "unknown_unit_type": N_("该项目没有这个房型/票种"),
    "wrong_confirmation_code": N_("确认码不正确"),
}

register_messages(MESSAGES)
