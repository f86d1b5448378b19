"""Shipping per shipment, computed on the server.

The rule (configurable, all amounts in fen):

* pick-up at a station costs nothing;
* otherwise each shipment (one per fulfilling station) costs `SHIPPING_BASE_FEN` for the first
  kilogram plus `SHIPPING_PER_KG_FEN` for every further started kilogram of its weight
  (sum of product `weight_g` × quantity);
* a shipment whose goods total at least `FREE_SHIPPING_FROM_FEN` ships free
  (0 disables the threshold).

Defaults: ¥8.00 first kilo, ¥2.00 each further kilo, free from ¥99.00.
"""

from __future__ import annotations

from flask import current_app


def shipping_fen(*, weight_g: int, goods_fen: int, pickup: bool) -> int:
    """The shipping fee of one shipment."""
    if pickup:
        return 0
    config = current_app.config
    free_from = int(config.get("FREE_SHIPPING_FROM_FEN", 9900))
    if free_from and goods_fen >= free_from:
        return 0
    base = int(config.get("SHIPPING_BASE_FEN", 800))
    per_kg = int(config.get("SHIPPING_PER_KG_FEN", 200))
    extra_kg = max(0, -(-max(0, weight_g - 1000) // 1000))  # started kilos beyond the first
    return base + per_kg * extra_kg
