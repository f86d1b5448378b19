"""An experience's sessions (场次), kept by its host: add a run of them over a date range at one or more
start times, remove one nobody has booked. Each change is audited on the unit type, as its prices are.

A session is a row (`tourism.models.Session`); its free places are computed from bookings
(`availability.session_remaining`), never counted down, so a new session is bookable at once through the
listing page, POST /bookings and the cart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from shop.args import half_width
from shop.audit import record_audit
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db
from shop.timeutil import TZ, local_date
from tourism.models import Booking, Listing, ListingKind, Session, UnitType
from tourism.services.availability import closed_dates, places_taken
from tourism.services.host import MAX_UNITS

#: Sessions are added from today up to this many days ahead (the booking horizon's order of size).
MAX_SESSION_DAYS_AHEAD = 180
#: At most this many days in one addition.
MAX_SESSION_SPAN_DAYS = 90
#: At most this many start times a day in one addition.
MAX_START_TIMES = 12
#: A session's places: as many as an experience's places (`UnitType.units`) may be.
MAX_SESSION_CAPACITY = MAX_UNITS

_TIME = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")  # ASCII digits (half_width: ０９：３０ too)


def parse_start_times(text: str) -> list[time]:
    """ "09:00, 14:00" (commas, 、, spaces, full-width digits and colon accepted) -> sorted distinct times;
    other scripts' digits (٩:٣٠) are refused."""
    parts = [p for p in re.split(r"[,、;\s]+", half_width(text or "").strip()) if p]
    times = set()
    for part in parts:
        match = _TIME.match(part)
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValidationError("session_times_invalid", fields={"times": "invalid"})
        times.add(time(int(match[1]), int(match[2])))
    if not times:
        raise ValidationError("session_times_invalid", fields={"times": "required"})
    if len(times) > MAX_START_TIMES:
        raise ValidationError("session_times_too_many", n=MAX_START_TIMES, fields={"times": "too many"})
    return sorted(times)


@dataclass(frozen=True)
class SessionRow:
    session: Session
    unit_type_name: str
    #: Places taken by live bookings (confirmed, checked in, an unexpired hold).
    booked: int


@dataclass(frozen=True)
class SessionsAdded:
    added: int
    #: Start times on days the listing is closed: not added.
    skipped_closed: int
    #: A session at that start was there already: not added twice.
    skipped_existing: int


def upcoming_sessions(listing: Listing, *, now: datetime) -> list[SessionRow]:
    """The listing's sessions that have not started, with the places booked; withdrawn ones (capacity 0,
    see `remove_session`) are not listed."""
    ids = [ut.id for ut in listing.unit_types]
    if not ids:
        return []
    names = {ut.id: ut.name for ut in listing.unit_types}
    booked = places_taken(Session.id, now).scalar_subquery()
    rows = db.session.execute(
        sa.select(Session, booked)
        .where(Session.unit_type_id.in_(ids), Session.starts_at > now, Session.capacity > 0)
        .order_by(Session.starts_at, Session.id)
    )
    return [SessionRow(session=s, unit_type_name=names[s.unit_type_id], booked=int(n)) for s, n in rows]


def _experience_unit_type(listing: Listing, unit_type_id: int | None) -> UnitType:
    if listing.kind != ListingKind.EXPERIENCE:
        raise NotFound("unit_type_not_found")
    unit_type = next((ut for ut in listing.unit_types if unit_type_id in (None, ut.id)), None)
    if unit_type is None:
        raise NotFound("unit_type_not_found", fields={"unit_type_id": str(unit_type_id)})
    return unit_type


def check_session_range(start: date, end: date, *, now: datetime) -> None:
    today = local_date(now)
    last = today + timedelta(days=MAX_SESSION_DAYS_AHEAD)
    if start < today or end > last:
        raise ValidationError(
            "session_dates_out_of_range",
            first=today.isoformat(),
            last=last.isoformat(),
            # the date that is out of range carries the message: a start within the window, flagged for an
            # end past it, sent the host looking at the wrong field
            fields={"start" if start < today else "end": "out_of_range"},
        )
    if end < start:
        raise ValidationError("session_end_before_start", fields={"end": "before start"})
    if (end - start).days + 1 > MAX_SESSION_SPAN_DAYS:
        raise ValidationError("session_span_too_long", n=MAX_SESSION_SPAN_DAYS, fields={"end": "too long"})


