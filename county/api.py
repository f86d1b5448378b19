"""JSON API endpoints of the county package (added to shop.api's blueprint)."""
