"""HTML pages of invoices: the buyer asks for one (per order or per period), lists and downloads them;
the selling station lists its requests and records the invoices it issued and the red invoices after a
refund. Thin routes: parse -> load/404 -> one service -> commit() -> redirect."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required

from invoices.files import MIMETYPES, absolute_path
from invoices.models import Invoice, InvoiceKind
from invoices.services import invoices as svc
from shop import once
from shop.args import MAX_ID, int_or_none
from shop.auth.models import Role
from shop.auth.permissions import role_required
from shop.confirm import ask_first
from shop.db import commit
from shop.errors import ValidationError, flash_domain_errors
from shop.forms import OnceTokenForm, create_once
from shop.kept_form import restored as restored_form
from shop.money import MoneyError, parse_yuan
from shop.timeutil import local_date, now_utc

bp = Blueprint("invoices", __name__)

DETAIL_FIELDS = ("kind", "title", "tax_number", "address", "phone", "bank", "account")
LIMITS = {"title": 200, "tax_number": 40, "address": 400, "phone": 40, "bank": 200, "account": 80}


@bp.app_template_global("order_invoice_state")
def _order_invoice_state(order) -> str | None:
    """The order page's 待开票 / 已开票 (None when no invoice was asked for)."""
    return svc.order_invoice_state(order)


#: Labels for the templates, translated when shown (lazy), not on every page's render.
INVOICE_KIND_LABELS = {InvoiceKind.ORDINARY: _l("增值税普通发票"), InvoiceKind.SPECIAL: _l("增值税专用发票")}
INVOICE_STATUS_LABELS = {"requested": _l("待开票"), "issued": _l("已开票"), svc.NOT_NEEDED: _l("无需开票")}


@bp.app_context_processor
def _labels() -> dict:
    return {"invoice_kind_labels": INVOICE_KIND_LABELS, "invoice_status_labels": INVOICE_STATUS_LABELS}


def _details_from_form() -> svc.InvoiceDetails:
    values = {name: request.form.get(name, "")[: LIMITS.get(name, 20)] for name in DETAIL_FIELDS}
    return svc.InvoiceDetails(**values)


def _date(name: str, source=None) -> date | None:
    """The date field `name` of the posted form (or of `source`, e.g. the link's query), or None."""
    try:
        return date.fromisoformat((request.form if source is None else source).get(name, "")[:10])
    except ValueError:
        return None


def _linked_period_form(rights) -> dict[str, str]:
    """What the period form starts with when reached by a link (`?organisation_id=&from=&to=`, as the
    organisation's statement of a period links it): whose orders, the organisation's title and tax number
    (`svc.suggested_period_details`), the period's dates when they are dates."""
    raw = request.args.get("organisation_id", "")
    asked = int_or_none(raw, maximum=MAX_ID)
    organisation_id = svc.period_organisation_id(rights, asked)
    form = {"organisation_id": str(organisation_id or ""), **svc.suggested_period_details(rights, organisation_id)}
    for name in ("from", "to"):
        day = _date(name, request.args)
        if day is not None:
            form[name] = day.isoformat()
    return form


# --- the buyer ----------------------------------------------------------------------------------------


@bp.route("/orders/<code>/invoice", methods=["GET", "POST"])
@login_required
def request_order(code: str):
    order = svc.get_order_for_invoice(code, current_user)
    if request.method == "POST":
        with flash_domain_errors():
            svc.request_for_order(order, _details_from_form(), user=current_user, now=now_utc())
            commit()
            flash(_("已申请发票，站点开具后可在“我的发票”下载"), "success")
            return redirect(url_for(".mine"), 303)
    return render_template(
        "invoices/request.html",
        order=order,
        # an organisation's order starts with its name and credit code (what was typed wins)
        form=request.form if request.method == "POST" else (restored_form() or svc.suggested_details(order)),
        state=svc.order_invoice_state(order),
        action=url_for(".request_order", code=code),
    ), (422 if request.method == "POST" else 200)


