"""Order factories and the fake Stripe provider (replaces the real one at orders.providers)."""

from __future__ import annotations

import itertools
import json
import re
import time

from orders.models import Order, PaymentMethod
from orders.providers import Intent, ProviderError, RefundResult
from orders.providers.stripe import StripeProvider
from orders.services.placement import AddressData, PlacementRequest, place_order
from shop.codes import new_numeric_code
from shop.extensions import db
from shop.once import new_form_token

WEBHOOK_SECRET = "whsec_test_orders"
ADDRESS = AddressData(
    name="王小明", phone="13800000000", province="江西省", city="南昌市", district="南昌县", line="莲塘镇幸福路1号"
)
ADDRESS_JSON = {
    "name": "王小明",
    "phone": "13800000000",
    "province": "江西省",
    "city": "南昌市",
    "district": "南昌县",
    "line": "莲塘镇幸福路1号",
}


#: The checkout page's fields for a new home-delivery address, as a buyer fills them in.
CHECKOUT_HOME = {
    "address_id": 0,
    "name": "王小明",
    "phone": "13800000000",
    "province": "江西省",
    "city": "南昌市",
    "district": "南昌县",
    "line": "幸福路1号",
    "delivery": "ship",
}


def checkout_form(*, payment_method: str, page: str | None = None, **fields) -> dict:
    """The checkout form as a buyer sends it (`POST /checkout`): a new home address, a fresh once-token,
    `payment_method`, the shipped total that `page` (the checkout's HTML) showed, then `fields`."""
    form = {"form_token": new_form_token(), **CHECKOUT_HOME, "payment_method": payment_method}
    if page is not None:
        form["shown_total_ship"] = re.search(r'name="shown_total_ship" value="(\d+)"', page).group(1)
    return {**form, **fields}


def make_order(
    buyer,
    items,
    *,
    now,
    payment_method: str | None = None,
    delivery="ship",
    pickup_station_id=None,
    institutional: bool = False,
    counter_paid_parcel: bool = False,
) -> Order:
    """Place an order for [(product, quantity)] through the real placement service (`institutional`: as
    an organisation's approved purchase does, which may pay by bank transfer). The payment by default is the
    delivery's own cash: cash on delivery shipped home (货到付款, its cash comes with `deliver`), 到站点付款 for a
    pick-up. `counter_paid_parcel`: 到站点付款 shipped home, as placed before that was refused
    (`as_counter_paid_parcel`)."""
    if payment_method is None:
        payment_method = "station_cash" if delivery == "pickup" else "cod"
    order = place_order(
        PlacementRequest(
            items=[(p.id, q) for p, q in items],
            payment_method="cod" if counter_paid_parcel else payment_method,
            delivery="ship" if counter_paid_parcel else delivery,
            address=ADDRESS if delivery == "ship" or counter_paid_parcel else AddressData(),
            pickup_station_id=pickup_station_id,
            institutional=institutional,
        ),
        buyer=buyer,
        now=now,
    )
    return as_counter_paid_parcel(order) if counter_paid_parcel else order


def as_counter_paid_parcel(order: Order) -> Order:
    """`order` (placed shipped home, cash on delivery) rewritten as it stands in the database when it was
    placed before 到站点付款 was refused for home delivery: paid at the station (`station_cash`), its payment's
    provider too, and each shipment with its own code, as placement drew one for station cash then."""
    order.payment_method = PaymentMethod.STATION_CASH
    for payment in order.payments:
        payment.provider = PaymentMethod.STATION_CASH
    for shipment in order.shipments:
        shipment.pickup_code = shipment.pickup_code or new_numeric_code()
    db.session.flush()
    return order


class FakeStripeProvider(StripeProvider):
    """In-memory PaymentIntents; signature verification is the real one (no network needed)."""

    intents: dict[str, dict] = {}
    refunds: list[dict] = []
    created_with: list[dict] = []
    fail_next = False
    _ids = itertools.count(1)

    @classmethod
    def reset(cls):
        cls.intents = {}
        cls.refunds = []
        cls.created_with = []
        cls.canceled = []
        cls.fail_next = False

    @property
    def configured(self) -> bool:
        return True

    def _check(self):
        if FakeStripeProvider.fail_next:
            FakeStripeProvider.fail_next = False
            raise ProviderError("stripe down")

    def create_intent(self, *, amount_fen, currency, idempotency_key, metadata, methods):
        self._check()
        for pi in self.intents.values():
            if pi["key"] == idempotency_key:
                return self._intent(pi)
        n = next(self._ids)
        pi = {
            "id": f"pi_fake{n}",
            "status": "requires_payment_method",
            "amount": amount_fen,
            "currency": currency,
            "client_secret": f"pi_fake{n}_secret_x",
            "metadata": metadata,
            "key": idempotency_key,
        }
        self.intents[pi["id"]] = pi
        self.created_with.append({"methods": list(methods), "metadata": dict(metadata), "key": idempotency_key})
        return self._intent(pi)

    @staticmethod
    def _intent(pi) -> Intent:
        return Intent(
            id=pi["id"],
            status=pi["status"],
            amount=pi["amount"],
            currency=pi["currency"],
            client_secret=pi["client_secret"],
            metadata=pi["metadata"],
        )

    def retrieve_intent(self, intent_id):
        self._check()
        return self._intent(self.intents[intent_id])

    canceled: list[str] = []

    def cancel_intent(self, intent_id, *, idempotency_key):
        self._check()
        pi = self.intents[intent_id]
        if pi["status"] == "succeeded":
            raise ProviderError("You cannot cancel this PaymentIntent because it has a status of succeeded.")
        pi["status"] = "canceled"
        FakeStripeProvider.canceled.append(intent_id)
        return self._intent(pi)

    def confirm_with_card(self, intent_id, *, token_id, card_id, idempotency_key):
        """The page's card token attached and the intent confirmed: every fake card is accepted."""
        self._check()
        pi = self.intents[intent_id]
        pi["status"] = "succeeded"
        return self._intent(pi)

    def refund(self, *, intent_id, amount_fen, idempotency_key):
        self._check()
        self.refunds.append({"intent": intent_id, "amount": amount_fen, "key": idempotency_key})
        return RefundResult(id=f"re_fake{len(self.refunds)}", status="succeeded")

    @classmethod
    def succeed(cls, intent_id: str, **changes):
        cls.intents[intent_id].update(status="succeeded", **changes)


def signed(payload: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> tuple[bytes, str]:
    """A JSON body and its Stripe-Signature header (Stripe's v1 scheme: HMAC-SHA256 of 't.body')."""
    import hashlib
    import hmac

    body = json.dumps(payload).encode()
    t = int(timestamp or time.time())
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={t},v1={sig}"


def event_payload(event_id: str, event_type: str, intent_id: str) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "api_version": "2017-08-15",
        "created": int(time.time()),
        "data": {"object": {"id": intent_id, "object": "payment_intent"}},
    }
