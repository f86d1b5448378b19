"""HTML views of the county office (县扶贫办), all under /county, role county (admin passes).

Thin routes: parse → load/404 → one service → commit → respond. Personal data only ever reaches a
template masked (`household_row`), except the one value a reveal POST returns, which is audited.
"""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext, pgettext
from flask_login import current_user
from sqlalchemy.orm import selectinload

from catalog import changes, papers
from catalog.changes import pending_changes
from catalog.models import (
    HOUSEHOLD_STATUS_LABELS,
    MAX_DECISION_NOTE,
    BenefitLink,
    Household,
    Product,
    Township,
    Village,
)
from catalog.services import decision_note, household_labels
from county import recording
from county.exports import export_response
from county.services import (
    approvals,
    benefits,
    cards,
    links,
    payouts,
    reconcile,
    registry,
    reports,
    sales,
    targets,
)
from county.services.public import public_benefit_summary
from institutions.services import organisations
from shop.args import MAX_ID, page_date_arg, page_month_arg, parse_int
from shop.args import date_arg as _date_arg
from shop.args import int_arg as _int_arg
from shop.audit import COUNTY_ACTIONS
from shop.audit_views import audit_page
from shop.auth.models import Role
from shop.auth.permissions import role_required
from shop.codes import typed_number
from shop.confirm import ask_first, confirmed, content_digest, keep_upload, kept_upload
from shop.db import commit, rollback
from shop.errors import DomainError, ValidationError, flash_domain_errors
from shop.extensions import db
from shop.filters import local_dt
from shop.forms import OnceTokenForm, create_once
from shop.money import format_yuan
from shop.once import AlreadySubmitted, claim_or_refuse, new_form_token
from shop.personal_data import mask_name
from shop.timeutil import local_date, now_utc
from shop.urls import same_site_path
from stations.services import recalls
from stock.models import LotStatus, Station
from tourism.models import Listing
from tourism.services.booking import LATE_CHECK_IN_DAYS
from tourism.services.overdue import past_late_check_in

bp = Blueprint("county", __name__, url_prefix="/county")

county_only = role_required("county")
FORMATS = ("xlsx", "csv")


@bp.after_request
def _no_store(response):
    # county pages carry personal data (masked) and revealed values: never cache them
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def _desk():
    return {"county_desk": _county_desk}


def _county_desk() -> bool:
    """Whether the signed-in account is a county officer, for the office's menu on the pages of its desk
    other packages serve (templates/county/_workspace.html); an admin sees those pages alone."""
    return current_user.is_authenticated and current_user.role == Role.COUNTY


def _export_format() -> str | None:
    fmt = request.args.get("format", "")
    if not fmt:
        return None
    if fmt not in FORMATS:
        abort(400, _("导出格式须为 xlsx 或 csv"))
    return fmt


def _villages():
    """The villages a county form offers, by township: each is named with its township (三江镇 · 新村), since
    two townships may each have a village of one name and a bare 新村 twice could not be told apart."""
    return db.session.scalars(
        db.select(Village)
        .join(Township, Township.id == Village.township_id)
        .options(selectinload(Village.township))
        .order_by(Township.name, Village.name)
    ).all()


# --- dashboard, income, targets ----------------------------------------------------------------


@bp.get("/audit")
@county_only
def audit():
    """操作日志 of the office's records (`shop.audit.COUNTY_ACTIONS`: reveals, approvals, payouts, hidden
    reviews...), whoever made them; `?format=csv` for the file. Accounts and the admin's places are not here."""
    return audit_page(template="county/audit.html", actions=COUNTY_ACTIONS, export_name="county-audit-log")


@bp.get("/")
@county_only
def dashboard():
    date_from, date_to, status = _range_args()
    return render_template(
        "county/dashboard.html",
        totals=reports.income_total(date_from, date_to),
        months=reports.income_by("month", date_from, date_to),
        villages=reports.income_by("village", date_from, date_to)[:10],
        progress=targets.progress(),
        pending=len(approvals.pending_products()),
        pending_organisations=organisations.pending_count(),
        date_from=date_from,
        date_to=date_to,
    ), status


def _range_args(*, export: bool = False) -> tuple:
    """(from, to, status) of a report's date filter. A date typed wrong into the URL (2026-13-45) or a
    reversed range on a page is explained on the page (422, the whole period shown) instead of a bare
    400; an export refuses it (400 with the reason), since a file of the wrong period is worse than none."""
    if export:
        date_from, date_to = _date_arg("from"), _date_arg("to")
    else:
        everything = _("已显示全部日期的数据")
        date_from, from_status = page_date_arg("from", label=_("开始日期"), instead=everything)
        date_to, to_status = page_date_arg("to", label=_("结束日期"), instead=everything)
        if 422 in (from_status, to_status):
            return None, None, 422
    if date_from and date_to and date_from > date_to:
        if export:
            abort(400, _("开始日期晚于结束日期"))
        flash(_("开始日期晚于结束日期，已显示全部日期的数据；请重新选择日期。"), "error")
        return None, None, 422
    return date_from, date_to, 200


