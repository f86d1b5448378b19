"""The host's new listing (住宿/体验/门票, with its first room type, ticket kind or experience) and another
room type or ticket kind on a listing's edit page. Routes on the tourism blueprint (`tourism.views.bp`)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from catalog.services import list_villages
from shop.auth.permissions import role_required
from shop.db import rollback
from shop.errors import DomainError
from shop.forms import create_once, flash_form_errors
from shop.timeutil import now_utc
from tourism.forms import NewListingForm, NewUnitTypeForm
from tourism.models import ListingKind
from tourism.services.host import get_host_listing
from tourism.services.listings import NewListing, NewUnitType, add_unit_type, create_listing
from tourism.views import bp, render_host_edit


def _new_listing_form() -> NewListingForm:
    form = NewListingForm(max_guests=2)  # shown first with 2 guests a room
    form.village_id.choices = [SelectChoice(v.id, f"{v.township.name} · {v.name}") for v in list_villages()]
    return form


def _refused(form, exc: DomainError, *, default) -> None:
    """A service refused the form: roll back and show its message under the field it names
    (`price_fen` -> `price`; a unit type's `name` on the create form is its `unit_name`)."""
    rollback()
    name = next(iter(exc.fields), "").removesuffix("_fen")
    if name == "name" and exc.code.startswith("unit_type") and isinstance(form, NewListingForm):
        name = "unit_name"
    field = getattr(form, name, None) if name else None
    (field if field is not None else default).errors = [exc.message]


def _unit_type_input(form) -> NewUnitType:
    return NewUnitType(
        name=(form.unit_name.data if isinstance(form, NewListingForm) else form.name.data) or "",
        units=form.units.data,
        max_guests=form.max_guests.data,
        price_fen=form.price.fen,
        weekend_price_fen=form.weekend_price.fen,
        holiday_price_fen=form.holiday_price.fen,
    )


@bp.route("/host/listings/new", methods=["GET", "POST"])
@role_required("host")
def host_listing_new():
    """新建项目: created closed to tourists; the host adds photos, then opens it on its edit page."""
    form = _new_listing_form()
    status = 200
    if form.is_submitted():
        if not form.validate():
            flash_form_errors(form)
            status = 422
        else:
            now = now_utc()
            new = NewListing(
                kind=form.kind.data,
                name=form.name.data or "",
                village_id=form.village_id.data,
                address=form.address.data or "",
                contact_phone=form.contact_phone.data or "",
                description=form.description.data or "",
                included=form.included.data or "",
            )
            try:  # the same page posted twice: the first POST created it, the host's desk lists it
                listing = create_once(
                    form,
                    "tourism.host_listing_new",
                    lambda: create_listing(new, _unit_type_input(form), host=current_user, now=now),
                    now=now,
                    done=url_for("tourism.host_home"),
                )
            except DomainError as exc:
                _refused(form, exc, default=form.name)
                flash_form_errors(form)
                status = exc.status
            else:
                flash(_("项目已创建，尚未对游客开放：请上传照片，再勾选「对游客开放」并保存。"), "success")
                if listing.kind == ListingKind.EXPERIENCE:
                    flash(_("游客按场次预订体验：请在场次页面添加日期和开始时间。"), "info")
                return redirect(url_for("tourism.host_listing_edit", listing_id=listing.id), 303)
    return render_template("tourism/host_listing_new.html", form=form), status


@bp.post("/host/listings/<int:listing_id>/unit-types/new")
@role_required("host")
def host_unit_type_new(listing_id: int):
    """添加房型 / 添加票种: another unit type of the host's stay or ticket listing."""
    listing = get_host_listing(current_user, listing_id)
    form = NewUnitTypeForm(prefix="new")
    if not form.validate_on_submit():
        return render_host_edit(listing, new_unit_form=form, status=422)
    now = now_utc()
    try:  # the same page posted twice: the first POST added it
        unit_type = create_once(
            form,
            "tourism.host_unit_type_new",
            lambda: add_unit_type(listing, _unit_type_input(form), actor=current_user, now=now),
            now=now,
            done=url_for("tourism.host_listing_edit", listing_id=listing_id),
        )
    except DomainError as exc:
        _refused(form, exc, default=form.name)
        return render_host_edit(get_host_listing(current_user, listing_id), new_unit_form=form, status=exc.status)
    flash(_("已添加：%(name)s", name=unit_type.name), "success")
    return redirect(url_for("tourism.host_listing_edit", listing_id=listing_id), 303)
