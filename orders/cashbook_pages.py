"""The cash-book pages, one handling for every till (a station's /station/cash, a host's /host/cash) —
the HTML side of `orders.cashbook_api`: what the shared partials show (`book_page`), and the two forms,
the daily close (日结) and a remittance or
correction, posted from the shared forms (`orders.forms`, templates/orders/_cashbook_forms.html),
refused before the confirmation when the book would refuse them (`check_close`, `check_move`), asked
first (`shop.confirm.ask_first`), written by the shared service (`orders.services.cashbook`),
committed, said, and back to the till's page.

Each till's route checks who may use the till and passes its owner id, its `Till`, its page's `endpoint`
with the `args` the page keeps (the admin's `station`), for a close the `page(day, form)` that renders its
page with a refused close's form (what was typed kept), and, for a move, its form's once-token name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from orders.forms import CashCloseForm, CashMoveForm, cash_amount_fen
from orders.models import MAX_CASH_NOTE
from orders.services import cashbook as cash
from shop.args import int_or_none
from shop.confirm import ask_first
from shop.db import commit, rollback
from shop.errors import DomainError, flash_domain_errors
from shop.forms import create_once, flash_form_errors
from shop.money import format_yuan
from shop.timeutil import local_date, now_utc


def book_page(
    owner_id: int,
    day: date,
    *,
    till: cash.Till,
    entry_ref: Callable[[Any], Markup],
    close_form: CashCloseForm | None = None,
    move_form: CashMoveForm | None = None,
    day_url: Callable[[date], str] | None = None,
) -> dict:
    """What the shared partials read (templates/orders/_cashbook_book.html, _cashbook_forms.html): the
    till's book of `day`, the day and today, the two forms, the kinds' labels and `entry_ref(entry)`
    (what an entry belongs to, as markup: a shipment, a booking). `close_form`, `move_form`: a refused
    close's or move's own form, so that what was typed is shown again. `day_url(day)`: the till's page of
    another day; with it, a closed day from today on names the open day where the cash taken or paid out
    since goes (`cash.open_day`: a refund approved, a guest checked in after the close), with its link.
    `settled_by`: the later closed day whose count settled this open day (`cash.closed_after`): no close
    is offered then, the page says why.
    `move_to`: the day a remittance or correction posted from this page goes into (`cash.open_day`, the
    API's rule for an entry without a date), or None where the page offers no such form: it is offered on
    a day still open up to today and on the pages from today to the open day, so that cash handed over
    the evening of a 日结 can be recorded at once (into the open day, which the form names)."""
    book = cash.day_book(owner_id, day, till=till)
    today = local_date(now_utc())
    open_day = cash.open_day(owner_id, now_utc(), till=till)
    later = None
    if day_url is not None and book.closed and day >= today:
        later = (open_day, day_url(open_day))
    offered = (not book.closed and day <= today) or today <= day <= open_day
    move_form = move_form or CashMoveForm()
    if offered:  # what this page shows of the till, a refused move's page too: sent again after a look, it is written
        move_form.in_hand_seen.data = str(cash.cash_in_hand(till, owner_id))
    return dict(
        day=day,
        book=book,
        settled_by=None if book.closed else cash.closed_after(owner_id, day, till=till),
        later=later,
        move_to=open_day if offered else None,
        today=today,
        close_form=close_form or CashCloseForm(day=day),
        move_form=move_form,
        kind_label=cash.kind_label,
        entry_ref=entry_ref,
        max_note=MAX_CASH_NOTE,
    )


def say_refusal(exc: DomainError, form) -> None:
    """A refusal said on the page: under its field when it names one of `form`'s fields as too long (a
    reason or note over `MAX_CASH_NOTE`: the field keeps what was typed, the message names the limit),
    else above the forms."""
    for name, problem in exc.fields.items():
        field = getattr(form, name, None)
        if problem == "too_long" and field is not None:
            field.errors = [exc.message]
            return
    flash(exc.message, "error")


def close_day_posted(
    owner_id: int,
    *,
    till: cash.Till,
    endpoint: str,
    args: dict | None = None,
    page: Callable[..., Any],
):
    """The daily close posted: the count read, checked, asked, written; back to the page of its day.
    Refused (no count, a count that is no amount, a difference without its reason, …), it answers the
    till's page `page(day, close_form=form)` with the count and the reason as typed and the refusal said above them
    (422, or the refusal's status), not a redirect to an empty form: the keeper does not count again."""
    form = CashCloseForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return page(form.day.data or local_date(now_utc()), close_form=form), 422
    counted = cash_amount_fen(form.counted.data)
    day = form.day.data
    back = url_for(endpoint, date=day.isoformat(), **(args or {}))
    if counted is None:
        flash(_("请输入正确的金额，例如 12.50"), "error")
        return page(day, close_form=form), 422
    note = form.note.data or ""
    try:
        cash.check_close(owner_id, day, counted_fen=counted, note=note, now=now_utc(), till=till)
        question = _(
            "确认 %(day)s 日结，清点现金 %(amount)s？日结后当天的现金账不能再更改。",
            day=day.isoformat(),
            amount=format_yuan(counted),
        )
        asked = ask_first(question, back=back)
        if asked is not None:
            return asked
        cash.close_day(owner_id, day, counted_fen=counted, note=note, actor=current_user, now=now_utc(), till=till)
        commit()
    except DomainError as exc:
        rollback()
        say_refusal(exc, form)
        return page(day, close_form=form), exc.status
    flash(_("%(day)s 已日结", day=day.isoformat()), "success")
    return redirect(back)


def move_posted(
    owner_id: int,
    *,
    till: cash.Till,
    endpoint: str,
    args: dict | None = None,
    once: str,
    page: Callable[..., Any],
):
    """A remittance or a correction posted: the amount read (signed), checked, asked, written once (the
    form's token claimed as `once`); back to the page. Refused before the confirmation (no amount, an
    amount that is no amount, a move the book refuses: more than the cash in hand, a correction without
    its reason), it answers today's page `page(day, move_form=form)` with what was typed kept (422, or
    the refusal's status). A form sent twice (its token already claimed) goes back to the page. The entry
    goes into the open day (`cash.open_day`: today, or the first day after it not closed yet), which the
    confirmation names; back to that day's page, where it is listed."""
    today = local_date(now_utc())
    day = cash.open_day(owner_id, now_utc(), till=till)  # where it goes, as the page said (`book_page`)
    back = url_for(endpoint, **({"date": day.isoformat()} if day != today else {}), **(args or {}))
    form = CashMoveForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return page(today, move_form=form), 422
    amount = cash_amount_fen(form.amount.data, signed=True)  # a minus on a remittance is refused by its rule
    if amount is None:
        flash(_("请输入正确的金额，例如 12.50"), "error")
        return page(today, move_form=form), 422
    remittance = form.kind.data == "remittance"
    reason = form.reason.data or ""
    seen = int_or_none(form.in_hand_seen.data)  # the cash in hand the page showed
    try:
        cash.check_move(owner_id, form.kind.data, amount, reason=reason, till=till, seen_in_hand=seen)
    except DomainError as exc:
        rollback()
        say_refusal(exc, form)
        return page(today, move_form=form), exc.status
    with flash_domain_errors():
        question = (
            _(
                "确认上缴现金 %(amount)s，记入 %(day)s 的现金账？",
                amount=format_yuan(amount),
                day=day.isoformat(),
            )
            if remittance
            else _(
                "确认记一笔更正 %(amount)s，记入 %(day)s 的现金账？",
                amount=format_yuan(amount),
                day=day.isoformat(),
            )
        )
        asked = ask_first(question, back=back)
        if asked is not None:
            return asked
        now = now_utc()

        def write():
            if remittance:
                return cash.remit(
                    owner_id, amount, actor=current_user, now=now, note=reason, till=till, seen_in_hand=seen
                )
            return cash.correct(
                owner_id, amount, reason=reason, actor=current_user, now=now, till=till, seen_in_hand=seen
            )

        create_once(form, once, write, now=now, done=back)
        flash(_("已记入现金账"), "success")
    return redirect(back)
