"""Food-safety papers (食品安全证件, #23): the documents a product needs before it may be sold.

THE RULE (one place; docs/papers.md). A product's category says what kind of food it is
(`Category.food_class`), and `REQUIRED_DOCUMENTS` says which documents that kind needs:

- `farm` — 食用农产品 (fresh edible farm produce: vegetables, fresh fruit, fresh eggs, live or fresh
  fish): a 食用农产品承诺达标合格证 (`compliance_certificate`);
- `processed` — 加工食品 (pickles, salted/cured duck, milled and packed rice, dried fruit): a food
  production licence, SC number (`production_licence`), and a test report (`test_report`, 检测报告);
- `non_food` — not food (a ticket, a craft): none.

A document counts when the county approved it and today (Beijing) lies within its validity
(`valid_from` ≤ today ≤ `valid_until`). A product is sellable only when every document its class
needs counts. `paper_gaps` says what is missing and why (the shop's product page, the API, the
cart); `papers_ok_clause` is the same rule as one SQL expression, which the checkout reads in its
one SELECT and refuses in its own transaction (`orders.services.placement.quote`).

Documents are uploaded by the station that sells the product (for the cooperative or household
that holds the paper): number, issuer, validity and the file (PDF, JPEG, PNG or HEIC, checked by content,
`check_document_file`), and wait for the county (`decide_document`, audited). Files are stored
outside the public media folder (`PAPERS_DIR`): a 合格证 names its producer, and only the station and
the county read them.
"""

from __future__ import annotations

import functools
import io
import os
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.images import ImageRejected, check_image, shrink_attrs
from catalog.models import Category, Product
from shop import pagecache
from shop.args import half_width
from shop.audit import record_audit
from shop.celery import enqueue_after_commit
from shop.columns import fk, pk
from shop.db import statement
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db
from shop.timeutil import local_date


class FoodClass(StrEnum):
    FARM = "farm"  # 食用农产品
    PROCESSED = "processed"  # 加工食品
    NON_FOOD = "non_food"  # 非食品


class DocumentKind(StrEnum):
    COMPLIANCE_CERTIFICATE = "compliance_certificate"  # 食用农产品承诺达标合格证
    PRODUCTION_LICENCE = "production_licence"  # 食品生产许可证（SC）
    TEST_REPORT = "test_report"  # 检测报告


class DocumentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


#: Which documents each kind of food needs before it may be sold (THE rule; docs/papers.md).
REQUIRED_DOCUMENTS: dict[str, tuple[str, ...]] = {
    FoodClass.FARM: (DocumentKind.COMPLIANCE_CERTIFICATE,),
    FoodClass.PROCESSED: (DocumentKind.PRODUCTION_LICENCE, DocumentKind.TEST_REPORT),
    FoodClass.NON_FOOD: (),
}

FOOD_CLASS_LABELS = {
    FoodClass.FARM: _l("食用农产品"),
    FoodClass.PROCESSED: _l("加工食品"),
    FoodClass.NON_FOOD: _l("非食品"),
}
KIND_LABELS = {
    DocumentKind.COMPLIANCE_CERTIFICATE: _l("食用农产品承诺达标合格证"),
    DocumentKind.PRODUCTION_LICENCE: _l("食品生产许可证（SC）"),
    DocumentKind.TEST_REPORT: _l("检测报告"),
}
STATUS_LABELS = {
    DocumentStatus.PENDING: _l("待审核"),
    DocumentStatus.APPROVED: _l("已通过"),
    DocumentStatus.REJECTED: _l("已退回"),
}
#: Why a required document does not count (paper_gaps).
GAP_LABELS = {
    "missing": _l("缺少%(kind)s"),
    "pending": _l("%(kind)s待县扶贫办审核"),
    "expired": _l("%(kind)s已过期"),
    "not_yet_valid": _l("%(kind)s尚未生效"),
}

