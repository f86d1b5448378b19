"""Orders: carts, orders, shipments (one per station), lines that snapshot the sale, payments.

Status fields are state machines (shop.history.transition): each class has a `TRANSITIONS` table.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.columns import fk, pk
from shop.extensions import db
from shop.schema import append_only, register_postgres_ddl

#: The currency of every amount the shop takes: orders, payments and refunds (ISO 4217; `*_fen` are its hundredths).
CURRENCY = "CNY"


class Address(db.Model):
    """A user's address book entry."""

    __tablename__ = "addresses"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(sa.String(40))
    phone: Mapped[str] = mapped_column(sa.String(20))
    province: Mapped[str] = mapped_column(sa.String(20))
    city: Mapped[str] = mapped_column(sa.String(20))
    district: Mapped[str] = mapped_column(sa.String(20))
    line: Mapped[str] = mapped_column(sa.String(200))
    is_default: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime]


class Cart(db.Model):
    """A cart belongs to a user, or to a guest session by `token` (merged on login)."""

    __tablename__ = "carts"

    id: Mapped[int] = pk()
    user_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="CASCADE")
    token: Mapped[str | None] = mapped_column(sa.String(64), unique=True, nullable=True)
    updated_at: Mapped[datetime]

    lines = relationship("CartLine", cascade="all, delete-orphan", order_by="CartLine.id")

    __table_args__ = (sa.UniqueConstraint("user_id", name="uq_carts_user_id"),)


class CartLine(db.Model):
    """One line of a cart: a product and its quantity, or a booking to be held at checkout.

    A booking line keeps what the buyer asked as plain values (orders knows nothing of tourism's
    models): the listing, a unit type (room type or ticket kind), a session, the dates, guests and
    rooms. Tourism checks, prices and holds it through `orders.bookables` (docs/ARCHITECTURE.md).
    """

    __tablename__ = "cart_lines"
    __table_args__ = (
        sa.UniqueConstraint("cart_id", "product_id", name="uq_cart_lines_cart_product"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("kind IN ('product','booking')", name="kind_valid"),
        sa.CheckConstraint(
            "(kind = 'product' AND product_id IS NOT NULL)"
            " OR (kind = 'booking' AND listing_id IS NOT NULL AND guests > 0 AND units > 0)",
            name="line_complete",
        ),
    )

    id: Mapped[int] = pk()
    cart_id: Mapped[int] = fk("carts.id", ondelete="CASCADE")
    kind: Mapped[str] = mapped_column(sa.String(8), default="product", server_default="product")
    product_id: Mapped[int | None] = fk("products.id", nullable=True, ondelete="CASCADE")
    quantity: Mapped[int] = mapped_column(sa.Integer)
    #: The unit price the buyer saw when adding (a booking line: its total): a later change is
    #: shown, not silently applied.
    seen_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    # --- a booking line (kind "booking") ---
    listing_id: Mapped[int | None] = fk("listings.id", nullable=True, ondelete="CASCADE")
    unit_type_id: Mapped[int | None] = fk("unit_types.id", nullable=True, ondelete="CASCADE")
    session_id: Mapped[int | None] = fk("sessions.id", nullable=True, ondelete="CASCADE")
    #: Stays: nights [check_in, check_out). Tickets: the day (check_in). Sessions: their own day.
    check_in: Mapped[date | None]
    check_out: Mapped[date | None]
    guests: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    units: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    #: Chosen (勾选) for the next checkout: the cart page's total and 结算 count the chosen lines, and
    #: checkout places only these and leaves the others in the cart (orders.services.cart).
    selected: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())

    product = relationship("Product")

    @property
    def is_booking(self) -> bool:
        return self.kind == "booking"


class OrderStatus(StrEnum):
    PENDING = "pending"  # waiting for an online payment; expires
    CONFIRMED = "confirmed"  # paid online, or cash at station / on delivery chosen: to fulfil
    #: every part settled (no shipment or booking open) and one took place: goods handed over, a stay
    #: completed (`orders.services.settlement`)
    COMPLETED = "completed"
    CANCELED = "canceled"  # canceled whole, or every part settled and none took place
    EXPIRED = "expired"


