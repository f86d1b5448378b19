"""HTML views of the orders package: cart, checkout, order history and order page, refunds.

Thin routes: parse -> load/404 -> permission -> one service -> commit() -> redirect/render.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from catalog.models import Product
from orders.api import own_order
from orders.bookables import BookingItem, booking_shown_options
from orders.forms import BankTransferForm, CheckoutForm, RefundRequestForm, mark_address_fields
from orders.models import Order, OrderLine, PaymentState
from orders.origins import origins_of
from orders.providers import PaymentDeclined, ProviderError, ProviderUnavailable, card_payments_enabled, extra_methods
from orders.refund_messages import (
    REFUND_GOODS_LABELS,
    REFUND_KIND_LABELS,
    approval_messages,
    approval_question,
    buyer_money_way,
    cash_refund_states,
    courier_destination,
    rejection_question,
    station_money_way,
)
from orders.services import cart as carts
from orders.services import transfers
from orders.services.addresses import address_book, checkout_address, save_address
from orders.services.amounts import cash_received_fen, is_cash_order, order_due_fen, shipment_due_fen
from orders.services.limits import collect_by
from orders.services.order_page import order_page_lines
from orders.services.payments import (
    buyer_cancel_order,
    cancel_preview,
    cancel_refusal,
    current_payment,
    order_cancelable,
    order_canceled_already,
    pay_refusal,
    pay_with_card,
    start_payment,
    sync_payment,
)
from orders.services.pickup import (
    collector_name,
    payment_code_to_show,
    pickup_code_to_show,
    proposed_pickup_station,
    shipment_code_to_show,
)
from orders.services.placement import (
    AddressData,
    payment_methods_for,
    place_cart_order,
)
from orders.services.recalled import canceled_for_recall, recall_marks
from orders.services.refunds import (
    approve_refund_request,
    check_goods,
    check_note,
    decided_requests_for,
    goods_for_kind,
    pending_requests_for,
    refund_of,
    reject_refund_request,
    rejection_refusal,
    request_for_decision,
    request_refund,
)
from orders.services.tabs import TABS, buyer_orders, shown_tabs, tab_counts
from shop.args import MAX_ID, MAX_INT, parse_count, parse_date, parse_int
from shop.auth.permissions import role_required
from shop.auth.views import LOGIN_HOOKS
from shop.confirm import ask_first, confirmed
from shop.db import commit, rollback
from shop.errors import DomainError, NotFound, ValidationError, error_message, flash_domain_errors, json_error
from shop.extensions import db
from shop.filters import bracketed
from shop.forms import create_once
from shop.history import history_of
from shop.kept_form import restored as restored_form
from shop.money import MoneyError, format_yuan, parse_yuan
from shop.qr import qr_data_uri
from shop.resubmit import shown_again
from shop.security import same_origin_or_token
from shop.timeutil import local_date, now_utc
from shop.urls import same_site_path
from stock.models import Station

bp = Blueprint("orders", __name__)


def _payment_unavailable_message() -> str:
    """What the buyer reads when Stripe cannot be reached or is too slow (issue #10)."""
    return _("支付服务暂时无法连接。订单仍为待支付，商品已为您保留到付款期限；请稍后点击“去支付”重试，不会重复扣款。")


def _start_card_payment(order: Order) -> bool:
    """After the order is committed: create its PaymentIntent and commit. False when Stripe could
    not be reached (or refused): nothing changed, the order stays pending, the page offers a retry."""
    payment = current_payment(order)
    if order.payment_method != "card" or payment is None:
        return True
    try:
        start_payment(payment, now=now_utc())
        commit()
    except ProviderError as exc:
        rollback()
        current_app.logger.warning("payment of order %s not started: %s", order.code, exc)
        return False
    return True


CART_TOKEN = "cart_token"


# --- cart -------------------------------------------------------------------------------------


def _current_cart(create: bool = False):
    user = current_user if current_user.is_authenticated else None
    token = session.get(CART_TOKEN)
    if not create:
        return carts.get_cart(user=user, token=token)
    cart = carts.get_or_create_cart(user=user, token=token, now=now_utc())
    if user is None:
        session[CART_TOKEN] = cart.token
    return cart


def _merge_on_login(user, guest_session: dict) -> None:
    """shop.auth LOGIN_HOOKS: the guest's cart joins the user's cart (the caller commits)."""
    carts.merge_guest_cart(user, guest_session.get(CART_TOKEN), now=now_utc())


def _register_login_hook() -> None:

    if _merge_on_login not in LOGIN_HOOKS:
        LOGIN_HOOKS.append(_merge_on_login)


_register_login_hook()


def _int_arg(value, field: str, *, maximum: int = MAX_INT, count: bool = False) -> int:
    """The whole number a form sent as `field` (an id, a hidden field: up to `maximum`), else 422 `not_integer`.
    `count`: a count the buyer typed (quantity, guests, rooms), `shop.args.parse_count` — a whole number too
    large to hold is the largest one, which the service refuses saying its range."""
    try:
        return parse_count(value) if count else parse_int(value, minimum=-MAX_INT, maximum=maximum)
    except (TypeError, ValueError):
        raise DomainError("not_integer", fields={field: "not_integer"}) from None


def _shown_total(text: str) -> int | None:
    """The total the buyer saw (a hidden field), None when absent or not a sum of fen."""
    try:
        return parse_int(text, maximum=MAX_ID) if text else None
    except ValueError:
        return None


@bp.get("/cart")
def cart_page():
    cart = carts.get_cart_to_show(
        user=current_user if current_user.is_authenticated else None, token=session.get(CART_TOKEN)
    )
    now = now_utc()
    summary = carts.cart_summary(cart, now=now)
    return render_template(
        "orders/cart.html",
        cart=cart,
        summary=summary,
        session_choices=carts.sessions_to_choose(cart, now=now),  # a session line's 场次 box
        thumbs=carts.product_thumbs(cart),
        payable=bool(summary.chosen_rows and _payment_methods(summary)),
        max_line_quantity=carts.MAX_LINE_QUANTITY,
        today=local_date(now),  # a booking line's date boxes: no day before the shop's today
    )


@bp.post("/cart/add")
@same_origin_or_token  # the add-to-cart form is on pages the page cache shares (no token in them)
def cart_add():
    try:
        product_id = _int_arg(request.form.get("product_id"), "product_id", maximum=MAX_ID)
        quantity = _int_arg(request.form.get("quantity", 1), "quantity", count=True)
        cart = _current_cart(create=True)
        carts.add_line(cart, product_id, quantity, now=now_utc(), buy_now=bool(request.form.get("buy_now")))
        commit()
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(same_site_path(request.referrer, host=request.host) or url_for("orders.cart_page")), 303
    flash(_("已加入购物车"), "success")
    if request.form.get("buy_now"):  # 立即购买: straight on to checkout, with this line alone chosen
        return redirect(url_for("orders.checkout"), 303)
    return redirect(url_for("orders.cart_page"), 303)


def _date_arg(value, field: str) -> date | None:
    """A Beijing calendar date typed as YYYY-MM-DD (None when empty); anything else is a 422."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise DomainError("invalid_date", fields={field: "invalid"}) from None


def _line_date_arg(field: str) -> date | None:
    """A cart booking line's date box (`checkin`, `checkout`): its date, or None when the line's form has
    no such box (a session's line; a ticket day's 离店), the line keeping its own. A box sent empty (the
    tourist cleared it) is refused with a message (请选择日期, like the line's other refusals), not
    silently ignored."""
    value = request.form.get(field)
    if value is not None and not value.strip():
        raise ValidationError(
            "checkout_required" if field == "checkout" else "checkin_required", fields={field: "required"}
        )
    return _date_arg(value, field)


def _optional_id(value, field: str) -> int | None:
    return _int_arg(value, field, maximum=MAX_ID) if (value or "").strip() else None


#: What a booking form sends that its page reads back from its query (tourism.listing_detail), and how
#: each is checked: a date or an id only as the page accepts it; the party and the rooms as typed (a refused
#: guests=0 or units=abc comes back in its box with the refusal, not as the box's default 2).
_TYPED_BOOKING = {
    "checkin": parse_date,
    "checkout": parse_date,
    "guests": lambda v: v[:20],
    "units": lambda v: v[:20],
    "unit_type_id": lambda v: parse_int(v, minimum=1, maximum=MAX_ID),
    "session_id": lambda v: parse_int(v, minimum=1, maximum=MAX_ID),
}


def _back_with_typed_booking() -> str:
    """The page a refused booking form came from (a listing), with what the visitor typed in its query,
    so that the form shows it again to be corrected rather than typed again (the dates, rooms, room type
    and party were lost with the bare referrer). A path on this site only; the cart when there is none."""
    came_from = same_site_path(request.referrer, host=request.host)
    if came_from is None:
        return url_for("orders.cart_page")
    back = urlsplit(came_from)
    query = {k: v for k, v in parse_qsl(back.query) if k not in _TYPED_BOOKING}
    for name, check in _TYPED_BOOKING.items():
        value = (request.form.get(name) or "").strip()
        try:
            query[name] = str(check(value)) if value else ""
        except ValueError:
            continue
    return back.path + "?" + urlencode({k: v for k, v in query.items() if v})


@bp.post("/cart/bookings")
def cart_add_booking():
    """加入购物车 from a listing's booking form: a stay's dates and rooms, a session, a ticket day.
    Checked and priced by tourism now; held only at checkout (orders.bookables).

    Signed in or not, as `cart_add`: a guest's line goes into the guest cart (`_current_cart`), which
    signing in at checkout merges into the account's cart. `buy_now` (a guest's 预订) goes on to the
    checkout, which asks a guest to sign in or register first, as 立即购买 does for goods."""
    form = request.form
    try:
        item = BookingItem(
            listing_id=_int_arg(form.get("listing_id"), "listing_id", maximum=MAX_ID),
            guests=_int_arg(form.get("guests"), "guests", count=True),
            check_in=_date_arg(form.get("checkin"), "checkin"),
            check_out=_date_arg(form.get("checkout"), "checkout"),
            session_id=_optional_id(form.get("session_id"), "session_id"),
            unit_type_id=_optional_id(form.get("unit_type_id"), "unit_type_id"),
            units=_int_arg(form.get("units") or 1, "units", count=True),
        )
        # the party and the rooms are checked by tourism against the listing's own limits (每个预订最多 6 人,
        # 每个预订最多 3 间; 人数不能小于 1, 间数至少为 1), as 预订 of a signed-in visitor is: not against the
        # 100 guests and 50 rooms a booking line is bounded by
        carts.add_booking_line(_current_cart(create=True), item, now=now_utc(), buy_now=bool(form.get("buy_now")))
        commit()
    except DomainError as exc:
        rollback()
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return redirect(_back_with_typed_booking(), 303)
    if form.get("buy_now"):
        return redirect(url_for("orders.checkout"), 303)
    flash(_("已加入购物车"), "success")
    return redirect(url_for("orders.cart_page"), 303)


@bp.post("/cart/lines/<int:line_id>")
def cart_update(line_id: int):
    cart = _current_cart()
    if cart is None:
        raise NotFound("cart_line_not_found")
    carts.line_in(cart, line_id)  # another cart's line, or one gone: a 404 (not a message), nothing changed
    with flash_domain_errors():
        removed = False
        if request.form.get("remove"):
            carts.remove_line(cart, line_id, now=now_utc())
            removed = True
        elif "guests" in request.form:  # a booking line: guests, rooms, dates, an experience's session
            carts.set_booking(
                cart,
                line_id,
                guests=_int_arg(request.form.get("guests"), "guests", count=True),
                units=_int_arg(request.form.get("units") or 1, "units", count=True),
                check_in=_line_date_arg("checkin"),
                check_out=_line_date_arg("checkout"),
                session_id=_optional_id(request.form.get("session_id"), "session_id"),
                now=now_utc(),
            )
        else:
            quantity = _int_arg(request.form.get("quantity"), "quantity", count=True)
            removed = carts.set_quantity(cart, line_id, quantity, now=now_utc()) is None
        commit()
        if removed:  # 删除, or a quantity of 0: the line is gone, and the page says so
            flash(_("已从购物车删除"), "success")
    return redirect(url_for("orders.cart_page"), 303)


def _chosen_arg() -> bool:
    """The cart's checkbox forms send `selected` 1 (勾选) or 0 (取消勾选); anything else is refused with
    a message on the cart page (`cart_choice_invalid`) and changes nothing."""
    value = request.form.get("selected")
    if value not in ("0", "1"):
        raise DomainError("cart_choice_invalid", fields={"selected": "not 0 or 1"})
    return value == "1"


@bp.post("/cart/lines/<int:line_id>/selected")
def cart_choose(line_id: int):
    """A line's checkbox (勾选): a small form of its own, so it works without JavaScript. Another
    cart's line, or one gone, is a 404 and changes nothing."""
    cart = _current_cart()
    if cart is None:
        raise NotFound("cart_line_not_found")
    try:
        chosen = _chosen_arg()
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("orders.cart_page"), 303)
    carts.choose_line(cart, line_id, chosen, now=now_utc())  # not this cart's line: a 404, nothing changed
    commit()
    return redirect(url_for("orders.cart_page", _anchor=f"line-{line_id}"), 303)


