"""Village e-commerce service stations: fulfilment, stock, counter payments, assisted selling."""
