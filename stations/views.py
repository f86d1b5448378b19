"""HTML views of the stations package: the operator's workspace under /station.

Every page is for operators (admins pass everywhere and pick a station with `?station=CODE`).
An operator only ever sees its own station: pages take the station from the account, and objects
named in the URL (shipments, stock records, products) of another station are a 404.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from catalog.changes import change_photo, pending_change, pending_changes_of, returned_changes_of
from catalog.models import ApprovalStatus, ProductChange
from catalog.papers import (
    FOOD_CLASS_LABELS,
    DocumentInput,
    DocumentKind,
    documents_of_products,
    kind_label,
    paper_gaps,
    upload_document,
)
from catalog.papers import (
    STATUS_LABELS as PAPER_STATUS_LABELS,
)
from catalog.services import household_labels, list_categories, update_family
from ledger.purchases import credit_intake_purchase
from orders import cashbook_pages
from orders.models import REFUND_OWED, OrderLine, Refund, Shipment
from orders.refund_messages import cancel_line_money, canceled_line_money
from orders.services import cashbook as cash
from orders.services import payments
from orders.services.amounts import is_cash_order
from orders.services.pickup import collector_name
from orders.services.refunds import line_refunds, restock_references
from shop.args import MAX_ID, int_or_none, page_date_arg, parse_int
from shop.auth.models import Role
from shop.auth.permissions import can_manage_station, role_required
from shop.confirm import ask_first, confirmed
from shop.db import commit, rollback
from shop.errors import Conflict, DomainError, NotFound, error_message, flash_domain_errors
from shop.extensions import db
from shop.filters import local_dt
from shop.forms import create_once, flash_form_errors, mark_refused_fields
from shop.history import history_of
from shop.money import format_yuan
from shop.qr import qr_svg
from shop.timeutil import local_date, now_utc
from shop.urls import external_url
from stations.forms import (
    ActionForm,
    AssistedProductForm,
    CancelLineForm,
    CorrectForm,
    EmptyForm,
    FamilyForm,
    PaperForm,
    ProductEditForm,
    ProductPhotoForm,
    ReceiveForm,
)
from stations.services import assisted, dashboard, fulfilment, recalls
from stock import services as stock_service
from stock.models import Lot, LotStatus, Station, StockRecord

bp = Blueprint("stations", __name__, url_prefix="/station")

STATUS_LABELS = fulfilment.STATUS_LABELS


@bp.app_context_processor
def _labels():
    return {
        "shipment_status_label": fulfilment.status_label,
        "shipment_return_label": fulfilment.return_label,
        "operator_station": _operator_station,
    }


def _operator_station() -> Station | None:
    """The signed-in operator's station, for the workspace menu on the station's pages other packages
    serve (templates/stations/_workspace.html); None for every other role."""
    if not current_user.is_authenticated or current_user.role != Role.OPERATOR or not current_user.station_id:
        return None
    return db.session.get(Station, current_user.station_id)


# --- helpers -------------------------------------------------------------------------------------


def _current_station() -> Station:
    """The operator's station; an admin picks one with ?station=CODE (default: the first)."""
    if current_user.role == Role.ADMIN:
        code = request.args.get("station", "").strip()
        if code:
            try:
                return dashboard.get_station(code=code[:16])
            except NotFound:
                abort(404)
        if current_user.station_id:
            return db.session.get(Station, current_user.station_id)
        station = db.session.scalar(sa.select(Station).order_by(Station.code).limit(1))
        if station is None:
            abort(404)
        return station
    station = db.session.get(Station, current_user.station_id) if current_user.station_id else None
    if station is None or not can_manage_station(current_user, station.id):
        abort(403)
    return station


def _station_args(station: Station) -> dict:
    return {"station": station.code} if current_user.role == Role.ADMIN else {}


def _shipment(code: str):
    try:
        return fulfilment.get_shipment_for(current_user, code[:24])
    except NotFound:
        abort(404)


def _record(record_id: int) -> StockRecord:
    record = db.session.get(StockRecord, record_id)
    if record is None or not can_manage_station(current_user, record.station_id):
        abort(404)
    return record


# --- dashboard -----------------------------------------------------------------------------------


@bp.get("/")
@role_required(Role.OPERATOR)
def index():
    station = _current_station()
    now = now_utc()
    data = dashboard.station_dashboard(station, now=now)
    stations = (
        list(db.session.scalars(sa.select(Station).order_by(Station.code))) if current_user.role == Role.ADMIN else []
    )
    return render_template(
        "stations/index.html",
        dash=data,
        station=station,
        now=now,
        stations=stations,
        station_args=_station_args(station),
        hand_back_form=EmptyForm(),
    )


# --- shipments -----------------------------------------------------------------------------------


@bp.get("/shipments/<code>")
@role_required(Role.OPERATOR)
def shipment(code: str):
    """The shipment, and the forms of exactly the steps the service would take now (`fulfilment.offered_steps`:
    the template picks a step's form, it states no rule of its own)."""
    return _shipment_page(_shipment(code))