class PaymentMethod(StrEnum):
    CARD = "card"
    STATION_CASH = "station_cash"
    COD = "cod"
    #: 对公转账: an organisation's approved purchase only; the order waits pending until the county office
    #: or the selling station records the transfer (orders.services.transfers).
    BANK_TRANSFER = "bank_transfer"


class Delivery(StrEnum):
    SHIP = "ship"
    PICKUP = "pickup"


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint("total_fen >= 0 AND subtotal_fen >= 0 AND shipping_fen >= 0", name="amounts_non_negative"),
        sa.CheckConstraint("status IN ('pending','confirmed','completed','canceled','expired')", name="status_valid"),
        sa.Index("ix_orders_status_expires", "status", "expires_at"),
        # a buyer's orders (my orders), and its open pay-later orders counted at every checkout
        # (`orders.services.limits`): by status within the buyer, not among every confirmed order
        sa.Index("ix_orders_user_status", "user_id", "status"),
    )
    TRANSITIONS = {
        OrderStatus.PENDING: {OrderStatus.CONFIRMED, OrderStatus.CANCELED, OrderStatus.EXPIRED},
        OrderStatus.CONFIRMED: {OrderStatus.COMPLETED, OrderStatus.CANCELED},
        OrderStatus.EXPIRED: {OrderStatus.CONFIRMED},  # a late payment re-allocates
        OrderStatus.COMPLETED: set(),
        OrderStatus.CANCELED: set(),
    }

    id: Mapped[int] = pk()
    #: Public reference (8 chars, unambiguous alphabet); used in URLs and the API.
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    secret: Mapped[str] = mapped_column(sa.String(32))
    user_id: Mapped[int] = fk("users.id", index=False)  # ix_orders_user_status
    status: Mapped[str] = mapped_column(sa.String(16), default=OrderStatus.PENDING)
    delivery: Mapped[str] = mapped_column(sa.String(8), default=Delivery.SHIP)
    pickup_station_id: Mapped[int | None] = fk("stations.id", nullable=True)
    payment_method: Mapped[str] = mapped_column(sa.String(16))
    ship_name: Mapped[str] = mapped_column(sa.String(40), default="")
    ship_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    ship_province: Mapped[str] = mapped_column(sa.String(20), default="")
    ship_city: Mapped[str] = mapped_column(sa.String(20), default="")
    ship_district: Mapped[str] = mapped_column(sa.String(20), default="")
    ship_line: Mapped[str] = mapped_column(sa.String(200), default="")
    subtotal_fen: Mapped[int] = mapped_column(sa.BigInteger)
    shipping_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total_fen: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3), default=CURRENCY)
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]

    user = relationship("User")
    #: Where a pick-up order is collected, whole (docs/pickup.md).
    pickup_station = relationship("Station", foreign_keys=[pickup_station_id])
    shipments = relationship("Shipment", back_populates="order", order_by="Shipment.id")
    lines = relationship("OrderLine", back_populates="order", order_by="OrderLine.id")
    payments = relationship("OrderPayment", back_populates="order", order_by="OrderPayment.id")

    @property
    def bookings(self) -> list:
        """The bookings this order sells (its lines of kind "booking"), in line order."""
        return [line.booking for line in self.lines if line.kind == "booking" and line.booking_id is not None]

    @property
    def booking(self):
        """The booking when the order is exactly one booking (placed by `POST /bookings`, or a cart
        holding one booking line and nothing else), else None: such an order is shown and cancelled
        as its booking. A mixed order shows its bookings and shipments side by side (`bookings`)."""
        if len(self.lines) != 1:
            return None
        return next(iter(self.bookings), None)


