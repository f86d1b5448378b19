"""Ledger entries of the benefit kinds other than `sale` for the county tests' `world`
(tests/county/conftest.py), written straight into the ledger as the recording pages would."""

from __future__ import annotations

from ledger.services import insert_entries
from tests.factories import NOW


def other_kinds(world):
    """Entries of the other kinds (written straight into the ledger: the recording pages come later):
    wages, a dividend, rent, a purchase and a collective share over the world's three households,
    against its first line, on NOW's date. Not committed."""
    a, b, c = world["households"]
    line = world["lines"][0]
    insert_entries(
        [
            dict(
                household_id=household.id,
                order_line_id=line.id,
                kind="sale",
                benefit_kind=kind,
                ref=f"test:{kind}:{amount}",
                amount_fen=amount,
                split={},
                village_id=household.village_id,
                entry_date=NOW.date(),
                created_at=NOW,
            )
            for household, kind, amount in (
                (a, "wage", 12000),
                (b, "dividend", 3050),
                (c, "rent", 80000),
                (a, "purchase", 4500),
                (b, "collective", 700),
                (a, "wage", -2000),
            )
        ]
    )
