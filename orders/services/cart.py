"""Carts: a user's cart, or a guest's by token (kept in the Flask session), merged on login.

Each line remembers the unit price the buyer saw (`seen_price_fen`); a later price change or a
stock shortage is shown by `cart_summary()` and never silently applied — checkout re-prices on
the server anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from catalog.models import Product
from catalog.papers import PapersMissing, paper_gaps
from orders.models import Cart, CartLine
from orders.services.shipping import shipping_fen
from shop.codes import new_secret
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db
from shop.timeutil import local_date, now_utc

MAX_LINE_QUANTITY = 999
MAX_CART_LINES = 50


def check_quantity(quantity, *, allow_zero: bool = False) -> int:
    """A whole number between 1 (or 0) and MAX_LINE_QUANTITY, else ValidationError."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValidationError("quantity_not_integer", fields={"quantity": "not_integer"})
    low = 0 if allow_zero else 1
    if quantity < low or quantity > MAX_LINE_QUANTITY:
        raise ValidationError(
            "quantity_out_of_range", low=low, high=MAX_LINE_QUANTITY, fields={"quantity": "out_of_range"}
        )
    return quantity


def _cart_query(user=None, token: str | None = None):
    if user is not None and getattr(user, "is_authenticated", False):
        return sa.select(Cart).where(Cart.user_id == user.id)
    if token:
        return sa.select(Cart).where(Cart.token == token, Cart.user_id.is_(None))
    return None


def get_cart(*, user=None, token: str | None = None) -> Cart | None:
    query = _cart_query(user, token)
    return db.session.scalar(query) if query is not None else None


def get_cart_to_show(*, user=None, token: str | None = None) -> Cart | None:
    """`get_cart` with what `cart_summary` and the cart page read - its lines, their products, the
    products' stock records and villages - in ONE statement (joined), not one lazy load per line
    and relation. Read-only pages only: it fills the session's identity map with those rows, and
    a later plain SELECT would not refresh them (checkout re-reads stock under its own locks)."""
    query = _cart_query(user, token)
    if query is None:
        return None
    query = query.options(
        joinedload(Cart.lines)
        .joinedload(CartLine.product)
        .options(joinedload(Product.stock), joinedload(Product.village))
    )
    return db.session.scalars(query).unique().first()


def get_or_create_cart(*, user=None, token: str | None = None, now: datetime) -> Cart:
    """The caller's cart; a guest without a token gets a new one (read `cart.token` afterwards)."""
    cart = get_cart(user=user, token=token)
    if cart is not None:
        return cart
    if user is not None and getattr(user, "is_authenticated", False):
        cart = Cart(user_id=user.id, updated_at=now)
    else:
        cart = Cart(token=new_secret(24), updated_at=now)
    db.session.add(cart)
    db.session.flush()
    return cart


def _visible_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("product_not_found", fields={"product_id": str(product_id)})
    if not product.is_visible:
        raise Conflict("unavailable", fields={"product_id": str(product_id)})
    return product


def add_line(cart: Cart, product_id: int, quantity: int, *, now: datetime) -> CartLine:
    """Add `quantity` of a visible product (adds to an existing line); remembers the price seen now.
    A product whose food-safety papers do not count today is refused (409 `papers_missing`)."""
    check_quantity(quantity)
    product = _visible_product(product_id)
    gaps = paper_gaps([product.id], today=local_date(now))[product.id]
    if gaps:
        raise PapersMissing(
            "papers_missing",
            name=product.name,
            what="、".join(g.message for g in gaps),
            fields={"product_id": str(product.id)},
        )
    line = next((l for l in cart.lines if l.product_id == product.id), None)
    if line is None:
        if len(cart.lines) >= MAX_CART_LINES:
            raise Conflict("cart_full")
        line = CartLine(product_id=product.id, quantity=quantity, seen_price_fen=product.price_fen)
        cart.lines.append(line)
    else:
        check_quantity(line.quantity + quantity)
        line.quantity += quantity
        line.seen_price_fen = product.price_fen
    cart.updated_at = now
    db.session.flush()
    return line


def _line(cart: Cart, line_id: int) -> CartLine:
    line = next((l for l in cart.lines if l.id == line_id), None)
    if line is None:
        raise NotFound("cart_line_not_found")
    return line


