"""HTML views of the tourism package: browse, listing with calendar, book, my bookings, host workspace."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import Any, Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.routing import BuildError
from wtforms.fields.choices import SelectChoice

from catalog.services import list_villages
from orders import cashbook_pages
from orders.services import cashbook as cash
from orders.services.placement import MAX_GUESTS
from shop.args import (
    MAX_ID,
    MAX_INT,
    int_arg,
    int_or_none,
    link_args,
    page_date_arg,
    page_int_arg,
    page_month_arg,
    parse_date,
    parse_int,
)
from shop.auth.permissions import role_required
from shop.confirm import ask_first, confirmed
from shop.db import commit, rollback
from shop.errors import N_, DomainError, error_message, flash_domain_errors
from shop.forms import create_once, flash_form_errors, mark_refused_fields
from shop.kept_form import restored as restored_form
from shop.money import format_yuan
from shop.once import claimed
from shop.qr import qr_data_uri
from shop.timeutil import local_date, month_bounds, now_utc, to_local
from tourism.forms import (
    BookingForm,
    CheckInForm,
    CloseDatesForm,
    HostCancelForm,
    ListingPhotoForm,
    ListingPlaceForm,
    ListingTermsForm,
    NewUnitTypeForm,
    UnitTypeForm,
)
from tourism.models import Booking, BookingStatus, ListingKind
from tourism.qr import checkin_text
from tourism.services.availability import (
    ListingFilter,
    calendar_of_unit_type,
    calendar_unit_type,
    listing_calendar,
    listing_occupancy,
    payment_methods,
    search_listings,
    sessions_to_choose,
    why_nothing_found,
)
from tourism.services.booking import (
    LATE_CHECK_IN_DAYS,
    BookingRequest,
    book_listing,
    booking_cancelable,
    booking_canceled_already,
    booking_refusal,
    cancel_booking,
    cancel_quote,
    cancels_with_its_order,
    check_in_allowed,
    check_in_booking,
    checked_in_late,
    find_arrival_by_code,
    get_booking_for_host,
    get_booking_for_user,
    get_listing,
    horizon_refusal,
    host_cancel_booking,
    host_cancel_reason,
    host_cancel_refusal,
    list_user_bookings,
    listing_guests_limit,
    listing_units_limit,
    mark_no_show,
    no_show_allowed,
    no_show_marked_already,
    no_show_refusal,
    refund_kept,
    room_for_party,
    same_bookings_held,
    start_card_payment,
)
from tourism.services.host import (
    ListingTerms,
    check_closable,
    close_dates,
    closed_days,
    closure_reason,
    get_host_listing,
    list_host_listings,
    listing_bookings,
    listing_terms_shown,
    overdue_arrivals,
    reopen_date,
    todays_arrivals,
    unit_type_shown,
    update_listing_terms,
    update_unit_type,
)
from tourism.services.host_cash import HOST_TILL, arrivals_cash, host_book
from tourism.services.listings import households_linked
from tourism.services.place import (
    MAX_PHOTOS,
    ListingPlace,
    add_listing_photo,
    host_contact_visible,
    listing_place_shown,
    quote_dates,
    quote_span,
    remove_listing_photo,
    update_listing_place,
)

bp = Blueprint("tourism", __name__)

KIND_PATHS = {"stays": ListingKind.STAY, "experiences": ListingKind.EXPERIENCE, "tickets": ListingKind.TICKET}
MAX_STAY_DAYS = 366
#: how many months before or after this one a calendar shows (`_month_arg`)
MAX_CALENDAR_MONTHS = 24


def _int_arg(name: str, *, maximum: int = 2**31) -> int | None:
    return int_arg(name, minimum=1, maximum=maximum)


def _month_arg(today: date, *, chosen: date | None = None) -> tuple[int, int, int]:
    """(year, month, status) of a calendar: when none is asked, the month of the day `chosen` (a listing's
    check-in, session or ticket day carried from a dated search), else this month. A month typed wrong into
    the URL (2026-13) or more than 24 months away shows this month, the reason flashed, 422 — never a 400 page."""
    asked, status = page_month_arg("month", label=_("月份"), instead=_("已显示本月"))
    if asked is None:
        if chosen is not None and status == 200 and _months_apart(chosen, today) <= MAX_CALENDAR_MONTHS:
            return chosen.year, chosen.month, status
        return today.year, today.month, status
    year, month = asked
    if _months_apart(date(year, month, 1), today) > MAX_CALENDAR_MONTHS:
        flash(_("月份超出范围（前后 24 个月以内）；%(instead)s", instead=_("已显示本月")), "error")
        return today.year, today.month, 422
    return year, month, 200


def _months_apart(day: date, today: date) -> int:
    return abs((day.year - today.year) * 12 + day.month - today.month)


def _neighbour_months(year: int, month: int, today: date) -> tuple[str | None, str | None]:
    """The calendar's ‹ 上月 and 下月 › months ("YYYY-MM"), None past the 24 months `_month_arg` shows:
    the edge month's page offers no link into a month that page would refuse (422)."""

    def shifted(step: int) -> str | None:
        index = year * 12 + month - 1 + step
        if abs(index - (today.year * 12 + today.month - 1)) > MAX_CALENDAR_MONTHS:
            return None
        return f"{index // 12}-{index % 12 + 1:02d}"

    return shifted(-1), shifted(1)


def _calendar_status(status: int, month_status: int) -> int:
    """A page's own status (a refused form's 422) before the calendar month's."""
    return status if status != 200 else month_status


def _typed_party() -> int | None:
    """`?guests=` of the search pages as typed: None when absent, 0 when not a whole number (typed by hand into
    the URL: said beside the list as a party out of range, as 0 or 150 are, not a 400 page)."""
    typed = request.args.get("guests", "").strip()
    try:
        return parse_int(typed, minimum=-MAX_INT, maximum=MAX_INT) if typed else None
    except ValueError:
        return 0


