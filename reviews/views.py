"""HTML views of reviews: the buyer's review form, the station's/host's replies, the county's
moderation. Thin routes: parse -> load/404 -> permission -> one service -> commit() -> redirect.

Pages of lower packages show reviews through the template globals registered here
(`reviews_of`, `line_review_state`) and `{% include "reviews/..." ignore missing %}`; the buyer's order
page gets its lines' review states from `orders.line_reviews`, which this package registers.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from orders import line_reviews
from orders.services.tabs import extend_tab
from reviews import services
from reviews.forms import HideForm, ReplyForm, ReviewForm
from reviews.models import MAX_PHOTOS
from shop.args import int_or_none
from shop.auth.permissions import role_required
from shop.confirm import ask_first
from shop.db import commit, rollback
from shop.errors import N_, DomainError, flash_domain_errors
from shop.security import limiter
from shop.timeutil import now_utc
from shop.urls import same_site_path

bp = Blueprint("reviews", __name__)

#: Writing reviews and replies, per signed-in account (Flask-Limiter; off when RATE_LIMITS is False).
REVIEW_LIMIT = "10 per hour"


def _account_key() -> str:
    return f"account:{current_user.get_id()}"


@bp.record_once
def _contribute(_state) -> None:
    extend_tab("to_review", services.awaiting_review)
    line_reviews.register(services.LineReviewStates())  # the order page's 评价 / 已评价 per line


@bp.app_template_global("reviews_of")
def _reviews_of(subject, limit: int = 20):
    """The visible reviews of a product (all its variants, 规格) or a listing, newest first (product
    and listing pages)."""
    if getattr(subject, "__tablename__", "") == "products":
        return services.visible_reviews(product_ids=subject.family_ids, limit=limit)
    return services.visible_reviews(listing_id=subject.id, limit=limit)


@bp.app_template_global("line_review_state")
def _line_review_state(line):
    """For a page that shows one line (the booking page): ("reviewed", review) | ("open", None) | (None, None).
    The order page reads all its lines' at once (`orders.line_reviews`)."""
    return services.review_states([line])[line.id]


@bp.route("/orders/<code>/lines/<int:line_id>/review", methods=["GET", "POST"])
@login_required
def write(code: str, line_id: int):
    line = services.own_line(code, line_id, current_user)
    form = ReviewForm()
    if request.method == "POST":
        if form.validate_on_submit():
            return _publish(code, line, form)
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return _review_page(form, line, code, 422)
    if not services.can_review(line):
        if services.review_of(line):  # the back button after 发布评价: done, not an error
            flash(services.already_reviewed(line).message, "info")
        else:
            flash(_("商品送达或行程完成后才能评价"), "error")
        return redirect(url_for("orders.order_detail", code=code), 303)
    return _review_page(form, line, code, 200)


def _review_page(form: ReviewForm, line, code: str, status: int):
    return render_template("reviews/write.html", form=form, line=line, code=code, max_photos=MAX_PHOTOS), status


@bp.get("/account/reviews")
@login_required
def mine():
    """我的评价: the signed-in account's reviews, newest first (linked from 我的, /account)."""
    return render_template("reviews/mine.html", reviews=services.reviews_by(current_user))


@limiter.limit(REVIEW_LIMIT, key_func=_account_key)
def _publish(code: str, line, form: ReviewForm):
    """The review of a form that passed its checks, handed to the service. Only this counts against
    REVIEW_LIMIT (as on the API, where a body its schema refuses never reaches the limit): a post that
    reaches the service counts, written or refused by it; a form refused for what it says (no stars, a
    tampered rating, too long a text) costs the buyer no attempt."""
    data = services.ReviewData(rating=form.rating.data, body=form.body.data or "", photos=tuple(form.photos.data or ()))
    try:
        services.write_review(line, data, user=current_user, now=now_utc())
        commit()
    except DomainError as exc:
        rollback()
        if exc.status == 404:
            raise
        if exc.code in services.ALREADY_REVIEWED:  # sent again (Back, a second tap): done, back to the order
            flash(exc.message, "info")
            return redirect(url_for("orders.order_detail", code=code), 303)
        flash(exc.message, "error")
        return _review_page(form, line, code, exc.status)
    flash(_("感谢您的评价"), "success")
    return redirect(url_for("orders.order_detail", code=code), 303)


@bp.post("/reviews/<int:review_id>/reply")
@role_required("operator", "host")
def reply_to(review_id: int):
    review = services.get_review(review_id)
    if not services.may_reply(review, current_user):
        abort(404)  # another station's or host's review: as if it did not exist
    form = ReplyForm()
    if not form.validate_on_submit():
        flash(_("请填写回复（最多 300 字）"), "error")
    else:
        _reply(review, form)
    return redirect(url_for(".to_answer"), 303)