def add_sessions(
    listing: Listing,
    *,
    unit_type_id: int | None,
    start: date,
    end: date,
    times: list[time],
    capacity: int,
    actor,
    now: datetime,
) -> SessionsAdded:
    """Add a session at each start time of each day of [start, end] (Beijing dates), each with `capacity`
    places. Days the listing is closed are skipped; a start that has a session already is not added again
    (one withdrawn by `remove_session` is offered again with this capacity). Start times already past
    (today's) are skipped as existing ones are."""
    unit_type = _experience_unit_type(listing, unit_type_id)
    check_session_range(start, end, now=now)
    if not times or len(times) > MAX_START_TIMES:
        raise ValidationError("session_times_invalid", fields={"times": "invalid"})
    if not isinstance(capacity, int) or not 1 <= capacity <= MAX_SESSION_CAPACITY:
        raise ValidationError(
            "session_capacity_out_of_range", n=MAX_SESSION_CAPACITY, fields={"capacity": "out_of_range"}
        )
    # the lock every hold and `update_unit_type` take: two additions of the same range never both insert
    db.session.execute(sa.select(UnitType.id).where(UnitType.id == unit_type.id).with_for_update())
    stop = end + timedelta(days=1)
    closed = closed_dates(listing.id, start, stop)
    existing = {
        s.starts_at.astimezone(TZ): s
        for s in db.session.scalars(
            sa.select(Session).where(
                Session.unit_type_id == unit_type.id, Session.session_date >= start, Session.session_date < stop
            )
        )
    }
    added = skipped_closed = skipped_existing = 0
    day = start
    while day < stop:
        for at in times:
            starts_at = datetime.combine(day, at, tzinfo=TZ)
            if day in closed:
                skipped_closed += 1
            elif starts_at <= now:
                skipped_existing += 1
            elif starts_at in existing:
                withdrawn = existing[starts_at]
                if withdrawn.capacity == 0:
                    withdrawn.capacity = capacity
                    added += 1
                else:
                    skipped_existing += 1
            else:
                db.session.add(
                    Session(unit_type_id=unit_type.id, starts_at=starts_at, session_date=day, capacity=capacity)
                )
                added += 1
        day += timedelta(days=1)
    if added:
        record_audit(
            actor=actor,
            action="session.add",
            subject=unit_type,
            detail={
                "from": start.isoformat(),
                "to": end.isoformat(),
                "times": [t.strftime("%H:%M") for t in times],
                "capacity": capacity,
                "added": added,
            },
            now=now,
        )
    db.session.flush()
    return SessionsAdded(added=added, skipped_closed=skipped_closed, skipped_existing=skipped_existing)


def _live_session(listing: Listing, session_id: int) -> Session | None:
    """A session of this listing not withdrawn, or None (another listing's, withdrawn, or none)."""
    session = db.session.get(Session, session_id)
    if session is None or session.capacity == 0 or session.unit_type_id not in {ut.id for ut in listing.unit_types}:
        return None
    return session


def get_host_session(listing: Listing, session_id: int) -> Session:
    """A session of this listing (another listing's, or one withdrawn: 404)."""
    session = _live_session(listing, session_id)
    if session is None:
        raise NotFound("session_not_found")
    return session


def session_removal_refusal(session: Session, *, now: datetime) -> Conflict | None:
    """Why this session may not be removed now, or None: it has started (409 `session_started`), or
    guests hold places in it (409 `session_booked`, how many)."""
    if session.starts_at <= now:
        return Conflict("session_started", fields={"session_id": "started"})
    booked = int(db.session.scalar(places_taken(session.id, now)) or 0)
    if booked:
        return Conflict("session_booked", n=booked, fields={"session_id": "booked"})
    return None


def remove_session(listing: Listing, session_id: int, *, actor, now: datetime) -> bool:
    """Remove a session nobody holds places in; False when it is gone already (a second tap). A session
    that only canceled or expired bookings name stays as a row (they keep their time) with capacity 0:
    withdrawn, offered nowhere (`availability.sessions_between`), and offered again if added again."""
    session = _live_session(listing, session_id)
    if session is None:
        return False
    unit_type = db.session.execute(
        sa.select(UnitType).where(UnitType.id == session.unit_type_id).with_for_update()
    ).scalar_one()
    refusal = session_removal_refusal(session, now=now)
    if refusal is not None:
        raise refusal
    detail = {"starts_at": session.starts_at.astimezone(TZ).isoformat(), "capacity": session.capacity}
    named = db.session.scalar(sa.select(sa.exists().where(Booking.session_id == session.id)))
    if named:
        session.capacity = 0
    else:
        db.session.delete(session)
    record_audit(actor=actor, action="session.remove", subject=unit_type, detail=detail, now=now)
    db.session.flush()
    return True