@bp.route("/invoices/period", methods=["GET", "POST"])
@login_required
def request_period():
    rights = svc.invoice_organisations(current_user)
    if request.method == "POST":
        raw_org = request.form.get("organisation_id", "")
        organisation_id = int_or_none(raw_org, maximum=MAX_ID)
        with flash_domain_errors():
            now = now_utc()
            start, end = _date("from"), _date("to")
            if start is None or end is None:
                raise ValidationError("invoice_invalid_period", fields={"from": "invalid"})
            details = _details_from_form()
            created = create_once(  # the same page posted twice: the first POST's requests are listed there
                OnceTokenForm(),
                "invoice-period",
                lambda: svc.request_for_period(
                    details, start=start, end=end, organisation_id=organisation_id, user=current_user, now=now
                ),
                now=now,
                done=url_for(".mine"),
            )
            flash(ngettext("已申请 %(num)s 张发票", "已申请 %(num)s 张发票", len(created)), "success")
            return redirect(url_for(".mine"), 303)
    today = local_date(now_utc())
    return render_template(
        "invoices/period.html",
        organisations=rights,
        default_organisation_id=svc.default_period_organisation_id(rights),
        # reached by a link: whose orders, their title and tax number, the period (what was typed wins)
        form=request.form if request.method == "POST" else (restored_form() or _linked_period_form(rights)),
        form_token=once.new_form_token(),
        default_from=today.replace(day=1).isoformat(),
        default_to=today.isoformat(),
    ), (422 if request.method == "POST" else 200)


@bp.get("/invoices")
@login_required
def mine():
    invoices = svc.invoices_of(current_user)
    return render_template("invoices/mine.html", invoices=invoices, figures=svc.figures_of(invoices))


@bp.get("/invoices/<int:invoice_id>")
@login_required
def detail(invoice_id: int):
    invoice = svc.get_visible_invoice(invoice_id, current_user)
    figures = svc.figures_of([invoice])[invoice.id]  # as the lists and the API read them
    return render_template(
        "invoices/detail.html",
        invoice=invoice,
        state=figures.state,
        may_issue=svc.may_issue(invoice, current_user),
        available_fen=figures.available_fen,
        station_parts=svc.station_parts_fen(invoice),
        red_due_fen=figures.red_due_fen,
        net_fen=svc.net_amount_fen(invoice) if invoice.status == "issued" and invoice.red_of_id is None else None,
        reds=svc.reds_of(invoice),
        today=local_date(now_utc()).isoformat(),
    )


@bp.get("/invoices/<int:invoice_id>/file")
@login_required
def download(invoice_id: int):
    invoice = svc.get_visible_invoice(invoice_id, current_user)
    if not invoice.file_path:
        abort(404)
    response = send_file(
        absolute_path(invoice.file_path),
        mimetype=MIMETYPES[invoice.file_format],
        as_attachment=True,
        download_name=f"invoice-{invoice.number}.{invoice.file_format}",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- the station ----------------------------------------------------------------------------------------


def _issued_data() -> svc.IssuedData:
    try:
        amount = parse_yuan(request.form.get("amount", "")[:20])
    except MoneyError:
        amount = None
    return svc.IssuedData(number=request.form.get("number", "")[:40], issued_on=_date("issued_on"), amount_fen=amount)


@bp.post("/invoices/<int:invoice_id>/issue")
@login_required
def issue(invoice_id: int):
    invoice = svc.get_visible_invoice(invoice_id, current_user)
    if not svc.may_issue(invoice, current_user):
        abort(403)
    back = url_for(".detail", invoice_id=invoice.id)
    page = ask_first(_("确认登记发票？"), back=back)
    if page is not None:
        return page
    with flash_domain_errors():
        svc.issue_invoice(invoice, _issued_data(), request.files.get("file"), actor=current_user, now=now_utc())
        commit()
        flash(_("发票已登记"), "success")
    return redirect(back, 303)


@bp.post("/invoices/<int:invoice_id>/red")
@login_required
def red(invoice_id: int):
    invoice = svc.get_visible_invoice(invoice_id, current_user)
    if not svc.may_issue(invoice, current_user):
        abort(403)
    back = url_for(".detail", invoice_id=invoice.id)
    page = ask_first(_("确认登记红字发票？"), back=back)
    if page is not None:
        return page
    data = _issued_data()
    if data.amount_fen is not None and data.amount_fen > 0:
        data.amount_fen = -data.amount_fen  # the form asks for the amount reversed
    with flash_domain_errors():
        svc.record_red_invoice(invoice, data, request.files.get("file"), actor=current_user, now=now_utc())
        commit()
        flash(_("红字发票已登记"), "success")
    return redirect(back, 303)


@bp.get("/station/invoices")
@role_required("operator")
def station_list():
    station_id = current_user.station_id
    if current_user.role == Role.ADMIN:
        raw = request.args.get("station", "")
        station_id = int_or_none(raw, maximum=MAX_ID)
    invoices: list[Invoice] = svc.station_invoices(station_id) if station_id else []
    return render_template(
        "invoices/station.html", invoices=invoices, figures=svc.figures_of(invoices), station_todo=True
    )