def _listings_page(kind: str):
    now = now_utc()
    # a date typed wrong into the URL is said on the page (flashed, 422), the search made without it
    check_in, in_status = page_date_arg("checkin", label=_("入住日期"), instead=_("已按不限日期查找"))
    check_out, out_status = page_date_arg("checkout", label=_("离店日期"), instead=_("已按不限日期查找"))
    f = ListingFilter(
        kind=kind,
        village_id=_int_arg("village"),
        check_in=check_in,
        check_out=check_out,
        # a party typed out of range (0, 150, abc) is said beside the list, as a date in the past is
        guests=_typed_party(),
    )
    errors = []
    if f.guests is not None and not 0 < f.guests <= MAX_GUESTS:
        errors.append(error_message("booking_guests_out_of_range", {"high": MAX_GUESTS}))
        f.guests = None
    date_error = None
    if f.check_in and f.check_in < local_date(now):
        date_error = _("日期不能早于今天")
    elif f.check_out and (
        not f.check_in or f.check_out <= f.check_in or (f.check_out - f.check_in).days > MAX_STAY_DAYS
    ):
        date_error = _("离店日期必须晚于入住日期")
    elif (too_far := horizon_refusal(f.check_in, local_date(now))) is not None:  # no 所选日期可订 for them
        date_error = too_far.message
    if date_error:
        errors.append(date_error)
        f.check_in = f.check_out = None
    for message in errors:
        flash(message, "error")
    results = search_listings(f, now=now)
    return render_template(
        "tourism/listing_list.html",
        kind=kind,
        results=results,
        # an empty list says why: the party, the dates, or nothing of the kind here
        nothing_because=None if results else why_nothing_found(f, now=now),
        filter=f,
        villages=list_villages(),
        today=local_date(now),
    ), (422 if errors or 422 in (in_status, out_status) else 200)


def _village_listings(village_id: int):
    """The published stays, experiences and tickets of a village (templates/catalog/village.html
    reads `village_listings(village.id)`): tourism sits beside the goods on a village's page."""
    return search_listings(ListingFilter(village_id=village_id), now=now_utc())


def cancel_policy(kind: str, free_cancel_days: int, cancel_fee_pct: int) -> str:
    """A listing's cancellation policy in words, counted from the day its kind names: a stay's arrival day
    (到店日), the day of a ticket or of an experience's session (游玩日) — the day
    `tourism.services.booking.cancel_quote` counts from. The listing, cart, checkout, order and booking
    pages all say it through this template global."""
    if kind == ListingKind.STAY:
        return ngettext(
            "到店日前 %(num)s 天及以前免费取消，之后取消收取 %(p)s%% 手续费",
            "到店日前 %(num)s 天及以前免费取消，之后取消收取 %(p)s%% 手续费",
            free_cancel_days,
            p=cancel_fee_pct,
        )
    return ngettext(
        "游玩日前 %(num)s 天及以前免费取消，之后取消收取 %(p)s%% 手续费",
        "游玩日前 %(num)s 天及以前免费取消，之后取消收取 %(p)s%% 手续费",
        free_cancel_days,
        p=cancel_fee_pct,
    )


bp.add_app_template_global(_village_listings, "village_listings")
bp.add_app_template_global(cancel_policy, "cancel_policy")  # the cart, checkout and order pages say it too
bp.add_app_template_global(booking_cancelable, "booking_cancelable")  # the order page asks it too
bp.add_app_template_global(host_contact_visible, "host_contact_visible")  # the order page shows it after booking


@bp.get("/stays")
def stays():
    return _listings_page(ListingKind.STAY)


@bp.get("/experiences")
def experiences():
    return _listings_page(ListingKind.EXPERIENCE)


@bp.get("/tickets")
def tickets():
    return _listings_page(ListingKind.TICKET)


def _month_weeks(days):
    """Rows of 7 (Monday first) for a month calendar; None pads the first and last week."""
    if not days:
        return []
    cells = [None] * days[0].day.weekday() + list(days)
    cells += [None] * (-len(cells) % 7)
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def _booking_form(listing, form=None):
    form = form or BookingForm()
    form.unit_type_id.choices = [SelectChoice(u.id, u.name) for u in listing.unit_types]
    # the first date is a stay's arrival, a ticket's day of the visit (an experience picks a session)
    form.checkin.label.text = _("入住日期") if listing.kind == "stay" else _("游玩日期")
    # a stay's types are rooms, a ticket's are tickets (the box is shown with two types or more)
    form.unit_type_id.label.text = _("房型") if listing.kind == "stay" else _("票种")
    return form