@limiter.limit(REVIEW_LIMIT, key_func=_account_key)
def _reply(review, form: ReplyForm) -> None:
    """The reply of a form that passed its checks, handed to the service. Only this counts against
    REVIEW_LIMIT, as a review's `_publish` and the API: a post that reaches the service counts, published
    or refused by it (replied already); a form refused for what it says (empty, too long) costs the station
    or host no attempt."""
    with flash_domain_errors():
        services.reply(review, form.body.data, user=current_user, now=now_utc())
        commit()
        flash(_("回复已发布"), "success")


@bp.get("/reviews/answer")
@role_required("operator", "host")
def to_answer():
    return render_template("reviews/answer.html", reviews=services.reviews_to_answer(current_user), form=ReplyForm())


@bp.app_template_global("may_moderate_reviews")
def _may_moderate_reviews(user) -> bool:
    """Whether the visitor gets the moderation link beside each review of a product or listing page
    (the personal part `moderate_review`)."""
    return services.may_moderate(user)


@bp.get("/reviews/moderate")
@role_required("county")
def moderate():
    """评价管理: every review, newest first, a page at a time, filtered by hidden or not, low stars and
    a text in the review or its subject's name. A filter that makes no sense (a link typed by hand)
    gives the whole list with a message, not an error page."""
    f, wrong = _moderation_query()
    if wrong:
        flash(_("筛选条件无效，已显示全部评价"), "error")
        f = services.ModerationQuery()
    reviews, total = services.moderation_reviews(f)
    pages = max(1, -(-total // f.per_page))
    if f.page > pages:
        return redirect(url_for(".moderate", **_filter_args(f), page=pages), 303)
    return render_template(
        "reviews/moderate.html",
        reviews=reviews,
        total=total,
        f=f,
        page=f.page,
        pages=pages,
        states=STATE_LABELS,
        filter_args=_filter_args(f),
    )


#: The choices of the moderation list's 状态 filter (msgids), as `services.MODERATION_STATES`.
STATE_LABELS = {"": N_("全部"), "shown": N_("显示中"), "hidden": N_("已隐藏")}


def _moderation_query() -> tuple[services.ModerationQuery, bool]:
    """The moderation list's filters from the query string, and whether any of them was not one it offers."""
    args = request.args
    state = args.get("state", "").strip()
    low = args.get("low", "").strip()
    page_arg = args.get("page", "").strip() or "1"
    q = args.get("q", "")
    wrong = state not in services.MODERATION_STATES or low not in ("", "1") or len(q) > 100
    page = int_or_none(page_arg, maximum=999_999) or 0
    wrong = wrong or page < 1
    return services.ModerationQuery(state=state, low=low == "1", q=q.strip(), page=max(page, 1)), wrong


def _filter_args(f: services.ModerationQuery) -> dict:
    return {k: v for k, v in (("state", f.state), ("low", "1" if f.low else ""), ("q", f.q)) if v}


@bp.get("/reviews/<int:review_id>/moderate")
@role_required("county")
def moderate_one(review_id: int):
    """One review's moderation (its hide form), opened from the 隐藏 link beside it on a product or
    listing page; hiding it (or going back) returns to `next`, the page it was opened from."""
    review = services.get_review(review_id)
    return render_template(
        "reviews/moderate_one.html", review=review, form=HideForm(), back=_back(request.args.get("next"))
    )


def _back(target: str | None) -> str:
    """Where a moderation step returns: `target` when it stays on this site, else the moderation list."""
    return same_site_path(target) or url_for(".moderate")


@bp.post("/reviews/<int:review_id>/hide")
@role_required("county")
def hide_review(review_id: int):
    review = services.get_review(review_id)
    form = HideForm()
    back = _back(request.form.get("next"))
    if not form.validate_on_submit():
        flash(_("请填写隐藏原因（最多 200 字）"), "error")
        return redirect(_retry(review, request.form.get("next")), 303)
    with flash_domain_errors():
        # a reason of spaces, a review hidden already: refused at once, never confirmed first
        reason = services.check_hide(review, form.reason.data, actor=current_user)
        page = ask_first(  # irreversible: nothing shows a hidden review again
            _("确认隐藏这条评价？隐藏后买家和其他人都看不到它。"),
            # which review (the list holds many) and the reason its writer will read on their order
            details=[
                _("评价：%(subject)s", subject=review.product.name if review.product else review.listing.name),
                ngettext("%(num)s 星", "%(num)s 星", review.rating),
                *([review.body] if review.body else []),
                _("隐藏原因：%(reason)s", reason=reason),
            ],
            back=back,
        )
        if page is not None:
            return page
        services.hide(review, reason, actor=current_user, now=now_utc())
        commit()
        flash(_("评价已隐藏"), "success")
        return redirect(back, 303)
    return redirect(_retry(review, request.form.get("next")), 303)


def _retry(review, target: str | None) -> str:
    """After a refused hide: the page it was asked from — the review's own moderation page when it was
    opened from a product or listing page (its form again), else the list (or the page of it) it was on."""
    back = same_site_path(target)
    if back and not back.startswith(url_for(".moderate")):
        return url_for(".moderate_one", review_id=review.id, next=back)
    return back or url_for(".moderate")
