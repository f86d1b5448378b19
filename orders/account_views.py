"""我的 (`/account`): the signed-in account's page — its name and e-mail, the ways to its orders (with the
counts of 我的订单's tabs), bookings, favourites, reviews, addresses, password and language — and its
address book (收货地址, `/account/addresses`: list, add, edit, delete, choose the default).

Every role has the page (a station's operator or the county's officer buys too); the links to other
packages' pages (我的预订, 我的收藏, 我的评价) show where this app has them (`has_endpoint`). The address
book's rules are `orders.services.addresses`'s; an order keeps its own copy of its address, so nothing
here changes an order.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from orders.forms import AddressForm, NewAddressForm, mark_address_fields
from orders.services import addresses
from orders.services.tabs import shown_tabs, tab_counts
from shop.db import commit, rollback
from shop.errors import DomainError
from shop.forms import create_once
from shop.timeutil import now_utc

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("")
@login_required
def index():
    counts = tab_counts(current_user.id)  # one statement
    waiting = [(tab, counts[tab]) for tab in shown_tabs() if tab != "all" and counts.get(tab)]
    return render_template("orders/account.html", waiting=waiting)


@bp.get("/addresses")
@login_required
def address_list():
    return render_template(
        "orders/addresses.html",
        addresses=addresses.address_book(current_user),
        limit=addresses.MAX_ADDRESSES,
    )


def _own(address_id: int):
    """One of the signed-in account's addresses; another account's, or a deleted one, is a 404."""
    try:
        return addresses.get_address(current_user, address_id)
    except DomainError:
        abort(404)


def _refused(form: AddressForm, exc: DomainError) -> int:
    """A service's refusal of the form: rolled back, said at the top and under each field it names."""
    rollback()
    flash(exc.message, "error")
    mark_address_fields(form, exc)
    return exc.status


@bp.route("/addresses/new", methods=["GET", "POST"])
@login_required
def address_new():
    form = NewAddressForm()
    status = 200
    if form.validate_on_submit():
        try:
            create_once(
                form,
                "account.address_new",
                lambda: addresses.save_address(
                    current_user, form.address_data(), now=now_utc(), make_default=form.is_default.data
                ),
                now=now_utc(),
                done=url_for(".address_list"),
            )
        except DomainError as exc:
            status = _refused(form, exc)
        else:
            flash(_("地址已保存"), "success")
            return redirect(url_for(".address_list"), 303)
    elif form.errors:
        status = 422
    return render_template("orders/address_form.html", form=form, address=None), status


@bp.route("/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@login_required
def address_edit(address_id: int):
    address = _own(address_id)
    form = AddressForm(obj=address if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        if form.validate():  # no once-token: the same change saved twice changes nothing more
            try:
                addresses.update_address(address, form.address_data(), make_default=form.is_default.data)
                commit()
            except DomainError as exc:
                status = _refused(form, exc)
            else:
                flash(_("地址已保存"), "success")
                return redirect(url_for(".address_list"), 303)
        else:
            status = 422
    return render_template("orders/address_form.html", form=form, address=address), status


@bp.post("/addresses/<int:address_id>/default")
@login_required
def address_default(address_id: int):
    addresses.set_default_address(_own(address_id))  # (CSRF: checked for every POST, shop.extensions.csrf)
    commit()
    flash(_("已设为默认地址"), "success")
    return redirect(url_for(".address_list"), 303)


@bp.post("/addresses/<int:address_id>/delete")
@login_required
def address_delete(address_id: int):
    addresses.delete_address(_own(address_id))
    commit()
    flash(_("地址已删除；已下的订单仍按原地址配送"), "success")
    return redirect(url_for(".address_list"), 303)