@bp.post("/cart/selected")
def cart_choose_all():
    """全选: every line chosen (`selected=1`) or none (`selected=0`)."""
    cart = _current_cart()
    with flash_domain_errors():
        chosen = _chosen_arg()
        if cart is not None:
            carts.choose_all(cart, chosen, now=now_utc())
            commit()
    return redirect(url_for("orders.cart_page"), 303)


@bp.post("/cart/acknowledge")
def cart_acknowledge():
    cart = _current_cart()
    if cart is not None:
        carts.acknowledge_prices(cart, now=now_utc())
        commit()
    return redirect(url_for("orders.cart_page"), 303)


# --- checkout ---------------------------------------------------------------------------------


def default_payment_method(delivery: str) -> str:
    """The payment preselected for a delivery: pay at the station when collecting there; online (when
    offered) or cash on delivery when shipped home. checkout.js follows a change of delivery the same
    way until the buyer picks a payment themselves."""
    if delivery == "pickup":
        return "station_cash"
    return "card" if card_payments_enabled() else "cod"


def _payment_choices(summary=None):
    """The payment methods every chosen line of the cart allows with either delivery
    (`placement.payment_methods_for`), each with its name, and {delivery: the methods it allows}: goods
    alone as always (cash on delivery when shipped only); with booking lines card, or on arrival for one
    booking alone when its listing allows it. The page shows a method with the deliveries that allow it."""
    labels = {
        "card": _("在线支付（银行卡）"),
        "station_cash": _("到站点付款"),
        "cod": _("货到付款"),
        "arrival": _("到店支付"),
    }
    allowed = {delivery: _payment_methods(summary, delivery=delivery) for delivery in ("ship", "pickup")}
    either = [m for m in labels if m in allowed["ship"] or m in allowed["pickup"]]
    return [(m, labels[m]) for m in either], allowed