#: 食品生产许可证编号: "SC" followed by 14 digits (food category, province, city, county, serial, check).
SC_NUMBER = re.compile(r"SC[0-9]{14}")  # ASCII digits: \d takes ٣ and the like
NUMBER_MAX = 40
ISSUER_MAX = 80
NOTE_MAX = 255
FILE_TYPES = ("pdf", "jpeg", "png")
PDF_ACTIVE = (b"/JavaScript", b"/JS ", b"/JS(", b"/Launch", b"/EmbeddedFile", b"/OpenAction")


class ProductDocument(db.Model):
    """A food-safety document on file for a product, with its number, issuer and validity."""

    __tablename__ = "product_documents"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('compliance_certificate','production_licence','test_report')", name="kind_valid"),
        sa.CheckConstraint("status IN ('pending','approved','rejected')", name="status_valid"),
        sa.CheckConstraint("file_type IN ('pdf','jpeg','png')", name="file_type_valid"),
        sa.CheckConstraint("valid_until >= valid_from", name="validity_order"),
        sa.Index("ix_product_documents_product_kind", "product_id", "kind", "status"),
    )

    id: Mapped[int] = pk()
    product_id: Mapped[int] = fk("products.id", ondelete="CASCADE", index=False)
    kind: Mapped[str] = mapped_column(sa.String(24))
    number: Mapped[str] = mapped_column(sa.String(NUMBER_MAX))
    issuer: Mapped[str] = mapped_column(sa.String(ISSUER_MAX))
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    #: Relative to PAPERS_DIR (never under the public media folder).
    file_path: Mapped[str] = mapped_column(sa.String(255))
    file_type: Mapped[str] = mapped_column(sa.String(8))
    file_size: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(12), default=DocumentStatus.PENDING)
    decision_note: Mapped[str] = mapped_column(sa.String(NOTE_MAX), default="")
    decided_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL", index=False)
    decided_at: Mapped[datetime | None]
    uploaded_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL", index=False)
    uploaded_at: Mapped[datetime]

    product = relationship(Product)

    def counts_on(self, day: date) -> bool:
        """Approved and valid on `day` (the rule's test of one document)."""
        return self.status == DocumentStatus.APPROVED and self.valid_from <= day <= self.valid_until


class DocumentReminder(db.Model):
    """An expiry reminder sent for a document at a threshold (N days before): at most one each."""

    __tablename__ = "document_reminders"
    __table_args__ = (sa.UniqueConstraint("document_id", "days_before", name="uq_document_reminders_document_days"),)

    id: Mapped[int] = pk()
    document_id: Mapped[int] = fk("product_documents.id", ondelete="CASCADE", index=False)
    days_before: Mapped[int] = mapped_column(sa.Integer)
    sent_at: Mapped[datetime]


# --- the rule ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperGap:
    """A required document that does not count today, and why (missing, pending, expired, not_yet_valid)."""

    kind: str
    reason: str

    @property
    def message(self) -> str:
        return str(GAP_LABELS[self.reason] % {"kind": KIND_LABELS[DocumentKind(self.kind)]})


def kind_label(kind: str) -> str:
    """The document kind's name in the reader's language (a template global, `paper_kind_label`)."""
    return str(KIND_LABELS.get(kind, kind))  # type: ignore[call-overload]


def required_kinds(food_class: str) -> tuple[str, ...]:
    """The documents a kind of food needs (categories.food_class is one of FoodClass: a CHECK)."""
    return REQUIRED_DOCUMENTS[food_class]


def _gap(kind: str, documents: list[ProductDocument], today: date) -> PaperGap | None:
    mine = [d for d in documents if d.kind == kind]
    if any(d.counts_on(today) for d in mine):
        return None
    approved = [d for d in mine if d.status == DocumentStatus.APPROVED]
    if any(d.valid_from > today for d in approved):
        return PaperGap(kind, "not_yet_valid")
    if any(d.status == DocumentStatus.PENDING for d in mine):
        return PaperGap(kind, "pending")
    if approved:
        return PaperGap(kind, "expired")
    return PaperGap(kind, "missing")


