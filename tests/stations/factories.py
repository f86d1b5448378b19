"""Orders for station tests, built directly (Order, Shipment per station, OrderLine, stock allocated),
so these tests do not depend on the checkout flow."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta

import sqlalchemy as sa
from PIL import Image

from orders.models import Order, OrderLine, OrderPayment, Shipment
from shop.codes import new_order_code, new_secret
from shop.extensions import db
from shop.history import record_status
from shop.timeutil import local_date
from stock.services import LineStock, allocate_lines
from tests.factories import NOW, make_user, product_benefit_split

_seq = itertools.count(1)
PICKUP_CODE = "246810"


def make_order(
    items: list[tuple],
    *,
    buyer=None,
    delivery: str = "ship",
    payment_method: str = "card",
    status: str = "confirmed",
    created_at=None,
    pickup_code: str = PICKUP_CODE,
    pickup_station=None,
) -> Order:
    """`items` = [(product, quantity)]. One shipment per station; stock allocated; card orders paid."""
    buyer = buyer or make_user()
    created_at = created_at or NOW - timedelta(hours=2)
    subtotal = sum(p.price_fen * q for p, q in items)
    order = Order(
        code=new_order_code(),
        secret=new_secret(),
        user_id=buyer.id,
        status=status,
        delivery=delivery,
        pickup_station_id=pickup_station.id if pickup_station is not None else None,
        payment_method=payment_method,
        ship_name="李四",
        ship_phone="13800000000",
        ship_province="江西省",
        ship_city="南昌市",
        ship_district="南昌县",
        ship_line="莲塘镇 1 号",
        subtotal_fen=subtotal,
        shipping_fen=0,
        total_fen=subtotal,
        created_at=created_at,
        paid_at=created_at if payment_method == "card" and status == "confirmed" else None,
    )
    db.session.add(order)
    db.session.flush()
    shipments: dict[int, Shipment] = {}
    for product, quantity in items:
        shipment = shipments.get(product.station_id)
        if shipment is None:
            shipment = Shipment(
                code=f"{order.code}-{len(shipments) + 1}",
                order_id=order.id,
                station_id=product.station_id,
                status="new",
                pickup_code=pickup_code,
                created_at=created_at,
            )
            db.session.add(shipment)
            db.session.flush()
            record_status(shipment, from_status=None, to_status="new", now=created_at)
            shipments[product.station_id] = shipment
        db.session.add(
            OrderLine(
                order_id=order.id,
                shipment_id=shipment.id,
                kind="product",
                product_id=product.id,
                title=product.name,
                unit=product.unit,
                station_id=product.station_id,
                village_id=product.village_id,
                category_id=product.category_id,
                unit_price_fen=product.price_fen,
                quantity=quantity,
                line_total_fen=product.price_fen * quantity,
                commission_bps=product.station.commission_bps,
                benefit_split=product_benefit_split(product.id),
            )
        )
    confirmed = payment_method == "card" and status == "confirmed"
    db.session.add(
        OrderPayment(
            order_id=order.id,
            provider="stripe" if payment_method == "card" else payment_method,
            state="confirmed" if confirmed else "created",
            amount_fen=subtotal,
            created_at=created_at,
            confirmed_at=created_at if confirmed else None,
            provider_ref=f"pi_test_{next(_seq)}_{order.code}" if payment_method == "card" else None,
        )
    )
    db.session.flush()
    lines = sorted(db.session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order.id)), key=lambda l: l.id)
    allocate_lines(
        [
            LineStock(line_id=line.id, record_id=product.stock.id, product_id=product.id, quantity=quantity)
            for line, (product, quantity) in zip(lines, items)
        ],
        today=local_date(created_at),
    )
    db.session.refresh(order)
    return order


def image_bytes(fmt: str = "PNG", size=(800, 600), color=(200, 30, 30), orientation: int | None = None) -> bytes:
    """A photo of one colour (the left tenth blue, to tell its sides) as `fmt` (Pillow's format names;
    "HEIF" is a phone's .heic, written with pillow-heif), with an EXIF `orientation` if given."""
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    image = Image.new("RGB", size, color)
    image.paste((0, 0, 255), (0, 0, max(1, size[0] // 10), size[1]))
    buffer = io.BytesIO()
    extra = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        extra["exif"] = exif.tobytes()
    image.save(buffer, fmt, **extra)
    return buffer.getvalue()