def _payment_methods(summary=None, *, delivery: str = "ship") -> tuple[str, ...]:
    """`_payment_choices` of one delivery without their names (the cart page asks only whether there is one)."""
    return payment_methods_for(
        goods=summary.chosen_goods if summary is not None else True,
        booking_methods=summary.booking_methods if summary is not None else [],
        delivery=delivery,
    )


def _leave_out(cart) -> bool:
    """The refused checkout's 去掉这一项，结算其余 (`?leave_out=<line id>` on its form's POST): that line is
    unticked — it stays in the cart — and the checkout is shown again with the rest and what was typed,
    to be sent again; nothing is placed. Another cart's line is a 404. False when not asked."""
    value = request.args.get("leave_out")
    if value is None:
        return False
    line_id = _int_arg(value, "leave_out", maximum=MAX_ID)
    carts.choose_line(cart, line_id, False, now=now_utc())
    commit()
    flash(_("已去掉这一项，它还在购物车里（未勾选）；请确认其余的订单"), "info")
    return True


def _checkout_summary(cart, *, pickup: bool):
    """The chosen lines as the checkout shows them (shipped, or collected when `pickup`) and the totals
    of both deliveries, which the page's delivery switch shows and sends back (`shown_total_*`)."""
    ship, collected = carts.checkout_summaries(cart)  # the lines priced and quoted once for both
    return (collected if pickup else ship), {"ship": ship.total_fen, "pickup": collected.total_fen}