def paper_gaps(product_ids, *, today: date) -> dict[int, list[PaperGap]]:
    """{product_id: [gaps]} for these products (empty list: sellable as far as papers go). One SELECT:
    each product's food class with its documents (rejected ones never count)."""
    ids = sorted({int(i) for i in product_ids})
    if not ids:
        return {}
    query = statement(
        "catalog.paper_gaps",
        lambda: (
            sa.select(Product.id, Category.food_class, ProductDocument)
            .join(Category, Category.id == Product.category_id)
            .outerjoin(
                ProductDocument,
                sa.and_(ProductDocument.product_id == Product.id, ProductDocument.status != DocumentStatus.REJECTED),
            )
            .where(Product.id.in_(sa.bindparam("ids", expanding=True)))
        ),
    )
    rows = db.session.execute(query, {"ids": ids}).all()
    classes: dict[int, str] = {}
    documents: dict[int, list[ProductDocument]] = {}
    for product_id, food_class, document in rows:
        classes[product_id] = food_class
        if document is not None:
            documents.setdefault(product_id, []).append(document)
    out: dict[int, list[PaperGap]] = {}
    for product_id in sorted(classes):
        gaps = [_gap(kind, documents.get(product_id, []), today) for kind in required_kinds(classes[product_id])]
        out[product_id] = [g for g in gaps if g is not None]
    return out


def gaps_of(product: Product, *, today: date) -> list[PaperGap]:
    return paper_gaps([product.id], today=today).get(product.id, [])


@dataclass(frozen=True)
class ProductPapers:
    gaps: list[PaperGap]  # empty: its papers allow the sale
    documents: list[ProductDocument]  # approved and valid today (what public pages list)


def product_papers(product: Product, *, today: date) -> ProductPapers:
    """What a product page shows of its papers, in one SELECT (its category is loaded with it)."""
    documents = list(
        db.session.scalars(
            sa.select(ProductDocument)
            .where(ProductDocument.product_id == product.id, ProductDocument.status != DocumentStatus.REJECTED)
            .order_by(ProductDocument.kind, ProductDocument.valid_until.desc(), ProductDocument.id)
        )
    )
    gaps = [_gap(kind, documents, today) for kind in required_kinds(product.category.food_class)]
    return ProductPapers(
        gaps=[g for g in gaps if g is not None], documents=[d for d in documents if d.counts_on(today)]
    )


def papers_ok_clause(product_id, food_class, today) -> sa.ColumnElement[bool]:
    """The rule as one SQL expression over a product id column, its category's food class column and
    a date (a bind parameter): every document the class needs is approved and valid on that date."""
    parts = []
    for kind in DocumentKind:
        classes = [c for c, kinds in REQUIRED_DOCUMENTS.items() if kind in kinds]
        doc = ProductDocument.__table__.alias(f"doc_{kind.value}")
        has = (
            sa.select(doc.c.id)
            .where(
                doc.c.product_id == product_id,
                doc.c.kind == kind.value,
                doc.c.status == DocumentStatus.APPROVED.value,
                doc.c.valid_from <= today,
                doc.c.valid_until >= today,
            )
            .exists()
        )
        parts.append(sa.or_(food_class.notin_(classes), has) if classes else sa.true())
    return sa.and_(*parts)


@functools.cache
def _unsellable_statement() -> sa.Select:
    """The SELECT of `unsellable_ids`, built once per process (building the rule's expression costs
    more than running it): its ids and day are bound parameters."""
    return (
        sa.select(Product.id)
        .join(Category, Category.id == Product.category_id)
        .where(
            Product.id.in_(sa.bindparam("ids", expanding=True)),
            sa.not_(papers_ok_clause(Product.id, Category.food_class, sa.bindparam("today", type_=sa.Date))),
        )
    )


