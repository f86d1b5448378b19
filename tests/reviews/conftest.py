"""The stations' world (two stations, their operators, products, a buyer) for review tests."""

from tests.stations.conftest import world  # noqa: F401