class ShipmentStatus(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    PACKED = "packed"
    SHIPPED = "shipped"  # by post to the buyer, or (pick-up order) to the station the buyer chose
    ARRIVED = "arrived"  # a pick-up order's goods from another station, received at the chosen station
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"  # also: picked up at the counter
    CANCELED = "canceled"


class Shipment(db.Model):
    """The part of an order one station fulfils."""

    __tablename__ = "shipments"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('new','accepted','packed','shipped','arrived','ready_for_pickup','delivered','canceled')",
            name="status_valid",
        ),
        sa.Index("ix_shipments_station_status", "station_id", "status"),
        sa.CheckConstraint(
            "return_status IS NULL OR return_status IN ('returning','returned')", name="return_status_valid"
        ),
    )
    TRANSITIONS = {
        ShipmentStatus.NEW: {ShipmentStatus.ACCEPTED, ShipmentStatus.CANCELED},
        ShipmentStatus.ACCEPTED: {ShipmentStatus.PACKED, ShipmentStatus.CANCELED},
        ShipmentStatus.PACKED: {ShipmentStatus.SHIPPED, ShipmentStatus.READY_FOR_PICKUP, ShipmentStatus.CANCELED},
        ShipmentStatus.SHIPPED: {ShipmentStatus.DELIVERED, ShipmentStatus.ARRIVED},
        ShipmentStatus.ARRIVED: {ShipmentStatus.DELIVERED, ShipmentStatus.CANCELED},
        ShipmentStatus.READY_FOR_PICKUP: {ShipmentStatus.DELIVERED, ShipmentStatus.CANCELED},
        ShipmentStatus.DELIVERED: set(),
        ShipmentStatus.CANCELED: set(),
    }

    id: Mapped[int] = pk()
    #: Public reference: '<order code>-<n>'.
    code: Mapped[str] = mapped_column(sa.String(24), unique=True)
    order_id: Mapped[int] = fk("orders.id", ondelete="CASCADE")
    #: Indexed by ix_shipments_station_status (its leading column): no index of its own.
    station_id: Mapped[int] = fk("stations.id", index=False)
    status: Mapped[str] = mapped_column(sa.String(20), default=ShipmentStatus.NEW)
    shipping_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    weight_g: Mapped[int] = mapped_column(sa.Integer, default=0)
    tracking_number: Mapped[str] = mapped_column(sa.String(40), default="")
    #: Read by the buyer at the counter; checked with compare_digest; failures counted.
    pickup_code: Mapped[str] = mapped_column(sa.String(12), default="")
    pickup_failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    cash_received_at: Mapped[datetime | None]
    cash_received_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    #: Goods of a pick-up transfer canceled (whole or in part) after it arrived at the chosen station:
    #: "returning" while they travel back to the packing station, "returned" once it received them
    #: (docs/pickup.md). Null: nothing to send back.
    return_status: Mapped[str | None] = mapped_column(sa.String(12), nullable=True)
    #: What those goods hold at the packing station, {stock record id: quantity}: the allocation is
    #: released when they are received back, not before (`stations.services.fulfilment.receive_return`).
    return_stock: Mapped[dict | None] = mapped_column(sa.JSON, nullable=True)

    order = relationship(Order, back_populates="shipments")
    station = relationship("Station")
    lines = relationship("OrderLine", back_populates="shipment", order_by="OrderLine.id")


class LineStatus(StrEnum):
    OPEN = "open"
    CANCELED = "canceled"
    REFUNDED = "refunded"


