"""The recording pages of benefits that do not come from a sale (issue #20): purchases, wages, dividends,
rents and collective distributions, recorded by whoever pays them —

- the county office: `/county/benefits` (any station or listing, or neither);
- a station's operator: `/station/benefits`, for its own station (from the station workspace);
- a host: `/host/benefits`, for one of its own listings (from the host's page).

One form and one template for the three (`templates/county/record_benefits.html`), posted with the CSRF
token and a once-token (a second POST of the same form records nothing and says the first did:
`shop.forms.create_once`), read into
`county.services.benefits.RecordData` and recorded by `record_benefit`, which validates the whole record
(a period, a rate, shares that sum, known households and members), checks who may record it
(`can_record`), credits the ledger and writes the audit row — or refuses it with the reason and writes
nothing. The pages live in the county package because the service does (it sits above stations and
tourism); the station's and host's navigation link to them.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from catalog.models import Household
from catalog.services import household_labels
from county.services import benefits
from county.services.reports import BENEFIT_KIND_LABELS
from shop.args import MAX_ID, parse_date, parse_int
from shop.auth.models import Role
from shop.auth.permissions import role_required
from shop.db import rollback
from shop.errors import DomainError, ValidationError
from shop.extensions import db
from shop.filters import bracketed
from shop.forms import OnceTokenForm, create_once
from shop.money import MoneyError, format_yuan, parse_yuan
from shop.once import new_form_token
from shop.timeutil import now_utc
from stations.services.assisted import station_households
from stock.models import Station
from tourism.models import Listing

bp = Blueprint("benefit_pages", __name__)

#: Rows of the form (more lines: record twice).
RECORD_ROWS = 10


def yuan_field(name: str) -> int | None:
    text = request.form.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_yuan(text)
    except MoneyError:
        raise ValidationError("invalid_amount_format", fields={name: "invalid"}) from None


def int_field(name: str) -> int | None:
    text = request.form.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_int(text, minimum=1, maximum=MAX_ID)
    except ValueError:
        raise ValidationError("positive_integer_required", fields={name: "invalid"}) from None


def _date_field(name: str):
    try:
        return parse_date(request.form.get(name, "")[:10])
    except ValueError:
        raise ValidationError("record_period_required", fields={name: "invalid"}) from None


def record_data(*, station_id: int | None, listing_id: int | None) -> benefits.RecordData:
    """The posted form as a record (the lines typed into the rows; empty rows skipped)."""
    lines = []
    for i in range(RECORD_ROWS):
        household_id = int_field(f"household_{i}")
        if household_id is None:
            continue
        count = int_field(f"count_{i}")
        lines.append(
            benefits.RecordLine(
                household_id=household_id,
                member_no=int_field(f"member_{i}"),
                units=count,
                quantity=count,
                shares=count,
                rate_fen=yuan_field(f"rate_{i}"),
                amount_fen=yuan_field(f"amount_{i}"),
            )
        )
    return benefits.RecordData(
        kind=request.form.get("kind", "")[:12],
        period_from=_date_field("period_from"),
        period_to=_date_field("period_to"),
        description=request.form.get("description", "")[:200],
        unit=request.form.get("unit", "day")[:8],
        station_id=station_id,
        listing_id=listing_id,
        total_fen=yuan_field("total"),
        shares_total=int_field("shares_total"),
        lines=lines,
    )


def handle(*, payer: str, payer_ids: Callable[[], tuple[int | None, int | None]], back: str, page: dict):
    """GET shows the form; POST records (redirect back) or shows the form again with the reason (422).
    `payer_ids()` reads who pays from the page or the form: (station id, listing id)."""
    status = 200
    if request.method == "POST":
        try:
            station_id, listing_id = payer_ids()
            data = record_data(station_id=station_id, listing_id=listing_id)
            if not benefits.can_record(current_user, station_id=data.station_id, listing_id=data.listing_id):
                abort(403)
            now = now_utc()
            record = create_once(  # the same sheet posted twice: the first POST recorded it, listed on the page
                OnceTokenForm(),
                "county.benefit_record",
                lambda: benefits.record_benefit(data, actor=current_user, now=now),
                now=now,
                done=back,
            )
            flash(_("已登记并入账：%(amount)s", amount=format_yuan(record.total_fen)), "success")
            return redirect(back, 303)
        except DomainError as exc:
            rollback()
            flash(exc.message, "error")
            status = 409 if exc.code == "form_token_invalid" else 422
    return render_template(
        "county/record_benefits.html" if payer == "county" else "county/record_benefits_payer.html",
        payer=payer,
        rows=RECORD_ROWS,
        kinds=[(k, BENEFIT_KIND_LABELS[k]) for k in benefits.RECORDED_KINDS],
        form=request.form,
        form_token=new_form_token(),
        **page,
    ), status


def _household_choices(households) -> list[tuple[int, str]]:
    """The household pickers' options: each household's label (`catalog.services.household_labels`: its
    number, the head's name masked, its village) and its members, in the page's language."""
    households = list(households)
    labels = household_labels(households)
    return [(h.id, bracketed(labels[h.id], ngettext("%(num)s 口人", "%(num)s 口人", h.members))) for h in households]


@bp.route("/station/benefits", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def station_benefits():
    """A station's purchases, wages, dividends, rents (its own station; an admin picks one: ?station=CODE)."""
    if current_user.role == Role.ADMIN:
        code = request.args.get("station", "").strip()[:16]
        station = db.session.scalar(db.select(Station).where(Station.code == code)) if code else None
        if station is None:
            station = db.session.scalar(db.select(Station).order_by(Station.code).limit(1))
    else:
        station = db.session.get(Station, current_user.station_id) if current_user.station_id else None
    if station is None:
        abort(404)
    station_args = {"station": station.code} if current_user.role == Role.ADMIN else {}
    return handle(
        payer="station",
        payer_ids=lambda: (station.id, None),
        back=url_for(".station_benefits", **station_args),
        page={
            "station": station,
            "station_args": station_args,
            "households": _household_choices(station_households(station)),
            "records": benefits.list_records(station_id=station.id),
            "action": url_for(".station_benefits", **station_args),
        },
    )


@bp.route("/host/benefits", methods=["GET", "POST"])
@role_required("host")
def host_benefits():
    """A host's wages, dividends, rents for one of its listings (chosen in the form)."""
    listings = list(
        db.session.scalars(db.select(Listing).where(Listing.host_id == current_user.id).order_by(Listing.name))
    )
    villages = {listing.village_id for listing in listings}
    households = (
        db.session.scalars(
            db.select(Household).where(Household.village_id.in_(villages)).order_by(Household.village_id, Household.id)
        ).all()
        if villages
        else []
    )
    return handle(
        payer="host",
        payer_ids=lambda: (None, _listing_choice(listings)),
        back=url_for(".host_benefits"),
        page={
            "listings": listings,
            "households": _household_choices(households),
            "records": benefits.list_records(listing_ids=[listing.id for listing in listings]),
            "action": url_for(".host_benefits"),
        },
    )


def _listing_choice(listings) -> int:
    """The posted listing, one of the host's own (another's or none: 404, nothing recorded)."""
    text = request.form.get("listing_id", "").strip()
    try:
        listing_id = parse_int(text, minimum=1, maximum=MAX_ID)
    except ValueError:
        abort(404)
    if listing_id not in {listing.id for listing in listings}:
        abort(404)
    return listing_id