@bp.get("/income")
@county_only
def income():
    group_by = request.args.get("group_by", "village")
    if group_by not in reports.GROUPS:
        abort(400, _("未知的分组方式"))
    fmt = _export_format()
    date_from, date_to, status = _range_args(export=bool(fmt))
    try:
        rows, totals = reports.income_report(group_by, date_from, date_to)
    except ValidationError as exc:
        abort(400, exc.message)
    sales = reports.sale_figures(group_by, date_from, date_to)
    if fmt and request.args.get("table") == "sales":
        return export_response(fmt, f"sales-by-{sales['group_by']}", reports.SALE_COLUMNS, sales["rows"])
    if fmt:
        return export_response(fmt, f"income-by-{group_by}", reports.INCOME_COLUMNS, rows)
    return render_template(
        "county/income.html",
        sales=sales,
        rows=rows,
        group_by=group_by,
        groups=reports.GROUPS,
        kind_columns=reports.KIND_COLUMNS,
        totals=totals,
        date_from=date_from,
        date_to=date_to,
    ), status


@bp.get("/targets")
@county_only
def targets_page():
    progress = targets.progress()
    fmt = _export_format()
    if fmt:
        columns = [
            ("title", _("目标")),
            ("target", _("目标值")),
            ("actual", _("完成")),
            ("unit_title", pgettext("measure", "单位")),
            ("percent", _("完成率%")),
        ]
        return export_response(fmt, "targets", columns, progress)
    return render_template("county/targets.html", progress=progress)


@bp.get("/reconcile")
@county_only
def reconcile_page():
    result = reconcile.check()
    fmt = _export_format()
    if fmt:
        columns = [
            ("line_id", _("订单行")),
            ("order_id", _("订单")),
            ("title", _("商品")),
            ("kind", _("类型")),
            ("problem", _("问题")),
            ("expected_fen", _("应入账")),
            ("credited_fen", _("已入账")),
            ("reversed_fen", _("已冲销")),
        ]
        return export_response(fmt, "reconciliation", columns, result["discrepancies"])
    return render_template("county/reconcile.html", result=result)


@bp.get("/overdue-bookings")
@county_only
def overdue_bookings():
    """Bookings still confirmed more than LATE_CHECK_IN_DAYS days after their check-out: never completed, so
    never credited; per listing and host. Read only: the host decides (标记未到店 moves money)."""
    return render_template(
        "county/overdue_bookings.html",
        listings=past_late_check_in(now=now_utc()),
        late_check_in_days=LATE_CHECK_IN_DAYS,
    )


# --- household registry ------------------------------------------------------------------------


