"""Where an order came from, shown on the buyer's order pages, without orders knowing who made it.

Orders sits below the packages that place orders for their own reasons (an organisation's purchase,
approved, becomes orders: docs/ARCHITECTURE.md), so it cannot ask them. Such a package registers an
`OrderOrigins` at app start (`institutions.init_app`: 来自采购单 12); the order page and the order list
ask every registered one for all their orders at once (`origins_of`) and show the link each returns,
as the API's orders do in their `origin` (`orders.api`).
A source returns an origin only for what `viewer` may open: no link to a page that would be a 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OrderOrigin:
    """What the buyer's pages say of where an order came from: a text, already in the page's
    language, and the path of the page it names."""

    label: str
    url: str


class OrderOrigins(Protocol):
    def origins(self, order_ids: list[int], *, viewer) -> dict[int, OrderOrigin]:
        """{order id: its origin} for those of `order_ids` this source placed and `viewer` may open,
        in a fixed number of statements whatever the number of orders."""
        ...


_sources: dict[str, OrderOrigins] = {}


def register(name: str, source: OrderOrigins) -> None:
    """Called at app start by a package that places orders of its own, under its name (a second app
    of the same process registers it again: it replaces the first)."""
    _sources[name] = source


def origins_of(order_ids: Iterable[int], *, viewer) -> dict[int, OrderOrigin]:
    """{order id: origin} of the orders that have one and that `viewer` may follow; the first source
    to claim an order names it."""
    ids = sorted(set(order_ids))
    found: dict[int, OrderOrigin] = {}
    if not ids:
        return found
    for source in _sources.values():
        for order_id, origin in source.origins(ids, viewer=viewer).items():
            found.setdefault(order_id, origin)
    return found
