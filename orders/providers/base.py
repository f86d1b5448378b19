"""What every payment provider speaks: plain dataclasses and errors, and the provider interface."""

from __future__ import annotations

from dataclasses import dataclass, field


class ProviderError(Exception):
    """The provider could not be reached or refused the call (user-facing message kept generic)."""


class ProviderUnavailable(ProviderError):
    """The provider did not answer in time, or could not be reached, or answered 5xx / 429 after the
    client's retries. Nothing is known about the effect: retry the same operation under the same
    idempotency key (the provider then returns the first result instead of acting twice)."""


class PaymentDeclined(ProviderError):
    """The card was declined; the message may be shown to the buyer."""


class InvalidSignature(Exception):
    """A webhook whose signature does not verify."""


class InvalidEvent(Exception):
    """A webhook whose signature verifies but whose body is not an event (not a JSON object with an id, a type
    and data.object)."""


@dataclass(frozen=True)
class Intent:
    id: str
    status: str  # requires_payment_method | requires_action | processing | succeeded | canceled ...
    amount: int
    currency: str  # lower case, e.g. "cny"
    client_secret: str | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # succeeded | pending | failed


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object_id: str


class PaymentProvider:
    """The interface the payment services use."""

    name = "base"

    def __init__(self, config):
        self.config = config

    @property
    def configured(self) -> bool:
        return False

    def create_intent(
        self, *, amount_fen: int, currency: str, idempotency_key: str, metadata: dict, methods: list[str]
    ) -> Intent:
        raise NotImplementedError

    def retrieve_intent(self, intent_id: str) -> Intent:
        raise NotImplementedError

    def confirm_with_card(self, intent_id: str, *, token_id: str, card_id: str, idempotency_key: str) -> Intent:
        """Attach the card tokenised in the page (Stripe.js `createToken`) and confirm the intent.
        Returns the intent (status `succeeded`, or `requires_action` for 3-D Secure)."""
        raise NotImplementedError

    def refund(self, *, intent_id: str, amount_fen: int, idempotency_key: str) -> RefundResult:
        raise NotImplementedError

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        """Cancel an intent that was never paid (its order was canceled or expired)."""
        raise NotImplementedError

    def parse_event(self, payload: bytes, signature: str | None) -> WebhookEvent:
        raise NotImplementedError