def unsellable_ids(product_ids, *, today: date) -> set[int]:
    """Those of `product_ids` whose papers do not count `today`: the rule's SQL form
    (`papers_ok_clause`), one SELECT that returns only the few products with a gap."""
    ids = sorted({int(i) for i in product_ids})
    if not ids:
        return set()
    return set(db.session.scalars(_unsellable_statement(), {"ids": ids, "today": today}))


def paused_cards(products, *, today: date) -> set[int]:
    """Ids of the listed products (cards) none of whose shown variants may be sold `today` for want of
    papers: their cards say 暂停销售, as their product pages do. A product some variant of which may
    be sold is listed as usual (its picker offers that variant; the other's page says 暂停销售)."""
    variants = {p.id: [v.id for v in p.variants] for p in products}
    gaps = unsellable_ids({v for ids in variants.values() for v in ids}, today=today)
    return {pid for pid, ids in variants.items() if all(v in gaps for v in ids)} if gaps else set()


class PapersMissing(Conflict):
    code = "papers_missing"


def check_papers(product_ids, *, today: date, names: dict[int, str] | None = None) -> None:
    """Raise 409 `papers_missing` for the first product (by id) whose papers do not count today."""
    for product_id, gaps in paper_gaps(product_ids, today=today).items():
        if gaps:
            name = (names or {}).get(product_id) or db.session.get_one(Product, product_id).name
            raise PapersMissing(
                "papers_missing",
                name=name,
                what="、".join(g.message for g in gaps),
                fields={"product_id": str(product_id)},
            )


# --- documents: input, files, upload, decision --------------------------------------------------


def normalise_number(kind: str, number: str) -> str:
    """The document number as stored; an SC number must be "SC" + 14 digits (spaces ignored)."""
    text = re.sub(r"\s+", "", number or "")
    if kind == DocumentKind.PRODUCTION_LICENCE:
        text = half_width(text)  # ＳＣ１… as typed in full-width mode
        text = text.upper()
        if not SC_NUMBER.fullmatch(text):
            raise ValidationError("sc_number_invalid", fields={"number": "format"})
        return text
    if not text or len(text) > NUMBER_MAX or not text.isprintable():
        raise ValidationError("document_number_invalid", fields={"number": "invalid"})
    return text


@dataclass(frozen=True)
class DocumentInput:
    kind: str
    number: str
    issuer: str
    valid_from: date | None
    valid_until: date | None


def _check_input(data: DocumentInput, *, today: date) -> tuple[str, str]:
    if data.kind not in {k.value for k in DocumentKind}:
        raise ValidationError("document_kind_invalid", fields={"kind": "invalid"})
    number = normalise_number(data.kind, data.number)
    issuer = (data.issuer or "").strip()
    if not issuer or len(issuer) > ISSUER_MAX or not issuer.isprintable():
        raise ValidationError("document_issuer_invalid", fields={"issuer": "invalid"})
    if data.valid_from is None or data.valid_until is None:
        raise ValidationError("document_dates_required", fields={"valid_until": "required"})
    if data.valid_until < data.valid_from:
        raise ValidationError("document_dates_reversed", fields={"valid_until": "before_valid_from"})
    if data.valid_until < today:
        raise ValidationError("document_already_expired", fields={"valid_until": "past"})
    return number, issuer


@dataclass(frozen=True)
class CheckedFile:
    file_type: str  # pdf | jpeg | png
    data: bytes  # what is written: the PDF as sent, an image re-encoded (no metadata)


def _max_bytes() -> int:
    return int(current_app.config.get("PAPER_MAX_BYTES") or current_app.config.get("MAX_UPLOAD_BYTES", 5 << 20))