@bp.get("/households")
@county_only
def households():
    status = request.args.get("status") or None
    if status and status not in HOUSEHOLD_STATUS_LABELS:
        abort(400, _("未知状态"))
    f = registry.HouseholdQuery(village_id=_int_arg("village"), status=status, page=_int_arg("page") or 1)
    fmt = _export_format()
    if fmt:
        return export_response(fmt, "households", registry.EXPORT_COLUMNS, registry.export_rows(f))
    found, total = registry.search_households(f)
    return render_template(
        "county/households.html",
        rows=[registry.household_row(h) for h in found],
        total=total,
        page=f.page,
        pages=max(1, -(-total // f.per_page)),
        villages=_villages(),
        statuses=HOUSEHOLD_STATUS_LABELS,
        f=f,
    )


@bp.post("/households/find")
@county_only
def household_find():
    """Look a household up by its registry number: a POST, so the number never lands in a URL or access log."""
    # typed in full-width mode (３６０１…): the number registered is ASCII (registry.REGISTRY_RE)
    typed = typed_number(request.form.get("registry_no", "")[:40])
    found, _total = registry.search_households(registry.HouseholdQuery(q=typed, per_page=2))
    found = [h for h in found if h.registry_no_hash == registry.lookup_hash(typed)]
    if not found:
        flash(_("没有该登记号的农户"), "error")
        return redirect(url_for("county.households"))
    return redirect(url_for("county.household_detail", household_id=found[0].id))


@bp.post("/households/find-name")
@county_only
def household_find_name():
    """The households whose head has exactly this name (spaces aside), matched through its keyed hash, shown as
    the list shows them (masked). A POST, so the name never lands in a URL or access log; nor is it written back
    into the page."""
    name = request.form.get("head_name", "")
    if not name.strip() or len(name.strip()) > registry.MAX_HEAD_NAME:
        flash(_("请输入户主的完整姓名"), "error")
        return redirect(url_for("county.households"))
    f = registry.HouseholdQuery(head_name=name)
    found, total = registry.search_households(f)
    return render_template(
        "county/households.html",
        rows=[registry.household_row(h) for h in found],
        total=total,
        page=1,
        pages=1,
        villages=_villages(),
        statuses=HOUSEHOLD_STATUS_LABELS,
        f=registry.HouseholdQuery(),
        by_name=True,
    )


def _int_or_none(text: str, maximum: int) -> int | None:
    try:
        return parse_int(text, minimum=1, maximum=maximum)
    except ValueError:
        return None  # the service names the missing or wrong field


def _household_data(form) -> registry.HouseholdData:
    return registry.HouseholdData(
        village_id=_int_or_none(form.get("village_id", ""), MAX_ID),
        head_name=form.get("head_name", "")[:40],
        registry_no=form.get("registry_no", "")[:40],
        id_number=form.get("id_number", "")[:20],
        phone=form.get("phone", "")[:20],
        members=_int_or_none(form.get("members", ""), 999),
        status=form.get("status", "poor"),
    )


@bp.route("/households/new", methods=["GET", "POST"])
@county_only
def household_new():
    errors = {}
    status = 200
    if request.method == "POST":
        now = now_utc()
        try:
            household = create_once(  # the same page posted twice (a double tap, Back and send again): one
                OnceTokenForm(),  # household, and the second POST is told so, not "登记号重复"
                "county.household_new",
                lambda: registry.create_household(_household_data(request.form), actor=current_user, now=now),
                now=now,
                done=url_for("county.households"),
            )
            flash(_("已登记该户"), "success")
            return redirect(url_for("county.household_detail", household_id=household.id))
        except ValidationError as exc:
            rollback()
            errors, status = exc.fields, 422
        except DomainError as exc:  # a page without its token (an expired or tampered form)
            rollback()
            flash(exc.message, "error")
            status = 409
    # never echo personal data back: the form is re-shown empty except village/members
    return render_template(
        "county/household_form.html",
        household=None,
        errors=errors,
        villages=_villages(),
        statuses=HOUSEHOLD_STATUS_LABELS,
        form=request.form,
        form_token=new_form_token(),
    ), status


def _load(household_id: int) -> Household:
    household = db.session.get(Household, household_id)
    if household is None:
        abort(404)
    return household


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@county_only
def household_edit(household_id: int):
    household = _load(household_id)
    errors = {}
    if request.method == "POST":
        try:
            registry.update_household(household, _household_data(request.form), actor=current_user, now=now_utc())
            commit()
            flash(_("已保存"), "success")
            return redirect(url_for("county.household_detail", household_id=household.id))
        except ValidationError as exc:
            rollback()
            household = _load(household_id)
            errors = exc.fields
    return render_template(
        "county/household_form.html",
        household=registry.household_row(household),
        errors=errors,
        villages=_villages(),
        statuses=HOUSEHOLD_STATUS_LABELS,
        form=request.form,
    ), 422 if errors else 200


def _render_detail(household: Household, revealed: dict | None = None):
    return render_template(
        "county/household_detail.html",
        h=registry.household_row(household),
        account=payouts.account_row(payouts.get_account(household)),
        payout=payouts.household_payout_figures(household.id),
        history=registry.status_history(household),
        revealed=revealed or {},
        max_note=registry.MAX_STATUS_NOTE,
        next_statuses=sorted(registry.STATUS_TRANSITIONS.get(household.status, ())),
        statuses=HOUSEHOLD_STATUS_LABELS,
        balance=reports.household_statement(household).closing_fen,
        links=db.session.scalars(
            db.select(Product)
            .join(BenefitLink, BenefitLink.product_id == Product.id)
            .where(BenefitLink.household_id == household.id)
        ).all(),
    )


@bp.get("/households/<int:household_id>")
@county_only
def household_detail(household_id: int):
    return _render_detail(_load(household_id))


def _status_note_fits(note: str) -> bool:
    try:
        registry.status_note(note)
    except ValidationError:
        return False
    return True


@bp.post("/households/<int:household_id>/status")
@county_only
def household_status(household_id: int):
    household = _load(household_id)
    wanted = request.form.get("status", "")
    note = request.form.get("note", "")
    # a refused change (an illegal status, a note too long) says why at once, unconfirmed
    if registry.can_change_status(household, wanted) and _status_note_fits(note):
        page = ask_first(
            _(
                "确认将 %(name)s 户的状态从「%(old)s」改为「%(new)s」？变更会记入台账。",
                name=mask_name(household.head_name),  # personal data masked, as on the page (no reveal here)
                old=_(HOUSEHOLD_STATUS_LABELS[household.status]),
                new=_(HOUSEHOLD_STATUS_LABELS[wanted]),
            ),
            back=url_for("county.household_detail", household_id=household.id),
            undo=_("状态可以再次变更，每次变更都记入台账。"),
        )
        if page is not None:
            return page
    with flash_domain_errors():  # an unknown or illegal status comes back as a message on the page
        registry.change_status(
            household,
            request.form.get("status", ""),
            actor=current_user,
            now=now_utc(),
            note=note,
        )
        commit()
        flash(_("状态已变更"), "success")
    return redirect(url_for("county.household_detail", household_id=household.id))


@bp.post("/households/<int:household_id>/reveal")
@county_only
def household_reveal(household_id: int):
    household = _load(household_id)
    field = request.form.get("field", "")
    value = registry.reveal(household, field, actor=current_user, now=now_utc())
    commit()
    return _render_detail(household, revealed={field: value})


@bp.route("/households/import", methods=["GET", "POST"])
@county_only
def household_import():
    report = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("请选择Excel文件"), "error")
            return render_template("county/household_import.html", report=None), 422
        try:
            report = registry.import_households(upload.stream, actor=current_user, now=now_utc())
        except ValidationError as exc:
            rollback()
            flash(exc.message, "error")
            return render_template("county/household_import.html", report=None), 422
        commit()
    return render_template("county/household_import.html", report=report)


@bp.get("/households/<int:household_id>/statement")
@county_only
def household_statement(household_id: int):
    household = _load(household_id)
    fmt = _export_format()
    date_from, date_to, status = _range_args(export=bool(fmt))
    try:
        statement = reports.household_statement(household, date_from, date_to)
    except ValidationError as exc:
        abort(400, exc.message)
    # the sale each entry came from, named (product, order code): linked to its trace on the page, in the
    # export's own columns beside the line's number (one statement)
    sold = sales.line_names(e["order_line_id"] for e in statement.entries)
    if fmt:
        rows = [
            dict(
                e,
                kind_label=_(e["kind_label"]),  # KIND_LABELS are msgids
                sale_title=sold.get(e["order_line_id"], {}).get("title", ""),
                order_code=sold.get(e["order_line_id"], {}).get("order_code", ""),
            )
            for e in statement.entries
        ]
        return export_response(fmt, f"statement-{household.id}", reports.STATEMENT_COLUMNS, rows)
    return render_template(
        "county/statement.html",
        h=registry.household_row(household),
        s=statement,
        sales=sold,
        # what of it the county has paid (收益发放) and what it still owes, up to the range's end, as the API says
        payout=payouts.household_payout_figures(household.id, until=statement.date_to),
    ), status


@bp.get("/sales/<int:line_id>")
@county_only
def sale_detail(line_id: int):
    """One sale (an order line) traced: what it sold from which lots, how its money was split, every household
    it credited, the refunds that took part back, and the payout batches that paid the shares."""
    trace = sales.sale_trace(line_id) if line_id <= MAX_ID else None
    if trace is None:
        abort(404)
    return render_template("county/sale_detail.html", t=trace, line_statuses=payouts.LINE_STATUS_LABELS)


# --- benefit links -----------------------------------------------------------------------------


@bp.get("/links")
@county_only
def links_index():
    data = links.linked_targets()
    fmt = _export_format()
    if fmt:
        rows = [
            {"type": "product", "id": p.id, "name": p.name, "village": p.village.name, "households": n}
            for p, n in data["products"]
        ]
        rows += [
            {"type": "listing", "id": l.id, "name": l.name, "village": l.village.name, "households": n}
            for l, n in data["listings"]
        ]
        return export_response(
            fmt,
            "benefit-links",
            [
                ("type", _("类型")),
                ("id", _("编号")),
                ("name", _("名称")),
                ("village", _("村")),
                ("households", _("受益户数")),
            ],
            rows,
        )
    return render_template("county/links.html", **data)


@bp.route("/links/<kind>/<int:target_id>", methods=["GET", "POST"])
@county_only
def links_edit(kind: str, target_id: int):
    model = {"product": Product, "listing": Listing}.get(kind)
    if model is None:
        abort(404)
    target = db.session.get(model, target_id)
    if target is None:
        abort(404)
    error = None
    if request.method == "POST":
        try:
            pairs = []
            for hid, weight in zip(request.form.getlist("household_id"), request.form.getlist("weight")):
                if not hid.strip():
                    continue
                try:
                    pairs.append((parse_int(hid, minimum=1, maximum=MAX_ID), parse_int(weight, minimum=1)))
                except ValueError:
                    raise ValidationError("invalid_links", fields={"links": "invalid"}) from None
            if request.form.get("links_text", "").strip():
                pairs += links.parse_links(request.form["links_text"])
            links.set_links(target, pairs, actor=current_user, now=now_utc())
            commit()
            flash(_("利益联结已更新"), "success")
            return redirect(url_for("county.links_edit", kind=kind, target_id=target_id))
        except ValidationError as exc:
            rollback()
            target = db.session.get(model, target_id)
            error = exc.message
    current = links.links_for(target)
    # offer the households of the target's village; others can be typed in by registry id
    nearby = db.session.scalars(
        db.select(Household).where(Household.village_id == target.village_id).order_by(Household.id).limit(500)
    ).all()
    choices = {h.id: h for h in nearby}
    for link in current:
        choices.setdefault(link.household_id, link.household)
    return render_template(
        "county/links_edit.html",
        kind=kind,
        target=target,
        current=current,
        shares=links.shares(current),
        error=error,
        households=list(household_labels(h for _id, h in sorted(choices.items())).items()),
    ), 422 if error else 200


# --- approvals ---------------------------------------------------------------------------------


@bp.get("/approvals")
@county_only
def approvals_index():
    products = approvals.pending_products()
    fmt = _export_format()
    if fmt:
        rows = [
            {
                "id": p.id,
                "name": p.name,
                "village": p.village.name,
                "station": p.station.name,
                "category": p.category.name,
                "price_fen": p.price_fen,
                "unit": p.unit,
            }
            for p in products
        ]
        return export_response(
            fmt,
            "pending-products",
            [
                ("id", _("编号")),
                ("name", _("产品")),
                ("village", _("村")),
                ("station", _("站点")),
                ("category", _("品类")),
                ("price_fen", _("价格")),
                ("unit", pgettext("measure", "单位")),
            ],
            rows,
        )

    changes = pending_changes()
    benefits = approvals.benefit_rows([p.id for p in products] + [c.product_id for c in changes])
    # what the product's food-safety papers lack today (catalog.papers): certified or not, it is not
    # sold while one is missing, so the officer sees it here, next to the photo
    gaps = papers.paper_gaps([p.id for p in products], today=local_date(now_utc()))
    return render_template(
        "county/approvals.html",
        products=products,
        changes=changes,
        benefits=benefits,
        paper_gaps=gaps,
        max_reason=MAX_DECISION_NOTE,
    )


def _ask_decision(decision: str, name: str, gaps=()):
    """The confirmation step of a certification decision (shop.confirm); none for a return without its
    reason or a reason or note too long, which the service refuses at once with its own message (the limit
    named). A return's page shows the reason the station will read, as typed. An approval of a product whose
    food-safety papers lack something (`gaps`, catalog.papers) says it is sold only once they are there, and
    what they lack: never 认定后即可上架销售, which it would not be."""
    reason = request.form.get("reason", "").strip()
    if decision == "reject" and not reason:
        return None
    try:
        decision_note(reason if decision == "reject" else request.form.get("note", ""))
    except ValidationError:
        return None
    if decision == "approve" and gaps:
        return ask_first(
            _("确认认定「%(name)s」？食品安全证件齐全有效后才会上架销售。", name=name),
            details=[gap.message for gap in gaps],
            back=url_for("county.approvals_index"),
        )
    if decision == "approve":
        return ask_first(
            _("确认认定「%(name)s」？认定后即可上架销售。", name=name), back=url_for("county.approvals_index")
        )
    return ask_first(
        _("确认退回「%(name)s」？", name=name),
        details=[_("退回原因：%(reason)s", reason=reason)],
        back=url_for("county.approvals_index"),
    )


@bp.post("/approvals/changes/<int:change_id>/<decision>")
@county_only
def approvals_change_decide(change_id: int, decision: str):
    """Re-certification of an approved product's new price, name or unit (catalog.changes)."""
    if decision not in ("approve", "reject"):
        abort(404)
    change = changes.get_change(change_id)
    page = _ask_decision(decision, change.product.name)
    if page is not None:
        return page
    try:
        if decision == "approve":
            changes.approve_change(change, actor=current_user, now=now_utc(), note=request.form.get("note", ""))
        else:
            changes.reject_change(change, actor=current_user, now=now_utc(), reason=request.form.get("reason", ""))
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(url_for("county.approvals_index"))
    commit()
    flash(
        _("修改已认定，已按新内容销售") if decision == "approve" else _("修改已退回，继续按原认定内容销售"), "success"
    )
    return redirect(url_for("county.approvals_index"))


@bp.post("/approvals/<int:product_id>/<decision>")
@county_only
def approvals_decide(product_id: int, decision: str):
    if decision not in ("approve", "reject"):
        abort(404)
    product = approvals.get_product(product_id, lock=True)
    gaps = papers.paper_gaps([product.id], today=local_date(now_utc())).get(product.id, [])
    page = _ask_decision(decision, product.name, gaps)
    if page is not None:
        return page
    try:
        if decision == "approve":
            approvals.approve(product, actor=current_user, now=now_utc(), note=request.form.get("note", ""))
        else:
            approvals.reject(product, actor=current_user, now=now_utc(), reason=request.form.get("reason", ""))
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(url_for("county.approvals_index"))
    commit()
    flash(_("已认定") if decision == "approve" else _("已退回"), "success")
    return redirect(url_for("county.approvals_index"))


# --- payment accounts and payouts ---------------------------------------------------------------


@bp.route("/households/<int:household_id>/account", methods=["GET", "POST"])
@county_only
def household_account(household_id: int):
    household = _load(household_id)
    errors = {}
    if request.method == "POST":
        try:
            payouts.set_account(
                household,
                kind=request.form.get("kind", ""),
                number=request.form.get("number", ""),
                holder_name=request.form.get("holder_name", ""),
                bank_name=request.form.get("bank_name", ""),
                actor=current_user,
                now=now_utc(),
            )
            commit()
            flash(_("收款账户已保存"), "success")
            # back where the officer came from (收益发放's list of households waiting for an account)
            back = same_site_path(request.args.get("next"))
            return redirect(back or url_for("county.household_detail", household_id=household.id))
        except ValidationError as exc:
            rollback()
            household = _load(household_id)
            errors = exc.fields
    return render_template(
        "county/account_form.html",
        h=registry.household_row(household),
        account=payouts.account_row(payouts.get_account(household)),
        kinds=payouts.ACCOUNT_KIND_LABELS,
        errors=errors,
        # what was typed comes back with the error, but the card number: it is in no page (docs/MONEY.md,
        # "Audit"), so it is typed again
        form={k: v for k, v in request.form.items() if k in ("kind", "holder_name", "bank_name")},
    ), 422 if errors else 200


@bp.post("/households/<int:household_id>/account/reveal")
@county_only
def household_account_reveal(household_id: int):
    household = _load(household_id)
    try:
        number = payouts.reveal_account(household, actor=current_user, now=now_utc())
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(url_for("county.household_detail", household_id=household.id))
    commit()
    return _render_detail(household, revealed={"account_number": number})


@bp.route("/payouts", methods=["GET", "POST"])
@county_only
def payouts_index():
    status = 200
    if request.method == "POST":
        try:
            result = payouts.create_batch(
                period_from=_form_date("period_from"),
                period_to=_form_date("period_to"),
                village_id=_form_id("village_id"),
                township_id=_form_id("township_id"),
                actor=current_user,
                now=now_utc(),
            )
            commit()
            # a batch already there says when it was made: a double tap's second POST (or another officer's
            # batch) is not read as a batch made long ago, nor as a second one
            said = (
                _("发放批次已生成")
                if result.created
                else _("该期间的发放批次已于 %(t)s 生成，已为您打开", t=local_dt(result.batch.created_at))
            )
            flash(said, "success")
            return redirect(url_for("county.payout_detail", batch_id=result.batch.id))
        except DomainError as exc:  # a bad period, or nothing payable (the service says why)
            rollback()
            flash(exc.message, "error")
            status = exc.status
    return render_template(
        "county/payouts.html",
        batches=payouts.list_batches(),
        waiting=payouts.waiting_for_account(local_date(now_utc())),
        villages=_villages(),
        scope_label=payouts.scope_label,
        townships=db.session.scalars(db.select(Township).order_by(Township.name)).all(),
        statuses=payouts.BATCH_STATUS_LABELS,
        this_month=reports.this_month(local_date(now_utc())),  # the village cards' month, as the cards open
        period=payouts.default_period(local_date(now_utc())),
    ), status


def _form_id(name: str) -> int | None:
    text = request.form.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_int(text, minimum=1, maximum=MAX_ID)
    except ValueError:
        raise ValidationError("choose_from_list", fields={name: "invalid"}) from None


def _form_date(name: str):
    try:
        return date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        raise ValidationError("payout_period_required", fields={name: "invalid"}) from None


@bp.get("/payouts/<int:batch_id>")
@county_only
def payout_detail(batch_id: int):
    batch = payouts.get_batch(batch_id)
    return render_template(
        "county/payout_detail.html",
        batch=batch,
        lines=payouts.batch_lines(batch),
        scope_label=payouts.scope_label,
        totals=payouts.batch_totals(batch),
        statuses=payouts.BATCH_STATUS_LABELS,
        villages=payouts.batch_villages(batch),
        month=f"{batch.period_to:%Y-%m}",
    )


@bp.get("/payouts/<int:batch_id>/export.xlsx")
@county_only
def payout_export(batch_id: int):
    batch = payouts.get_batch(batch_id, lock=True)
    try:
        body = payouts.export_batch(batch, actor=current_user, now=now_utc())
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(url_for("county.payout_detail", batch_id=batch_id))
    commit()
    response = Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="{batch.code}.xlsx"'
    return response


@bp.post("/payouts/<int:batch_id>/result")
@county_only
def payout_result(batch_id: int):
    """The bank's answer to a batch, in two steps (shop.confirm): the upload is checked in full and says what
    it will do (`payouts.preview_result`: a file the import would refuse is refused here, unconfirmed),
    its bytes kept on the server (`keep_upload`, with the batch's state as previewed); the confirmed POST
    applies those bytes once (`_apply_result`)."""
    batch = payouts.get_batch(batch_id)
    back = url_for("county.payout_detail", batch_id=batch_id)
    if confirmed():
        return _apply_result(batch, back)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("请上传银行回盘文件"), "error")
        return redirect(back)
    content = upload.read()
    try:
        preview = payouts.preview_result(batch, io.BytesIO(content))
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(back)
    if not preview.changes:  # every row says what is recorded: nothing to apply, nothing to confirm
        flash(
            ngettext(
                "回盘与已记录的一致（%(num)s 笔），没有需要导入的变更，未做任何更改",
                "回盘与已记录的一致（%(num)s 笔），没有需要导入的变更，未做任何更改",
                preview.unchanged,
            ),
            "info",
        )
        return redirect(back)
    token = keep_upload(content, purpose=f"payout_result:{batch.id}", facts={"state": preview.state})
    if token is None:
        flash(_("暂时无法保存上传的回盘文件以供确认，未做任何更改：请稍后再上传"), "error")
        return redirect(back)
    return ask_first(
        _("确认导入发放批次 %(code)s 的银行回盘？", code=batch.code),
        back=back,
        details=_result_details(batch, preview),
        button=_("确认导入回盘"),
        fields={"upload": token, "digest": content_digest(content)},
    )


