"""Villages and stations, as the platform admin keeps them: the fields the models have.

A village: its name, township, poverty flag, signature product (一村一品) and story (村庄介绍, the 村庄故事 of
its page). A station: its code, name, address, opening hours, telephone (printed on its packing slips and
labels: a mobile number or a landline with its area code, `shop.phone`) and the villages it serves (at
least one). A new village's slug is made as a category's (`admin.services.slugs`); slugs stay as they are
on a rename, so shared links keep working.
Every creation and change is written to the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from admin.services.slugs import add_with_unique_slug
from catalog.models import Township, Village
from shop.audit import record_audit
from shop.codes import typed_code
from shop.db import unique_or
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db
from shop.phone import is_phone, normalise_phone
from stock.models import Station

STATION_CODE = re.compile(r"^[A-Za-z0-9-]{2,16}$")
STORY_MAX = 2000


@dataclass
class VillageData:
    name: str
    township_id: int | None
    is_poverty_village: bool = False
    signature_product: str = ""
    story: str = ""


@dataclass
class StationData:
    code: str
    name: str
    address: str = ""
    hours: str = ""
    phone: str = ""
    village_ids: list[int] = field(default_factory=list)


def townships() -> list[Township]:
    return list(db.session.scalars(sa.select(Township).order_by(Township.name)))


def villages() -> list[Village]:
    return list(
        db.session.scalars(
            sa.select(Village).options(selectinload(Village.township)).order_by(Village.township_id, Village.name)
        )
    )


def counts() -> tuple[int, int]:
    """How many villages and how many stations there are (the overview's cards)."""
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Village)) or 0,
        db.session.scalar(sa.select(sa.func.count()).select_from(Station)) or 0,
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


def _clean_village(data: VillageData, village: Village | None = None) -> dict:
    """The village's values as stored, or the refusal. Two villages of one township never share a name:
    households, products and stations pick their village by it (柳溪村 twice in 三江镇 could not be told
    apart, and a household registered under the wrong one is credited in the wrong village's figures)."""
    name = (data.name or "").strip()
    signature = (data.signature_product or "").strip()
    story = (data.story or "").strip().replace("\r\n", "\n")
    if not name or len(name) > 40:
        raise ValidationError("village_name_invalid", fields={"name": "invalid"})
    if len(signature) > 40:
        raise ValidationError("signature_product_too_long", fields={"signature_product": "too long"})
    if len(story) > STORY_MAX:
        raise ValidationError("village_story_too_long", max=STORY_MAX, fields={"story": "too long"})
    if data.township_id is None or db.session.get(Township, data.township_id) is None:
        raise ValidationError("no_such_township", fields={"township_id": "unknown"})
    same_name = sa.select(Village.id).where(Village.township_id == data.township_id, Village.name == name)
    if village is not None:
        same_name = same_name.where(Village.id != village.id)
    if db.session.scalar(same_name.limit(1)) is not None:
        raise Conflict("village_name_taken", name=name, fields={"name": "taken"})
    return {
        "name": name,
        "township_id": data.township_id,
        "is_poverty_village": bool(data.is_poverty_village),
        "signature_product": signature,
        "story": story,
    }


def check_village(data: VillageData, village: Village | None = None) -> None:
    """Raise what `create_village` (or `update_village` of `village`) would refuse, changing nothing: a page
    asks no confirmation of a village that cannot be saved."""
    _clean_village(data, village)


def namesakes(data: VillageData, village: Village | None = None) -> list[str]:
    """The villages of other townships named as `data` names one, as 「乡镇 · 村」: a new village of that name,
    or `village` renamed or moved to it, is one more village of one name, which every list must tell apart
    by its township (and the household import asks written so), so the admin's pages ask first. Empty when
    there is none, or `village` keeps its name and township."""
    name = (data.name or "").strip()
    if village is not None and village.name == name and village.township_id == data.township_id:
        return []
    query = (
        sa.select(Township.name, Village.name)
        .join(Township, Township.id == Village.township_id)
        .where(Village.name == name, Village.township_id != data.township_id)
        .order_by(Township.name)
    )
    if village is not None:
        query = query.where(Village.id != village.id)
    return [f"{township} · {village_name}" for township, village_name in db.session.execute(query)]


def create_village(data: VillageData, *, actor, now: datetime) -> Village:
    """A new village; its slug (/villages/<slug>) is the catalogue's pinyin of its name, made unique.
    Audited as `village.create`. Flushes; the caller commits."""
    values = _clean_village(data)
    village = Village(is_demo=False, **values)
    add_with_unique_slug(village, values["name"], 60, recheck=lambda: _clean_village(data))
    record_audit(
        actor=actor, action="village.create", subject=village, detail={**values, "slug": village.slug}, now=now
    )
    return village


