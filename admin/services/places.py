"""Villages and stations, as the platform admin keeps them: the fields the models have.

A village: its name, township, poverty flag and signature product (一村一品). A station: its code, name,
address, opening hours and the villages it serves (at least one). Slugs stay as they are on a rename,
so shared links keep working. Every change is written to the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from catalog.models import Township, Village
from shop.audit import record_audit
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db
from stock.models import Station

STATION_CODE = re.compile(r"^[A-Za-z0-9-]{2,16}$")


@dataclass
class VillageData:
    name: str
    township_id: int | None
    is_poverty_village: bool = False
    signature_product: str = ""


@dataclass
class StationData:
    code: str
    name: str
    address: str = ""
    hours: str = ""
    village_ids: list[int] = field(default_factory=list)


def townships() -> list[Township]:
    return list(db.session.scalars(sa.select(Township).order_by(Township.name)))


def villages() -> list[Village]:
    return list(
        db.session.scalars(
            sa.select(Village).options(selectinload(Village.township)).order_by(Village.township_id, Village.name)
        )
    )


def stations() -> list[Station]:
    return list(
        db.session.scalars(
            sa.select(Station)
            .options(selectinload(Station.villages), selectinload(Station.township))
            .order_by(Station.code)
        )
    )


def get_village(village_id: int) -> Village:
    village = db.session.get(Village, village_id)
    if village is None:
        raise NotFound("no_such_village")
    return village


def get_station(station_id: int) -> Station:
    station = db.session.get(Station, station_id)
    if station is None:
        raise NotFound("no_such_station")
    return station


def _changes(obj, values: dict) -> dict:
    return {key: [getattr(obj, key), value] for key, value in values.items() if getattr(obj, key) != value}


def update_village(village: Village, data: VillageData, *, actor, now: datetime) -> bool:
    """Change a village's name, township, poverty flag and signature product. Returns whether anything
    changed; audited as `village.update`. Flushes; the caller commits."""
    name = (data.name or "").strip()
    signature = (data.signature_product or "").strip()
    if not name or len(name) > 40:
        raise ValidationError("village_name_invalid", fields={"name": "invalid"})
    if len(signature) > 40:
        raise ValidationError("signature_product_too_long", fields={"signature_product": "too long"})
    if data.township_id is None or db.session.get(Township, data.township_id) is None:
        raise ValidationError("no_such_township", fields={"township_id": "unknown"})
    changes = _changes(
        village,
        {
            "name": name,
            "township_id": data.township_id,
            "is_poverty_village": bool(data.is_poverty_village),
            "signature_product": signature,
        },
    )
    if not changes:
        return False
    for key, (_old, value) in changes.items():
        setattr(village, key, value)
    db.session.flush()
    record_audit(actor=actor, action="village.update", subject=village, detail=changes, now=now)
    return True


def update_station(station: Station, data: StationData, *, actor, now: datetime) -> bool:
    """Change a station's code, name, address, hours and the villages it serves. Returns whether anything
    changed; audited as `station.update`. Flushes; the caller commits."""
    code = (data.code or "").strip()
    name = (data.name or "").strip()
    address = (data.address or "").strip()
    hours = (data.hours or "").strip()
    if not STATION_CODE.match(code):
        raise ValidationError("station_code_invalid", fields={"code": "invalid"})
    if not name or len(name) > 60:
        raise ValidationError("station_name_invalid", fields={"name": "invalid"})
    if len(address) > 200 or len(hours) > 80:
        raise ValidationError("station_text_too_long", fields={"address": "too long"})
    wanted = sorted(set(data.village_ids))
    if not wanted:
        raise ValidationError("station_villages_required", fields={"villages": "required"})
    served = list(db.session.scalars(sa.select(Village).where(Village.id.in_(wanted))))
    if len(served) != len(wanted):
        raise ValidationError("no_such_village", fields={"villages": "unknown"})
    if code != station.code and db.session.scalar(sa.select(Station.id).where(Station.code == code)) is not None:
        raise Conflict("station_code_taken", code=code, fields={"code": "taken"})
    changes = _changes(station, {"code": code, "name": name, "address": address, "hours": hours})
    old_villages = sorted(v.id for v in station.villages)
    if old_villages != wanted:
        changes["village_ids"] = [old_villages, wanted]
    if not changes:
        return False
    for key, (_old, value) in changes.items():
        if key != "village_ids":
            setattr(station, key, value)
    if "village_ids" in changes:
        station.villages = sorted(served, key=lambda v: v.name)
    db.session.flush()
    record_audit(actor=actor, action="station.update", subject=station, detail=changes, now=now)
    return True
