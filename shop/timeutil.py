"""Time: aware UTC inside, Asia/Shanghai at the edges. Services take `now` as an argument."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def to_local(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    return dt.astimezone(TZ)


def local_date(dt: datetime) -> date:
    """The calendar date in Beijing of an aware instant ("today" = local_date(now))."""
    return to_local(dt).date()


def local_midnight_utc(day: date) -> datetime:
    """00:00 Beijing time of `day`, as aware UTC."""
    return datetime.combine(day, time.min, tzinfo=TZ).astimezone(timezone.utc)


def local_hour_utc(day: date, hour: int) -> datetime:
    """`hour`:00 Beijing time of `day`, as aware UTC."""
    return datetime.combine(day, time(hour), tzinfo=TZ).astimezone(timezone.utc)


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """[first day of month, first day of next month) as dates."""
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end
