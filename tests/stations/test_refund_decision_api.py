"""The station's refund decisions through the JSON API (`POST /api/v1/stations/refund-requests/{id}/decision`):
the same service and checks as its refund page — approve saying what became of the goods, or reject;
another station's request is a 404, a bad choice or quantity a 422, a second decision a 409."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orders.models import Refund, RefundRequest
from stock.models import Lot, LotStatus, StockMovement
from stock.services import block_lot
from tests.sql_count import count_statements
from tests.stations.refund_setup import (
    assert_stock_reconciles,
    delivered_and_asked,
    lot_figures,
    return_movements,
    stock_numbers,
)


def _decide(client, headers, req, **body):
    return client.post(f"/api/v1/stations/refund-requests/{req.id}/decision", headers=headers, json=body)


def _untouched(db, req, record_id, before, lots_before):
    db.session.expire_all()
    assert db.session.get(RefundRequest, req.id).status == "requested"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0
    assert stock_numbers(db, record_id) == before and lot_figures(db, record_id) == lots_before


def test_approving_with_goods_restocked_refunds_and_puts_the_units_back(db, world, now, client, api_token):
    order, req = delivered_and_asked(world, now, quantity=3)
    record_id = world.a.product.stock.id
    before = stock_numbers(db, record_id)
    headers = api_token(world.a.operator)
    waiting = client.get("/api/v1/stations/refund-requests", headers=headers)
    assert waiting.status_code == 200
    assert [(r["id"], r["order_id"], r["quantity"], r["status"]) for r in waiting.json["items"]] == [
        (req.id, order.code, 3, "requested")
    ]

    res = _decide(client, headers, req, decision="approve", goods="restocked", quantity=2, note="原样退回")
    assert res.status_code == 200, res.json
    body = res.json
    assert (body["status"], body["goods"], body["restocked_quantity"], body["blocked_quantity"]) == (
        "approved",
        "restocked",
        2,
        0,
    )
    assert body["order_id"] == order.code and body["shipment_id"] == order.shipments[0].code
    assert body["refund_fen"] == order.lines[0].line_total_fen and body["cash_refund"] is False
    assert body["note"] == "原样退回" and body["decided_at"] is not None
    assert stock_numbers(db, record_id) == (before[0] + 2, before[1] + 2)
    assert [(m.kind, m.quantity) for m in return_movements(db, req.id)] == [("return", 2)]
    assert_stock_reconciles(db, record_id)
    assert client.get("/api/v1/stations/refund-requests", headers=headers).json["items"] == []
    decided = client.get("/api/v1/stations/refund-requests?status=decided", headers=headers).json["items"]
    assert [(r["id"], r["goods"], r["restocked_quantity"]) for r in decided] == [(req.id, "restocked", 2)]
    # the station's page says the same
    assert "货品已退回、可再售 · 2 盒 退回库存" in _page(client, world.a.operator, "/refund-requests")


def _page(client, user, path):
    client.post("/login", data={"email": user.email, "password": "password123"})
    return client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("goods", ["not_returned", "returned_unsellable"])
def test_approving_goods_not_restocked_leaves_the_stock_alone(db, world, now, client, api_token, goods):
    order, req = delivered_and_asked(world, now)
    record_id = world.a.product.stock.id
    before, lots_before = stock_numbers(db, record_id), lot_figures(db, record_id)
    res = _decide(client, api_token(world.a.operator), req, decision="approve", goods=goods)
    assert res.status_code == 200, res.json
    assert (res.json["goods"], res.json["restocked_quantity"]) == (goods, None)
    req = db.session.get(RefundRequest, req.id)
    assert (req.status, req.goods) == ("approved", goods) and req.refund_id is not None
    assert stock_numbers(db, record_id) == before and lot_figures(db, record_id) == lots_before


def test_a_blank_quantity_restocks_the_whole_line(db, world, now, client, api_token):
    order, req = delivered_and_asked(world, now, quantity=3)
    record_id = world.a.product.stock.id
    before = stock_numbers(db, record_id)
    res = _decide(client, api_token(world.a.operator), req, decision="approve", goods="restocked")
    assert res.status_code == 200 and res.json["restocked_quantity"] == 3
    assert stock_numbers(db, record_id) == (before[0] + 3, before[1] + 3)


def test_rejecting_keeps_the_note_and_changes_no_money_or_stock(db, world, now, client, api_token):
    order, req = delivered_and_asked(world, now)
    record_id = world.a.product.stock.id
    before, lots_before = stock_numbers(db, record_id), lot_figures(db, record_id)
    res = _decide(client, api_token(world.a.operator), req, decision="reject", note="商品完好，超过退货期")
    assert res.status_code == 200, res.json
    assert (res.json["status"], res.json["note"], res.json["goods"], res.json["refund_fen"]) == (
        "rejected",
        "商品完好，超过退货期",
        None,
        None,
    )
    assert db.session.get(RefundRequest, req.id).status == "rejected"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0
    assert stock_numbers(db, record_id) == before and lot_figures(db, record_id) == lots_before


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"decision": "approve"}, "refund_goods_required", "goods"),
        ({"decision": "approve", "goods": "lost"}, "validation_error", "goods"),
        ({"decision": "approve", "goods": "restocked", "quantity": 4}, "invalid_restock_quantity", "quantity"),
        ({"decision": "approve", "goods": "restocked", "quantity": 0}, "validation_error", "quantity"),
        ({"decision": "approve", "goods": "restocked", "quantity": "2"}, "validation_error", "quantity"),
        ({"decision": "approve", "goods": "restocked", "quantity": 1.5}, "validation_error", "quantity"),
        ({"decision": "approve", "goods": "not_returned", "quantity": 1}, "validation_error", "quantity"),
        ({"decision": "reject", "goods": "restocked"}, "validation_error", "goods"),
        ({"decision": "maybe"}, "validation_error", "decision"),
        ({"goods": "restocked"}, "validation_error", "decision"),
        ({"decision": "reject", "note": "x" * 201}, "validation_error", "note"),
    ],
)
def test_a_bad_outcome_or_quantity_is_a_422_and_changes_nothing(db, world, now, client, api_token, body, code, field):
    order, req = delivered_and_asked(world, now, quantity=3)
    record_id = world.a.product.stock.id
    before, lots_before = stock_numbers(db, record_id), lot_figures(db, record_id)
    res = _decide(client, api_token(world.a.operator), req, **body)
    assert res.status_code == 422, res.json
    assert res.json["error"]["code"] == code and field in res.json["error"]["fields"]
    _untouched(db, req, record_id, before, lots_before)


def test_another_stations_request_is_a_404_and_consumers_are_refused(db, world, now, client, api_token):
    order, req = delivered_and_asked(world, now)
    record_id = world.a.product.stock.id
    before, lots_before = stock_numbers(db, record_id), lot_figures(db, record_id)
    other = api_token(world.b.operator)
    for body in ({"decision": "approve", "goods": "restocked", "quantity": 1}, {"decision": "reject"}):
        res = _decide(client, other, req, **body)
        assert res.status_code == 404 and res.json["error"]["code"] == "refund_request_not_found"
    assert client.get("/api/v1/stations/refund-requests", headers=other).json["items"] == []
    missing = client.post(
        "/api/v1/stations/refund-requests/999999/decision", headers=other, json={"decision": "reject"}
    )
    assert missing.status_code == 404 and missing.json["error"]["code"] == "refund_request_not_found"
    assert _decide(client, api_token(world.buyer), req, decision="reject").status_code == 403
    assert _decide(client, {}, req, decision="reject").status_code == 401
    _untouched(db, req, record_id, before, lots_before)
    # an admin decides any station's request
    assert _decide(client, api_token(world.admin), req, decision="reject", note="无质量问题").status_code == 200


def test_a_second_decision_is_a_409_and_changes_nothing(db, world, now, client, api_token):
    order, req = delivered_and_asked(world, now)
    record_id = world.a.product.stock.id
    headers = api_token(world.a.operator)
    assert _decide(client, headers, req, decision="approve", goods="restocked", quantity=2).status_code == 200
    after = stock_numbers(db, record_id)
    for body in ({"decision": "approve", "goods": "restocked", "quantity": 2}, {"decision": "reject"}):
        res = _decide(client, headers, req, **body)
        assert res.status_code == 409 and res.json["error"]["code"] == "refund_request_decided"
    assert stock_numbers(db, record_id) == after and len(return_movements(db, req.id)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 1
    assert db.session.get(RefundRequest, req.id).status == "approved"


def test_units_restocked_into_a_recalled_lot_are_blocked_and_said(db, world, now, client, api_token):
    order, req = delivered_and_asked(world, now, quantity=3)
    record_id = world.a.product.stock.id
    lot = db.session.scalar(sa.select(Lot).where(Lot.stock_record_id == record_id))
    block_lot(lot, LotStatus.RECALLED, now=now, actor=world.admin, reason="检出超标")
    before = stock_numbers(db, record_id)
    res = _decide(client, api_token(world.a.operator), req, decision="approve", goods="restocked", quantity=2)
    assert res.status_code == 200 and (res.json["restocked_quantity"], res.json["blocked_quantity"]) == (2, 2)
    assert stock_numbers(db, record_id) == before  # nothing sellable came back
    kinds = [
        m.kind
        for m in db.session.scalars(
            sa.select(StockMovement).where(StockMovement.lot_id == lot.id).order_by(StockMovement.id.desc()).limit(2)
        )
    ]
    assert kinds == ["block", "return"]
    assert_stock_reconciles(db, record_id)


def test_the_spec_documents_the_decision(client, db):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    op = paths["/api/v1/stations/refund-requests/{req_id}/decision"]["post"]
    assert {"401", "403", "404", "409", "422"} <= set(op["responses"])
    assert "get" in paths["/api/v1/stations/refund-requests"]


@pytest.mark.parametrize("status", ["requested", "decided"])
def test_the_list_reads_its_requests_in_statements_that_do_not_grow_with_them(
    db, world, now, client, api_token, status
):
    """The list's statements are as many for three requests as for one: what each shows (its order, line,
    shipment, refund) is loaded with the requests, not one request at a time."""
    headers = api_token(world.a.operator)

    def statements_for_list() -> tuple[int, int]:
        db.session.expire_all()
        with count_statements() as statements:
            res = client.get(f"/api/v1/stations/refund-requests?status={status}", headers=headers)
        assert res.status_code == 200
        return len(res.json["items"]), len(statements)

    counts = []
    for _ in range(3):
        _order, req = delivered_and_asked(world, now, quantity=1)
        if status == "decided":
            assert _decide(client, headers, req, decision="approve", goods="not_returned").status_code == 200
        counts.append(statements_for_list())
    assert [n for n, _ in counts] == [1, 2, 3]
    assert counts[0][1] == counts[2][1], counts
