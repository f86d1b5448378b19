"""What the refund pages and mails say: the buyer's choice (仅退款 / 退货退款), the goods' outcomes, how
the money goes back (by payment method, for the station and for the buyer: the one place that says it),
the question asked before a station's decision (`orders.views.refund_request_decide`) and the messages
flashed after it.

The services decide and return facts (`orders.services.refunds`: the request, its refund, what was
restocked); this module only puts them into words, in the reader's language.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from orders.models import REFUND_OWED, Order, Refund, RefundRequest
from orders.services.payments import cash_refunds_of, owed_refund_station_id
from orders.services.refunds import GoodsDecision, MoneyBack, goods_differ_from_kind, money_back
from shop.extensions import db
from shop.money import format_yuan
from stock.models import Station
from stock.services import Restocked

#: What happened to an approved refund's goods (`orders.models.RefundGoods`), in the station's words.
REFUND_GOODS_LABELS = {
    "not_returned": _l("货品未退回（仅退款）"),
    "restocked": _l("货品已退回、可再售"),
    "returned_unsellable": _l("货品已退回、不可再售"),
}


#: What the buyer asked for (`orders.models.RefundKind`), in the words of the request form.
REFUND_KIND_LABELS = {
    "refund_only": _l("仅退款（货品留下）"),
    "return": _l("退货退款（把货品退回站点）"),
}

#: How the money goes back (`orders.services.refunds.MoneyBack`), told to the station before it decides.
_STATION_WAY = {
    MoneyBack.CARD: _l("款项原路退回顾客的银行卡。"),
    MoneyBack.COUNTER: _l("已收的现金在柜台当面退还顾客：退还时在工作台点「退还现金」，从本站现金中支出，记入现金账。"),
    MoneyBack.COURIER: _l(
        "货到付款：顾客不在柜台，请派人把已收的现金送到顾客的收货地址退还：退还时在工作台点「退还现金」，从本站现金中支出，记入现金账。"
    ),
    MoneyBack.TRANSFER: _l("款项转账退回付款单位的账户。"),
}

#: The same, told to the buyer (the order page and the mails).
_BUYER_WAY = {
    MoneyBack.CARD: _l("款项将原路退回您的银行卡。"),
    MoneyBack.COUNTER: _l("请到付款的站点柜台领取退还的现金。"),
    MoneyBack.COURIER: _l("站点工作人员会把现金送到您的收货地址退还给您。"),
    MoneyBack.TRANSFER: _l("款项将转账退回贵单位的付款账户。"),
}


def station_money_way(order: Order) -> str:
    """How an approved refund's money of `order` goes back, as the station is told before deciding."""
    return str(_STATION_WAY[money_back(order)])


def courier_destination(order: Order) -> str:
    """Where the station's staff take a cash-on-delivery refund (the `courier` way): the order's recipient,
    phone and delivery address, said wherever the station is told to take the cash there (the request's
    card, the confirmation, the message after it); '' for every other way back."""
    if money_back(order) != MoneyBack.COURIER:
        return ""
    place = "".join((order.ship_province, order.ship_city, order.ship_district, order.ship_line))
    return _(
        "退还现金送到：%(name)s %(phone)s，%(address)s", name=order.ship_name, phone=order.ship_phone, address=place
    )


def buyer_money_way(order: Order) -> str:
    """How a refund's money of `order` reaches its buyer, as the order page and the mails tell them."""
    return str(_BUYER_WAY[money_back(order)])


def cash_refund_states(order: Order) -> list[str]:
    """Where each cash refund of `order` is, for its buyer's page: owed (待退还: still in the till of the
    station that took it, to collect at its counter — its name, address and hours — or, cash on delivery,
    to be brought to the delivery address), or handed back (已退还)."""
    said = []
    for refund in cash_refunds_of(order):
        amount = format_yuan(refund.amount_fen)
        station_id = owed_refund_station_id(refund)
        station = db.session.get(Station, station_id) if station_id is not None else None
        if refund.state != REFUND_OWED:
            said.append(_("现金 %(amount)s 已退还", amount=amount))
        elif money_back(order) == MoneyBack.COURIER or station is None:
            said.append(_("现金 %(amount)s 待退还：站点工作人员会送到您的收货地址", amount=amount))
        else:
            where = "，".join(
                part
                for part in (station.address, _("营业时间 %(hours)s", hours=station.hours) if station.hours else "")
                if part
            )
            if where:
                said.append(
                    _(
                        "现金 %(amount)s 待退还：在 %(name)s 柜台等您领取（%(where)s）",
                        amount=amount,
                        name=station.name,
                        where=where,
                    )
                )
            else:
                said.append(_("现金 %(amount)s 待退还：在 %(name)s 柜台等您领取", amount=amount, name=station.name))
    return said


def refunded_money_text(order: Order, *, paid: bool) -> str:
    """What the buyer's refund (or cancellation) mail says of the money: how it comes back, or, when
    nothing had been paid yet (a cash order before its cash was taken), that nothing more is owed — in
    words of goods (货款) only for an order that sells goods."""
    if paid:
        return buyer_money_way(order)
    if any(line.kind == "product" for line in order.lines):
        return _("这部分货款您还没有支付，不再收取。")
    return _("这部分款项您还没有支付，不再收取。")