def _render_listing(listing, form, status=200):
    now = now_utc()
    today = local_date(now)
    sessions = []
    offered = []
    if listing.kind == ListingKind.EXPERIENCE:
        day = form.checkin.data if isinstance(form.checkin.data, date) else None
        # the cart line's 场次 box offers the same; a day searched or tapped past them offers its sessions too
        offered = sessions_to_choose([listing], now=now, days={listing.id: [day]} if day else None)[listing.id]
        sessions = [s for s, _left in offered]
        # each start with its places left, as the calendar's days say them: a party too large is seen first
        form.session_id.choices = [
            SelectChoice(
                s.id,
                _("%(start)s · 余 %(num)s", start=to_local(s.starts_at).strftime("%Y-%m-%d %H:%M"), num=left)
                if left
                else _("%(start)s · 已满", start=to_local(s.starts_at).strftime("%Y-%m-%d %H:%M")),
            )
            for s, left in offered
        ]
        if form.checkin.data and not form.session_id.data:  # a day tapped on the calendar: its first session
            form.session_id.data = next((s.id for s in sessions if s.session_date == form.checkin.data), None)
        if (day or form.session_id.data) and form.session_id.data not in {s.id for s in sessions}:
            # nothing to book on the day chosen: ask for a session, never book the box's first one unseen
            form.session_id.choices.insert(0, SelectChoice(0, _("请选择场次")))
    # no month asked: the month of the day chosen (the session's, the search's check-in), not this month's
    chosen = next((s.session_date for s in sessions if s.id == form.session_id.data), None) or form.checkin.data
    year, month, month_status = _month_arg(today, chosen=chosen if isinstance(chosen, date) else None)
    status = _calendar_status(status, month_status)
    start, end = month_bounds(year, month)
    # with two room types, the calendar is the booking form's room type's (its rooms left, its price)
    cal_unit_type = calendar_unit_type(listing, form.unit_type_id.data)
    # the month's bookings and those of the dates tapped (whose total says each type's rooms left) read at once
    check_in, check_out = form.checkin.data, form.checkout.data
    tapped = quote_span(listing, check_in, check_out, now=now)
    occupancy = listing_occupancy(listing, [(start, end), *([tapped] if tapped else [])], now=now)
    days = calendar_of_unit_type(listing_calendar(listing, start, end, now=now, occupancy=occupancy), cal_unit_type)
    prev_month, next_month = _neighbour_months(year, month, today)

    households = households_linked([listing.id]).get(listing.id, 0)
    # the dates tapped on the calendar (or carried from the search page) and what they cost
    guests = form.guests.data if isinstance(form.guests.data, int) and 0 < form.guests.data <= 100 else 2
    units = form.units.data if isinstance(form.units.data, int) and 0 < form.units.data <= 50 else 1
    quote = quote_dates(
        listing,
        check_in=check_in,
        check_out=check_out,
        guests=guests,
        units=units,
        now=now,
        occupancy=occupancy,
        unit_type_id=form.unit_type_id.data,  # its rooms are `units`; each other type's, what the party needs
        # an experience's session chosen in the form, with its places left as its 场次 box says them
        session=next(((s, left) for s, left in offered if s.id == form.session_id.data), None),
    )
    too_far = horizon_refusal(check_in, today)  # said where the quote would be: no quote for those dates
    # the traveller's own live booking of the same dates (session, day): said above the form, 预订 asks first
    held_already = same_bookings_held(
        current_user,
        listing,
        check_in=check_in if isinstance(check_in, date) else None,
        check_out=check_out if isinstance(check_out, date) else None,
        session_id=form.session_id.data if isinstance(form.session_id.data, int) else None,
        now=now,
    )
    return render_template(
        "tourism/listing_detail.html",
        listing=listing,
        form=form,
        weeks=_month_weeks(days),
        month_label=f"{year}-{month:02d}",
        prev_month=prev_month,
        next_month=next_month,
        today=today,
        households=households,
        methods=payment_methods(listing),
        pick_in=check_in,
        pick_out=check_out,
        quote=quote,
        too_far=too_far.message if too_far else None,
        held_already=held_already,
        quote_guests=guests,
        quote_units=units,
        guests_limit=listing_guests_limit(listing),
        units_limit=listing_units_limit(listing),
        month_arg=f"{year}-{month:02d}",
        cal_unit_type=cal_unit_type,
        # the village the list was filtered to: 返回列表 goes back to it, the calendar's links keep it
        list_village=_int_arg("village", maximum=MAX_ID),
    ), status


#: The booking form's fields a listing's page takes from its query (`listing_detail`), each checked there.
TYPED_BOOKING_ARGS = ("checkin", "checkout", "guests", "units", "unit_type_id", "session_id")
#: The list's own filter a listing's page keeps for its 返回列表 link (the dates and party are the form's).
LIST_ARGS = ("village",)
#: The most a listing's page reads of each whole number of its booking form from its query (`listing_detail`).
TYPED_BOOKING_NUMBERS = {"guests": 100, "units": 50, "unit_type_id": MAX_ID, "session_id": MAX_ID}


def _list_args() -> dict[str, int]:
    """The list's own filter (`LIST_ARGS`, ids) this request's query carries, for the listing's page a
    booking form's address sends on to: one typed wrong is left out. Only these names, as numbers, go
    into a link `url_for` builds to this site's listing page, never an address taken from the request."""
    found = {}
    for name in LIST_ARGS:
        try:
            found[name] = parse_int(request.args.get(name, "").strip(), minimum=1, maximum=MAX_ID)
        except ValueError:
            continue
    return found


def _typed_booking_args(typed) -> dict[str, str]:
    """The booking form's fields (`TYPED_BOOKING_ARGS`) of `typed` for a listing's page's query: a whole
    number out of the page's range (人数 0 or 99999, typed before signing in) is left out, the box's default
    shown (the page would say it is wrong, `_typed_count`); a date as typed, which the page says is wrong."""
    args = {}
    for name in TYPED_BOOKING_ARGS:
        value = (typed.get(name) or "").strip()[:20]
        if value and name in TYPED_BOOKING_NUMBERS:
            try:
                value = str(parse_int(value, minimum=1, maximum=TYPED_BOOKING_NUMBERS[name]))
            except ValueError:
                continue
        if value:
            args[name] = value
    return args


def _refusal_said() -> bool:
    """Whether a refusal that sent the visitor to this page said what was wrong already (a 加入购物车 refused,
    `orders.views._back_with_typed_booking`, with what was typed in the query): the page says it once."""
    return any(category == "error" for category, _message in session.get("_flashes", ()))


def _typed_count(field, name: str, *, label: str, said: bool) -> tuple[int | None, int]:
    """`?guests=` or `?units=` of a listing's page (`TYPED_BOOKING_NUMBERS`): (the number, 200), (None, 200)
    when absent, or (None, 422) when typed wrong (0, abc, 999) — said on the page as a date typed wrong is
    (unless the refusal that sent the visitor here said it, `said`), and shown in `field`'s box as typed."""
    high = TYPED_BOOKING_NUMBERS[name]
    if said:
        typed = request.args.get(name, "").strip()
        number, status = (int_or_none(typed, minimum=1, maximum=high), 200) if typed else (None, 200)
        status = 422 if typed and number is None else status
    else:
        number, status = page_int_arg(name, label=label, instead=_("请重新填写"), low=1, high=high)
    if status == 422:
        field.raw_data = [request.args.get(name, "").strip()[:20]]
    return number, status


