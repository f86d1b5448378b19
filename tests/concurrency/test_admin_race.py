"""Two admins, each demoting or deactivating the other at the same moment: one succeeds, the other is
refused with `last_active_admin`, and the shop keeps one active admin (admin.services.users locks every
active admin's row before counting; PostgreSQL threads)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from admin.services import users
from shop.auth.models import User
from shop.db import commit
from shop.timeutil import now_utc
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import make_user
from tests.sent_mail import mails_to


@requires_postgres
@pytest.mark.parametrize("change", ["role", "deactivate"])
def test_two_admins_removing_each_other_at_once_leave_one(app, committed_db, change):
    db = committed_db
    a, b = make_user(role="admin"), make_user(role="admin")
    ids = {"a": a.id, "b": b.id}
    commit()

    def remove(actor_key: str, target_key: str) -> Loaded:
        def act(loaded):
            actor, target = loaded
            if change == "role":
                users.set_role(target, "consumer", None, actor=actor, now=now_utc())
            else:
                users.set_active(target, False, actor=actor, now=now_utc())

        return Loaded(lambda: (db.session.get(User, ids[actor_key]), db.session.get(User, ids[target_key])), act)

    race = at_once(app, [remove("a", "b"), remove("b", "a")])
    assert race.errors == []
    assert len(race.won) == 1 and race.refused == ["last_active_admin"]
    active_admins = db.session.scalar(
        sa.select(sa.func.count()).where(User.role == "admin", User.is_active_account.is_(True))
    )
    assert active_admins == 1


@requires_postgres
def test_two_taps_of_resend_setup_link_at_once_send_one_mail(app, committed_db, caplog):
    """Two requests sending a set-up link again at the same moment: the account's row is locked before the
    pause is checked, so the second sees the first's audit entry and is refused (`setup_link_just_sent`);
    one new link, one mail."""
    from datetime import timedelta

    from shop.audit import AuditEntry

    db = committed_db
    admin = make_user(role="admin")
    with app.test_request_context("/"):
        user = users.invite_user(
            users.NewAccount(email="pending@test.cn"), actor=admin, now=now_utc() - timedelta(hours=1)
        )
        commit()
    ids = {"admin": admin.id, "user": user.id}
    tap = Loaded(
        lambda: (db.session.get(User, ids["admin"]), db.session.get(User, ids["user"])),
        lambda loaded: users.resend_setup_link(loaded[1], actor=loaded[0], now=now_utc()),
    )
    with caplog.at_level("INFO", logger="shop.mail"):
        race = at_once(app, [tap, tap], context="request")
    assert race.errors == []
    assert len(race.won) == 1 and race.refused == ["setup_link_just_sent"]
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.subject_type == "users", AuditEntry.subject_id == ids["user"])
    ).all()
    assert sorted(actions) == ["user.create", "user.setup_link"]
    assert len(mails_to(caplog, "pending@test.cn")) == 1
