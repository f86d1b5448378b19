"""JSON API endpoints of the stations package (added to shop.api's blueprint)."""