@bp.get("/listings/<int:listing_id>")
@bp.get("/listings/<int:listing_id>-<slug>")
def listing_detail(listing_id: int, slug: str | None = None):
    listing = get_listing(listing_id)
    if slug != listing.slug:  # on to the named page with all it reads: the room type too (its calendar)
        return redirect(
            url_for(
                "tourism.listing_detail",
                listing_id=listing.id,
                slug=listing.slug,
                **link_args(*TYPED_BOOKING_ARGS, *LIST_ARGS, "month"),
            ),
            301,
        )
    form = _booking_form(listing)
    said = _refusal_said()  # before this page's own messages
    # carry the dates and party size from the search page into the booking form
    # (a date typed wrong into the URL is said on the page, flashed, 422, the form left to fill in)
    check_in, in_status = page_date_arg("checkin", label=_("入住日期"), instead=_("请重新选择日期"))
    check_out, out_status = page_date_arg("checkout", label=_("离店日期"), instead=_("请重新选择日期"))
    form.checkin.data = form.checkin.data or check_in
    form.checkout.data = form.checkout.data or check_out
    # a party or rooms typed wrong (0, abc) likewise: said on the page, 422, what was typed shown in its box
    guests, guests_status = _typed_count(form.guests, "guests", label=_("人数"), said=said)
    if guests:
        form.guests.data = guests
    units, units_status = _typed_count(form.units, "units", label=_("间数"), said=said)
    if units:
        form.units.data = units
    # the room type or session a refused booking form was sent with (orders.views._back_with_typed_booking)
    unit_type_id = _int_arg("unit_type_id", maximum=MAX_ID)
    if unit_type_id in {u.id for u in listing.unit_types}:
        form.unit_type_id.data = unit_type_id
    elif guests and listing.kind == ListingKind.STAY:  # the party from the search: a room type that sleeps it
        unit_type, rooms = room_for_party(listing, guests=guests, units=units or 1)
        if unit_type is not None:
            form.unit_type_id.data, form.units.data = unit_type.id, rooms
    form.session_id.data = _int_arg("session_id", maximum=MAX_ID)
    return _render_listing(listing, form, 422 if 422 in (in_status, out_status, guests_status, units_status) else 200)


