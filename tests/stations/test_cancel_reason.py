"""无法供货: the reason the buyer is told keeps its whole text or is refused with its limit named."""

from __future__ import annotations

import sqlalchemy as sa

from orders.models import LineStatus, Refund
from shop.db import commit
from shop.extensions import db as database
from tests.stations.factories import make_order


def test_a_cancel_reason_over_200_characters_is_refused_under_its_field_not_cut(
    client, world, auth, api_token, fake_stripe
):
    """A line's cancel reason of 201 characters used to be kept cut to 200 (and told to the buyer so):
    refused now, before the confirmation and after it, on the shipment's page with the limit named under
    the field, what was typed kept, nothing canceled (the API's cancel alike); 200 characters are kept whole."""
    shipment = make_order([(world.a.product, 1)]).shipments[0]
    line = shipment.lines[0]
    commit()
    headers = api_token(world.a.operator)
    r = client.post(
        f"/api/v1/shipments/{shipment.code}/transition",
        json={"action": "cancel", "reason": "缺" * 201},
        headers=headers,
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "cancel_reason_too_long", r.json
    auth.login(world.a.operator)
    url = f"/station/shipments/{shipment.code}"
    page = client.get(url).get_data(as_text=True)
    assert f'id="reason-{line.id}" name="reason" required maxlength="200"' in page and "最多 200 个字" in page
    long = "缺" * 201
    for confirm in ({}, {"confirm": "1"}):
        r = client.post(f"{url}/lines/{line.id}/cancel", data={"reason": long, **confirm})
        html = r.get_data(as_text=True)
        assert r.status_code == 422, r.status_code
        form = html.split(f'id="reason-{line.id}"', 1)[1].split("</form>", 1)[0]
        assert f'value="{long}"' in form
        assert "取消原因最多 200 个字，请删减后再提交</p>" in form
    database.session.expire_all()
    assert database.session.get(type(line), line.id).status == LineStatus.OPEN
    assert "At most 200 characters" in client.get(f"{url}?lang=en").get_data(as_text=True)
    r = client.post(f"{url}/lines/{line.id}/cancel", data={"reason": "缺" * 200, "confirm": "1"})
    assert r.status_code == 302
    database.session.expire_all()
    assert database.session.scalar(sa.select(Refund.reason)) == "缺" * 200
