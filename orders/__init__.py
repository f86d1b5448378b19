"""Cart, checkout, orders split into shipments, payments (Stripe, pay at station, cash on delivery)."""
