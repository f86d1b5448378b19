"""Leisure tourism: farm stays, experiences (picking, fishing), tickets (the flower sea)."""
