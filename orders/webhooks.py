"""POST /api/v1/payments/stripe/webhook (added to shop.api's blueprint)."""