def approval_question(req: RefundRequest, chosen: GoodsDecision) -> tuple[str, list[str]]:
    """The confirmation's question before an approval and its details: how the money goes back (by the
    order's payment method), what the buyer asked for and what becomes of the goods, said again when
    the station records them otherwise than the buyer asked."""
    question = _("确认同意订单 %(order)s 中「%(title)s」的退款申请？", order=req.order.code, title=req.line.title)
    details = [
        _(
            "退 %(num)s/%(total)s %(unit)s，退款 %(amount)s",
            num=req.quantity,
            total=req.line.quantity,
            unit=req.line.unit,
            amount=format_yuan(req.amount_fen),
        ),
        station_money_way(req.order),
    ]
    if destination := courier_destination(req.order):
        details.append(destination)
    if req.kind in REFUND_KIND_LABELS:
        details.append(_("顾客申请：%(kind)s", kind=REFUND_KIND_LABELS[req.kind]))
    details.append(str(REFUND_GOODS_LABELS[chosen.goods]))
    if goods_differ_from_kind(req, chosen.goods):
        details.append(_("注意：记录的货品去向与顾客的申请不同，请确认这是实际情况。"))
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


#: What the station is told to do with the money once it approved, by how it goes back.
_STATION_DONE = {
    MoneyBack.CARD: _l("已同意退款：%(amount)s 将原路退回顾客的银行卡"),
    MoneyBack.COUNTER: _l("已同意退款：请在柜台把现金 %(amount)s 当面退还顾客，退还时点「退还现金」记入现金账"),
    MoneyBack.COURIER: _l("已同意退款：请派人把现金 %(amount)s 送到顾客的收货地址退还，退还时点「退还现金」记入现金账"),
    MoneyBack.TRANSFER: _l("已同意退款：%(amount)s 将转账退回付款单位的账户"),
}


def approval_messages(req: RefundRequest, refund: Refund | None, restocked: Restocked | None) -> list[tuple[str, str]]:
    """(message, category) to flash after an approval: the money (nothing was paid yet, or the amount
    and how it goes back, by the order's payment method), then the units back in stock and those of
    them blocked (their lot expired or recalled)."""
    if refund is None:
        messages = [(_("已同意退款"), "success")]
    else:
        done = _STATION_DONE[money_back(req.order)]
        messages = [(str(done) % {"amount": format_yuan(refund.amount_fen)}, "success")]
        if destination := courier_destination(req.order):
            messages.append((destination, "info"))
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


#: What the station is told to do with the cash of a line it canceled (无法供货), once that cash had been
#: taken: it goes back as it came. A card's refund needs nothing of the station (the question said it).
_CANCELED_CASH = {
    MoneyBack.COUNTER: _l("请在柜台把已收的现金 %(amount)s 当面退还顾客，退还时点「退还现金」记入现金账"),
    MoneyBack.COURIER: _l("请派人把已收的现金 %(amount)s 送到顾客的收货地址退还，退还时点「退还现金」记入现金账"),
}


#: What the confirmation before cancelling a line (无法供货) says of its money, by how it goes back.
_CANCEL_LINE_MONEY = {
    MoneyBack.CARD: _l("%(amount)s 将原路退回顾客的银行卡。"),
    MoneyBack.COUNTER: _l("已收的现金 %(amount)s 要在柜台当面退还顾客，退还时点「退还现金」记入现金账。"),
    MoneyBack.COURIER: _l("已收的现金 %(amount)s 要派人送到顾客的收货地址退还，退还时点「退还现金」记入现金账。"),
    MoneyBack.TRANSFER: _l("%(amount)s 将转账退回付款单位的账户。"),
}


def cancel_line_money(order: Order, amount_fen: int) -> str:
    """What cancelling a line gives back, for its confirmation: the amount and the way (the cash taken
    ahead handed back at the counter, or taken to the address), or that nothing was paid for it yet."""
    if amount_fen <= 0:
        return _("这部分货款顾客还没有支付，不再收取。")
    return str(_CANCEL_LINE_MONEY[money_back(order)]) % {"amount": format_yuan(amount_fen)}


def canceled_line_money(order: Order, refund: Refund | None) -> str:
    """What the station does with the money of a line it canceled: hand the cash taken for it back (owed
    until the operator's 退还现金 writes its `refund` cash-book entry), or nothing ('': a card or transfer refund goes back by itself;
    nothing was paid yet)."""
    way = _CANCELED_CASH.get(money_back(order))
    if refund is None or way is None or refund.amount_fen <= 0:
        return ""
    return str(way) % {"amount": format_yuan(refund.amount_fen)}


def rejection_question(req: RefundRequest) -> str:
    """The confirmation's question before a rejection."""
    return _("确认拒绝订单 %(order)s 的「%(title)s」的退款申请？", order=req.order.code, title=req.line.title)
