"""API: reviews of products and listings; writing one (the buyer), replying (station or host),
moderating (the county office or an admin: 评价管理's list, `GET /reviews/moderation`, and hiding one). The JSON body of a review takes the rating and the text; its author
then adds up to three photos, one multipart `photo` a call (`POST /reviews/<id>/photos`), checked
like every photo (docs/uploads.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import request, url_for
from pydantic import BaseModel, Field

from catalog.services import get_visible_product
from reviews import services
from reviews.models import MAX_BODY, MAX_HIDE_REASON, MAX_PHOTOS, MAX_REPLY, Review
from shop.api import QuerySchema, Schema, api_user, committed, endpoint, ok
from shop.errors import NotFound
from shop.extensions import db
from shop.security import limiter
from shop.timeutil import now_utc
from tourism.models import Listing

REVIEW_LIMIT = "10 per hour"


def _caller_key() -> str:
    user = api_user()
    return f"account:{user.id}" if user is not None else "anonymous"


class ReviewIn(Schema):
    #: Any JSON value reaches the review service, whose one rule (`rating_out_of_range`: 请给出 1 到 5 星的评分)
    #: refuses a 0, a 6, a "5" or a 4.5 as the review form does; the spec still says what is taken.
    rating: Any = Field(
        description="1 to 5 stars (a whole number); anything else is a 422 `rating_out_of_range`",
        json_schema_extra={"type": "integer", "minimum": 1, "maximum": 5},
    )
    # the service refuses a text past MAX_BODY with its own code naming the limit (the form's rule), which the
    # spec says; pydantic only bounds what is read (as the invoice title's)
    body: str = Field(
        default="",
        max_length=MAX_BODY * 2,
        description=f"plain text, kept as typed (a `<` is a `<`; control characters are removed); at most "
        f"{MAX_BODY} characters once trimmed: longer is a 422 `review_too_long` naming the limit",
        json_schema_extra={"maxLength": MAX_BODY},
    )


class ReplyIn(Schema):
    # the service's limit, said by the spec; pydantic only bounds what is read (as ReviewIn.body's)
    body: str = Field(
        min_length=1,
        max_length=MAX_REPLY * 2,
        description=f"at most {MAX_REPLY} characters once trimmed: longer is a 422 `review_too_long` naming the "
        "limit, empty `reply_required`",
        json_schema_extra={"maxLength": MAX_REPLY},
    )


class HideIn(Schema):
    # the service's limit, said by the spec; pydantic only bounds what is read (as ReviewIn.body's)
    reason: str = Field(
        min_length=1,
        max_length=MAX_HIDE_REASON * 2,
        description=f"why the review is hidden (audited); at most {MAX_HIDE_REASON} characters once trimmed: "
        "longer is a 422 `review_too_long` naming the limit",
        json_schema_extra={"maxLength": MAX_HIDE_REASON},
    )


class PhotoOut(BaseModel):
    url: str
    thumb_url: str


class ReviewOut(BaseModel):
    id: int
    rating: int
    body: str
    author: str = Field(description="the buyer's name, masked")
    product_id: int | None
    listing_id: int | None
    photos: list[PhotoOut]
    reply: str | None
    replied_at: datetime | None
    created_at: datetime
    hidden: bool
    hidden_reason: str | None = Field(description="only to the county office, admins and the author")


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    rating_average: float | None
    rating_count: int
    page: int
    per_page: int


class ReviewQuery(QuerySchema):
    page: int = Field(default=1, ge=1, le=1000)
    per_page: int = Field(default=20, ge=1, le=50)


class ModerationQuery(QuerySchema):
    """评价管理's filters (`services.ModerationQuery`); a value it does not offer is a 422."""

    state: Literal["", "shown", "hidden"] = Field(default="", description="shown or hidden only; '' all")
    low: bool = Field(default=False, description=f"only {services.LOW_RATING} stars or fewer")
    q: str = Field(default="", max_length=100, description="a part of the review's text or of its subject's name")
    page: int = Field(default=1, ge=1, le=1000)
    per_page: int = Field(default=services.MODERATION_PER_PAGE, ge=1, le=50)


class ModeratedReviewOut(ReviewOut):
    subject: str = Field(description="the name of the product or listing reviewed, as the list shows it")
    hidden_at: datetime | None


class ModerationPage(BaseModel):
    items: list[ModeratedReviewOut]
    total: int
    page: int
    per_page: int


def review_out(review: Review, *, viewer=None) -> ReviewOut:
    sees_reason = viewer is not None and (viewer.role in ("county", "admin") or viewer.id == review.user_id)
    return ReviewOut(
        id=review.id,
        rating=review.rating,
        body=review.body,
        author=review.masked_author,
        product_id=review.product_id,
        listing_id=review.listing_id,
        photos=[
            PhotoOut(
                url=url_for("catalog.media", filename=p.path), thumb_url=url_for("catalog.media", filename=p.thumb_path)
            )
            for p in review.photos
        ],
        reply=review.reply_body if review.replied_at else None,
        replied_at=review.replied_at,
        created_at=review.created_at,
        hidden=review.is_hidden,
        hidden_reason=review.hidden_reason if review.is_hidden and sees_reason else None,
    )