def check_document_file(upload) -> CheckedFile:
    """A document file by its content, never its name or content type: a PDF (header, end marker, no
    scripts, launch actions or embedded files) or a JPEG, PNG or HEIC photo or scan (a HEIC kept as JPEG; the photo checks of
    `catalog.images`, then re-encoded: metadata such as where a photo was taken is dropped)."""
    limit = _max_bytes()
    if upload is None:
        raise ValidationError("document_file_required", fields={"file": "required"})
    if isinstance(upload, (bytes, bytearray)):
        data = bytes(upload)
    else:
        data = getattr(upload, "stream", upload).read(limit + 1)
    if not data:
        raise ValidationError("document_file_required", fields={"file": "empty"})
    if len(data) > limit:
        raise ValidationError("document_file_too_large", mb=limit // (1 << 20) or 1, fields={"file": "too_large"})
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            raise ValidationError("document_file_type", fields={"file": "type"})
        if any(marker in data for marker in PDF_ACTIVE):
            raise ValidationError("document_pdf_active", fields={"file": "active_content"})
        return CheckedFile("pdf", data)
    try:
        checked = check_image(data, max_bytes=limit)
    except ImageRejected as exc:
        if exc.code in ("image_type", "invalid_image"):
            raise ValidationError("document_file_type", fields={"file": "type"}) from None
        raise
    if checked.source_format not in ("JPEG", "PNG", "HEIF"):  # a phone's HEIC photo is kept as a JPEG
        raise ValidationError("document_file_type", fields={"file": "type"})
    image = checked.image
    out = io.BytesIO()
    if checked.source_format == "PNG":
        image.save(out, "PNG", optimize=True)
        return CheckedFile("png", out.getvalue())
    image.convert("RGB").save(out, "JPEG", quality=88)
    return CheckedFile("jpeg", out.getvalue())


#: The long edge in px the page shrinks a photographed paper to when it is over the limit (or the pixel
#: budget): about 200 dpi across an A4 sheet, its small print still legible to the county's reviewer.
PAPER_SHRINK_EDGE = 2400


def paper_input_attrs() -> dict[str, str]:
    """A paper's file input: a photo of it over `PAPER_MAX_BYTES` (or the pixel budget) is shrunk on the
    page to PAPER_SHRINK_EDGE; a smaller one and any PDF go up as chosen (docs/uploads.md)."""
    limit = _max_bytes()
    return shrink_attrs(
        limit=limit,
        edge=PAPER_SHRINK_EDGE,
        always=False,
        quality=0.9,
        too_large=gettext(
            "证件文件超过 %(mb)s MB，无法上传：请换一个较小的 PDF，或直接给证件拍照上传。",
            mb=max(1, limit // (1024 * 1024)),
        ),
    )


def papers_dir() -> str:
    """Where document files live: PAPERS_DIR, else `papers` beside the public upload folder."""
    configured = current_app.config.get("PAPERS_DIR")
    if configured:
        return str(configured)
    return os.path.join(os.path.dirname(os.path.abspath(current_app.config["UPLOAD_DIR"])), "papers")


EXTENSIONS = {"pdf": "pdf", "jpeg": "jpg", "png": "png"}
MIMETYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}


def _store(product_id: int, checked: CheckedFile) -> str:
    rel = f"{product_id}/{secrets.token_hex(12)}.{EXTENSIONS[checked.file_type]}"
    path = os.path.join(papers_dir(), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(checked.data)
    return rel


def document_file_path(document: ProductDocument) -> str:
    return os.path.join(papers_dir(), document.file_path)


def upload_document(product: Product, data: DocumentInput, upload, *, actor, now: datetime) -> ProductDocument:
    """A new document for `product`, waiting for the county. Everything is checked before the file
    is written; nothing changes on a refusal. The caller checked that `actor` may manage the product."""
    number, issuer = _check_input(data, today=local_date(now))
    checked = check_document_file(upload)
    document = ProductDocument(
        product_id=product.id,
        kind=data.kind,
        number=number,
        issuer=issuer,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        file_path=_store(product.id, checked),
        file_type=checked.file_type,
        file_size=len(checked.data),
        status=DocumentStatus.PENDING,
        decision_note="",
        uploaded_by_id=getattr(actor, "id", None),
        uploaded_at=now,
    )
    db.session.add(document)
    db.session.flush()
    pagecache.mark_products(db.session, [product.id])  # "missing" becomes "pending" on its pages
    record_audit(
        actor=actor,
        action="document.upload",
        subject=document,
        detail={"product_id": product.id, "kind": data.kind, "number": number},
        now=now,
    )
    return document


def get_document(document_id: int, *, lock: bool = False) -> ProductDocument:
    query = sa.select(ProductDocument).where(ProductDocument.id == document_id)
    if lock:
        query = query.with_for_update()
    document = db.session.scalar(query)
    if document is None:
        raise NotFound("document_not_found")
    return document


def decide_document(
    document: ProductDocument, decision: str, *, actor, now: datetime, note: str = ""
) -> ProductDocument:
    """The county approves or rejects (with a reason) a pending document; audited. The same decision
    twice changes nothing; the other decision on a decided document is 409."""
    if decision not in ("approve", "reject"):
        raise ValidationError("document_decision_invalid", fields={"decision": "invalid"})
    note = (note or "").strip()
    if decision == "reject" and not note:
        raise ValidationError("document_reason_required", fields={"reason": "required"})
    if len(note) > NOTE_MAX:
        raise ValidationError("document_reason_too_long", fields={"reason": "too_long"})
    to = DocumentStatus.APPROVED if decision == "approve" else DocumentStatus.REJECTED
    if document.status == to:
        return document
    if document.status != DocumentStatus.PENDING:
        raise Conflict("document_already_decided")
    document.status = to
    document.decision_note = note
    document.decided_by_id = getattr(actor, "id", None)
    document.decided_at = now
    db.session.flush()
    pagecache.mark_products(db.session, [document.product_id])  # its pages say whether it sells
    record_audit(
        actor=actor,
        action=f"document.{decision}",
        subject=document,
        detail={"product_id": document.product_id, "kind": document.kind, "number": document.number, "note": note},
        now=now,
    )
    return document


def product_documents(product_id: int) -> list[ProductDocument]:
    """A product's documents, newest first."""
    return list(
        db.session.scalars(
            sa.select(ProductDocument)
            .where(ProductDocument.product_id == product_id)
            .order_by(ProductDocument.uploaded_at.desc(), ProductDocument.id.desc())
        )
    )


def documents_of_products(product_ids) -> dict[int, list[ProductDocument]]:
    """{product_id: its documents, newest first} in one SELECT (a station's papers page)."""
    ids = sorted({int(i) for i in product_ids})
    out: dict[int, list[ProductDocument]] = {i: [] for i in ids}
    if ids:
        for document in db.session.scalars(
            sa.select(ProductDocument)
            .where(ProductDocument.product_id.in_(ids))
            .order_by(ProductDocument.uploaded_at.desc(), ProductDocument.id.desc())
        ):
            out[document.product_id].append(document)
    return out


def may_read_document(user, document: ProductDocument) -> bool:
    """The product's station (its operators), the county office and admins read a document and its file."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role in ("county", "admin"):
        return True
    return user.role == "operator" and user.station_id == document.product.station_id


def pending_documents(limit: int = 500) -> list[ProductDocument]:
    return list(
        db.session.scalars(
            sa.select(ProductDocument)
            .where(ProductDocument.status == DocumentStatus.PENDING)
            .order_by(ProductDocument.uploaded_at, ProductDocument.id)
            .limit(limit)
        )
    )


def documents_by_status(status: str, limit: int = 500) -> list[ProductDocument]:
    """Decided documents, latest decision first."""
    return list(
        db.session.scalars(
            sa.select(ProductDocument)
            .where(ProductDocument.status == status)
            .order_by(ProductDocument.decided_at.desc(), ProductDocument.id.desc())
            .limit(limit)
        )
    )


def approved_documents(product_id: int, *, today: date) -> list[ProductDocument]:
    """The approved documents on file that are valid today (the trace page lists them)."""
    return [d for d in product_documents(product_id) if d.counts_on(today)]


#: Kinds whose issuer is an authority or a laboratory, shown on public pages. A 合格证 is issued by
#: the producer itself, possibly a household: its issuer is never public (the trace page names the
#: producer its own way: a cooperative, or "本村 N 户脱贫户").
PUBLIC_ISSUER_KINDS = (DocumentKind.PRODUCTION_LICENCE, DocumentKind.TEST_REPORT)


def public_issuer(document: ProductDocument) -> str:
    return document.issuer if document.kind in PUBLIC_ISSUER_KINDS else ""


def document_out(document: ProductDocument, *, file_url: str | None = None) -> dict[str, Any]:
    return dict(
        id=document.id,
        product_id=document.product_id,
        kind=document.kind,
        number=document.number,
        issuer=document.issuer,
        valid_from=document.valid_from,
        valid_until=document.valid_until,
        status=document.status,
        decision_note=document.decision_note or "",
        file_type=document.file_type,
        file_size=document.file_size,
        file_url=file_url,
        uploaded_at=document.uploaded_at,
        decided_at=document.decided_at,
    )


# --- expiry reminders ----------------------------------------------------------------------------


def reminder_thresholds() -> list[int]:
    """PAPER_REMINDER_DAYS, largest first (e.g. [30, 7, 1])."""
    days = current_app.config.get("PAPER_REMINDER_DAYS") or (30, 7, 1)
    return sorted({int(d) for d in days if int(d) >= 0}, reverse=True)


@dataclass(frozen=True)
class DueReminder:
    document_id: int
    threshold: int  # the smallest threshold newly reached
    days_left: int


def remind_expiring_papers(*, now: datetime) -> list[DueReminder]:
    """Queue a reminder to the station for every approved document `valid_until` at most N days away,
    once per document and threshold N (a `document_reminders` row, unique, written with the queued
    mail in this transaction). Several thresholds reached at once: one mail. Also gives the pages of
    products whose document expired since yesterday a new version (their 暂停销售 shows at once)."""
    today = local_date(now)
    thresholds = reminder_thresholds()
    due: list[DueReminder] = []
    if thresholds:
        horizon = today + timedelta(days=thresholds[0])
        documents = db.session.scalars(
            sa.select(ProductDocument)
            .where(
                ProductDocument.status == DocumentStatus.APPROVED,
                ProductDocument.valid_until >= today,
                ProductDocument.valid_until <= horizon,
            )
            .order_by(ProductDocument.id)
        ).all()
        sent = {
            (document_id, days)
            for document_id, days in db.session.execute(
                sa.select(DocumentReminder.document_id, DocumentReminder.days_before).where(
                    DocumentReminder.document_id.in_([d.id for d in documents])
                )
            )
        }
        for document in documents:
            days_left = (document.valid_until - today).days
            new = [t for t in thresholds if days_left <= t and (document.id, t) not in sent]
            if not new:
                continue
            for threshold in new:
                db.session.add(DocumentReminder(document_id=document.id, days_before=threshold, sent_at=now))
            reminder = DueReminder(document_id=document.id, threshold=min(new), days_left=days_left)
            enqueue_after_commit("catalog.tasks.send_paper_reminder", document.id, reminder.threshold, days_left)
            due.append(reminder)
        db.session.flush()
    expired = db.session.scalars(
        sa.select(ProductDocument.product_id).where(
            ProductDocument.status == DocumentStatus.APPROVED,
            ProductDocument.valid_until == today - timedelta(days=1),
        )
    ).all()
    if expired:
        pagecache.mark_products(db.session, expired)
    return due
