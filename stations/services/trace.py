"""The public trace page of a lot (`/trace/<code>`, #23): what a buyer who scans a parcel may read.

`trace_facts` gathers plain values only — strings, dates, counts — never a household, a user or a
producer object, so the page cannot show personal data by accident: a lot delivered by a household
reads "本村 1 户脱贫户", a household-run producer is never named, the households a product credits
are a count, and a 合格证's issuer (its producer itself) is never shown. An unknown code is simply None (the view answers the one 404 it gives every unknown
code: nothing says whether a code exists).

No figure of the lot's units, and nothing of goods returned into it (退货入库): a count of returns could not
say whether the scanned parcel's unit was one of them (it counts returns made after that parcel left) and
could read as a fault; a fault is a recall, which the page does show. The station's stock page lists returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from catalog.models import ApprovalStatus, BenefitLink, Producer, Product, Village
from catalog.papers import approved_documents, public_issuer
from shop.codes import typed_code
from shop.extensions import db
from shop.timeutil import local_date, now_utc
from stock.models import Lot, LotStatus, Station

#: Producer kinds that may be named on a public page (a household-run producer is a household).
NAMED_PRODUCER_KINDS = ("cooperative", "enterprise")
MAX_CODE_LENGTH = 16


@dataclass(frozen=True)
class TraceDocument:
    kind: str
    number: str
    #: "" for a 合格证: its producer issues it, possibly a household (catalog.papers.public_issuer).
    issuer: str
    valid_from: date
    valid_until: date


@dataclass(frozen=True)
class TraceFacts:
    code: str
    product_id: int
    product_name: str
    product_slug: str
    product_trace_code: str
    unit: str
    village: str
    #: The village's page (`/villages/<slug>`: its story, station and products), linked from 产地.
    village_slug: str
    township: str
    #: A cooperative's or enterprise's name, or "" (then `from_households` says who delivered it).
    producer: str
    #: Households that delivered the lot (0 or 1): shown only as a count.
    from_households: int
    #: Households the product's income is credited to, in the product's village (a count).
    linked_households: int
    harvest_date: date | None
    best_before_date: date | None
    received_on: date | None
    station_name: str
    station_code: str
    #: The station's public telephone (who to ask about a recall), "" when it has none.
    station_phone: str
    certified: bool
    certificate_number: str
    certified_on: date | None
    status: str  # active | expired | recalled
    recall_reason: str
    recalled_on: date | None
    #: The approved food-safety documents valid today: kind, number, public issuer, validity (plain values).
    documents: list[TraceDocument] = field(default_factory=list)


def certificate_number(product: Product) -> str:
    """The county's certification number of an approved product (扶贫产品认定): the year of its
    approval and the product's number, e.g. 南扶认〔2026〕00012号; "" when not approved. The year is the
    county's (Asia/Shanghai), as the page's date of certification beside it: approved on the first
    morning of a year in Nanchang is that year's number, not the last one's UTC is still in."""
    if product.approval_status != ApprovalStatus.APPROVED or product.approved_at is None:
        return ""
    return f"南扶认〔{local_date(product.approved_at).year}〕{product.id:05d}号"


def _local_day(moment: datetime | None) -> date | None:
    return local_date(moment) if moment is not None else None


def trace_facts(code: str) -> TraceFacts | None:
    """The public facts of lot `code`, or None for any code that names no lot."""
    code = typed_code(code)
    if not code or len(code) > MAX_CODE_LENGTH:
        return None
    lot = db.session.scalar(sa.select(Lot).where(Lot.code == code))
    if lot is None:
        return None
    product = db.session.get_one(Product, lot.product_id)
    village = db.session.get_one(Village, product.village_id)
    station = db.session.get_one(Station, lot.station_id)
    producer = (
        db.session.get(Producer, lot.producer_id or product.producer_id)
        if (lot.producer_id or product.producer_id)
        else None
    )
    producer_name = producer.name if producer is not None and producer.kind in NAMED_PRODUCER_KINDS else ""
    from_households = 1 if lot.household_id is not None or (producer is not None and not producer_name) else 0
    linked = db.session.scalar(
        sa.select(sa.func.count()).select_from(BenefitLink).where(BenefitLink.product_id == product.id)
    )
    return TraceFacts(
        code=lot.code,
        product_id=product.id,
        product_name=product.name,
        product_slug=product.slug,
        product_trace_code=product.trace_code,
        unit=product.unit,
        village=village.name,
        village_slug=village.slug,
        township=village.township.name,
        producer=producer_name,
        from_households=from_households,
        linked_households=int(linked or 0),
        harvest_date=lot.harvest_date,
        best_before_date=lot.best_before_date,
        received_on=_local_day(lot.received_at),
        station_name=station.name,
        station_code=station.code,
        station_phone=station.phone or "",
        certified=product.approval_status == ApprovalStatus.APPROVED,
        certificate_number=certificate_number(product),
        certified_on=_local_day(product.approved_at),
        status=LotStatus(lot.status).value,
        recall_reason=lot.recall_reason if lot.status == LotStatus.RECALLED else "",
        recalled_on=_local_day(lot.recalled_at),
        documents=[
            TraceDocument(
                kind=d.kind,
                number=d.number,
                issuer=public_issuer(d),
                valid_from=d.valid_from,
                valid_until=d.valid_until,
            )
            for d in approved_documents(product.id, today=local_date(now_utc()))
        ],
    )
