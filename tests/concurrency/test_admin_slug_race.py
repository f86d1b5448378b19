"""Two admins adding a category (or a village) of the same name at the same moment: both are added, with
different slugs (admin.services.slugs takes the next free slug when a concurrent insert won the first;
PostgreSQL threads)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from admin.services import categories, places
from catalog.models import Category, Village
from shop.auth.models import User
from shop.db import commit, rollback
from shop.timeutil import now_utc
from tests.conftest import requires_postgres
from tests.factories import make_township, make_user


@requires_postgres
@pytest.mark.parametrize("kind", ["category", "village"])
def test_two_admins_adding_the_same_name_at_once_get_two_slugs(app, committed_db, kind):
    db = committed_db
    admin_ids = [make_user(role="admin").id, make_user(role="admin").id]
    township_id = make_township().id
    commit()
    barrier = threading.Barrier(2)
    done, errors = [], []

    def add(admin_id: int):
        with app.app_context():
            try:
                actor = db.session.get(User, admin_id)
                barrier.wait()
                if kind == "category":
                    categories.create_category(categories.CategoryData(name="竞速茶"), actor=actor, now=now_utc())
                else:
                    data = places.VillageData(name="竞速村", township_id=township_id)
                    places.create_village(data, actor=actor, now=now_utc())
                commit()
                done.append(admin_id)
            except Exception as exc:
                rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add, args=(i,)) for i in admin_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(done) == 2
    model, name = (Category, "竞速茶") if kind == "category" else (Village, "竞速村")
    slugs = sorted(db.session.scalars(sa.select(model.slug).where(model.name == name)))
    base = slugs[0]
    assert slugs == [base, f"{base}-2"]