class OrderLine(db.Model):
    """One product (or one booking) in an order, snapshotting what was sold and to whose benefit."""

    __tablename__ = "order_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price_fen >= 0 AND line_total_fen >= 0", name="amounts_non_negative"),
        sa.CheckConstraint("kind IN ('product','booking')", name="kind_valid"),
        sa.CheckConstraint("refunded_quantity >= 0 AND refunded_quantity <= quantity", name="refunded_quantity_valid"),
    )

    id: Mapped[int] = pk()
    order_id: Mapped[int] = fk("orders.id", ondelete="CASCADE")
    shipment_id: Mapped[int | None] = fk("shipments.id", nullable=True)
    kind: Mapped[str] = mapped_column(sa.String(8), default="product")
    product_id: Mapped[int | None] = fk("products.id", nullable=True, ondelete="SET NULL")
    booking_id: Mapped[int | None] = fk("bookings.id", nullable=True)
    status: Mapped[str] = mapped_column(sa.String(12), default=LineStatus.OPEN)
    # --- snapshot at the time of sale ---
    title: Mapped[str] = mapped_column(sa.String(120))
    unit: Mapped[str] = mapped_column(sa.String(20), default="")
    station_id: Mapped[int | None] = fk("stations.id", nullable=True)
    village_id: Mapped[int | None] = fk("villages.id", nullable=True)
    category_id: Mapped[int | None] = fk("categories.id", nullable=True)
    unit_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    quantity: Mapped[int] = mapped_column(sa.Integer)
    line_total_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: Units given back with their money so far (refund requests approved one part at a time, or the
    #: whole line at once); `quantity` once the line is refunded (`status` refunded). Never lowered.
    refunded_quantity: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    commission_bps: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Benefit split used for crediting: [{"household_id": 1, "weight": 2}, ...].
    benefit_split: Mapped[list] = mapped_column(sa.JSON, default=list)

    order = relationship(Order, back_populates="lines")
    shipment = relationship(Shipment, back_populates="lines")
    product = relationship("Product")
    #: For kind "booking": lets one flush write the booking before its line.
    booking = relationship("Booking")


class PaymentState(StrEnum):
    CREATED = "created"
    PENDING = "pending"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"


class OrderPayment(db.Model):
    """A payment attempt for an order (pretix OrderPayment). Card via Stripe, or cash at station/delivery."""

    __tablename__ = "order_payments"
    __table_args__ = (
        sa.CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        sa.CheckConstraint(
            "state IN ('created','pending','confirmed','failed','canceled','refunded')", name="state_valid"
        ),
    )
    TRANSITIONS = {
        PaymentState.CREATED: {
            PaymentState.PENDING,
            PaymentState.CONFIRMED,
            PaymentState.FAILED,
            PaymentState.CANCELED,
        },
        PaymentState.PENDING: {PaymentState.CONFIRMED, PaymentState.FAILED, PaymentState.CANCELED},
        PaymentState.FAILED: {PaymentState.PENDING, PaymentState.CONFIRMED, PaymentState.CANCELED},
        PaymentState.CONFIRMED: {PaymentState.REFUNDED},
        #: money arriving for a canceled order is recorded, then refunded automatically
        PaymentState.CANCELED: {PaymentState.CONFIRMED},
        PaymentState.REFUNDED: set(),
    }

    id: Mapped[int] = pk()
    order_id: Mapped[int] = fk("orders.id", ondelete="CASCADE")
    #: n in the public reference '<order code>-P-<n>', also the Stripe idempotency key.
    number: Mapped[int] = mapped_column(sa.Integer, default=1)
    provider: Mapped[str] = mapped_column(sa.String(16))  # stripe | station_cash | cod | bank_transfer
    state: Mapped[str] = mapped_column(sa.String(12), default=PaymentState.CREATED)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3), default=CURRENCY)
    #: The PaymentIntent id (pi_...), or a bank transfer's reference (流水号) once recorded; unique.
    provider_ref: Mapped[str | None] = mapped_column(sa.String(64), unique=True, nullable=True)
    client_secret: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    refunded_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]

    order = relationship(Order, back_populates="payments")

    @property
    def status(self) -> str:  # for shop.history.transition
        return self.state

    @status.setter
    def status(self, value: str) -> None:  # transition() sets `status`
        self.state = value

    @property
    def full_code(self) -> str:
        return f"{self.order.code}-P-{self.number}"


#: A cash refund whose cash is still in the till, owed to the buyer (待退还); `succeeded` (已退还) once an
#: operator handed it back (docs/MONEY.md, "A cash refund is owed until it is handed back").
REFUND_OWED = "owed"

#: The longest reason or note a till's book keeps (a correction's reason, a remittance's note, a close's
#: difference reason): a longer one is refused (`orders.services.cashbook.cash_note`), never cut.
MAX_CASH_NOTE = 200


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = pk()
    payment_id: Mapped[int] = fk("order_payments.id", ondelete="CASCADE")
    order_line_id: Mapped[int | None] = fk("order_lines.id", nullable=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: created|succeeded|failed (a card refund: sent to the provider, then its answer); a cash refund is
    #: `owed` (待退还) while its cash is still in the till, `succeeded` (已退还) once an operator handed it
    #: back (`orders.services.payments.hand_back_cash`, its `refund` cash-book entry).
    state: Mapped[str] = mapped_column(sa.String(12), default="created")
    #: A cash refund: the shipment whose till took the cash and pays it back.
    shipment_id: Mapped[int | None] = fk("shipments.id", nullable=True)
    provider_ref: Mapped[str | None] = mapped_column(sa.String(64), unique=True, nullable=True)
    #: Kept whole (text): it may quote a reason typed in full (a recall's: 批次 X 召回：<reason>).
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    actor_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime]

    shipment = relationship("Shipment")