#: The code of the order this session's checkout last placed, kept until the checkout is next asked for with
#: nothing to check out (the browser's Back from the order's page): `_back_after_placing`.
JUST_PLACED = "orders_just_placed"


def _back_after_placing():
    """The checkout asked for with nothing to check out right after it placed an order (Back from the order's
    page, its cart now empty or left with the lines not chosen): the order's page with 订单 X 已提交，不会重复下单,
    not the cart with 购物车是空的 / 请先勾选 — once; None when no order was just placed."""
    code = session.pop(JUST_PLACED, None)
    if not code:
        return None
    flash(_("订单 %(code)s 已提交，不会重复下单", code=code), "info")
    return redirect(url_for("orders.order_detail", code=code))


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    cart = _current_cart()
    if cart is None or not cart.lines:
        back = _back_after_placing()
        if back is not None:
            return back
        flash(_("购物车是空的"), "info")
        return redirect(url_for("orders.cart_page"))
    # 去掉这一项，结算其余: a button of the refused checkout's form, so what was typed comes back with the rest
    leaving_out = request.method == "POST" and _leave_out(cart)
    if not carts.chosen_lines(cart):
        back = _back_after_placing()
        if back is not None:
            return back
        flash(_("请先勾选要结算的商品或预订"), "info")
        return redirect(url_for("orders.cart_page"))
    session.pop(JUST_PLACED, None)  # a new checkout: Back from its order's page is about that one
    form = CheckoutForm()
    addresses = address_book(current_user)
    form.address_id.choices = [SelectChoice(0, _("新地址"))] + [
        SelectChoice(a.id, f"{a.name} {a.phone} {a.province}{a.city}{a.district}{a.line}") for a in addresses
    ]
    stations = db.session.scalars(sa.select(Station).order_by(Station.code)).all()
    form.pickup_station_id.choices = [SelectChoice(s.id, bracketed(s.name, s.address)) for s in stations]
    pickup = (form.delivery.data or "ship") == "pickup"
    summary, totals = _checkout_summary(cart, pickup=pickup)
    if not summary.goods_rows:  # bookings only: nothing is shipped or collected
        form.delivery.data, pickup = "ship", False
    choices, payment_for = _payment_choices(summary)
    form.payment_method.choices = [SelectChoice(v, label) for v, label in choices]
    fresh = request.method == "GET" and not form.restored  # (restored: typed before signing in, shop.kept_form)
    if fresh and addresses:
        form.address_id.data = addresses[0].id
    if fresh and summary.goods_rows:
        goods_stations = {row.product.station_id for row in summary.goods_rows}
        form.pickup_station_id.data = proposed_pickup_station(current_user, goods_stations)
    if form.payment_method.data is None or fresh:  # follows the delivery chosen
        delivery = "pickup" if pickup else "ship"
        form.payment_method.data = default_payment_method(delivery)
        if payment_for[delivery] and form.payment_method.data not in payment_for[delivery]:
            form.payment_method.data = payment_for[delivery][0]
    status = 200
    left_out = None
    refused_code = None  # the code of the placement's refusal, for a way on the page offers beside it
    if not leaving_out and form.validate_on_submit():
        now = now_utc()
        try:
            if not summary.goods_rows or pickup:
                address = AddressData()
            else:  # the saved entry chosen, or the new address typed; never one chosen and another typed
                address = checkout_address(current_user, form.address_id.data, form.address_data())
            shown = request.form.get(f"shown_total_{form.delivery.data}", "")

            def place():
                order = place_cart_order(
                    cart,
                    buyer=current_user,
                    now=now,
                    shown_total_fen=_shown_total(shown),
                    payment_method=form.payment_method.data,
                    delivery=form.delivery.data,
                    address=address,
                    pickup_station_id=form.pickup_station_id.data if pickup else None,
                )
                if summary.goods_rows and not pickup and not form.address_id.data and form.save_address.data:
                    save_address(current_user, address, now=now)
                return order

            # the same page posted twice: the first POST placed the order, the orders list shows it
            order = create_once(form, "orders.checkout", place, now=now, done=url_for("orders.order_list"))
        except DomainError as exc:
            rollback()
            flash(exc.message, "error")
            mark_address_fields(form, exc)
            status, refused_code = exc.status, exc.code
            cart = _current_cart()
            left_out = carts.refused_line(cart, exc)  # offered: leave that line out, place the rest
            summary, totals = _checkout_summary(cart, pickup=pickup)
        else:
            code = order.code
            session[JUST_PLACED] = code
            flash(_("订单已提交，订单号 %(code)s", code=code), "success")
            if not _start_card_payment(order):
                flash(_payment_unavailable_message(), "error")
            return redirect(url_for("orders.order_detail", code=code), 303)
    elif form.errors:
        status = 422
    return render_template(
        "orders/checkout.html",
        form=form,
        cart=cart,
        summary=summary,
        totals=totals,
        ship_payment_default=default_payment_method("ship"),
        payment_for=payment_for,
        card_off=not card_payments_enabled(),
        addresses=addresses,
        stations=stations,
        left_out=left_out or carts.unbuyable_line(summary),
        refused_code=refused_code,
    ), status


