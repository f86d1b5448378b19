"""The cart page and the checkout quote all of a cart's booking lines at once (`orders.bookables`
`quote_many`): a fixed number of statements whatever the number of booking lines, the checkout's two
deliveries sharing one set of quotes, and a line that cannot be booked any more still named with its
problem while the others are priced.

Seen before the batch (SQLite and PostgreSQL alike): the cart page 6 statements with one stay and 14 with
three lines (two stays and a ticket day), the checkout 13 and 29 (each line quoted twice, once per
delivery); with a session first, 9/17 and 19/35. With it: the cart 6 and 6, the checkout 9 and 9 (7 and 10
with a session)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.timeutil import local_date, now_utc
from tests.factories import NOW, make_user
from tests.sql_count import count_statements
from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import Closure, ListingKind


def _day(n: int):
    return local_date(now_utc()) + timedelta(days=n)


def _add(client, **data) -> None:
    res = client.post("/cart/bookings", data=data)
    assert res.status_code == 303, res.get_data(as_text=True)
    assert "/cart" in res.headers["Location"], res.headers["Location"]


def _stay(client, name: str, *, checkin: int, nights: int = 1):
    listing = make_listing(name=name, units=3)
    _add(
        client,
        listing_id=listing.id,
        checkin=_day(checkin).isoformat(),
        checkout=_day(checkin + nights).isoformat(),
        guests=2,
    )
    return listing


def _session(client, name: str, *, day: int):
    listing = make_listing(kind=ListingKind.EXPERIENCE, name=name, max_guests=10)
    session = make_session(listing, day=_day(day), capacity=8)
    _add(client, listing_id=listing.id, session_id=session.id, guests=3)
    return listing


def _ticket(client, name: str, *, day: int):
    listing = make_listing(kind=ListingKind.TICKET, name=name, units=100, max_guests=5)
    _add(client, listing_id=listing.id, checkin=_day(day).isoformat(), guests=2)
    return listing


def _page_statements(client, db, page: str, names: list[str]) -> list[str]:
    """The statements of one GET of `page` (after a warm-up and with nothing of the cart in hand, as after
    a commit); every line named in `names` is on it and can be checked out."""
    client.get(page)  # warm-up: first-use queries
    db.session.expire_all()
    with count_statements() as statements:
        res = client.get(page)
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    for name in names:
        assert name in html, name
    assert "所选日期已订满" not in html and "项目不存在" not in html
    return statements


@pytest.mark.parametrize("page", ["/cart", "/checkout"])
@pytest.mark.parametrize("first", ["stay", "session"])
def test_the_cart_and_checkout_quote_their_booking_lines_in_a_fixed_number_of_statements(
    client, db, auth, fake_stripe, page, first
):
    """One booking line or three (stays on different listings and dates, a ticket day, a session): the
    page sends the same statements, as many — the listings with their first photos, the holidays, the
    bookings and the closures each read once for all the lines (and the sessions, when a line is one) —
    and the checkout reads them once for both of its deliveries. The cart with a session line reads its
    listing's sessions to offer in its 场次 box (`carts.sessions_to_choose`): their closures once more, once
    whatever the number of lines too."""
    auth.login(make_user())
    if first == "stay":
        _stay(client, "罗渡山居", checkin=10, nights=2)
    else:
        _session(client, "草莓采摘园", day=9)
    one = _page_statements(client, db, page, ["罗渡山居" if first == "stay" else "草莓采摘园"])
    _stay(client, "花海民宿", checkin=20, nights=3)
    _ticket(client, "花海门票", day=15)
    names = ["花海民宿", "花海门票", "罗渡山居" if first == "stay" else "草莓采摘园"]
    three = _page_statements(client, db, page, names)
    assert len(three) == len(one), "\n\n".join(three)
    closure_reads = [s for s in three if "FROM listing_closures" in s]
    session_box = page == "/cart" and first == "session"
    assert len(closure_reads) == (2 if session_box else 1), "\n\n".join(closure_reads)


def test_a_sold_out_closed_or_withdrawn_booking_line_shows_its_problem_and_the_others_are_priced(client, db, auth):
    """Quoted together, each line keeps its own answer: a stay sold out since it was added and a ticket day
    closed since are not checked out (已订满; the closed day 休息，不接待预订), a listing withdrawn by its host says 项目不存在, and the line
    still bookable is priced and chosen — on the cart page and at the checkout."""
    auth.login(make_user())
    full = _stay(client, "满房山居", checkin=10)
    closed = _ticket(client, "闭园门票", day=12)
    gone = _stay(client, "下架农家", checkin=11)
    _stay(client, "空房民宿", checkin=10)
    for _n in range(3):
        make_booking(full, check_in=_day(10), units=1)
    db.session.add(Closure(listing_id=closed.id, closed_date=_day(12), reason="检修", created_at=NOW))
    gone.is_published = False
    db.session.flush()
    html = client.get("/cart").get_data(as_text=True)
    rows = {name: _row(html, name) for name in ("满房山居", "闭园门票", "空房民宿")}
    assert "所选日期已订满" in rows["满房山居"]
    assert f"{_day(12).isoformat()} 休息，不接待预订，请修改日期或删除" in rows["闭园门票"]
    assert "已订满" not in rows["闭园门票"]
    assert "所选日期已订满" not in rows["空房民宿"] and 'class="error"' not in rows["空房民宿"]
    assert "项目不存在" in html
    checkout = client.get("/checkout").get_data(as_text=True)
    assert "空房民宿" in checkout and "项目不存在" in checkout


def _row(html: str, name: str) -> str:
    """The cart's <tr> of the line named `name`."""
    [row] = [part.split("</tr>", 1)[0] for part in html.split("<tr")[1:] if name in part.split("</tr>", 1)[0]]
    return row


