"""Reviews from verified buyers (评价): a rating 1–5, a text and up to three photos for a delivered
product line or a completed stay, one per order line; a reply by the line's station or the
listing's host; hiding by the county office or an admin, with a reason, audited.

Why a package of its own, above orders and tourism (beside stations): a review's eligibility reads
both an order line's delivery (orders) and a booking's completion (tourism), and the one rule
"one review per order line" covers goods and stays alike (a booking is sold through an order
line). Inside orders it would have to import tourism, which the layers forbid (orders knows
nothing of bookings); split into orders and tourism it would be two copies of the same rules.
So `reviews` imports orders, tourism and catalog, and nothing below imports it: the pages below
show what it contributes through a template global and `{% include ... ignore missing %}`, the
cards read the aggregates it keeps on `Product`/`Listing` (`rating_count`, `rating_sum`), and the
"to review" tab of 我的订单 gets its condition through `orders.services.tabs.extend_tab`.
"""

from flask import Flask

from reviews import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import reviews.api  # noqa: F401  (routes on the shared `api` blueprint)
    import reviews.models  # noqa: F401
    from reviews.views import bp

    app.register_blueprint(bp)  # its record_once adds the "to review" tab and the template globals