# --- orders -----------------------------------------------------------------------------------


@bp.get("/orders")
@login_required
def order_list():
    tab = request.args.get("tab", "all") or "all"
    status = 200
    if tab not in TABS:  # an old or mistyped link: the page with all orders and why, as pages with a default do
        flash(_("没有这个订单分类，下面是全部订单"), "error")
        tab, status = "all", 422
    orders = db.session.scalars(
        buyer_orders(current_user.id, tab)
        .options(
            selectinload(Order.lines).selectinload(OrderLine.product).selectinload(Product.images),
            # a booking line's listing (its first photo is the line's thumbnail) and unit type
            selectinload(Order.lines).selectinload(OrderLine.booking).options(*booking_shown_options()),
        )
        .limit(100)
    ).all()
    return render_template(
        "orders/list.html",
        orders=orders,
        tab=tab,
        tabs=shown_tabs(),
        counts=tab_counts(current_user.id),
        origins=origins_of((o.id for o in orders), viewer=current_user),
        recall_marks=recall_marks(o.id for o in orders),
    ), status


@bp.get("/orders/<code>")
@login_required
def order_detail(code: str):
    return _order_page(own_order(code, current_user))


def _typed_refund(form) -> dict[str, str]:
    """A refund request's fields as the buyer sent them (its reason, its 仅退款 / 退货退款, its units), to show
    its form again as typed."""
    return {
        "reason": (form.get("reason") or "")[:1000],
        "kind": (form.get("kind") or "")[:20],
        "quantity": (form.get("quantity") or "")[:12],
    }