def _shipment_page(s, *, typed: dict | None = None, status: int = 200):
    """The shipment's page; `typed`: what the operator typed into a step the service refused (its `action`,
    `pickup_code`, `cash_received`, `tracking_number`, `lots` by line id), shown again in that step's form —
    at the counter, with the buyer waiting, one wrong figure costs one field, not the code and the cash."""
    cash_in_book = cash.taken_entry(s.id) is not None
    # a parcel paid at the counter, packed, held until its cash is in the book: the page says why no 发货
    ship_held = fulfilment.step_refusal(current_user, s, "ship")
    page = render_template(
        "stations/shipment.html",
        shipment=s,
        order=s.order,
        pickup_station=s.order.pickup_station if fulfilment.pickup_station_id(s) else None,
        is_transfer=fulfilment.is_transfer(s),
        offer=fulfilment.offered_steps(current_user, s),
        ship_held=ship_held if ship_held is not None and ship_held.code == "cash_before_shipping" else None,
        hands_over=fulfilment.may(current_user, s, "pickup"),
        order_shipments=fulfilment.order_shipments(s.order) if fulfilment.pickup_station_id(s) else [s],
        amount_of=fulfilment.shipment_amount_fen,
        history=history_of(s),
        line_lots=stock_service.line_lots([ln.id for ln in s.lines]),
        line_refunds=line_refunds(s.order),
        recalled_lots=recalls.lots_to_settle_in(s.id),
        action_form=ActionForm(),
        cancel_form=CancelLineForm(),
        max_cancel_reason=fulfilment.MAX_CANCEL_REASON,
        cash_form=EmptyForm(),
        refunds_of_cash=_cash_refunds_of(s),
        cash_methods=cash.CASH_METHODS,
        amount_fen=fulfilment.shipment_amount_fen(s),
        cash_in_book=cash_in_book,
        cash_due=cash.outstanding_cash_fen([s]) if is_cash_order(s.order) and not cash_in_book else 0,
        order_cash_due=cash.outstanding_cash_fen(fulfilment.live_shipments(s.order)) if is_cash_order(s.order) else 0,
        max_failures=fulfilment.PICKUP_MAX_FAILURES,
        pickup_waiting=fulfilment.not_yet_at_pickup_station(s) if s.order.delivery == "pickup" else [],
        now=now_utc(),
        typed=typed or {},
    )
    return page, status


def _cash_refunds_of(s) -> list:
    """The shipment's cash refunds, owed (待退还, with 退还现金 for the station whose till owes them) and
    handed back (已退还)."""
    return list(db.session.scalars(sa.select(Refund).where(Refund.shipment_id == s.id).order_by(Refund.id)))


def _action_question(s, action: str) -> str | None:
    """What the confirmation step asks before a step that cannot be taken back (shop.confirm): goods leave
    the station or reach the buyer, the buyer is told, or the shipment is canceled. Accepting and packing
    are the station's own work and need none."""
    questions = {
        "ready": _("确认发货单 %(code)s 已可自提？顾客会收到取货通知。"),
        "ship": _("确认发货单 %(code)s 已交快递发出？"),
        "receive": _("确认本站已收到发货单 %(code)s？"),
        "deliver": _("确认发货单 %(code)s 已交到顾客手中？"),
        "pickup": _("确认把发货单 %(code)s 交给取货的顾客？"),
        "cancel": _("确认取消发货单 %(code)s？顾客会收到通知。"),
    }
    if action == "ship" and fulfilment.is_transfer(s):  # to the counter the buyer chose, not by courier to them
        return _("确认发货单 %(code)s 已送往 %(name)s？", code=s.code, name=s.order.pickup_station.name)
    question = questions.get(action)
    return question % {"code": s.code} if question else None