def _result_details(batch, preview) -> list[str]:
    """What the confirmation page of a bank answer says it will do."""
    lines = [
        _(
            "批次 %(code)s：%(start)s 至 %(end)s · %(scope)s",
            code=batch.code,
            start=batch.period_from.isoformat(),
            end=batch.period_to.isoformat(),
            scope=payouts.scope_label(batch),
        )
    ]
    if preview.paid:
        lines.append(
            ngettext(
                "成功 %(num)s 笔，共 %(amount)s：记为已发放，记下银行流水号",
                "成功 %(num)s 笔，共 %(amount)s：记为已发放，记下银行流水号",
                preview.paid,
                amount=format_yuan(preview.paid_fen),
            )
        )
    if preview.failed:
        lines.append(
            ngettext(
                "失败 %(num)s 笔，共 %(amount)s：记为失败，这些收益退回待发放，可列入下一个批次",
                "失败 %(num)s 笔，共 %(amount)s：记为失败，这些收益退回待发放，可列入下一个批次",
                preview.failed,
                amount=format_yuan(preview.failed_fen),
            )
        )
        for reason, count, fen in preview.reasons:
            lines.append(
                ngettext(
                    "失败原因「%(reason)s」：%(num)s 笔，共 %(amount)s",
                    "失败原因「%(reason)s」：%(num)s 笔，共 %(amount)s",
                    count,
                    reason=reason,
                    amount=format_yuan(fen),
                )
            )
        if preview.other_reasons[0]:
            lines.append(
                ngettext(
                    "其他失败原因：%(num)s 笔，共 %(amount)s",
                    "其他失败原因：%(num)s 笔，共 %(amount)s",
                    preview.other_reasons[0],
                    amount=format_yuan(preview.other_reasons[1]),
                )
            )
    if preview.unchanged:
        lines.append(
            ngettext(
                "与已记录一致 %(num)s 笔：不作更改",
                "与已记录一致 %(num)s 笔：不作更改",
                preview.unchanged,
            )
        )
    lines.append(
        ngettext(
            "导入后仍有 %(num)s 笔待发放",
            "导入后仍有 %(num)s 笔待发放",
            preview.pending_after,
        )
        if preview.pending_after
        else _("导入后本批次没有待发放的明细，批次完成")
    )
    return lines


