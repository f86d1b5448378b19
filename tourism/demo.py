"""Tourism demo data: farm stays (农家乐/民宿), picking and fishing sessions, the flower-sea ticket.

Called by `demo.data.seed_demo` after the villages, households and the host account
(`host@demo.cn`) exist. Idempotent: listings by slug, sessions by (unit type, start), holidays by date.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from catalog.models import BenefitLink, Household, Village
from shop.auth.models import User
from shop.celery import enqueue_after_commit
from shop.extensions import db
from shop.timeutil import TZ, local_date
from tourism.models import Holiday, Listing, Session, UnitType

HOST_EMAIL = "host@demo.cn"

HOLIDAYS = (
    [(date(2027, 1, 1), "元旦")]
    + [(date(2027, 2, 6) + timedelta(days=i), "春节") for i in range(7)]
    + [(date(2027, 4, 5), "清明节"), (date(2027, 5, 1), "劳动节"), (date(2027, 10, 1), "国庆节")]
)

# slug, kind, name, village, description, included, pay_on_arrival, employed, unit types, session hours
LISTINGS = [
    (
        "luodu-farmstay",
        "stay",
        "罗渡农家乐",
        "罗渡村",
        "黄马乡罗渡村的农家小院，推窗是无花果园，步行十分钟到花海。主人家做得一手好南昌菜。",
        "早餐、无花果园采摘体验",
        True,
        3,
        [("标准间", 4, 2, 16800, 19800, 26800), ("家庭房", 2, 4, 26800, 29800, 36800)],
        [],
    ),
    (
        "huahai-minsu",
        "stay",
        "花海原乡民宿",
        "花海村",
        "紧邻黄马罗渡花海原乡景区的民宿，春季油菜花、秋季格桑花。",
        "早餐、景区接送",
        True,
        2,
        [("花景大床房", 3, 2, 22800, 25800, 32800)],
        [],
    ),
    (
        "hongxing-strawberry",
        "experience",
        "红星村草莓采摘",
        "红星村",
        "冈上镇红星村大棚红颜草莓，现摘现吃，带走一斤。",
        "一斤草莓、采摘篮",
        True,
        4,
        [("采摘票", 20, 6, 3800, 4800, None)],
        [9, 14],
    ),
    (
        "yucun-fishing",
        "experience",
        "渔村垂钓",
        "渔村村",
        "幽兰镇渔村村生态鱼塘垂钓，渔具租借，钓到的鱼可现场加工。",
        "渔具、鱼饵",
        True,
        2,
        [("垂钓位", 10, 4, 5000, 6000, None)],
        [8],
    ),
    (
        "huangma-luodu-flower-sea",
        "ticket",
        "黄马罗渡花海原乡门票",
        "花海村",
        "黄马乡罗渡花海原乡：四季花海、田园栈道，乡村旅游扶贫示范点。",
        "景区门票、花田小火车",
        False,
        12,
        [("成人票", 500, 10, 6000, 8000, 10000)],
        [],
    ),
]

#: Where the demo listings are (invented addresses, points near the townships they are in).
PLACES = {
    "luodu-farmstay": ("南昌县黄马乡罗渡村村委会旁 12 号（演示数据）", 28_412_300, 116_031_500),
    "huahai-minsu": ("南昌县黄马乡花海原乡景区东门（演示数据）", 28_405_800, 116_025_200),
    "hongxing-strawberry": ("南昌县冈上镇红星村草莓大棚基地（演示数据）", 28_471_900, 116_118_400),
    "yucun-fishing": ("南昌县幽兰镇渔村村生态鱼塘（演示数据）", 28_335_600, 116_059_700),
    "huangma-luodu-flower-sea": ("南昌县黄马乡罗渡花海原乡景区售票处（演示数据）", 28_406_900, 116_027_100),
}


def seed(now: datetime) -> bool:
    host = db.session.scalar(sa.select(User).where(User.email == HOST_EMAIL))
    if host is None:
        return False
    created = False
    for day, name in HOLIDAYS:
        if db.session.scalar(sa.select(Holiday.id).where(Holiday.holiday_date == day)) is None:
            db.session.add(Holiday(holiday_date=day, name=name))
            created = True
    today = local_date(now)
    new_listing_ids = []
    for slug, kind, name, village_name, description, included, arrival, employed, unit_types, hours in LISTINGS:
        village = db.session.scalar(sa.select(Village).where(Village.name == village_name).order_by(Village.id))
        if village is None:
            continue
        listing = db.session.scalar(sa.select(Listing).where(Listing.slug == slug))
        if listing is None:
            listing = Listing(
                kind=kind,
                slug=slug,
                name=name,
                description=description,
                included=included,
                village_id=village.id,
                host_id=host.id,
                free_cancel_days=3,
                cancel_fee_pct=30,
                pay_on_arrival=arrival,
                employed_poor_members=employed,
                is_published=True,
                created_at=now,
            )
            db.session.add(listing)
            db.session.flush()
            if slug in PLACES:
                listing.address, listing.lat_e6, listing.lon_e6 = PLACES[slug]
            for ut_name, units, max_guests, price, weekend, holiday in unit_types:
                db.session.add(
                    UnitType(
                        listing_id=listing.id,
                        name=ut_name,
                        units=units,
                        max_guests=max_guests,
                        price_fen=price,
                        weekend_price_fen=weekend,
                        holiday_price_fen=holiday,
                    )
                )
            households = db.session.scalars(
                sa.select(Household.id).where(Household.village_id == village.id).order_by(Household.id).limit(3)
            ).all()
            for i, household_id in enumerate(households):
                db.session.add(
                    BenefitLink(listing_id=listing.id, household_id=household_id, weight=3 - i, created_at=now)
                )
            db.session.flush()
            db.session.refresh(listing)
            new_listing_ids.append(listing.id)
            created = True
        if hours:
            unit_type = listing.unit_types[0]
            existing = set(
                db.session.scalars(
                    sa.select(Session.starts_at).where(
                        Session.unit_type_id == unit_type.id, Session.session_date >= today
                    )
                )
            )
            for d in range(14):
                day = today + timedelta(days=d)
                for hour in hours:
                    starts_at = datetime.combine(day, time(hour), tzinfo=TZ)
                    if starts_at not in existing:
                        db.session.add(
                            Session(
                                unit_type_id=unit_type.id,
                                starts_at=starts_at,
                                session_date=day,
                                capacity=unit_type.units,
                            )
                        )
                        created = True
    db.session.flush()
    if new_listing_ids:
        # after commit, in the search queue (the search package sits above tourism: named, not imported)
        enqueue_after_commit("search.tasks.reindex_listings", sorted(new_listing_ids))
    return created
