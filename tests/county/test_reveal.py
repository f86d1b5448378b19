"""Who may see a household's personal data is decided by the services that reveal it
(`county.services.registry.reveal`, `county.services.payouts.reveal_account`), not only by the
page's role gate: any other caller gets Forbidden, and nothing is decrypted or audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from county.services import payouts
from county.services.registry import reveal
from shop.audit import AuditEntry
from shop.errors import Forbidden, ValidationError
from tests.county.conftest import SECRET_PHONE
from tests.factories import make_household, make_station, make_user

ACCOUNT = "6228480012345678901"


def _audits(db) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "household.reveal")))


@pytest.mark.parametrize("role", ["consumer", "host", "operator", None])
def test_reveal_refuses_every_role_but_county_and_admin(db, now, role):
    household = make_household(phone=SECRET_PHONE)
    if role is None:
        actor = None
    else:
        actor = make_user(role=role, station=make_station() if role == "operator" else None)
    with pytest.raises(Forbidden):
        reveal(household, "phone", actor=actor, now=now)
    assert _audits(db) == []


@pytest.mark.parametrize("role", ["county", "admin"])
def test_reveal_gives_the_value_to_county_and_admin_and_audits_it(db, now, role):
    household = make_household(phone=SECRET_PHONE)
    actor = make_user(role=role)
    assert reveal(household, "phone", actor=actor, now=now) == SECRET_PHONE
    assert [(a.actor_id, a.subject_id, a.detail["field"]) for a in _audits(db)] == [(actor.id, household.id, "phone")]


def test_reveal_checks_the_role_before_the_field(db, now):
    household = make_household()
    with pytest.raises(Forbidden):
        reveal(household, "members", actor=make_user(role="consumer"), now=now)
    with pytest.raises(ValidationError):
        reveal(household, "members", actor=make_user(role="county"), now=now)


@pytest.mark.parametrize("role", ["consumer", "host", "operator", None])
def test_a_payment_account_number_is_refused_to_every_role_but_county_and_admin(db, now, role):
    household = make_household()
    payouts.set_account(household, kind="bank_card", number=ACCOUNT, actor=make_user(role="county"), now=now)
    actor = None if role is None else make_user(role=role, station=make_station() if role == "operator" else None)
    with pytest.raises(Forbidden):
        payouts.reveal_account(household, actor=actor, now=now)
    assert not db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "payment_account.reveal")).all()
    assert payouts.reveal_account(household, actor=make_user(role="admin"), now=now) == ACCOUNT
