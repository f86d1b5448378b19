"""The host's 场次 page of an experience: its upcoming sessions, a form adding a run of them, and removing
one nobody has booked (`tourism.services.sessions`). Routes on the tourism blueprint."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from shop.auth.permissions import role_required
from shop.confirm import ask_first
from shop.db import commit, rollback
from shop.errors import DomainError
from shop.forms import create_once, flash_form_errors
from shop.timeutil import local_date, now_utc, to_local
from tourism.forms import AddSessionsForm
from tourism.models import ListingKind
from tourism.services.host import get_host_listing
from tourism.services.sessions import (
    MAX_SESSION_CAPACITY,
    MAX_SESSION_DAYS_AHEAD,
    MAX_SESSION_SPAN_DAYS,
    add_sessions,
    get_host_session,
    parse_start_times,
    remove_session,
    session_removal_refusal,
    upcoming_sessions,
)
from tourism.views import bp

ONCE = "tourism.host_sessions_add"


def _experience(listing_id: int):
    """The host's own experience listing; another host's, or a stay or ticket (no sessions): 404."""
    listing = get_host_listing(current_user, listing_id)
    if listing.kind != ListingKind.EXPERIENCE:
        abort(404)
    return listing


def _add_form(listing, *, formdata=True) -> AddSessionsForm:
    form = AddSessionsForm() if formdata else AddSessionsForm(formdata=None)
    form.unit_type_id.choices = [SelectChoice(ut.id, ut.name) for ut in listing.unit_types]
    if not formdata:
        first = listing.unit_types[0] if listing.unit_types else None
        form.capacity.data = first.units if first is not None and first.units > 0 else None
    return form


def _render(listing, form, status=200):
    if status >= 400:
        flash_form_errors(form)
    now = now_utc()
    today = local_date(now)
    return render_template(
        "tourism/host_sessions.html",
        listing=listing,
        form=form,
        rows=upcoming_sessions(listing, now=now),
        today=today,
        max_capacity=MAX_SESSION_CAPACITY,
        max_days_ahead=MAX_SESSION_DAYS_AHEAD,
        max_span=MAX_SESSION_SPAN_DAYS,
    ), status


@bp.get("/host/listings/<int:listing_id>/sessions")
@role_required("host")
def host_sessions(listing_id: int):
    listing = _experience(listing_id)
    return _render(listing, _add_form(listing, formdata=False))


@bp.post("/host/listings/<int:listing_id>/sessions")
@role_required("host")
def host_sessions_add(listing_id: int):
    """Add a session at each start time of each day of a range; closed days and starts already there are
    skipped, and the flash says how many were added and skipped."""
    listing = _experience(listing_id)
    back = url_for("tourism.host_sessions", listing_id=listing.id)
    form = _add_form(listing)
    if not form.validate_on_submit():
        return _render(listing, form, 422)
    now = now_utc()
    try:
        times = parse_start_times(form.times.data or "")
        result = create_once(  # the same page posted twice: the first POST added them
            form,
            ONCE,
            lambda: add_sessions(
                listing,
                unit_type_id=form.unit_type_id.data or None,
                start=form.start.data,
                end=form.end.data,
                times=times,
                capacity=form.capacity.data,
                actor=current_user,
                now=now,
            ),
            now=now,
            done=back,
        )
    except DomainError as exc:
        rollback()
        name = next(iter(exc.fields), "start")
        field = getattr(form, name, None) or form.start
        field.errors = [*field.errors, exc.message]
        return _render(_experience(listing_id), form, exc.status)
    flash(
        ngettext("已添加 %(num)s 个场次", "已添加 %(num)s 个场次", result.added),
        "success" if result.added else "info",
    )
    if result.skipped_existing:
        flash(
            ngettext(
                "%(num)s 个场次已经存在（或已开始），没有重复添加",
                "%(num)s 个场次已经存在（或已开始），没有重复添加",
                result.skipped_existing,
            ),
            "info",
        )
    if result.skipped_closed:
        flash(
            ngettext(
                "%(num)s 个场次在关闭的日期，没有添加",
                "%(num)s 个场次在关闭的日期，没有添加",
                result.skipped_closed,
            ),
            "info",
        )
    return redirect(back, 303)


@bp.post("/host/listings/<int:listing_id>/sessions/<int:session_id>/delete")
@role_required("host")
def host_session_remove(listing_id: int, session_id: int):
    """Remove a session nobody holds places in, after a confirmation step; one with bookings is refused
    at once (nothing to confirm)."""
    listing = _experience(listing_id)
    back = url_for("tourism.host_sessions", listing_id=listing.id)
    now = now_utc()
    try:
        session = get_host_session(listing, session_id)
    except DomainError:  # gone already (a second tap, Back and confirm again): nothing to remove
        flash(_("该场次已删除"), "info")
        return redirect(back, 303)
    refusal = session_removal_refusal(session, now=now)
    if refusal is not None:
        flash(refusal.message, "error")
        return redirect(back, 303)
    page = ask_first(
        _(
            "确认删除场次 %(start)s？删除后游客不能再预订这一场。",
            start=to_local(session.starts_at).strftime("%Y-%m-%d %H:%M"),
        ),
        back=back,
        undo=_("需要时可以在本页重新添加这一场。"),
    )
    if page is not None:
        return page
    try:
        removed = remove_session(listing, session_id, actor=current_user, now=now_utc())
        commit()
    except DomainError as exc:  # booked between the confirmation and now
        rollback()
        flash(exc.message, "error")
        return redirect(back, 303)
    flash(_("场次已删除") if removed else _("该场次已删除"), "success" if removed else "info")
    return redirect(back, 303)