def _apply_result(batch, back: str):
    """The confirmed POST of a bank answer: the bytes kept for this officer and batch, if their digest is the
    one the confirmation page carried, applied if the batch is as previewed; the kept upload's token is the
    POST's once-token (a double tap, or Back and confirm again: told it was done, nothing twice)."""
    token = request.form.get("upload", "")
    kept = kept_upload(token, purpose=f"payout_result:{batch.id}")
    if kept is None:
        flash(_("确认页已过期，或上传的回盘文件已不在，未做任何更改：请重新上传回盘文件"), "error")
        return redirect(back)
    if request.form.get("digest", "") != kept.digest:
        flash(_("回盘文件与确认页所示的不一致，未做任何更改：请重新上传回盘文件"), "error")
        return redirect(back)
    now = now_utc()
    try:
        claim_or_refuse("county.payout_result", token, user_id=current_user.id, now=now)
        report = payouts.import_result(
            batch, io.BytesIO(kept.content), actor=current_user, now=now, expected_state=kept.facts.get("state")
        )
        commit()
    except AlreadySubmitted:
        rollback()
        flash(_("这份回盘已经导入，没有重复导入"), "info")
        return redirect(back)
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(back)
    flash(
        _(
            "回盘已导入：成功 %(paid)s 笔，失败 %(failed)s 笔，未变 %(unchanged)s 笔",
            paid=report.paid,
            failed=report.failed,
            unchanged=report.unchanged,
        ),
        "success",
    )
    return redirect(back)