@bp.post("/shipments/<code>/action")
@role_required(Role.OPERATOR)
def shipment_action(code: str):
    s = _shipment(code)
    form = ActionForm()
    if not form.validate_on_submit() or form.action.data not in fulfilment.ACTIONS:
        if any(field.errors for field in (form.tracking_number, form.pickup_code, form.reason, form.cash_received)):
            # what was typed is wrong (a 41-character tracking number, a bad amount): say which field, keep
            # the typing; not "无效的操作" and an empty form
            flash_form_errors(form)
            return _shipment_page(s, typed=_typed(form, s), status=422)
        flash(_("无效的操作"), "error")
        return redirect(url_for(".shipment", code=s.code))
    if fulfilment.step_done_already(s, form.action.data):  # a second tap, or 确认 again after Back: done
        # said as the state it is in, not as news of this tap (已更新：… read as if this POST did it again)
        flash(_("已是「%(status)s」，无需重复操作", status=fulfilment.status_label(s.status)), "info")
        return redirect(url_for(".shipment", code=s.code))
    # a step that cannot be taken now is refused at once, as the step itself would refuse it, before any
    # confirmation is asked (the step asks the same predicates again under its locks)
    refusal = fulfilment.step_refusal(current_user, s, form.action.data, tracking_number=form.tracking_number.data)
    if refusal is not None:
        flash(refusal.message, "error")
        return _shipment_page(s, typed=_typed(form, s), status=refusal.status)
    question = _action_question(s, form.action.data)
    try:
        if question is not None and form.action.data == "pickup" and not confirmed():
            # the buyer's code and the cash are checked before the confirmation step, not after it
            fulfilment.check_pickup(
                s,
                pickup_code=form.pickup_code.data,
                cash_received_fen=form.cash_received.fen,
                actor=current_user,
                now=now_utc(),
            )
            rollback()  # nothing written but the locks taken: the step takes them again after the question
        if question is not None and form.action.data == "deliver" and not confirmed():
            # likewise the cash of a cash-on-delivery parcel: short cash is refused before the question
            fulfilment.check_deliver(s, cash_received_fen=form.cash_received.fen)
        if question is not None:
            cash_in = form.cash_received.fen if form.action.data in ("deliver", "pickup") else None
            # the cash typed, named again before the irreversible hand-over: the operator checks it against the notes
            details = [_("收到现金 %(amount)s，记入本站现金账", amount=format_yuan(cash_in))] if cash_in else []
            page = ask_first(question, back=url_for(".shipment", code=s.code), details=details)
            if page is not None:
                return page
        fulfilment.apply_action(
            s,
            form.action.data,
            actor=current_user,
            now=now_utc(),
            tracking_number=form.tracking_number.data,
            pickup_code=form.pickup_code.data,
            reason=form.reason.data,
            cash_received_fen=form.cash_received.fen,
            lots=_scanned_lots(s),
        )
        commit()
        flash(_("已更新：%(status)s", status=fulfilment.status_label(s.status)), "success")
    except fulfilment.WrongPickupCode as exc:
        commit()  # the failure count must stick even though the hand-over failed
        left = exc.fields.get("attempts_left", "0")
        if left == "0":  # that was the last try: say it is locked now, not "0 tries left"
            flash(error_message("pickup_locked"), "error")
        else:
            flash(
                ngettext(
                    "取货码错误：请顾客在「我的订单」打开这笔订单核对取货码（还可尝试 %(num)s 次）",
                    "取货码错误：请顾客在「我的订单」打开这笔订单核对取货码（还可尝试 %(num)s 次）",
                    int(left),
                ),
                "error",
            )
        return _shipment_page(_shipment(code), typed=_typed(form, s), status=exc.status)
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return _shipment_page(_shipment(code), typed=_typed(form, s), status=exc.status)
    return redirect(url_for(".shipment", code=s.code))


def _typed(form: ActionForm, s) -> dict:
    """What the operator typed into a refused step's form, to fill it in again (see `_shipment_page`)."""
    return {
        "action": form.action.data,
        "pickup_code": form.pickup_code.data or "",
        "cash_received": form.cash_received.raw_data[0] if form.cash_received.raw_data else "",
        "tracking_number": form.tracking_number.data or "",
        "lots": _scanned_lots(s),
    }


def _scanned_lots(s) -> dict[int, str]:
    """The lot codes the packer scanned, one field `lot-<line id>` per product line (blank: keep the lot)."""
    return {
        ln.id: request.form.get(f"lot-{ln.id}", "")[:16]
        for ln in s.lines
        if ln.kind == "product" and request.form.get(f"lot-{ln.id}", "").strip()
    }


@bp.post("/shipments/<code>/lines/<int:line_id>/cancel")
@role_required(Role.OPERATOR)
def cancel_line(code: str, line_id: int):
    s = _shipment(code)
    line = db.session.get(OrderLine, line_id)
    if line is None or line.shipment_id != s.id:
        abort(404)
    if not fulfilment.may(current_user, s, "cancel"):
        abort(403)
    form = CancelLineForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for(".shipment", code=s.code))
    refusal = fulfilment.cancel_line_refusal(line)  # refused at once, not after the confirmation
    if refusal is not None:
        flash(refusal.message, "error")
        return redirect(url_for(".shipment", code=s.code))
    try:  # a reason too long: said under it, as typed, the line's form open
        fulfilment.cancel_reason(form.reason.data)
    except DomainError as exc:
        typed = {"cancel_line": line.id, "reason": form.reason.data, "reason_error": exc.message}
        return _shipment_page(s, typed=typed, status=exc.status)
    page = ask_first(
        _("确认取消「%(title)s」× %(n)s？顾客会收到通知。", title=line.title, n=line.quantity),
        back=url_for(".shipment", code=s.code),
        details=[cancel_line_money(s.order, payments.line_refund_fen(line))],
    )
    if page is not None:
        return page
    with flash_domain_errors():
        refund = fulfilment.cancel_line(line, actor=current_user, now=now_utc(), reason=form.reason.data)
        commit()
        flash(_("已取消该商品，并通知顾客"), "success")
        if cash_back := canceled_line_money(s.order, refund):  # cash taken ahead goes back over the counter
            flash(cash_back, "warning")
    return redirect(url_for(".shipment", code=s.code))


@bp.post("/shipments/<code>/cash")
@role_required(Role.OPERATOR)
def confirm_cash(code: str):
    s = _shipment(code)
    if not fulfilment.may(current_user, s, "cash"):
        abort(403)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    refusal = payments.counter_cash_refusal(s)  # refused at once, not after the confirmation
    if refusal is not None:
        flash(refusal.message, "error")
        return redirect(url_for(".shipment", code=s.code))
    page = ask_first(
        _(
            "确认已收到发货单 %(code)s 的现金 %(amount)s？收款会记入现金账。",
            code=s.code,
            amount=format_yuan(fulfilment.shipment_amount_fen(s)),
        ),
        back=url_for(".shipment", code=s.code),
    )
    if page is not None:
        return page
    with flash_domain_errors():
        payments.confirm_counter_cash(s, actor=current_user, now=now_utc())
        commit()
        flash(_("已确认收到现金"), "success")
    return redirect(url_for(".shipment", code=s.code))


