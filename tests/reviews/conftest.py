"""The stations' world (two stations, their operators, products, a buyer) for review tests, and 山核桃."""

import pytest

from tests.factories import make_product
from tests.stations.conftest import world  # noqa: F401


@pytest.fixture
def walnuts(world):  # noqa: F811
    """A product of station A with stock enough for many orders (`review_setup.walnut_review` reviews it)."""
    return make_product(name="山核桃", stock=200, station=world.a.station, category=world.category)
