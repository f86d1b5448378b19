"""The per-test transaction really isolates tests (the engines-dict trick is not a public API)."""

import sqlalchemy as sa

from shop.auth.models import User
from shop.db import commit
from tests.factories import make_user


def test_committed_data_is_visible_inside_the_test(db):
    make_user(email="isolation@test.cn")
    commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == "isolation@test.cn")) == 1


def test_data_from_the_previous_test_is_gone(db):
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == "isolation@test.cn")) == 0
