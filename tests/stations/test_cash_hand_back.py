"""Cash refunds owed at the counter (待退还) enter the station's cash book when an operator hands them back.

A buyer cancelled online an order paid ahead in cash at the counter (到站点付款): the refund was written
into the book at once under the buyer's name, while the cash was still in the till — the 日结 came out
short by it, the 按操作员汇总 listed the buyer as an operator and nothing told the desk to hand cash back.
"""

from __future__ import annotations

from orders.models import PaymentState, Refund
from orders.services.pickup import collector_name
from shop.db import commit
from shop.money import format_yuan
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.factories import make_product
from tests.sql_count import page_statements
from tests.stations.cash_refund_setup import canceled_after_counter_cash, cash_book
from tests.stations.factories import make_order


def test_a_buyers_cancellation_leaves_the_book_and_the_close_true_until_the_cash_is_handed_back(
    db, world, client, auth, api_token
):
    order, refund = canceled_after_counter_cash(world, client, auth)
    amount = format_yuan(3333)
    # the refund is owed: the cash is still in the till, the book unchanged
    assert (refund.amount_fen, refund.state) == (3333, "owed")
    assert cash_book() == [("station_cash", 3333, world.a.operator.id)]
    assert order.payments[0].state == PaymentState.REFUNDED
    # the buyer is told where the cash waits: the station's counter, its address and hours
    auth.login(world.buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert f"现金 {amount} 待退还：在 {world.a.station.name} 柜台等您领取（村委会旁，营业时间 08:00-18:00）" in page
    auth.logout()
    # the desk lists the cash to hand back: which order, to whom, how much; the summary names no buyer
    auth.login(world.a.operator)
    desk = client.get("/station/").get_data(as_text=True)
    section = desk.split("待退还现金", 1)[1].split("</section>", 1)[0]
    assert order.code in section and amount in section and collector_name(order) in section
    cash_page = client.get("/station/cash").get_data(as_text=True)
    assert world.buyer.name not in cash_page
    auth.logout()
    # 日结 before the buyer collects: what is counted (the cash still in the till) is what the book expects
    day = local_date(now_utc()).isoformat()
    closed = client.post(
        f"/api/v1/stations/{world.a.station.id}/cashbook/close",
        json={"date": day, "counted_fen": 3333},
        headers=api_token(world.a.operator),
    )
    assert closed.status_code == 200, closed.json
    assert (closed.json["expected_fen"], closed.json["difference_fen"]) == (3333, 0)


def test_the_operator_hands_the_cash_back_once_with_a_confirmation(db, world, client, auth):
    order, refund = canceled_after_counter_cash(world, client, auth)
    url = f"/station/refunds/{refund.id}/hand-back"
    # another station's operator: not theirs to see
    auth.login(world.b.operator)
    assert client.post(url, data={"confirm": "1"}).status_code == 404
    assert client.get(f"/orders/{order.code}").status_code in (302, 403, 404)
    auth.logout()
    assert cash_book() == [("station_cash", 3333, world.a.operator.id)]
    auth.login(world.a.operator)
    asked = client.post(url, follow_redirects=True).get_data(as_text=True)  # the question first, nothing written
    assert f"确认已把现金 {format_yuan(3333)} 退还给" in asked and order.code in asked
    assert len(cash_book()) == 1
    done = client.post(url, data={"confirm": "1"}, follow_redirects=True).get_data(as_text=True)
    assert f"已退还现金 {format_yuan(3333)}，记入现金账" in done
    assert "已退还" in done  # the shipment's page says it
    # and its history says it in the page's language (the history note is a key: shop.history.note_text)
    assert "cash handed back" not in done and f"现金 {format_yuan(3333)} 已退还" in done
    again = client.post(url, data={"confirm": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "这笔现金已退还" in again
    # one entry, by the operator who handed it back, naming the refund
    db.session.expire_all()
    assert cash_book() == [("station_cash", 3333, world.a.operator.id), ("refund", -3333, world.a.operator.id)]
    assert db.session.get(Refund, refund.id).state == "succeeded"
    desk = client.get("/station/").get_data(as_text=True)
    assert "待退还现金" not in desk
    auth.logout()
    auth.login(world.buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert f"现金 {format_yuan(3333)} 已退还" in page


def test_the_desk_queue_names_the_goods_not_a_count_of_lines(db, world, client, auth):
    """The queue's 商品 column read 1 or 2 — the number of lines, like a product id: it names the goods."""
    second = make_product(name="A小米", price_fen=1000, stock=5, station=world.a.station)
    one = make_order([(world.a.product, 1)])
    two = make_order([(world.a.product, 1), (second, 2)])
    commit()
    auth.login(world.a.operator)
    desk = client.get("/station/").get_data(as_text=True)
    rows = {
        code: desk.split(f">{code}</a>", 1)[1].split("</tr>", 1)[0]
        for code in (one.shipments[0].code, two.shipments[0].code)
    }
    assert '<td class="queue-goods">A土鸡蛋</td>' in rows[one.shipments[0].code]
    assert '<td class="queue-goods">A土鸡蛋（等 2 件）</td>' in rows[two.shipments[0].code]


def test_the_desks_cash_to_hand_back_is_read_in_a_fixed_number_of_statements(db, world, client, auth):
    """The desk's 待退还现金 reads the owed refunds, their shipments with the order and buyer it names, and the
    tills that took their cash at once: four owed refunds cost the page what one does (each was two statements
    of its own, and its buyer one more)."""

    def owe():
        order, _refund = canceled_after_counter_cash(world, client, auth)
        return order

    first = owe()
    auth.login(world.a.operator)
    page, one = page_statements(client, "/station/")
    assert first.code in page.split("待退还现金", 1)[1]
    auth.logout()
    more = [owe() for _ in range(3)]
    auth.login(world.a.operator)
    page, four = page_statements(client, "/station/")
    section = page.split("待退还现金", 1)[1].split("</section>", 1)[0]
    assert all(order.code in section for order in [first, *more])
    assert len(four) == len(one), "\n\n".join(four)


def test_a_remittance_leaves_the_cash_owed_to_buyers_in_the_till(db, world, client, auth, api_token):
    """The cash of a refund owed (待退还) is in the till until it is handed back, but it is the buyer's: a
    remittance could take it (上缴 ¥33.33 of a book of ¥33.33), and the hand-back then wrote the book below
    nothing (账面应有 -¥33.33). A remittance is bounded by the cash in hand less what is owed, and says so,
    on the page (before the confirmation) and through the API; once handed back, the rest may go."""
    order, refund = canceled_after_counter_cash(world, client, auth)
    headers = api_token(world.a.operator)
    auth.login(world.a.operator)
    page = client.post(
        "/station/cash/entries",
        data={"form_token": new_form_token(), "kind": "remittance", "amount": "0.01", "reason": "上缴"},
    ).get_data(as_text=True)
    message = (
        f"上缴金额不能超过 {format_yuan(0)}：手中现金（账面 {format_yuan(3333)}）中有 {format_yuan(3333)} "
        "待退还顾客，请先在工作台退还现金"
    )
    assert message in page
    answer = client.post(
        f"/api/v1/stations/{world.a.station.id}/cashbook/remittances",
        json={"amount_fen": 3333},
        headers=headers,
    )
    assert answer.status_code == 409 and answer.json["error"]["code"] == "remittance_exceeds_free_cash"
    assert cash_book() == [("station_cash", 3333, world.a.operator.id)]
    # handed back, the book holds nothing; a correction found later may still be remitted
    client.post(f"/station/refunds/{refund.id}/hand-back", data={"confirm": "1"})
    db.session.expire_all()
    assert sum(amount for _kind, amount, _who in cash_book()) == 0