@bp.post("/refunds/<int:refund_id>/hand-back")
@role_required(Role.OPERATOR)
def hand_back_cash(refund_id: int):
    """退还现金: the operator hands a cash refund owed to a buyer back (at the counter, or at the address of
    a cash-on-delivery parcel); it enters this station's cash book now, by this operator. A refund this
    station's till does not owe is a 404."""
    try:
        refund = payments.cash_refund_for(current_user, refund_id)
    except DomainError:
        abort(404)
    shipment = db.session.get_one(Shipment, refund.shipment_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    back = url_for(".shipment", code=shipment.code)
    if refund.state != REFUND_OWED:  # a second tap, or 确认 again after Back: done already
        flash(_("这笔现金已退还"), "info")
        return redirect(back)
    page = ask_first(
        _(
            "确认已把现金 %(amount)s 退还给 %(name)s（订单 %(order)s）？退款会记入本站现金账。",
            amount=format_yuan(refund.amount_fen),
            name=collector_name(shipment.order),
            order=shipment.order.code,
        ),
        back=back,
    )
    if page is not None:
        return page
    with flash_domain_errors():
        if payments.hand_back_cash(refund, actor=current_user, now=now_utc()):
            flash(_("已退还现金 %(amount)s，记入现金账", amount=format_yuan(refund.amount_fen)), "success")
        else:
            flash(_("这笔现金已退还"), "info")
        commit()
    return redirect(back)


@bp.post("/shipments/<code>/unlock-pickup")
@role_required(Role.ADMIN)
def unlock_pickup(code: str):
    s = _shipment(code)
    if not EmptyForm().validate_on_submit():
        abort(400)
    with flash_domain_errors():
        fulfilment.unlock_pickup(s, actor=current_user, now=now_utc())
        commit()
        flash(_("已解除取货码锁定"), "success")
    return redirect(url_for(".shipment", code=s.code))


def _trace_urls(lots: dict) -> dict[str, str]:
    """{lot code: its public trace page's address} (`SITE_URL`, whatever host the station uses)."""
    return {
        lot.code: external_url("trace.trace_page", code=lot.code) for line_lots in lots.values() for lot in line_lots
    }


def _trace_qr(lots: dict) -> dict:
    """{lot code: the QR code of its public trace page}: what a buyer scans on the slip or the label."""
    return {code: qr_svg(url) for code, url in _trace_urls(lots).items()}


@bp.get("/shipments/<code>/slip")
@role_required(Role.OPERATOR)
def slip(code: str):
    s = _shipment(code)
    lots = stock_service.line_lots([ln.id for ln in s.lines])
    trace_qr = _trace_qr(lots)
    return render_template(
        "stations/slip.html",
        shipment=s,
        order=s.order,
        qr=qr_svg(s.order.code),
        now=now_utc(),
        pickup_station=s.order.pickup_station or s.station,
        amount_fen=fulfilment.shipment_amount_fen(s),
        line_lots=lots,
        trace_qr=trace_qr,
    )


@bp.get("/shipments/<code>/label")
@role_required(Role.OPERATOR)
def label(code: str):
    """The parcel label (面单), separate from the packing slip: who it goes to, from which station, the
    shipment's code, and for each open line a QR code per lot to its trace page (the buyer scans it
    on the parcel). Printed like the slip: a plain sheet, the print button by static/js/print.js."""
    s = _shipment(code)
    lines = [ln for ln in s.lines if ln.status == "open"]
    lots = stock_service.line_lots([ln.id for ln in lines])
    return render_template(
        "stations/label.html",
        shipment=s,
        order=s.order,
        lines=lines,
        line_lots=lots,
        trace_qr=_trace_qr(lots),
        trace_urls=_trace_urls(lots),
        code_qr=qr_svg(s.code),
        pickup_station=s.order.pickup_station or s.station,
        amount_fen=fulfilment.shipment_amount_fen(s),  # what the courier collects on a cash-on-delivery parcel
        now=now_utc(),
    )


# --- cash ----------------------------------------------------------------------------------------


def _shipment_link(entry) -> Markup:
    if entry.shipment is None:
        return Markup("")
    return Markup('<a href="{}">{}</a>').format(
        url_for("stations.shipment", code=entry.shipment.code), entry.shipment.code
    )


@bp.get("/cash")
@role_required(Role.OPERATOR)
def cash_summary():
    """The station's cash book for one day: entries, per-operator summary, the close."""
    station = _current_station()
    asked, status = page_date_arg("date", label=_("日期"), instead=_("已显示今天的账"))
    return _cash_page(station, asked or local_date(now_utc())), status


def _cash_page(station, day, close_form=None, move_form=None) -> str:
    """The station's cash page of `day`; `close_form`, `move_form`: a refused form, what was typed kept."""
    groups = cash.cash_summary(station.id, day)
    return render_template(
        "stations/cash.html",
        station=station,
        groups=groups,
        total_fen=sum(g.amount_fen for g in groups),
        station_args=_station_args(station),
        **cashbook_pages.book_page(
            station.id,
            day,
            till=cash.STATION_TILL,
            entry_ref=_shipment_link,
            close_form=close_form,
            move_form=move_form,
            day_url=lambda d: url_for(".cash_summary", date=d.isoformat(), **_station_args(station)),
        ),
    )


@bp.post("/cash/close")
@role_required(Role.OPERATOR)
def cash_close():
    station = _current_station()
    return cashbook_pages.close_day_posted(
        station.id,
        till=cash.STATION_TILL,
        endpoint="stations.cash_summary",
        args=_station_args(station),
        page=lambda day, **forms: _cash_page(station, day, **forms),
    )


@bp.post("/cash/entries")
@role_required(Role.OPERATOR)
def cash_move():
    station = _current_station()
    return cashbook_pages.move_posted(
        station.id,
        till=cash.STATION_TILL,
        endpoint="stations.cash_summary",
        args=_station_args(station),
        once="stations.cash_move",
        page=lambda day, **forms: _cash_page(station, day, **forms),
    )


# --- stock ---------------------------------------------------------------------------------------


@bp.get("/stock")
@role_required(Role.OPERATOR)
def stock():
    station = _current_station()
    return render_template(
        "stations/stock.html",
        station=station,
        records=dashboard.station_stock(station.id),
        station_args=_station_args(station),
    )


def _receive_form(record: StockRecord) -> ReceiveForm:
    form = ReceiveForm()
    households = assisted.station_households(record.product.station)
    labels = household_labels(households)
    form.from_household_id.choices = [SelectChoice(0, _("（不指定）"))] + [
        SelectChoice(h.id, labels[h.id]) for h in households
    ]
    return form


@bp.get("/stock/<int:record_id>")
@role_required(Role.OPERATOR)
def stock_record(record_id: int):
    return _stock_record_page(_record(record_id))


def _stock_record_page(record: StockRecord, *, receive_form=None, correct_form=None, status: int = 200):
    """The stock record's page; `receive_form`, `correct_form`: a refused form shown again with what the
    operator typed (quantity, dates, household, price), so that one wrong date costs one field, not six."""
    movements = stock_service.list_movements(record.id)
    lots = stock_service.record_lots(record.id)
    page = render_template(
        "stations/stock_record.html",
        record=record,
        movements=movements,
        total=stock_service.movements_total(record.id),
        receive_form=receive_form or _receive_form(record),
        correct_form=correct_form or _correct_form(record),
        lots=lots,
        lot_codes={lot.id: lot.code for lot in lots},
        refund_orders=restock_references(m.refund_request_id for m in movements),
    )
    return page, status


def _correct_form(record: StockRecord) -> CorrectForm:
    form = CorrectForm()
    form.lot_id.choices = [SelectChoice(0, _("（不指定：先到期的批次）"))] + [
        SelectChoice(lot.id, lot.code) for lot in stock_service.record_lots(record.id) if lot.status == "active"
    ]
    if not form.is_submitted():
        form.on_hand_seen.data = str(record.on_hand)
    return form


@bp.post("/stock/<int:record_id>/receive")
@role_required(Role.OPERATOR)
def receive(record_id: int):
    record = _record(record_id)
    form = _receive_form(record)
    back = url_for(".stock_record", record_id=record.id)
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _stock_record_page(record, receive_form=form, status=422)
    now = now_utc()

    def receive_and_credit():
        """The goods in; bought from a household, the purchase credited to it (returned, else None)."""
        movement = stock_service.receive_stock(
            record,
            form.quantity.data,
            actor=current_user,
            now=now,
            lot_note=form.lot_note.data or "",
            harvest_date=form.harvest_date.data,
            best_before_date=form.best_before_date.data,
            from_household_id=form.from_household_id.data or None,
            purchase_price_fen=form.purchase_price.fen if form.acquisition.data == "purchased" else None,
        )
        lot = db.session.get(Lot, movement.lot_id) if movement.lot_id else None
        return credit_intake_purchase(lot, actor=current_user, now=now) if lot else None

    try:
        record_purchase = create_once(form, "stations.stock_receive", receive_and_credit, now=now, done=back)
    except DomainError as exc:
        return _refused_stock_form(record_id, form, exc, receive=True)
    if record_purchase is not None:
        flash(
            _(
                "已入库 %(n)s，收购款 %(amount)s 已记入农户收益",
                n=form.quantity.data,
                amount=format_yuan(record_purchase.total_fen),
            ),
            "success",
        )
    else:
        flash(_("已入库 %(n)s", n=form.quantity.data), "success")
    return redirect(back)


def _refused_stock_form(record_id: int, form, exc: DomainError, *, receive: bool):
    """A stock service refused the intake or the correction: roll back, say why at the top and under the
    field it names (`best_before_date`, `purchase_price_fen` -> `purchase_price`), and show the form again
    as typed."""
    rollback()
    flash(exc.message, "error")
    mark_refused_fields(form, exc)
    record = _record(record_id)
    if not receive:  # the page shows the count as it is now: a correction sent again is decided on it
        form.on_hand_seen.data = str(record.on_hand)
    forms = {"receive_form": form} if receive else {"correct_form": form}
    return _stock_record_page(record, status=exc.status, **forms)


@bp.post("/stock/<int:record_id>/correct")
@role_required(Role.OPERATOR)
def correct(record_id: int):
    record = _record(record_id)
    form = _correct_form(record)
    back = url_for(".stock_record", record_id=record.id)
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _stock_record_page(record, correct_form=form, status=422)
    now = now_utc()
    lot = db.session.get(Lot, form.lot_id.data) if form.lot_id.data else None
    try:
        create_once(
            form,
            "stations.stock_correct",
            lambda: stock_service.correct_stock(
                record,
                form.delta.data,
                reason=form.reason.data,
                actor=current_user,
                now=now,
                lot=lot,
                seen_on_hand=int_or_none(form.on_hand_seen.data),
            ),
            now=now,
            done=back,
        )
    except DomainError as exc:
        return _refused_stock_form(record_id, form, exc, receive=False)
    flash(_("库存已调整"), "success")
    return redirect(back)


# --- a lot, and its recall (#23) -------------------------------------------------------------------


def _lot(code: str) -> Lot:
    """A lot of a station the user manages; another station's lot is the 404 an unknown code gets."""
    try:
        return recalls.get_lot_for(current_user, code[:16])
    except NotFound:
        abort(404)


def _lot_page(lot: Lot, *, reason: str = "", status: int = 200):
    """The lot's page: its facts, its trace page, and either the recall form or, once recalled, the
    order lines whose buyers were told; `reason`: a refused reason shown again."""
    lines = recalls.affected_lines(lot) if lot.status == LotStatus.RECALLED else []
    page = render_template(
        "stations/lot.html",
        lot=lot,
        lines=lines,
        was_sold=not lines and recalls.was_sold(lot),
        reason=reason,
        reason_max=recalls.RECALL_REASON_MAX,
    )
    return page, status


@bp.get("/lots/<code>")
@role_required(Role.OPERATOR)
def lot_page(code: str):
    return _lot_page(_lot(code))


@bp.get("/recalls")
@role_required(Role.OPERATOR)
def recalls_to_settle():
    """召回待处理: every open line of the station's recalled lots, with what it waits for (refund now, or
    delivery first), so that none is forgotten; the desk's tile opens it."""
    station = _current_station()
    return render_template("stations/recalls.html", station=station, todo=recalls.lines_to_settle(station.id))


@bp.post("/lots/<code>/recall")
@role_required(Role.OPERATOR)
def recall_lot(code: str):
    """Recall one of the station's lots: blocked at once, its buyers mailed after the commit
    (stations.services.recalls); the reason is checked before the confirmation step."""
    lot = _lot(code)
    back = url_for(".lot_page", code=lot.code)
    if lot.status == LotStatus.RECALLED:  # a second tap, or Back and confirm again: nobody is mailed twice
        flash(
            _("批次 %(code)s 已于 %(when)s 召回，无需再次召回", code=lot.code, when=local_dt(lot.recalled_at)), "info"
        )
        return redirect(back)
    typed = request.form.get("reason", "")
    try:
        reason = recalls.clean_reason(typed)
    except DomainError as exc:
        flash(exc.message, "error")
        return _lot_page(lot, reason=typed[: recalls.RECALL_REASON_MAX], status=exc.status)
    page = ask_first(
        _("确认召回批次 %(code)s？库存立即冻结，买家将收到通知。", code=lot.code),
        back=back,
        details=[_("召回原因：%(reason)s", reason=reason)],
    )
    if page is not None:
        return page
    lines = recalls.recall_lot(lot, reason=reason, actor=current_user, now=now_utc())
    commit()
    flash(recalls.recalled_message(lot, lines), "success")
    if unpaid := recalls.unpaid_canceled_message(lines):
        flash(unpaid, "info")
    return redirect(back)


@bp.post("/lots/<code>/refund")
@role_required(Role.OPERATOR)
def recall_refund(code: str):
    """Refund, in one step, every open line that took the station's recalled lot (what the county's
    recall page does): the buyers were told the money comes back without asking."""
    lot = _lot(code)
    back = url_for(".lot_page", code=lot.code)
    if lot.status != LotStatus.RECALLED:
        flash(error_message("lot_not_recalled"), "error")
        return redirect(back)
    page = ask_first(_("确认为批次 %(code)s 的全部受影响订单商品办理退款？", code=lot.code), back=back)
    if page is not None:
        return page
    with flash_domain_errors():
        done = recalls.refund_recalled(lot, actor=current_user, now=now_utc())
        commit()
        flash(ngettext("已为 %(num)s 个订单商品办理退款", "已为 %(num)s 个订单商品办理退款", done), "success")
    return redirect(back)


# --- assisted selling ------------------------------------------------------------------------------


@bp.get("/products")
@role_required(Role.OPERATOR)
def products():
    return _products_page(_current_station())


def _products_page(station: Station, *, refused: tuple[int, ProductEditForm] | None = None, status: int = 200):
    """本站商品; `refused`: the product whose edit form was refused and the form as typed, shown open with
    what was typed and carrying what this page shows (`assisted.product_shown`): sent again, it is saved."""
    listed = assisted.list_station_products(station.id)
    waiting = pending_changes_of([p.id for p in listed])
    return render_template(
        "stations/products.html",
        station=station,
        edit_form=ProductEditForm(formdata=None),
        products=listed,
        waiting=waiting,
        returned=returned_changes_of([p.id for p in listed]),
        shown={p.id: assisted.product_shown(p, waiting.get(p.id)) for p in listed},
        refused=refused,
        families=assisted.station_families(station.id),
        family_form=FamilyForm(),
        station_args=_station_args(station),
    ), status


def _family_order(family) -> list[int]:
    """The variants' ids in the order typed as numbers (`position_<id>`, 1 first); equal numbers keep
    the current order between them. A missing or non-number position is a 422 naming the field."""
    keyed = []
    for index, member in enumerate(family.members):
        field = f"position_{member.id}"
        try:
            position = parse_int(request.form.get(field, ""), minimum=1, maximum=99)
        except (TypeError, ValueError):
            raise DomainError("family_position_invalid", fields={field: "invalid"}) from None
        keyed.append((position, index, member.id))
    return [product_id for _position, _index, product_id in sorted(keyed)]


@bp.post("/families/<int:family_id>")
@role_required(Role.OPERATOR)
def family_edit(family_id: int):
    """Rename a product sold in variants and set its variants' order (the product page's picker, and
    the first one shown is the card in lists); audited (catalog.services.update_family)."""
    try:
        family = assisted.get_family_for(current_user, family_id)
    except NotFound:
        abort(404)
    station_args = {"station": family.members[0].station.code} if current_user.role == Role.ADMIN else {}
    form = FamilyForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        with flash_domain_errors():
            changes = update_family(
                family, actor=current_user, now=now_utc(), name=form.name.data, order=_family_order(family)
            )
            commit()
            flash(_("已保存「%(name)s」", name=family.name) if changes else _("没有修改"), "success")
    return redirect(url_for(".products", **station_args, _anchor=f"family-{family_id}"), 303)


@bp.post("/products/<int:product_id>/edit")
@role_required(Role.OPERATOR)
def product_edit(product_id: int):
    try:
        product = assisted.get_product_for(current_user, product_id)
    except NotFound:
        abort(404)
    form = ProductEditForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        returned = product.approval_status == ApprovalStatus.REJECTED
        with flash_domain_errors():
            try:
                assisted.update_product(
                    product,
                    actor=current_user,
                    now=now_utc(),
                    price_fen=form.price.fen,
                    is_published=form.is_published.data == "1",
                    shown=form.shown.data or None,
                )
            except Conflict as exc:  # changed since the page was drawn: the page as it is now, the typing kept
                if not exc.code.startswith("product_changed_since_shown"):
                    raise
                rollback()
                flash(exc.message, "error")
                product = assisted.get_product_for(current_user, product_id)
                return _products_page(product.station, refused=(product.id, form), status=exc.status)
            waiting = pending_change(product.id)
            commit()
            if waiting is not None:
                flash(
                    _("「%(name)s」的修改已提交县扶贫办重新认定；认定前按原认定的价格销售", name=product.name),
                    "success",
                )
            elif returned and product.approval_status == ApprovalStatus.PENDING:
                flash(_("已保存「%(name)s」，并重新提交县扶贫办认定", name=product.name), "success")
            else:
                flash(_("已保存「%(name)s」", name=product.name), "success")
    station_args = {"station": product.station.code} if current_user.role == Role.ADMIN else {}
    return redirect(url_for(".products", **station_args))


@bp.post("/products/<int:product_id>/photo")
@role_required(Role.OPERATOR)
def product_photo(product_id: int):
    """A new main photo; on an approved product it waits for the county's re-certification."""
    try:
        product = assisted.get_product_for(current_user, product_id)
    except NotFound:
        abort(404)
    form = ProductPhotoForm()
    upload = form.image.data if form.image.data and getattr(form.image.data, "filename", "") else None
    if not form.validate_on_submit() or upload is None:
        flash_form_errors(form)
        if upload is None:
            flash(_("请选择照片"), "error")
    else:
        returned = product.approval_status == ApprovalStatus.REJECTED
        with flash_domain_errors():
            waiting = isinstance(change_photo(product, upload, actor=current_user, now=now_utc()), ProductChange)
            commit()
            if waiting:
                flash(
                    _("「%(name)s」的新照片已提交县扶贫办重新认定；认定前继续显示原照片", name=product.name), "success"
                )
            elif returned and product.approval_status == ApprovalStatus.PENDING:
                flash(_("已保存「%(name)s」，并重新提交县扶贫办认定", name=product.name), "success")
            else:
                flash(_("已保存「%(name)s」", name=product.name), "success")
    station_args = {"station": product.station.code} if current_user.role == Role.ADMIN else {}
    return redirect(url_for(".products", **station_args))


def _product_form(station: Station) -> tuple[AssistedProductForm, list]:
    form = AssistedProductForm()
    households = assisted.station_households(station)
    labels = household_labels(households)
    form.household_id.choices = [SelectChoice(h.id, labels[h.id]) for h in households]
    english = str(get_locale() or "").startswith("en")
    form.category_id.choices = [
        SelectChoice(c.id, (c.name_en or c.name) if english else c.name) for c in list_categories()
    ]
    form.variant_of.choices = [SelectChoice(0, _("不是新规格，是新商品"))] + [
        SelectChoice(p.id, p.name) for p in assisted.list_station_products(station.id)
    ]
    return form, households


def _benefit_from_form(households) -> list[tuple[int, int]]:
    """Weights typed next to each household (`weight_<id>`); blank or 0 = not linked."""
    links = []
    for h in households:
        raw = request.form.get(f"weight_{h.id}", "").strip()
        if not raw:
            continue
        try:
            weight = parse_int(raw, minimum=0, maximum=1_000_000)
        except ValueError:
            raise DomainError("invalid_weight", fields={f"weight_{h.id}": "invalid"}) from None
        if weight > 0:
            links.append((h.id, weight))
    return links


@bp.route("/products/new", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def product_new():
    station = _current_station()
    form, households = _product_form(station)
    if request.method == "POST":
        if form.validate_on_submit():
            upload = form.image.data if form.image.data and getattr(form.image.data, "filename", "") else None
            try:
                data = assisted.AssistedProductInput(
                    household_id=form.household_id.data,
                    name=form.name.data,
                    category_id=form.category_id.data,
                    price_fen=form.price.fen,
                    unit=form.unit.data,
                    weight_g=form.weight_g.data,
                    initial_stock=form.initial_stock.data,
                    description=form.description.data or "",
                    season=form.season.data or "",
                    harvest_date=form.harvest_date.data,
                    lot_note=form.lot_note.data or "",
                    benefit=_benefit_from_form(households),
                    variant_of=form.variant_of.data or None,
                    variant_label=form.variant_label.data or "",
                    variant_of_label=form.variant_of_label.data or "",
                )
                now = now_utc()
                product = create_once(  # a double tap on 提交认定 during the slow upload: the first POST's product
                    form,
                    "stations.product_new",
                    lambda: assisted.create_assisted_product(station, data, actor=current_user, now=now, image=upload),
                    now=now,
                    done=url_for(".products", **_station_args(station)),
                )
                flash(_("已提交「%(name)s」，等待县扶贫办认定后上架", name=product.name), "success")
                return redirect(url_for(".products", **_station_args(station)))
            except DomainError as exc:
                rollback()
                flash(exc.message, "error")
                status = 422
        else:
            flash_form_errors(form)
            status = 422
        return render_template(
            "stations/product_new.html",
            form=form,
            station=station,
            households=households,
            station_args=_station_args(station),
        ), status
    return render_template(
        "stations/product_new.html",
        form=form,
        station=station,
        households=households,
        station_args=_station_args(station),
    )


# --- food-safety papers (#23, catalog.papers) -------------------------------------------------------


def _paper_form(station: Station) -> tuple[PaperForm, list]:
    form = PaperForm()
    products = assisted.list_station_products(station.id)
    form.product_id.choices = [SelectChoice(p.id, p.name) for p in products]
    form.kind.choices = [SelectChoice(k.value, kind_label(k)) for k in DocumentKind]
    if request.method == "GET":
        form.product_id.data = int_or_none(request.args.get("product", ""), minimum=1, maximum=MAX_ID)
    return form, products


@bp.route("/papers", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def papers():
    """The station's products with the food-safety documents each needs, has and lacks; one form
    uploads a document (it waits for the county). Bad input: the form again with the reason, 422."""
    station = _current_station()
    form, products = _paper_form(station)
    status = 200
    if request.method == "POST":
        upload = form.file.data if form.file.data and getattr(form.file.data, "filename", "") else None
        if not form.validate_on_submit():
            flash_form_errors(form)
            status = 422
        else:
            try:
                product = assisted.get_product_for(current_user, form.product_id.data)
                now = now_utc()
                create_once(  # a double tap uploads once
                    form,
                    "stations.paper_upload",
                    lambda: upload_document(
                        product,
                        DocumentInput(
                            kind=form.kind.data,
                            number=form.number.data,
                            issuer=form.issuer.data,
                            valid_from=form.valid_from.data,
                            valid_until=form.valid_until.data,
                        ),
                        upload,
                        actor=current_user,
                        now=now,
                    ),
                    now=now,
                    done=url_for(".papers", **_station_args(station)),
                )
                flash(
                    _(
                        "已上传「%(name)s」的%(kind)s，等待县扶贫办审核",
                        name=product.name,
                        kind=kind_label(form.kind.data),
                    ),
                    "success",
                )
                return redirect(url_for(".papers", **_station_args(station)), 303)
            except DomainError as exc:
                rollback()
                flash(exc.message, "error")
                status = 422
    ids = [p.id for p in products]
    return render_template(
        "stations/papers.html",
        station=station,
        station_args=_station_args(station),
        form=form,
        products=products,
        gaps=paper_gaps(ids, today=local_date(now_utc())),
        documents=documents_of_products(ids),
        food_class_labels=FOOD_CLASS_LABELS,
        status_labels=PAPER_STATUS_LABELS,
    ), status
