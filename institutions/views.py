"""HTML views of institutional buying: my organisations, registering one (and correcting a rejected
one), an organisation's page with its members, and the county office's verification list. Thin routes: parse -> load/404 ->
permission -> one service -> commit() -> redirect."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from catalog.services import list_stations
from institutions.forms import (
    MAX_ROWS,
    ROWS,
    DecisionForm,
    MemberForm,
    MemberRightsForm,
    OrganisationCorrectionForm,
    OrganisationForm,
    PurchaseForm,
    QuoteAcceptForm,
    QuoteAnswerForm,
    QuoteDeclineForm,
    QuoteRequestForm,
    RejectForm,
)
from institutions.labels import (
    FIELD_LABELS,
    KIND_LABELS,
    ORGANISATION_STATUS_LABELS,
    PAYMENT_LABELS,
    PURCHASE_STATUS_LABELS,
    ROLE_LABELS,
)
from institutions.models import MemberRole, OrganisationStatus, PurchaseStatus
from institutions.services import organisations as orgs
from institutions.services import purchases, quotes, statements
from orders.models import PaymentMethod
from orders.providers import card_payments_enabled
from orders.services import transfers
from orders.services.placement import ADDRESS_FIELDS, ADDRESS_LIMITS, AddressData
from shop.args import MAX_ID, int_or_none, page_date_arg, page_year_arg
from shop.auth.models import Role
from shop.auth.permissions import role_required
from shop.confirm import ask_first
from shop.db import commit, rollback
from shop.errors import Conflict, DomainError, Forbidden, ValidationError, error_message, flash_domain_errors
from shop.forms import create_once, flash_form_errors, mark_refused_fields
from shop.kept_form import restored
from shop.money import MAX_FEN, MoneyError, format_yuan, parse_yuan
from shop.timeutil import local_date, now_utc

bp = Blueprint("institutions", __name__)


@bp.app_context_processor
def _labels() -> dict:
    return {
        "org_kind_labels": KIND_LABELS,
        "org_role_labels": ROLE_LABELS,
        "org_status_labels": ORGANISATION_STATUS_LABELS,
        "org_field_labels": FIELD_LABELS,
        "purchase_status_labels": PURCHASE_STATUS_LABELS,
        "purchase_payment_labels": PAYMENT_LABELS,
    }


@bp.app_template_global("purchasing_organisations")
def _purchasing_organisations(user) -> list:
    """The verified organisations the visitor buys for (the product page's 加入采购单, a personal part:
    `user` is the part's `visitor()`, None on a shared render)."""
    return orgs.purchasing_organisations(user)


@bp.app_template_global("member_organisations")
def _member_organisations(user) -> list:
    """The organisations `user` is a member of, whatever their role or status: an error page's way back to
    where a member works (`desk`, templates/_nav_roles.html): its page, or 单位采购 for several."""
    return [organisation for organisation, _member in orgs.organisations_of(user)]


@bp.get("/organisations")
@login_required
def mine():
    return render_template("institutions/mine.html", rows=orgs.organisations_of(current_user))


@bp.route("/organisations/new", methods=["GET", "POST"])
@login_required
def register():
    if current_user.role != Role.CONSUMER:
        abort(403)
    form = OrganisationForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            data = _organisation_data(form)
            try:
                now = now_utc()
                organisation = create_once(  # the same page posted twice: the first POST registered it
                    form,
                    "institutions.organisation",
                    lambda: orgs.register_organisation(data, user=current_user, now=now),
                    now=now,
                    done=url_for(".mine"),
                )
                flash(_("单位已登记，等待扶贫办审核"), "success")
                return redirect(url_for(".detail", organisation_id=organisation.id), 303)
            except DomainError as exc:
                rollback()
                flash(exc.message, "error")
                mark_refused_fields(form, exc)  # under the field it is about too (a credit code, a phone)
                status = exc.status
        else:
            flash_form_errors(form)
            status = 422
    return render_template("institutions/register.html", form=form), status


def _organisation_data(form) -> orgs.OrganisationData:
    return orgs.OrganisationData(**{name: form[name].data or "" for name in ORGANISATION_FIELDS})


ORGANISATION_FIELDS = ("name", "kind", "credit_code", "address", "contact_name", "contact_phone")


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@login_required
def resubmit(organisation_id: int):
    """Its manager corrects a rejected registration and submits it again (pending for the county office
    once more). Anyone else's organisation is a 404, a member who is not its manager a 403; a
    registration not rejected (pending again after a first submit, or verified) goes back to its page,
    told why."""
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    refusal = orgs.resubmit_refusal(organisation, current_user)
    if isinstance(refusal, Forbidden):
        abort(403)
    back = url_for(".detail", organisation_id=organisation.id)
    if refusal is not None:
        flash(refusal.message, "error")
        return redirect(back, 303)
    form = OrganisationCorrectionForm(obj=organisation if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                orgs.resubmit_organisation(organisation, _organisation_data(form), user=current_user, now=now_utc())
                commit()
            except DomainError as exc:
                rollback()
                flash(exc.message, "error")
                if isinstance(exc, Conflict) and exc.code == "organisation_not_rejected":
                    return redirect(back, 303)  # a second submit: the first put it back to the county
                mark_refused_fields(form, exc)  # under the field it is about too, as registering does
                status = exc.status
            else:
                flash(_("登记已修改并重新提交，等待扶贫办审核"), "success")
                return redirect(back, 303)
        else:
            flash_form_errors(form)
            status = 422
    return render_template("institutions/resubmit.html", form=form, organisation=organisation), status


@bp.get("/organisations/<int:organisation_id>")
@login_required
def detail(organisation_id: int):
    return _detail_page(orgs.get_visible_organisation(organisation_id, current_user), MemberForm())


def _detail_page(organisation, member_form: MemberForm, status: int = 200):
    """The organisation's page; `member_form` as typed when a member could not be saved (shown again, the
    manager corrects it rather than typing it again)."""
    me = orgs.membership(organisation.id, current_user)
    can_manage = orgs.can_manage_members(organisation, current_user)
    return render_template(
        "institutions/detail.html",
        organisation=organisation,
        me=me,
        can_manage=can_manage,
        # whom the members list offers no 移出 / 退出单位: its only manager, its only approver
        irremovable=orgs.irremovable_members(organisation.id) if (me or can_manage) else {},
        can_resubmit=orgs.resubmit_refusal(organisation, current_user) is None,
        can_decide=current_user.has_role(Role.COUNTY) and organisation.status == OrganisationStatus.PENDING,
        resubmission=orgs.last_resubmission(organisation) if current_user.has_role(Role.COUNTY) else None,
        member_form=member_form,
        decision_form=DecisionForm(),
        purchases=purchases.purchases_of(organisation),
    ), status


@bp.post("/organisations/<int:organisation_id>/members")
@login_required
def add_member(organisation_id: int):
    """A refused member (no such account, not a buyer's account, the last approver…) shows the page again
    with the e-mail and role as typed and the reason; a saved one goes back to the page (303)."""
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    if not orgs.can_manage_members(organisation, current_user):
        abort(403)
    form = MemberForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _detail_page(organisation, form, 422)
    try:
        orgs.add_member(organisation, email=form.email.data, role=form.role.data, actor=current_user, now=now_utc())
        commit()
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return _detail_page(organisation, form, exc.status)
    flash(_("成员已保存"), "success")
    return redirect(url_for(".detail", organisation_id=organisation.id), 303)


@bp.post("/organisations/<int:organisation_id>/members/<int:user_id>/rights")
@login_required
def change_member_rights(organisation_id: int, user_id: int):
    """Whoever may add a member (its manager, an admin) changes a member's rights from its row of the members
    list: its role and 管理员. Another account's organisation is a 404, a member changing rights a 403; a
    refusal (no such member, its only manager or approver losing the right) is said on the page, nothing
    changed."""
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    if not orgs.can_manage_members(organisation, current_user):
        abort(403)
    form = MemberRightsForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _detail_page(organisation, MemberForm(formdata=None), 422)
    try:
        member = orgs.change_member_rights(
            organisation,
            user_id=user_id,
            role=form.role.data,
            is_manager=form.is_manager.data,
            actor=current_user,
            now=now_utc(),
        )
        email = member.user.email
        commit()
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return _detail_page(organisation, MemberForm(formdata=None), exc.status)
    flash(_("已保存 %(email)s 的权限", email=email), "success")
    return redirect(url_for(".detail", organisation_id=organisation.id), 303)


@bp.post("/organisations/<int:organisation_id>/members/<int:user_id>/remove")
@login_required
def remove_member(organisation_id: int, user_id: int):
    """A manager (or an admin) removes a member, or a member leaves (`user_id` their own), after a
    confirmation step. Another account's organisation and a member it does not have are 404s, a member
    removing another a 403; the last manager or approver is refused at once (said on the page, before any
    confirmation). A member who left is sent to 单位采购: the organisation's page is a 404 for them now."""
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    back = url_for(".detail", organisation_id=organisation.id)
    member = orgs.member_of(organisation, user_id)
    refusal = orgs.removal_refusal(organisation, member, current_user)
    if isinstance(refusal, Forbidden):
        abort(403)
    if refusal is not None:  # the last manager or approver; no such member (removed already: a double tap)
        flash(refusal.message, "error")
        return redirect(back, 303)
    assert member is not None  # refused above
    leaving = member.user_id == current_user.id
    email = member.user.email
    kept = (
        _("您建的采购单和为本单位下的订单仍属于本单位，由本单位的其他成员照常查看和办理。")
        if leaving
        else _("对方建的采购单和为本单位下的订单仍属于本单位，由本单位的其他成员照常查看和办理。")
    )
    page = ask_first(
        _("确认退出单位「%(name)s」？", name=organisation.name)
        if leaving
        else _(
            "确认把 %(who)s（%(email)s）移出单位「%(name)s」？",
            who=member.user.name or member.user.email,
            email=member.user.email,
            name=organisation.name,
        ),
        back=back,
        details=[
            _("退出后您不能再查看本单位的页面、采购单、询价和发票。")
            if leaving
            else _("移出后对方立即不能再查看本单位的页面、采购单、询价和发票。"),
            kept,
        ],
        button=_("退出单位") if leaving else _("移出"),
        undo=_("需要时，单位管理员可以再把这个账号添加为成员。"),
    )
    if page is not None:
        return page
    try:
        orgs.remove_member(organisation, user_id=user_id, actor=current_user, now=now_utc())
        commit()
    except DomainError as exc:  # another removal meanwhile left it its last manager or approver
        rollback()
        flash(exc.message, "error")
        return redirect(back, 303)
    if leaving:
        flash(_("您已退出单位「%(name)s」", name=organisation.name), "success")
        return redirect(url_for(".mine"), 303)
    flash(_("已把 %(email)s 移出本单位", email=email), "success")
    return redirect(back, 303)


@bp.get("/county/organisations")
@role_required("county")
def review():
    wanted = request.args.get("status", OrganisationStatus.PENDING)
    status = wanted if wanted in set(OrganisationStatus) else None
    return render_template(
        "institutions/review.html", organisations=orgs.list_organisations(status=status), status=status
    )


@bp.post("/organisations/<int:organisation_id>/<any(approve, reject):decision>")
@role_required("county")
def decide(organisation_id: int, decision: str):
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    form = DecisionForm()
    refusal = orgs.decision_refusal(organisation, approve=decision == "approve", reason=form.reason.data or "")
    if not form.validate_on_submit():
        flash_form_errors(form)
    elif refusal is not None:  # said at once (a rejection without its reason), before any confirmation
        flash(refusal.message, "error")
    else:
        page = ask_first(
            _("确认审核通过单位「%(name)s」？", name=organisation.name)
            if decision == "approve"
            else _(
                "确认不通过单位「%(name)s」的登记？单位管理员会收到邮件和原因，可按原因修改登记后重新提交审核。",
                name=organisation.name,
            ),
            back=url_for(".detail", organisation_id=organisation.id),
        )
        if page is not None:
            return page
        with flash_domain_errors():
            orgs.decide_organisation(
                organisation,
                approve=decision == "approve",
                reason=form.reason.data or "",
                actor=current_user,
                now=now_utc(),
            )
            commit()
            flash(
                _("已审核通过，已邮件通知单位管理员")
                if decision == "approve"
                else _("已不通过，已邮件通知单位管理员：可按原因修改登记后重新提交审核"),
                "success",
            )
    return redirect(url_for(".detail", organisation_id=organisation.id), 303)


# --- purchases ------------------------------------------------------------------------------------


def _posted_rows(fields=None) -> list[tuple[str, str]]:
    """The product rows of the purchase form as posted (product_N, quantity_N), or as `fields` holds
    them (what was kept through signing in, `shop.kept_form.restored()`); trailing blank rows left out."""
    fields = request.form if fields is None else fields
    rows = [
        # a quantity as typed, up to an id's length: 1000000 comes back as 1000000 with its refusal
        (fields.get(f"product_{n}", "").strip()[:12], fields.get(f"quantity_{n}", "").strip()[:12])
        for n in range(MAX_ROWS)
    ]
    while rows and rows[-1] == ("", ""):
        rows.pop()
    return rows


def _id(text: str) -> int | None:
    """An id as typed or sent (`shop.args.int_or_none`: ASCII digits, full-width ones made ASCII), or None."""
    return int_or_none(text, maximum=MAX_ID)


def _items_from_form(
    rows: list[tuple[str, str]] | None = None, where: str = "items", label: str = ""
) -> tuple[list[tuple[int, int]], list[int]]:
    """The product rows of the purchase form (product_N, quantity_N; or `rows`, an added address's, named
    `label`) and the row (from 1) each stands on: blank rows are skipped, not renumbered, so that the
    service's refusals (a product not for sale, a product's total past the line limit) name the row the
    buyer sees (`DestinationData.rows`); a bad row is refused here naming its row and product
    (`purchases.form_row`)."""
    kept = [
        (purchases.form_row(product, quantity, row=n + 1, where=where, label=label), n + 1)
        for n, (product, quantity) in enumerate(_posted_rows() if rows is None else rows)
        if product or quantity
    ]
    return [item for item, _row in kept], [row for _item, row in kept]


@dataclass
class AddedAddress:
    """An address the purchase form adds after its first (添加收货地址): its fields as typed (a_K_<name>)
    and its product rows (a_K_product_N, a_K_quantity_N), read field by field."""

    fields: dict[str, str]
    rows: list[tuple[str, str]]

    @property
    def blank(self) -> bool:
        return not any(self.fields.values()) and not any(p or q for p, q in self.rows)


ADDRESS_FORM_FIELDS = ("label", *ADDRESS_FIELDS)
ADDRESS_FORM_LIMITS = {"label": 40, **ADDRESS_LIMITS}


def _added_addresses(fields=None, *, more: bool = False) -> list[AddedAddress]:
    """The addresses after the first as posted (or as `fields` holds them: kept through signing in);
    `more`: one blank address added (its 添加收货地址 button). Blank ones are dropped, except the one added."""
    fields = request.form if fields is None else fields
    raw = fields.get("added_addresses", "")
    count = min(_id(raw) or 0, purchases.MAX_DESTINATIONS - 1)
    added = []
    for k in range(1, count + 1):
        address = AddedAddress(
            {name: fields.get(f"a{k}_{name}", "")[: ADDRESS_FORM_LIMITS[name]] for name in ADDRESS_FORM_FIELDS},
            _posted_rows(
                {
                    f"{key}_{n}": fields.get(f"a{k}_{key}_{n}", "")
                    for key in ("product", "quantity")
                    for n in range(MAX_ROWS)
                }
            ),
        )
        if not address.blank:
            added.append(address)
    if more and len(added) < purchases.MAX_DESTINATIONS - 1:
        added.append(AddedAddress({name: "" for name in ADDRESS_FORM_FIELDS}, []))
    return added


def _first_label(form: PurchaseForm, added: list[AddedAddress]) -> str:
    """The first address's name as a refused row names it: only on a form of several addresses."""
    return ((form.label.data or "").strip() or _("收货地址 %(n)s", n=1)) if added else ""


def _added_destinations(added: list[AddedAddress]) -> list[purchases.DestinationData]:
    """The added addresses as the service reads them (numbered from 1: the form's first is 0)."""
    destinations = []
    for k, address in enumerate(added, start=1):
        items, rows = _items_from_form(
            address.rows, f"destinations.{k}.items", address.fields["label"].strip() or _("收货地址 %(n)s", n=k + 1)
        )
        destinations.append(
            purchases.DestinationData(
                label=address.fields["label"],
                address=AddressData(**{name: address.fields[name] for name in ADDRESS_FIELDS}),
                items=items,
                rows=rows,
            )
        )
    return destinations


def _query() -> str:
    """The 查找商品 query of a form that offers products (`q`), as the form shows it again."""
    return request.values.get("q", "")[:100].strip()


def _posted_action() -> str:
    """What a form with 查找商品 (templates/institutions/_find_products.html) was posted for: "find" (its
    查找 button; Enter in its field with JavaScript), else "save". Enter elsewhere presses the form's default
    button (`action=enter`), which saves — unless a query was typed and not yet searched (`q` is not
    `shown_q`, the query the form's products were found for): then it searches first, saving nothing, so
    that Enter in the search field without JavaScript still searches."""
    action = request.form.get("action", "")
    if action == "enter":
        return "find" if _query() and _query() != request.form.get("shown_q", "")[:100].strip() else "save"
    return action if action in ("find", "add_address") else "save"


def _purchase_form(**data) -> PurchaseForm:
    form = PurchaseForm(data=data or None)
    form.pickup_station_id.choices = [SelectChoice(s.id, f"{s.name} ({s.code})") for s in list_stations()]
    if not card_payments_enabled():  # no card payment to offer (no Stripe keys): 在线支付 is not a choice
        form.payment_method.choices = [c for c in form.payment_method.choices if c.value != PaymentMethod.CARD]
    return form


def _purchase_data(
    form: PurchaseForm,
    first: tuple[list[tuple[int, int]], list[int]],
    added: list[purchases.DestinationData],
    quote_request_id: int | None = None,
) -> purchases.PurchaseData:
    """The form's purchase: its first address (the form's own fields) and product rows (`first`: as
    `_items_from_form` reads them, with their rows on the form), then the addresses added (添加收货地址).
    A pick-up reads the first rows; an added address then is refused by the service (自提的采购单不填收货地址)."""
    ship = form.delivery.data == "ship"
    address = AddressData(**{name: form[name].data or "" for name in ADDRESS_FIELDS})
    items, rows = first
    return purchases.PurchaseData(
        delivery=form.delivery.data,
        requested_date=form.requested_date.data,
        payment_method=form.payment_method.data,
        note=form.note.data or "",
        pickup_station_id=None if ship else form.pickup_station_id.data,
        destinations=[
            purchases.DestinationData(label=form.label.data or "", address=address, items=items, rows=rows),
            *added,
        ]
        if ship
        else added,
        items=[] if ship else items,
        item_rows=[] if ship else rows,
        quote_request_id=quote_request_id,
    )


def _padded(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Product rows as typed, then blank ones up to ROWS (at least one while there is room)."""
    return rows + [("", "")] * max(ROWS - len(rows), 1 if len(rows) < MAX_ROWS else 0)


def _purchase_form_page(
    form: PurchaseForm,
    organisation,
    *,
    rows: list[tuple[str, str]],
    added: list[AddedAddress] | None = None,
    purchase=None,
    quote=None,
    status=200,
):
    """The purchase form (new or a draft's edit): its first address's product rows (`rows`, as typed or
    prefilled, and blank ones up to ROWS), the addresses added after it (`added`, each with its rows),
    offering the products the form's search finds (`q`) and those chosen."""
    q = _query()
    added = added or []
    kept = [line.product for line in purchase.lines if line.quote_request_id is None] if purchase else []
    chosen = [n for p, _q in rows + [row for a in added for row in a.rows] if (n := _id(p)) is not None]
    choices = purchases.product_choices(q=q, chosen=chosen, kept=kept, today=local_date(now_utc()))
    return render_template(
        "institutions/purchase_new.html",
        form=form,
        organisation=organisation,
        purchase=purchase,
        quote=quote,
        quoted=[line for line in purchase.lines if line.quote_request_id is not None] if purchase else [],
        products=choices.products,
        product_choices=choices,
        found=choices.found,
        q=q,
        rows=_padded(rows),
        added=[AddedAddress(a.fields, _padded(a.rows)) for a in added],
        max_addresses=purchases.MAX_DESTINATIONS,
    ), status


@bp.route("/organisations/<int:organisation_id>/purchases/new", methods=["GET", "POST"])
@login_required
def new_purchase(organisation_id: int):
    """The new purchase form. `?product=<id>` (the product page's 加入采购单) starts it with that product;
    `?quote=<id>` (the quote page's 新建采购单并采纳) makes it the purchase of that answered quote, at its
    first address, which then needs no other product; its 查找商品 (POST action=find, `_posted_action`)
    shows the form again, as typed, offering what was found."""
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    member = orgs.membership(organisation.id, current_user)
    if member is None or member.role != MemberRole.BUYER:  # a viewer or an approver, from a link: said why
        abort(403, _("只有本单位的采购员能新建采购单：请单位管理员在成员里把你设为采购员。"))
    form = _purchase_form()
    quote = _accepted_quote(organisation.id)
    if request.method == "GET":
        if form.restored:  # typed while signed out, kept through signing in: its product rows too
            kept = restored()
            return _purchase_form_page(
                form, organisation, rows=_posted_rows(kept), added=_added_addresses(kept), quote=quote
            )
        product = request.args.get("product", "")
        return _purchase_form_page(
            form, organisation, rows=[(product, "")] if _id(product) is not None else [], quote=quote
        )
    status = 200
    action = _posted_action()
    added = _added_addresses(more=action == "add_address")
    if action in ("find", "add_address"):
        pass  # only the products offered, or the addresses shown, change: nothing is checked or saved
    elif form.validate_on_submit():
        try:
            data = _purchase_data(
                form,
                _items_from_form(label=_first_label(form, added)),
                _added_destinations(added),
                quote.id if quote is not None else None,
            )
            now = now_utc()
            purchase = create_once(  # the same page posted twice: the first POST saved the draft, listed there
                form,
                "institutions.purchase",
                lambda: purchases.create_purchase(organisation, data, user=current_user, now=now),
                now=now,
                done=url_for(".detail", organisation_id=organisation.id),
            )
            flash(_("采购单草稿已保存，核对后请提交审批"), "success")
            return redirect(url_for(".purchase_detail", purchase_id=purchase.id), 303)
        except DomainError as exc:
            rollback()
            flash(exc.message, "error")
            status = exc.status
    else:
        flash_form_errors(form)
        status = 422
    return _purchase_form_page(form, organisation, rows=_posted_rows(), added=added, quote=quote, status=status)


def _accepted_quote(organisation_id: int):
    """The quote the new purchase form accepts (`quote` in its address or its form), or None: one of the
    organisation's own, as the buyer may see it (any other id is the same 404)."""
    raw = request.values.get("quote", "")
    if not raw:
        return None
    quote_id = _id(raw)
    if quote_id is None:
        abort(404)
    found = quotes.get_visible_quote(quote_id, current_user)
    if found.organisation_id != organisation_id:
        abort(404)
    return found


@bp.route("/purchases/<int:purchase_id>/edit", methods=["GET", "POST"])
@login_required
def edit_purchase(purchase_id: int):
    """Its author changes a draft on the purchase form, prefilled (a submitted one: said, not shown)."""
    purchase = purchases.get_visible_purchase(purchase_id, current_user)
    back = url_for(".purchase_detail", purchase_id=purchase.id)
    try:
        purchases.check_editable(purchase, current_user)
    except DomainError as exc:
        if exc.status == 403:
            abort(403)
        flash(exc.message, "error")
        return redirect(back, 303)
    if request.method == "GET":
        destination = purchase.destinations[0] if purchase.destinations else None
        form = _purchase_form(
            delivery=purchase.delivery,
            pickup_station_id=purchase.pickup_station_id,
            requested_date=purchase.requested_date,
            payment_method=purchase.payment_method,
            note=purchase.note,
            label=destination.label if destination else "",
            **{name: getattr(destination, name) if destination else "" for name in ADDRESS_FIELDS},
        )

        def rows_of(d) -> list[tuple[str, str]]:
            return [
                (str(line.product_id), str(line.quantity))
                for line in purchase.lines
                if line.quote_request_id is None and line.destination_id == (d.id if d else None)
            ]

        rows = rows_of(destination)
        added = [
            AddedAddress({name: getattr(d, name) for name in ADDRESS_FORM_FIELDS}, rows_of(d))
            for d in purchase.destinations[1:]
        ]
        if form.restored:  # changed while signed out, kept through signing in
            kept = restored()
            rows, added = _posted_rows(kept), _added_addresses(kept)
        return _purchase_form_page(form, purchase.organisation, rows=rows, added=added, purchase=purchase)
    form = _purchase_form()
    status = 200
    action = _posted_action()
    added = _added_addresses(more=action == "add_address")
    if action in ("find", "add_address"):
        pass  # only the products offered, or the addresses shown, change: nothing is checked or saved
    elif form.validate_on_submit():
        try:
            data = _purchase_data(form, _items_from_form(label=_first_label(form, added)), _added_destinations(added))
            purchases.update_purchase(purchase, data, user=current_user, now=now_utc())
            commit()
            flash(_("采购单已保存，核对后请提交审批"), "success")
            return redirect(back, 303)
        except DomainError as exc:
            rollback()
            flash(exc.message, "error")
            if exc.code == "purchase_not_draft":  # submitted meanwhile: nothing to edit any more
                return redirect(back, 303)
            status = exc.status
    else:
        flash_form_errors(form)
        status = 422
    return _purchase_form_page(
        form, purchase.organisation, rows=_posted_rows(), added=added, purchase=purchase, status=status
    )


@bp.post("/purchases/<int:purchase_id>/delete")
@login_required
def delete_purchase(purchase_id: int):
    """Its author deletes a draft, after a confirmation step."""
    purchase = purchases.get_visible_purchase(purchase_id, current_user)
    back = url_for(".purchase_detail", purchase_id=purchase.id)
    organisation_id = purchase.organisation_id
    try:
        purchases.check_editable(purchase, current_user)
    except DomainError as exc:
        if exc.status == 403:
            abort(403)
        flash(exc.message, "error")
        return redirect(back, 303)
    page = ask_first(_("确认删除采购单草稿 %(id)s？", id=purchase.id), back=back)
    if page is not None:
        return page
    try:
        purchases.delete_purchase(purchase, user=current_user, now=now_utc())
        commit()
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        return redirect(back, 303)
    flash(_("采购单草稿已删除"), "success")
    return redirect(url_for(".detail", organisation_id=organisation_id), 303)


@bp.get("/purchases/<int:purchase_id>")
@login_required
def purchase_detail(purchase_id: int):
    purchase = purchases.get_visible_purchase(purchase_id, current_user)
    groups, quote_error, short = [], None, []
    if purchase.status in (PurchaseStatus.DRAFT, PurchaseStatus.SUBMITTED):
        try:
            groups = purchases.groups_of(purchase)
        except DomainError as exc:
            quote_error = exc.message
        if purchase.status == PurchaseStatus.DRAFT:  # its buyer is told before submitting it
            short = _short_stock_warnings(purchase)
    # each order still waiting for its transfer, with what the transfer must bring (the API's bank_transfers_due)
    awaiting = {
        po.order.code: transfers.transfer_due_fen(po.order)
        for po in purchase.orders
        if transfers.awaiting_transfer(po.order)
    }
    total_fen = sum(g.total_fen for g in groups)
    can_decide = purchases.can_decide(purchase, current_user)
    return render_template(
        "institutions/purchase.html",
        purchase=purchase,
        groups=groups,
        group_of={group.destination.id if group.destination else None: group for group in groups},
        quote_error=quote_error,
        short_stock=short,
        total_fen=total_fen,
        budget=statements.budget_check(purchase.organisation, total_fen=total_fen, now=now_utc()) if groups else None,
        can_submit=purchase.status == PurchaseStatus.DRAFT and purchase.created_by_id == current_user.id,
        can_edit=purchases.can_edit(purchase, current_user),
        can_decide=can_decide,
        # its buyer has left the organisation: the approver is offered only 退回 (an approval is refused)
        buyer_left=can_decide and purchases.buyer_left(purchase),
        reject_form=RejectForm(),
        buyer_is_me=purchase.created_by_id == current_user.id,
        awaiting_transfer=awaiting,
        transfer_payee=transfers.payee() if awaiting else None,
        canceled_orders=purchases.canceled_orders(purchase),  # by whom and when, as its approvers are mailed
        order_amounts=statements.purchase_order_amounts(purchase),  # due now, as the statement counts it
    )


def _short_stock_warnings(purchase) -> list[str]:
    """What the purchase's buyer is told of the products their stations have too little of now
    (`purchases.short_stock`, the rule an approval is refused by), one message a product."""
    return [error_message("purchase_short_stock", shortage.details()) for shortage in purchases.short_stock(purchase)]


@bp.post("/purchases/<int:purchase_id>/<any(submit, approve, reject):action>")
@login_required
def purchase_action(purchase_id: int, action: str):
    purchase = purchases.get_visible_purchase(purchase_id, current_user)
    if action in ("approve", "reject"):
        # a decision that cannot be taken now (not this member's, decided already, over budget) is
        # refused at once, as the decision itself would refuse it, before any confirmation is asked
        refusal = purchases.decision_refusal(
            purchase,
            current_user,
            approve=action == "approve",
            now=now_utc(),
            reason=request.form.get("reason", "")[:1000],
        )
        if refusal is not None:
            if refusal.status == 403:
                abort(403)
            flash(refusal.message, "error")
            return redirect(url_for(".purchase_detail", purchase_id=purchase_id), 303)
        if action == "approve":
            groups = purchases.groups_of(purchase)
            question = ngettext(
                "确认审批通过采购单 %(id)s？将立即生成 %(num)s 张订单，合计 %(total)s。",
                "确认审批通过采购单 %(id)s？将立即生成 %(num)s 张订单，合计 %(total)s。",
                len(groups),
                id=purchase.id,
                total=format_yuan(sum(group.total_fen for group in groups)),
            )
        else:
            question = _("确认退回采购单 %(id)s？", id=purchase.id)
        page = ask_first(
            question,
            back=url_for(".purchase_detail", purchase_id=purchase_id),
            # a return is not final: its buyer changes the purchase and submits it again
            undo=None if action == "approve" else _("退回后，采购员可以修改采购单再提交审批。"),
        )
        if page is not None:
            return page
    try:
        now = now_utc()
        if action == "submit":
            purchases.submit_purchase(purchase, user=current_user, now=now)
            message = _("已提交审批")
        elif action == "approve":
            shown = request.form.get("shown_total_fen", "")
            purchases.approve_purchase(
                purchase,
                user=current_user,
                now=now,
                shown_total_fen=int_or_none(shown, maximum=MAX_FEN),
            )
            message = _("已审批，订单已生成")
        else:
            purchases.reject_purchase(
                purchase, reason=request.form.get("reason", "")[:1000], user=current_user, now=now
            )
            message = _("已退回采购单")
        commit()
        flash(message, "success")
        if action == "submit":  # sent all the same: stock is taken at approval, the station may restock
            for warning in _short_stock_warnings(purchase):
                flash(warning, "warning")
    except DomainError as exc:
        rollback()
        if exc.status == 403:  # not this member's step: refused like any other forbidden page
            abort(403)
        flash(exc.message, "error")
    return redirect(url_for(".purchase_detail", purchase_id=purchase_id), 303)


# --- budget and statement -------------------------------------------------------------------------


def _year(*, instead: str) -> tuple[int, int]:
    """(year, status) of `?year=`, this year when absent; a year typed wrong into the URL (99999, abc) is
    said on the page, which shows this year (`instead` says so; 422), as the county pages explain their
    dates (`shop.args.page_year_arg`)."""
    year, status = page_year_arg(
        "year", label=_("年份"), instead=instead, low=statements.MIN_YEAR, high=statements.MAX_YEAR
    )
    return (local_date(now_utc()).year if year is None else year), status


@bp.post("/organisations/<int:organisation_id>/budget")
@login_required
def set_budget(organisation_id: int):
    """The statement page's 设置年度预算 form. An amount or share typed wrong shows that year's statement
    again (422) with what was typed and, under its field, what it may be (the service's rule:
    `statements.typed_budget`, `statements.typed_reserved_share`); so does a budget below what the year
    has purchased already (409 `budget_below_purchased`, naming that amount); saved, back to that year's
    statement."""
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    if not statements.can_set_budget(organisation, current_user):
        abort(403)
    year = request.form.get("year", "")
    # back to the statement of the year the form was for (its own year, 2027's budget set in 2026), refused or not
    back = url_for(".statement_page", organisation_id=organisation.id, year=_form_year(year))
    typed = {"budget": request.form.get("budget", "")[:20], "reserved_pct": request.form.get("reserved_pct", "")[:10]}
    errors: dict[str, str] = {}
    budget_fen = reserved_bps = 0
    try:
        budget_fen = statements.typed_budget(typed["budget"])
    except ValidationError as exc:
        errors["budget"] = exc.message
    try:
        reserved_bps = statements.typed_reserved_share(typed["reserved_pct"])
    except ValidationError as exc:
        errors["reserved_pct"] = exc.message
    status = 422
    if not errors:
        try:
            statements.set_budget(
                organisation,
                year=_form_year(year) or 0,
                budget_fen=budget_fen,
                reserved_bps=reserved_bps,
                actor=current_user,
                now=now_utc(),
            )
            commit()
            flash(_("预算已保存"), "success")
            return redirect(back, 303)
        except DomainError as exc:
            rollback()
            if exc.code != "budget_below_purchased":
                flash(exc.message, "error")
                return redirect(back, 303)
            # below what the year has purchased already: said under the field, what was typed kept (409)
            errors["budget"], status = exc.message, exc.status
    for message in errors.values():
        flash(message, "error")
    try:
        st = statements.statement(organisation, statements.check_year(_form_year(year) or 0))
    except ValidationError:  # a year no page of ours sends: this year's statement says what was wrong
        return redirect(back, 303)
    return _statement_page(organisation, st, is_period=False, status=status, typed=typed, errors=errors)


def _form_year(text: str) -> int | None:
    """A year (four digits, `shop.args.int_or_none`) as the budget form sends it, or None."""
    return int_or_none(text, minimum=1000, maximum=9999)


def _statement(organisation):
    """(statement, is_period, status): the statement of the asked period (`from`–`to`) or of the year.
    A period or a year typed wrong by hand into the URL (a date that is none, one end missing, the ends
    reversed or too far apart; a year that is none) is said on the page, which shows the year (this
    one, for a wrong year) instead (422)."""
    instead = _("已显示全年对账单")

    def of_year(status: int):
        year, year_status = _year(instead=_("已显示今年的对账单"))
        return statements.statement(organisation, year), False, max(status, year_status)

    start, start_status = page_date_arg("from", label=_("起始日期"), instead=instead)
    end, end_status = page_date_arg("to", label=_("截止日期"), instead=instead)
    if start_status != 200 or end_status != 200:
        return of_year(422)
    if start is None and end is None:
        return of_year(200)
    if start is None or end is None:
        flash(_("请同时填写起始日期和截止日期；%(instead)s", instead=instead), "error")
        return of_year(422)
    try:
        return statements.statement_for(organisation, start, end), True, 200
    except ValidationError as exc:
        flash(exc.message, "error")
        return of_year(422)


@bp.get("/organisations/<int:organisation_id>/statement")
@login_required
def statement_page(organisation_id: int):
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    st, is_period, status = _statement(organisation)
    return _statement_page(organisation, st, is_period=is_period, status=status)


def _statement_page(organisation, st, *, is_period: bool, status: int, typed=None, errors=None):
    """The statement page; `typed` and `errors`: its budget form as sent and refused ({field: message})."""
    return render_template(
        "institutions/statement.html",
        organisation=organisation,
        st=st,
        is_period=is_period,
        me=orgs.membership(organisation.id, current_user),
        can_set_budget=statements.can_set_budget(organisation, current_user),
        years=(statements.MIN_YEAR, statements.MAX_YEAR),
        budget_typed=typed or {},
        budget_errors=errors or {},
        today=local_date(now_utc()),  # a period's invoice runs up to today at most (nothing later is paid)
    ), status


@bp.get("/organisations/<int:organisation_id>/statement.xlsx")
@login_required
def statement_xlsx(organisation_id: int):
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    st, is_period, status = _statement(organisation)
    if status != 200:  # a period typed wrong: no file of another period than the one asked
        abort(400)
    response = Response(
        statements.statement_xlsx(organisation, st),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"{st.period_from}_{st.period_to}" if is_period else str(st.year)
    response.headers["Content-Disposition"] = f'attachment; filename="statement-{organisation.id}-{name}.xlsx"'
    return response


@bp.get("/county/organisations/report")
@role_required("county")
def county_report():
    year, status = _year(instead=_("已显示今年的统计"))
    return render_template(
        "institutions/county_report.html",
        report=statements.county_report(year),
        years=(statements.MIN_YEAR, statements.MAX_YEAR),
    ), status


# --- quote requests (询价) ------------------------------------------------------------------------


QUOTE_STATUS_LABELS = {
    "open": _l("待报价"),
    "answered": _l("已报价"),
    "accepted": _l("已采纳"),
    "declined": _l("无法供货"),
}


@bp.app_context_processor
def _quote_labels() -> dict:
    return {"quote_status_labels": QUOTE_STATUS_LABELS}


# the station's desk (templates/stations/index.html) says how many quote requests wait for its answer
bp.add_app_template_global(quotes.open_count, "open_quote_count")


@bp.route("/organisations/<int:organisation_id>/quote-requests", methods=["GET", "POST"])
@login_required
def organisation_quotes(organisation_id: int):
    """An organisation's quote requests; its buyers send new ones. The form offers the products of the
    purchase form (`purchases.product_choices`): the newest, or what its 查找商品 finds (POST action=find,
    `_posted_action`: the form shown again as typed, nothing sent), and the product chosen."""
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    member = orgs.membership(organisation.id, current_user)
    can_ask = member is not None and member.role == MemberRole.BUYER and organisation.status == "approved"
    form = QuoteRequestForm()
    q = _query()
    chosen = form.product_id.data if isinstance(form.product_id.data, int) else None
    choices = purchases.product_choices(q=q, chosen=[chosen] if chosen else [], today=local_date(now_utc()))
    form.product_id.choices = [
        # every variant (规格): a quote names the variant it asks for, and its village (as the purchase
        # form: two villages sell a 三江腌菜500克, each from its own station; two villages 新村 by township)
        SelectChoice(p.id, f"{choices.label(p)} · {format_yuan(p.price_fen)} / {p.unit}")
        for p in choices.products
    ]
    status = 200
    if request.method == "POST":
        if not can_ask:
            abort(403)
        if _posted_action() == "find":
            pass  # only the products offered change: nothing is checked or sent
        elif form.validate_on_submit():
            try:
                now = now_utc()
                created = create_once(  # the same page posted twice: the first POST's request is listed there
                    form,
                    "institutions.quote_request",
                    lambda: quotes.create_quote_request(
                        organisation,
                        product_id=form.product_id.data,
                        quantity=form.quantity.data,
                        needed_by=form.needed_by.data,
                        note=form.note.data or "",
                        user=current_user,
                        now=now,
                    ),
                    now=now,
                    done=url_for(".organisation_quotes", organisation_id=organisation.id),
                )
                flash(_("询价已发给站点"), "success")
                return redirect(url_for(".quote_detail", quote_id=created.id), 303)
            except DomainError as exc:
                rollback()
                flash(exc.message, "error")
                status = exc.status
        else:
            flash_form_errors(form)
            status = 422
    return render_template(
        "institutions/quotes.html",
        organisation=organisation,
        rows=quotes.quotes_of(organisation),
        form=form,
        can_ask=can_ask,
        is_member=member is not None,
        today=local_date(now_utc()),
        q=q,
        found=choices.found,
    ), status


@bp.get("/station/quote-requests")
@role_required("operator")
def station_quotes():
    """The quote requests addressed to the operator's station (the station workspace)."""
    return render_template(
        "institutions/station_quotes.html", rows=quotes.quotes_for(current_user), today=local_date(now_utc())
    )


def _accept_form(quote, user) -> QuoteAcceptForm:
    form = QuoteAcceptForm()
    form.target.choices = [
        SelectChoice(
            f"{purchase.id}:{destination.id if destination is not None else 0}",
            _("采购单 %(n)s", n=purchase.id) + (f" · {destination.label}" if destination is not None else ""),
        )
        for purchase, destination in quotes.draft_targets(quote, user)
    ]
    return form


#: The answer's fields as the service names them (`quotes.answer_refusal`'s `fields`) → the form's.
ANSWER_FIELDS = {
    "quantity": "quantity",
    "unit_price_fen": "unit_price",
    "lead_days": "lead_days",
    "valid_until": "valid_until",
    "note": "note",
}


@bp.get("/quote-requests/<int:quote_id>")
@login_required
def quote_detail(quote_id: int):
    return _quote_page(quotes.get_visible_quote(quote_id, current_user))


def _quote_page(quote, *, typed=None, status: int = 200):
    """The quote request's page; `typed`: the station's answer or refusal form as posted, refused (a price
    of 0, a validity too far, a missing reason): shown again with what was typed, the reason at the top."""
    member = orgs.membership(quote.organisation_id, current_user)
    today = local_date(now_utc())
    is_buyer = member is not None and member.role == MemberRole.BUYER
    return render_template(
        "institutions/quote.html",
        quote=quote,
        expired=quotes.is_expired(quote, today),
        past_needed_by=quote.status == "open" and quote.needed_by < today,
        can_answer=quotes.is_station_of(quote, current_user) and quote.status == "open",
        can_accept=is_buyer and quote.status == "answered" and not quotes.is_expired(quote, today),
        is_station=quotes.is_station_of(quote, current_user),
        answer_form=typed if isinstance(typed, QuoteAnswerForm) else QuoteAnswerForm(formdata=None),
        decline_form=typed if isinstance(typed, QuoteDeclineForm) else QuoteDeclineForm(formdata=None),
        accept_form=_accept_form(quote, current_user) if is_buyer else None,
    ), status


def _late_arrival_details(quote, lead_days, now) -> list[str]:
    """The confirmation's warning when the answer's lead time misses the organisation's date."""
    late = quotes.late_arrival(quote, lead_days, now=now)
    if late is None:
        return []
    return [
        _(
            "按此交货周期，最早 %(day)s 送达，晚于单位希望送达的 %(needed)s。",
            day=late.isoformat(),
            needed=quote.needed_by.isoformat(),
        )
    ]


@bp.post("/quote-requests/<int:quote_id>/<any(answer, decline, accept):action>")
@login_required
def quote_action(quote_id: int, action: str):
    quote = quotes.get_visible_quote(quote_id, current_user)
    if action == "accept":
        member = orgs.membership(quote.organisation_id, current_user)
        if member is None or member.role != MemberRole.BUYER:
            abort(403)
    elif not quotes.is_station_of(quote, current_user):
        abort(403)
    back = url_for(".quote_detail", quote_id=quote.id)
    now = now_utc()
    if action == "answer":
        form = QuoteAnswerForm()
        if not form.validate_on_submit():  # the station's form again as typed, the reason at the top
            flash_form_errors(form)
            return _quote_page(quote, typed=form, status=422)
        try:
            price = parse_yuan((form.unit_price.data or "")[:16])
        except MoneyError:
            flash(error_message("invalid_quote_price_typed"), "error")
            return _quote_page(quote, typed=form, status=422)
        data = quotes.AnswerData(
            quantity=form.quantity.data,
            unit_price_fen=price,
            lead_days=form.lead_days.data,
            valid_until=form.valid_until.data,
            note=form.note.data or "",
        )
        try:  # refused before the confirmation step, never confirmed first and refused after
            quotes.answer_refusal(quote, data, user=current_user, now=now)
        except DomainError as exc:
            flash(exc.message, "error")
            for name in exc.fields or {}:  # the field it names shows it too, where the operator looks
                field = getattr(form, ANSWER_FIELDS.get(name, ""), None)
                if field is not None:
                    field.errors = [*field.errors, exc.message]
            return _quote_page(quote, typed=form, status=exc.status)
        page = ask_first(
            ngettext(
                "确认报价：%(q)s %(unit)s，单价 %(price)s，%(num)s 天交货，有效至 %(day)s？报价后不能修改。",
                "确认报价：%(q)s %(unit)s，单价 %(price)s，%(num)s 天交货，有效至 %(day)s？报价后不能修改。",
                int(form.lead_days.data or 0),
                q=form.quantity.data,
                unit=quote.product.unit,
                price=format_yuan(price),
                day=form.valid_until.data.isoformat() if form.valid_until.data else "",
            ),
            back=back,
            details=_late_arrival_details(quote, data.lead_days, now),
        )
        if page is not None:
            return page
        service, message = (lambda: quotes.answer_quote(quote, data, user=current_user, now=now)), _("已报价")
    elif action == "decline":
        form = QuoteDeclineForm()
        if not form.validate_on_submit():
            flash_form_errors(form)
            return _quote_page(quote, typed=form, status=422)
        page = ask_first(_("确认答复无法供货？"), back=back)
        if page is not None:
            return page
        reason = form.reason.data or ""
        service, message = (
            (lambda: quotes.decline_quote(quote, reason=reason, user=current_user, now=now)),
            _("已答复无法供货"),
        )
    else:
        form = _accept_form(quote, current_user)
        if not form.validate_on_submit():
            flash_form_errors(form)
            return redirect(back, 303)
        purchase_id, destination_id = (int(part) for part in form.target.data.split(":"))
        page = ask_first(
            _("确认按报价单价 %(price)s 加入采购单 %(n)s？", price=format_yuan(quote.unit_price_fen), n=purchase_id),
            back=back,
        )
        if page is not None:
            return page
        service, message = (
            (
                lambda: quotes.accept_quote(
                    quote, purchase_id=purchase_id, destination_id=destination_id or None, user=current_user, now=now
                )
            ),
            _("已采纳报价，已加入采购单"),
        )
        back = url_for(".purchase_detail", purchase_id=purchase_id)
    try:
        service()
        commit()
        flash(message, "success")
    except DomainError as exc:
        rollback()
        if exc.status == 403:
            abort(403)
        held_by = quotes.accepting_purchase(quote) if exc.code == "quote_already_accepted" else None
        if held_by is not None:  # a double tap, or Back and 确认 again: done, shown where it went
            flash(_("该报价已采纳，已在采购单 %(n)s 中", n=held_by), "info")
            return redirect(url_for(".purchase_detail", purchase_id=held_by), 303)
        flash(exc.message, "error")
        back = url_for(".quote_detail", quote_id=quote.id)
    return redirect(back, 303)


@bp.get("/county/organisations/report.xlsx")
@role_required("county")
def county_report_xlsx():
    year, status = _year(instead=_("未生成文件"))
    if status != 200:  # a year typed wrong: no file of another year than the one asked
        abort(400)
    report = statements.county_report(year)
    response = Response(
        statements.county_report_xlsx(report, {kind: str(label) for kind, label in KIND_LABELS.items()}),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response.headers["Content-Disposition"] = f'attachment; filename="institutions-{report.year}.xlsx"'
    return response
