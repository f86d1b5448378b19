"""Demo data from the county's 2017 plan (docs/county-plan.md, "The demo data").

Nanchang County's townships are real; the plan does not name its 18 poverty villages, so the
village names here are invented and flagged `is_demo`. 18 stations: 8 that existed, 10 built in
2018. ~40 demo households, products of the seven specialties plus seasonal ones, each linked to
households. Idempotent: every object is looked up by a natural key before it is created.
Tourism (`tourism.demo`) and the county office (`county.demo`) add theirs, called at the end, with a
little history made through the services: sales at a station's counter (`demo.sales`), a completed
farm stay (`demo.stays`) and an organisation the county office rejected, to correct (`demo.organisations`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from catalog.models import Category, Household, HouseholdStatusChange, Producer, Product, Township, Village
from catalog.services import ProductInput, create_product, join_family
from county import demo as county_demo
from county.services.registry import id_check_character
from demo.images import seed_demo_images, seed_demo_listing_images
from demo.organisations import MANAGER_EMAIL, seed_rejected_organisation
from demo.papers import seed_demo_papers
from demo.sales import seed_sales
from demo.stays import seed_stay
from shop.auth.models import User
from shop.auth.services import Registration, register_user
from shop.extensions import db
from shop.personal_data import lookup_hash
from shop.timeutil import local_date
from stock.models import Station
from stock.services import receive_stock
from tourism import demo as tourism_demo

DEMO_PASSWORD = "demo12345"

#: The demo hosts' mobile numbers (stored as `shop.phone.normalise_phone` keeps them: 11 digits): a
#: tourist's booking page shows the host's phone once booked (`Listing.phone`: the listing's own
#: contact phone, else its host's), so a demo host without one left the guest nobody to call.
HOST_PHONES = {"host@demo.cn": "13979102468"}

TOWNSHIPS = [
    ("莲塘镇", "liantang"),
    ("向塘镇", "xiangtang"),
    ("三江镇", "sanjiang"),
    ("塘南镇", "tangnan"),
    ("幽兰镇", "youlan"),
    ("蒋巷镇", "jiangxiang"),
    ("武阳镇", "wuyang"),
    ("冈上镇", "gangshang"),
    ("广福镇", "guangfu"),
    ("泾口乡", "jingkou"),
    ("南新乡", "nanxin"),
    ("塔城乡", "tacheng"),
    ("黄马乡", "huangma"),
    ("富山乡", "fushan"),
    ("八一乡", "bayi"),
]

# (village, township slug, signature product, category slug)
VILLAGES = [
    ("柳溪村", "sanjiang", "三江腌菜", "pickles"),
    ("前进村", "sanjiang", "三江腌菜", "pickles"),
    ("桃花村", "huangma", "无花果", "fruit"),
    ("罗渡村", "huangma", "无花果", "fruit"),
    ("龙潭村", "jiangxiang", "土鸡蛋", "eggs"),
    ("港口村", "jiangxiang", "味蛋", "eggs"),
    ("东湖村", "tacheng", "板鸭", "poultry"),
    ("新联村", "tangnan", "板鸭", "poultry"),
    ("芦洲村", "jingkou", "藜蒿", "vegetables"),
    ("白沙村", "jingkou", "藜蒿", "vegetables"),
    ("丰乐村", "xiangtang", "优质大米", "rice"),
    ("荷塘村", "wuyang", "优质大米", "rice"),
    ("红星村", "gangshang", "草莓", "fruit"),
    ("沙洲村", "guangfu", "西瓜", "fruit"),
    ("湖滨村", "nanxin", "龙虾", "aquatic"),
    ("渔村村", "youlan", "黄鳝", "aquatic"),
    ("花海村", "huangma", "花海门票", "vegetables"),
    ("金塘村", "fushan", "土鸡蛋", "eggs"),
]

# (slug, name, English name, food class: which food-safety papers its products need, catalog/papers.py)
CATEGORIES = [
    ("pickles", "腌菜酱菜", "Pickles", "processed"),
    ("fruit", "时令水果", "Fruit", "farm"),
    ("eggs", "禽蛋", "Eggs", "farm"),
    ("poultry", "腊味禽肉", "Cured poultry", "processed"),
    ("vegetables", "生鲜蔬菜", "Vegetables", "farm"),
    ("rice", "粮油大米", "Rice", "processed"),
    ("aquatic", "水产", "Aquatic", "farm"),
]

#: Days from harvest/production to best-before, per category (None: not dated), for the demo lots.
SHELF_DAYS = {"pickles": 270, "fruit": 10, "eggs": 30, "poultry": 180, "vegetables": 5, "rice": 365, "aquatic": 3}

# (name, category, unit, price_fen, weight_g, season, description[, variant label])
# Specs of one signature product with a variant label are the variants (规格) of one product, named
# FAMILY_NAMES[signature] (else the signature itself): one card, one page with a picker.
PRODUCTS = {
    "三江腌菜": [
        ("三江腌菜500克", "pickles", "袋", 1880, 550, "", "三江镇传统工艺腌制的芥菜，咸香下饭。", "500克袋装"),
        ("三江腌菜礼盒2斤", "pickles", "盒", 4580, 1100, "", "三江腌菜礼盒装，送亲友。", "2斤礼盒"),
    ],
    "无花果": [
        ("鲜无花果1斤", "fruit", "斤", 2600, 550, "7-10月", "当天采摘当天发货的新鲜无花果。"),
        ("无花果干250克", "fruit", "袋", 3200, 280, "", "自然晾晒的无花果干。"),
    ],
    "土鸡蛋": [
        ("土鸡蛋30枚", "eggs", "盒", 4500, 1800, "", "林下散养土鸡蛋（草鸡蛋、柴鸡蛋）。", "30枚装"),
        ("土鸡蛋15枚", "eggs", "盒", 2400, 900, "", "林下散养土鸡蛋（草鸡蛋、柴鸡蛋），小份尝鲜装。", "15枚装"),
    ],
    "味蛋": [("南昌味蛋20枚", "eggs", "盒", 3600, 1300, "", "卤香入味的南昌特色味蛋。")],
    "板鸭": [
        ("南安板鸭1只", "poultry", "只", 6800, 1000, "11-2月", "传统工艺腌制风干板鸭。", "整只"),
        ("南安板鸭半只", "poultry", "件", 3600, 520, "11-2月", "传统工艺腌制风干板鸭，半只真空装。", "半只"),
    ],
    "藜蒿": [("鄱阳湖藜蒿1斤", "vegetables", "斤", 1500, 550, "2-4月", "湖区野生藜蒿（芦蒿），清炒腊肉最香。")],
    "优质大米": [
        ("优质大米5kg", "rice", "袋", 5900, 5000, "", "本地优质稻米，软糯清香。"),
        ("富硒大米10斤", "rice", "袋", 6900, 5000, "", "富硒土壤种植的优质大米。"),
    ],
    "草莓": [("红颜草莓2斤", "fruit", "盒", 7800, 1100, "12-4月", "大棚红颜草莓，酸甜多汁。")],
    "西瓜": [("麒麟西瓜1个", "fruit", "个", 3500, 5000, "6-8月", "沙地西瓜，皮薄瓤甜。")],
    "龙虾": [("鲜活小龙虾2斤", "aquatic", "份", 9800, 1200, "5-9月", "稻田生态养殖小龙虾。")],
    "黄鳝": [("网箱黄鳝1斤", "aquatic", "斤", 8800, 600, "5-10月", "网箱生态养殖黄鳝。")],
}

FAMILY_NAMES = {"板鸭": "南安板鸭"}

SURNAMES = "张王李刘陈杨黄赵吴周徐孙胡朱高林何郭罗梁"
GIVEN = ["建华", "秀英", "国平", "桂兰", "志强", "春梅", "水生", "冬英", "细毛", "金根"]


def _demo_id_number(i: int) -> str:
    """The i-th demo household head's resident ID number: 南昌县 (360121), born 1960-1989, with its
    check character (the registry refuses a number whose check fails)."""
    first17 = f"36012119{60 + i % 30:02d}0{(i % 9) + 1}1{i % 10}{i % 1000:03d}"
    return first17 + id_check_character(first17)


def _get_or_create(model, lookup: dict, **values):
    obj = db.session.scalar(sa.select(model).filter_by(**lookup))
    if obj is not None:
        return obj, False
    obj = model(**lookup, **values)
    db.session.add(obj)
    db.session.flush()
    return obj, True


def _group_variants(variants: list[tuple[Product, str]], name: str, *, now: datetime) -> bool:
    """Make the demo's packs of one product the variants of one product named `name` (also for a
    database seeded before variants existed: its separate products are grouped). True if changed."""
    if len(variants) < 2 or all(p.family_id is not None for p, _label in variants):
        return False
    (first, first_label), rest = variants[0], variants[1:]
    for product, label in rest:
        if product.family_id is None:
            join_family(product, first.id, label, now=now, sibling_label=first_label)
    assert first.family is not None  # join_family gave it one
    first.family.name = name
    db.session.flush()
    return True


def seed_demo(*, now: datetime) -> tuple[bool, list[tuple[str, str]]]:
    """Load the demo data; returns (anything created, [(role, email)])."""
    created_any = False
    townships = {}
    for name, slug in TOWNSHIPS:
        townships[slug], created = _get_or_create(Township, {"slug": slug}, name=name)
        created_any |= created
    categories = {}
    for i, (slug, name, name_en, food_class) in enumerate(CATEGORIES):
        categories[slug], created = _get_or_create(
            Category, {"slug": slug}, name=name, name_en=name_en, position=i, food_class=food_class
        )
        created_any |= created

    villages = []
    for i, (name, tslug, signature, _cat) in enumerate(VILLAGES):
        village, created = _get_or_create(
            Village,
            {"slug": f"demo-{i + 1:02d}"},
            name=name,
            township_id=townships[tslug].id,
            is_poverty_village=True,
            signature_product=signature,
            is_demo=True,
            story=f"{name}位于南昌县{townships[tslug].name}，一村一品：{signature}。（演示数据）",
        )
        villages.append(village)
        created_any |= created

    stations = []
    for i, village in enumerate(villages):
        station, created = _get_or_create(
            Station,
            {"code": f"NC{i + 1:02d}"},
            name=f"{village.name}电商服务站",
            township_id=village.township_id,
            address=f"南昌县{village.township.name}{village.name}村委会旁",
            hours="08:00-18:00",
            phone=f"0791-8{i + 1:02d}0000",
            commission_bps=500,
            is_new=i >= 8,
            opened_year=2018 if i >= 8 else 2016,
        )
        if created:
            station.villages.append(village)
            created_any = True
        stations.append(station)

    households = []
    for i in range(40):
        village = villages[i % len(villages)]
        registry_no = f"3601210{i + 1:05d}"
        household = db.session.scalar(
            sa.select(Household).where(Household.registry_no_hash == lookup_hash(registry_no))
        )
        if household is None:
            head_name = SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)]
            household = Household(
                village_id=village.id,
                head_name=head_name,
                head_name_hash=lookup_hash(head_name),
                registry_no=registry_no,
                registry_no_hash=lookup_hash(registry_no),
                id_number=_demo_id_number(i),
                phone=f"139{i:08d}",
                members=1 + i % 5,
                status="poor",
                is_demo=True,
                created_at=now,
            )
            db.session.add(household)
            db.session.flush()
            db.session.add(
                HouseholdStatusChange(
                    household_id=household.id,
                    from_status=None,
                    to_status="poor",
                    effective_date=date(2017, 1, 1),
                    note="建档立卡",
                    created_at=now,
                )
            )
            created_any = True
        households.append(household)

    for vi, village in enumerate(villages):
        specs = PRODUCTS.get(village.signature_product, [])
        if not specs:
            continue
        producer, created = _get_or_create(
            Producer,
            {"name": f"{village.name}{village.signature_product}专业合作社"},
            kind="cooperative",
            village_id=village.id,
        )
        village_households = [h for h in households if h.village_id == village.id]
        variants: list[tuple[Product, str]] = []
        for pi, (name, cat, unit, price, weight, season, desc, *label) in enumerate(specs):
            full_name = name if vi < 11 else f"{village.name}{name}"
            existing = db.session.scalar(
                sa.select(Product).where(Product.name == full_name, Product.village_id == village.id)
            )
            if existing is not None:
                if label:
                    variants.append((existing, label[0]))
                continue
            product = create_product(
                ProductInput(
                    name=full_name,
                    category_id=categories[cat].id,
                    village_id=village.id,
                    station_id=stations[vi].id,
                    price_fen=price,
                    unit=unit,
                    weight_g=weight,
                    season=season,
                    description=desc,
                    producer_id=producer.id,
                    benefit=[(h.id, 1 + k) for k, h in enumerate(village_households)],
                ),
                actor=None,
                now=now,
                approved=True,
            )
            # two lots (#23): an older one from the cooperative, a fresh one from a household
            today = local_date(now)
            shelf = SHELF_DAYS.get(cat)
            for days_ago, quantity, household in (
                (min(10, (shelf or 10) - 1), 5, None),
                (1, 15 + 7 * ((vi + pi) % 9), village_households[0] if village_households else None),
            ):
                harvest = today - timedelta(days=days_ago)
                receive_stock(
                    product.stock,
                    quantity,
                    actor=None,
                    now=now,
                    lot_note="2026年秋收批次",
                    harvest_date=harvest,
                    best_before_date=harvest + timedelta(days=shelf) if shelf else None,
                    from_household_id=household.id if household is not None else None,
                    producer_id=producer.id if household is None else None,
                )
            if label:
                variants.append((product, label[0]))
            created_any = True
        family_name = FAMILY_NAMES.get(village.signature_product, village.signature_product)
        created_any |= _group_variants(variants, family_name if vi < 11 else f"{village.name}{family_name}", now=now)

    created_any |= seed_demo_papers(now=now) > 0
    created_any |= seed_demo_images() > 0

    accounts = []
    for role, email, name, station in [
        ("consumer", "consumer@demo.cn", "李游客", None),
        ("operator", "operator@demo.cn", "柳溪站运营员", stations[0]),
        ("host", "host@demo.cn", "罗渡农家乐", None),
        ("county", "county@demo.cn", "县扶贫办", None),
        ("admin", "admin@demo.cn", "管理员", None),
        # the demo's sales (demo.sales): a villager buying at the second station's counter, and its operator
        ("consumer", "buyer@demo.cn", "王大姐", None),
        ("operator", "operator2@demo.cn", f"{stations[1].name}运营员", stations[1]),
        # the manager of the demo's rejected organisation (demo.organisations), to correct it
        ("consumer", MANAGER_EMAIL, "刘会计", None),
    ]:
        if db.session.scalar(sa.select(User.id).where(User.email == email)) is None:
            register_user(
                Registration(
                    email=email,
                    password=DEMO_PASSWORD,
                    name=name,
                    role=role,
                    station_id=station.id if station else None,
                ),
                now=now,
            )
            created_any = True
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if email in HOST_PHONES and user is not None and not user.phone:  # also a host seeded before
            user.phone = HOST_PHONES[email]
            created_any = True
        accounts.append((role, email))

    created_any |= bool(tourism_demo.seed(now=now))
    created_any |= seed_demo_listing_images() > 0
    users = {email: db.session.scalar(sa.select(User).where(User.email == email)) for _role, email in accounts}
    created_any |= seed_sales(buyer=users["buyer@demo.cn"], operator=users["operator2@demo.cn"], now=now)
    created_any |= seed_stay(guest=users["consumer@demo.cn"], now=now)
    created_any |= bool(county_demo.seed(now=now))
    created_any |= seed_rejected_organisation(
        manager=users[MANAGER_EMAIL], officer=users[county_demo.COUNTY_EMAIL], now=now
    )
    db.session.flush()
    return created_any, accounts