class StripeEvent(db.Model):
    """A Stripe webhook event, stored in the same transaction as its effect: seen once, handled once."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str] = mapped_column(sa.String(64), default="")
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class RefundRequestStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


class RefundGoods(StrEnum):
    """What happened to the goods of an approved refund request (仅退款 / 退货退款)."""

    NOT_RETURNED = "not_returned"  # 货品未退回: refund only, stock unchanged
    RESTOCKED = "restocked"  # 货品已退回、可再售: `restocked_quantity` units back into their lots
    UNSELLABLE = "returned_unsellable"  # 货品已退回、不可再售: back, but no stock change


class RefundKind(StrEnum):
    """What the buyer asks for (退款类型): to keep the goods, or to send them back. The station's
    decision then records what actually happened to them (`RefundGoods`), which alone moves stock."""

    REFUND_ONLY = "refund_only"  # 仅退款: the buyer keeps the goods
    RETURN = "return"  # 退货退款: the buyer sends the goods back to the station


class RefundRequest(db.Model):
    """A buyer's request to refund one delivered line; an admin or the line's station decides."""

    __tablename__ = "refund_requests"
    __table_args__ = (
        sa.CheckConstraint("status IN ('requested','approved','rejected')", name="status_valid"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint(
            "goods IS NULL OR goods IN ('not_returned','restocked','returned_unsellable')", name="goods_valid"
        ),
        sa.CheckConstraint(
            "CASE WHEN goods = 'restocked' THEN restocked_quantity IS NOT NULL AND restocked_quantity > 0 "
            "ELSE restocked_quantity IS NULL END",
            name="restocked_quantity_with_goods",
        ),
        sa.CheckConstraint("kind IS NULL OR kind IN ('refund_only','return')", name="kind_valid"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint(
            "restocked_quantity IS NULL OR restocked_quantity <= quantity", name="restocked_within_quantity"
        ),
    )
    TRANSITIONS = {
        RefundRequestStatus.REQUESTED: {RefundRequestStatus.APPROVED, RefundRequestStatus.REJECTED},
        RefundRequestStatus.APPROVED: set(),
        RefundRequestStatus.REJECTED: set(),
    }

    id: Mapped[int] = pk()
    order_id: Mapped[int] = fk("orders.id", ondelete="CASCADE")
    order_line_id: Mapped[int] = fk("order_lines.id", ondelete="CASCADE")
    #: The line's station (who may approve), copied from the line snapshot.
    station_id: Mapped[int | None] = fk("stations.id", nullable=True)
    #: Units the buyer asks to refund (1 to what is left of the line); `amount_fen` = unit price × this.
    quantity: Mapped[int] = mapped_column(sa.Integer)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(12), default=RefundRequestStatus.REQUESTED)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    #: What the buyer asked for (`RefundKind`: 仅退款 / 退货退款); None for requests made before the
    #: buyer was asked.
    kind: Mapped[str | None] = mapped_column(sa.String(12), nullable=True)
    requested_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    decided_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    decision_note: Mapped[str] = mapped_column(sa.String(200), default="")
    refund_id: Mapped[int | None] = fk("refunds.id", nullable=True, ondelete="SET NULL")
    #: Set on approval: what happened to the goods (`RefundGoods`); None while undecided, when rejected,
    #: and for requests approved before the station said it.
    goods: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    #: Units taken back into stock (`return` movements naming this request); only when `restocked`.
    restocked_quantity: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]

    order = relationship(Order)
    line = relationship(OrderLine)
    #: The money an approved request sent back (None when nothing had been paid for the line yet).
    refund = relationship(Refund)


# --- the cash book (docs/MONEY.md) ------------------------------------------------------------------


class CashKind(StrEnum):
    STATION_CASH = "station_cash"  # pay-at-station cash taken at the counter (positive)
    COD = "cod"  # cash on delivery collected (positive)
    REFUND = "refund"  # cash refund paid out to a buyer (negative; names its Refund row)
    REMITTANCE = "remittance"  # cash handed over to the platform (negative)
    CORRECTION = "correction"  # an error put right, with its reason (signed)
    CLOSE_DIFFERENCE = "close_difference"  # counted minus expected at the daily close (signed)


@append_only
class CashEntry(db.Model):
    """One cash event at a station's till. Append-only; a station's cash is a SUM over its entries.

    `business_date` is the Beijing day whose book holds the entry: the day it happened, or the next
    day not yet closed when that day's book is already closed (a closed day never changes).
    """

    __tablename__ = "cash_entries"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('station_cash','cod','refund','remittance','correction','close_difference')",
            name="kind_valid",
        ),
        sa.CheckConstraint(
            "(kind IN ('station_cash','cod') AND amount_fen > 0)"
            " OR (kind IN ('refund','remittance') AND amount_fen < 0)"
            " OR (kind IN ('correction','close_difference') AND amount_fen <> 0)",
            name="amount_sign",
        ),
        sa.CheckConstraint("kind <> 'refund' OR refund_id IS NOT NULL", name="refund_named"),
        sa.UniqueConstraint("refund_id", name="uq_cash_entries_refund_id"),  # a refund is paid out once
        sa.Index("ix_cash_entries_station_date", "station_id", "business_date"),
        #: a shipment's cash is taken once
        sa.Index(
            "uq_cash_entries_shipment_taken",
            "shipment_id",
            unique=True,
            postgresql_where=sa.text("kind IN ('station_cash','cod')"),
            sqlite_where=sa.text("kind IN ('station_cash','cod')"),
        ),
    )

    id: Mapped[int] = pk()
    station_id: Mapped[int] = fk("stations.id", index=False)
    business_date: Mapped[date]
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: Signed: cash into the till positive, out of it negative.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    order_id: Mapped[int | None] = fk("orders.id", nullable=True)
    shipment_id: Mapped[int | None] = fk("shipments.id", nullable=True)
    refund_id: Mapped[int | None] = fk("refunds.id", nullable=True, index=False)
    #: What an operator typed (at most MAX_CASH_NOTE, `cashbook.cash_note`), or a refund's reason, kept whole (text).
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    actor_id: Mapped[int | None] = fk("users.id", nullable=True)
    created_at: Mapped[datetime]

    actor = relationship("User")
    shipment = relationship("Shipment")


@append_only
class CashClose(db.Model):
    """The daily close (日结) of a station's cash book: once written, that day's book never changes."""

    __tablename__ = "cash_closes"
    __table_args__ = (sa.UniqueConstraint("station_id", "business_date", name="uq_cash_closes_station_date"),)

    id: Mapped[int] = pk()
    station_id: Mapped[int] = fk("stations.id", index=False)
    business_date: Mapped[date]
    #: The till's balance from the book at the close (every entry up to and including the day).
    expected_fen: Mapped[int] = mapped_column(sa.BigInteger)
    counted_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: counted - expected; when not zero a `close_difference` entry of this amount is in the day's book.
    difference_fen: Mapped[int] = mapped_column(sa.BigInteger)
    note: Mapped[str] = mapped_column(sa.String(MAX_CASH_NOTE), default="")
    actor_id: Mapped[int | None] = fk("users.id", nullable=True)
    created_at: Mapped[datetime]

    actor = relationship("User")


#: PostgreSQL: no entry can be written into a day that is closed, even by raw SQL (the service
#: refuses it first, with a clear message; `orders.services.cashbook`).
CASH_DAY_CLOSED_DDL = (
    "cash_entries_closed_day",
    """
CREATE OR REPLACE FUNCTION cash_entries_closed_day() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM cash_closes WHERE station_id = NEW.station_id
               AND business_date = NEW.business_date) THEN
        RAISE EXCEPTION 'cash book of station % is closed for %', NEW.station_id, NEW.business_date
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS cash_entries_closed_day ON cash_entries;
CREATE TRIGGER cash_entries_closed_day BEFORE INSERT ON cash_entries
    FOR EACH ROW EXECUTE FUNCTION cash_entries_closed_day();
""",
    """
DROP TRIGGER IF EXISTS cash_entries_closed_day ON cash_entries;
DROP FUNCTION IF EXISTS cash_entries_closed_day();
""",
)
register_postgres_ddl(*CASH_DAY_CLOSED_DDL)