@bp.route("/listings/<int:listing_id>/book", methods=["GET", "POST"])
@login_required
def book(listing_id: int):
    """预订 of a signed-in visitor. Its address carries the list's filter (`LIST_ARGS`: the listing's page
    posts to `/listings/<id>/book?village=…`), so a refused booking's page keeps its 返回列表 to that list.
    A GET is someone sent back here after signing in (a POST whose session had ended goes to the login page
    with this address as `next`), or by a refused 加入购物车 of this page (`orders.views._back_with_typed_booking`,
    with what was typed in the query): the listing's page, not a 405, with the dates, party, room type and
    rooms they had typed (`shop.kept_form`, else the query) and the list's filter in its query, which its
    booking form and 返回列表 show (`listing_detail`)."""
    listing = get_listing(listing_id)
    if request.method == "GET":
        return redirect(
            url_for(
                "tourism.listing_detail",
                listing_id=listing.id,
                slug=listing.slug,
                **_typed_booking_args(restored_form() or request.args),
                **_list_args(),
            ),
            303,
        )
    form = _booking_form(listing)
    if not form.validate_on_submit():
        # said at the top too: on a phone the form is a long scroll below the photos and the calendar
        flash_form_errors(form)
        return _render_listing(listing, form, 422)
    now = now_utc()
    req = BookingRequest(
        listing_id=listing.id,
        unit_type_id=form.unit_type_id.data or None,
        session_id=form.session_id.data or None,
        check_in=form.checkin.data,
        check_out=form.checkout.data,
        guests=form.guests.data,
        units=form.units.data or 1,
        pay_on_arrival=form.payment_method.data == "arrival",
    )
    same = same_bookings_held(
        current_user, listing, check_in=req.check_in, check_out=req.check_out, session_id=req.session_id, now=now
    )
    if same and not confirmed() and not claimed("tourism.book", form.form_token.data):
        # the traveller holds this already (Back, then 预订 again?): refused at once if it would be, else asked
        refusal = booking_refusal(req, listing, user=current_user, now=now)
        if refusal is not None:
            flash(refusal.message, "error")
            mark_refused_fields(form, refusal)
            return _render_listing(listing, form, refusal.status)
        page = ask_first(
            _("您已预订此日期：%(code)s。确认再预订一个？", code=same[0].code),
            # back to the listing as typed: its notice links to the booking held already
            back=url_for(
                "tourism.listing_detail",
                listing_id=listing.id,
                slug=listing.slug,
                **_typed_booking_args(request.form),
                **_list_args(),
            ),
            details=[_("已有的预订：%(codes)s", codes="、".join(b.code for b in same))],
            button=_("再预订一个"),
            undo=_("不需要的预订可在“我的预订”中按取消政策取消。"),
        )
        if page is not None:
            return page
    try:  # the same page posted twice: the first POST made the booking, the bookings list shows it
        booking = create_once(
            form,
            "tourism.book",
            lambda: book_listing(req, user=current_user, now=now),
            now=now,
            done=url_for("tourism.my_bookings"),
        )
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        mark_refused_fields(form, exc)
        listing = get_listing(listing_id)
        return _render_listing(listing, _booking_form(listing, form), exc.status)
    if not booking.pay_on_arrival:
        start_card_payment(booking.order, now=now, actor=current_user)
        commit()
        flash(
            ngettext(
                "已为您保留，请在 %(num)s 分钟内完成支付",
                "已为您保留，请在 %(num)s 分钟内完成支付",
                int((booking.expires_at - now).total_seconds() // 60),
            ),
            "success",
        )
    else:
        flash(_("预订成功，请到店支付"), "success")
    return redirect(url_for("tourism.booking_detail", code=booking.code))


@bp.get("/bookings")
@login_required
def my_bookings():
    return render_template("tourism/my_bookings.html", bookings=list_user_bookings(current_user))


def _pay_url(order):
    if order is None:
        return None
    try:
        return url_for("orders.order_detail", code=order.code)  # the card payment form lives there
    except BuildError:
        return None


@bp.get("/bookings/<code>")
@login_required
def booking_detail(code: str):
    booking = get_booking_for_user(code, current_user)
    now = now_utc()
    qr = qr_data_uri(checkin_text(booking)) if booking.confirmation_code else None
    quote = cancel_quote(booking, now=now) if booking_cancelable(booking) else None
    return render_template(
        "tourism/booking_detail.html",
        booking=booking,
        qr=qr,
        quote=quote,
        pay_url=_pay_url(booking.order),
        now=now,
        show_host_contact=host_contact_visible(booking),
    )


@bp.get("/bookings/<code>/cancel")
@login_required
def booking_cancel_confirm(code: str):
    """The confirmation step before cancelling: what the policy refunds now (no JavaScript needed)."""
    booking = get_booking_for_user(code, current_user)
    if booking_canceled_already(booking):  # the back button after 确认取消预订: done, not refused
        flash(_("预订已取消"), "info")
        return redirect(url_for("tourism.booking_detail", code=booking.code), 303)
    if not booking_cancelable(booking):
        flash(_("该预订当前不能取消"), "error")
        return redirect(url_for("tourism.booking_detail", code=booking.code), 303)
    if cancels_with_its_order(booking):
        flash(error_message("unpaid_order_cancel_whole"), "error")
        return redirect(url_for("orders.order_detail", code=booking.order.code), 303)
    return render_template("tourism/booking_cancel.html", booking=booking, quote=cancel_quote(booking, now=now_utc()))


@bp.post("/bookings/<code>/cancel")
@login_required
def booking_cancel(code: str):
    booking = get_booking_for_user(code, current_user)
    if not confirmed():  # only the confirmation page's button cancels (shop.confirm)
        return redirect(url_for("tourism.booking_cancel_confirm", code=booking.code), 303)
    with flash_domain_errors():  # checked in meanwhile: said on the booking's page, not a 409 page
        quote = cancel_booking(booking, actor=current_user, now=now_utc())
        commit()  # also when canceled already: the rows locked to find out are not held to the teardown
        if quote is None:  # canceled already (a second tap, confirmed again after Back): done, not refused
            flash(_("预订已取消"), "info")
            return redirect(url_for("tourism.booking_detail", code=code))
        if quote.refund_fen:
            flash(_("预订已取消，将退款 %(amount)s", amount=format_yuan(quote.refund_fen)), "success")
        else:
            flash(_("预订已取消"), "success")
    return redirect(url_for("tourism.booking_detail", code=code))


# --- host workspace ----------------------------------------------------------------------------


def _render_host_home(form, now, status=200):
    arrivals = todays_arrivals(current_user, now=now)
    overdue = overdue_arrivals(current_user, now=now)  # arrival day passed, still confirmed: 待处理
    return render_template(
        "tourism/host_home.html",
        listings=list_host_listings(current_user),
        arrivals=arrivals,
        overdue=overdue,
        form=form,
        today=local_date(now),
        no_show_allowed=partial(no_show_allowed, now=now),
        check_in_allowed=partial(check_in_allowed, now=now),
        checked_in_late=partial(checked_in_late, now=now),
        # 取消预订 where the host may release the booking (unpaid, to be paid on arrival, still to come)
        host_may_cancel=lambda booking: host_cancel_refusal(booking, booking.order) is None,
        late_check_in_days=LATE_CHECK_IN_DAYS,
        arrival_cash=arrivals_cash(arrivals + overdue.bookings),  # both lists' cash in one statement
        cash_book=host_book(current_user.id),
        kind_label=cash.kind_label,
    ), status


@bp.get("/host/")
@role_required("host")
def host_home():
    return _render_host_home(CheckInForm(), now_utc())


def _booking_code(entry) -> Markup:
    return Markup("<code>{}</code>").format(entry.booking.code) if entry.booking is not None else Markup("")


@bp.get("/host/cash")
@role_required("host")
def host_cash():
    """The host's cash book for one day, its daily close, remittances and corrections — the station
    cash page's book and forms over the host's till (`orders.services.cashbook`, `HOST_TILL`)."""
    host_id = current_user.id  # the host's own till (role_required("host") lets no admin in)
    asked, status = page_date_arg("date", label=_("日期"), instead=_("已显示今天的账"))
    return _host_cash_page(host_id, asked or local_date(now_utc())), status


def _host_cash_page(host_id: int, day: date, close_form=None, move_form=None) -> str:
    """The host's cash page of `day`; `close_form`, `move_form`: a refused form, what was typed kept."""
    return render_template(
        "tourism/host_cash.html",
        **cashbook_pages.book_page(
            host_id,
            day,
            till=HOST_TILL,
            entry_ref=_booking_code,
            close_form=close_form,
            move_form=move_form,
            day_url=lambda d: url_for("tourism.host_cash", date=d.isoformat()),
        ),
    )


@bp.post("/host/cash/close")
@role_required("host")
def host_cash_close():
    host_id = current_user.id
    return cashbook_pages.close_day_posted(
        host_id,
        till=HOST_TILL,
        endpoint="tourism.host_cash",
        page=lambda day, **forms: _host_cash_page(host_id, day, **forms),
    )


@bp.post("/host/cash/entries")
@role_required("host")
def host_cash_move():
    host_id = current_user.id
    return cashbook_pages.move_posted(
        host_id,
        till=HOST_TILL,
        endpoint="tourism.host_cash",
        once="tourism.host_cash_move",
        page=lambda day, **forms: _host_cash_page(host_id, day, **forms),
    )


@bp.post("/host/check-in")
@role_required("host")
def host_check_in():
    form = CheckInForm()
    now = now_utc()
    if form.validate_on_submit():
        try:
            booking = find_arrival_by_code(current_user, form.confirmation_code.data, now=now)
            check_in_booking(
                booking,
                form.confirmation_code.data,
                actor=current_user,
                now=now,
                cash_received_fen=form.cash_received.fen,
            )
            commit()
            if booking.status == BookingStatus.COMPLETED:  # a stay recorded after its check-out (补登入住)
                flash(_("已补登入住，预订已完成，农户收益已入账：%(code)s", code=booking.code), "success")
            else:
                flash(_("已办理入住：%(code)s", code=booking.code), "success")
            return redirect(url_for("tourism.host_home"))
        except DomainError as exc:
            rollback()
            if "cash_received_fen" in (exc.fields or {}):
                form.cash_received.errors = [exc.message]
            else:
                form.confirmation_code.errors = [exc.message]
    return _render_host_home(form, now, 422)


def _render_host_listing(listing, form, status=200):
    """The host's calendar page; a refused closure shows each error under its field and, naming the
    field, at the top of the page (on a phone the form is below the month, out of sight)."""
    if status >= 400:
        flash_form_errors(form)
    now = now_utc()
    today = local_date(now)
    year, month, month_status = _month_arg(today)
    status = _calendar_status(status, month_status)
    start, end = month_bounds(year, month)
    # with two room types, one type's calendar at a time (`?unit_type_id=`): its rooms left and its price
    cal_unit_type = calendar_unit_type(listing, _int_arg("unit_type_id", maximum=MAX_ID))
    days = calendar_of_unit_type(listing_calendar(listing, start, end, now=now), cal_unit_type)
    return render_template(
        "tourism/host_listing.html",
        listing=listing,
        weeks=_month_weeks(days),
        form=form,
        bookings=listing_bookings(listing, start, end),
        month_label=f"{year}-{month:02d}",
        prev_month=_neighbour_months(year, month, today)[0],
        next_month=_neighbour_months(year, month, today)[1],
        today=today,
        no_show_allowed=partial(no_show_allowed, now=now),
        methods=payment_methods(listing),
        cal_unit_type=cal_unit_type,
    ), status


@bp.get("/host/listings/<int:listing_id>")
@role_required("host")
def host_listing(listing_id: int):
    listing = get_host_listing(current_user, listing_id)
    return _render_host_listing(listing, CloseDatesForm())


def _host_calendar_url(listing_id: int, **args) -> str:
    """The host's calendar of the listing, on the month and the room type the host was looking at: the
    calendar's forms (关闭, 开放, a booking's 取消 / 标记未到店 / 退还) post to an address carrying its `month`
    and `unit_type_id` (templates/tourism/_calendar.html, host_listing.html), which the way back keeps;
    `args` before them (开放: the month of the day reopened)."""
    return url_for("tourism.host_listing", listing_id=listing_id, **{**link_args("month", "unit_type_id"), **args})


def _unit_type_form(unit_type, formdata=None):
    form = UnitTypeForm(formdata=formdata, prefix=f"ut{unit_type.id}")
    if formdata is None:
        form.price.data = f"{unit_type.price_fen / 100:.2f}"
        form.weekend_price.data = f"{unit_type.weekend_price_fen / 100:.2f}" if unit_type.weekend_price_fen else ""
        form.holiday_price.data = f"{unit_type.holiday_price_fen / 100:.2f}" if unit_type.holiday_price_fen else ""
        form.units.data = unit_type.units
        form.max_guests.data = unit_type.max_guests
    return form


def render_host_edit(listing, terms_form=None, unit_forms=None, place_form=None, status=200, new_unit_form=None):
    """The edit page; the one form that was posted (and refused) keeps what was typed and its errors,
    the others show what is stored (`formdata=None`: not the other form's POST, where an absent
    checkbox would read as unticked). Each error is shown under its field and, naming the field, at
    the top of the page."""
    unit_forms = unit_forms or {}
    for refused in (terms_form, place_form, new_unit_form, *unit_forms.values()):
        if refused is not None:
            flash_form_errors(refused)
    if terms_form is None:
        terms_form = ListingTermsForm(formdata=None, obj=listing)
    if place_form is None:
        lat_lon = listing.coordinates or ("", "")
        place_form = ListingPlaceForm(
            formdata=None,
            address=listing.address,
            latitude=lat_lon[0],
            longitude=lat_lon[1],
            contact_phone=listing.contact_phone,
        )
    forms = [(ut, unit_forms.get(ut.id) or _unit_type_form(ut)) for ut in listing.unit_types]
    for ut, form in forms:  # what this page shows, refused forms too: sent again after a look, it is saved
        form.shown.data = unit_type_shown(ut)
    # a terms form refused as drawn before another change: the page shows the terms stored now beside the typing
    terms_changed = bool(terms_form.shown.data) and terms_form.shown.data != listing_terms_shown(listing)
    terms_form.shown.data = listing_terms_shown(listing)
    place_form.shown.data = listing_place_shown(listing)
    return render_template(
        "tourism/host_listing_edit.html",
        listing=listing,
        terms_form=terms_form,
        terms_changed=terms_changed,
        unit_forms=forms,
        place_form=place_form,
        photo_form=ListingPhotoForm(),
        max_photos=MAX_PHOTOS,
        new_unit_form=new_unit_form or NewUnitTypeForm(formdata=None, prefix="new", max_guests=2),
    ), status


@bp.post("/host/listings/<int:listing_id>/place")
@role_required("host")
def host_listing_place(listing_id: int):
    """Address, the point on the map and the phone guests call once booked."""
    listing = get_host_listing(current_user, listing_id)
    form = ListingPlaceForm()
    if not form.validate_on_submit():
        return render_host_edit(listing, place_form=form, status=422)
    place = ListingPlace(
        address=form.address.data or "",
        latitude=form.latitude.data or "",
        longitude=form.longitude.data or "",
        contact_phone=form.contact_phone.data or "",
    )
    return _host_edit_saved(
        listing_id,
        lambda: update_listing_place(listing, place, actor=current_user, now=now_utc(), shown=form.shown.data or None),
        form,
        {"place_form": form},
        default=form.address,
        said=_("已保存"),
        code=303,
    )


@bp.post("/host/listings/<int:listing_id>/photos")
@role_required("host")
def host_listing_photo_add(listing_id: int):
    listing = get_host_listing(current_user, listing_id)
    form = ListingPhotoForm()
    upload = form.image.data if form.image.data and getattr(form.image.data, "filename", "") else None
    if not form.validate_on_submit() or upload is None:
        flash(_("请选择照片"), "error")
        return render_host_edit(listing, status=422)
    try:
        add_listing_photo(listing, upload, actor=current_user, now=now_utc())
        commit()
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return render_host_edit(get_host_listing(current_user, listing_id), status=exc.status)
    flash(_("照片已上传"), "success")
    return redirect(url_for("tourism.host_listing_edit", listing_id=listing.id), 303)


@bp.post("/host/listings/<int:listing_id>/photos/<int:image_id>/delete")
@role_required("host")
def host_listing_photo_remove(listing_id: int, image_id: int):
    listing = get_host_listing(current_user, listing_id)
    back = url_for("tourism.host_listing_edit", listing_id=listing.id)
    number = next((n for n, image in enumerate(listing.images, start=1) if image.id == image_id), None)
    if number is not None:  # a photo no longer there (a second tap) has nothing to confirm
        page = ask_first(_("确认删除照片 %(n)s？需要时请重新上传。", n=number), back=back)
        if page is not None:
            return page
    if remove_listing_photo(listing, image_id, actor=current_user, now=now_utc()):
        commit()
    flash(_("照片已删除"), "success")
    return redirect(back, 303)


def _host_edit_saved(
    listing_id: int, save: Callable[[], Any], form, forms: dict, *, default, said: str, code: int = 302
):
    """A valid form of the host's listing page: `save()` committed, `said` and back to the page (`code`); refused,
    the message under the field it names (else `default`, `_refused_on_field`) and the page again with the listing
    as stored and the form as typed (`forms`: `render_host_edit`'s slot of it)."""
    try:
        save()
        commit()
    except DomainError as exc:
        _refused_on_field(form, exc, default=default)
        return render_host_edit(get_host_listing(current_user, listing_id), status=exc.status, **forms)
    flash(said, "success")
    return redirect(url_for("tourism.host_listing_edit", listing_id=listing_id), code)


def _refused_on_field(form, exc: DomainError, *, default) -> None:
    """A service refused the edit: roll back and show its message under the field it names
    (`price_fen` -> the `price` field), else under `default`."""
    rollback()
    name = next(iter(exc.fields), "").removesuffix("_fen")
    getattr(form, name, default).errors = [exc.message]


@bp.get("/host/listings/<int:listing_id>/edit")
@role_required("host")
def host_listing_edit(listing_id: int):
    return render_host_edit(get_host_listing(current_user, listing_id))


@bp.post("/host/listings/<int:listing_id>/edit")
@role_required("host")
def host_listing_update(listing_id: int):
    """Description, what is included, cancellation policy, pay on arrival, open for bookings."""
    listing = get_host_listing(current_user, listing_id)
    form = ListingTermsForm()
    if not form.validate_on_submit():
        return render_host_edit(listing, terms_form=form, status=422)
    terms = ListingTerms(
        description=form.description.data or "",
        included=form.included.data or "",
        free_cancel_days=form.free_cancel_days.data,
        cancel_fee_pct=form.cancel_fee_pct.data,
        pay_on_arrival=bool(form.pay_on_arrival.data),
        is_published=bool(form.is_published.data),
    )
    return _host_edit_saved(
        listing_id,
        lambda: update_listing_terms(listing, terms, actor=current_user, now=now_utc(), shown=form.shown.data or None),
        form,
        {"terms_form": form},
        default=form.free_cancel_days,
        said=_("已保存"),
    )


@bp.post("/host/listings/<int:listing_id>/unit-types/<int:unit_type_id>")
@role_required("host")
def host_unit_type_update(listing_id: int, unit_type_id: int):
    """Prices (weekday, weekend, holiday), number of rooms or daily tickets, guests per room."""
    listing = get_host_listing(current_user, listing_id)
    unit_type = next((ut for ut in listing.unit_types if ut.id == unit_type_id), None)
    if unit_type is None:
        abort(404)
    form = _unit_type_form(unit_type, formdata=request.form)
    if not form.validate_on_submit():
        return render_host_edit(listing, unit_forms={unit_type.id: form}, status=422)
    return _host_edit_saved(
        listing_id,
        lambda: update_unit_type(
            listing,
            unit_type.id,
            price_fen=form.price.fen,
            weekend_price_fen=form.weekend_price.fen,
            holiday_price_fen=form.holiday_price.fen,
            units=form.units.data,
            max_guests=form.max_guests.data,
            actor=current_user,
            now=now_utc(),
            shown=form.shown.data or None,
        ),
        form,
        {"unit_forms": {unit_type_id: form}},
        default=form.price,
        said=_("已保存：%(name)s", name=unit_type.name),
    )


@bp.post("/host/listings/<int:listing_id>/close")
@role_required("host")
def host_close_dates(listing_id: int):
    listing = get_host_listing(current_user, listing_id)
    form = CloseDatesForm()
    if not form.validate_on_submit():
        return _render_host_listing(listing, form, 422)
    start, end = form.start.data, form.end.data
    if end < start or (end - start).days > 366:
        form.end.errors = [_("结束日期必须不早于开始日期，且不超过一年")]
        return _render_host_listing(listing, form, 422)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    try:  # a closure that would be refused is refused now, not after its confirmation step
        closure_reason(form.reason.data)
    except DomainError as exc:  # too long: said under the reason, as typed
        form.reason.errors = [exc.message]
        return _render_host_listing(listing, form, exc.status)
    try:
        check_closable(listing, days, now=now_utc())
    except DomainError as exc:
        form.start.errors = [exc.message]
        return _render_host_listing(listing, form, exc.status)
    if closed_days(listing, days) >= set(days):  # nothing to close: no confirmation step for it
        flash(_("这些日期已经关闭，没有变化"), "info")
        return redirect(_host_calendar_url(listing.id), 303)
    page = ask_first(
        ngettext(
            "确认关闭 %(start)s 至 %(end)s（%(num)s 天）？这些日期将不能预订。",
            "确认关闭 %(start)s 至 %(end)s（%(num)s 天）？这些日期将不能预订。",
            len(days),
            start=start.isoformat(),
            end=end.isoformat(),
        ),
        back=_host_calendar_url(listing.id),
        undo=_("关闭的日期可以在日历上点「开放」逐日重新开放。"),
    )
    if page is not None:
        return page
    try:
        added = close_dates(listing, days, reason=form.reason.data or "", now=now_utc())
    except DomainError as exc:
        if "reason" in exc.fields:
            form.reason.errors = [exc.message]
        else:
            form.start.errors = [exc.message]
        return _render_host_listing(listing, form, exc.status)
    commit()
    if added:
        flash(ngettext("已关闭 %(num)s 天", "已关闭 %(num)s 天", added), "success")
    else:  # a second tap on 确认 (or Back and 确认 again): the first one closed them
        flash(_("这些日期已经关闭，没有变化"), "info")
    return redirect(_host_calendar_url(listing.id))


@bp.post("/host/listings/<int:listing_id>/reopen/<day>")
@role_required("host")
def host_reopen_date(listing_id: int, day: str):
    listing = get_host_listing(current_user, listing_id)
    try:
        parsed = parse_date(day)
    except ValueError:
        abort(400)
    if reopen_date(listing, parsed):
        commit()
        flash(_("已重新开放 %(day)s", day=parsed.isoformat()), "success")
    else:  # a second tap (or Back and 开放 again): the first one opened it
        flash(_("%(day)s 已经开放，没有变化", day=parsed.isoformat()), "info")
    # back to the month of the day tapped, not this month's (a day in March reopened from March's page)
    return redirect(_host_calendar_url(listing.id, month=parsed.strftime("%Y-%m")), 303)


def _ask_host_first(booking: Booking, question: str, *, back: str):
    """The confirmation step of a host's action on `booking` that its guest is told of (标记未到店, 取消):
    `question`, a msgid marked with `N_` naming the booking's %(code)s and the guest's %(name)s (name, or
    e-mail), asked in the host's language. None once confirmed (`shop.confirm.ask_first`)."""
    return ask_first(_(question, code=booking.code, name=booking.user.name or booking.user.email), back=back)


@bp.post("/host/bookings/<code>/no-show")
@role_required("host")
def host_no_show(code: str):
    booking = get_booking_for_host(code, current_user)
    # back where the host tapped it: today's arrivals on the desk (`back=home`, kept through the
    # confirmation step as its hidden field) or the listing's month
    if request.form.get("back") == "home":
        back = url_for("tourism.host_home")
    else:
        back = _host_calendar_url(booking.listing_id)
    if not no_show_marked_already(booking):  # done already: nothing to confirm, `mark_no_show` says so
        refusal = no_show_refusal(booking, now=now_utc())
        if refusal is not None:  # e.g. before the session's start: said at once, nothing to confirm
            flash(refusal.message, "error")
            return redirect(back)
        page = _ask_host_first(booking, N_("确认将预订 %(code)s（%(name)s）标记为未到店？客人会收到通知。"), back=back)
        if page is not None:
            return page
    with flash_domain_errors():  # the service asks the same rule again (the time has not stood still)
        marked = mark_no_show(booking, actor=current_user, now=now_utc())
        commit()  # also when marked already: its lock is not held to the teardown
        if not marked:  # a second tap, or after Back
            flash(_("已标记未到店：%(code)s", code=booking.code), "info")
            return redirect(back, 303)
        flash(_("已标记未到店：%(code)s", code=booking.code), "success")
    return redirect(back)


@bp.post("/host/bookings/<code>/refund-kept")
@role_required("host")
def host_refund_kept(code: str):
    """Give back the fee or no-show charge a booking kept; the households' credit of it is reversed."""
    booking = get_booking_for_host(code, current_user)
    page = ask_first(
        _("确认向客人退还预订 %(code)s 保留的款项？", code=booking.code),
        back=_host_calendar_url(booking.listing_id),
    )
    if page is not None:
        return page
    try:
        amount = refund_kept(booking, actor=current_user, now=now_utc(), reason="host refunded the kept money")
        commit()
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
    else:
        flash(_("已退还 %(amount)s：%(code)s", amount=format_yuan(amount), code=booking.code), "success")
    return redirect(_host_calendar_url(booking.listing_id))


@bp.get("/host/bookings/<code>/cancel")
@role_required("host")
def host_cancel_form(code: str):
    """取消预订 of the host's calendar or desk: why (for the guest), and the step's confirmation in one page."""
    booking = get_booking_for_host(code, current_user)
    back = _host_cancel_back(booking)
    if booking_canceled_already(booking):  # Back to this page after cancelling: done, not refused
        flash(_("预订已取消"), "info")
        return redirect(back, 303)
    refusal = host_cancel_refusal(booking, booking.order)
    if refusal is not None:
        flash(refusal.message, "error")
        return redirect(back, 303)
    return _render_host_cancel(booking, HostCancelForm(), back)


def _host_cancel_back(booking: Booking) -> str:
    """Where the host's 取消预订 goes back to: the desk it was tapped on (`?back=home`: today's arrivals, the
    overdue list) or the listing's calendar on the month and room type the host was looking at."""
    if request.args.get("back") == "home":
        return url_for("tourism.host_home")
    return _host_calendar_url(booking.listing_id)


def _render_host_cancel(booking: Booking, form: HostCancelForm, back: str, status: int = 200):
    return render_template(
        "tourism/host_cancel.html",
        booking=booking,
        form=form,
        back=back,
        from_desk=request.args.get("back") == "home",
        question=_(
            "确认取消预订 %(code)s（%(name)s）？客人会收到通知。",
            code=booking.code,
            name=booking.user.name or booking.user.email,
        ),
    ), status


@bp.post("/host/bookings/<code>/cancel")
@role_required("host")
def host_cancel(code: str):
    """Release an unpaid pay-on-arrival booking with the reason the host gives; the guest is told by e-mail."""
    booking = get_booking_for_host(code, current_user)
    back = _host_cancel_back(booking)
    form = HostCancelForm()
    if not booking_canceled_already(booking):  # done already: nothing to confirm, the service says so
        refusal = host_cancel_refusal(booking, booking.order)
        if refusal is not None:  # refused at once, as the service would, never confirmed first
            flash(refusal.message, "error")
            return redirect(back)
        if not form.validate_on_submit():
            return _render_host_cancel(booking, form, back, 422)
        try:  # no reason, or too long: said under it, as typed
            host_cancel_reason(form.reason.data)
        except DomainError as exc:
            form.reason.errors = [exc.message]
            return _render_host_cancel(booking, form, back, exc.status)
        # the page's button is the confirmation; a POST from elsewhere is asked first, its reason kept
        page = _ask_host_first(booking, N_("确认取消预订 %(code)s（%(name)s）？客人会收到通知。"), back=back)
        if page is not None:
            return page
    with flash_domain_errors():
        if not host_cancel_booking(booking, actor=current_user, now=now_utc(), reason=form.reason.data):
            flash(_("预订已取消"), "info")  # a second tap, or after Back
            return redirect(back, 303)
        commit()
        flash(_("已取消预订并通知客人：%(code)s", code=booking.code), "success")
    return redirect(back)
