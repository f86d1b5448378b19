"""After the station rejects a refund request the buyer may ask again, with a new reason, at most
`MAX_REQUESTS_PER_LINE` times a line and never while one is open: the order page and the JSON API
alike (`orders.services.refunds.refund_request_refusal`, docs/traceability.md "Asking, and asking again")."""

from __future__ import annotations

import re

import sqlalchemy as sa

from orders.models import RefundRequest
from orders.services.refunds import MAX_REQUESTS_PER_LINE, reject_refund_request
from shop.db import commit
from tests.factories import make_user
from tests.stations.refund_setup import delivered


def _requests(db, line_id):
    db.session.expire_all()
    query = sa.select(RefundRequest).where(RefundRequest.order_line_id == line_id).order_by(RefundRequest.id)
    return list(db.session.scalars(query))


def _reject_latest(db, world, line_id, now, note):
    reject_refund_request(_requests(db, line_id)[-1].id, actor=world.a.operator, now=now, note=note)
    commit()


def _refund_forms(page: str) -> list[str]:
    return re.findall(r'<form method="post" action="(/orders/[^"]+/refund)"', page)


def test_after_a_rejection_the_order_page_offers_to_ask_again_with_a_new_reason(db, world, now, client, auth):
    order = delivered(world, now)
    line = order.lines[0]
    url = f"/orders/{order.code}/lines/{line.id}/refund"
    auth.login(world.buyer)
    assert client.post(url, data={"kind": "refund_only", "reason": "蛋壳碎了"}).status_code == 303
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert _refund_forms(page) == [], "not while the request waits for the station"
    assert (
        client.post(url, data={"kind": "refund_only", "reason": "又一个理由"}, follow_redirects=True).status_code == 200
    )
    assert len(_requests(db, line.id)) == 1

    _reject_latest(db, world, line.id, now, note="请提供破损照片")
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "处理说明：请提供破损照片" in page and "退款原因：蛋壳碎了" in page
    assert _refund_forms(page) == [url] and "再次申请退款" in page
    assert f"这件商品还可申请 {MAX_REQUESTS_PER_LINE - 1} 次" in page

    # the same reason again is refused, nothing asked
    same = client.post(url, data={"kind": "refund_only", "reason": " 蛋壳碎了 "}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "这个理由已经申请过了" in same and len(_requests(db, line.id)) == 1
    # a new one is taken, and the page shows both
    assert client.post(url, data={"kind": "refund_only", "reason": "两个蛋碎了，照片已发给站点"}).status_code == 303
    asked = _requests(db, line.id)
    assert [(r.status, r.reason) for r in asked] == [
        ("rejected", "蛋壳碎了"),
        ("requested", "两个蛋碎了，照片已发给站点"),
    ]
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "退款原因：两个蛋碎了，照片已发给站点" in page and _refund_forms(page) == []


def test_a_line_is_asked_for_at_most_three_times(db, world, now, client, auth, api_token):
    order = delivered(world, now)
    line = order.lines[0]
    url = f"/orders/{order.code}/lines/{line.id}/refund"
    bearer = api_token(world.buyer)  # before signing in: a signed-in session's POSTs need the page's token
    auth.login(world.buyer)
    for n in range(MAX_REQUESTS_PER_LINE):
        assert client.post(url, data={"kind": "refund_only", "reason": f"第 {n + 1} 次的理由"}).status_code == 303
        _reject_latest(db, world, line.id, now, note="不同意")
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert _refund_forms(page) == []
    assert f"这件商品已申请过 {MAX_REQUESTS_PER_LINE} 次退款，不能再在线申请" in page
    refused = client.post(url, data={"kind": "refund_only", "reason": "第四次"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "不能再在线申请" in refused
    answer = client.post(
        f"/api/v1/orders/{order.code}/lines/{line.id}/refund-request",
        json={"kind": "refund_only", "reason": "第四次"},
        headers=bearer,
    )
    assert answer.status_code == 409 and answer.json["error"]["code"] == "refund_requests_exhausted"
    assert len(_requests(db, line.id)) == MAX_REQUESTS_PER_LINE


def test_the_api_shows_and_takes_requests_under_the_same_rule(db, world, now, client, api_token):
    order = delivered(world, now)
    line = order.lines[0]
    bearer = api_token(world.buyer)
    ask = f"/api/v1/orders/{order.code}/lines/{line.id}/refund-request"
    shown = client.get(f"/api/v1/orders/{order.code}/refund-requests", headers=bearer).json["lines"]
    assert shown == [
        {
            "line_id": line.id,
            "title": line.title,
            "quantity": line.quantity,
            "refunded_quantity": 0,
            "units_left": line.quantity,
            "requests": [],
            "can_request": True,
            "refusal": None,
            "requests_left": MAX_REQUESTS_PER_LINE,
        }
    ]
    first = client.post(ask, json={"kind": "refund_only", "reason": "蛋壳碎了"}, headers=bearer)
    assert first.status_code == 201 and first.json["status"] == "requested" and first.json["reason"] == "蛋壳碎了"
    again = client.post(ask, json={"kind": "refund_only", "reason": "再说一次"}, headers=bearer)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_requested"

    _reject_latest(db, world, line.id, now, note="请提供照片")
    [shown] = client.get(f"/api/v1/orders/{order.code}/refund-requests", headers=bearer).json["lines"]
    assert shown["can_request"] is True and shown["requests_left"] == MAX_REQUESTS_PER_LINE - 1
    assert [(r["status"], r["note"]) for r in shown["requests"]] == [("rejected", "请提供照片")]
    same = client.post(ask, json={"kind": "refund_only", "reason": "蛋壳碎了"}, headers=bearer)
    assert same.status_code == 422 and same.json["error"]["code"] == "refund_reason_unchanged"
    second = client.post(ask, json={"kind": "refund_only", "reason": "照片已发给站点"}, headers=bearer)
    assert second.status_code == 201
    [shown] = client.get(f"/api/v1/orders/{order.code}/refund-requests", headers=bearer).json["lines"]
    assert (shown["can_request"], shown["refusal"]) == (False, "already_requested")


def test_the_api_refuses_bad_refund_requests_clearly_and_changes_nothing(db, world, now, client, api_token):
    """Another buyer's order, a line of another order, an id past any row, a reason of the wrong type or
    too long: a clear error, never a 500, and no request is written."""
    order = delivered(world, now)
    other = delivered(world, now)
    line = order.lines[0]
    bearer = api_token(world.buyer)
    base = f"/api/v1/orders/{order.code}/lines"
    cases = [
        (f"{base}/{other.lines[0].id}/refund-request", {"kind": "refund_only", "reason": "x"}, bearer, 404),
        (f"{base}/{2**63}/refund-request", {"kind": "refund_only", "reason": "x"}, bearer, 404),
        (f"{base}/{line.id}/refund-request", {"kind": "refund_only", "reason": 5}, bearer, 422),
        (f"{base}/{line.id}/refund-request", {"kind": "refund_only", "reason": "长" * 201}, bearer, 422),
        (f"{base}/{line.id}/refund-request", {"kind": "refund_only", "reason": "x"}, api_token(make_user()), 404),
    ]
    for url, body, headers, status in cases:
        res = client.post(url, json=body, headers=headers)
        assert res.status_code == status, (url, body, res.status_code, res.get_data(as_text=True)[:200])
        assert "error" in res.json
    assert _requests(db, line.id) == [] and _requests(db, other.lines[0].id) == []


def test_an_over_long_reason_is_refused_whole_never_cut_short(db, world, now, client, auth):
    """A reason past the field's 200 characters (a client that ignores `maxlength`) is refused with
    what to do, nothing asked; it was once cut to 200 characters and filed as if the buyer wrote that."""
    order = delivered(world, now)
    line = order.lines[0]
    auth.login(world.buyer)
    url = f"/orders/{order.code}/lines/{line.id}/refund"
    page = client.post(url, data={"kind": "refund_only", "reason": "坏" * 201}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "退款原因最多 200 个字" in page and _requests(db, line.id) == []
    assert client.post(url, data={"kind": "refund_only", "reason": "坏" * 200}).status_code == 303
    assert [r.reason for r in _requests(db, line.id)] == ["坏" * 200]


def test_a_refused_reason_comes_back_in_its_open_form_as_typed(db, world, now, client, auth):
    """A reason refused (given before, too long, blank) answers with the order page, that line's refund
    form open and holding what the buyer typed (it went back to the order page with the form shut and
    the text gone, to be typed again from nothing)."""
    order = delivered(world, now)
    line = order.lines[0]
    auth.login(world.buyer)
    url = f"/orders/{order.code}/lines/{line.id}/refund"
    assert client.post(url, data={"kind": "refund_only", "reason": "蛋壳碎了"}).status_code == 303
    _reject_latest(db, world, line.id, now, note="请提供破损照片")
    typed = "蛋壳碎了"  # the same reason again
    r = client.post(url, data={"kind": "refund_only", "reason": typed})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "这个理由已经申请过了" in page
    assert re.search(r'<details class="refund-ask" open>', page)
    assert f'name="reason" maxlength="200" required>{typed}</textarea>' in page
    long = "坏" * 201
    page = client.post(url, data={"kind": "refund_only", "reason": long}).get_data(as_text=True)
    assert "退款原因最多 200 个字" in page and f"required>{long}</textarea>" in page
    assert len(_requests(db, line.id)) == 1
