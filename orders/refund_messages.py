"""What the station's refund pages say of a decision (`orders.views.refund_request_decide`): the goods'
outcomes, the question asked before a decision, and the messages flashed after it.

The services decide and return facts (`orders.services.refunds`: the request, its refund, what was
restocked); this module only puts them into words, in the reader's language.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from orders.models import Refund, RefundRequest
from orders.services.refunds import GoodsDecision
from shop.money import format_yuan
from stock.services import Restocked

#: What happened to an approved refund's goods (`orders.models.RefundGoods`), in the station's words.
REFUND_GOODS_LABELS = {
    "not_returned": _l("货品未退回（仅退款）"),
    "restocked": _l("货品已退回、可再售"),
    "returned_unsellable": _l("货品已退回、不可再售"),
}


def approval_question(req: RefundRequest, chosen: GoodsDecision, *, cash: bool) -> tuple[str, list[str]]:
    """The confirmation's question before an approval and its details: where the money goes (a cash
    order's cash is handed back from the station's till) and what becomes of the goods."""
    if cash:
        question = _(
            "确认同意订单 %(order)s 中「%(title)s」的退款申请？已收的现金需从柜台现金中退还顾客。",
            order=req.order.code,
            title=req.line.title,
        )
    else:
        question = _(
            "确认同意订单 %(order)s 中「%(title)s」的退款申请？款项将退回给顾客。",
            order=req.order.code,
            title=req.line.title,
        )
    details = [str(REFUND_GOODS_LABELS[chosen.goods])]
    if chosen.quantity is not None:
        details.append(
            ngettext(
                "%(num)s %(unit)s 退回库存，回到售出时的批次",
                "%(num)s %(unit)s 退回库存，回到售出时的批次",
                chosen.quantity,
                unit=req.line.unit,
            )
        )
    else:
        details.append(_("库存不变"))
    return question, details


def approval_messages(
    req: RefundRequest, refund: Refund | None, restocked: Restocked | None, *, cash: bool
) -> list[tuple[str, str]]:
    """(message, category) to flash after an approval: the money (nothing was paid yet, the cash to
    hand back from the till, or the amount going back the way it came), then the units back in stock
    and those of them blocked (their lot expired or recalled)."""
    if refund is None:
        messages = [(_("已同意退款"), "success")]
    elif cash:
        amount = format_yuan(refund.amount_fen)
        messages = [(_("已同意退款：请从柜台现金中退还顾客 %(amount)s（已记入现金账）", amount=amount), "success")]
    else:
        messages = [(_("已同意退款：%(amount)s 将原路退回给顾客", amount=format_yuan(refund.amount_fen)), "success")]
    if restocked is not None:
        unit = req.line.unit
        back_in = ngettext("%(num)s %(unit)s 已退回库存", "%(num)s %(unit)s 已退回库存", restocked.quantity, unit=unit)
        messages.append((back_in, "success"))
        if restocked.blocked:
            blocked = ngettext(
                "其中 %(num)s %(unit)s 所在批次已过期或已召回，已封存，不能再售",
                "其中 %(num)s %(unit)s 所在批次已过期或已召回，已封存，不能再售",
                restocked.blocked,
                unit=unit,
            )
            messages.append((blocked, "warning"))
    return messages


def rejection_question(req: RefundRequest) -> str:
    """The confirmation's question before a rejection."""
    return _("确认拒绝订单 %(order)s 的「%(title)s」的退款申请？", order=req.order.code, title=req.line.title)