# --- benefits recorded by hand (purchases, wages, dividends, rents, collective) ---------------------
# the form and its handling are shared with the station's and the host's pages (county.recording)


@bp.route("/benefits", methods=["GET", "POST"])
@county_only
def benefits_index():
    return recording.handle(
        payer="county",
        payer_ids=lambda: (recording.int_field("station_id"), recording.int_field("listing_id")),
        back=url_for("county.benefits_index"),
        page={
            "records": benefits.list_records(),
            "stations": db.session.scalars(db.select(Station).order_by(Station.code)).all(),
            "listings": db.session.scalars(db.select(Listing).order_by(Listing.name)).all(),
            "action": url_for("county.benefits_index"),
        },
    )


# --- the household statement (明白卡) --------------------------------------------------------------


def _month_arg() -> tuple[str, int]:
    """(the 明白卡's month, status): the month asked, else this month (Beijing time), where the money just
    credited is (last month's cards of fresh data were empty); a month typed wrong into the URL shows this
    month's cards, the reason flashed, 422. So does a month to come (2099-12): its card would print figures
    "up to the month's end" and lines to sign for money not credited yet."""
    asked, status = page_month_arg("month", label=_("月份"), instead=_("已显示本月的明白卡"))
    this_month = reports.this_month(local_date(now_utc()))
    if asked is None:
        return this_month, status
    month = f"{asked[0]:04d}-{asked[1]:02d}"
    if month > this_month:  # both YYYY-MM: the text order is the months' order
        flash(_("%(month)s 还没有到，没有这个月的明白卡；已显示本月的明白卡", month=month), "error")
        return this_month, 422
    return month, status


