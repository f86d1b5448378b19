"""The link from an order to the purchase it was placed for (来自采购单 12), on the buyer's order pages.

Orders cannot import institutions (it sits below), so `institutions.init_app` registers
`PurchaseOrigins` with `orders.origins`; the order pages ask it for their orders. Who may follow the
link is the purchase page's own rule (`purchases.purchase_ids_of_orders`): a buyer who has left the
organisation sees no link to a page that would be a 404.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from institutions.services.purchases import purchase_ids_of_orders
from orders.origins import OrderOrigin


class PurchaseOrigins:
    """`orders.origins.OrderOrigins` for the orders of approved purchases."""

    def origins(self, order_ids: list[int], *, viewer) -> dict[int, OrderOrigin]:
        return {
            order_id: OrderOrigin(
                label=_("来自采购单 %(id)s", id=purchase_id),
                url=url_for("institutions.purchase_detail", purchase_id=purchase_id),
            )
            for order_id, purchase_id in purchase_ids_of_orders(order_ids, viewer).items()
        }
