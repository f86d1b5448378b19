"""A confirmation step before every irreversible action, with no JavaScript needed.

The view of an irreversible POST (ship, deliver, hand over, cancel, a refund decision, the daily cash
close, a county approval or status change, a closure…) calls `ask_first` once it has found the object,
validated the form and asked the service's predicate whether the action may be taken now (a refused
action is refused at once, as the action would refuse it, never confirmed first and refused after),
before the service runs:

    page = ask_first(_("确认交付发货单 %(code)s？交付后不能撤销。", code=s.code), back=url_for(...))
    if page is not None:
        return page

A POST without `confirm=1` changes nothing: the answer (200) is a page that says what will happen, with
the same form fields re-posted as hidden inputs, a button that adds `confirm=1`, and a way back. The
button the action's own page shows can carry `confirm=1` itself when that page already is the
confirmation (e.g. the order's cancel page). Tests: tests/shop/test_confirm_steps.py.
"""

from __future__ import annotations

from flask import render_template, request

CONFIRM_FIELD = "confirm"


def confirmed() -> bool:
    """Whether this POST is the confirmed one."""
    return request.form.get(CONFIRM_FIELD) == "1"


def ask_first(
    question: str, *, back: str, details: list[str] | tuple = (), button: str | None = None, undo: str | None = None
):
    """None when the POST is confirmed; else the confirmation page (nothing changed). The page says the
    action cannot be undone, unless `undo` says how it can be (a closure reopened day by day)."""
    if confirmed():
        return None
    fields = [
        (name, value) for name, value in request.form.items(multi=True) if name not in ("csrf_token", CONFIRM_FIELD)
    ]
    action = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    return render_template(
        "confirm.html",
        question=question,
        details=list(details),
        fields=fields,
        action=action,
        back=back,
        button=button,
        undo=undo,
    )
