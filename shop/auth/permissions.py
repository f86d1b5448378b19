"""Role gates for HTML views, and the per-object rules every package asks.

Rules (docs/auth.md, "Who sees what"): operators see only their station; consumers only their own orders and
bookings (another's is a 404); county officers read everything and change only the registry,
links and approvals; an admin administers and oversees, and passes every role gate but a host's
(`User.has_role`, the one rule of the gates: admins administer, hosts host).
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from shop.auth.models import Role


def role_required(*roles: str):
    """Login required, then one of `roles`, else 403. An admin passes unless the gate names only roles whose
    work is one's own (`OWN_WORK_ROLES`: `role_required("host")` is for hosts): `User.has_role`."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def can_manage_station(user, station_id: int | None) -> bool:
    """Operators manage their own station only; admins any."""
    if user is None or not user.is_authenticated:
        return False
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.OPERATOR and station_id is not None and user.station_id == station_id


def owns(user, obj) -> bool:
    """The user placed this order / booking."""
    return user is not None and user.is_authenticated and getattr(obj, "user_id", None) == user.id


def can_read_county(user) -> bool:
    return user is not None and user.is_authenticated and user.role in (Role.COUNTY, Role.ADMIN)
