"""A text's limit in the OpenAPI spec is the one the service refuses past: the bodies below published twice
their real limit (pydantic's bound on what is read), so a client keeping to the spec was refused with a 422 it
could not foresee. Each says the service's limit now, with the code of its refusal, as `HostCancelIn.reason`
and the invoice title do (tests/tourism/test_host_cancel_reason.py); the institutions' refusals name the
limit in the reader's language, and a text at the limit is taken."""

from __future__ import annotations

import pytest

from institutions.models import Organisation, Purchase
from shop.extensions import db as _db
from tests.factories import make_user
from tests.institutions.factories import add_member, make_organisation
from tests.institutions.purchase_setup import organisation_with_products, purchase_body, requested_day

#: (schema, property, the service's limit, the code of a longer text's 422)
LIMITS = [
    ("OrganisationDecisionIn", "reason", 400, "reason_too_long"),
    ("RejectIn", "reason", 400, "purchase_return_reason_too_long"),
    ("QuoteRequestIn", "note", 200, "note_too_long"),
    ("QuoteAnswerIn", "note", 200, "note_too_long"),
    ("QuoteDeclineIn", "reason", 200, "note_too_long"),
    ("PurchaseDraftIn", "note", 200, "note_too_long"),
    ("ReviewIn", "body", 500, "review_too_long"),
    ("ReplyIn", "body", 300, "review_too_long"),
    ("HideIn", "reason", 200, "review_too_long"),
]


@pytest.mark.parametrize(("schema", "name", "limit", "code"), LIMITS)
def test_the_spec_says_the_limit_the_service_refuses_past(client, schema, name, limit, code):
    prop = client.get("/api/v1/openapi.json").json["components"]["schemas"][schema]["properties"][name]
    assert prop["maxLength"] == limit, prop
    assert f"at most {limit} characters" in prop["description"] and f"`{code}`" in prop["description"], prop


def test_an_organisations_rejection_reason_past_400_is_refused_naming_the_limit(client, db, api_token):
    county = make_user(role="county")
    organisation = make_organisation(status="pending")
    add_member(organisation, make_user(), role="approver", is_manager=True)
    db.session.commit()
    url, headers = f"/api/v1/organisations/{organisation.id}/reject", api_token(county)
    for text, lang, said in (("缺" * 401, "zh_CN", "原因最多 400 字"), ("a" * 700, "en", "400")):
        r = client.post(f"{url}?lang={lang}", json={"reason": text}, headers=headers)
        assert r.status_code == 422 and r.json["error"]["code"] == "reason_too_long", r.json
        assert r.json["error"]["fields"] == {"reason": "too_long"} and said in r.json["error"]["message"], r.json
    _db.session.expire_all()
    assert _db.session.get(Organisation, organisation.id).status == "pending"
    done = client.post(url, json={"reason": " " + "缺" * 400 + "  "}, headers=headers)
    assert done.status_code == 200 and done.json["decision_reason"] == "缺" * 400, done.json


def test_a_purchase_returned_with_a_reason_past_400_is_refused_naming_the_limit(client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    b, a = api_token(buyer), api_token(approver)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    url = f"/api/v1/purchases/{purchase_id}/reject"
    for text, lang, said in (("改" * 401, "zh_CN", "退回原因最多 400 字"), ("a" * 700, "en", "400")):
        r = client.post(f"{url}?lang={lang}", json={"reason": text}, headers=a)
        assert r.status_code == 422 and r.json["error"]["code"] == "purchase_return_reason_too_long", r.json
        assert r.json["error"]["fields"] == {"reason": "too_long"} and said in r.json["error"]["message"], r.json
    blank = client.post(url, json={"reason": "  "}, headers=a)
    assert blank.status_code == 422 and blank.json["error"]["code"] == "purchase_return_reason_required"
    _db.session.expire_all()
    assert _db.session.get(Purchase, purchase_id).status == "submitted"
    done = client.post(url, json={"reason": "改" * 400}, headers=a)
    assert done.status_code == 200 and done.json["status"] == "rejected", done.json


def test_a_quote_requests_note_past_200_is_refused_naming_the_limit(client, db, api_token):
    organisation, buyer, _approver, _viewer, rice, _eggs = organisation_with_products()
    b = api_token(buyer)
    body = {"organisation_id": organisation.id, "product_id": rice.id, "quantity": 8, "needed_by": requested_day(9)}
    for text, lang, said in (("米" * 201, "zh_CN", "备注最多 200 字"), ("a" * 350, "en", "200")):
        r = client.post(f"/api/v1/quote-requests?lang={lang}", json={**body, "note": text}, headers=b)
        assert r.status_code == 422 and r.json["error"]["code"] == "note_too_long", r.json
        assert r.json["error"]["fields"] == {"note": "too_long"} and said in r.json["error"]["message"], r.json
    done = client.post("/api/v1/quote-requests", json={**body, "note": "米" * 200}, headers=b)
    assert done.status_code == 201 and done.json["note"] == "米" * 200, done.json
