"""JSON API endpoints of the orders package (added to shop.api's blueprint)."""
