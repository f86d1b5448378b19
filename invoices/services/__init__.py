"""Invoice rules (services only flush; the caller commits)."""
