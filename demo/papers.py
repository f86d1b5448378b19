"""Demo food-safety papers (#23): every demo product gets the documents its category needs
(catalog/papers.py), uploaded through the station's service and approved by the county's, valid
for a year, so the demo shop sells. The files are one-page PDFs saying they are demo documents."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from catalog.models import Category, Product, Village
from catalog.papers import (
    DocumentInput,
    DocumentKind,
    ProductDocument,
    decide_document,
    required_kinds,
    upload_document,
)
from shop.extensions import db
from shop.timeutil import local_date

ISSUERS = {
    DocumentKind.COMPLIANCE_CERTIFICATE: "{producer}",
    DocumentKind.PRODUCTION_LICENCE: "南昌县市场监督管理局",
    DocumentKind.TEST_REPORT: "南昌县农产品质量安全检测站",
}


def demo_pdf(title: str) -> bytes:
    """A valid one-page PDF showing `title` (ASCII) in Helvetica."""
    text = title.replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 18 Tf 60 760 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _number(kind: str, product_id: int) -> str:
    if kind == DocumentKind.PRODUCTION_LICENCE:
        return f"SC{11236012100000 + product_id:014d}"
    if kind == DocumentKind.TEST_REPORT:
        return f"NCJC-2026-{product_id:04d}"
    return f"HGZ-360121-{product_id:05d}"


def seed_demo_papers(*, now: datetime) -> int:
    """Give each demo product without documents the approved documents it needs; returns how many."""
    today = local_date(now)
    done = 0
    rows = db.session.execute(
        sa.select(Product, Category.food_class)
        .join(Category, Category.id == Product.category_id)
        .join(Village, Village.id == Product.village_id)
        .where(Village.is_demo.is_(True))
        .where(~sa.select(ProductDocument.id).where(ProductDocument.product_id == Product.id).exists())
        .order_by(Product.id)
    ).all()
    for product, food_class in rows:
        producer = product.producer.name if product.producer is not None else product.village.name
        for kind in required_kinds(food_class):
            document = upload_document(
                product,
                DocumentInput(
                    kind=kind,
                    number=_number(kind, product.id),
                    issuer=ISSUERS[DocumentKind(kind)].format(producer=producer)[:80],
                    valid_from=today - timedelta(days=60),
                    valid_until=today + timedelta(days=365),
                ),
                demo_pdf(f"Village e-Line demo document {kind} {_number(kind, product.id)}"),
                actor=None,
                now=now,
            )
            decide_document(document, "approve", actor=None, now=now)
            done += 1
    return done