@bp.get("/households/<int:household_id>/card")
@county_only
def household_card(household_id: int):
    month, status = _month_arg()
    return render_template(
        "county/cards.html",
        cards=[cards.household_card(_load(household_id), month)],
        month=month,
        latest=reports.this_month(local_date(now_utc())),
        today=local_date(now_utc()),  # this month's card is up to today, not to a month's end not reached yet
        village=None,
    ), status


@bp.get("/cards")
@county_only
def village_cards():
    month, status = _month_arg()
    village_id = _int_arg("village_id", minimum=1, maximum=MAX_ID)
    village = db.session.get(Village, village_id) if village_id else None
    if village is None:
        abort(404)
    return render_template(
        "county/cards.html",
        cards=cards.village_cards(village, month),
        month=month,
        latest=reports.this_month(local_date(now_utc())),
        today=local_date(now_utc()),  # this month's card is up to today, not to a month's end not reached yet
        village=village,
    ), status


# --- recalls (#23) ------------------------------------------------------------------------------


@bp.get("/recalls")
@county_only
def recalls_index():
    return render_template(
        "county/recalls.html",
        lots=recalls.recalled_lots(),
        todo=recalls.lines_to_settle(),
        code=request.args.get("code", "")[:16],
    )


@bp.post("/recalls")
@county_only
def recall_new():
    """Recall a lot: blocked at once, its buyers mailed after the commit (stations.services.recalls)."""
    code = request.form.get("code", "")[:16]
    try:
        lot = recalls.get_lot(code)
        if lot.status == LotStatus.RECALLED:  # recalled before: nothing to confirm, no buyer is mailed again
            flash(
                _("批次 %(code)s 已于 %(when)s 召回，无需再次召回", code=lot.code, when=local_dt(lot.recalled_at)),
                "info",
            )
            return redirect(url_for("county.recall_detail", code=lot.code))
        reason = recalls.clean_reason(request.form.get("reason", ""))  # refused before the confirmation, not after
        page = ask_first(
            _("确认召回批次 %(code)s？库存立即冻结，买家将收到通知。", code=lot.code),
            back=url_for("county.recalls_index", code=code),
            # the code was typed: the officer checks it is the lot meant (its goods, its station) before
            # every buyer of it is mailed
            details=[
                _("批次商品：%(product)s · %(station)s", product=lot.product.name, station=lot.station.name),
                _("召回原因：%(reason)s", reason=reason),
            ],
        )
        if page is not None:
            return page
        lines = recalls.recall_lot(lot, reason=reason, actor=current_user, now=now_utc())
    except DomainError as exc:  # an unknown code, no reason: the form again with what was typed
        rollback()
        flash(exc.message, "error")
        return render_template(
            "county/recalls.html",
            lots=recalls.recalled_lots(),
            todo=recalls.lines_to_settle(),
            code=code,
            reason=request.form.get("reason", "")[:200],
        ), exc.status
    commit()
    flash(recalls.recalled_message(lot, lines), "success")
    if unpaid := recalls.unpaid_canceled_message(lines):
        flash(unpaid, "info")
    return redirect(url_for("county.recall_detail", code=lot.code))