def set_quantity(cart: Cart, line_id: int, quantity: int, *, now: datetime) -> CartLine | None:
    """Change a line's quantity; 0 removes it."""
    check_quantity(quantity, allow_zero=True)
    line = _line(cart, line_id)
    if quantity == 0:
        cart.lines.remove(line)
    else:
        line.quantity = quantity
    cart.updated_at = now
    db.session.flush()
    return line if quantity else None


def remove_line(cart: Cart, line_id: int, *, now: datetime) -> None:
    cart.lines.remove(_line(cart, line_id))
    cart.updated_at = now
    db.session.flush()


def acknowledge_prices(cart: Cart, *, now: datetime) -> None:
    """The buyer has seen the current prices."""
    for line in cart.lines:
        if line.product is not None:
            line.seen_price_fen = line.product.price_fen
    cart.updated_at = now
    db.session.flush()


def clear(cart: Cart, *, now: datetime) -> None:
    cart.lines.clear()
    cart.updated_at = now
    db.session.flush()


def merge_guest_cart(user, token: str | None, *, now: datetime) -> Cart | None:
    """On login: move a guest cart's lines into the user's cart (quantities add up, capped)."""
    if not token:
        return None
    guest = get_cart(token=token)
    if guest is None or not guest.lines:
        if guest is not None:
            db.session.delete(guest)
            db.session.flush()
        return get_cart(user=user)
    cart = get_or_create_cart(user=user, now=now)
    for gl in list(guest.lines):
        line = next((l for l in cart.lines if l.product_id == gl.product_id), None)
        if line is None:
            cart.lines.append(
                CartLine(product_id=gl.product_id, quantity=gl.quantity, seen_price_fen=gl.seen_price_fen)
            )
        else:
            line.quantity = min(MAX_LINE_QUANTITY, line.quantity + gl.quantity)
            line.seen_price_fen = gl.seen_price_fen
    cart.updated_at = now
    db.session.delete(guest)
    db.session.flush()
    return cart


@dataclass
class CartRow:
    line: CartLine
    product: Product
    unit_price_fen: int
    line_total_fen: int
    price_changed: bool
    available: int
    purchasable: bool
    short: bool  # fewer units available than wanted
    #: Why its food-safety papers stop the sale today ("" when they do not; catalog.papers).
    papers_gap: str = ""


@dataclass
class CartSummary:
    rows: list[CartRow]
    subtotal_fen: int
    shipping_fen: int
    total_fen: int
    has_changes: bool
    can_checkout: bool


def cart_summary(cart: Cart | None, *, pickup: bool = False, today=None) -> CartSummary:
    """Current prices and availability next to what the buyer saw; an estimate of shipping. A product
    without valid food-safety papers today is not purchasable (`papers_gap` says why)."""
    rows: list[CartRow] = []
    by_station: dict[int, list[int]] = {}
    lines = list(cart.lines) if cart else []
    gaps = (
        paper_gaps([ln.product_id for ln in lines if ln.product_id], today=today or local_date(now_utc()))
        if lines
        else {}
    )
    for line in lines:
        product = line.product
        available = product.available
        gap = "、".join(g.message for g in gaps.get(product.id, []))
        purchasable = product.is_visible and not gap
        rows.append(
            CartRow(
                line=line,
                product=product,
                unit_price_fen=product.price_fen,
                line_total_fen=product.price_fen * line.quantity,
                price_changed=product.price_fen != line.seen_price_fen,
                available=available,
                purchasable=purchasable,
                short=available < line.quantity,
                papers_gap=gap,
            )
        )
        if purchasable:
            entry = by_station.setdefault(product.station_id, [0, 0])
            entry[0] += product.price_fen * line.quantity
            entry[1] += product.weight_g * line.quantity
    subtotal = sum(r.line_total_fen for r in rows if r.purchasable)
    shipping = sum(shipping_fen(weight_g=w, goods_fen=g, pickup=pickup) for g, w in by_station.values())
    has_changes = any(r.price_changed or r.short or not r.purchasable for r in rows)
    can_checkout = bool(rows) and all(r.purchasable and not r.short for r in rows)
    return CartSummary(rows, subtotal, shipping, subtotal + shipping, has_changes, can_checkout)
