"""The error codes this package raises (catalogue, products, images, households) and their messages.

A service raises `shop.errors.DomainError`s by code; `shop.errors.error_message` shows the message of the
code in the reader's language (the msgids are in this package's catalogue). Importing the package
registers them.
"""

from shop.errors import N_, Nn_, register_messages

MESSAGES = {
    "category_not_found": N_("分类不存在"),
    "change_already_decided": N_("这项修改已处理"),
    "change_not_found": N_("没有这项修改"),
    "document_already_decided": N_("这份证件已审核"),
    "document_already_expired": N_("证件已过有效期，请上传有效的证件"),
    "document_dates_required": N_("请填写证件的有效期（起止日期）"),
    "document_dates_reversed": N_("有效期截止日期不能早于起始日期"),
    "document_decision_invalid": N_("审核结果只能是通过或退回"),
    "document_file_required": N_("请上传证件文件（PDF、JPEG、PNG 或 HEIC）"),
    "document_file_too_large": N_("证件文件超过 %(mb)s MB"),
    "document_file_type": N_("证件文件只接受 PDF、JPEG、PNG 或 HEIC"),
    "document_issuer_invalid": N_("请填写发证机关（最多 80 个字）"),
    "document_kind_invalid": N_("证件类型不正确"),
    "document_not_found": N_("证件不存在"),
    "document_number_invalid": N_("请填写证件编号（最多 40 个字符）"),
    "document_pdf_active": N_("PDF 含有脚本或附件，请上传普通的扫描件"),
    "document_reason_required": N_("退回证件需要填写原因"),
    "document_reason_too_long": N_("原因最多 255 个字"),
    "decision_note_too_long": N_("退回原因或说明最多 %(max)s 个字，请删减后再提交"),
    "household_linked_twice": N_("同一贫困户联结了两次"),
    "household_not_found": N_("贫困户不存在"),
    "image_dimensions_too_large": Nn_(
        "照片尺寸过大（%(width)s×%(height)s 像素），最多 %(num)s 百万像素，请缩小后再上传",
        "照片尺寸过大（%(width)s×%(height)s 像素），最多 %(num)s 百万像素，请缩小后再上传",
        count="mp",
    ),
    "image_empty": N_("文件是空的"),
    "image_required": N_("没有上传文件"),
    "image_too_large": N_("照片超过 %(mb)s MB"),
    "image_too_many_pixels": Nn_(
        "照片尺寸过大，最多 %(num)s 百万像素，请缩小后再上传",
        "照片尺寸过大，最多 %(num)s 百万像素，请缩小后再上传",
        count="mp",
    ),
    "image_too_small": N_("照片太小"),
    "image_type": N_("只接受 JPEG、PNG、WebP、GIF 或 HEIC 照片"),
    "invalid_image": N_("文件不是有效的图片：请换一张 JPEG、PNG、WebP、GIF 或 HEIC 照片"),
    "invalid_product_name": N_("名称须为 1 至 80 个字"),
    "invalid_weight": N_("权重须为 1 到 1000000 之间的整数"),
    "page_out_of_range": N_("页码超出范围"),
    "papers_missing": N_("「%(name)s」暂停销售：%(what)s"),
    "product_not_found": N_("商品不存在"),
    "reason_required_to_return": N_("退回需要填写原因"),
    "sc_number_invalid": N_("食品生产许可证编号格式不正确：应为 SC 加 14 位数字"),
    "station_not_found": N_("站点不存在"),
    "village_not_found": N_("村不存在"),
    "variant_not_found": N_("这个商品没有这个规格"),
    "invalid_variant_label": N_("规格名称须为 1 至 40 个字"),
    "variant_label_taken": N_("这个商品已有同名规格"),
    "invalid_family_name": N_("商品名称须为 1 至 80 个字"),
    "family_rename_needs_certification": N_("商品名称是县扶贫办认定的内容，改名请联系平台管理员"),
    "family_order_mismatch": N_("规格顺序须包含这个商品的每个规格各一次，请刷新页面后重试"),
}

register_messages(MESSAGES)
