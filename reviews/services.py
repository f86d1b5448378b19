"""The rules of reviews: who may review what and when, one per order line, one reply, hiding
(audited), the aggregates shown on cards, and the "to review" tab of 我的订单.

Services only flush; routes and the API commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from catalog.images import CheckedImage, check_image, store_photo
from catalog.models import Product
from orders.models import LineStatus, Order, OrderLine, Shipment, ShipmentStatus
from reviews.models import MAX_BODY, MAX_HIDE_REASON, MAX_PHOTOS, MAX_REPLY, Review, ReviewPhoto
from shop import pagecache
from shop.audit import record_audit
from shop.codes import typed_code
from shop.db import unique_or
from shop.errors import Conflict, Forbidden, NotFound, ValidationError
from shop.extensions import db
from shop.text import plain_text
from tourism.models import Booking, BookingStatus, Listing


def clean_text(text: str | None, *, limit: int, field: str) -> str:
    """What a visitor typed (a review, a reply, a hide reason), kept as typed: NFC, line breaks
    normalised, control, zero-width and direction-override characters removed (a newline and a tab
    stay), runs of blank lines shortened, trimmed, at most `limit` characters. It is plain text, never
    HTML: "x<y和y>z" and "评分<b>5</b>" are kept whole, and every page, e-mail and the API show it
    escaped (Jinja's autoescape; JSON strings), so nothing typed is lost and nothing typed runs. Too long:
    `review_too_long` naming `field`, the form's and the API's name of what was typed (`body` for a review and
    a reply, `reason` for a hide reason)."""
    text = plain_text(text)  # the one rule of free text written to others (shop.text)
    if len(text) > limit:
        raise ValidationError("review_too_long", n=limit, fields={field: "too_long"})
    return text


# --- what may be reviewed ----------------------------------------------------------------------


def own_line(order_code: str, line_id: int, user) -> OrderLine:
    """The line of the user's own order; anyone else's order (or a line of another order) is a 404."""
    line = db.session.scalar(
        sa.select(OrderLine)
        .join(Order, OrderLine.order_id == Order.id)
        .where(Order.code == typed_code(order_code)[:16], OrderLine.id == line_id)
    )
    if line is None or user is None or line.order.user_id != user.id:
        raise NotFound("order_not_found")
    return line


def _line_done(line: OrderLine) -> bool:
    """A product handed over (and kept), or a stay/experience/ticket completed."""
    if line.kind == "product":
        return (
            line.status == LineStatus.OPEN
            and line.shipment is not None
            and line.shipment.status == ShipmentStatus.DELIVERED
            and line.product_id is not None
        )
    booking = db.session.get(Booking, line.booking_id) if line.booking_id else None
    return booking is not None and booking.status == BookingStatus.COMPLETED


def review_of(line: OrderLine) -> Review | None:
    return db.session.scalar(sa.select(Review).where(Review.order_line_id == line.id))


def can_review(line: OrderLine) -> bool:
    return _line_done(line) and review_of(line) is None


def review_states(lines: list[OrderLine]) -> dict[int, tuple[str | None, Review | None]]:
    """{line id: ("reviewed", its review) | ("open", None): it may be reviewed | (None, None)} of `lines`, the
    reviews read in one SELECT whatever their number (the buyer's order page; a booking line's booking is
    read too unless it was loaded with the line)."""
    ids = [line.id for line in lines]
    written = {r.order_line_id: r for r in db.session.scalars(sa.select(Review).where(Review.order_line_id.in_(ids)))}
    states: dict[int, tuple[str | None, Review | None]] = {}
    for line in lines:
        review = written.get(line.id)
        if review is not None:
            states[line.id] = ("reviewed", review)
        else:
            states[line.id] = ("open", None) if _line_done(line) else (None, None)
    return states


class LineReviewStates:
    """The `orders.line_reviews.LineReviews` this package registers: the order page's review states."""

    def states(self, lines: list) -> dict[int, tuple[str | None, Review | None]]:
        return review_states(lines)


def awaiting_review() -> sa.ColumnElement[bool]:
    """Condition on `Order`: it has a line done and not yet reviewed (the "to review" tab)."""
    not_reviewed = ~sa.exists().where(Review.order_line_id == OrderLine.id)
    product_done = sa.and_(
        OrderLine.kind == "product",
        OrderLine.status == LineStatus.OPEN,
        OrderLine.product_id.is_not(None),
        sa.exists().where(Shipment.id == OrderLine.shipment_id, Shipment.status == ShipmentStatus.DELIVERED),
    )
    stay_done = sa.and_(
        OrderLine.kind == "booking",
        sa.exists().where(Booking.id == OrderLine.booking_id, Booking.status == BookingStatus.COMPLETED),
    )
    return sa.exists().where(OrderLine.order_id == Order.id, not_reviewed, sa.or_(product_done, stay_done))


# --- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewData:
    rating: int
    body: str = ""
    photos: tuple = ()


def _parse_rating(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ValidationError("rating_out_of_range", fields={"rating": "range"})
    return value


def _bump(subject_product_id: int | None, subject_listing_id: int | None, *, count: int, total: int) -> None:
    """Add to the aggregates of the reviewed product or listing in one guarded UPDATE; a product's
    pages are invalidated per product (docs/caching.md)."""
    if subject_product_id is not None:
        table = Product.__table__
        db.session.execute(
            sa.update(table)
            .where(table.c.id == subject_product_id)
            .values(rating_count=table.c.rating_count + count, rating_sum=table.c.rating_sum + total),
            execution_options=pagecache.changes(products=[subject_product_id]),
        )
    else:
        table = Listing.__table__
        db.session.execute(
            sa.update(table)
            .where(table.c.id == subject_listing_id)
            .values(rating_count=table.c.rating_count + count, rating_sum=table.c.rating_sum + total)
        )


def _touch_pages(review: Review) -> None:
    """A change of what a review shows (reply, photos) invalidates its product's cached pages."""
    if review.product_id is not None:
        pagecache.mark_products(db.session, [review.product_id])


#: The codes of a line reviewed already: a product's, a booking's (a stay or a ticket is not 这件商品).
ALREADY_REVIEWED = ("already_reviewed", "already_reviewed_booking")


def already_reviewed(line: OrderLine) -> Conflict:
    """The refusal of a second review of `line`, in the words of what it sold."""
    if line.kind == "booking":
        return Conflict("already_reviewed_booking")
    return Conflict("already_reviewed")


def write_review(line: OrderLine, data: ReviewData, *, user, now: datetime) -> Review:
    """The buyer's review of a delivered line or completed stay: once per line. Photos are checked
    (all of them) before anything is stored."""
    rating = _parse_rating(data.rating)
    body = clean_text(data.body, limit=MAX_BODY, field="body")
    uploads = [p for p in data.photos if p is not None and getattr(p, "filename", True)]
    if len(uploads) > MAX_PHOTOS:
        raise ValidationError("too_many_photos", n=MAX_PHOTOS, fields={"photos": "too_many"})
    if line.order.user_id != user.id:
        raise NotFound("order_not_found")
    if not _line_done(line):
        raise Conflict("not_reviewable")
    if review_of(line) is not None:
        raise already_reviewed(line)
    checked: list[CheckedImage] = [check_image(upload) for upload in uploads]
    booking = db.session.get(Booking, line.booking_id) if line.kind == "booking" else None
    review = Review(
        order_line_id=line.id,
        user_id=user.id,
        product_id=line.product_id if booking is None else None,
        listing_id=booking.listing_id if booking is not None else None,
        station_id=line.station_id if booking is None else None,
        rating=rating,
        body=body,
        created_at=now,
    )
    with unique_or(already_reviewed(line)):  # a concurrent submit of the same line won
        db.session.add(review)
    for position, image in enumerate(checked):
        stored = store_photo(f"reviews/{review.id}", image)
        db.session.add(
            ReviewPhoto(
                review_id=review.id,
                path=stored.path,
                thumb_path=stored.thumb_path,
                width=stored.width,
                height=stored.height,
                position=position,
            )
        )
    _bump(review.product_id, review.listing_id, count=1, total=rating)
    db.session.flush()
    return review


def add_photo(review: Review, upload, *, user, now: datetime) -> ReviewPhoto:
    """The author adds one photo to their review (the API: one multipart file a call), at most
    MAX_PHOTOS in all, checked and re-encoded like every photo (docs/uploads.md) before anything is
    stored. Another user's review is NotFound; a hidden review takes none."""
    if user is None or review.user_id != user.id:
        raise NotFound("review_not_found")
    db.session.refresh(review, with_for_update=True)  # two uploads at once never make a fourth photo
    if review.is_hidden:
        raise Conflict("already_hidden")
    count = db.session.scalar(sa.select(sa.func.count()).where(ReviewPhoto.review_id == review.id)) or 0
    if count >= MAX_PHOTOS:
        raise ValidationError("too_many_photos", n=MAX_PHOTOS, fields={"photo": "too_many"})
    checked = check_image(upload)
    stored = store_photo(f"reviews/{review.id}", checked)
    photo = ReviewPhoto(
        review_id=review.id,
        path=stored.path,
        thumb_path=stored.thumb_path,
        width=stored.width,
        height=stored.height,
        position=count,
    )
    db.session.add(photo)
    db.session.flush()
    db.session.expire(review, ["photos"])
    _touch_pages(review)
    return photo


def may_reply(review: Review, user) -> bool:
    """The station that sold the product (its operators) or the listing's host."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if review.product_id is not None:
        return user.role == "operator" and user.station_id is not None and user.station_id == review.station_id
    return review.listing is not None and review.listing.host_id == user.id


def review_to_reply(review_id: int, user) -> Review:
    """The review `user` may reply to (`may_reply`); none, or another's, is the same 404."""
    review = get_review(review_id)
    if not may_reply(review, user):
        raise NotFound("review_not_found")
    return review


def reply(review: Review, text: str, *, user, now: datetime) -> Review:
    """The station's or host's one reply."""
    if not may_reply(review, user):
        raise NotFound("review_not_found")
    body = clean_text(text, limit=MAX_REPLY, field="body")  # the reply's text: `body` in the form and the API
    if not body:
        raise ValidationError("reply_required", fields={"body": "required"})
    locked = db.session.scalars(
        sa.select(Review).where(Review.id == review.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    if locked.replied_at is not None:
        raise Conflict("already_replied")
    locked.reply_body, locked.reply_by_id, locked.replied_at = body, user.id, now
    _touch_pages(locked)
    db.session.flush()
    return locked


def may_moderate(user) -> bool:
    """Whether `user` may moderate reviews (see them all, hidden ones included, and hide one): the county
    office and admins."""
    return user is not None and getattr(user, "role", None) in ("county", "admin")


def check_hide(review: Review, reason: str, *, actor) -> str:
    """Whether `actor` may hide `review` now with `reason`: the reason as it will be kept, else the refusal
    `hide` would give (the page asks it before its confirmation step, so a hide to refuse is refused at once,
    never confirmed first)."""
    if not may_moderate(actor):
        raise Forbidden("hide_forbidden")
    reason = clean_text(reason, limit=MAX_HIDE_REASON, field="reason")
    if not reason:
        raise ValidationError("hide_reason_required", fields={"reason": "required"})
    if review.hidden_at is not None:
        raise Conflict("already_hidden")
    return reason


def hide(review: Review, reason: str, *, actor, now: datetime) -> Review:
    """The county office or an admin hides an abusive review, with a reason; audited. Its rating
    leaves the average."""
    reason = check_hide(review, reason, actor=actor)
    locked = db.session.scalars(
        sa.select(Review).where(Review.id == review.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    check_hide(locked, reason, actor=actor)  # read again under the lock: hidden meanwhile
    locked.hidden_at, locked.hidden_by_id, locked.hidden_reason = now, actor.id, reason
    _bump(locked.product_id, locked.listing_id, count=-1, total=-locked.rating)
    record_audit(
        actor=actor,
        action="review.hide",
        subject=locked,
        now=now,
        detail={
            "reason": reason,
            "rating": locked.rating,
            "product_id": locked.product_id,
            "listing_id": locked.listing_id,
        },
    )
    db.session.flush()
    return locked


# --- reading -----------------------------------------------------------------------------------


def get_review(review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None:
        raise NotFound("review_not_found")
    return review


#: What the lists that show reviews to others (the product and listing pages, their APIs, moderation) show of
#: each, read with the list, never one review at a time: its writer (the masked name; joined into the
#: reviews' SELECT, an outer join so a review without its account would show the placeholder, not vanish)
#: and its photos (one SELECT for the page's). A reply is the review's own columns.
SHOWN_WITH_A_REVIEW = (joinedload(Review.user), selectinload(Review.photos))


def visible_reviews(
    *,
    product_id: int | None = None,
    product_ids: list[int] | None = None,
    listing_id: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Review]:
    """Visible reviews of a product, of several (a product's variants, `product_ids`) or of a listing, newest
    first, with what the product and listing pages and their APIs show of each: its writer (the masked name),
    its photos and, of a product's, the variant it reviews. The reply is the review's own columns. A fixed
    number of statements whatever the page holds (docs/catalog.md, "Reviews")."""
    query = sa.select(Review).where(Review.hidden_at.is_(None)).options(*SHOWN_WITH_A_REVIEW)
    if product_ids is not None:
        query = query.where(Review.product_id.in_(product_ids)).options(joinedload(Review.product))
    elif product_id is not None:
        query = query.where(Review.product_id == product_id).options(joinedload(Review.product))
    else:
        query = query.where(Review.listing_id == listing_id)
    return list(
        db.session.scalars(query.order_by(Review.created_at.desc(), Review.id.desc()).offset(offset).limit(limit))
    )


def reviews_to_answer(user, *, limit: int = 100) -> list[Review]:
    """The reviews a station operator or host may reply to, unanswered first, newest first, with what the
    page shows of each (what it reviews, its photos; not its writer): a fixed number of statements whatever
    their number."""
    query = (
        sa.select(Review)
        .where(Review.hidden_at.is_(None))
        .options(joinedload(Review.product), joinedload(Review.listing), selectinload(Review.photos))
    )
    if user.role == "operator":
        query = query.where(Review.station_id == user.station_id)
    elif user.role == "host":
        query = query.join(Listing, Review.listing_id == Listing.id).where(Listing.host_id == user.id)
    else:
        return []
    return list(
        db.session.scalars(
            query.order_by(Review.replied_at.is_not(None), Review.created_at.desc(), Review.id.desc()).limit(limit)
        )
    )


#: Reviews per page of the county's moderation list.
MODERATION_PER_PAGE = 20
#: Which reviews the moderation list shows by whether they are hidden ("" all).
MODERATION_STATES = ("", "shown", "hidden")
#: "Low" ratings for the moderation filter: this many stars or fewer.
LOW_RATING = 2


@dataclass
class ModerationQuery:
    """The moderation list's filters: `state` one of MODERATION_STATES, `low` only LOW_RATING stars or
    fewer, `q` a part of the review's text or of its product's or listing's name; newest first."""

    state: str = ""
    low: bool = False
    q: str = ""
    page: int = 1
    per_page: int = MODERATION_PER_PAGE


def moderation_reviews(f: ModerationQuery) -> tuple[list[Review], int]:
    """For moderation: one page of the reviews matching `f`, hidden ones included, newest first, with
    what they review, their photos and their writers (the API's masked `author`), and how many match in
    all: a fixed number of statements whatever the page holds."""
    query = (
        sa.select(Review)
        .outerjoin(Product, Review.product_id == Product.id)
        .outerjoin(Listing, Review.listing_id == Listing.id)
    )
    if f.state == "shown":
        query = query.where(Review.hidden_at.is_(None))
    elif f.state == "hidden":
        query = query.where(Review.hidden_at.is_not(None))
    if f.low:
        query = query.where(Review.rating <= LOW_RATING)
    # what PostgreSQL cannot compare (a NUL) or no one types is left out, as the accounts search does
    text = "".join(ch for ch in (f.q or "") if ch.isprintable()).strip().lower()
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                sa.func.lower(Review.body).like(like, escape="\\"),
                sa.func.lower(Product.name).like(like, escape="\\"),
                sa.func.lower(Listing.name).like(like, escape="\\"),
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.options(*SHOWN_WITH_A_REVIEW, selectinload(Review.product), selectinload(Review.listing))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(f.per_page)
        .offset((max(f.page, 1) - 1) * f.per_page)
    ).all()
    return list(rows), total


def reviews_by(user, *, limit: int = 100) -> list[Review]:
    """The reviews `user` wrote (我的评价), newest first, hidden ones included (each says so, with the
    county's reason, as the order page does), with what they review and their photos: three statements
    whatever their number."""
    return list(
        db.session.scalars(
            sa.select(Review)
            .where(Review.user_id == user.id)
            .options(selectinload(Review.product), selectinload(Review.listing), selectinload(Review.photos))
            .order_by(Review.created_at.desc(), Review.id.desc())
            .limit(limit)
        )
    )
