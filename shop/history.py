"""State machines and their history.

Every status of an order, shipment, payment or booking is an explicit state machine: a `StrEnum`,
a transition table on the model (`TRANSITIONS = {from: {to, ...}}`) and this one `transition()`
function, which refuses illegal moves and records each change with time and actor.
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from shop.columns import fk, pk
from shop.errors import IllegalTransition
from shop.extensions import db
from shop.money import format_yuan


class StatusEvent(db.Model):
    __tablename__ = "status_events"
    __table_args__ = (sa.Index("ix_status_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = pk()
    #: The table name of the subject: 'orders', 'shipments', 'order_payments', 'bookings'.
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int] = mapped_column(sa.BigInteger)
    from_status: Mapped[str | None] = mapped_column(sa.String(24), nullable=True)
    to_status: Mapped[str] = mapped_column(sa.String(24))
    actor_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    #: Kept whole (text): a note may quote a reason the user typed in full.
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]


def can_transition(obj, to: str) -> bool:
    return to in obj.TRANSITIONS.get(obj.status, ())


def check_transition(model, current: str, to: str) -> None:
    """Raise `IllegalTransition` unless `model`'s table allows `current` -> `to`. `transition()` asks it
    for a loaded row; code that moves a row with one guarded UPDATE asks it for the move it writes."""
    if to not in model.TRANSITIONS.get(current, ()):
        raise IllegalTransition(fields={"status": str(current), "to": str(to)})


def transition(obj, to: str, *, actor=None, now: datetime, note: str = "", field: str = "status") -> StatusEvent:
    """Move `obj` to status `to` or raise `IllegalTransition`; record the change."""
    current = getattr(obj, field)
    check_transition(obj, current, to)
    setattr(obj, field, to)
    return record_status(obj, from_status=current, to_status=to, actor=actor, now=now, note=note)


def record_status(obj, *, from_status, to_status, actor=None, now: datetime, note: str = "") -> StatusEvent:
    """Record a status (also the initial one, with from_status=None)."""
    if obj.id is None:
        db.session.flush()
    event = StatusEvent(
        subject_type=obj.__tablename__,
        subject_id=obj.id,
        from_status=from_status,
        to_status=str(to_status),
        actor_id=getattr(actor, "id", None),
        note=note,
        created_at=now,
    )
    db.session.add(event)
    return event


def record_note(obj, note: str, *, actor=None, now: datetime) -> StatusEvent:
    """A line in `obj`'s history that changes no status: cash taken or handed back, a pick-up unlocked,
    goods returned, a line canceled (`note_text` says it in the page's language)."""
    return record_status(obj, from_status=obj.status, to_status=obj.status, actor=actor, now=now, note=note)


def record_statuses(events, *, actor=None, now: datetime) -> None:
    """`record_status` for rows just written, in one INSERT: `events` are (subject, from_status,
    to_status, note), every subject flushed (it has its id). A checkout or a booking records the
    first statuses of its order, payment, shipments and bookings at once; the events are written
    with SQLAlchemy's bulk INSERT, not as objects of the session (its flush has no more to do)."""
    if any(obj.id is None for obj, _from, _to, _note in events):
        db.session.flush()
    rows = [
        {
            "subject_type": obj.__tablename__,
            "subject_id": obj.id,
            "from_status": from_status,
            "to_status": str(to_status),
            "actor_id": getattr(actor, "id", None),
            "note": note,
            "created_at": now,
        }
        for obj, from_status, to_status, note in events
    ]
    if rows:
        db.session.execute(sa.insert(StatusEvent.__table__), rows)


def history_of(obj) -> list[StatusEvent]:
    return list(
        db.session.scalars(
            db.select(StatusEvent)
            .where(StatusEvent.subject_type == obj.__tablename__, StatusEvent.subject_id == obj.id)
            .order_by(StatusEvent.created_at, StatusEvent.id)
        )
    )


def histories_of(objs) -> dict[int, list[StatusEvent]]:
    """{id: `history_of` it} of rows of one table (an order's shipments), in one SELECT whatever their number."""
    objs = list(objs)
    found: dict[int, list[StatusEvent]] = {obj.id: [] for obj in objs}
    if not objs:
        return found
    events = db.session.scalars(
        db.select(StatusEvent)
        .where(StatusEvent.subject_type == objs[0].__tablename__, StatusEvent.subject_id.in_(list(found)))
        .order_by(StatusEvent.created_at, StatusEvent.id)
    )
    for event in events:
        found[event.subject_id].append(event)
    return found


#: The notes the code writes on status changes (stable English keys), as the reader reads them.
#: Notes typed by a person (a refund reason, a cancel reason) are shown as they were typed.
NOTE_LABELS = {
    "paid": _l("已付款"),
    "pay on arrival": _l("到店支付"),
    "cash received": _l("已收现金"),
    "payment window passed": _l("付款期限已过"),
    "not collected in time": _l("逾期未取货"),
    "late payment, stock re-allocated": _l("逾期付款，已重新分配库存"),
    "buyer canceled": _l("买家取消"),
    "买家取消": _l("买家取消"),
    "登记": _l("登记"),
    "建档立卡": _l("建档立卡"),
    "booking canceled": _l("预订已取消"),
    "booking canceled by the host": _l("接待户取消了预订"),  # the order's, tourism.services.booking.host_cancel_booking
    "canceled by the host: unpaid": _l("接待户取消了未付款的预订"),  # the booking's, likewise
    "host refunded the kept money": _l("接待户退还了已扣的费用"),  # a refund's reason, tourism.views.host_refund_kept
    "预订已无房，整单退款": _l("预订已无房，整单退款"),  # the order's, orders.services.payments
    "no shipment left": _l("没有待发的发货单"),  # a payment's, orders.services.payments
    "purchase deleted": _l("采购单已删除"),  # a quote's, institutions.services.quotes
    "free cancellation": _l("免费取消"),
    "order released": _l("订单已释放"),
    "hold expired": _l("保留已过期"),
    "hold expired before payment": _l("付款前保留已过期"),
    "hold expired; no room left": _l("保留已过期，已无空房"),
    "paid after the hold expired; re-held": _l("保留过期后付款，已重新保留"),
    "no room left after late payment": _l("逾期付款后已无空房"),
    "booking hold expired and no room left: refunded": _l("保留已过期且无空房，已退款"),
    "no-show, nothing paid": _l("未到店，未付款"),
    "no-show": _l("未到店"),
    "check-out date passed": _l("已过离店日期"),
    "delivered": _l("已送达"),
    "picked up": _l("已自提"),
    "received": _l("自提站点已收货"),
    "pickup unlocked": _l("取货码已解锁"),
    "wrong pickup code": _l("取货码错误"),
    "returned to the packing station": _l("货物已退回发货站点入库"),
    "no line could be supplied": _l("没有可供货的商品"),
    # written by the migration c1ee512ceb53 on an order whose status the old rules left wrong
    "status corrected by its parts": _l("已按订单各部分更正状态"),
    "recalled lot: unpaid order canceled": _l("商品批次已召回，未付款的订单已取消，不会扣款"),
    "订单已过期且库存不足，自动退款": _l("订单已过期且库存不足，自动退款"),
    "订单已取消，自动退款": _l("订单已取消，自动退款"),
}
_CASH = re.compile(r"^cash received (?P<amount>¥[0-9,]+\.[0-9]{2})$")
_HANDED_BACK = re.compile(r"^cash handed back (?P<amount>¥[0-9,]+\.[0-9]{2})$")
_FEE = re.compile(r"^fee (?P<fen>[0-9]+) fen kept$")
_LINE = re.compile(r"^line (?P<line>[0-9]+) canceled: (?P<reason>.*)$", re.S)
#: a booking the host canceled, with the reason given to the guest (tourism.services.booking.HOST_CANCELED_NOTE)
_HOST_CANCELED = re.compile(r"^canceled by the host: unpaid; reason: (?P<reason>.*)$", re.S)


def note_text(note: str | None) -> str:
    """A status note in the reader's language (template filter `history_note`)."""
    note = note or ""
    if note in NOTE_LABELS:
        return str(NOTE_LABELS[note])
    if match := _CASH.match(note):
        return _("已收现金 %(amount)s", amount=match["amount"])
    if match := _HANDED_BACK.match(note):  # orders.services.payments.hand_back_cash
        return _("现金 %(amount)s 已退还", amount=match["amount"])
    if match := _FEE.match(note):
        return _("收取手续费 %(amount)s", amount=format_yuan(int(match["fen"])))
    if match := _HOST_CANCELED.match(note):
        return _("接待户取消了未付款的预订，原因：%(reason)s", reason=match["reason"])
    if match := _LINE.match(note):
        return _("商品已取消：%(reason)s", reason=note_text(match["reason"]))
    return note