def test_a_session_or_ticket_day_with_too_few_places_left_says_how_many_and_what_to_do(client, db, auth):
    """A party of 3 in the cart for a session or a ticket day others have since filled: the row says how
    many places are left (not 已订满, which they are not) and what the cart lets the buyer do — fewer
    guests, another ticket day, or another session in the line's own 场次 box; a session with none left says
    该场次已订满, not 所选日期. Its
    price, still shown, is said not to be counted in the totals (不计入合计)."""
    auth.login(make_user())
    short = make_listing(kind=ListingKind.EXPERIENCE, name="草莓采摘园", max_guests=10)
    short_session = make_session(short, day=_day(9), capacity=8)
    _add(client, listing_id=short.id, session_id=short_session.id, guests=3)
    full = make_listing(kind=ListingKind.EXPERIENCE, name="垂钓鱼塘", max_guests=10)
    full_session = make_session(full, day=_day(9), capacity=8)
    _add(client, listing_id=full.id, session_id=full_session.id, guests=3)
    day = make_listing(kind=ListingKind.TICKET, name="花海门票", units=4, max_guests=5)
    _add(client, listing_id=day.id, checkin=_day(15).isoformat(), guests=3)
    make_booking(short, check_in=_day(9), guests=6, session=short_session)
    make_booking(full, check_in=_day(9), guests=8, session=full_session)
    make_booking(day, check_in=_day(15), guests=2)
    db.session.flush()
    html = client.get("/cart").get_data(as_text=True)
    rows = {name: _row(html, name) for name in ("草莓采摘园", "垂钓鱼塘", "花海门票")}
    assert "该场次只剩 2 个名额，请减少人数或改选场次" in rows["草莓采摘园"]
    assert "该场次已订满，请改选场次或删除" in rows["垂钓鱼塘"]
    assert "只剩 2 个名额，请减少人数或修改日期" in rows["花海门票"]
    assert not any("所选日期已订满" in row for row in rows.values())
    # each still shows its price, and says it is not in the totals below (预订合计 ¥0.00 adds up)
    assert all("不计入合计" in row for row in rows.values())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_session_line_names_its_session_date_first_on_the_cart_and_the_checkout(client, db, auth, fake_stripe, lang):
    """An experience's line names its session as the listing's 场次 choices do, date then time
    (采摘 · 2026-12-16 09:00), on the cart and in the checkout's summary; it said 采摘 09:00 · 2026-12-16."""
    auth.login(make_user())
    _session(client, "草莓采摘园", day=9)
    if lang == "en":
        client.get("/?lang=en")
    start = f"{_day(9).isoformat()} 09:00"
    cart = _row(client.get("/cart").get_data(as_text=True), "草莓采摘园")
    assert f"采摘 · {start} · " in cart
    assert "采摘 09:00" not in cart
    checkout = client.get("/checkout").get_data(as_text=True)
    assert f"草莓采摘园 · 采摘 · {start}" in checkout
    assert "采摘 09:00" not in checkout


def _only_line_id(client) -> int:
    """The id of the cart's one line, as its row says (data-line)."""
    [line_id] = client.get("/cart").get_data(as_text=True).split('data-line="')[1:]
    return int(line_id.split('"', 1)[0])


@pytest.mark.parametrize(
    ("lang", "empty", "past"),
    [("zh", "请选择日期", "日期不能早于今天"), ("en", "Please choose a date", "The date cannot be in the past")],
)
def test_a_ticket_line_date_box_starts_today_and_an_empty_or_past_day_is_refused_with_a_message(
    client, db, auth, lang, empty, past
):
    """A ticket day's date box on the cart offers no day before the shop's today (min), and a box sent
    empty says 请选择日期 (it kept the old day and said nothing), a past day 日期不能早于今天; the line
    keeps its day."""
    auth.login(make_user())
    _ticket(client, "花海门票", day=12)
    line_id = _only_line_id(client)
    if lang == "en":
        client.get("/?lang=en")
    html = client.get("/cart").get_data(as_text=True)
    today = local_date(now_utc()).isoformat()
    assert f'id="ci{line_id}" type="date" name="checkin" min="{today}" value="{_day(12).isoformat()}"' in html
    for day, message in (("", empty), (_day(-1).isoformat(), past)):
        res = client.post(f"/cart/lines/{line_id}", data={"checkin": day, "guests": 2}, follow_redirects=True)
        page = res.get_data(as_text=True)
        assert message in page, day
        assert f'name="checkin" min="{today}" value="{_day(12).isoformat()}"' in page
