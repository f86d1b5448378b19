"""Two admins adding (or renaming to) categories or villages at the same moment (PostgreSQL threads).

A name is unique (a category's; a village's within its township): when both write one name, one row is
written and the other admin is told the name is taken, as a slower admin would be. Two names that make
one slug (homophones: 竞速茶 and 净速茶 are both jing-su-cha) are both added, with different slugs
(admin.services.slugs takes the next free slug when a concurrent insert won the first)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from admin.services import categories, places
from catalog.models import Category, Village
from shop.auth.models import User
from shop.db import commit
from shop.errors import Conflict
from shop.timeutil import now_utc
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import make_township, make_user

MODELS = {"category": Category, "village": Village}


def _at_once(app, db, work) -> tuple[list[int], list[Exception]]:
    """Run `work(actor, i)` for two admins in two threads that start it together; the admins whose work
    committed, and the exceptions of the others."""
    admin_ids = [make_user(role="admin").id, make_user(role="admin").id]
    commit()

    def admin(i: int) -> Loaded:
        return Loaded(lambda: db.session.get(User, admin_ids[i]), lambda actor: work(actor, i))

    race = at_once(app, [admin(0), admin(1)], refused=(Exception,))
    return race.won, [o.refusal for o in race.outcomes if o.refusal is not None]


def _add(kind: str, name: str, township_id: int, actor) -> None:
    if kind == "category":
        categories.create_category(categories.CategoryData(name=name), actor=actor, now=now_utc())
    else:
        places.create_village(places.VillageData(name=name, township_id=township_id), actor=actor, now=now_utc())


@requires_postgres
@pytest.mark.parametrize("kind", ["category", "village"])
def test_two_admins_adding_one_name_at_once_write_one_row_and_the_second_is_told_it_is_taken(app, committed_db, kind):
    db = committed_db
    township_id = make_township().id
    done, errors = _at_once(app, db, lambda actor, i: _add(kind, "竞速茶", township_id, actor))
    model = MODELS[kind]
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.name == "竞速茶"))
    assert len(done) == 1 and rows == 1
    assert [(type(e), e.code) for e in errors] == [(Conflict, f"{kind}_name_taken")]


@requires_postgres
@pytest.mark.parametrize("kind", ["category", "village"])
def test_two_admins_adding_two_names_of_one_slug_at_once_get_two_slugs(app, committed_db, kind):
    db = committed_db
    township_id = make_township().id
    names = ["竞速茶", "净速茶"]
    done, errors = _at_once(app, db, lambda actor, i: _add(kind, names[i], township_id, actor))
    assert errors == [] and sorted(done) == [0, 1]
    model = MODELS[kind]
    slugs = sorted(db.session.scalars(sa.select(model.slug).where(model.name.in_(names))))
    assert slugs == ["jing-su-cha", "jing-su-cha-2"]


@requires_postgres
@pytest.mark.parametrize("kind", ["category", "village"])
def test_two_admins_renaming_two_rows_to_one_name_at_once_rename_one(app, committed_db, kind):
    db = committed_db
    township_id = make_township().id
    admin = make_user(role="admin")
    for name in ("甲", "乙"):
        _add(kind, name, township_id, admin)
    commit()
    model = MODELS[kind]
    rows = db.session.execute(sa.select(model.id, model.name).where(model.name.in_(["甲", "乙"]))).all()
    ids, before = [row.id for row in rows], [row.name for row in rows]

    def rename(actor, i):
        row = db.session.get(model, ids[i])
        if kind == "category":
            categories.update_category(row, categories.CategoryData(name="丙"), actor=actor, now=now_utc())
        else:
            data = places.VillageData(name="丙", township_id=township_id)
            places.update_village(row, data, actor=actor, now=now_utc())

    done, errors = _at_once(app, db, rename)
    db.session.expire_all()
    names = sorted(db.session.scalars(sa.select(model.name).where(model.id.in_(ids))))
    assert len(done) == 1 and [(type(e), e.code) for e in errors] == [(Conflict, f"{kind}_name_taken")]
    assert names == sorted(["丙", before[1 - done[0]]])
