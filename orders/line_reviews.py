"""The review state of an order's lines on the buyer's order page, without orders knowing reviews.

Reviews sit above orders (docs/ARCHITECTURE.md): whether a line may be reviewed reads a booking's
completion (tourism), and the review itself is theirs. The reviews package registers a `LineReviews` at
app start (`reviews.init_app`); the order page asks it once for all the order's lines (`review_states`)
and renders what it returns through `templates/reviews/_line.html` (评价 / 已评价 N 星).
"""

from __future__ import annotations

from typing import Any, Protocol

#: A line's review state: ("reviewed", the review) | ("open", None): it may be reviewed | (None, None).
ReviewState = tuple[str | None, Any]


class LineReviews(Protocol):
    def states(self, lines: list) -> dict[int, ReviewState]:
        """{line id: its review state} of `lines` (order lines loaded with their shipment and, for a
        booking line, its booking), in a fixed number of statements whatever their number."""
        ...


_provider: list[LineReviews] = []


def register(provider: LineReviews) -> None:
    """Called by the package that keeps reviews (reviews.init_app); a second app replaces the first."""
    _provider[:] = [provider]


def review_states(lines: list) -> dict[int, ReviewState]:
    """The registered provider's `states` of `lines` (none without a provider: no line is reviewed then)."""
    return _provider[0].states(lines) if _provider and lines else {}