def _page(average: float | None, count: int, query: ReviewQuery, **which) -> ReviewPage:
    items = services.visible_reviews(limit=query.per_page, offset=(query.page - 1) * query.per_page, **which)
    return ReviewPage(
        items=[review_out(r) for r in items],
        rating_average=average,
        rating_count=count,
        page=query.page,
        per_page=query.per_page,
    )


@endpoint("/products/<int:product_id>/reviews", query=ReviewQuery, response=ReviewPage, tags=("reviews",))
def product_reviews(product_id: int, query: ReviewQuery):
    """A visible product's visible reviews, newest first, with its average and count; a product with
    variants (规格): the reviews of all its variants (each names its `product_id`)."""
    product = get_visible_product(product_id)
    return ok(_page(product.family_rating_average, product.family_rating_count, query, product_ids=product.family_ids))


@endpoint("/listings/<int:listing_id>/reviews", query=ReviewQuery, response=ReviewPage, tags=("reviews",))
def listing_reviews(listing_id: int, query: ReviewQuery):
    """A published listing's visible reviews, newest first, with its average and count."""
    listing = db.session.get(Listing, listing_id)
    if listing is None or not listing.is_published:
        raise NotFound("listing_not_found")
    return ok(_page(listing.rating_average, listing.rating_count, query, listing_id=listing.id))


@endpoint(
    "/orders/<code>/lines/<int:line_id>/review",
    ("POST",),
    body=ReviewIn,
    response=ReviewOut,
    status=201,
    auth=True,
    tags=("reviews",),
    errors=(409, 429),
    summary="Review a delivered line or a completed stay of your own order (once per line)",
    load=lambda user, code, line_id: services.own_line(code, line_id, user),  # 404 before the body is read
)
@limiter.limit(REVIEW_LIMIT, key_func=_caller_key)
def create_review(code: str, line_id: int, body: ReviewIn, loaded):
    user, line = api_user(), loaded
    review = services.write_review(
        line, services.ReviewData(rating=body.rating, body=body.body), user=user, now=now_utc()
    )
    return committed(review_out(review, viewer=user), 201)


@endpoint(
    "/reviews/<int:review_id>/photos",
    ("POST",),
    response=ReviewOut,
    status=201,
    auth=True,
    tags=("reviews",),
    errors=(409, 429),
    upload="photo",
    summary=f"The author adds a photo to their review (multipart `photo`: JPEG, PNG, WebP or GIF, checked by "
    f"content, at most MAX_UPLOAD_BYTES; at most {MAX_PHOTOS} photos a review)",
)
@limiter.limit(REVIEW_LIMIT, key_func=_caller_key)
def add_review_photo(review_id: int):
    user = api_user()
    review = services.get_review(review_id)
    services.add_photo(review, request.files.get("photo"), user=user, now=now_utc())
    return committed(review_out(review, viewer=user), 201)


@endpoint(
    "/reviews/<int:review_id>/reply",
    ("POST",),
    body=ReplyIn,
    response=ReviewOut,
    auth=True,
    roles=("operator", "host"),
    tags=("reviews",),
    errors=(409, 429),
    summary="The station that sold the product, or the listing's host, replies once",
    load=lambda user, review_id: services.review_to_reply(review_id, user),  # 404 before the body is read
)
@limiter.limit(REVIEW_LIMIT, key_func=_caller_key)
def reply_review(review_id: int, body: ReplyIn, loaded):
    user = api_user()
    review = services.reply(loaded, body.body, user=user, now=now_utc())
    return committed(review_out(review, viewer=user))


@endpoint(
    "/reviews/moderation",
    query=ModerationQuery,
    response=ModerationPage,
    roles=("county",),
    tags=("reviews",),
    summary="评价管理: every review, hidden ones included, newest first, filtered and a page at a time "
    "(the county office or an admin)",
)
def moderation_list(query: ModerationQuery):
    user = api_user()
    f = services.ModerationQuery(state=query.state, low=query.low, q=query.q, page=query.page, per_page=query.per_page)
    reviews, total = services.moderation_reviews(f)
    items = [
        ModeratedReviewOut(
            **review_out(r, viewer=user).model_dump(),
            subject=r.product.name if r.product else r.listing.name,
            hidden_at=r.hidden_at,
        )
        for r in reviews
    ]
    return ok(ModerationPage(items=items, total=total, page=query.page, per_page=query.per_page))


@endpoint(
    "/reviews/<int:review_id>/hide",
    ("POST",),
    body=HideIn,
    response=ReviewOut,
    auth=True,
    roles=("county",),
    tags=("reviews",),
    errors=(409,),
    summary="The county office or an admin hides an abusive review with a reason (audited)",
)
def hide_review(review_id: int, body: HideIn):
    user = api_user()
    review = services.hide(services.get_review(review_id), body.reason, actor=user, now=now_utc())
    return committed(review_out(review, viewer=user))
