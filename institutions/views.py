"""HTML views of institutional buying: my organisations, registering one, an organisation's page with
its members, and the county office's verification list. Thin routes: parse -> load/404 ->
permission -> one service -> commit() -> redirect."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from institutions.forms import DecisionForm, MemberForm, OrganisationForm
from institutions.labels import KIND_LABELS, ORGANISATION_STATUS_LABELS, ROLE_LABELS
from institutions.models import OrganisationStatus
from institutions.services import organisations as orgs
from shop.auth.models import Role
from shop.auth.permissions import role_required
from shop.db import commit, rollback
from shop.errors import DomainError, flash_domain_errors
from shop.timeutil import now_utc

bp = Blueprint("institutions", __name__)


@bp.app_context_processor
def _labels() -> dict:
    return {"org_kind_labels": KIND_LABELS, "org_role_labels": ROLE_LABELS,
            "org_status_labels": ORGANISATION_STATUS_LABELS}


def _flash_form_errors(form) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(error, "error")


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
            data = orgs.OrganisationData(**{name: form[name].data or "" for name in (
                "name", "kind", "credit_code", "address", "contact_name", "contact_phone")})
            try:
                organisation = orgs.register_organisation(data, user=current_user, now=now_utc())
                commit()
                flash(_("单位已登记，等待扶贫办审核"), "success")
                return redirect(url_for(".detail", organisation_id=organisation.id), 303)
            except DomainError as exc:
                rollback()
                flash(exc.message, "error")
                status = exc.status
        else:
            _flash_form_errors(form)
            status = 422
    return render_template("institutions/register.html", form=form), status


@bp.get("/organisations/<int:organisation_id>")
@login_required
def detail(organisation_id: int):
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    return render_template(
        "institutions/detail.html", organisation=organisation,
        me=orgs.membership(organisation.id, current_user),
        can_manage=orgs.can_manage_members(organisation, current_user),
        can_decide=current_user.has_role(Role.COUNTY) and organisation.status == OrganisationStatus.PENDING,
        member_form=MemberForm(), decision_form=DecisionForm(),
    )


@bp.post("/organisations/<int:organisation_id>/members")
@login_required
def add_member(organisation_id: int):
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    if not orgs.can_manage_members(organisation, current_user):
        abort(403)
    form = MemberForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
    else:
        with flash_domain_errors():
            orgs.add_member(organisation, email=form.email.data, role=form.role.data, actor=current_user,
                            now=now_utc())
            commit()
            flash(_("成员已保存"), "success")
    return redirect(url_for(".detail", organisation_id=organisation.id), 303)


@bp.get("/county/organisations")
@role_required("county")
def review():
    wanted = request.args.get("status", OrganisationStatus.PENDING)
    status = wanted if wanted in set(OrganisationStatus) else None
    return render_template("institutions/review.html", organisations=orgs.list_organisations(status=status),
                           status=status)


@bp.post("/organisations/<int:organisation_id>/<any(approve, reject):decision>")
@role_required("county")
def decide(organisation_id: int, decision: str):
    organisation = orgs.get_visible_organisation(organisation_id, current_user)
    form = DecisionForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
    else:
        with flash_domain_errors():
            orgs.decide_organisation(organisation, approve=decision == "approve", reason=form.reason.data or "",
                                     actor=current_user, now=now_utc())
            commit()
            flash(_("已审核通过") if decision == "approve" else _("已退回"), "success")
    return redirect(url_for(".detail", organisation_id=organisation.id), 303)
