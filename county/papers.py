"""The county office's review of food-safety papers (#23, catalog.papers; docs/papers.md).

HTML: GET /county/papers (pending documents, then the latest decisions) and
POST /county/papers/<id>/<approve|reject> (a confirmation step first, shop.confirm).
API:  GET /county/documents?status=, POST /county/documents/<id>/decision {decision, reason}.
Each decision is audited (`document.approve` / `document.reject`) and final.
"""

from __future__ import annotations

from typing import Literal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from catalog.papers import (
    FOOD_CLASS_LABELS,
    STATUS_LABELS,
    decide_document,
    documents_by_status,
    get_document,
    kind_label,
    pending_documents,
)
from county.views import bp, county_only
from shop.api import QuerySchema, Schema, api_user, endpoint, ok
from shop.confirm import ask_first
from shop.db import commit, rollback
from shop.errors import DomainError
from shop.timeutil import now_utc
from stations.papers_api import DocumentOut, document_json

COUNTY = ("county",)


class DocumentQuery(QuerySchema):
    status: Literal["pending", "approved", "rejected"] = "pending"


class DocumentList(BaseModel):
    items: list[DocumentOut]


class PaperDecisionBody(Schema):
    decision: Literal["approve", "reject"]
    #: Required to reject (the station reads it); an optional note when approving.
    reason: str = Field(default="", max_length=255)


def _listed(status: str):
    return pending_documents() if status == "pending" else documents_by_status(status)


@endpoint("/county/documents", query=DocumentQuery, response=DocumentList, roles=COUNTY, tags=("county",))
def county_documents(query: DocumentQuery):
    """Food-safety documents by status (pending by default, oldest first; decided ones latest first)."""
    return ok({"items": [document_json(d) for d in _listed(query.status)]})


@endpoint(
    "/county/documents/<int:document_id>/decision",
    methods=("POST",),
    body=PaperDecisionBody,
    response=DocumentOut,
    roles=COUNTY,
    tags=("county",),
    errors=(403, 404),
)
def decide_product_document(document_id: int, body: PaperDecisionBody):
    """Approve or reject (with a reason) a pending document; audited. The same decision twice changes
    nothing; the other decision on a decided document is 409 document_already_decided."""
    document = get_document(document_id, lock=True)
    decide_document(document, body.decision, actor=api_user(), now=now_utc(), note=body.reason)
    commit()
    return ok(document_json(document))


@bp.get("/papers")
@county_only
def papers_index():
    return render_template(
        "county/papers.html",
        pending=pending_documents(),
        approved=documents_by_status("approved", limit=50),
        rejected=documents_by_status("rejected", limit=50),
        status_labels=STATUS_LABELS,
        food_class_labels=FOOD_CLASS_LABELS,
    )


@bp.post("/papers/<int:document_id>/<decision>")
@county_only
def papers_decide(document_id: int, decision: str):
    if decision not in ("approve", "reject"):
        abort(404)
    document = get_document(document_id, lock=True)
    reason = request.form.get("reason", "")
    # a return without its reason gets the service's own message, not a question
    if decision == "approve" or reason.strip():
        what = dict(name=document.product.name, kind=kind_label(document.kind), number=document.number)
        question = (
            _("确认通过「%(name)s」的%(kind)s（%(number)s）？通过后即计入可售条件。", **what)
            if decision == "approve"
            else _("确认退回「%(name)s」的%(kind)s（%(number)s）？", **what)
        )
        page = ask_first(question, back=url_for("county.papers_index"))
        if page is not None:
            return page
    try:
        decide_document(document, decision, actor=current_user, now=now_utc(), note=reason)
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(url_for("county.papers_index"))
    commit()
    flash(_("证件已通过") if decision == "approve" else _("证件已退回"), "success")
    return redirect(url_for("county.papers_index"))