def update_village(village: Village, data: VillageData, *, actor, now: datetime) -> bool:
    """Change a village's name, township, poverty flag, signature product and story (the slug stays). Returns
    whether anything changed; audited as `village.update`. Flushes; the caller commits."""
    changes = _changes(village, _clean_village(data, village))
    if not changes:
        return False
    with unique_or(lambda: _clean_village(data, village)):  # a concurrent rename to the same name
        for key, (_old, value) in changes.items():
            setattr(village, key, value)
    record_audit(actor=actor, action="village.update", subject=village, detail=changes, now=now)
    return True


def _clean_station(data: StationData, station: Station | None) -> tuple[dict, list[Village]]:
    # codes are issued upper-case (NC01): nc01 or ＮＣ０１ (a Chinese input method) is NC01, never a second
    # station beside it that the operator's `--station NC01` and the county's pickers could not tell apart
    code = typed_code(data.code)
    name = (data.name or "").strip()
    address = (data.address or "").strip()
    hours = (data.hours or "").strip()
    phone = normalise_phone(data.phone) if (data.phone or "").strip() else ""
    if not STATION_CODE.match(code):
        raise ValidationError("station_code_invalid", fields={"code": "invalid"})
    if not name or len(name) > 60:
        raise ValidationError("station_name_invalid", fields={"name": "invalid"})
    if len(address) > 200:
        raise ValidationError("station_address_too_long", fields={"address": "too long"})
    if len(hours) > 80:
        raise ValidationError("station_hours_too_long", fields={"hours": "too long"})
    if phone and not is_phone(phone, landline=True):
        raise ValidationError("station_phone_invalid", fields={"phone": "invalid"})
    wanted = sorted(set(data.village_ids))
    if not wanted:
        raise ValidationError("station_villages_required", fields={"village_ids": "required"})
    served = list(db.session.scalars(sa.select(Village).where(Village.id.in_(wanted)).order_by(Village.id)))
    if len(served) != len(wanted):
        raise ValidationError("no_such_village", fields={"village_ids": "unknown"})
    if (station is None or code != station.code) and db.session.scalar(
        sa.select(Station.id).where(Station.code == code)
    ) is not None:
        raise Conflict("station_code_taken", code=code, fields={"code": "taken"})
    return {"code": code, "name": name, "address": address, "hours": hours, "phone": phone}, served


def _code_taken(code: str) -> Conflict:
    """A station code taken by a concurrent request, said as a slower request would hear it."""
    return Conflict("station_code_taken", code=code, fields={"code": "taken"})


def create_station(data: StationData, *, actor, now: datetime) -> Station:
    """A new station serving `data.village_ids`, in the township of the first of them in the villages'
    list (by township, then name), with no commission (`commission_bps` 0; a share is a money rule the
    admin's pages do not set). Audited as `station.create`. Flushes; the caller commits."""
    values, served = _clean_station(data, None)
    first = min(served, key=lambda v: (v.township_id, v.name, v.id))  # the first of them in the villages' list
    with unique_or(_code_taken(values["code"])):
        station = Station(township_id=first.township_id, commission_bps=0, is_new=False, **values)
        station.villages = sorted(served, key=lambda v: v.name)
        db.session.add(station)
    detail = {**values, "village_ids": [v.id for v in served], "township_id": station.township_id}
    record_audit(actor=actor, action="station.create", subject=station, detail=detail, now=now)
    return station


def update_station(station: Station, data: StationData, *, actor, now: datetime) -> bool:
    """Change a station's code, name, address, hours, telephone and the villages it serves. Returns whether anything
    changed; audited as `station.update`. Flushes; the caller commits."""
    values, served = _clean_station(data, station)
    changes = _changes(station, values)
    old_villages = sorted(v.id for v in station.villages)
    wanted = [v.id for v in served]
    if old_villages != wanted:
        changes["village_ids"] = [old_villages, wanted]
    if not changes:
        return False
    with unique_or(_code_taken(values["code"])):
        for key, (_old, value) in changes.items():
            if key != "village_ids":
                setattr(station, key, value)
        if "village_ids" in changes:
            station.villages = sorted(served, key=lambda v: v.name)
    record_audit(actor=actor, action="station.update", subject=station, detail=changes, now=now)
    return True
