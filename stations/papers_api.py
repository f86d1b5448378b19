"""JSON API of food-safety papers (#23, catalog.papers; docs/papers.md), added to shop.api's blueprint.

- GET  /products/<id>/documents      the product's documents and what it lacks (its station's
                                      operators, the county office, admins)
- POST /products/<id>/documents      multipart: kind, number, issuer, valid_from, valid_until, file
                                      (PDF, JPEG or PNG); waits for the county (its station's operators)
- GET  /documents/<id>/file          the document's file (who may read the document)

The county office's review (`GET /county/documents`, `POST /county/documents/<id>/decision`) is in
`county/papers.py`.
"""

from __future__ import annotations

import datetime as dt
import os
from datetime import datetime
from typing import Literal

from flask import request, send_file, url_for
from pydantic import BaseModel, Field

from catalog.models import Product
from catalog.papers import (
    MIMETYPES,
    DocumentInput,
    document_file_path,
    document_out,
    documents_of_products,
    get_document,
    may_read_document,
    paper_gaps,
    upload_document,
)
from shop.api import Schema, api_user, endpoint, ok
from shop.args import ApiDate
from shop.auth.models import Role
from shop.db import commit
from shop.errors import NotFound, ValidationError
from shop.extensions import db
from shop.timeutil import local_date, now_utc
from stations.services import assisted

Kind = Literal["compliance_certificate", "production_licence", "test_report"]


class DocumentOut(BaseModel):
    id: int
    product_id: int
    kind: Kind
    number: str
    issuer: str
    valid_from: dt.date
    valid_until: dt.date
    status: Literal["pending", "approved", "rejected"]
    decision_note: str
    file_type: Literal["pdf", "jpeg", "png"]
    file_size: int
    file_url: str
    uploaded_at: datetime
    decided_at: datetime | None


class GapOut(BaseModel):
    kind: Kind
    reason: Literal["missing", "pending", "expired", "not_yet_valid"]
    message: str


class ProductDocumentsOut(BaseModel):
    product_id: int
    food_class: Literal["farm", "processed", "non_food"]
    sellable: bool = Field(description="Its papers allow the sale today (stock and certification aside).")
    gaps: list[GapOut]
    items: list[DocumentOut]


class DocumentBody(Schema):
    """The form fields of a document upload (the file is the `file` part)."""

    kind: Kind
    #: A production licence: "SC" followed by 14 digits (spaces ignored), else 422 sc_number_invalid.
    number: str = Field(min_length=1, max_length=60)
    issuer: str = Field(min_length=1, max_length=80)
    valid_from: ApiDate
    #: Not before valid_from (422 document_dates_reversed) and not already past (document_already_expired).
    valid_until: ApiDate


def document_json(document) -> dict:
    return DocumentOut.model_validate(
        document_out(document, file_url=url_for("api.document_file", document_id=document.id))
    ).model_dump(mode="json")


def _product_for_reader(product_id: int):
    """The product, for its station's operators (404 for another station's) or the county office."""
    user = api_user()
    if user.role in (Role.COUNTY, Role.ADMIN):
        product = db.session.get(Product, product_id)
        if product is None:
            raise NotFound("station_product_not_found")
        return product
    return assisted.get_product_for(user, product_id)


def _product_documents(product) -> dict:
    gaps = paper_gaps([product.id], today=local_date(now_utc()))[product.id]
    return ProductDocumentsOut.model_validate(
        dict(
            product_id=product.id,
            food_class=product.category.food_class,
            sellable=not gaps,
            gaps=[dict(kind=g.kind, reason=g.reason, message=g.message) for g in gaps],
            items=[document_json(d) for d in documents_of_products([product.id])[product.id]],
        )
    ).model_dump(mode="json")


@endpoint(
    "/products/<int:product_id>/documents",
    response=ProductDocumentsOut,
    roles=(Role.OPERATOR, Role.COUNTY),
    tags=("stations",),
    errors=(403, 404),
)
def product_documents(product_id: int):
    """A product's food-safety documents and what it lacks to be sold (its station or the county office)."""
    return ok(_product_documents(_product_for_reader(product_id)))


@endpoint(
    "/products/<int:product_id>/documents",
    methods=("POST",),
    body=DocumentBody,
    upload="file",
    response=DocumentOut,
    status=201,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404),
    load=assisted.get_product_for,  # another station's product: 404 before its form is read
)
def upload_product_document(product_id: int, body: DocumentBody, loaded):
    """Upload a food-safety document for one of the station's products (PDF, JPEG or PNG, checked by
    content): it waits for the county office. Bad input is 422 and nothing is stored."""
    user, product = api_user(), loaded
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError("document_file_required", fields={"file": "required"})
    document = upload_document(
        product,
        DocumentInput(
            kind=body.kind,
            number=body.number,
            issuer=body.issuer,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
        ),
        upload,
        actor=user,
        now=now_utc(),
    )
    commit()
    return ok(document_json(document), 201)


@endpoint(
    "/documents/<int:document_id>/file",
    roles=(Role.OPERATOR, Role.COUNTY),
    tags=("stations",),
    errors=(403, 404),
    produces="application/octet-stream",
)
def document_file(document_id: int):
    """The document's file (PDF as an attachment, an image inline): its station, the county office."""
    document = get_document(document_id)
    if not may_read_document(api_user(), document):
        raise NotFound("document_not_found")
    if not os.path.isfile(document_file_path(document)):
        raise NotFound("document_not_found")
    response = send_file(
        document_file_path(document),
        mimetype=MIMETYPES[document.file_type],
        as_attachment=document.file_type == "pdf",
        download_name=f"document-{document.id}.{document.file_path.rsplit('.', 1)[-1]}",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
