import sqlalchemy as sa

from shop.timeutil import now_utc
from tests.factories import make_user, make_village
from tourism import demo
from tourism.models import Listing, Session


def test_demo_seed_is_idempotent(db):
    make_user(role="host", email="host@demo.cn")
    for name in ("罗渡村", "花海村", "红星村", "渔村村"):
        make_village(name=name)
    now = now_utc()
    assert demo.seed(now) is True
    kinds = sorted(db.session.scalars(sa.select(Listing.kind)))
    assert kinds == ["experience", "experience", "stay", "stay", "ticket"]
    sessions = db.session.scalar(sa.select(sa.func.count()).select_from(Session))
    assert sessions == 14 * 3
    assert demo.seed(now) is False
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Session)) == sessions


def test_demo_seed_without_host_does_nothing(db):
    assert demo.seed(now_utc()) is False