@bp.get("/recalls/<code>")
@county_only
def recall_detail(code: str):
    lot = recalls.get_lot(code)
    lines = recalls.affected_lines(lot)
    return render_template(
        "county/recall_detail.html", lot=lot, lines=lines, was_sold=not lines and recalls.was_sold(lot)
    )


@bp.post("/recalls/<code>/refund")
@county_only
def recall_refund(code: str):
    """Approve the refunds of every affected line in one step."""
    lot = recalls.get_lot(code)
    page = ask_first(
        _("确认为批次 %(code)s 的全部受影响订单商品办理退款？", code=lot.code),
        back=url_for("county.recall_detail", code=lot.code),
    )
    if page is not None:
        return page
    try:
        done = recalls.refund_recalled(lot, actor=current_user, now=now_utc())
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(url_for("county.recall_detail", code=lot.code))
    commit()
    flash(ngettext("已为 %(num)s 个订单商品办理退款", "已为 %(num)s 个订单商品办理退款", done), "success")
    return redirect(url_for("county.recall_detail", code=lot.code))


# --- public partial ----------------------------------------------------------------------------


def _benefit_summary(subject):
    return public_benefit_summary(subject) if subject is not None else None


#: templates/county/_benefit_note.html reads `county_benefit_summary(order or product)`.
bp.add_app_template_global(_benefit_summary, "county_benefit_summary")
