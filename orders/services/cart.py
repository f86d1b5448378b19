"""Carts: a user's cart, or a guest's by token (kept in the Flask session), merged on login.

Each line remembers the unit price the buyer saw (`seen_price_fen`); a later price change or a
stock shortage is shown by `cart_summary()` and never silently applied — checkout re-prices on
the server anyway.

A line is a product and its quantity, or a booking (a stay's dates and rooms, a session's seats, a
day's tickets) kept as plain values and checked, priced and — at checkout — held by tourism through
`orders.bookables` (orders does not import tourism).

The buyer chooses (勾选) which lines the next checkout places, as on Taobao or JD: each line is chosen
or not (`CartLine.selected`). Adding a line (加入购物车) chooses it and leaves the others as they are;
立即购买 / 预订 (`buy_now`) chooses that line alone, the others stay in the cart unchosen; `choose_line`
and `choose_all` are the cart page's checkboxes and 全选. `cart_summary` prices the chosen lines only
(the total, 结算 (N件), the checkout) and `placement.place_cart_order` places them and removes only
them. docs/journeys.md, "Choosing what to check out".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from catalog.models import Product
from catalog.papers import PapersMissing, paper_gaps
from orders.bookables import BookingItem, BookingQuote, SessionChoice, booking_lines, item_of
from orders.models import Cart, CartLine
from orders.services.shipping import shipping_fen
from shop.codes import new_secret
from shop.db import statement
from shop.errors import Conflict, DomainError, NotFound, ValidationError
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


def _whose_cart(user, token: str | None) -> tuple[str, dict] | None:
    """Whose cart a request has: a signed-in user's ("user", its id) or a guest's ("token", the
    session's cart token); None for neither."""
    if user is not None and getattr(user, "is_authenticated", False):
        return "user", {"user_id": user.id}
    if token:
        return "token", {"token": token}
    return None


def _cart_statement(key: str) -> sa.Select:
    """The SELECT of a user's cart (`key` "user") or a guest's ("token"), with bind parameters."""
    if key == "user":
        return sa.select(Cart).where(Cart.user_id == sa.bindparam("user_id"))
    return sa.select(Cart).where(Cart.token == sa.bindparam("token"), Cart.user_id.is_(None))


def get_cart(*, user=None, token: str | None = None) -> Cart | None:
    whose = _whose_cart(user, token)
    if whose is None:
        return None
    key, params = whose
    return db.session.scalar(statement(("orders.cart", key), lambda: _cart_statement(key)), params)


def get_cart_to_show(*, user=None, token: str | None = None) -> Cart | None:
    """`get_cart` with what `cart_summary` and the cart page read - its lines, their products, the
    products' stock records, villages and photos (`product_thumbs`) - in ONE statement (joined), not
    one lazy load per line and relation. Read-only pages only: it fills the session's identity map
    with those rows, and a later plain SELECT would not refresh them (checkout re-reads stock under
    its own locks). Built once per process (`shop.db.statement`): its loader options cost about as
    much CPU as running it."""
    whose = _whose_cart(user, token)
    if whose is None:
        return None
    key, params = whose
    query = statement(
        ("orders.cart_to_show", key),
        lambda: _cart_statement(key).options(
            joinedload(Cart.lines)
            .joinedload(CartLine.product)
            .options(joinedload(Product.stock), joinedload(Product.village), joinedload(Product.images))
        ),
    )
    return db.session.scalars(query, params).unique().first()


def product_thumbs(cart: Cart | None) -> dict[int, str]:
    """{product id: its first photo's thumbnail path (lowest position, then id)} for the cart's product
    lines (the cart page's pictures; a product without a photo is absent), read from the photos
    `get_cart_to_show` loaded with the cart: no statement of its own. (A cart loaded otherwise would
    load each product's photos here, one SELECT per product.)"""
    thumbs: dict[int, str] = {}
    for line in cart.lines if cart else []:
        product = line.product
        if product is not None and product.images and product.id not in thumbs:
            first = min(product.images, key=lambda image: (image.position, image.id))
            thumbs[product.id] = first.thumb_path
    return thumbs


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


def _check_stock(product: Product, quantity: int) -> None:
    """A line may not ask for more than is left now (409 `cart_over_stock`). What changes later (stock
    sold to others) is shown by `cart_summary()`; checkout decides."""
    if quantity > product.available:
        raise Conflict(
            "cart_over_stock", name=product.name, available=product.available, fields={"quantity": "over_stock"}
        )


def _visible_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("product_not_found", fields={"product_id": str(product_id)})
    if not product.is_visible:
        raise Conflict("unavailable", fields={"product_id": str(product_id)})
    return product


def add_line(cart: Cart, product_id: int, quantity: int, *, now: datetime, buy_now: bool = False) -> CartLine:
    """Add `quantity` of a visible product (adds to an existing line); remembers the price seen now.
    A product whose food-safety papers do not count today is refused (409 `papers_missing`).

    `buy_now` (立即购买, on to checkout): the line holds `quantity`, what the buyer asked for just now,
    rather than adding it to what the line held, so that 立即购买 tapped again after going back from the
    checkout, or a double tap, does not buy twice as many."""
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
        _check_stock(product, quantity)
        line = CartLine(product_id=product.id, quantity=quantity, seen_price_fen=product.price_fen)
        cart.lines.append(line)
    else:
        wanted = quantity if buy_now else check_quantity(line.quantity + quantity)
        _check_stock(product, wanted)
        line.quantity = wanted
        line.seen_price_fen = product.price_fen
    _choose_added(cart, line, buy_now=buy_now)
    cart.updated_at = now
    db.session.flush()
    return line


def _choose_added(cart: Cart, line: CartLine, *, buy_now: bool) -> None:
    """A line just added is chosen; 立即购买 / 预订 (`buy_now`) checks out that line alone, so every
    other line is unchosen (and stays in the cart)."""
    for other in cart.lines:
        if other is line:
            other.selected = True
        elif buy_now:
            other.selected = False


def _no_room(quote: BookingQuote, item: BookingItem) -> Conflict:
    """A booking line that does not fit: a day its host closed (`closed_day`: 休息, not taking bookings),
    所选日期已订满, or how many places are left when some are — and what else to choose, as the booking
    form says it (`tourism.services.booking.too_few_places`): another date for a ticket's day, another
    session for an experience's session (`item.session_id`; 改选场次)."""
    if quote.closed_day is not None:
        return Conflict("booking_line_day_closed", name=quote.title, day=quote.closed_day.isoformat())
    if quote.places_left:
        return Conflict(
            "booking_line_session_places_left" if item.session_id is not None else "booking_line_places_left",
            name=quote.title,
            left=quote.places_left,
        )
    if item.session_id is not None:
        return Conflict("booking_line_session_sold_out", name=quote.title)
    return Conflict("booking_line_sold_out", name=quote.title)


def add_booking_line(cart: Cart, item: BookingItem, *, now: datetime, buy_now: bool = False) -> CartLine:
    """Add a booking line after tourism checked it (unknown listing 404, bad dates or guests 422,
    no room now 409). The same listing, unit type, session and dates again replace the line's guests
    and rooms. Nothing is held yet: the hold is placed at checkout. The line is chosen; `buy_now`
    (预订) chooses it alone, as 立即购买 does for goods."""
    quote = booking_lines().quote(item, now=now)
    if not quote.available:
        raise _no_room(quote, item)
    same = _same_booking(
        cart, item.listing_id, item.unit_type_id, item.session_id, quote.check_in if item.session_id is None else None
    )
    if same is None:
        if len(cart.lines) >= MAX_CART_LINES:
            raise Conflict("cart_full")
        same = CartLine(kind="booking", quantity=1, listing_id=item.listing_id)
        cart.lines.append(same)
    same.unit_type_id = item.unit_type_id
    same.session_id = item.session_id
    same.check_in = quote.check_in if item.session_id is None else None
    same.check_out = quote.check_out if quote.kind == "stay" else None
    same.guests = quote.guests
    same.units = quote.units
    same.seen_price_fen = quote.total_fen
    _choose_added(cart, same, buy_now=buy_now)
    cart.updated_at = now
    db.session.flush()
    return same


def _same_booking(cart: Cart, listing_id, unit_type_id, session_id, check_in) -> CartLine | None:
    """The cart's booking line for the same listing, unit type, session and first day: adding that
    booking again (or merging a guest cart that holds it) changes this line instead of adding one."""
    return next(
        (
            l
            for l in cart.lines
            if l.kind == "booking"
            and l.listing_id == listing_id
            and l.unit_type_id == unit_type_id
            and l.session_id == session_id
            and l.check_in == check_in
        ),
        None,
    )


def set_booking(
    cart: Cart,
    line_id: int,
    *,
    guests: int,
    units: int,
    check_in=None,
    check_out=None,
    session_id: int | None = None,
    now: datetime,
):
    """Change a booking line's guests, rooms or dates, or an experience's session (`session_id`; None keeps
    the line's), checked and priced by tourism again as a line put in the cart is: a session of another
    listing or none (422 `unknown_session`), one started (422 `session_started`), one full or short of
    places for the party (409 `booking_line_session_sold_out`, `booking_line_session_places_left`) — the
    choices the line's 场次 box offers are its listing's (`sessions_to_choose`), but whatever is sent is
    checked here. A session that another line of the cart already holds is refused (409
    `booking_line_session_in_cart`: change that line instead). A refusal changes nothing."""
    line = line_in(cart, line_id)
    if line.kind != "booking":
        raise NotFound("cart_line_not_found")
    if session_id is not None and line.session_id is None:  # a stay or a ticket day has no session
        raise ValidationError("unknown_session", fields={"session_id": "unknown"})
    item = replace(
        item_of(line),
        guests=guests,
        units=units,
        check_in=check_in or line.check_in,
        check_out=check_out or line.check_out,
        session_id=session_id or line.session_id,
    )
    quote = booking_lines().quote(item, now=now)
    if item.session_id != line.session_id and any(
        other is not line and other.kind == "booking" and other.session_id == item.session_id for other in cart.lines
    ):
        raise Conflict("booking_line_session_in_cart", name=quote.title, fields={"session_id": "in the cart"})
    if not quote.available:
        raise _no_room(quote, item)
    line.guests, line.units = quote.guests, quote.units
    if line.session_id is None:
        line.check_in = quote.check_in
        line.check_out = quote.check_out if quote.kind == "stay" else None
    line.session_id = item.session_id
    line.seen_price_fen = quote.total_fen
    cart.updated_at = now
    db.session.flush()
    return line


def sessions_to_choose(cart: Cart | None, *, now: datetime) -> dict[int, list[SessionChoice]]:
    """{line id: the sessions its listing offers now} for each of the cart's session lines (an experience's):
    what the line's 场次 box offers, the same choices as the listing's booking form (余 N / 已满; none started
    or withdrawn). The line's own session is among them unless it has started or was withdrawn (the row
    then says why it cannot be booked). Asked of tourism at once for every such line; no line, no statement."""
    lines = [l for l in cart.lines if l.kind == "booking" and l.session_id is not None] if cart else []
    if not lines:
        return {}
    try:
        offered = booking_lines().sessions_to_choose(
            sorted({l.listing_id for l in lines}), now=now, session_ids=[l.session_id for l in lines]
        )
    except DomainError:  # bookings not sold here: nothing to choose
        return {}
    return {l.id: offered.get(l.listing_id, []) for l in lines}


def line_in(cart: Cart, line_id: int) -> CartLine:
    """The cart's line of that id; a line of another cart, or one gone, is `cart_line_not_found` (404)."""
    line = next((l for l in cart.lines if l.id == line_id), None)
    if line is None:
        raise NotFound("cart_line_not_found")
    return line


def set_quantity(cart: Cart, line_id: int, quantity: int, *, now: datetime) -> CartLine | None:
    """Change a line's quantity; 0 removes it."""
    check_quantity(quantity, allow_zero=True)
    line = line_in(cart, line_id)
    if line.kind == "booking" and quantity:
        raise Conflict("booking_line_quantity")  # guests and rooms: set_booking
    if quantity == 0:
        cart.lines.remove(line)
    else:
        if line.product is not None and quantity > line.quantity:  # fewer is always allowed
            _check_stock(line.product, quantity)
        line.quantity = quantity
    cart.updated_at = now
    db.session.flush()
    return line if quantity else None


def choose_line(cart: Cart, line_id: int, chosen: bool, *, now: datetime) -> CartLine:
    """勾选 / 取消勾选: the line is (not) placed by the next checkout. A line of another cart, or gone,
    is a 404 (`cart_line_not_found`) and nothing changes."""
    line = line_in(cart, line_id)
    line.selected = bool(chosen)
    cart.updated_at = now
    db.session.flush()
    return line


def choose_all(cart: Cart, chosen: bool, *, now: datetime) -> None:
    """全选 (every line chosen) or its undoing (none chosen)."""
    for line in cart.lines:
        line.selected = bool(chosen)
    cart.updated_at = now
    db.session.flush()


def chosen_lines(cart: Cart | None) -> list[CartLine]:
    """The lines the next checkout places, in the cart's order."""
    return [line for line in cart.lines if line.selected] if cart is not None else []


def unbuyable_line(summary: CartSummary) -> CartLine | None:
    """The first chosen line the checkout shows as not to be had now (off sale, short, fully booked)
    while other chosen lines remain: placing would be refused for it, so the checkout offers at once to
    leave it out, as after a refusal (`refused_line`). None when every chosen line can be had."""
    chosen = summary.chosen_rows
    if len(chosen) < 2:
        return None
    return next((r.line for r in chosen if not r.purchasable or r.short), None)


def refused_line(cart: Cart | None, exc: DomainError) -> CartLine | None:
    """The chosen line a refused checkout names when the refusal is that line's alone (409: a product
    sold out, withdrawn or without papers, a stay or session without room) and other chosen lines remain:
    the checkout offers to leave it out and place the rest (the order is all or nothing unless the buyer,
    told which line failed, accepts the rest). None for any other refusal."""
    if cart is None or exc.status != 409:
        return None
    chosen = chosen_lines(cart)
    fields = exc.fields or {}
    found = None
    if "product_id" in fields:
        found = next((l for l in chosen if l.kind == "product" and str(l.product_id) == fields["product_id"]), None)
    elif "listing_id" in fields:  # the listing's line, or of its lines the one of that day
        of_listing = [l for l in chosen if l.kind == "booking" and str(l.listing_id) == fields["listing_id"]]
        same_day = [l for l in of_listing if l.check_in is not None and l.check_in.isoformat() == fields.get("checkin")]
        found = of_listing[0] if len(of_listing) == 1 else (same_day[0] if len(same_day) == 1 else None)
    return found if found is not None and len(chosen) > 1 else None


def remove_line(cart: Cart, line_id: int, *, now: datetime) -> None:
    cart.lines.remove(line_in(cart, line_id))
    cart.updated_at = now
    db.session.flush()


def acknowledge_prices(cart: Cart, *, now: datetime) -> None:
    """The buyer has seen the current prices."""
    for line in cart.lines:
        if line.product is not None:
            line.seen_price_fen = line.product.price_fen
    booked = [line for line in cart.lines if line.product is None and line.kind == "booking"]
    for line, answer in zip(booked, _quote_lines(booked, now=now)):
        if isinstance(answer, BookingQuote):  # a line that cannot be booked keeps what was seen
            line.seen_price_fen = answer.total_fen
    cart.updated_at = now
    db.session.flush()


def clear(cart: Cart, *, now: datetime) -> None:
    cart.lines.clear()
    cart.updated_at = now
    db.session.flush()


#: A guest cart nobody touched for this many days is forgotten (`forget_guest_carts`, a daily beat task).
GUEST_CART_DAYS = 30


def forget_guest_carts(*, now: datetime, days: int = GUEST_CART_DAYS) -> int:
    """Delete the carts of guests (no account) untouched for `days` days, lines and all; returns how
    many. A guest cart lives in a browser session that may be long gone; nothing is held for it (a
    booking line is held only at checkout), so forgetting it frees nothing but rows."""
    stale = sa.select(Cart.id).where(Cart.user_id.is_(None), Cart.updated_at < now - timedelta(days=days))
    ids = list(db.session.scalars(stale))
    if not ids:
        return 0
    for chunk in range(0, len(ids), 1000):
        part = ids[chunk : chunk + 1000]
        db.session.execute(
            sa.delete(CartLine).where(CartLine.cart_id.in_(part)), execution_options={"synchronize_session": False}
        )
        db.session.execute(sa.delete(Cart).where(Cart.id.in_(part)), execution_options={"synchronize_session": False})
    return len(ids)


def merge_guest_cart(user, token: str | None, *, now: datetime) -> Cart | None:
    """On login: move a guest cart's lines into the user's cart (quantities add up, capped).

    What the guest chose is what the merged cart checks out: when the guest cart has chosen lines
    (e.g. a guest's 立即购买 or 预订, which the checkout's sign-in interrupted), those are the chosen
    lines afterwards and the account's earlier lines stay in the cart unchosen — so the checkout
    after signing in places what the guest chose, not also what was left in the account's cart days
    ago. A guest cart with nothing chosen leaves the account's choices as they were (its lines join
    unchosen)."""
    if not token:
        return None
    guest = get_cart(token=token)
    if guest is None or not guest.lines:
        if guest is not None:
            db.session.delete(guest)
            db.session.flush()
        return get_cart(user=user)
    cart = get_or_create_cart(user=user, now=now)
    guest_chose = any(gl.selected for gl in guest.lines)
    if guest_chose:
        for line in cart.lines:
            line.selected = False
    for gl in list(guest.lines):
        if gl.kind == "booking":  # a booking line moves as it is (checked again at checkout)
            same = _same_booking(cart, gl.listing_id, gl.unit_type_id, gl.session_id, gl.check_in)
            if same is not None:  # the same booking chosen again as a guest: the guest's choice wins
                same.check_out, same.guests, same.units = gl.check_out, gl.guests, gl.units
                same.seen_price_fen = gl.seen_price_fen
                same.selected = same.selected or gl.selected
            elif len(cart.lines) < MAX_CART_LINES:
                cart.lines.append(
                    CartLine(
                        kind="booking",
                        quantity=1,
                        seen_price_fen=gl.seen_price_fen,
                        listing_id=gl.listing_id,
                        unit_type_id=gl.unit_type_id,
                        session_id=gl.session_id,
                        check_in=gl.check_in,
                        check_out=gl.check_out,
                        guests=gl.guests,
                        units=gl.units,
                        selected=gl.selected,
                    )
                )
            continue
        line = next((l for l in cart.lines if l.product_id == gl.product_id), None)
        if line is None:
            cart.lines.append(
                CartLine(
                    product_id=gl.product_id,
                    quantity=gl.quantity,
                    seen_price_fen=gl.seen_price_fen,
                    selected=gl.selected,
                )
            )
        else:
            line.quantity = min(MAX_LINE_QUANTITY, line.quantity + gl.quantity)
            line.seen_price_fen = gl.seen_price_fen
            line.selected = line.selected or gl.selected
    cart.updated_at = now
    db.session.delete(guest)
    db.session.flush()
    return cart


@dataclass
class CartRow:
    line: CartLine
    product: Product | None
    unit_price_fen: int
    line_total_fen: int
    price_changed: bool
    available: int
    purchasable: bool
    short: bool  # fewer units available than wanted
    #: Why its food-safety papers stop the sale today ("" when they do not; catalog.papers).
    papers_gap: str = ""
    #: A booking line: what tourism says of it now (None for products, or when it cannot be booked).
    booking: BookingQuote | None = None
    #: Why a booking line cannot be booked any more (a message), else "".
    problem: str = ""

    @property
    def is_booking(self) -> bool:
        return self.line.kind == "booking"

    @property
    def chosen(self) -> bool:
        """勾选: the next checkout places this line."""
        return bool(self.line.selected)


@dataclass
class CartSummary:
    """The rows shown (every line on the cart page, the chosen ones at checkout) and the figures of
    the CHOSEN rows only: subtotal, shipping, total, whether they can be checked out, and the payment
    methods they allow. `has_changes` speaks of every row shown."""

    rows: list[CartRow]
    subtotal_fen: int
    shipping_fen: int
    total_fen: int
    has_changes: bool
    can_checkout: bool

    @property
    def goods_rows(self) -> list[CartRow]:
        return [r for r in self.rows if not r.is_booking]

    @property
    def booking_rows(self) -> list[CartRow]:
        return [r for r in self.rows if r.is_booking]

    @property
    def chosen_rows(self) -> list[CartRow]:
        return [r for r in self.rows if r.chosen]

    @property
    def chosen_count(self) -> int:
        """已选 N 项: how many lines are chosen."""
        return len(self.chosen_rows)

    @property
    def chosen_units(self) -> int:
        """去结算 (N 件): how many units of goods the chosen goods lines hold (a booking is no 件)."""
        return sum(r.line.quantity for r in self.chosen_rows if not r.is_booking)

    @property
    def chosen_bookings(self) -> int:
        """去结算 (N 个预订): how many booking lines are chosen."""
        return sum(1 for r in self.chosen_rows if r.is_booking)

    @property
    def all_chosen(self) -> bool:
        """全选 is ticked: there are lines and every one is chosen."""
        return bool(self.rows) and all(r.chosen for r in self.rows)

    @property
    def chosen_goods(self) -> bool:
        """A goods line is chosen (the order ships or is collected; `placement.payment_methods_for`)."""
        return any(not r.is_booking for r in self.chosen_rows)

    @property
    def goods_fen(self) -> int:
        return sum(r.line_total_fen for r in self.goods_rows if r.purchasable and r.chosen)

    @property
    def bookings_fen(self) -> int:
        return sum(r.line_total_fen for r in self.booking_rows if r.purchasable and r.chosen)

    @property
    def booking_methods(self) -> list[tuple[str, ...]]:
        """The payment methods each chosen booking line allows (`placement.payment_methods_for`)."""
        return [r.booking.methods for r in self.booking_rows if r.booking is not None and r.chosen]


def _quote_lines(lines: list[CartLine], *, now: datetime) -> list[BookingQuote | DomainError]:
    """Tourism's answer for each booking line, in their order, all asked at once (`quote_many`: a fixed
    number of statements whatever the number of lines): its quote, or why it cannot be booked any more
    (the listing gone, the dates passed...). Without a provider every line gets that refusal."""
    if not lines:
        return []
    try:
        provider = booking_lines()
    except DomainError as exc:
        return [exc] * len(lines)
    return provider.quote_many([item_of(line) for line in lines], now=now)


def _booking_row(line: CartLine, answer: BookingQuote | DomainError) -> CartRow:
    if isinstance(answer, DomainError):  # the listing is gone, the dates have passed...
        return CartRow(
            line=line,
            product=None,
            unit_price_fen=0,
            line_total_fen=0,
            price_changed=False,
            available=0,
            purchasable=False,
            short=True,
            problem=answer.message,
        )
    return CartRow(
        line=line,
        product=None,
        unit_price_fen=answer.total_fen,
        line_total_fen=answer.total_fen,
        price_changed=answer.total_fen != line.seen_price_fen,
        available=1 if answer.available else 0,
        purchasable=answer.available,
        short=not answer.available,
        booking=answer,
    )


def cart_summary(
    cart: Cart | None,
    *,
    pickup: bool = False,
    today=None,
    now: datetime | None = None,
    chosen_only: bool = False,
) -> CartSummary:
    """Current prices and availability next to what the buyer saw; an estimate of shipping. A product
    without valid food-safety papers today is not purchasable (`papers_gap` says why). Booking lines
    are priced and checked by tourism, all at once (`_quote_lines`; no hold yet: that is checkout's).

    Every line is a row (the cart page shows the lines not chosen too, dimmed), or with `chosen_only`
    (the checkout) only the chosen ones; the figures — subtotal, shipping per station, total,
    `can_checkout` — are those of the chosen lines either way, so the cart page's total is what the
    checkout asks and places. The checkout, which shows both deliveries, asks `checkout_summaries`."""
    rows, by_station = _priced_rows(cart, today=today, now=now, chosen_only=chosen_only)
    return _summed(rows, by_station, pickup=pickup)


def checkout_summaries(
    cart: Cart | None, *, today=None, now: datetime | None = None
) -> tuple[CartSummary, CartSummary]:
    """The checkout's chosen lines shipped and collected (自提): `cart_summary(cart, chosen_only=True)` and
    the same with `pickup=True`, from one pricing of the lines (papers read and booking lines quoted once;
    only the shipping differs between the two deliveries). The two summaries share their rows."""
    rows, by_station = _priced_rows(cart, today=today, now=now, chosen_only=True)
    return _summed(rows, by_station, pickup=False), _summed(rows, by_station, pickup=True)


def _priced_rows(
    cart: Cart | None, *, today, now: datetime | None, chosen_only: bool
) -> tuple[list[CartRow], dict[int, list[int]]]:
    """The rows of `cart_summary`, and the chosen purchasable goods per station: [fen, grams] (what the
    shipping of either delivery is computed from)."""
    rows: list[CartRow] = []
    by_station: dict[int, list[int]] = {}
    lines = chosen_lines(cart) if chosen_only else (list(cart.lines) if cart else [])
    product_ids = [ln.product_id for ln in lines if ln.product_id]
    gaps = paper_gaps(product_ids, today=today or local_date(now_utc())) if product_ids else {}
    booked = [line for line in lines if line.kind == "booking"]
    answers = iter(_quote_lines(booked, now=now or now_utc()))
    for line in lines:
        if line.kind == "booking":
            rows.append(_booking_row(line, next(answers)))
            continue
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
        if purchasable and line.selected:
            entry = by_station.setdefault(product.station_id, [0, 0])
            entry[0] += product.price_fen * line.quantity
            entry[1] += product.weight_g * line.quantity
    return rows, by_station


def _summed(rows: list[CartRow], by_station: dict[int, list[int]], *, pickup: bool) -> CartSummary:
    """The figures of the chosen rows, shipped or collected (`pickup`)."""
    chosen = [r for r in rows if r.chosen]
    subtotal = sum(r.line_total_fen for r in chosen if r.purchasable)
    shipping = sum(shipping_fen(weight_g=w, goods_fen=g, pickup=pickup) for g, w in by_station.values())
    has_changes = any(r.price_changed or r.short or not r.purchasable for r in rows)
    can_checkout = bool(chosen) and all(r.purchasable and not r.short for r in chosen)
    return CartSummary(rows, subtotal, shipping, subtotal + shipping, has_changes, can_checkout)