def _order_page(order: Order, *, typed_refunds: dict[int, dict[str, str]] | None = None):
    """The buyer's order page; `typed_refunds` ({line id: `_typed_refund`}) opens those lines' refund
    forms as typed (a refund request refused, or sent after its page expired, `_refund_form_again`)."""
    lines = order_page_lines(order)  # every line's shipment, booking, refunds, recalls and review state, at once
    payment = current_payment(order)
    history = {
        "order": history_of(order),
        "payment": history_of(payment) if payment else [],
        "shipments": lines.shipment_histories,
    }
    refusal = pay_refusal(order, payment)
    # a recalled lot is never paid for, by card or by transfer: no pay button, no account, why, and the cancel one
    pay_refused = refusal if refusal is not None and refusal.code == "recalled_lot_unpaid" else None
    pickup_code = pickup_code_to_show(order)
    return render_template(
        "orders/detail.html",
        order=order,
        payment=payment,
        history=history,
        can_pay=refusal is None and order.payment_method == "card",
        pay_refused=pay_refused,
        canceled_for_recall=canceled_for_recall(order, history["order"]),
        can_cancel=order_cancelable(order),
        pickup_code=pickup_code,
        #: an order placed before one code per order: each shipment's own code, by the same rule as the API's
        shipment_codes={s.id: shipment_code_to_show(order, s) for s in order.shipments},
        #: a parcel paid at the counter before it leaves (到站点付款 shipped home, placed before that was refused)
        #: {shipment id: (its payment code, the cash due for it)}, only those to pay at the counter now
        payment_codes={
            s.id: (code, shipment_due_fen(s)) for s in order.shipments if (code := payment_code_to_show(order, s))
        },
        pickup_qr=qr_data_uri(pickup_code) if pickup_code else None,
        collect_by=collect_by(order) if pickup_code else None,
        line_refunds=lines.line_refunds,
        recalled=lines.recalled,  # each line with a recalled lot the buyer still has says so (#23)
        review_states=lines.review_states,
        typed_refunds=typed_refunds or {},
        refund_money_way=buyer_money_way(order),
        cash_refunds=cash_refund_states(order) if is_cash_order(order) else [],
        stripe_js_url=current_app.config.get("STRIPE_JS_URL"),
        stripe_publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY"),
        extra_methods=extra_methods(),
        cash_due_fen=order_due_fen(order) if is_cash_order(order) and order.status == "confirmed" else None,
        cash_paid_fen=cash_received_fen(order) if is_cash_order(order) and order.status == "confirmed" else 0,
        transfer_payee=transfers.payee() if transfers.awaiting_transfer(order) else None,
        transfer_reference=transfers.transfer_reference(order),
        transfer=transfers.transfer_of(order) if transfers.is_bank_transfer(order) else None,
        origin=origins_of([order.id], viewer=current_user).get(order.id),
    )


@bp.post("/orders/<code>/pay")
@login_required
def order_pay(code: str):
    """(Re)create the PaymentIntent for a pending card order, then show the payment form. Stripe
    unreachable or slow: nothing changes and the page says so, with the same button to retry (the
    retry re-uses the payment's idempotency key: never a second PaymentIntent)."""
    order = own_order(code, current_user)
    code = order.code
    if current_payment(order) is None:
        raise NotFound("order_not_found")
    with flash_domain_errors():
        if not _start_card_payment(order):
            flash(_payment_unavailable_message(), "error")
    return redirect(url_for("orders.order_detail", code=code), 303)


@bp.post("/orders/<code>/payment/card")
@login_required
def order_pay_card(code: str):
    """checkout.js posts the Stripe.js card token here; answers JSON for the page script."""
    order = own_order(code, current_user)
    payment = current_payment(order)
    try:
        intent = pay_with_card(
            payment,
            token_id=(request.form.get("token") or "").strip(),
            card_id=(request.form.get("card") or "").strip(),
            now=now_utc(),
        )
        commit()
    except PaymentDeclined as exc:
        rollback()
        return json_error(402, "card_declined", str(exc) or _("银行卡被拒绝"))
    except ProviderUnavailable:
        rollback()
        return json_error(
            503,
            "payment_unavailable",
            _("支付服务暂时无法连接，付款结果暂未确认。请稍后刷新订单查看；重试不会重复扣款。"),
        )
    except ProviderError:
        rollback()
        return json_error(502, "payment_error", _("支付服务暂时不可用，请稍后再试"))
    except DomainError as exc:
        rollback()
        return json_error(exc.status, exc.code, exc.message, exc.fields)
    return jsonify({"status": intent.status, "client_secret": payment.client_secret})


@bp.post("/orders/<code>/payment/refresh")
@login_required
def order_payment_refresh(code: str):
    """After paying in the page: ask the provider now instead of waiting for the webhook."""
    order = own_order(code, current_user)
    payment = current_payment(order)
    try:
        sync_payment(payment, now=now_utc())
        commit()
    except ProviderError:
        rollback()
        flash(_("暂时无法查询支付状态，请稍后再刷新；付款结果到达后订单会自动更新。"), "error")
    else:
        if payment.state == PaymentState.CONFIRMED:  # by this request or by the webhook just before it
            flash(_("支付成功，订单已确认"), "success")
    return redirect(url_for("orders.order_detail", code=order.code), 303)


