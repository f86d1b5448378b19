"""JSON API endpoints of the tourism package (added to shop.api's blueprint)."""