@bp.get("/orders/<code>/cancel")
@login_required
def order_cancel_confirm(code: str):
    """The confirmation step before cancelling (no JavaScript needed). An order that sells a booking
    is cancelled as that booking, under its policy: its own confirmation page says what comes back."""
    order = own_order(code, current_user)
    booking = order.booking
    if booking is not None:
        return redirect(url_for("tourism.booking_cancel_confirm", code=booking.code), 303)
    refusal = cancel_refusal(order)
    if order_canceled_already(order):  # the back button after 确认取消订单: done, not refused
        flash(_("订单已取消"), "info")
        return redirect(url_for("orders.order_detail", code=order.code), 303)
    if refusal:  # on its way: no question to ask
        flash(error_message(refusal), "error")
        return redirect(url_for("orders.order_detail", code=order.code), 303)
    return render_template("orders/cancel_confirm.html", order=order, preview=cancel_preview(order, now=now_utc()))


@bp.post("/orders/<code>/cancel")
@login_required
def order_cancel(code: str):
    order = own_order(code, current_user)
    booking = order.booking
    if not confirmed():  # only the confirmation page's button cancels (shop.confirm)
        return redirect(url_for("orders.order_cancel_confirm", code=order.code), 303)
    done = _("预订已取消") if booking is not None else _("订单已取消")
    with flash_domain_errors():  # shipped meanwhile: said on the order's page, not a 409 page
        canceled = buyer_cancel_order(order, actor=current_user, now=now_utc())
        commit()  # canceled already or not, the order's lock ends here, not at the request's teardown
        # canceled already (a second tap, confirmed again after Back): done, not refused
        flash(done, "success" if canceled else "info")
    return redirect(url_for("orders.order_detail", code=code), 303)


def _refund_form_again(code: str, line_id: int):
    """The order page with line `line_id`'s refund form open and its reason as typed: what a refund
    request sent after its page expired gets instead (`shop.resubmit`; nothing was asked)."""
    if not current_user.is_authenticated:
        raise NotFound("order_not_found")
    order = own_order(code, current_user)
    return _order_page(order, typed_refunds={line_id: _typed_refund(request.form)})


@bp.route("/orders/<code>/lines/<int:line_id>/refund", methods=["GET", "POST"])
@login_required
@shown_again(_refund_form_again)
def order_refund_request(code: str, line_id: int):
    """A line's refund request. A GET is a buyer sent back here after signing in (the request was sent
    signed out, `shop.kept_form`): the order page, with that line's form open and the reason as typed."""
    order = own_order(code, current_user)
    if request.method == "GET":
        kept = restored_form()
        if kept is None:
            return redirect(url_for("orders.order_detail", code=code), 303)
        return _order_page(order, typed_refunds={line_id: _typed_refund(kept)})
    form = RefundRequestForm()
    reason = form.reason.data or ""
    try:
        request_refund(
            order,
            line_id,
            actor=current_user,
            now=now_utc(),
            reason=reason,
            kind=form.kind.data,
            quantity=request.form.get("quantity"),
        )
        commit()
        flash(_("退款申请已提交"), "success")
    except DomainError as exc:
        rollback()
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        if (
            exc.status == 422
        ):  # the choice, units or reason refused (missing, too long, given before): its form as typed
            return _order_page(order, typed_refunds={line_id: _typed_refund(request.form)}), 422
    return redirect(url_for("orders.order_detail", code=code), 303)


@bp.app_context_processor
def _order_page_names():
    """What the order, refund and station pages name: a refund's goods outcome and the buyer's choice,
    how its money goes back (to the station), who collects a pick-up."""
    return {
        "refund_goods_labels": REFUND_GOODS_LABELS,
        "refund_kind_labels": REFUND_KIND_LABELS,
        "station_money_way": station_money_way,
        "courier_destination": courier_destination,
        "refund_goods_for_kind": goods_for_kind,
        "collector_name": collector_name,
    }


@bp.get("/refund-requests")
@role_required("operator", "admin")
def refund_requests():
    return _refund_requests_page()


def _refund_requests_page(typed: dict | None = None, status: int = 200):
    """The station's refund requests; `typed`: a refused decision's request id, decision and fields, shown
    again in that request's form with the reason at the top (nothing typed is lost to a refusal)."""
    return render_template(
        "orders/refund_requests.html",
        requests=pending_requests_for(current_user),
        decided=decided_requests_for(current_user),
        typed=typed or {},
    ), status


@bp.post("/refund-requests/<int:req_id>/<any(approve, reject):decision>")
@role_required("operator", "admin")
def refund_request_decide(req_id: int, decision: str):
    note = request.form.get("note") or ""
    req = request_for_decision(req_id, current_user)
    back = url_for("orders.refund_requests")
    try:
        if decision == "approve":
            goods, quantity = request.form.get("goods"), request.form.get("quantity")
            chosen = check_goods(req, goods, quantity)  # a bad choice is told before the confirmation
            check_note(note, rejecting=False)
            question, details = approval_question(req, chosen)  # how the money goes back, the buyer's choice
            page = ask_first(question, back=back, details=details)
            if page is not None:
                return page
            decided, restocked = approve_refund_request(
                req_id, actor=current_user, now=now_utc(), goods=goods, quantity=quantity, note=note
            )
            refund = refund_of(decided)
            commit()
            for message, category in approval_messages(decided, refund, restocked):
                flash(message, category)
        else:
            rejection_refusal(req, note)  # no reason given: said at once, not after the confirmation
            page = ask_first(rejection_question(req), back=back)
            if page is not None:
                return page
            reject_refund_request(req_id, actor=current_user, now=now_utc(), note=note)
            commit()
            flash(_("已拒绝退款申请"), "success")
    except DomainError as exc:  # the list again, this request's form as typed, the reason at the top
        rollback()
        if exc.code == "refund_request_decided":  # a double tap, or Back and 确认 again: done, not failed
            flash(_decided_already(request_for_decision(req_id, current_user)), "info")
            return redirect(back, 303)
        flash(exc.message, "error")
        typed = {"id": req_id, "decision": decision, "note": note[:1000]}
        typed.update({name: request.form.get(name) or "" for name in ("goods", "quantity")})
        return _refund_requests_page(typed, exc.status)
    return redirect(back, 303)


def _decided_already(req) -> str:
    """What a decision sent again says: the request was decided, and how (the first tap's result, which
    the list under it shows), as an answer rather than an error."""
    if req.status == "approved":
        return _("这个退款申请已经处理过了：已同意退款")
    return _("这个退款申请已经处理过了：已拒绝")


# --- bank transfers (对公转账) -------------------------------------------------------------------------


@bp.get("/bank-transfers")
@role_required("county", "operator")
def bank_transfers():
    """Orders waiting for their bank transfer that this county officer or station may record."""
    return render_template("orders/bank_transfers.html", orders=transfers.orders_awaiting(current_user))


@bp.route("/bank-transfers/<code>", methods=["GET", "POST"])
@role_required("county", "operator")
def bank_transfer_record(code: str):
    order = transfers.order_for_recorder(code, current_user)
    form = BankTransferForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            for errors in form.errors.values():
                for error in errors:
                    flash(error, "error")
            status = 422
        else:
            try:
                amount_fen = parse_yuan((form.amount.data or "")[:16])
            except MoneyError:
                flash(_("请填写正确的到账金额"), "error")
                amount_fen = None
                status = 422
            refusal = (
                None
                if amount_fen is None
                else transfers.transfer_refusal(  # said at once, before the confirmation step
                    order,
                    amount_fen=amount_fen,
                    reference=form.reference.data or "",
                    received_on=form.received_on.data,
                    now=now_utc(),
                )
            )
            if refusal is not None:
                flash(refusal.message, "error")
                status = refusal.status
            elif amount_fen is not None:
                page = ask_first(
                    _(
                        "确认订单 %(code)s 已收到对公转账 %(amount)s（流水号 %(ref)s）？登记后订单将开始备货。",
                        code=order.code,
                        amount=format_yuan(amount_fen),
                        ref=form.reference.data,
                    ),
                    back=url_for("orders.bank_transfer_record", code=order.code),
                )
                if page is not None:
                    return page
                try:
                    changed = transfers.record_transfer(
                        order,
                        amount_fen=amount_fen,
                        reference=form.reference.data or "",
                        received_on=form.received_on.data,
                        actor=current_user,
                        now=now_utc(),
                    )
                    commit()
                    flash(_("转账已登记，订单已确认") if changed else _("这笔转账已登记过，没有变化"), "success")
                    return redirect(url_for("orders.bank_transfer_record", code=order.code), 303)
                except DomainError as exc:
                    rollback()
                    flash(exc.message, "error")
                    status = exc.status
                    order = transfers.order_for_recorder(code, current_user)
    payment = current_payment(order)
    return render_template(
        "orders/bank_transfer.html",
        order=order,
        payment=payment,
        transfer=transfers.transfer_of(order),
        awaiting=transfers.awaiting_transfer(order),
        reference=transfers.transfer_reference(order),
        form=form,
    ), status
